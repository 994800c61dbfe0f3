#!/bin/bash
# Fault: the acceptor runs out of descriptors under a burst, and recovers on its own.
# socketbox runs under `ulimit -n 64` (soft and hard: it raises its soft limit to the hard
# one at start-up) in front of a working but slow applet (socketbox-inetd, 25 children,
# each sleeping 0.1 s before it answers "ok"). 500 connections arrive at once
# (helpers/burst_client.py, each waiting up to 30 s): the applet's datagram queue fills, the
# acceptor's own queue takes the next ones until accept4() fails with EMFILE. Asserted:
#   - the acceptor really ran with 64 descriptors (/proc/PID/limits) and logged
#     "unable to accept; pausing";
#   - it never spins: while it is out of descriptors (a 1 s window right after the first
#     pause) it uses at most 15 CPU ticks of 100, and it logs at most one pause per 250 ms
#     tick over the whole burst;
#   - every one of the 500 connections is answered "ok" (none reset, none lost);
#   - the counters (SIGUSR1): 501 accepted and handed, nothing reset, nothing waiting,
#     accept pauses > 0; a new connection afterwards is served at once.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
tb_setup

N=500
LIMIT=64
BURST=$(dirname "$0")/helpers/burst_client.py

somaxconn=$(tb_in "$TB_SERVER" sysctl -n net.core.somaxconn)
if ((somaxconn < N)); then
	tb_in "$TB_SERVER" sysctl -qw net.core.somaxconn=4096
fi

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; backlog = 4096; };
# Every connection must be served however slow the machine: no queue timeout.
queue_timeout = 0;
targets = { app = { path = "$TB_DIR/app.sock"; }; };
rules = ( { local = "2001:db8::1"; local_port = 80; target = "app"; } );
CONF

tb_bg "$TB_APP1" "$SB_INETD" -c 25 -s "$TB_DIR/app.sock" sh -c 'sleep 0.1; echo ok'
APP_PID=$TB_BG_PID
tb_wait_socket "$TB_DIR/app.sock"
# `ulimit -n` in bash sets the soft and the hard limit: socketbox cannot raise it.
tb_bg "$TB_SERVER" bash -c "ulimit -n $LIMIT && exec $SOCKETBOX -f $TB_DIR/sb.conf"
SB_PID=$TB_BG_PID
SB_LOG=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"
tb_wait_log "$SB_LOG" "ready:"

limits=$(awk '/^Max open files/ {print $4, $5}' "/proc/$SB_PID/limits")
tb_assert_eq "$LIMIT $LIMIT" "$limits" "the acceptor's descriptor limits (soft hard)"
tb_log "the acceptor holds $(find "/proc/$SB_PID/fd" -mindepth 1 | wc -l) descriptors at rest"

out=$(tb_client_get 2001:db8::1 80) || tb_fail "a single connection failed: '$out'"
tb_assert_eq ok "$out" "a single connection's answer"

tb_in "$TB_CLIENT" timeout -k 5 45 "$PYTHON" "$BURST" 2001:db8::1 80 "$N" ok 30 \
	>"$TB_DIR/burst.out" 2>&1 &
BURST_PID=$!
t0=$SECONDS

# polled every 50 ms: the CPU window below should start right after the first pause
deadline=$((SECONDS + TB_WAIT))
while ! grep -q 'pausing' "$SB_LOG" && ((SECONDS < deadline)); do
	sleep 0.05
done
grep -q 'unable to accept; pausing' "$SB_LOG" ||
	tb_fail "the acceptor never ran out of descriptors (no 'unable to accept; pausing')"
tb_log "log: $(grep -m 1 'pausing' "$SB_LOG")"

# CPU (user + system ticks, 100 per second) while it is out of descriptors.
ticks0=$(awk '{print $14 + $15}' "/proc/$SB_PID/stat")
sleep 1
ticks1=$(awk '{print $14 + $15}' "/proc/$SB_PID/stat")
cpu=$((ticks1 - ticks0))
paused_now=$(grep -c 'pausing' "$SB_LOG" || true)
tb_log "CPU ticks in 1 s while out of descriptors: $cpu ($paused_now pauses logged so far)"
((cpu <= 15)) || tb_fail "the acceptor spins while out of descriptors ($cpu ticks in 1 s)"

set +e
wait "$BURST_PID"
rc=$?
set -e
took=$((SECONDS - t0))
cat "$TB_DIR/burst.out" >&2
line=$(grep '^burst: count=' "$TB_DIR/burst.out") ||
	tb_fail "the burst client printed no result (status $rc)"
echo "measured: $N connections under a $LIMIT-descriptor acceptor: $line"
tb_alive "$SB_PID" || tb_fail "the acceptor died"
tb_alive "$APP_PID" || tb_fail "the applet died"
tb_burst_assert "$line" "$N"
[[ $rc -eq 0 ]] || tb_fail "the burst client exited with status $rc"

# At most one pause per 250 ms tick (plus slack): a pause that does not hold is a spin too.
pauses=$(grep -c 'unable to accept; pausing' "$SB_LOG" || true)
max_pauses=$((took * 4 + 8))
tb_log "pauses logged: $pauses in about ${took}s (at most $max_pauses)"
((pauses <= max_pauses)) || tb_fail "$pauses pauses in ${took}s: the pause does not hold"

# recovered: a new connection is served at once
out=$(tb_client_get 2001:db8::1 80) || tb_fail "a connection after the burst failed: '$out'"
tb_assert_eq ok "$out" "answer after the burst"

kill -USR1 "$SB_PID"
tb_wait_log "$SB_LOG" "counters:"
counters=$(grep 'counters:' "$SB_LOG" | tail -n 1)
tb_log "$counters"
total=$((N + 2))
for want in "accepted $total," "handed $total," "waiting 0," "reset queue-full 0," \
	"reset no-applet 0," "rejected 0," "dropped 0,"; do
	[[ $counters == *"$want"* ]] || tb_fail "acceptor counters lack '$want': $counters"
done
[[ $counters =~ accept\ pauses\ ([0-9]+) ]] || tb_fail "no pause counter: $counters"
((BASH_REMATCH[1] > 0)) || tb_fail "the counters show no accept pause: $counters"
tb_assert_eq "$pauses" "${BASH_REMATCH[1]}" "accept pauses counted vs logged"
echo "PASS: out of descriptors at $LIMIT, the acceptor paused without spinning and served all $N"
