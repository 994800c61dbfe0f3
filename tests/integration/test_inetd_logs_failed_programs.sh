#!/bin/bash
# socketbox-inetd sshd -i on a fresh Debian failed silently ("Missing privilege separation
# directory: /run/sshd" went nowhere, and nothing was logged without -vv). A program that
# fails is now logged by default with its pid, name and status, and what it writes on
# stderr reaches the same log; a flood of failures is rate-limited (10 lines per 5 s, then
# a count); a program killed by SIGPIPE (its client went away) is no failure.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SB_INETD"
tb_setup
JUNK=$SB_TOP/tests/integration/helpers/send_junk.py

# shellcheck disable=SC2016 # expanded by the per-connection shell
tb_bg "$TB_APP1" "$SB_INETD" -s "$TB_DIR/app.sock" sh -c 'echo "no /run/sshd here" >&2; exit 255'
log=$TB_BG_LOG
tb_wait_socket "$TB_DIR/app.sock"
tb_in "$TB_APP1" "$PYTHON" "$JUNK" "$TB_DIR/app.sock" good >/dev/null
tb_wait_log "$log" "(sh) ended: status 255"
tb_wait_log "$log" "no /run/sshd here"
tb_log "ok: a failing program is logged by default, with its stderr"

# 40 more failures at once: at most 10 lines per 5 s window, the rest counted. The bound
# comes from the windows the run actually spanned, so a slow machine cannot fail it.
t0=$SECONDS
for ((i = 0; i < 40; i++)); do
	tb_in "$TB_APP1" "$PYTHON" "$JUNK" "$TB_DIR/app.sock" good >/dev/null
done
for ((i = 0; i < 300; i++)); do
	kill -USR1 "$(pgrep -f "socketbox-inetd -s $TB_DIR/app.sock")"
	grep -q 'counters: received 41, .*failed 41' "$log" && break
	sleep 0.1
done
grep -q 'counters: received 41, .*failed 41' "$log" || tb_fail "not all 41 programs ended"
# at exit it says what it still held back
pid=$(pgrep -f "socketbox-inetd -s $TB_DIR/app.sock")
tb_kill "$pid"
tb_alive "$pid" && tb_fail "socketbox-inetd did not end on SIGTERM"
windows=$(((SECONDS - t0) / 5 + 2))
lines=$(grep -c '(sh) ended: status 255' "$log")
suppressed=$(sed -n 's/.* \([0-9]*\) similar messages\? suppressed (programs that failed).*/\1/p' "$log" |
	awk '{ n += $1 } END { print n + 0 }')
tb_log "41 failures: $lines lines, $suppressed suppressed, over at most $windows windows"
((lines <= 10 * windows)) || tb_fail "$lines lines in $windows windows of 10"
tb_assert_eq 41 "$((lines + suppressed))" "failures logged or counted as suppressed"
