#!/bin/bash
# PROXY protocol ingress behind a real haproxy (mode tcp, one process):
#   - haproxy in the server namespace listens on port 8080 (send-proxy, v1) and 8081
#     (send-proxy-v2) and forwards to socketbox's listeners "v1" ([::]:9001) and "v2"
#     ([::]:9002), both with proxy_protocol = true and proxy_from = "::1";
#   - the rules match the real client: connections from the client's address go to an
#     inetd applet that prints TCPREMOTEIP, TCPREMOTEPORT, TCPLOCALIP, TCPLOCALPORT and then
#     echoes the client's first bytes, which must arrive whole (the header alone is read);
#     a connection that came from ::1 (haproxy itself, as the socket says) is rejected;
#   - IPv6 through v1, IPv4 through v2;
#   - through haproxy's port 8082, a socketbox-relay with --proxy-protocol v1 tells its
#     backend the real client, not haproxy;
#   - a valid header sent straight to [fd00:5b::1]:9001 by the client (not in proxy_from)
#     is reset and logged;
#   - from ::1 (allowed), a header that never ends and a malformed one: the first is reset
#     after proxy_timeout, the second at once; while the slow one waits, a connection
#     through haproxy is served (the loop does not stall).

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD" /usr/sbin/haproxy
tb_setup

cat >"$TB_DIR/env.sh" <<'SH'
#!/bin/sh
echo "$TCPREMOTEIP $TCPREMOTEPORT $TCPLOCALIP $TCPLOCALPORT"
head -c 5
echo
SH
chmod 0755 "$TB_DIR/env.sh"
tb_bg "$TB_APP1" "$SB_INETD" -s "$TB_DIR/env.sock" "$TB_DIR/env.sh"
tb_wait_socket "$TB_DIR/env.sock"
# The relay's backend answers with the first line it gets: the PROXY header.
tb_bg "$TB_APP2" "$PYTHON" -c '
import socket
s = socket.create_server(("::1", 7777), family=socket.AF_INET6)
while True:
    c, _ = s.accept()
    c.sendall(c.makefile("rb").readline())
    c.close()
'
tb_wait_listen "$TB_APP2" 7777
tb_bg "$TB_APP2" "$SB_RELAY" -s "$TB_DIR/relay.sock" --proxy-protocol v1 '[::1]:7777'
tb_wait_socket "$TB_DIR/relay.sock"

cat >"$TB_DIR/sb.conf" <<CONF
listen = (
  { name = "v1"; port = 9001; proxy_protocol = true; proxy_from = "::1"; proxy_timeout = 1; },
  { name = "v2"; port = 9002; proxy_protocol = true; proxy_from = [ "::1" ]; }
);
targets = {
  env = { path = "$TB_DIR/env.sock"; };
  relay = { path = "$TB_DIR/relay.sock"; };
};
rules = (
  { local_port = 8082; remote = "$TB_CLIENT_IP6"; target = "relay"; },
  { remote = [ "$TB_CLIENT_IP6", "$TB_CLIENT_IP4" ]; listener = [ "v1", "v2" ]; target = "env"; },
  { remote = "::1"; action = "reject"; }
);
CONF
tb_bg "$TB_SERVER" "$SOCKETBOX" -v -f "$TB_DIR/sb.conf" -u nobody
SB_PID=$TB_BG_PID
SB_LOG=$TB_BG_LOG
tb_wait_log "$SB_LOG" "ready:"

cat >"$TB_DIR/haproxy.cfg" <<CFG
global
	maxconn 100
defaults
	mode tcp
	timeout connect ${TB_WAIT}s
	timeout client ${TB_WAIT}s
	timeout server ${TB_WAIT}s
frontend v1
	bind [::]:8080 v4v6
	default_backend v1
backend v1
	server s1 [::1]:9001 send-proxy
frontend v2
	bind [::]:8081 v4v6
	default_backend v2
backend v2
	server s2 [::1]:9002 send-proxy-v2
frontend relay
	bind [::]:8082 v4v6
	default_backend relay
backend relay
	server s3 [::1]:9001 send-proxy
CFG
tb_bg "$TB_SERVER" /usr/sbin/haproxy -db -f "$TB_DIR/haproxy.cfg"
tb_wait_listen "$TB_SERVER" 8081

# through ADDR PORT: one connection from the client through haproxy, sending "hello".
through() {
	tb_client_send "$1" "$2" hello
}

check_answer() { # ANSWER CLIENT_IP LOCAL_IP LOCAL_PORT WHAT
	local first
	first=$(sed -n 1p <<<"$1")
	[[ $first =~ ^$2\ [0-9]+\ $3\ $4$ ]] ||
		tb_fail "$5: the applet saw '$first', not the client $2 dialling $3 port $4"
	tb_assert_eq hello "$(sed -n 2p <<<"$1")" "$5: the client's first bytes after the header"
}

out=$(through "$TB_SERVER_IP6" 8080) || tb_fail "no answer through haproxy (v1, IPv6)"
check_answer "$out" "$TB_CLIENT_IP6" "$TB_SERVER_IP6" 8080 "v1 over IPv6"
out=$(through "$TB_SERVER_IP4" 8081) || tb_fail "no answer through haproxy (v2, IPv4)"
check_answer "$out" "::ffff:$TB_CLIENT_IP4" "::ffff:$TB_SERVER_IP4" 8081 "v2 over IPv4"
out=$(through "$TB_SERVER_IP6" 8081) || tb_fail "no answer through haproxy (v2, IPv6)"
check_answer "$out" "$TB_CLIENT_IP6" "$TB_SERVER_IP6" 8081 "v2 over IPv6"

out=$(tb_client_get "$TB_SERVER_IP6" 8082) || tb_fail "no answer through haproxy and the relay"
[[ $out =~ ^PROXY\ TCP6\ $TB_CLIENT_IP6\ $TB_SERVER_IP6\ [0-9]+\ 8082$'\r'$ ]] ||
	tb_fail "the relay's backend got '$out', not a header naming the client"

# A client that is not a balancer may not say who it is.
r=$(printf 'PROXY TCP6 2001:db8::66 %s 1234 9001\r\nhello' "$TB_SERVER_IP6" |
	tb_in "$TB_CLIENT" timeout "$TB_WAIT" socat -t "$TB_WAIT" - "TCP6:[$TB_SERVER_IP6]:9001" 2>&1) || true
[[ -z $(sed -n '/^hello$/p' <<<"$r") ]] || tb_fail "a header from outside proxy_from was served: $r"
tb_wait_log "$SB_LOG" "[$TB_CLIENT_IP6]:"
tb_wait_log "$SB_LOG" "not in proxy_from of its listener"

# A header that never ends (from an allowed source) waits at most proxy_timeout; while it
# waits, others are served. A malformed one is reset at once.
tb_bg "$TB_SERVER" "$PYTHON" -c '
import socket, sys
s = socket.create_connection(("::1", 9001))
s.sendall(b"PROXY TCP6 2001:db8::1")
print("sent", flush=True)
try:
    print("end:", "eof" if s.recv(100) == b"" else "data", flush=True)
except ConnectionResetError:
    print("end: reset", flush=True)
'
SLOW_LOG=$TB_BG_LOG
tb_wait_log "$SLOW_LOG" "sent"
out=$(through "$TB_SERVER_IP6" 8080) || tb_fail "no answer through haproxy while a header is slow"
check_answer "$out" "$TB_CLIENT_IP6" "$TB_SERVER_IP6" 8080 "v1 while another header is slow"
tb_wait_log "$SLOW_LOG" "end: reset"
tb_wait_log "$SB_LOG" "no whole PROXY header within proxy_timeout"

r=$(printf 'GET / HTTP/1.0\r\n\r\n' |
	tb_in "$TB_SERVER" timeout "$TB_WAIT" socat -t "$TB_WAIT" - "TCP6:[::1]:9002" 2>&1) || true
tb_wait_log "$SB_LOG" "not a PROXY protocol header"
[[ $r != *HTTP* ]] || tb_fail "the malformed header got an answer: $r"

# A balancer's health check: a v2 LOCAL header names no client, then the check closes.
# It is matched on the connection's own addresses (remote ::1: the reject rule).
tb_in "$TB_SERVER" /usr/bin/python3 -c '
import socket
s = socket.create_connection(("::1", 9002))
s.sendall(b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00")
s.close()
'
proxy_counted() { # asks again until the LOCAL connection has been counted
	kill -USR1 "$SB_PID"
	sleep 0.2
	grep -q "PROXY headers: read 6," "$SB_LOG"
}
tb_until "$TB_WAIT" proxy_counted || tb_fail "PROXY counters: $(grep 'PROXY headers:' "$SB_LOG")"
last=$(grep 'PROXY headers:' "$SB_LOG" | tail -n 1)
[[ $last == *"reset not-allowed 1, reset malformed 1, reset expired 1"* ]] ||
	tb_fail "PROXY counters: $last"
[[ $last == *"without client 1" ]] || tb_fail "LOCAL header: $last"
last=$(grep 'counters:' "$SB_LOG" | tail -n 1)
[[ $last == *"accept errors 0,"* ]] || tb_fail "counters: $last"
