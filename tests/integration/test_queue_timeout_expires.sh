#!/bin/bash
# Queued connections expire (the operator-experience issue, item 5): after 400 connections
# to a slow applet, hundreds used to wait long after their clients gave up, and would still
# have been handed on. With queue_timeout = 1, a frozen applet's queue is reset after a
# second: each expired connection is reset (its client sees a reset), counted as
# "reset expired", logged, and never handed on; the applet, once thawed, serves exactly
# what was not expired (the datagrams already in its socket).

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=helpers/core_cc.sh
. "$(dirname "$0")/helpers/core_cc.sh"

tb_require_root
tb_require_exec "$SOCKETBOX"
tb_setup
APPLET=$TB_DIR/line_applet
core_cc "$APPLET" "$SB_TOP/tests/soak/line_applet.c" || tb_fail "cannot compile tests/soak/line_applet.c"
N=60

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; backlog = 1024; };
targets = { slow = { path = "$TB_DIR/app.sock"; queue_timeout = 1; }; };
rules = ( { local = "2001:db8::1"; target = "slow"; } );
CONF
tb_bg "$TB_APP1" "$APPLET" "$TB_DIR/app.sock" ok
app=$TB_BG_PID
applog=$TB_BG_LOG
tb_wait_socket "$TB_DIR/app.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
sb=$TB_BG_PID
sblog=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"

tb_burst_expire "$app" "$sblog" "$TB_DIR/app.sock" 2001:db8::1 "$N"
ok=$TB_BURST_OK
reset=$TB_BURST_RESET

kill -USR1 "$sb"
tb_wait_log "$sblog" "counters:"
counters=$(grep 'counters:' "$sblog" | tail -n 1)
tb_log "$counters"
[[ $counters == *"handed $ok,"* ]] || tb_fail "the acceptor did not hand exactly the $ok answered: $counters"
[[ $counters == *"reset expired $reset,"* ]] || tb_fail "expired is not $reset: $counters"
[[ $counters == *"reset queue-full 0,"* ]] || tb_fail "queue-full resets: $counters"
kill -USR1 "$app"
tb_wait_log "$applog" "served"
tb_assert_eq "$ok" "$(sed -n 's/.*served \([0-9]*\),.*/\1/p' "$applog" | tail -n 1)" \
	"connections the applet served (no expired one handed on)"
