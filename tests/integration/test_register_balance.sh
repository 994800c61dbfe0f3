#!/bin/bash
# Several applets registered for one slot (issue 11): 1,000 connections are spread over two
# of them and none is lost. Then one of two is killed (SIGKILL) in the middle of a flow of
# 2,000: socketbox sees its end at once and every connection not already sent to it is
# served by the other; the connections that were in the dead applet's socket are gone with
# it, and the slot's "lost" counter accounts for them (an upper bound, socketbox(8)).

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX"
tb_setup
PEER=$SB_TOP/tests/integration/helpers/reg_peer.py
BURST=$SB_TOP/tests/integration/helpers/burst_client.py
reg=$TB_DIR/register.sock

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; backlog = 1024; };
register = { path = "$reg"; };
targets = { web = { slot = 80; allow = [ 0 ]; queue_timeout = 0; }; };
rules = ( { local = "2001:db8::/32"; target = "web"; } );
CONF
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
sb=$TB_BG_PID
sblog=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"

peer() { # NAME ARGS...: a registered applet; sets pid and log
	tb_bg "$TB_APP1" "$PYTHON" "$PEER" "$reg" 80 "$@"
	pid=$TB_BG_PID
	log=$TB_BG_LOG
	tb_wait_log "$log" registered
}
served() { # PID LOG: what the applet served so far
	local n
	n=$(grep -c '^served' "$2") || true
	kill -USR1 "$1"
	tb_wait_count "$2" '^served' $((n + 1)) "served lines"
	sed -n 's/^served //p' "$2" | tail -n 1
}
slot_line() {
	tb_counters "$sb" "$sblog" >/dev/null
	grep 'counters of slot 80' "$sblog" | tail -n 1
}

peer && a=$pid alog=$log
peer && b=$pid blog=$log
line=$(tb_in "$TB_CLIENT" "$PYTHON" "$BURST" --concurrency 100 --spread 50 2001:db8::1 80 1000 ok 120)
tb_log "$line"
tb_burst_assert "$line" 1000
na=$(served "$a" "$alog")
nb=$(served "$b" "$blog")
tb_log "applet a served $na, applet b $nb"
tb_assert_eq 1000 "$((na + nb))" "connections served by the two applets"
((na >= 100 && nb >= 100)) || tb_fail "round robin did not spread them: $na and $nb"
# socketbox learns that the applets read everything at its next look at their sockets
# (SIOCOUTQ, every tick while something is unread): wait for it, then stop them.
all_read() {
	[[ $(grep 'counters of slot 80' "$sblog" | tail -n 1) == *", unread 0" ]] && return 0
	kill -USR1 "$sb"
	return 1
}
tb_until "$TB_WAIT" all_read || tb_fail "socketbox still counts connections unread"
tb_kill "$a"
tb_kill "$b"
tb_wait_count "$sblog" 'left slot 80' 2 "applets leaving"
# They had served everything: nothing was left unread in their sockets.
[[ $(slot_line) == *" lost 0,"* ]] || tb_fail "lost connections counted for applets that read all"

# The flow: c is killed once it has served 300 of it, d serves the rest.
peer --mark 300 "$TB_DIR/c300" && c=$pid
peer && d=$pid dlog=$log
tb_in "$TB_CLIENT" "$PYTHON" "$BURST" --concurrency 40 --spread 50 2001:db8::1 80 2000 ok 120 \
	>"$TB_DIR/flow.out" 2>&1 &
flow=$!
tb_until "$TB_WAIT" test -e "$TB_DIR/c300" || tb_fail "applet c did not serve 300"
kill -KILL "$c"
tb_wait_log "$sblog" "applet pid $c uid 0 left slot 80"
wait "$flow" || true
line=$(grep '^burst: count=' "$TB_DIR/flow.out") || tb_fail "no result from the flow"
tb_log "$line"
ok=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<<"$line")
failed=$((2000 - ok))
counters=$(slot_line)
tb_log "$counters"
main=$(grep 'counters:' "$sblog" | tail -n 1)
tb_log "$main"
lost=$(sed -n 's/.* lost \([0-9]*\),.*/\1/p' <<<"$counters")
nd=$(served "$d" "$dlog")
tb_log "applet d served $nd of the flow; $failed connections failed, lost counter $lost"
[[ $main == *"handed 3000,"* ]] || tb_fail "not every connection was handed to an applet: $main"
[[ $main == *"reset queue-full 0, reset no-applet 0, reset expired 0,"* ]] ||
	tb_fail "socketbox reset connections: $main"
((nd > 0 && nd <= ok)) || tb_fail "applet d served $nd of $ok"
# A connection c had taken but not answered yet when it died is not in the counter: one.
((failed <= lost + 1)) || tb_fail "$failed connections failed, but only $lost counted as lost"
