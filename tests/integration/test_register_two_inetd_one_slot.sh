#!/bin/bash
# Two socketbox-inetd registered for one slot with the real socketbox (issue 11): 1,000
# connections are split between them and none is lost; both were registered with
# --register (and -P, the original's spelling), and each counts what it served.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
tb_setup
BURST=$SB_TOP/tests/integration/helpers/burst_client.py
reg=$TB_DIR/register.sock

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; backlog = 1024; };
register = { path = "$reg"; };
targets = { web = { slot = 80; allow = [ "root" ]; queue_timeout = 0; }; };
rules = ( { local = "2001:db8::/32"; target = "web"; } );
CONF
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
sblog=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"

tb_bg "$TB_APP1" "$SB_INETD" --register "$reg:80" echo ok
a=$TB_BG_PID alog=$TB_BG_LOG
tb_bg "$TB_APP2" "$SB_INETD" -P "80:$reg" echo ok
b=$TB_BG_PID blog=$TB_BG_LOG
tb_wait_log "$alog" "registered for slot 80"
tb_wait_log "$blog" "registered for slot 80"
tb_wait_count "$sblog" "registered for slot 80" 2 "registrations socketbox logged"

line=$(tb_in "$TB_CLIENT" "$PYTHON" "$BURST" --concurrency 100 --spread 50 2001:db8::1 80 1000 ok 120)
tb_log "$line"
tb_burst_assert "$line" 1000
started() { # PID LOG: programs the applet started
	tb_counters "$1" "$2" | sed -n 's/.* started \([0-9]*\),.*/\1/p'
}
na=$(started "$a" "$alog")
nb=$(started "$b" "$blog")
tb_log "socketbox-inetd a started $na programs, b $nb"
tb_assert_eq 1000 "$((na + nb))" "connections served by the two socketbox-inetd"
((na >= 100 && nb >= 100)) || tb_fail "the slot was not shared: $na and $nb"
tb_log "ok: two registered socketbox-inetd shared 1,000 connections, none lost"
