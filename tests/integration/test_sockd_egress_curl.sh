#!/bin/bash
# The way out, part 2: curl in a namespace with only lo ($TB_APP1) fetches from an HTTP
# server in another namespace ($TB_SERVER, 10.213.0.1) through SOCKETBOX_EGRESS:
# socketbox-sockd runs in $TB_CLIENT, which has the veth to the server, and makes the TCP
# connection there by rule. Without the preload curl cannot connect at all (no route);
# a destination the rules deny (port 8081) fails fast with EACCES ("Permission denied")
# and socketbox-sockd logs the refusal; a non-blocking connect with epoll
# (helpers/nb_connect.c) works over IPv4 and IPv6; SIGUSR1 counts them all.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SB_SOCKD" "$SB_PRELOAD_LIB"
tb_setup

mkdir "$TB_DIR/www"
echo "hello from the server namespace" >"$TB_DIR/www/hello.txt"
for port in 8080 8081; do
	tb_bg "$TB_SERVER" "$PYTHON" -m http.server -b "$TB_SERVER_IP4" -d "$TB_DIR/www" "$port"
	tb_wait_listen "$TB_SERVER" "$port"
done
tb_bg "$TB_SERVER" socat TCP6-LISTEN:8083,ipv6only=0,reuseaddr,fork SYSTEM:'echo nb'
tb_wait_listen "$TB_SERVER" 8083
cc -O2 -Wall -Wextra -Werror -o "$TB_DIR/nb_connect" "$SB_TOP/tests/integration/helpers/nb_connect.c" ||
	tb_fail "cannot build helpers/nb_connect.c"

cat >"$TB_DIR/sockd.conf" <<EOF
connect = (
	{ remote = "$TB_SERVER_IP4"; remote_port = 8080; user = "root"; action = "allow"; },
	{ remote = "$TB_SERVER_IP4"; remote_port = 8081; action = "deny"; },
	{ remote = [ "$TB_SERVER_IP4", "$TB_SERVER_IP6" ]; remote_port = 8083; action = "allow"; }
);
EOF
tb_in "$TB_CLIENT" "$SB_SOCKD" -c -f "$TB_DIR/sockd.conf" || tb_fail "socketbox-sockd -c refused the file"
tb_bg "$TB_CLIENT" "$SB_SOCKD" -v -f "$TB_DIR/sockd.conf" -s "$TB_DIR/sockd.sock"
SOCKD=$TB_BG_PID
SOCKD_LOG=$TB_BG_LOG
tb_wait_socket "$TB_DIR/sockd.sock"

rc=0
tb_in "$TB_APP1" curl -sS --max-time 10 "http://$TB_SERVER_IP4:8080/hello.txt" >/dev/null 2>&1 || rc=$?
[[ $rc -ne 0 ]] || tb_fail "curl reached the server without socketbox-sockd: the namespace is not isolated"

egress() {
	tb_in "$TB_APP1" env LD_PRELOAD="$SB_PRELOAD_LIB" SOCKETBOX_EGRESS="$TB_DIR/sockd.sock" "$@"
}
out=$(egress curl -sS --max-time 20 "http://$TB_SERVER_IP4:8080/hello.txt" 2>&1) ||
	tb_fail "curl through socketbox-sockd failed: $out"
tb_assert_eq "hello from the server namespace" "$out" "what curl fetched through SOCKETBOX_EGRESS"
tb_wait_log "$SOCKD_LOG" "connect tcp [::ffff:$TB_SERVER_IP4]:8080 for uid 0 (connect rule at line 2)"

rc=0
out=$(egress curl -sS --max-time 20 "http://$TB_SERVER_IP4:8081/hello.txt" 2>&1) || rc=$?
tb_assert_eq 7 "$rc" "curl's exit status for a denied destination (could not connect)"
grep -q "Couldn't connect" <<<"$out" || tb_fail "curl does not say it could not connect: $out"
tb_wait_log "$SOCKD_LOG" "denied connect tcp [::ffff:$TB_SERVER_IP4]:8081 for uid 0 (connect rule at line 3)"

# The python socket module: a blocking connect, and one with a timeout (non-blocking
# inside), with TCP_NODELAY set before connect copied to the new socket; the denied
# destination is EACCES; a second connect() of a non-blocking socket says 0, connected (it
# reaches the socket put in place, and asks socketbox-sockd nothing).
out=$(egress "$PYTHON" -c '
import socket, sys
for timeout in (None, 10):
    s = socket.socket()
    s.settimeout(timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.connect((sys.argv[1], 8080))
    print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0, s.getpeername()[1], end=" ")
    s.sendall(b"GET /hello.txt HTTP/1.0\r\n\r\n")
    print(s.makefile("rb").read().split(b"\r\n")[0].decode())
try:
    socket.create_connection((sys.argv[1], 8081))
except PermissionError:
    print("8081 EACCES")
import errno, select
s = socket.socket()
s.setblocking(False)
first = s.connect_ex((sys.argv[1], 8080))
select.select([], [s], [], 20)
again = s.connect_ex((sys.argv[1], 8080))
print(errno.errorcode.get(first, first), errno.errorcode.get(again, again))
' "$TB_SERVER_IP4" 2>&1) || tb_fail "the python client failed: $out"
tb_assert_eq "True 8080 HTTP/1.0 200 OK True 8080 HTTP/1.0 200 OK 8081 EACCES EINPROGRESS 0" \
	"$(echo $out)" "python through SOCKETBOX_EGRESS (TCP_NODELAY kept, peer port, answer, connect again)"

for ip in "$TB_SERVER_IP4" "$TB_SERVER_IP6"; do
	out=$(egress "$TB_DIR/nb_connect" "$ip" 8083 2>&1) || tb_fail "nb_connect to $ip failed: $out"
	tb_assert_eq nb "$out" "what the non-blocking epoll client reached at $ip"
done

line=$(tb_counters "$SOCKD" "$SOCKD_LOG")
grep -q "connected 6, bound 0, denied 2, malformed 0, failed 0" <<<"$line" ||
	tb_fail "unexpected counters: $line"
tb_log "ok: $line"
