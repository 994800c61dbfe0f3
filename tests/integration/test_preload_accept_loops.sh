#!/bin/bash
# (d) The accept loops of unmodified daemons work behind libsocketbox-preload.so.
# helpers/accept_server.c (a small daemon, see its header) checks on its listeners what a
# daemon could notice: after bind() O_NONBLOCK/FD_CLOEXEC are kept and SO_ACCEPTCONN is 0;
# after listen() getsockname() returns exactly what was bound and SO_TYPE, SO_ACCEPTCONN,
# SO_DOMAIN, SO_PROTOCOL answer as for a TCP listener (else it exits before "ready"); and on
# every accepted connection the flags (accept4 SOCK_NONBLOCK|SOCK_CLOEXEC, or plain accept:
# blocking, inheritable), the address accept() filled in (length and family of the
# listener's family: AF_INET for an AF_INET listener), getpeername() and getsockname()
# (same family, the listener's port). Each connection gets "MODE PEER LOCAL PORT" or
# "error WHAT". All run in applet namespaces that have only lo, behind the acceptor:
#   1. epoll + accept4 loop until EAGAIN, [::]:80 and 0.0.0.0:8080 in one process (wrapper)
#   2. poll, [::]:81 (LD_PRELOAD and the environment set directly, no wrapper)
#   3. select, 0.0.0.0:82
#   4. blocking accept(), [::]:83 and 0.0.0.0:84 (two processes, in the other namespace)
#   5. a 4-byte address buffer: epoll on 0.0.0.0:85 and blocking on [::]:86: accept succeeds
#      and sets the length to the full length, writing nothing beyond the 4 bytes
#   6. a NULL address buffer: blocking on 0.0.0.0:87
# Each gets several sequential connections from the client namespace, each answered with the
# client's real address (fd00:5b::2, or 10.213.0.2 on AF_INET listeners) and the address
# and port the client dialled; the epoll and blocking servers also get a burst of 50
# simultaneous connections (helpers/burst_client.py). Nothing listens on a real TCP port in
# the applet namespaces. (Blocking accept() under a SA_RESTART signal handler:
# test_preload_accept_sa_restart.sh.)

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
command -v cc >/dev/null 2>&1 || tb_skip "no C compiler (cc)"
tb_require_exec "$SOCKETBOX" "$SB_PRELOAD" "$SB_PRELOAD_LIB"
tb_setup

HELPERS=$(cd "$(dirname "$0")/helpers" && pwd)
BURST=$HELPERS/burst_client.py
SERVER=$TB_DIR/accept_server
cc -O2 -Wall -Wextra -Werror -o "$SERVER" "$HELPERS/accept_server.c" ||
	tb_fail "cannot compile helpers/accept_server.c"

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; backlog = 1024; };
# Every connection must be served however slow the machine: no queue timeout.
queue_timeout = 0;
targets = { app = { path = "$TB_DIR/as-%p.sock"; }; };
rules = (
  { local = "2001:db8::/32"; target = "app"; },
  { local = "::ffff:198.51.100.0/120"; target = "app"; }
);
CONF

SOCK="$TB_DIR/as-%p.sock"
declare -A LOGS

# start NS NAME PORT... -- ARGS...: accept_server ARGS through the wrapper, taking PORTS
start() {
	local ns=$1 name=$2 ports=$3
	shift 3
	tb_bg "$ns" "$SB_PRELOAD" -s "$SOCK" -p "$ports" "$SERVER" "$@"
	LOGS[$name]=$TB_BG_LOG
}

start "$TB_APP1" epoll 80,8080 epoll '[::]:80' 0.0.0.0:8080
# without the wrapper: LD_PRELOAD and the environment by hand
tb_bg "$TB_APP1" env LD_PRELOAD="$SB_PRELOAD_LIB" SOCKETBOX_SOCKET="$SOCK" SOCKETBOX_PORTS=81 \
	"$SERVER" poll '[::]:81'
LOGS[poll]=$TB_BG_LOG
start "$TB_APP1" select 82 select 0.0.0.0:82
start "$TB_APP2" blocking6 83 blocking '[::]:83'
start "$TB_APP2" blocking4 84 blocking 0.0.0.0:84
start "$TB_APP1" small-epoll 85 -a small epoll 0.0.0.0:85
start "$TB_APP2" small-blocking 86 -a small blocking '[::]:86'
start "$TB_APP2" null 87 -a null blocking 0.0.0.0:87

for name in "${!LOGS[@]}"; do
	tb_wait_log "${LOGS[$name]}" ready
done
for p in 80 8080 81 82 83 84 85 86 87; do
	tb_wait_socket "$TB_DIR/as-$p.sock"
done
tb_log "ok: every accept_server passed its listener checks and is ready"
for ns in "$TB_APP1" "$TB_APP2"; do
	tcp=$(tb_in "$ns" ss -Hltn)
	[[ -z $tcp ]] || tb_fail "a real TCP listener in $ns: $tcp"
done

tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
tb_wait_listen "$TB_SERVER" "$TB_PORT"

# expect MODE ADDR PORT [COUNT]: COUNT (default 4) sequential connections to ADDR:PORT get
# "MODE <client's address> ADDR PORT"
expect() {
	local mode=$1 addr=$2 port=$3 count=${4:-4} peer=$TB_CLIENT_IP6 out i
	[[ $addr == *:* ]] || peer=$TB_CLIENT_IP4
	for ((i = 1; i <= count; i++)); do
		out=$(tb_client_get "$addr" "$port") || tb_fail "connection $i to $addr port $port failed: '$out'"
		[[ $out == "$mode $peer $addr $port" ]] ||
			tb_fail "connection $i to $addr port $port: expected '$mode $peer $addr $port', got '$out'"
	done
	tb_log "ok: $count connections to $addr port $port answered '$out'"
}

# burst MODE ADDR PORT COUNT: COUNT simultaneous connections, every one answered correctly
burst() {
	local mode=$1 addr=$2 port=$3 count=$4 peer=$TB_CLIENT_IP6 out
	[[ $addr == *:* ]] || peer=$TB_CLIENT_IP4
	out=$(tb_in "$TB_CLIENT" timeout -k 2 25 "$PYTHON" "$BURST" "$addr" "$port" "$count" \
		"$mode $peer $addr $port" 20) || tb_fail "burst of $count to $addr port $port: $out"
	tb_log "ok: burst to $addr port $port: $out"
}

expect epoll 2001:db8::7 80
expect epoll 198.51.100.7 8080
expect epoll 2001:db8::1:2 80
expect poll 2001:db8::81 81
expect select 198.51.100.82 82
expect blocking 2001:db8::83 83
expect blocking 198.51.100.84 84
expect epoll 198.51.100.85 85
expect blocking 2001:db8::86 86
expect blocking 198.51.100.87 87

burst epoll 2001:db8::7 80 50
burst epoll 198.51.100.7 8080 50
burst blocking 2001:db8::83 83 50
burst blocking 198.51.100.84 84 50

# every server is still there and complained about nothing
for name in "${!LOGS[@]}"; do
	if grep -v '^ready$' "${LOGS[$name]}" >&2; then
		tb_fail "accept_server $name logged the above"
	fi
done
for pid in "${TB_PIDS[@]}"; do
	tb_alive "$pid" || tb_fail "process $pid ended"
done
tb_log "ok: every accept loop served every connection"
