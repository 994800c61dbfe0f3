#!/bin/bash
# Blocking accept() behind libsocketbox-preload.so restarts after a signal handler installed
# with SA_RESTART, as the kernel's accept() does (signal(7): accept is restarted unless the
# socket has a SO_RCVTIMEO timeout). Forking daemons typically sit in a blocking accept()
# with a SIGCHLD handler installed with SA_RESTART and do not expect EINTR.
# helpers/accept_server.c -r (blocking mode) takes SIGALRM every 20 ms from a SA_RESTART
# handler while it waits in accept(); it ends with status 1 if accept() fails with EINTR.
# Asserted: after ~1 s of waiting (about 50 signals) the server is still alive, and 8
# sequential and 50 simultaneous connections from the client namespace, for an IPv6 and an
# AF_INET listener, are all answered with the client's real address.

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
listen = { port = $TB_PORT; transparent = true; };
# Every connection must be served however slow the machine: no queue timeout.
queue_timeout = 0;
targets = { app = { path = "$TB_DIR/as-%p.sock"; }; };
rules = (
  { local = "2001:db8::/32"; target = "app"; },
  { local = "::ffff:198.51.100.0/120"; target = "app"; }
);
CONF

tb_bg "$TB_APP1" "$SB_PRELOAD" -s "$TB_DIR/as-%p.sock" -p 88 "$SERVER" -r blocking '[::]:88'
PID6=$TB_BG_PID
LOG6=$TB_BG_LOG
tb_bg "$TB_APP1" "$SB_PRELOAD" -s "$TB_DIR/as-%p.sock" -p 89 "$SERVER" -r blocking 0.0.0.0:89
PID4=$TB_BG_PID
LOG4=$TB_BG_LOG
tb_wait_log "$LOG6" ready
tb_wait_log "$LOG4" ready
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
tb_wait_listen "$TB_SERVER" "$TB_PORT"

# Let the signals come while both wait in accept(): the timer fires every 20 ms.
deadline=$((SECONDS + 2))
while ((SECONDS < deadline)); do
	if ! tb_alive "$PID6" || ! tb_alive "$PID4"; then
		break
	fi
	sleep 0.2
done
for p in "$PID6:$LOG6" "$PID4:$LOG4"; do
	if ! tb_alive "${p%%:*}"; then
		cat "${p#*:}" >&2
		tb_fail "a blocking accept() under SA_RESTART signals failed (see above); the kernel's restarts"
	fi
done
tb_log "ok: both servers survived ~2 s of SA_RESTART signals in accept()"

for target in "2001:db8::88 88 $TB_CLIENT_IP6" "198.51.100.89 89 $TB_CLIENT_IP4"; do
	read -r addr port peer <<<"$target"
	for ((i = 1; i <= 8; i++)); do
		out=$(tb_client_get "$addr" "$port") || tb_fail "connection $i to $addr port $port failed: '$out'"
		tb_assert_eq "blocking $peer $addr $port" "$out" "answer $i from $addr port $port"
	done
	out=$(tb_in "$TB_CLIENT" timeout -k 2 25 "$PYTHON" "$BURST" "$addr" "$port" 50 \
		"blocking $peer $addr $port" 20) || tb_fail "burst of 50 to $addr port $port: $out"
	tb_log "ok: burst to $addr port $port: $out"
done
for l in "$LOG6" "$LOG4"; do
	if grep -v '^ready$' "$l" >&2; then
		tb_fail "accept_server logged the above"
	fi
done
