#!/bin/bash
# run.sh SECONDS TARGET... - runs each libFuzzer target for SECONDS on a scratch copy of
# its seed corpus (tests/fuzz/corpus/TARGET), so that runs never grow the repository.
# A crash, leak, timeout or broken invariant leaves its input in tests/fuzz/crashes/ and
# fails the run (after the other targets have had their turn).
set -uo pipefail
cd "$(dirname "$0")"
seconds=$1
shift
build=${FUZZ_BUILD:-../../build/fuzz} # relative to tests/fuzz, or absolute
mkdir -p crashes
scratch=$(mktemp -d "${TMPDIR:-/tmp}/sbfuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
failed=()
summary=()
for t in "$@"; do
	bin=$build/fuzz_$t
	work=$scratch/$t
	mkdir -p "$work/corpus"
	if [[ -d corpus/$t ]]; then
		cp -r "corpus/$t/." "$work/corpus/"
	fi
	dict=()
	[[ -f fuzz_$t.dict ]] && dict=(-dict="fuzz_$t.dict")
	log=$work/log
	echo "fuzz_$t: fuzzing for ${seconds} s ..."
	start=$SECONDS
	# stdin from /dev/null: nothing a target does may wait on the terminal.
	run() {
		"$bin" -timeout=10 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
			-artifact_prefix="crashes/fuzz_${t}-" "${dict[@]}" "$@" "$work/corpus" \
			</dev/null >>"$log" 2>&1
	}
	if [[ $t == config ]]; then
		# libconfig leaks on every syntax error (see fuzz_config.c), which makes libFuzzer
		# run a full leak check after most inputs (9x slower). So: explore without leak
		# checks for the first half, then go on with them, replaying everything found.
		half=$((seconds / 2))
		run -max_total_time="$half" -detect_leaks=0
		rc=$?
		((rc == 0)) && { run -max_total_time="$((seconds - half))"; rc=$?; }
	else
		run -max_total_time="$seconds"
		rc=$?
	fi
	elapsed=$((SECONDS - start))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | awk '{n += $1} END {print n}')
	if ((rc == 0)); then
		summary+=("fuzz_$t: ${execs:-?} execs in ${elapsed} s, no crash")
	else
		failed+=("$t")
		summary+=("fuzz_$t: FAILED (exit $rc) after ${execs:-?} execs in ${elapsed} s")
		echo "---- fuzz_$t output (last 60 lines) ----"
		tail -60 "$log"
		ls -1 crashes/fuzz_"$t"-* 2>/dev/null | sed 's/^/reproducer: tests\/fuzz\//'
	fi
done
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
	echo "fuzzing found problems in: ${failed[*]}" >&2
	exit 1
fi
