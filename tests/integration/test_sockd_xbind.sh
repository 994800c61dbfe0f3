#!/bin/bash
# SOCKETBOX_XBIND: servers in a namespace with only lo ($TB_APP1) bind their ports through
# socketbox-sockd in $TB_CLIENT, the namespace with the veth, and are reached from
# $TB_SERVER: a UDP echo server (which the acceptor cannot serve) answers a datagram, and a
# TCP server accepts a connection on the listening socket it got. A port the rules do not
# allow is refused (EACCES) and logged; a port outside SOCKETBOX_XBIND binds locally.
# Unusable values fail closed, naming the variable.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SB_SOCKD" "$SB_PRELOAD_LIB"
tb_setup

cat >"$TB_DIR/sockd.conf" <<EOF
bind = (
	{ local = "0.0.0.0"; local_port = [5353, 8082]; user = "root"; action = "allow"; }
);
EOF
tb_bg "$TB_CLIENT" "$SB_SOCKD" -f "$TB_DIR/sockd.conf" -s "$TB_DIR/sockd.sock"
SOCKD=$TB_BG_PID
SOCKD_LOG=$TB_BG_LOG
tb_wait_socket "$TB_DIR/sockd.sock"

xbind() {
	local ns=$1
	shift
	tb_bg "$ns" env LD_PRELOAD="$SB_PRELOAD_LIB" SOCKETBOX_EGRESS="$TB_DIR/sockd.sock" \
		SOCKETBOX_XBIND=5353,8082,5354 "$@"
}

# The UDP echo server and the TCP server say "bound" once their bind returned.
xbind "$TB_APP1" "$PYTHON" -u -c '
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
u.bind(("0.0.0.0", 5353))
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("0.0.0.0", 8082))
t.listen(16)
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind(("0.0.0.0", 5354))
except PermissionError:
    print("5354 EACCES")
local = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
local.bind(("127.0.0.1", 5355))
print("bound", u.getsockname()[1], t.getsockname()[1], local.getsockname()[1])
data, peer = u.recvfrom(100)
u.sendto(b"echo " + data, peer)
c, peer = t.accept()
c.sendall(b"tcp through sockd\n")
c.close()
'
SERVER_LOG=$TB_BG_LOG
tb_wait_log "$SERVER_LOG" "bound 5353 8082 5355"
grep -q "5354 EACCES" "$SERVER_LOG" || tb_fail "the port the rules do not allow was not refused: $(cat "$SERVER_LOG")"
tb_wait_log "$SOCKD_LOG" "denied bind udp [::ffff:0.0.0.0]:5354 for uid 0 (no bind rule: default deny)"

out=$(tb_in "$TB_SERVER" "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(20)
s.sendto(b"ping", (sys.argv[1], 5353))
print(s.recvfrom(100)[0].decode())
' "$TB_CLIENT_IP4" 2>&1) || tb_fail "no UDP answer from the XBIND server: $out"
tb_assert_eq "echo ping" "$out" "the UDP echo server's answer from the host side"

out=$(tb_in "$TB_SERVER" socat -T 20 - "TCP:$TB_CLIENT_IP4:8082" </dev/null 2>&1) ||
	tb_fail "no TCP connection to the XBIND server: $out"
tb_assert_eq "tcp through sockd" "$out" "the TCP server's greeting from the host side"

line=$(tb_counters "$SOCKD" "$SOCKD_LOG")
grep -q "connected 0, bound 2, denied 1, malformed 0, failed 0" <<<"$line" ||
	tb_fail "unexpected counters: $line"
tb_log "ok: $line"

out=$(tb_in "$TB_APP1" env LD_PRELOAD="$SB_PRELOAD_LIB" SOCKETBOX_EGRESS="$TB_DIR/sockd.sock" \
	SOCKETBOX_XBIND=53x "$PYTHON" -c '
import socket
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind(("127.0.0.1", 9999))
except PermissionError:
    print("EACCES")
' 2>&1) || tb_fail "the client with a bad SOCKETBOX_XBIND failed: $out"
grep -q 'refusing to bind 127.0.0.1:9999: SOCKETBOX_XBIND is not a list of ports' <<<"$out" ||
	tb_fail "a bad SOCKETBOX_XBIND is not named: $out"
grep -qx EACCES <<<"$out" || tb_fail "a bind with a bad SOCKETBOX_XBIND was not refused: $out"
out=$(tb_in "$TB_APP1" env LD_PRELOAD="$SB_PRELOAD_LIB" SOCKETBOX_EGRESS=relative.sock \
	"$PYTHON" -c '
import socket
try:
    socket.create_connection(("127.0.0.1", 9999))
except ConnectionRefusedError:
    print("ECONNREFUSED")
' 2>&1) || tb_fail "the client with a bad SOCKETBOX_EGRESS failed: $out"
grep -q 'refusing to connect to 127.0.0.1:9999: SOCKETBOX_EGRESS is not the absolute path' <<<"$out" ||
	tb_fail "a bad SOCKETBOX_EGRESS is not named: $out"
tb_log "ok: unusable SOCKETBOX_XBIND and SOCKETBOX_EGRESS fail closed, naming the variable"
