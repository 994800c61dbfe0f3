#!/bin/bash
# (g) A burst of 1,000 simultaneous HTTP connections to an unmodified nginx behind
# libsocketbox-preload.so loses none. nginx (2 workers, worker_connections 4096, descriptor
# limit raised) runs through the wrapper in an applet namespace with only lo; the acceptor
# routes 2001:db8::80 port 80 to its socket file. From the client namespace
# helpers/burst_client.py opens 1,000 connections at once, sends one GET on each as soon as
# it is established and reads each to EOF: every one must be an HTTP 200 carrying exactly
# the file (no reset, no EOF without data, no timeout, within 60 s). The acceptor's counters
# (SIGUSR1) must show every connection handed over and none reset; nginx's access log must
# hold 1,000 lines of status 200 from the client's real address, and nginx must not have
# logged an error. The measured time is printed.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
NGINX=/usr/sbin/nginx
[[ -x $NGINX ]] || tb_skip "$NGINX is not installed (nginx-light)"
tb_require_exec "$SOCKETBOX" "$SB_PRELOAD" "$SB_PRELOAD_LIB"
tb_setup

N=1000
BURST=$(dirname "$0")/helpers/burst_client.py

# The client holds all N sockets open at once, nginx too (plus its files and the
# connections' upstream side: none here), and the acceptor holds them while they queue.
if (($(ulimit -n) < 4 * N)); then
	ulimit -n $((4 * N)) 2>/dev/null ||
		tb_skip "cannot raise the descriptor limit to $((4 * N)) (hard limit $(ulimit -Hn))"
fi
somaxconn=$(tb_in "$TB_SERVER" sysctl -n net.core.somaxconn)
if ((somaxconn < N)); then
	tb_in "$TB_SERVER" sysctl -qw net.core.somaxconn=4096
fi

mkdir -p "$TB_DIR/www"
# a file of a few KiB, so that each answer takes more than one segment
"$PYTHON" -c 'import sys; sys.stdout.write("".join("line %04d of the burst file\n" % i for i in range(200)))' \
	>"$TB_DIR/www/file.txt"
chmod 0644 "$TB_DIR/www/file.txt"

tb_nginx_conf 2 4096 warn 'worker_rlimit_nofile 8192;' <<CONF
    log_format sb '\$remote_addr \$status \$body_bytes_sent \$pid';
    access_log $TB_DIR/access.log sb;
    types { text/plain txt; }
    keepalive_timeout 0;
    server {
        listen [::]:80;
        root $TB_DIR/www;
    }
CONF

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; backlog = 4096; };
# Every connection must be served however slow the machine: no queue timeout.
queue_timeout = 0;
targets = { web = { path = "$TB_DIR/web-%p.sock"; }; };
rules = ( { local = "2001:db8::80"; local_port = 80; target = "web"; } );
CONF

tb_bg "$TB_APP1" "$SB_PRELOAD" -s "$TB_DIR/web-%p.sock" -p 80 \
	"$NGINX" -p "$TB_DIR/" -c "$TB_DIR/nginx.conf"
NGINX_PID=$TB_BG_PID
NGINX_LOG=$TB_BG_LOG
tb_wait_socket "$TB_DIR/web-80.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
SB_PID=$TB_BG_PID
SB_LOG=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"

REQUEST='GET /file.txt HTTP/1.0\r\nHost: burst\r\n\r\n'

# one connection first: the path works at all
set +e
one=$(tb_in "$TB_CLIENT" timeout $((TB_WAIT + 10)) "$PYTHON" "$BURST" --send "$REQUEST" --http \
	2001:db8::80 80 1 "@$TB_DIR/www/file.txt" "$TB_WAIT")
rc=$?
set -e
[[ $rc -eq 0 ]] || tb_fail "a single request failed: $one"
tb_log "ok: a single request: $one"

set +e
result=$(tb_in "$TB_CLIENT" timeout -k 5 80 "$PYTHON" "$BURST" --send "$REQUEST" --http \
	2001:db8::80 80 "$N" "@$TB_DIR/www/file.txt" 60)
rc=$?
set -e
printf '%s\n' "$result" >&2
line=$(grep '^burst: count=' <<<"$result") || tb_fail "the burst client printed no result (status $rc)"
secs=$(sed -n 's/.* seconds=\([0-9.]*\).*/\1/p' <<<"$line")
echo "measured: $N simultaneous HTTP requests to nginx (2 workers) through acceptor + preload shim answered in ${secs}s"

tb_alive "$SB_PID" || tb_fail "the acceptor died during the burst"
tb_alive "$NGINX_PID" || tb_fail "nginx died during the burst"
tb_burst_assert "$line" "$N" "connections answered 200 with the file"
[[ $rc -eq 0 ]] || tb_fail "the burst client exited with status $rc"

# The acceptor agrees: everything accepted was handed over, nothing reset, nothing waits.
kill -USR1 "$SB_PID"
tb_wait_log "$SB_LOG" "counters:"
counters=$(grep 'counters:' "$SB_LOG" | tail -n 1)
tb_log "$counters"
total=$((N + 1))
for want in "accepted $total," "handed $total," "waiting 0," "reset queue-full 0," \
	"reset no-applet 0," "rejected 0," "dropped 0,"; do
	[[ $counters == *"$want"* ]] || tb_fail "acceptor counters lack '$want': $counters"
done

# nginx agrees: N+1 requests from the client's real address, all 200 with the whole file.
size=$(stat -c %s "$TB_DIR/www/file.txt")
tb_wait_count "$TB_DIR/access.log" . "$total" "access log lines"
tb_assert_eq "$total" "$(grep -c . "$TB_DIR/access.log")" "access log lines"
tb_assert_eq "$total" "$(grep -cE "^$TB_CLIENT_IP6 200 $size [0-9]+\$" "$TB_DIR/access.log")" \
	"access log lines '$TB_CLIENT_IP6 200 $size WORKER'"
tb_log "requests per nginx worker: $(awk '{print $4}' "$TB_DIR/access.log" | sort | uniq -c | awk '{printf "pid %s: %s; ", $2, $1}')"
if grep -E '\[(emerg|alert|crit|error)\]' "$TB_DIR/error.log" | head -n 5 >&2; then
	tb_fail "nginx logged errors during the burst"
fi
if grep 'libsocketbox-preload' "$NGINX_LOG" | head -n 5 >&2; then
	tb_fail "the preload shim complained during the burst"
fi
tb_log "ok: all $N requests of the burst were served (${secs}s)"
