#!/bin/bash
# `socketbox --convert FILE`: configurations of the original socketbox become socketbox.conf
# files that give every connection the same verdict.
#   - each configuration in data/convert/ (together every token of the original's format:
#     max-rules, max-maps, rule-set, map-set, size, ip, rip, port, rport, match-lip,
#     match-rip, match-lport, match-rport, jump-unix, jump-fd, jump-rule, jump-map, default,
#     fail, comments) converts with exit 0 and nothing on stderr, the result passes
#     `socketbox -c`, and for 300 generated connections each `socketbox -c --match -` gives
#     a verdict that the original's lookup (helpers/original_lookup.py, written from its
#     lookup.c: terminal jumps, per-set defaults, map-sets, the 100-set limit) gives too;
#   - so do 20 random configurations (those the converter does not refuse for a loop);
#   - what the original cannot mean, or socketbox cannot say the same way, is refused with
#     exit 1, nothing on stdout, and FILE:LINE: naming the line: a loop of jumps, a chain
#     past 100 sets, a relative path, a number with junk, an abbreviated token, a mask that
#     is not a prefix, and more;
#   - a conversion that socketbox's loader would refuse (too many steps per lookup) fails
#     too, saying so; an unreadable file exits 111, a usage error 100; "-" reads stdin.
# Needs neither root nor namespaces.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_exec "$SOCKETBOX"
DATA=$SB_TOP/tests/integration/data/convert

TB_DIR=$(mktemp -d /tmp/socketbox-test.XXXXXX) || tb_fail "mktemp -d failed"
cleanup() {
	local rc=$?
	trap - EXIT
	rm -rf -- "$TB_DIR"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# convert FILE [ARG...]: socketbox --convert (at most $TB_WAIT s); sets RC, OUT (the stdout
# file) and ERR (stderr).
convert() {
	RC=0
	OUT=$TB_DIR/out.conf
	timeout "$TB_WAIT" "$SOCKETBOX" --convert "$@" >"$OUT" 2>"$TB_DIR/err" || RC=$?
	ERR=$(cat "$TB_DIR/err")
}

# ---------------------------------------------------------------- same verdicts
n=0
for orig in "$DATA"/*.conf; do
	name=${orig##*/}
	convert "$orig"
	[[ $RC -eq 0 && -z $ERR ]] || tb_fail "$name: exit $RC, stderr: $ERR"
	cp "$OUT" "$TB_DIR/$name"
	"$SOCKETBOX" -c -f "$TB_DIR/$name" >"$TB_DIR/check" 2>&1 ||
		tb_fail "$name: socketbox -c refuses the converted file: $(cat "$TB_DIR/check")"
	timeout "$TB_WAIT" "$PYTHON" "$SB_TOP/tests/integration/helpers/original_lookup.py" \
		"$orig" "$TB_DIR/$name" "$SOCKETBOX" 300 >"$TB_DIR/cmp" 2>&1 ||
		tb_fail "$name: verdicts differ: $(cat "$TB_DIR/cmp")"
	tb_log "ok: $(tail -n 1 "$TB_DIR/cmp")"
	n=$((n + 1))
done
[[ $n -ge 6 ]] || tb_fail "only $n configurations in $DATA"

# Random configurations (helpers/original_lookup.py --generate): overlapping entries,
# duplicate map keys, jumps anywhere. Loops and over-long chains are refused; the rest must
# keep every verdict.
mkdir "$TB_DIR/random"
timeout "$TB_WAIT" "$PYTHON" "$SB_TOP/tests/integration/helpers/original_lookup.py" \
	--random 20 "$SOCKETBOX" "$TB_DIR/random" >"$TB_DIR/cmp" 2>&1 ||
	tb_fail "random configurations: $(cat "$TB_DIR/cmp")"
tb_log "ok: $(tail -n 1 "$TB_DIR/cmp")"

# Every token of the format appears in the data (a token missing would go untested).
for tok in max-rules max-maps rule-set map-set size ip rip port rport match-lip match-rip \
	match-lport match-rport jump-unix jump-fd jump-rule jump-map default fail; do
	grep -Eq "(^|[[:space:]])$tok(:|[[:space:]]|$)" "$DATA"/*.conf ||
		tb_fail "no configuration in $DATA uses \"$tok\""
done

# The converted file says where the semantics differ.
grep -q 'falls through' "$TB_DIR/jumps.conf" || tb_fail "no word on terminal jumps"
grep -q 'there is no map-set:9, so the original closed the connection' "$TB_DIR/jumps.conf" ||
	tb_fail "the jump to a missing set is not explained"
grep -q 'rule-set:5 (line 39) is left out' "$TB_DIR/jumps.conf" ||
	tb_fail "the unreachable set is not named"
grep -q 'line 13: left out, it has the key of line 12' "$TB_DIR/mapkeys.conf" ||
	tb_fail "the duplicate map key is not explained"
grep -q '"/run/sb/100%%.sock"' "$TB_DIR/paths.conf" || tb_fail "a % in a path is not escaped"

# From standard input, the same file.
convert - <"$DATA/basic.conf"
[[ $RC -eq 0 ]] || tb_fail "--convert - : exit $RC: $ERR"
grep -q '^rules = (' "$OUT" || tb_fail "--convert - wrote no rules"

# ---------------------------------------------------------------- refused
# refused LINE REGEX TEXT: TEXT (printf format) is refused with FILE:LINE: REGEX.
refused() {
	local line=$1 re=$2 file=$TB_DIR/bad.conf
	# shellcheck disable=SC2059
	printf "$3" >"$file"
	convert "$file"
	[[ $RC -eq 1 ]] || tb_fail "expected exit 1 for '$3', got $RC ($ERR)"
	[[ ! -s $OUT ]] || tb_fail "output after an error for '$3': $(head -c 300 "$OUT")"
	grep -Eq -- "^socketbox: $file:$line: $re" <<<"$ERR" ||
		tb_fail "no '$file:$line: $re' for '$3' in: $ERR"
	tb_log "ok: refused: $(head -n 1 <<<"$ERR")"
}
R='max-rules:3\nrule-set:0 size:4\n'
refused 5 'the jump to rule-set:0 from rule-set:1 closes a loop' \
	"${R}port:1 jump-rule:1\nrule-set:1 size:1\nport:2 jump-rule:0\n"
refused 4 '"jump-unix:run/x.sock": "run/x.sock" is a relative path' \
	"${R}ip:2001:db8::1\njump-unix:run/x.sock\n"
refused 3 '"port:80x": "80x" is not a number from 0 to 65535' "${R}port:80x fail\n"
refused 3 '"j:1" is not a token; the original read it as "jump-map" by accident' \
	"${R}port:1 j:1\n"
refused 3 'unknown token "jump"' "${R}jump\n"
refused 3 '"ip:192.0.2.1": "192.0.2.1" is not an IPv6 address' "${R}ip:192.0.2.1 fail\n"
refused 3 '"ip:2001:db8::/ffff::ffff": "ffff::ffff" is not a prefix mask' \
	"${R}ip:2001:db8::/ffff::ffff fail\n"
refused 3 '"fail": the line ends in a carriage return' "${R}fail\r\n"
refused 3 '"port:1": a tab' "${R}port:1 port:1\tfail\n"
refused 3 '"default" must begin a line' "${R}port:1 default fail\n"
refused 4 '"ip:::1" after "default"' "${R}default fail\nip:::1\n"
refused 1 '"ip:::1" outside a rule-set' "ip:::1 fail\n"
refused 2 '"rule-set:3": max-rules:3 allows rule-sets 0 to 2 only' "max-rules:3\nrule-set:3\n"
refused 1 '"rule-set:0": no max-rules:N before it' "rule-set:0\n"
refused 3 '"fail": rule-set:0 has no size:N before its first entry' "max-rules:1\nrule-set:0\nfail\n"
refused 7 '"fail": rule-set:0 has more entries than its size:4 \(line 2\)' \
	"${R}fail\nfail\nfail\nfail\nfail\n"
refused 2 '"match-lip:64" outside a map-set' "max-rules:1\nrule-set:0 match-lip:64\n"
refused 2 '"max-rules:2": given twice \(first on line 1\)' "max-rules:1\nmax-rules:2\n"
refused 3 '"jump-fd:1048577": "1048577" is not a number' "${R}jump-fd:1048577\n"
refused 3 '"jump-unix:/a+": the path is longer than 107 bytes' \
	"${R}jump-unix:/$(printf 'a%.0s' {1..107})\n"
refused 2 'the line holds a NUL byte' "max-rules:1\nrule-set:0 \0\n"
# A chain of 101 sets: the original gives up at the 100th and closes the connection.
{
	echo max-rules:101
	for i in $(seq 0 100); do echo "rule-set:$i size:1"; echo "default jump-rule:$((i + 1))"; done
} >"$TB_DIR/chain101.conf"
sed -i '$d' "$TB_DIR/chain101.conf"
convert "$TB_DIR/chain101.conf"
[[ $RC -eq 1 ]] && grep -q "chain101.conf:201: this jump can take a lookup past 100 sets" <<<"$ERR" ||
	tb_fail "a chain of 101 sets: exit $RC, $ERR"

# Correct, but too much work per lookup for socketbox's loader: three sets, each with 50
# jumps on ports (scanned one by one) to the next. The message says it is the conversion.
{
	echo max-rules:4
	for s in 0 1 2; do
		echo "rule-set:$s size:50"
		for p in $(seq 1 50); do echo "port:$p jump-rule:$((s + 1))"; done
	done
} >"$TB_DIR/steps.conf"
convert "$TB_DIR/steps.conf"
[[ $RC -eq 1 && ! -s $OUT ]] &&
	grep -q "steps.conf: socketbox refuses the converted file, at its line .*10000 steps" <<<"$ERR" ||
	tb_fail "a conversion the loader refuses: exit $RC, $ERR"
tb_log "ok: $ERR"

# ---------------------------------------------------------------- exit statuses
convert "$TB_DIR/does-not-exist.conf"
[[ $RC -eq 111 ]] && grep -q "does-not-exist.conf: unable to read the file" <<<"$ERR" ||
	tb_fail "a missing file: exit $RC, $ERR"
RC=0
"$SOCKETBOX" -v --convert "$DATA/basic.conf" >/dev/null 2>&1 || RC=$?
tb_assert_eq 100 "$RC" "--convert with another option"
RC=0
"$SOCKETBOX" --convert >/dev/null 2>&1 || RC=$?
tb_assert_eq 100 "$RC" "--convert without a file"
echo "PASS"
