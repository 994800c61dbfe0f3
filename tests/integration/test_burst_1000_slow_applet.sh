#!/bin/bash
# (f) A burst of 1,000 simultaneous connections against a slow applet loses none. The
# applet is socketbox-inetd limited to 40 children, each sleeping 10 ms before it answers
# "ok"; the applet's datagram queue holds only net.unix.max_dgram_qlen (10) connections, so
# the acceptor must queue the rest and feed them as the applet drains (DESIGN.md §3). From
# the client namespace helpers/burst_client.py opens 1,000 connections at once and reads
# each to EOF: every one must answer "ok" (no reset, no EOF without data, no timeout,
# within 60 s). The acceptor's counters (SIGUSR1) must show 1,000 accepted and handed and no
# connection reset. The measured time is printed.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
tb_setup

N=1000
BURST=$(dirname "$0")/helpers/burst_client.py

# The client holds all N sockets open at once.
if (($(ulimit -n) < N + 100)); then
	ulimit -n $((N + 100)) 2>/dev/null ||
		tb_skip "cannot raise the descriptor limit to $((N + 100)) (hard limit $(ulimit -Hn))"
fi

# The accept queue must hold the whole burst (the listener asks for backlog 4096; the kernel
# caps it at the server namespace's somaxconn).
somaxconn=$(tb_in "$TB_SERVER" sysctl -n net.core.somaxconn)
if ((somaxconn < N)); then
	tb_in "$TB_SERVER" sysctl -qw net.core.somaxconn=4096
fi
tb_log "server namespace: somaxconn $(tb_in "$TB_SERVER" sysctl -n net.core.somaxconn)," \
	"max_dgram_qlen $(tb_in "$TB_APP1" sysctl -n net.unix.max_dgram_qlen)"

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; backlog = 4096; };
# Every connection must be served however slow the machine: no queue timeout.
queue_timeout = 0;
targets = { slow = { path = "$TB_DIR/slow.sock"; }; };
rules = ( { local = "2001:db8::1"; local_port = 80; target = "slow"; } );
CONF

tb_bg "$TB_APP1" "$SB_INETD" -c 40 -s "$TB_DIR/slow.sock" sh -c 'sleep 0.01; echo ok'
INETD_PID=$TB_BG_PID
tb_wait_socket "$TB_DIR/slow.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
SB_PID=$TB_BG_PID
SB_LOG=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"

# one connection first: the path works at all
out=$(tb_client_get 2001:db8::1 80) || tb_fail "a single connection failed: '$out'"
tb_assert_eq ok "$out" "a single connection's answer"

# the burst; the helper raises its own descriptor limit (RLIMIT_NOFILE) to hold all the
# sockets and bounds itself at 60 s; timeout is only a safety net
set +e
result=$(tb_in "$TB_CLIENT" timeout -k 5 80 "$PYTHON" "$BURST" 2001:db8::1 80 "$N" ok 60)
rc=$?
set -e
printf '%s\n' "$result" >&2
line=$(grep '^burst: count=' <<<"$result") || tb_fail "the burst client printed no result (status $rc)"
secs=$(sed -n 's/.* seconds=\([0-9.]*\).*/\1/p' <<<"$line")
echo "measured: $N simultaneous connections through a 40-child, 10 ms applet answered in ${secs}s"

tb_alive "$SB_PID" || tb_fail "the acceptor died during the burst"
tb_alive "$INETD_PID" || tb_fail "the applet died during the burst"
tb_burst_assert "$line" "$N"
[[ $rc -eq 0 ]] || tb_fail "the burst client exited with status $rc"

# The acceptor agrees: everything accepted was handed over, nothing reset, nothing waits.
counters=$(tb_counters "$SB_PID" "$SB_LOG")
tb_log "$counters"
total=$((N + 1))
for want in "accepted $total," "handed $total," "waiting 0," "reset queue-full 0," \
	"reset no-applet 0," "rejected 0," "dropped 0,"; do
	[[ $counters == *"$want"* ]] || tb_fail "acceptor counters lack '$want': $counters"
done
# (the start-up warning about running as root without a user is not about the burst)
if grep 'warning' "$SB_LOG" | grep -vq 'sets no user'; then
	grep 'warning' "$SB_LOG" | grep -v 'sets no user' | head -n 5 >&2
	tb_fail "the acceptor logged warnings during the burst"
fi
tb_log "ok: all $N connections of the burst were served (${secs}s)"
