#!/bin/bash
# Fault: an applet freezes (SIGSTOP). Two targets: "one" (queue = 50) served by
# socketbox-inetd answering "one", "two" served by another answering "two". Applet one is
# stopped and 200 connections arrive for it at once (helpers/burst_client.py). The kernel
# queues what the applet's datagram socket admits (measured here with a probe in the applet's
# namespace: Linux admits a datagram while fewer than net.unix.max_dgram_qlen + 1 wait, so
# max_dgram_qlen + 1 of them, read from /proc/sys/net/unix/max_dgram_qlen), the acceptor's
# own queue holds 50 more, and exactly the rest is reset. Asserted:
#   - exactly 200 - 50 - KERNEL connections are reset, with as many "target one: queue full"
#     log lines, and none is reset for another reason;
#   - the counters (SIGUSR1) agree while frozen: queued 50, waiting 50, reset queue-full
#     200 - 50 - KERNEL, reset no-applet 0, and handed = what went to the kernel + the rest;
#   - meanwhile target two answers "two" to every connection (not held behind one's queue:
#     one stays frozen until after them, so a held connection would end in a timeout; the
#     times are printed);
#   - after SIGCONT every queued connection is served: the burst ends with exactly
#     50 + KERNEL answered "one", the rest reset, nothing else (no EOF, no timeout), and
#     the counters show nothing waiting and every accepted connection handed or reset.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
tb_setup

N=200
QUEUE=50
BURST=$(dirname "$0")/helpers/burst_client.py

qlen=$(tb_in "$TB_APP1" cat /proc/sys/net/unix/max_dgram_qlen)
# How many hand-off datagrams a connected sender gets into a socket nobody reads.
kernel=$(tb_in "$TB_APP1" "$PYTHON" - "$TB_DIR/probe.sock" <<'EOF'
import socket, sys
r = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
r.bind(sys.argv[1])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(sys.argv[1])
s.setblocking(False)
a, b = socket.socketpair()
n = 0
try:
    while n < 100000:
        socket.send_fds(s, [b"\0"], [a.fileno()])
        n += 1
except BlockingIOError:
    pass
print(n)
EOF
)
tb_log "applet namespace: max_dgram_qlen $qlen; a frozen applet's socket holds $kernel hand-offs"
if ((kernel != qlen && kernel != qlen + 1)); then
	tb_fail "the kernel queues $kernel datagrams with max_dgram_qlen $qlen (expected $qlen or $((qlen + 1)))"
fi
HELD=$((QUEUE + kernel))
OVER=$((N - HELD))
((OVER > 0)) || tb_fail "max_dgram_qlen $qlen is too large for this test"

# log_limit off: every reset has its line, which the test counts; no queue timeout: the
# applet stays frozen as long as the machine takes to get there.
cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; backlog = 4096; };
log_limit = { interval = 0; };
queue_timeout = 0;
targets = {
  one = { path = "$TB_DIR/one.sock"; queue = $QUEUE; };
  two = { path = "$TB_DIR/two.sock"; };
};
rules = (
  { local = "2001:db8::1"; target = "one"; },
  { local = "2001:db8::2"; target = "two"; }
);
CONF

tb_bg "$TB_APP1" "$SB_INETD" -c 300 -s "$TB_DIR/one.sock" echo one
ONE_PID=$TB_BG_PID
tb_bg "$TB_APP2" "$SB_INETD" -c 300 -s "$TB_DIR/two.sock" echo two
TWO_PID=$TB_BG_PID
tb_wait_socket "$TB_DIR/one.sock"
tb_wait_socket "$TB_DIR/two.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
SB_PID=$TB_BG_PID
SB_LOG=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"
tb_wait_log "$SB_LOG" "ready:"

out=$(tb_client_get 2001:db8::1 80) || tb_fail "first connection to one failed: '$out'"
tb_assert_eq one "$out" "target one before the freeze"
out=$(tb_client_get 2001:db8::2 80) || tb_fail "first connection to two failed: '$out'"
tb_assert_eq two "$out" "target two before the freeze"

kill -STOP "$ONE_PID"
tb_log "applet one [$ONE_PID] frozen"
tb_in "$TB_CLIENT" timeout -k 5 50 "$PYTHON" "$BURST" 2001:db8::1 80 "$N" one 40 \
	>"$TB_DIR/burst.out" 2>&1 &
BURST_PID=$!

# counters: ask for the counters and print the new line.
counters() {
	tb_counters "$SB_PID" "$SB_LOG"
}
# expect_counters LINE WANT...: every WANT ("handed 18,") is in LINE.
expect_counters() {
	local line=$1 want
	shift
	for want in "$@"; do
		[[ $line == *"$want"* ]] || tb_fail "counters lack '$want': $line"
	done
	tb_log "ok: counters show $*"
}

# Wait until every connection of the burst was accepted (the counters say so; each one is
# dispatched, reset or queued, as it is accepted): then anything beyond OVER would show.
tb_wait_count "$SB_LOG" 'target one: queue full' "$OVER" '"target one: queue full" log lines'
accepted_all() {
	[[ $(counters) =~ accepted\ ([0-9]+), ]] && ((BASH_REMATCH[1] >= 2 + N))
}
tb_until "$TB_WAIT" accepted_all ||
	tb_fail "the acceptor did not accept all $N connections of the burst within $TB_WAIT s: $(counters)"
n=$(grep -c 'target one: queue full' "$SB_LOG" || true)
tb_log "log: $(grep -m 1 'target one: queue full' "$SB_LOG")"
tb_assert_eq "$OVER" "$n" "\"target one: queue full\" log lines while one is frozen"
other=$(grep 'reset \[' "$SB_LOG" | grep -vc 'target one: queue full' || true)
tb_assert_eq 0 "$other" "connections reset for another reason"

# Target two is not affected.
for i in 1 2 3 4 5; do
	t=$(date +%s%N)
	out=$(tb_client_get 2001:db8::2 80) || tb_fail "target two failed while one is frozen: '$out'"
	tb_assert_eq two "$out" "target two while one is frozen ($i)"
	tb_log "target two answered in $((($(date +%s%N) - t) / 1000000)) ms"
done

line=$(counters)
tb_log "frozen: $line"
accepted=$((2 + N + 5))
expect_counters "$line" "accepted $accepted," "handed $((2 + 5 + kernel))," "queued $QUEUE," \
	"waiting $QUEUE," "reset queue-full $OVER," "reset no-applet 0," "rejected 0,"

tb_alive "$BURST_PID" || tb_fail "the burst ended while applet one was still frozen: $(cat "$TB_DIR/burst.out")"
kill -CONT "$ONE_PID"
tb_log "applet one [$ONE_PID] continued"

set +e
wait "$BURST_PID"
rc=$?
set -e
cat "$TB_DIR/burst.out" >&2
res=$(grep '^burst: count=' "$TB_DIR/burst.out") || tb_fail "the burst client printed no result (status $rc)"
echo "measured: frozen applet, $N connections, queue $QUEUE, kernel $kernel: $res"
for k in ok other eof reset refused error timeout; do
	v=$(sed -n "s/.* $k=\([0-9]*\).*/\1/p" <<<"$res")
	case $k in
	ok) tb_assert_eq "$HELD" "$v" "connections answered \"one\" after SIGCONT" ;;
	reset) tb_assert_eq "$OVER" "$v" "connections reset (the overflow)" ;;
	*) tb_assert_eq 0 "$v" "connections ending as $k" ;;
	esac
done

line=$(counters)
tb_log "after SIGCONT: $line"
expect_counters "$line" "accepted $accepted," "handed $((accepted - OVER))," "queued $QUEUE," \
	"waiting 0," "reset queue-full $OVER," "reset no-applet 0," "rejected 0," "dropped 0,"
tb_alive "$SB_PID" || tb_fail "the acceptor died"
tb_alive "$TWO_PID" || tb_fail "applet two died"
out=$(tb_client_get 2001:db8::1 80) || tb_fail "connection to one after SIGCONT failed: '$out'"
tb_assert_eq one "$out" "target one after SIGCONT"
echo "PASS: frozen applet: $HELD held ($QUEUE in socketbox, $kernel in the kernel), $OVER reset with a log line, target two unaffected"
