#!/bin/bash
# Issue 11: the only applet of a slot dies; the connections that arrive meanwhile wait in
# the slot's queue and are served once an applet registers again. A target with both a slot
# and a path sends connections to the path while no applet is registered, to the
# registered applets otherwise. A slot's queue is bounded (queue) and so is the wait in it
# (queue_timeout), also while no applet is registered. The counters of each target on the
# stats socket count what goes through its slot, and each slot's applets and lost.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
tb_setup
PEER=$SB_TOP/tests/integration/helpers/reg_peer.py
BURST=$SB_TOP/tests/integration/helpers/burst_client.py
reg=$TB_DIR/register.sock
N=50

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
register = { path = "$reg"; };
stats = { path = "$TB_DIR/stats.sock"; mode = 0600; };
targets = {
	web = { slot = 80; allow = [ "root" ]; queue_timeout = 0; };
	both = { slot = 81; allow = [ "root" ]; path = "$TB_DIR/app.sock"; };
	small = { slot = 82; allow = [ "root" ]; queue = 2; queue_timeout = 0; };
	short = { slot = 83; allow = [ "root" ]; queue_timeout = 1; };
};
rules = ( { local = "2001:db8::1"; target = "web"; }, { local = "2001:db8::2"; target = "both"; },
	{ local = "2001:db8::3"; target = "small"; }, { local = "2001:db8::4"; target = "short"; } );
CONF
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
sb=$TB_BG_PID
sblog=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"

peer() { # SLOT ARGS...: a registered applet; sets pid
	tb_bg "$TB_APP1" "$PYTHON" "$PEER" "$reg" "$@"
	pid=$TB_BG_PID
	tb_wait_log "$TB_BG_LOG" registered
}
waiting() { # N [SLOT]: the queue of slot SLOT (default 80) holds N connections
	tb_counters "$sb" "$sblog" >/dev/null
	[[ $(grep "counters of slot ${2:-80} " "$sblog" | tail -n 1) == *"waiting $1,"* ]]
}

peer 80 --answer first
tb_assert_eq first "$(tb_client_get 2001:db8::1 80)" "a connection to the first applet"
kill -KILL "$pid"
tb_wait_log "$sblog" "applet pid $pid uid 0 left slot 80"
tb_in "$TB_CLIENT" "$PYTHON" "$BURST" 2001:db8::1 80 "$N" second 120 >"$TB_DIR/burst.out" 2>&1 &
burst=$!
tb_until "$TB_WAIT" waiting "$N" || tb_fail "the $N connections are not waiting for slot 80"
peer 80 --answer second
wait "$burst" || true
line=$(grep '^burst: count=' "$TB_DIR/burst.out") || tb_fail "no result from the clients"
tb_log "$line"
tb_burst_assert "$line" "$N" "queued connections served by the applet that registered"

# slot and path: the path while no applet is registered
tb_bg "$TB_APP1" "$SB_INETD" -s "$TB_DIR/app.sock" -m 0666 /bin/echo fallback
tb_wait_socket "$TB_DIR/app.sock"
tb_assert_eq fallback "$(tb_client_get 2001:db8::2 80)" "no applet registered: the path"
peer 81 --answer registered
tb_assert_eq registered "$(tb_client_get 2001:db8::2 80)" "an applet registered: the applet"
tb_assert_eq registered "$(tb_client_get 2001:db8::2 80)" "and again"
kill -KILL "$pid"
tb_wait_log "$sblog" "applet pid $pid uid 0 left slot 81"
tb_assert_eq fallback "$(tb_client_get 2001:db8::2 80)" "the applet gone: the path again"

# bounds: two wait for slot 82, the third is reset at once; slot 83 resets after a second
waiters=()
for i in 1 2; do
	tb_in "$TB_CLIENT" timeout "$TB_WAIT" socat -u TCP6:[2001:db8::3]:80 - >/dev/null 2>&1 &
	waiters+=($!)
done
tb_until "$TB_WAIT" waiting 2 82 || tb_fail "two connections are not waiting for slot 82"
tb_assert_eq reset "$(tb_client_probe 2001:db8::3 80)" "a third connection for slot 82"
tb_wait_log "$sblog" "target small: queue full"
tb_assert_eq reset "$(tb_client_probe 2001:db8::4 80)" "a connection that waits for slot 83"
tb_wait_log "$sblog" "reset 1 connection that waited 1000 ms or more for slot 83 (target short)"
line=$(tb_counters "$sb" "$sblog")
[[ $line == *"reset queue-full 1, reset no-applet 0, reset expired 1,"* ]] ||
	tb_fail "the totals do not count the resets: $line"

socat -t "$TB_WAIT" - "UNIX-CONNECT:$TB_DIR/stats.sock" </dev/null >"$TB_DIR/metrics.txt" ||
	tb_fail "socat could not read the stats socket"
expect() { # METRIC{target="T"} VALUE: the sample line must be in the text exactly
	grep -qxF -- "$1 $2" "$TB_DIR/metrics.txt" ||
		tb_fail "no line '$1 $2' in the metrics: $(grep -F -- "${1%%\{*}" "$TB_DIR/metrics.txt" | tr '\n' ';')"
}
expect 'socketbox_connections_accepted_total{target="web"}' $((N + 1))
expect 'socketbox_connections_handed_total{target="web"}' $((N + 1))
expect 'socketbox_connections_queued_total{target="web"}' "$N"
expect 'socketbox_connections_waiting{target="web"}' 0
expect 'socketbox_connections_waiting_max{target="web"}' "$N"
expect 'socketbox_connections_accepted_total{target="both"}' 4
expect 'socketbox_connections_handed_total{target="both"}' 4
expect 'socketbox_connections_accepted_total{target="small"}' 3
expect 'socketbox_connections_queued_total{target="small"}' 2
expect 'socketbox_connections_waiting{target="small"}' 2
expect 'socketbox_connections_reset_queue_full_total{target="small"}' 1
expect 'socketbox_connections_expired_total{target="short"}' 1
expect 'socketbox_connections_reset_no_applet_total{target="short"}' 0
expect 'socketbox_slot_applets{target="both"}' 0
expect 'socketbox_slot_applets{target="small"}' 0
expect 'socketbox_slot_lost_total{target="small"}' 0
grep -qx 'socketbox_slot_applets{target="web"} [01]' "$TB_DIR/metrics.txt" ||
	tb_fail "no applets gauge for web"
grep -qx '# TYPE socketbox_slot_lost_total counter' "$TB_DIR/metrics.txt" || tb_fail "lost is not a counter"
"$SOCKETBOX" --stats "$TB_DIR/stats.sock" >"$TB_DIR/table.txt" || tb_fail "socketbox --stats failed"
grep -qE '^target +accepted +.* +slot_applets +slot_lost$' "$TB_DIR/table.txt" ||
	tb_fail "no slot columns in the table: $(head -n 20 "$TB_DIR/table.txt")"
kill "${waiters[@]}" 2>/dev/null || true
