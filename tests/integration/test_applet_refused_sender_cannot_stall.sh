#!/bin/bash
# The audit's stalled close (issue 12, item 2): a sender that may not hand connections
# over (nobody, to socketbox-inetd --allow-uid root) sends a TCP socket with
# SO_LINGER {1, 100 s} and data that can never leave. The applet must drop it abortively
# (SO_LINGER {1, 0}) instead of waiting in close(); so a good hand-off right after it is
# served at once, and SIGTERM still ends the applet. Before the fix the applet sat in
# close() for the full 100 s.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SB_INETD"
command -v setpriv >/dev/null || tb_skip "setpriv is not installed"
tb_setup

sock=$TB_DIR/app.sock
# shellcheck disable=SC2016 # expanded by the per-connection shell
tb_bg "$TB_APP1" "$SB_INETD" -m 0666 --allow-uid root -s "$sock" \
	sh -c 'touch "$0/ran-$PROTO"' "$TB_DIR"
app=$TB_BG_PID
applog=$TB_BG_LOG
tb_wait_socket "$sock"

# The attacker holds its end open (the window shut) until this test is over. The applet
# is stopped meanwhile, so that its close will be the socket's last (the one that waits).
kill -STOP "$app"
mkfifo "$TB_DIR/hold"
# nobody may not be able to reach the checkout: the helper goes to the test's own directory
cp "$SB_TOP/tests/integration/helpers/linger_attack.py" "$TB_DIR/"
tb_in "$TB_APP1" setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$PYTHON" "$TB_DIR/linger_attack.py" "$sock" \
	<"$TB_DIR/hold" >"$TB_DIR/attack.out" 2>&1 &
attacker=$!
exec 8>"$TB_DIR/hold"
tb_wait_log "$TB_DIR/attack.out" "sent"
kill -CONT "$app"
tb_wait_log "$applog" "sender uid 65534 is not allowed"

"$PYTHON" "$SB_TOP/tests/integration/helpers/send_junk.py" "$sock" good
tb_wait_file() {
	local i
	for ((i = 0; i < 300; i++)); do
		[[ -e $1 ]] && return 0
		sleep 0.1
	done
	tb_fail "$2"
}
tb_wait_file "$TB_DIR/ran-IPC" "a good hand-off after the attack was not served within 30 s"
tb_log "ok: the good hand-off after the attack was served"
tb_kill "$app"
tb_alive "$app" && tb_fail "socketbox-inetd did not end on SIGTERM"
exec 8>&-
wait "$attacker" || true
tb_log "ok: socketbox-inetd ended on SIGTERM"
