#!/bin/bash
# (c) Unmodified socat as a forking echo server behind libsocketbox-preload.so, in applet
# namespaces that have only lo, through the wrapper:
#     socketbox-preload -s $TB_DIR/echo4-%p.sock -p 7 socat -d -d -t $TB_WAIT TCP4-LISTEN:7,fork,reuseaddr EXEC:cat
#     socketbox-preload -s $TB_DIR/echo6-%p.sock -p 7 socat -d -d -t $TB_WAIT TCP6-LISTEN:7,fork,reuseaddr EXEC:cat
# The acceptor routes 198.51.100.0/24 port 7 to the first, 2001:db8::/32 port 7 to the
# second. Asserted: for each, 5 sequential connections from the client namespace (each a
# line, then a half-close) get their own line echoed back (socat forks a child per
# connection, and its SIGCHLD arrives while it waits in accept() for the next one); a burst
# of 50 simultaneous connections is echoed too; socat logged each connection as coming from
# the client's real address (AF=2 10.213.0.2 on the TCP4 listener, AF=10 fd00:5b::2 on the
# TCP6 one); both socat processes are still running; nothing listens on a real TCP port in
# the applet namespaces. socat waits -t seconds for cat's answer after the client's
# half-close (0.5 s by default: too short on a busy machine, where starting cat takes longer).

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_PRELOAD" "$SB_PRELOAD_LIB"
tb_setup

BURST=$(dirname "$0")/helpers/burst_client.py
SOCAT=$(command -v socat)

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; backlog = 1024; };
# Every connection must be served however slow the machine: no queue timeout.
queue_timeout = 0;
targets = {
  echo4 = { path = "$TB_DIR/echo4-%p.sock"; };
  echo6 = { path = "$TB_DIR/echo6-%p.sock"; };
};
rules = (
  { local = "::ffff:198.51.100.0/120"; local_port = 7; target = "echo4"; },
  { local = "2001:db8::/32"; local_port = 7; target = "echo6"; }
);
CONF

tb_bg "$TB_APP1" "$SB_PRELOAD" -s "$TB_DIR/echo4-%p.sock" -p 7 \
	"$SOCAT" -d -d -t "$TB_WAIT" TCP4-LISTEN:7,fork,reuseaddr EXEC:cat
PID4=$TB_BG_PID
LOG4=$TB_BG_LOG
tb_bg "$TB_APP2" "$SB_PRELOAD" -s "$TB_DIR/echo6-%p.sock" -p 7 \
	"$SOCAT" -d -d -t "$TB_WAIT" TCP6-LISTEN:7,fork,reuseaddr EXEC:cat
PID6=$TB_BG_PID
LOG6=$TB_BG_LOG
tb_wait_socket "$TB_DIR/echo4-7.sock"
tb_wait_socket "$TB_DIR/echo6-7.sock"
tb_wait_log "$LOG4" "listening on"
tb_wait_log "$LOG6" "listening on"
tb_log "socat: $(grep -h 'listening on' "$LOG4" "$LOG6" | sed 's/.* N //' | tr '\n' ';')"
for ns in "$TB_APP1" "$TB_APP2"; do
	tcp=$(tb_in "$ns" ss -Hltn)
	[[ -z $tcp ]] || tb_fail "socat listens on a real TCP port in $ns: $tcp"
done

tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
tb_wait_listen "$TB_SERVER" "$TB_PORT"

for addr in 198.51.100.7 2001:db8::7; do
	for ((i = 1; i <= 5; i++)); do
		msg="echo $i via $addr $RANDOM"
		out=$(tb_client_send "$addr" 7 "$msg"$'\n') || tb_fail "connection $i to $addr port 7 failed: '$out'"
		tb_assert_eq "$msg" "$out" "echo $i from $addr port 7"
	done
	out=$(tb_in "$TB_CLIENT" timeout -k 2 25 "$PYTHON" "$BURST" --send 'burst line\n' --shutdown \
		"$addr" 7 50 "burst line" 20) || tb_fail "burst of 50 to $addr port 7: $out"
	tb_log "ok: burst to $addr port 7: $out"
done

tb_alive "$PID4" || tb_fail "the TCP4 socat ended"
tb_alive "$PID6" || tb_fail "the TCP6 socat ended"
# socat -d -d: "accepting connection from AF=2 10.213.0.2:PORT on AF=2 198.51.100.7:7"
n4=$(grep -c "accepting connection from AF=2 $TB_CLIENT_IP4:[0-9]* on AF=2 198.51.100.7:7\$" "$LOG4" || true)
tb_assert_eq 55 "$n4" "connections socat (TCP4) logged from AF=2 $TB_CLIENT_IP4 on 198.51.100.7:7"
# IPv6 addresses in socat's log are written out in full, zeros included
full6=$("$PYTHON" -c 'import ipaddress, sys; print(ipaddress.ip_address(sys.argv[1]).exploded)' "$TB_CLIENT_IP6")
n6=$(grep -c "accepting connection from AF=10 \[$full6\]:[0-9]* on AF=10 \[2001:0db8:0000:0000:0000:0000:0000:0007\]:7\$" "$LOG6" || true)
tb_assert_eq 55 "$n6" "connections socat (TCP6) logged from AF=10 [$full6] on [2001:db8::7]:7"
if grep -hE ' E |libsocketbox-preload' "$LOG4" "$LOG6" >&2; then
	tb_fail "socat or the shim logged errors"
fi
tb_log "ok: socat echoed every line and saw the client's real address"
