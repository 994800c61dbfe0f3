#!/bin/bash
# Relay: --max-conns. At the limit the relay stops taking connections off its socket, so
# the back-pressure reaches socketbox's queue, and nothing is lost.
# socketbox-relay --max-conns 20 runs in $TB_APP1 and relays to an echo server there
# (helpers/relay_echo.c -v, which reports how many connections it has open at each accept).
# From the client namespace helpers/burst_client.py opens 600 connections at once; each
# sends "x\n", half-closes and must read exactly "x\n" and EOF.
# Asserted: all 600 are ok (no reset, EOF without data or timeout); the echo server never
# had more than 20 connections open at once and accepted exactly 600; socketbox's counters
# show 600 accepted and handed, nothing reset, rejected or dropped; the relay is back to its
# start-up number of descriptors.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_RELAY"
tb_setup

N=600
MAX=20
BURST=$(dirname "$0")/helpers/burst_client.py
cc -O2 -Wall -Wextra -Werror -o "$TB_DIR/relay_echo" "$(dirname "$0")/helpers/relay_echo.c" ||
	tb_fail "cannot build helpers/relay_echo.c"
_tb_run tb_in "$TB_SERVER" sysctl -qw net.core.somaxconn=4096

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; backlog = 4096; };
# Every connection must be served however slow the machine: no queue timeout.
queue_timeout = 0;
targets = { relay = { path = "$TB_DIR/relay.sock"; }; };
rules = ( { local = "2001:db8::1"; local_port = 80; target = "relay"; } );
CONF

tb_bg "$TB_APP1" "$TB_DIR/relay_echo" -v 127.0.0.1:7
ECHO_LOG=$TB_BG_LOG
tb_wait_log "$ECHO_LOG" ready
tb_bg "$TB_APP1" "$SB_RELAY" -s "$TB_DIR/relay.sock" --max-conns "$MAX" 127.0.0.1:7
RELAY_PID=$TB_BG_PID
tb_wait_socket "$TB_DIR/relay.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
SB_PID=$TB_BG_PID
SB_LOG=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"
fds_start=$(find "/proc/$RELAY_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)

set +e
result=$(tb_in "$TB_CLIENT" timeout -k 5 40 "$PYTHON" "$BURST" --send 'x\n' --shutdown \
	2001:db8::1 80 "$N" x 30)
rc=$?
set -e
printf '%s\n' "$result" >&2
line=$(grep '^burst: count=' <<<"$result") || tb_fail "the burst client printed no result (status $rc)"
tb_burst_assert "$line" "$N" "connections echoed"
[[ $rc -eq 0 ]] || tb_fail "the burst client exited with status $rc"

tb_assert_eq "$N" "$(grep -c '^accepted ' "$ECHO_LOG")" "connections the echo server accepted"
peak=$(awk '/^accepted / && $4 > m { m = $4 } END { print m + 0 }' "$ECHO_LOG")
tb_log "at most $peak connections were open at the echo server at once"
((peak <= MAX)) || tb_fail "the echo server had $peak connections open at once, more than --max-conns $MAX"

counters=$(tb_counters "$SB_PID" "$SB_LOG")
tb_log "$counters"
for want in "accepted $N," "handed $N," "waiting 0," "reset queue-full 0," \
	"reset no-applet 0," "rejected 0," "dropped 0,"; do
	[[ $counters == *"$want"* ]] || tb_fail "acceptor counters lack '$want': $counters"
done

tb_alive "$RELAY_PID" || tb_fail "the relay died"
tb_wait_fds "$RELAY_PID" "$fds_start" "the relay's descriptor count at the end"
