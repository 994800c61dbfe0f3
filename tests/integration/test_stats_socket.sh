#!/bin/bash
# The counters an operator runs a service on (the operator-experience issue, item 6): after a
# known mix of connections (handed to a live applet, reset because a target has no applet,
# reset because they waited longer than queue_timeout for a frozen one), the stats socket
# says exactly that per target and per rule set, in the Prometheus text format over HTTP
# (curl --unix-socket, as a scraper reads it) and as bare text (socat), and
# `socketbox --stats PATH` prints the same numbers as a table. The SIGUSR1 line agrees.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=helpers/core_cc.sh
. "$(dirname "$0")/helpers/core_cc.sh"

tb_require_root
tb_require_exec "$SOCKETBOX"
tb_require_exec /usr/bin/curl /usr/bin/socat
tb_setup
APPLET=$TB_DIR/line_applet
core_cc "$APPLET" "$SB_TOP/tests/soak/line_applet.c" || tb_fail "cannot compile tests/soak/line_applet.c"
N=20
STATS=$TB_DIR/stats.sock

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; backlog = 1024; };
stats = { path = "$STATS"; mode = 0600; };
targets = {
	live = { path = "$TB_DIR/live.sock"; };
	ghost = { path = "$TB_DIR/nobody-here.sock"; };
	slow = { path = "$TB_DIR/slow.sock"; queue_timeout = 1; };
};
rules = (
	{ local = "2001:db8::1"; target = "live"; },
	{ local = "2001:db8::2"; target = "ghost"; },
	{ local = "2001:db8::3"; jump = "later"; }
);
rulesets = { later = ( { target = "slow"; } ); };
CONF
tb_bg "$TB_APP1" "$APPLET" "$TB_DIR/live.sock" ok
tb_wait_socket "$TB_DIR/live.sock"
tb_bg "$TB_APP1" "$APPLET" "$TB_DIR/slow.sock" ok
slow=$TB_BG_PID
tb_wait_socket "$TB_DIR/slow.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
sb=$TB_BG_PID
sblog=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"
tb_wait_socket "$STATS"
[[ $(stat -c %a "$STATS") == 600 ]] || tb_fail "stats socket mode is $(stat -c %a "$STATS"), not 600"

for i in 1 2 3; do
	tb_assert_eq ok "$(tb_client_get 2001:db8::1 80)" "answer of the live target ($i)"
done
for i in 1 2; do
	tb_client_reset 2001:db8::2 80 || tb_fail "a connection to the target without applet was not reset"
done
# The frozen applet's socket takes a few datagrams; the rest wait, and expire after 1 s.
tb_burst_expire "$slow" "$sblog" "$TB_DIR/slow.sock" 2001:db8::3 "$N"
ok=$TB_BURST_OK
reset=$TB_BURST_RESET

# HTTP, as Prometheus or curl asks.
curl -sS -i --max-time "$TB_WAIT" --unix-socket "$STATS" http://localhost/metrics \
	>"$TB_DIR/http.out" || tb_fail "curl could not read the stats socket"
tr -d '\r' <"$TB_DIR/http.out" >"$TB_DIR/http.txt"
head -n 1 "$TB_DIR/http.txt" | grep -qx 'HTTP/1.0 200 OK' || tb_fail "no HTTP/1.0 200 status line"
grep -qix 'Content-Type: text/plain; version=0.0.4; charset=utf-8' "$TB_DIR/http.txt" ||
	tb_fail "no Prometheus text Content-Type"
sed '1,/^$/d' "$TB_DIR/http.txt" >"$TB_DIR/metrics.txt"
tb_assert_eq "$(grep -i '^Content-Length:' "$TB_DIR/http.txt" | tr -dc 0-9)" \
	"$(sed '1,/^\r$/d' "$TB_DIR/http.out" | wc -c)" "Content-Length against the body"

expect() { # METRIC VALUE: the sample line must be in the text exactly
	grep -qxF -- "$1 $2" "$TB_DIR/metrics.txt" ||
		tb_fail "no line '$1 $2' in the metrics: $(grep -F -- "${1%%\{*}" "$TB_DIR/metrics.txt" | tr '\n' ';')"
}
expect 'socketbox_connections_total' $((3 + 2 + N))
expect 'socketbox_connections_accepted_total{target="live"}' 3
expect 'socketbox_connections_handed_total{target="live"}' 3
expect 'socketbox_connections_reset_no_applet_total{target="live"}' 0
expect 'socketbox_connections_accepted_total{target="ghost"}' 2
expect 'socketbox_connections_handed_total{target="ghost"}' 0
expect 'socketbox_connections_reset_no_applet_total{target="ghost"}' 2
expect 'socketbox_connections_accepted_total{target="slow"}' "$N"
expect 'socketbox_connections_handed_total{target="slow"}' "$ok"
expect 'socketbox_connections_expired_total{target="slow"}' "$reset"
expect 'socketbox_connections_waiting{target="slow"}' 0
expect 'socketbox_connections_reset_queue_full_total{target="slow"}' 0
expect 'socketbox_ruleset_decisions_total{ruleset="rules"}' 5
expect 'socketbox_ruleset_decisions_total{ruleset="later"}' "$N"
expect 'socketbox_ruleset_decisions_total{ruleset="(default)"}' 0
grep -qx 'socketbox_info{version=".*"} 1' "$TB_DIR/metrics.txt" || tb_fail "no socketbox_info"
grep -qx '# TYPE socketbox_connections_waiting gauge' "$TB_DIR/metrics.txt" || tb_fail "waiting is not a gauge"
grep -qx '# TYPE socketbox_connections_handed_total counter' "$TB_DIR/metrics.txt" || tb_fail "handed is not a counter"
max=$(sed -n 's/^socketbox_connections_waiting_max{target="slow"} //p' "$TB_DIR/metrics.txt")
((max >= reset && max <= N)) || tb_fail "waiting_max of slow is $max, not between $reset and $N"

# Bare text, for socat or node_exporter's textfile collector: the same samples.
socat -t "$TB_WAIT" - "UNIX-CONNECT:$STATS" </dev/null >"$TB_DIR/bare.txt" ||
	tb_fail "socat could not read the stats socket"
head -n 1 "$TB_DIR/bare.txt" | grep -q '^# HELP ' || tb_fail "the bare text does not start with # HELP"
grep -qxF 'socketbox_connections_handed_total{target="live"} 3' "$TB_DIR/bare.txt" ||
	tb_fail "the bare text differs"

# The table.
"$SOCKETBOX" --stats "$STATS" >"$TB_DIR/table.txt" || tb_fail "socketbox --stats failed"
cat "$TB_DIR/table.txt" >&2
grep -qE '^target +accepted +handed +queued +waiting +waiting_max +reset_queue_full +reset_no_applet +expired$' \
	"$TB_DIR/table.txt" || tb_fail "no target table header"
grep -qE '^live +3 +3 +0 +0 +0 +0 +0 +0$' "$TB_DIR/table.txt" || tb_fail "the live row is wrong"
grep -qE '^ghost +2 +0 +0 +0 +0 +0 +2 +0$' "$TB_DIR/table.txt" || tb_fail "the ghost row is wrong"
grep -qE "^slow +$N +$ok +[0-9]+ +0 +$max +0 +0 +$reset\$" "$TB_DIR/table.txt" || tb_fail "the slow row is wrong"
grep -qE '^later +20$' "$TB_DIR/table.txt" || tb_fail "the later rule set row is wrong"
grep -qE '^version +[0-9]' "$TB_DIR/table.txt" || tb_fail "no version in the table"

counters=$(tb_counters "$sb" "$sblog")
tb_log "$counters"
[[ $counters == *"handed $((3 + ok)),"* ]] || tb_fail "SIGUSR1 does not agree on handed: $counters"
[[ $counters == *"reset no-applet 2,"* ]] || tb_fail "SIGUSR1 does not agree on no-applet: $counters"

# A reader of a missing socket fails with a system error, saying what it could not do.
rc=0
"$SOCKETBOX" --stats "$TB_DIR/none.sock" 2>"$TB_DIR/err.txt" || rc=$?
tb_assert_eq 111 "$rc" "exit status of --stats on a missing socket"
grep -q 'unable to read the counters from' "$TB_DIR/err.txt" || tb_fail "no message: $(cat "$TB_DIR/err.txt")"
