#!/bin/bash
# (a) Unmodified nginx behind libsocketbox-preload.so (issue 4): nginx (master + 2 workers,
# `user nobody nogroup`, `daemon off`) runs through the wrapper
#     socketbox-preload -s $TB_DIR/web-%p.sock -p 80,8080 nginx ...
# in an applet namespace that has only lo, with `listen [::]:80` and `listen 0.0.0.0:8080`.
# The acceptor routes 2001:db8::/32 port 80 and 198.51.100.0/24 port 8080 to the socket files.
# Asserted:
#   - both socket files appear, nothing listens on a real TCP port in the applet namespace,
#     and the master has exactly 2 worker processes running as nobody;
#   - curl from the client namespace gets the file from [2001:db8::80]:80 and from
#     198.51.100.80:8080 (status 200, exact body);
#   - the access log shows the client's real address: fd00:5b::2 for the IPv6 request and
#     10.213.0.2 (AF_INET, no ::ffff:) for the request on the AF_INET listener, and
#     $server_addr is the address the client dialled (2001:db8::80, 198.51.100.80);
#   - a reload (SIGHUP) replaces both workers; the socket files survive the old workers
#     closing their copies (same inode) and requests keep working;
#   - after nginx stops (SIGQUIT, graceful), the master removed the socket files it made.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
NGINX=/usr/sbin/nginx
[[ -x $NGINX ]] || tb_skip "$NGINX is not installed (nginx-light)"
command -v curl >/dev/null 2>&1 || tb_skip "curl is not installed"
if ! getent passwd nobody >/dev/null || ! getent group nogroup >/dev/null; then
	tb_skip "user nobody or group nogroup does not exist"
fi
tb_require_exec "$SOCKETBOX" "$SB_PRELOAD" "$SB_PRELOAD_LIB"
tb_setup

mkdir -p "$TB_DIR/www"
printf 'hello from nginx behind socketbox (%s)\n' "$TB_ID" >"$TB_DIR/www/index.html"
chmod 0644 "$TB_DIR/www/index.html"

tb_nginx_conf 2 64 info 'user nobody nogroup;' <<CONF
    log_format sb 'remote=\$remote_addr server=\$server_addr port=\$server_port uri=\$request_uri status=\$status';
    access_log $TB_DIR/access.log sb;
    types { text/html html; }
    server {
        listen [::]:80;
        listen 0.0.0.0:8080;
        root $TB_DIR/www;
    }
CONF

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
targets = { web = { path = "$TB_DIR/web-%p.sock"; }; };
rules = (
  { local = "2001:db8::/32"; local_port = 80; target = "web"; },
  { local = "::ffff:198.51.100.0/120"; local_port = 8080; target = "web"; }
);
CONF

tb_bg "$TB_APP1" "$SB_PRELOAD" -s "$TB_DIR/web-%p.sock" -p 80,8080 \
	"$NGINX" -p "$TB_DIR/" -c "$TB_DIR/nginx.conf"
NGINX_PID=$TB_BG_PID
tb_wait_socket "$TB_DIR/web-80.sock"
tb_wait_socket "$TB_DIR/web-8080.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
tb_wait_listen "$TB_SERVER" "$TB_PORT"

# workers: the PIDs of the master's children that are nginx worker processes
workers() {
	local p
	for p in $(ps -o pid= --ppid "$NGINX_PID"); do
		grep -qa 'worker process' "/proc/$p/cmdline" 2>/dev/null && printf '%s\n' "$p"
	done
	return 0
}

# wait_workers EXCLUDE...: wait up to $TB_WAIT s for exactly 2 workers, none of them in
# EXCLUDE
wait_workers() {
	local w p bad deadline=$((SECONDS + TB_WAIT))
	while :; do
		w=$(workers)
		bad=
		for p in "$@"; do
			grep -qx -- "$p" <<<"$w" && bad=1
		done
		if [[ -z $bad && $(grep -c . <<<"$w") -eq 2 ]]; then
			printf '%s\n' "$w"
			return 0
		fi
		((SECONDS < deadline)) || break
		sleep 0.1
	done
	tb_fail "expected 2 nginx workers (not: $*), found: $(tr '\n' ' ' <<<"$w")"
}

old_workers=$(wait_workers)
tb_log "ok: nginx master $NGINX_PID has 2 workers: $(tr '\n' ' ' <<<"$old_workers")"
for p in $old_workers; do
	tb_assert_eq nobody "$(ps -o user= -p "$p" | tr -d ' ')" "user of worker $p"
done
tcp=$(tb_in "$TB_APP1" ss -Hltn)
[[ -z $tcp ]] || tb_fail "nginx listens on a real TCP port in the applet namespace: $tcp"
tb_log "ok: no real TCP listener in the applet namespace"

BODY=$(cat "$TB_DIR/www/index.html")

# get URL: curl from the client namespace; prints the body (its final newline removed),
# then " status=CODE"
get() {
	local out body
	out=$(tb_in "$TB_CLIENT" curl -sS -g --noproxy '*' --max-time "$TB_WAIT" -w '|status=%{http_code}' "$1") ||
		return 1
	body=${out%|status=*}
	printf '%s status=%s\n' "${body%$'\n'}" "${out##*|status=}"
}

check_get() {
	local out
	out=$(get "$1") || tb_fail "curl $1 failed: $out"
	tb_assert_eq "$BODY status=200" "$out" "body and status of $1"
}

check_get "http://[2001:db8::80]:80/index.html?v6"
check_get "http://198.51.100.80:8080/index.html?v4"

tb_wait_log "$TB_DIR/access.log" "uri=/index.html?v6 "
tb_wait_log "$TB_DIR/access.log" "uri=/index.html?v4 "
tb_assert_eq "remote=$TB_CLIENT_IP6 server=2001:db8::80 port=80 uri=/index.html?v6 status=200" \
	"$(grep -F 'uri=/index.html?v6 ' "$TB_DIR/access.log")" "access log line of the IPv6 request"
tb_assert_eq "remote=$TB_CLIENT_IP4 server=198.51.100.80 port=8080 uri=/index.html?v4 status=200" \
	"$(grep -F 'uri=/index.html?v4 ' "$TB_DIR/access.log")" "access log line of the IPv4 request"

# ---------------------------------------------------------------- reload

ino80=$(stat -c %i "$TB_DIR/web-80.sock")
ino8080=$(stat -c %i "$TB_DIR/web-8080.sock")
kill -HUP "$NGINX_PID"
# shellcheck disable=SC2086 # one PID per word
new_workers=$(wait_workers $old_workers)
tb_log "ok: after SIGHUP the workers are $(tr '\n' ' ' <<<"$new_workers")"
# the old workers finish (graceful): they close their copies of the listeners
old_gone() {
	local p
	for p in $old_workers; do
		kill -0 "$p" 2>/dev/null && return 1
	done
	return 0
}
tb_until "$TB_WAIT" old_gone || tb_fail "old nginx workers still run $TB_WAIT s after SIGHUP"
tb_alive "$NGINX_PID" || tb_fail "the nginx master died on SIGHUP"
[[ -S $TB_DIR/web-80.sock && -S $TB_DIR/web-8080.sock ]] ||
	tb_fail "a socket file disappeared when the old workers exited: $(ls "$TB_DIR")"
tb_assert_eq "$ino80 $ino8080" \
	"$(stat -c %i "$TB_DIR/web-80.sock") $(stat -c %i "$TB_DIR/web-8080.sock")" \
	"socket file inodes after the reload"
for n in 1 2 3; do
	check_get "http://[2001:db8::80]:80/index.html?v6-reload$n"
	check_get "http://198.51.100.80:8080/index.html?v4-reload$n"
done
tb_wait_log "$TB_DIR/access.log" "uri=/index.html?v4-reload3 "
grep -F 'reload' "$TB_DIR/access.log" | grep -vE "^remote=($TB_CLIENT_IP6|$TB_CLIENT_IP4) " &&
	tb_fail "access log lines after the reload lack the client's real address"
tb_log "ok: requests after the reload were served with the client's real address"

# ---------------------------------------------------------------- stop

kill -QUIT "$NGINX_PID"
nginx_gone() { ! tb_alive "$NGINX_PID"; }
tb_until "$TB_WAIT" nginx_gone || tb_fail "nginx did not stop within $TB_WAIT s of SIGQUIT"
for s in web-80.sock web-8080.sock; do
	[[ ! -e $TB_DIR/$s ]] || tb_fail "$s is still there after nginx stopped (the master made it)"
done
tb_log "ok: the socket files went away with nginx"
if grep -E '\[(emerg|alert|crit)\]' "$TB_DIR/error.log" >&2; then
	tb_fail "nginx logged errors"
fi
