#!/bin/bash
# systemd's protocols without systemd: socketbox takes its listener from LISTEN_FDS/LISTEN_PID
# (fd 3) instead of binding, reports READY=1 to NOTIFY_SOCKET once serving, STOPPING=1 on
# SIGTERM, and hands connections on the activated socket to its applet.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
tb_setup

tb_bg "$TB_SERVER" "$SB_INETD" -s "$TB_DIR/app.sock" echo activated
tb_wait_socket "$TB_DIR/app.sock"
# No -p: the only listener socketbox can have is the activated one.
tb_bg "$TB_SERVER" "$PYTHON" "$SB_TOP/tests/integration/helpers/activate.py" 7000 \
	"$SOCKETBOX" -S "$TB_DIR/app.sock"
log=$TB_BG_LOG
tb_wait_log "$log" 'pid:'
tb_assert_eq "notify: READY=1" "$(grep "^notify:" "$log" | sed -n 1p)" "readiness notification"
pid=$(sed -n 's/^pid: //p' "$log")

out=$(tb_in "$TB_SERVER" socat -u TCP6:[::1]:7000 -) || tb_fail "no answer on the activated socket"
tb_assert_eq activated "$out" "answer through the activated listener"
# socketbox must not have bound a socket of its own: its only listener is the activated one.
listeners=$(tb_in "$TB_SERVER" ss -Hltnp | grep -c '"socketbox"' || true)
tb_assert_eq 1 "$listeners" "listening sockets held by socketbox"
tb_in "$TB_SERVER" ss -Hltnp | grep '"socketbox"' | grep -q '\[::1\]:7000 ' ||
	tb_fail "socketbox's listener is not [::1]:7000"

kill -TERM "$pid"
tb_wait_log "$log" 'exit:'
tb_assert_eq "notify: STOPPING=1" "$(grep "^notify:" "$log" | sed -n 2p)" "stop notification"
tb_assert_eq "exit: 0" "$(grep "^exit:" "$log")" "exit status after SIGTERM"
