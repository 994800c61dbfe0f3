#!/bin/bash
# (b) Unmodified python3 http.server (an AF_INET listener: --bind 0.0.0.0) behind
# libsocketbox-preload.so, in an applet namespace that has only lo, started with LD_PRELOAD
# and the SOCKETBOX_* environment set directly (no wrapper). The acceptor routes
# 198.51.100.0/24 port 8000 to its socket file. Asserted:
#   - python's own startup line says it serves 0.0.0.0 port 8000 (it reads that back with
#     getsockname() on the listener), and nothing listens on a real TCP port;
#   - curl from the client namespace (IPv4) gets the file, exactly, status 200, several times;
#   - python's log line for each request starts with the client's real IPv4 address
#     10.213.0.2 (not ::ffff:10.213.0.2) and names the request.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
command -v curl >/dev/null 2>&1 || tb_skip "curl is not installed"
tb_require_exec "$SOCKETBOX" "$SB_PRELOAD_LIB"
tb_setup

mkdir -p "$TB_DIR/www"
printf 'hello from python http.server behind socketbox (%s)\n' "$TB_ID" >"$TB_DIR/www/hello.txt"

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
targets = { web = { path = "$TB_DIR/py-%p.sock"; }; };
rules = ( { local = "::ffff:198.51.100.0/120"; local_port = 8000; target = "web"; } );
CONF

tb_bg "$TB_APP1" env -C "$TB_DIR/www" LD_PRELOAD="$SB_PRELOAD_LIB" \
	SOCKETBOX_SOCKET="$TB_DIR/py-%p.sock" SOCKETBOX_PORTS=8000 \
	"$PYTHON" -u -m http.server 8000 --bind 0.0.0.0
PY_PID=$TB_BG_PID
PY_LOG=$TB_BG_LOG
tb_wait_socket "$TB_DIR/py-8000.sock"
tb_wait_log "$PY_LOG" "Serving HTTP on"
tb_log "python: $(grep 'Serving HTTP on' "$PY_LOG")"
grep -qF 'Serving HTTP on 0.0.0.0 port 8000 ' "$PY_LOG" ||
	tb_fail "python does not say it serves 0.0.0.0 port 8000: $(grep 'Serving' "$PY_LOG")"
tcp=$(tb_in "$TB_APP1" ss -Hltn)
[[ -z $tcp ]] || tb_fail "python listens on a real TCP port in the applet namespace: $tcp"

tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
tb_wait_listen "$TB_SERVER" "$TB_PORT"

want=$(
	cat "$TB_DIR/www/hello.txt"
	echo "|status=200"
)
for n in 1 2 3; do
	addr=198.51.100.$((10 + n))
	out=$(tb_in "$TB_CLIENT" curl -sS --noproxy '*' --max-time "$TB_WAIT" -w '\n|status=%{http_code}' \
		"http://$addr:8000/hello.txt?n=$n") || tb_fail "curl $addr:8000 failed: $out"
	tb_assert_eq "$want" "$(sed '/^$/d' <<<"$out")" "body and status from $addr:8000 (request $n)"
	tb_wait_log "$PY_LOG" "GET /hello.txt?n=$n "
	line=$(grep -F "GET /hello.txt?n=$n " "$PY_LOG")
	tb_log "python logged: $line"
	[[ $line == "$TB_CLIENT_IP4 - - ["*'] "GET /hello.txt?n='"$n"' HTTP/1.1" 200 -' ]] ||
		tb_fail "python's log line does not start with the client's address $TB_CLIENT_IP4: '$line'"
done
grep -F '::ffff:' "$PY_LOG" >&2 && tb_fail "python logged an IPv4-mapped address"
tb_alive "$PY_PID" || tb_fail "python ended"
if grep -E 'Traceback|libsocketbox-preload' "$PY_LOG" >&2; then
	tb_fail "python or the shim complained"
fi
tb_log "ok: python http.server served every request and logged the client's real address"
