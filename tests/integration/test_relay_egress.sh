#!/bin/bash
# socketbox-relay --egress: a relay in a namespace with only lo ($TB_APP1) reaches a server
# in another namespace ($TB_SERVER, $TB_SERVER_IP4) through socketbox-sockd, which runs in
# $TB_CLIENT (it has the veth to the server) and connects there by rule:
#   - a client of the relay gets the server's answer (TARGET, and --to-original with the
#     server's address also on APP1's lo, so that the dialled destination is asked for);
#   - a destination the rules deny: the client is reset, sockd logs the refusal and the
#     relay the failed connect (Permission denied);
#   - sockd down: connections are reset at once (Network is unreachable, not a connect
#     timeout); sockd back: they work again.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SB_SOCKD" "$SB_RELAY"
tb_setup

for port in 8080 8081; do
	tb_bg "$TB_SERVER" socat "TCP4-LISTEN:$port,bind=$TB_SERVER_IP4,reuseaddr,fork" \
		SYSTEM:"echo backend $port"
	tb_wait_listen "$TB_SERVER" "$port"
done
cat >"$TB_DIR/sockd.conf" <<EOF
connect = (
	{ remote = "$TB_SERVER_IP4"; remote_port = 8080; user = "root"; action = "allow"; },
	{ remote = "$TB_SERVER_IP4"; remote_port = 8081; action = "deny"; }
);
EOF
start_sockd() {
	tb_bg "$TB_CLIENT" "$SB_SOCKD" -v -f "$TB_DIR/sockd.conf" -s "$TB_DIR/sockd.sock"
	SOCKD=$TB_BG_PID
	SOCKD_LOG=$TB_BG_LOG
	tb_wait_socket "$TB_DIR/sockd.sock"
}
start_sockd

# The lib's client helpers, from $TB_APP1: get prints what came, probe how it ended.
get() {
	TB_CLIENT=$TB_APP1 tb_client_get "$@"
}
probe() {
	TB_CLIENT=$TB_APP1 tb_client_probe 127.0.0.1 "$1"
}

rc=0
tb_in "$TB_APP1" socat -u "TCP4:$TB_SERVER_IP4:8080,connect-timeout=2" STDOUT >/dev/null 2>&1 || rc=$?
[[ $rc -ne 0 ]] || tb_fail "$TB_APP1 reached the server without socketbox-sockd: it is not isolated"

relay() {
	tb_bg "$TB_APP1" "$SB_RELAY" --listen "127.0.0.1:$1" --egress "$TB_DIR/sockd.sock" \
		--connect-timeout 60 "${@:2}"
	tb_wait_listen "$TB_APP1" "$1"
}
relay 9080 "$TB_SERVER_IP4:8080"
RELAY=$TB_BG_PID
RELAY_LOG=$TB_BG_LOG
relay 9081 "$TB_SERVER_IP4:8081"
DENIED_LOG=$TB_BG_LOG
ip -n "$TB_APP1" addr add "$TB_SERVER_IP4/32" dev lo
tb_bg "$TB_APP1" "$SB_RELAY" --listen "$TB_SERVER_IP4:8080" --egress "$TB_DIR/sockd.sock" \
	--to-original
tb_wait_listen "$TB_APP1" 8080

tb_assert_eq "backend 8080" "$(get 127.0.0.1 9080)" "what a client of the relay got through sockd"
tb_wait_log "$SOCKD_LOG" "connect tcp [::ffff:$TB_SERVER_IP4]:8080 for uid 0 (connect rule at line 2)"
tb_assert_eq "backend 8080" "$(get "$TB_SERVER_IP4" 8080)" \
	"what a client of the --to-original relay got through sockd"

tb_assert_eq reset "$(probe 9081)" "a client of the relay to a denied destination"
tb_wait_log "$SOCKD_LOG" "denied connect tcp [::ffff:$TB_SERVER_IP4]:8081 for uid 0 (connect rule at line 3)"
tb_wait_log "$DENIED_LOG" \
	"unable to connect to $TB_SERVER_IP4:8081 through socketbox-sockd at $TB_DIR/sockd.sock: Permission denied"

tb_kill "$SOCKD"
tb_assert_eq reset "$(probe 9080)" "a client of the relay while sockd is down"
tb_wait_log "$RELAY_LOG" \
	"unable to connect to $TB_SERVER_IP4:8080 through socketbox-sockd at $TB_DIR/sockd.sock: Network is unreachable"
grep -q "connect timeout" "$RELAY_LOG" && tb_fail "the relay waited for sockd: $(cat "$RELAY_LOG")"
rm -f "$TB_DIR/sockd.sock"
start_sockd
tb_assert_eq "backend 8080" "$(get 127.0.0.1 9080)" "what a client of the relay got once sockd is back"

line=$(tb_counters "$RELAY" "$RELAY_LOG")
grep -q "received 3, dropped 0, active 0, connect failures 1, timeouts 0" <<<"$line" ||
	tb_fail "unexpected relay counters: $line"
tb_log "ok: socketbox-relay --egress reaches, is refused and survives sockd's restart"
