#!/bin/bash
# Relay (g): 2,000 concurrent connections held open, then all closed.
# socketbox (server namespace) hands the connections to socketbox-relay in $TB_APP1, which
# relays each to an echo server there (helpers/relay_echo.c on 127.0.0.1:7, one epoll loop).
# helpers/burst_client.py --hold opens 2,000 connections at once from the client namespace;
# each sends "line\n" and must get exactly "line\n" back, then stays open.
# Asserted while they are held: all 2,000 got their echo; the echo server has 2,000
# established connections from the relay; the relay holds exactly 2 descriptors more per
# connection than at start-up, its two sockets (no pipes: it copies through one shared buffer). Then the client shuts each connection
# down for writing: every one must end with a clean EOF (the half-close went through the
# relay to the echo server, which closed, and back), none may have been lost (reset or
# closed) while held. Afterwards the relay's descriptor count is back to its start-up value,
# the echo server has no connection left and accepted exactly 2,000, and the acceptor's
# counters show 2,000 accepted and handed and nothing reset, rejected or dropped.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_RELAY"

N=2000
BURST=$(dirname "$0")/helpers/burst_client.py

# the relay needs about 6 descriptors per connection, and inherits our hard limit
want=$((6 * N + 1000))
if (($(ulimit -Hn) < want)); then
	ulimit -Hn "$want" 2>/dev/null || tb_skip "cannot raise the descriptor hard limit to $want"
fi
if (($(ulimit -n) < want)); then
	ulimit -n "$want" 2>/dev/null || tb_skip "cannot raise the descriptor limit to $want"
fi

tb_setup

cc -O2 -Wall -Wextra -Werror -o "$TB_DIR/relay_echo" "$(dirname "$0")/helpers/relay_echo.c" ||
	tb_fail "cannot build helpers/relay_echo.c"
# accept queues that hold the whole burst: the acceptor's, and the echo server's
for ns in "$TB_SERVER" "$TB_APP1"; do
	_tb_run tb_in "$ns" sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=4096
done

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; backlog = 4096; };
# Every connection must be served however slow the machine: no queue timeout.
queue_timeout = 0;
targets = { relay = { path = "$TB_DIR/relay.sock"; }; };
rules = ( { local = "2001:db8::1"; local_port = 80; target = "relay"; } );
CONF

tb_bg "$TB_APP1" "$TB_DIR/relay_echo" -v -b 4096 127.0.0.1:7
ECHO_PID=$TB_BG_PID
ECHO_LOG=$TB_BG_LOG
tb_wait_log "$ECHO_LOG" ready
tb_bg "$TB_APP1" "$SB_RELAY" -s "$TB_DIR/relay.sock" 127.0.0.1:7
RELAY_PID=$TB_BG_PID
tb_wait_socket "$TB_DIR/relay.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
SB_PID=$TB_BG_PID
SB_LOG=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"

relay_fds() {
	find "/proc/$RELAY_PID/fd" -mindepth 1 -maxdepth 1 | wc -l
}
established() {
	tb_in "$TB_APP1" ss -Htn state established '( sport = :7 )' | wc -l
}
fds_start=$(relay_fds)
tb_log "the relay has $fds_start descriptors at start-up"

# the client, released through a FIFO
mkfifo "$TB_DIR/release"
: >"$TB_DIR/burst.out"
exec 3<>"$TB_DIR/release"
tb_in "$TB_CLIENT" timeout -k 5 60 "$PYTHON" "$BURST" --send 'line\n' --hold \
	2001:db8::1 80 "$N" line 25 <"$TB_DIR/release" >"$TB_DIR/burst.out" 2>&1 &
client=$!

for ((i = 0; i < 300; i++)); do
	grep -q '^burst: holding' "$TB_DIR/burst.out" && break
	kill -0 "$client" 2>/dev/null || break
	sleep 0.1
done
cat "$TB_DIR/burst.out" >&2
line=$(grep '^burst: count=' "$TB_DIR/burst.out") || tb_fail "the client printed no result"
grep -q '^burst: holding' "$TB_DIR/burst.out" || tb_fail "the client is not holding its connections"
secs=$(sed -n 's/.* seconds=\([0-9.]*\).*/\1/p' <<<"$line")
tb_log "all connections answered within ${secs}s"
tb_burst_assert "$line" "$N" "connections echoed and held"

# while held
tb_alive "$RELAY_PID" || tb_fail "the relay died"
tb_assert_eq "$N" "$(established)" "established connections at the echo server while held"
fds_held=$(relay_fds)
echo "measured: the relay holds $fds_held descriptors for $N connections" \
	"($(((fds_held - fds_start) / N)) per connection; $fds_start at start-up)"
tb_assert_eq $((fds_start + 2 * N)) "$fds_held" \
	"the relay's descriptors for $N held connections (start-up: $fds_start, 2 per connection)"

# hold a little longer: nothing may time out or go away by itself
sleep 1
# release: every connection half-closes and must see a clean EOF
echo go >&3
for ((i = 0; i < 300; i++)); do
	grep -q '^burst: released' "$TB_DIR/burst.out" && break
	kill -0 "$client" 2>/dev/null || break
	sleep 0.1
done
exec 3>&-
rc=0
wait "$client" || rc=$?
line=$(grep '^burst: released' "$TB_DIR/burst.out") || tb_fail "the client printed no release result: $(cat "$TB_DIR/burst.out")"
tb_log "$line"
for k in released closed lost reset other error timeout; do
	v=$(sed -n "s/.* *$k=\([0-9]*\).*/\1/p" <<<"$line")
	if [[ $k == released || $k == closed ]]; then
		tb_assert_eq "$N" "$v" "connections $k"
	else
		tb_assert_eq 0 "$v" "connections $k"
	fi
done
[[ $rc -eq 0 ]] || tb_fail "the client exited with status $rc"

# and everything is given back
given_back() { (($(relay_fds) == fds_start && $(established) == 0)); }
tb_until "$TB_WAIT" given_back || true
tb_assert_eq "$fds_start" "$(relay_fds)" "the relay's descriptor count after all were closed"
tb_assert_eq 0 "$(established)" "connections left at the echo server"
tb_assert_eq "$N" "$(grep -c '^accepted ' "$ECHO_LOG")" "connections the echo server accepted"
tb_alive "$ECHO_PID" || tb_fail "the echo server died"

counters=$(tb_counters "$SB_PID" "$SB_LOG")
tb_log "$counters"
for want in "accepted $N," "handed $N," "waiting 0," "reset queue-full 0," \
	"reset no-applet 0," "rejected 0," "dropped 0,"; do
	[[ $counters == *"$want"* ]] || tb_fail "acceptor counters lack '$want': $counters"
done
