#!/bin/bash
# tests/run-tests.sh — run the unit test binaries and the integration scripts, report, sum up.
#
#     tests/run-tests.sh [UNIT_BINARY...] [-- INTEGRATION_SCRIPT...]
#
# A unit binary (Check) ends its output with "CHECK-RESULT passed=N failed=M" and exits 0
# when everything passed; its N and M count in the summary. An integration script is run with
# bash under `timeout 120` and counts as one test: exit 0 pass, 77 skip, else fail.
# Every test's output goes to tests/logs/NAME.log; the tail is printed when it fails.
# With SOCKETBOX_REQUIRE_NETNS=1 a skipped integration test counts as a failure.
#
# The last line of output is always "N passed, N failed, N skipped".
# Exit status: 0 when nothing failed, 1 otherwise.

set -uo pipefail

LOG_DIR="$(cd "$(dirname "$0")" && pwd)/logs"
UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
INTEGRATION_TIMEOUT=${INTEGRATION_TIMEOUT:-120}
TAIL_LINES=${TAIL_LINES:-40}

units=()
scripts=()
seen_sep=
for arg in "$@"; do
	if [[ -z $seen_sep && $arg == -- ]]; then
		seen_sep=1
	elif [[ -n $seen_sep ]]; then
		scripts+=("$arg")
	else
		units+=("$arg")
	fi
done

mkdir -p "$LOG_DIR" || {
	echo "run-tests.sh: cannot create $LOG_DIR" >&2
	exit 2
}

passed=0
failed=0
skipped=0

# show_tail LOG: the end of a failed test's log, indented.
show_tail() {
	echo "    --- last $TAIL_LINES lines of $1 ---"
	tail -n "$TAIL_LINES" "$1" | sed 's/^/    | /'
}

# name_of PATH: the test's name, its file name without a .sh suffix.
name_of() {
	local n=${1##*/}
	printf '%s' "${n%.sh}"
}

for unit in "${units[@]}"; do
	name=$(name_of "$unit")
	log="$LOG_DIR/$name.log"
	cmd=$unit
	[[ $cmd == */* ]] || cmd=./$cmd
	if [[ ! -x $cmd ]]; then
		echo "FAIL $name: $unit is missing or not executable"
		failed=$((failed + 1))
		continue
	fi
	# in a subshell, so that bash's own "Segmentation fault" notice lands in the log
	(timeout -k 10 "$UNIT_TIMEOUT" "$cmd" || exit) >"$log" 2>&1
	rc=$?
	result=$(grep -a '^CHECK-RESULT ' "$log" | tail -n 1)
	if [[ $result =~ ^CHECK-RESULT\ passed=([0-9]+)\ failed=([0-9]+) ]]; then
		np=${BASH_REMATCH[1]}
		nf=${BASH_REMATCH[2]}
	else
		np=0
		nf=0
	fi
	if [[ $rc -eq 0 && -n $result && $nf -eq 0 ]]; then
		echo "PASS $name ($np passed)"
		passed=$((passed + np))
	else
		why="$np passed, $nf failed"
		if [[ -z $result ]]; then
			why="no CHECK-RESULT line"
		fi
		if [[ $rc -eq 124 || $rc -eq 137 ]]; then
			why="$why, timed out after ${UNIT_TIMEOUT}s"
		elif [[ $rc -gt 128 ]]; then
			why="$why, killed by SIG$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
		elif [[ $rc -ne 0 ]]; then
			why="$why, exit status $rc"
		fi
		# a crash or a bad exit status without a counted failure still counts as one
		[[ $nf -gt 0 ]] || nf=1
		echo "FAIL $name ($why)"
		show_tail "$log"
		passed=$((passed + np))
		failed=$((failed + nf))
	fi
done

for script in "${scripts[@]}"; do
	name=$(name_of "$script")
	log="$LOG_DIR/$name.log"
	if [[ ! -r $script ]]; then
		echo "FAIL $name: $script is missing"
		failed=$((failed + 1))
		continue
	fi
	start=$SECONDS
	timeout -k 10 "$INTEGRATION_TIMEOUT" bash "$script" </dev/null >"$log" 2>&1
	rc=$?
	took=$((SECONDS - start))
	if [[ $rc -eq 0 ]]; then
		echo "PASS $name (${took}s)"
		passed=$((passed + 1))
	elif [[ $rc -eq 77 ]]; then
		reason=$(grep -a -m 1 '^SKIP: ' "$log" | sed 's/^SKIP: //')
		reason=${reason:-no reason given}
		if [[ ${SOCKETBOX_REQUIRE_NETNS:-0} == 1 ]]; then
			echo "FAIL $name (skipped: $reason; SOCKETBOX_REQUIRE_NETNS=1 makes a skip a failure)"
			failed=$((failed + 1))
		else
			echo "SKIP $name ($reason)"
			skipped=$((skipped + 1))
		fi
	else
		if [[ $rc -eq 124 || $rc -eq 137 ]]; then
			echo "FAIL $name (timed out after ${INTEGRATION_TIMEOUT}s)"
		else
			echo "FAIL $name (exit status $rc, ${took}s)"
		fi
		show_tail "$log"
		failed=$((failed + 1))
	fi
done

echo "$passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
