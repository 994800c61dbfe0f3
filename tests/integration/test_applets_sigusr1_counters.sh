#!/bin/bash
# `pkill -USR1 socketbox` used to kill every applet (they died on SIGUSR1 and left their
# socket files). Now each applet logs its counters on SIGUSR1 and goes on serving:
# socketbox-inetd (received, dropped, started, running, failed, killed) and
# socketbox-relay (received, dropped, active, connect failures, timeouts, bytes).

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SB_INETD" "$SB_RELAY"
tb_setup
JUNK=$SB_TOP/tests/integration/helpers/send_junk.py

tb_bg "$TB_APP1" "$SB_INETD" -s "$TB_DIR/inetd.sock" sh -c 'exit 3'
inetd=$TB_BG_PID
inetdlog=$TB_BG_LOG
tb_bg "$TB_APP1" socat -t "$TB_WAIT" TCP4-LISTEN:7000,bind=127.0.0.1,reuseaddr,fork EXEC:cat
tb_wait_listen "$TB_APP1" 7000
tb_bg "$TB_APP1" "$SB_RELAY" -s "$TB_DIR/relay.sock" 127.0.0.1:7000
relay=$TB_BG_PID
relaylog=$TB_BG_LOG
tb_wait_socket "$TB_DIR/inetd.sock"
tb_wait_socket "$TB_DIR/relay.sock"

for s in inetd relay; do
	tb_in "$TB_APP1" "$PYTHON" "$JUNK" "$TB_DIR/$s.sock" good >/dev/null
	tb_in "$TB_APP1" "$PYTHON" "$JUNK" "$TB_DIR/$s.sock" pipe >/dev/null
done
tb_wait_log "$inetdlog" "dropped a message"
tb_wait_log "$relaylog" "dropped a message"

# The program's exit (status 3) is counted once it has been reaped.
for ((i = 0; i < 300; i++)); do
	kill -USR1 "$inetd"
	grep -q 'counters: received 1, dropped 1, started 1, running 0, failed 1, killed 0' \
		"$inetdlog" && break
	sleep 0.1
done
grep 'counters:' "$inetdlog" | tail -n 1 >&2
grep -q 'counters: received 1, dropped 1, started 1, running 0, failed 1, killed 0' \
	"$inetdlog" || tb_fail "socketbox-inetd's counters are not as expected"
kill -USR1 "$relay"
tb_wait_log "$relaylog" "counters: received 1, dropped 1,"
grep 'counters:' "$relaylog" | tail -n 1 >&2

tb_alive "$inetd" || tb_fail "socketbox-inetd died of SIGUSR1"
tb_alive "$relay" || tb_fail "socketbox-relay died of SIGUSR1"
[[ -S $TB_DIR/inetd.sock && -S $TB_DIR/relay.sock ]] || tb_fail "a socket file is gone"
tb_in "$TB_APP1" "$PYTHON" "$JUNK" "$TB_DIR/inetd.sock" good >/dev/null
for ((i = 0; i < 300; i++)); do
	kill -USR1 "$inetd"
	grep -q 'counters: received 2,' "$inetdlog" && break
	sleep 0.1
done
grep -q 'counters: received 2,' "$inetdlog" || tb_fail "socketbox-inetd stopped serving"
tb_log "ok: both applets logged their counters on SIGUSR1 and go on serving"
