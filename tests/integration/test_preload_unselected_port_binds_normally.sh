#!/bin/bash
# (e) A port not in SOCKETBOX_PORTS binds normally. One daemon (helpers/accept_server.c,
# epoll mode) in an applet namespace that has only lo, with LD_PRELOAD and
# SOCKETBOX_PORTS="80,8000-8099", listens on [::]:80, 0.0.0.0:8050 (selected: they go through
# socket files) and on 0.0.0.0:9090, [::]:9091 (not selected). Asserted:
#   - ss -ltn in the applet namespace shows real TCP listeners on 9090 and 9091 and none on
#     80 or 8050; no socket file exists for 9090 or 9091;
#   - from inside the applet namespace, 127.0.0.1:9090 and [::1]:9091 answer (the daemon
#     sees 127.0.0.1 / ::1 as peer), while 127.0.0.1:80 is refused;
#   - from the client namespace through the acceptor, ports 80 and 8050 reach the daemon with
#     the client's real address; port 9090 through the acceptor is reset (no socket file).

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
command -v cc >/dev/null 2>&1 || tb_skip "no C compiler (cc)"
tb_require_exec "$SOCKETBOX" "$SB_PRELOAD_LIB"
tb_setup

HELPERS=$(cd "$(dirname "$0")/helpers" && pwd)
SERVER=$TB_DIR/accept_server
cc -O2 -Wall -Wextra -Werror -o "$SERVER" "$HELPERS/accept_server.c" ||
	tb_fail "cannot compile helpers/accept_server.c"

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
targets = { web = { path = "$TB_DIR/web-%p.sock"; }; };
rules = (
  { local = "2001:db8::/32"; target = "web"; },
  { local = "::ffff:198.51.100.0/120"; target = "web"; }
);
CONF

tb_bg "$TB_APP1" env LD_PRELOAD="$SB_PRELOAD_LIB" SOCKETBOX_SOCKET="$TB_DIR/web-%p.sock" \
	SOCKETBOX_PORTS=80,8000-8099 "$SERVER" epoll '[::]:80' 0.0.0.0:8050 0.0.0.0:9090 '[::]:9091'
APP_PID=$TB_BG_PID
APP_LOG=$TB_BG_LOG
tb_wait_log "$APP_LOG" ready
tb_wait_socket "$TB_DIR/web-80.sock"
tb_wait_socket "$TB_DIR/web-8050.sock"
for p in 9090 9091; do
	[[ ! -e $TB_DIR/web-$p.sock ]] || tb_fail "a socket file was made for unselected port $p"
done

listeners=$(tb_in "$TB_APP1" ss -Hltn | awk '{print $4}' | sort | tr '\n' ' ')
tb_log "real TCP listeners in the applet namespace: $listeners"
tb_assert_eq "0.0.0.0:9090 [::]:9091 " "$listeners" "real TCP listeners in the applet namespace"

out=$(tb_in "$TB_APP1" timeout "$TB_WAIT" socat -u "TCP4:127.0.0.1:9090,connect-timeout=$TB_WAIT" STDOUT) ||
	tb_fail "127.0.0.1:9090 inside the applet namespace: '$out'"
tb_assert_eq "epoll 127.0.0.1 127.0.0.1 9090" "$out" "answer on the real port 9090"
out=$(tb_in "$TB_APP1" timeout "$TB_WAIT" socat -u "TCP6:[::1]:9091,connect-timeout=$TB_WAIT" STDOUT) ||
	tb_fail "[::1]:9091 inside the applet namespace: '$out'"
tb_assert_eq "epoll ::1 ::1 9091" "$out" "answer on the real port 9091"
out=$(tb_in "$TB_APP1" "$PYTHON" "$HELPERS/dial.py" 127.0.0.1 80)
tb_assert_eq refused "$out" "127.0.0.1:80 inside the applet namespace (only a socket file)"

tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
tb_wait_listen "$TB_SERVER" "$TB_PORT"
out=$(tb_client_get 2001:db8::80 80) || tb_fail "2001:db8::80 port 80: '$out'"
tb_assert_eq "epoll $TB_CLIENT_IP6 2001:db8::80 80" "$out" "answer through the acceptor on port 80"
out=$(tb_client_get 198.51.100.50 8050) || tb_fail "198.51.100.50 port 8050: '$out'"
tb_assert_eq "epoll $TB_CLIENT_IP4 198.51.100.50 8050" "$out" "answer through the acceptor on port 8050"
tb_assert_eq reset "$(tb_client_probe 198.51.100.90 9090)" \
	"port 9090 through the acceptor (the daemon's 9090 is a real port, no socket file)"

tb_alive "$APP_PID" || tb_fail "the daemon ended"
if grep -v '^ready$' "$APP_LOG" >&2; then
	tb_fail "the daemon or the shim logged the above"
fi
