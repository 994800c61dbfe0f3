#!/bin/bash
# A remote client cannot flood the log. Two targets whose applets are missing: "gone", one
# static path, and "tenant", a template filled from the local address (%l4). 3,000
# connections to gone and 1,000 to tenant, each to another address (so 1,000 template
# instances), are all reset. With the default log_limit (10 messages per 5 s per kind), the
# acceptor logs, per kind, at most 10 messages per window of 5 s, and one line per window
# for what it held back, even when no message follows (its timer says it); at exit it says
# what is still held back. Asserted, with W the
# number of 5 s windows the acceptor's run can hold (from the measured run time, so the
# bound holds on a machine of any speed):
#   - "reset [...]" lines: at least the first 10, at most 10 W; "N similar messages
#     suppressed (connection resets)" lines: at most W; the lines plus the N add up to
#     every one of the 4,000 resets;
#   - likewise for "applet .../t-XXXX.sock is not reachable" (filled template paths): the
#     lines plus the N add up to the 1,000 instances;
#   - the configured path is reported unreachable exactly once (its own kind: the flood
#     does not hide it);
#   - the counters count every connection: accepted 4000, reset no-applet 4000.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX"
tb_setup

STATIC=3000
FILLED=1000
TOTAL=$((STATIC + FILLED))
BURST_LIMIT=10
INTERVAL_MS=5000
BURST=$(dirname "$0")/helpers/burst_client.py

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; backlog = 4096; };
targets = {
  gone = { path = "$TB_DIR/missing.sock"; };
  tenant = { path = "$TB_DIR/t-%l4.sock"; };
};
rules = (
  { local = "2001:db8::1"; target = "gone"; },
  { local = "2001:db8:100::/64"; target = "tenant"; }
);
CONF

t0=$(date +%s%N)
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
SB_PID=$TB_BG_PID
SB_LOG=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"

# burst ADDR COUNT SPREAD: COUNT connections, 100 at a time, all to be reset.
burst() {
	local res
	# The client exits 1 as no connection is answered: only its result line counts.
	res=$(tb_in "$TB_CLIENT" timeout -k 5 100 "$PYTHON" "$BURST" --concurrency 100 \
		--spread "$3" "$1" 80 "$2" none 60 2>&1 | grep '^burst: count=' || true)
	[[ -n $res ]] || tb_fail "the burst to $1 printed no result"
	tb_log "$1 (spread $3): $res"
	[[ $res == *" reset=$2 "* ]] || tb_fail "not every connection to $1 was reset: $res"
}
burst 2001:db8::1 "$STATIC" 1
# No other message comes: the acceptor's timer says what the window held back once it ends.
for ((i = 0; i < 300; i++)); do
	grep -qF 'similar messages suppressed (connection resets)' "$SB_LOG" && break
	sleep 0.1
done
grep -F 'similar messages suppressed (connection resets)' "$SB_LOG" >&2 ||
	tb_fail "no summary of the suppressed reset lines within 30 s"
burst 2001:db8:100::1000 "$FILLED" "$FILLED"

tb_alive "$SB_PID" || tb_fail "the acceptor died"
tb_kill "$SB_PID"
tb_alive "$SB_PID" && tb_fail "the acceptor did not stop on SIGTERM"
elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
windows=$((elapsed_ms / INTERVAL_MS + 1))
lines=$(wc -l <"$SB_LOG")
tb_log "run of ${elapsed_ms} ms: at most $windows windows per kind; $lines log lines"

counters=$(grep 'counters:' "$SB_LOG" | tail -n 1)
tb_log "$counters"
for want in "accepted $TOTAL," "handed 0," "reset no-applet $TOTAL,"; do
	[[ $counters == *"$want"* ]] || tb_fail "counters lack '$want': $counters"
done

# check_kind WHAT PATTERN EXPECTED: the lines matching PATTERN (grep -E) are at least the
# first burst and at most BURST_LIMIT a window, the summaries of kind WHAT at most one a
# window, and the lines plus what the summaries count make EXPECTED.
check_kind() {
	local what=$1 pattern=$2 expected=$3 shown summaries held
	shown=$(grep -cE -- "$pattern" "$SB_LOG" || true)
	summaries=$(grep -cF -- "similar messages suppressed ($what)" "$SB_LOG" || true)
	held=$(sed -n "s/.*warning: \([0-9]*\) similar messages\{0,1\} suppressed ($what)\$/\1/p" \
		"$SB_LOG" | awk '{ n += $1 } END { print n + 0 }')
	tb_log "$what: $shown lines, $summaries summaries counting $held more"
	((shown >= BURST_LIMIT)) || tb_fail "$what: only $shown lines, the first $BURST_LIMIT must show"
	((shown <= BURST_LIMIT * windows)) ||
		tb_fail "$what: $shown lines, more than $BURST_LIMIT in each of $windows windows"
	((summaries <= windows)) || tb_fail "$what: $summaries summaries in $windows windows"
	tb_assert_eq "$expected" "$((shown + held))" "$what logged or counted as suppressed"
}
check_kind "connection resets" '^socketbox: warning: reset \[' "$TOTAL"
check_kind "filled template paths" "^socketbox: warning: applet $TB_DIR/t-[0-9a-f]{4}\\.sock is not reachable" "$FILLED"
tb_assert_eq 1 "$(grep -cF -- "applet $TB_DIR/missing.sock is not reachable" "$SB_LOG")" \
	"lines saying the configured path is not reachable"
grep -q 'target gone: no applet is reachable' "$SB_LOG" || tb_fail "no reset line for target gone"

# Everything else is a handful of lines: start-up, counters.
max=$((2 * (BURST_LIMIT + 1) * windows + 10))
((lines <= max)) || tb_fail "$lines log lines for $TOTAL connections (at most $max expected)"
echo "PASS: $TOTAL resets in ${elapsed_ms} ms gave $lines log lines (bound $max); the counters count all"
