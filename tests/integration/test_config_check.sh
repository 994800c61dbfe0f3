#!/bin/bash
# (j) Configuration checking, `socketbox -c` (like `nginx -t`, `sshd -t`), and refusing to
# start with a bad file:
#   - `socketbox -c -f conf/socketbox.conf` (the shipped example) exits 0 (naming the user
#     running the test where the socketbox user does not exist or it does not run as root);
#   - a file with several errors on known lines (an unknown key in listen, a bad address, a
#     port out of range, an unknown top-level key, an unknown target) exits 1 and prints
#     every one of them, each once, as FILE:LINE: with the right line and the setting named;
#   - errors come in the order of their lines;
#   - warnings (a target nothing uses, a rule an earlier one shadows, a rule set nothing jumps
#     to) are printed as FILE:LINE: SETTING: warning: and the exit status stays 0;
#   - a syntax error exits 1 and prints FILE:LINE and the line itself;
#   - a missing file exits 1 and names the file;
#   - `socketbox -f BROKEN` refuses to start: exit 1, "not starting", and nothing ever
#     listens on the port the file names.
# Needs neither root nor namespaces: nothing here opens a privileged port.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_exec "$SOCKETBOX"
command -v ss >/dev/null 2>&1 || tb_skip "'ss' is not installed"

TB_DIR=$(mktemp -d /tmp/socketbox-test.XXXXXX) || tb_fail "mktemp -d failed"
SB_PID=
cleanup() {
	local rc=$?
	trap - EXIT
	[[ -n $SB_PID ]] && kill -KILL "$SB_PID" 2>/dev/null
	rm -rf -- "$TB_DIR"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# run_sb ARG...: run socketbox (at most $TB_WAIT s); sets RC, OUT (stdout) and ERR (stderr).
run_sb() {
	RC=0
	timeout "$TB_WAIT" "$SOCKETBOX" "$@" >"$TB_DIR/out" 2>"$TB_DIR/err" || RC=$?
	OUT=$(cat "$TB_DIR/out")
	ERR=$(cat "$TB_DIR/err")
	tb_log "socketbox $*: exit $RC; stdout: ${OUT//$'\n'/ | }; stderr: ${ERR//$'\n'/ | }"
}

# expect_error FILE LINE REGEX WHAT: stderr has a line with "FILE:LINE: " followed by REGEX.
expect_error() {
	local file=$1 line=$2 re=$3 what=$4
	if ! grep -Eq -- "(^|[[:space:]])$(sed 's/[][\.*^$+?(){}|/]/\\&/g' <<<"$file"):$line: $re" \
		<<<"$ERR"; then
		tb_fail "$what: no '$file:$line: $re' in the output: $ERR"
	fi
	tb_log "ok: $what reported as $file:$line"
}

# a free TCP port on ::1 for the "refuses to start" case
PORT=$("$PYTHON" -c '
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.bind(("::1", 0))
print(s.getsockname()[1])') || tb_fail "cannot find a free port"

# ---------------------------------------------------------------- the shipped example

EXAMPLE=$SB_TOP/conf/socketbox.conf
if [[ ! -f $EXAMPLE ]]; then
	tb_fail "conf/socketbox.conf does not exist: the example configuration (DESIGN.md §2, §5) has not been written yet"
fi
cd "$SB_TOP" || tb_fail "cannot cd to $SB_TOP"
# The example names the user socketbox, which conf/socketbox.sysusers creates on install,
# and -c refuses a user this process could not switch to. Where that user is missing or
# the test does not run as root, check a copy naming the user running it, with -k to keep
# that user's supplementary groups.
example=conf/socketbox.conf
keep=()
if [[ $(id -u) -ne 0 ]] || ! getent passwd socketbox >/dev/null; then
	example=$TB_DIR/example.conf
	keep=(-k)
	sed "s/^user = \"socketbox\";/user = \"$(id -un)\";/" conf/socketbox.conf >"$example"
	grep -q "^user = \"$(id -un)\";" "$example" || tb_fail "conf/socketbox.conf has no user = \"socketbox\";"
fi
run_sb -c "${keep[@]}" -f "$example"
tb_assert_eq 0 "$RC" "exit status of socketbox -c -f $example (stderr: $ERR)"
grep -q 'configuration OK' <<<"$OUT" ||
	tb_fail "socketbox -c -f $example did not say 'configuration OK': $OUT"
if grep -q 'sets no user' <<<"$ERR"; then
	tb_fail "the shipped example sets no user: $ERR"
fi

# Without a user socketbox stays root (no capabilities, but every root-owned file): -c says so.
NOUSER=$TB_DIR/nouser.conf
cat >"$NOUSER" <<CONF
listen = { address = "::1"; port = $PORT; };
targets = { one = { path = "$TB_DIR/one.sock"; }; };
rules = ( { local = "2001:db8::1"; target = "one"; } );
CONF
run_sb -c -f "$NOUSER"
tb_assert_eq 0 "$RC" "exit status of socketbox -c for a file without user (a warning only)"
grep -qF "warning: $NOUSER sets no user, so socketbox keeps running as root" <<<"$ERR" ||
	tb_fail "socketbox -c did not warn about running as root: $ERR"

# ---------------------------------------------------------------- saying no clearly
# -c checks what a start would refuse: an empty file, the command line's own values.
run_sb -c -f /dev/null
tb_assert_eq 1 "$RC" "exit status of socketbox -c -f /dev/null"
grep -qF '/dev/null: no targets, no rules and no default' <<<"$ERR" ||
	tb_fail "socketbox -c -f /dev/null did not say it is empty: $ERR"
run_sb -c -f "$NOUSER" -l bogus
tb_assert_eq 100 "$RC" "exit status of socketbox -c -l bogus"
run_sb -c -f "$NOUSER" -u sb-no-such-user
tb_assert_eq 1 "$RC" "exit status of socketbox -c -u sb-no-such-user"
grep -qF 'user: no such user "sb-no-such-user"' <<<"$ERR" ||
	tb_fail "socketbox -c -u sb-no-such-user did not name the user: $ERR"

# --match: where would this connection go, and by which rule (like ip route get)
MATCH=$TB_DIR/match.conf
cat >"$MATCH" <<CONF
listen = { address = "::1"; port = $PORT; };
targets = { a = { path = "$TB_DIR/a.sock"; }; b = { path = "$TB_DIR/b.sock"; }; };
rules = (
  { local = "2001:db8::1"; local_port = 22; target = "a"; },
  { remote = "2001:db8:bad::/48"; action = "drop"; },
  { jump = "more"; }
);
rulesets = { more = ( { local = "2001:db8::/64"; target = "b"; } ); };
default = "reject";
CONF
for m in "2001:db8::1 22|target a (rules[0], $MATCH:4)" \
	"2001:db8::1 23|target b (rulesets.more[0], $MATCH:8)" \
	"2001:db8::5 80 2001:db8:bad::1 40000|drop (rules[1], $MATCH:5)" \
	"2001:db8:1::1 80|reject (default)"; do
	# shellcheck disable=SC2086 # the addresses and ports are words
	run_sb -f "$MATCH" --match ${m%%|*}
	tb_assert_eq "0 ${m#*|}" "$RC $OUT" "socketbox --match ${m%%|*}"
done

# --listener: a rule for one listen group matches only what came in on it
cat >"$MATCH" <<CONF
listen = ( { name = "pub"; address = "::1"; port = $PORT; },
           { name = "lb"; address = "::1"; port = $((PORT + 1)); } );
targets = { a = { path = "$TB_DIR/a.sock"; }; b = { path = "$TB_DIR/b.sock"; }; };
rules = ( { listener = "lb"; target = "b"; }, { target = "a"; } );
CONF
run_sb -f "$MATCH" --match 2001:db8::1 22
tb_assert_eq "0 target a (rules[1], $MATCH:4)" "$RC $OUT" "--match without --listener"
run_sb -f "$MATCH" --listener lb --match 2001:db8::1 22
tb_assert_eq "0 target b (rules[0], $MATCH:4)" "$RC $OUT" "--match --listener lb"
run_sb -f "$MATCH" --listener nope --match 2001:db8::1 22
tb_assert_eq 100 "$RC" "exit status of --listener naming no listen group"
grep -qF 'no listen group of that name' <<<"$ERR" || tb_fail "--listener nope: $ERR"

# ---------------------------------------------------------------- several errors

BROKEN=$TB_DIR/broken.conf
cat >"$BROKEN" <<CONF
# line 1: a configuration with five errors on known lines
listen = {
  address = "::1";
  port = $PORT;
  bcklog = 128;
};
targets = {
  one = { path = "$TB_DIR/one.sock"; };
};
rules = (
  { local = "2001:db8::1"; target = "one"; },
  { local = "2001:db8:::7"; target = "one"; },
  { remote = "2001:db8:bad::/48"; local_port = 99999; target = "one"; },
  { local = "2001:db8::3"; target = "nosuch"; }
);
colour = "blue";
CONF
run_sb -c -f "$BROKEN"
tb_assert_eq 1 "$RC" "exit status of socketbox -c with a broken file"
expect_error "$BROKEN" 5 'listen: unknown setting "bcklog"' "the unknown key bcklog in listen"
expect_error "$BROKEN" 12 'rules\[1\]\.local: .*2001:db8:::7' "the bad address 2001:db8:::7"
expect_error "$BROKEN" 13 'rules\[2\]\.local_port: .*99999' "the port 99999"
expect_error "$BROKEN" 14 'rules\[3\]\.target: .*nosuch' "the unknown target nosuch"
expect_error "$BROKEN" 16 '.*unknown setting "colour"' "the unknown top-level key colour"
n=$(grep -c -- "$BROKEN:[0-9]*: " <<<"$ERR" || true)
tb_assert_eq 5 "$n" "number of FILE:LINE errors printed (each error once)"
if grep -q 'configuration OK' <<<"$OUT$ERR"; then
	tb_fail "socketbox -c said 'configuration OK' for a broken file"
fi
# in the order of their lines, though colour (line 16) is found first
tb_assert_eq "5 12 13 14 16" "$(grep -o -- "$BROKEN:[0-9]*: " <<<"$ERR" | cut -d: -f2 | tr '\n' ' ' | sed 's/ $//')" \
	"lines of the errors, in order"

# ---------------------------------------------------------------- warnings
# What is surely a mistake but harmless: said as FILE:LINE: SETTING: warning:, exit 0.
WARN=$TB_DIR/warn.conf
cat >"$WARN" <<CONF
listen = { address = "::1"; port = $PORT; };
targets = { a = { path = "$TB_DIR/a.sock"; }; spare = { path = "$TB_DIR/s.sock"; }; };
rules = (
  { local = "2001:db8::/64"; target = "a"; },
  { local = "2001:db8::7"; local_port = 22; action = "drop"; }
);
rulesets = { forgotten = ( { action = "drop"; } ); };
CONF
run_sb -c -f "$WARN"
tb_assert_eq 0 "$RC" "exit status of socketbox -c with warnings only"
expect_error "$WARN" 2 'targets\.spare: warning: no rule and not the default' "the unused target"
expect_error "$WARN" 5 'rules\[1\]: warning: never matches: the rule at line 4' "the shadowed rule"
expect_error "$WARN" 7 'rulesets\.forgotten: warning: no rule jumps to this set' "the set nothing jumps to"
grep -qF "configuration OK" <<<"$OUT" || tb_fail "socketbox -c did not say OK with warnings only: $OUT"

# ---------------------------------------------------------------- a syntax error

SYNTAX=$TB_DIR/syntax.conf
cat >"$SYNTAX" <<CONF
listen = { address = "::1"; port = $PORT; };
targets = {
  one = { path = "$TB_DIR/one.sock"; };
};
rules = (
  { local = "2001:db8::1"; target = = "one"; }
);
CONF
run_sb -c -f "$SYNTAX"
tb_assert_eq 1 "$RC" "exit status of socketbox -c with a syntax error"
expect_error "$SYNTAX" 6 '.*syntax error; the line reads: ' "the syntax error, with its line"

# an unterminated group: the error is at the end of the file
cat >"$TB_DIR/unterminated.conf" <<CONF
listen = { address = "::1"; port = $PORT; };
targets = {
  one = { path = "$TB_DIR/one.sock"; };
CONF
run_sb -c -f "$TB_DIR/unterminated.conf"
tb_assert_eq 1 "$RC" "exit status of socketbox -c with an unterminated group"
grep -Eq -- "$TB_DIR/unterminated.conf:[0-9]+: " <<<"$ERR" ||
	tb_fail "no FILE:LINE for an unterminated group: $ERR"
tb_log "ok: unterminated group reported with FILE:LINE"

# ---------------------------------------------------------------- a missing file

run_sb -c -f "$TB_DIR/missing.conf"
tb_assert_eq 1 "$RC" "exit status of socketbox -c with a missing file"
grep -qF -- "$TB_DIR/missing.conf" <<<"$ERR" || tb_fail "the missing file is not named: $ERR"

# ---------------------------------------------------------------- refusing to start

for f in "$BROKEN" "$SYNTAX"; do
	"$SOCKETBOX" -f "$f" >"$TB_DIR/start.out" 2>"$TB_DIR/start.err" &
	SB_PID=$!
	listened=
	deadline=$((SECONDS + TB_WAIT))
	while kill -0 "$SB_PID" 2>/dev/null && ((SECONDS < deadline)); do
		if [[ -n $(ss -Hltn "sport = :$PORT" 2>/dev/null) ]]; then
			listened=1
		fi
		sleep 0.1
	done
	if kill -0 "$SB_PID" 2>/dev/null; then
		tb_fail "socketbox -f ${f##*/} is still running after $TB_WAIT s (it must refuse to start)"
	fi
	rc=0
	wait "$SB_PID" || rc=$?
	SB_PID=
	ERR=$(cat "$TB_DIR/start.err")
	tb_assert_eq 1 "$rc" "exit status of socketbox -f ${f##*/}"
	[[ -z $listened ]] || tb_fail "socketbox -f ${f##*/} listened on port $PORT"
	grep -qF -- "$f: configuration has errors; not starting" <<<"$ERR" ||
		tb_fail "socketbox -f ${f##*/} did not say it is not starting: $ERR"
	grep -Eq -- "$f:[0-9]+: " <<<"$ERR" ||
		tb_fail "socketbox -f ${f##*/} did not print the errors with FILE:LINE: $ERR"
	tb_log "ok: socketbox -f ${f##*/} refused to start and never listened"
done

echo "PASS: socketbox -c reports every error as FILE:LINE and a bad file never starts"
