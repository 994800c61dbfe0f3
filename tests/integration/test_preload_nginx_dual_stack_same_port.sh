#!/bin/bash
# nginx's most common configuration, `listen 80; listen [::]:80;` (Debian's default site),
# behind libsocketbox-preload.so: an AF_INET and an AF_INET6 listener on the same port, so
# both binds map to the same socket file web-80.sock. nginx (2 workers) runs through the
# wrapper in an applet namespace that has only lo; the acceptor routes 198.51.100.0/24 and
# 2001:db8::/32, port 80, to web-80.sock. As with the kernel (nginx sets IPV6_V6ONLY on
# [::]:80), asserted:
#   1. every request succeeds: 10 from an IPv6 client to [2001:db8::80]:80 and 10 from an
#      IPv4 client to 198.51.100.80:80, alternating, each status 200 with the file (no reset);
#   2. the access log shows the IPv6 requests from fd00:5b::2 on server 2001:db8::80;
#   3. the access log shows the IPv4 requests from 10.213.0.2 on server 198.51.100.80 (the
#      AF_INET listener's view), not from ::ffff:10.213.0.2.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
NGINX=/usr/sbin/nginx
[[ -x $NGINX ]] || tb_skip "$NGINX is not installed (nginx-light)"
command -v curl >/dev/null 2>&1 || tb_skip "curl is not installed"
tb_require_exec "$SOCKETBOX" "$SB_PRELOAD" "$SB_PRELOAD_LIB"
tb_setup

N=10
mkdir -p "$TB_DIR/www"
printf 'dual-stack nginx behind socketbox (%s)\n' "$TB_ID" >"$TB_DIR/www/index.html"

tb_nginx_conf 2 64 info <<CONF
    log_format sb 'remote=\$remote_addr server=\$server_addr uri=\$request_uri status=\$status';
    access_log $TB_DIR/access.log sb;
    types { text/html html; }
    server {
        listen 80;
        listen [::]:80;
        root $TB_DIR/www;
    }
CONF

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
targets = { web = { path = "$TB_DIR/web-%p.sock"; }; };
rules = (
  { local = "2001:db8::/32"; local_port = 80; target = "web"; },
  { local = "::ffff:198.51.100.0/120"; local_port = 80; target = "web"; }
);
CONF

tb_bg "$TB_APP1" "$SB_PRELOAD" -s "$TB_DIR/web-%p.sock" -p 80 \
	"$NGINX" -p "$TB_DIR/" -c "$TB_DIR/nginx.conf"
NGINX_PID=$TB_BG_PID
tb_wait_socket "$TB_DIR/web-80.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
tb_wait_listen "$TB_SERVER" "$TB_PORT"

want="$(cat "$TB_DIR/www/index.html")|200"
failed=()
for ((i = 1; i <= N; i++)); do
	for url in "http://[2001:db8::80]/index.html?v6-$i" "http://198.51.100.80/index.html?v4-$i"; do
		out=$(tb_in "$TB_CLIENT" curl -sS -g --noproxy '*' --max-time "$TB_WAIT" -w '|%{http_code}' "$url" 2>&1) || true
		out=$(tr -d '\n' <<<"$out")
		if [[ $out != "$want" ]]; then
			failed+=("$url: $out")
		fi
	done
done
tb_alive "$NGINX_PID" || tb_fail "nginx ended"
if ((${#failed[@]})); then
	printf '  %s\n' "${failed[@]}" >&2
	tb_fail "${#failed[@]} of $((2 * N)) requests failed with listen 80 + listen [::]:80 (see above)"
fi
tb_log "ok: all $((2 * N)) requests answered 200 with the file"

tb_wait_log "$TB_DIR/access.log" "uri=/index.html?v4-$N "
tb_wait_log "$TB_DIR/access.log" "uri=/index.html?v6-$N "
v6=$(grep -c "^remote=$TB_CLIENT_IP6 server=2001:db8::80 uri=/index.html?v6-[0-9]* status=200\$" \
	"$TB_DIR/access.log" || true)
tb_assert_eq "$N" "$v6" "IPv6 requests logged from $TB_CLIENT_IP6 on 2001:db8::80"
v4=$(grep -c "^remote=$TB_CLIENT_IP4 server=198.51.100.80 uri=/index.html?v4-[0-9]* status=200\$" \
	"$TB_DIR/access.log" || true)
if [[ $v4 != "$N" ]]; then
	grep -F 'v4-' "$TB_DIR/access.log" >&2
	tb_fail "IPv4 requests logged from $TB_CLIENT_IP4 on 198.51.100.80: expected $N, got $v4 (above)"
fi
tb_log "ok: $N IPv4 requests logged from $TB_CLIENT_IP4 on 198.51.100.80"
