#!/bin/bash
# Fault: a storm of reloads while connections flow. 100 SIGHUPs, each one waited for (the
# "reloaded" log line), alternate between two valid configurations:
#   A: one target "a" (app1.sock, queue 4096); rules send 2001:db8::1 and 2001:db8::2 to it;
#   B: targets "spare" (app2.sock) and "b" (app1.sock again, under another name and queue
#      size, declared second); rules in another order: 2001:db8::2 -> spare first, then
#      everything from the client's /64 on port 80 -> b;
# so every reload unpins and re-pins the sink of app1.sock under a new target (and B's
# app2.sock sink is made, connected and collected again each time). Both applets are
# tests/soak/line_applet.c (answer "ok", no fork); every tenth reload both are stopped
# (SIGSTOP) for three reloads, so reloads also meet connections waiting in the acceptor's
# queues, including the queue of a sink the new configuration no longer names. Meanwhile
# two clients
# (helpers/burst_client.py in flow mode, 16 at once, 700/s each) make 5,000 connections
# each, to 2001:db8::1 and 2001:db8::2. Asserted:
#   - all 100 reloads happen while the connections flow, and each is logged "reloaded";
#   - none of the 10,000 connections is lost: every one is answered "ok";
#   - the acceptor is alive, its pid and listening socket unchanged, and it holds as many
#     descriptors as before the storm (same configuration A): no sink leaked;
#   - the counters (SIGUSR1): accepted = handed = 10,000 + the probes, reloads 100,
#     some connections queued, nothing waiting or reset; the applets' own counts add up to
#     the same.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=helpers/core_cc.sh
. "$(dirname "$0")/helpers/core_cc.sh"

tb_require_root
command -v cc >/dev/null 2>&1 || tb_skip "no C compiler (cc)"
tb_require_exec "$SOCKETBOX"
tb_setup

RELOADS=100
PER_CLIENT=5000
RATE=700
BURST=$(dirname "$0")/helpers/burst_client.py
APPLET=$TB_DIR/line_applet
core_cc "$APPLET" "$SB_TOP/tests/soak/line_applet.c" || tb_fail "cannot compile tests/soak/line_applet.c"
CONF=$TB_DIR/sb.conf

cat >"$TB_DIR/a.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; backlog = 4096; };
targets = {
  a = { path = "$TB_DIR/app1.sock"; queue = 4096; };
};
rules = (
  { local = "2001:db8::1"; local_port = 80; target = "a"; },
  { local = "2001:db8::2"; local_port = 80; target = "a"; }
);
CONF
cat >"$TB_DIR/b.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; backlog = 4096; };
targets = {
  spare = { path = "$TB_DIR/app2.sock"; queue = 2048; };
  b = { path = "$TB_DIR/app1.sock"; queue = 1024; };
};
rules = (
  { local = "2001:db8::2"; target = "spare"; },
  { remote = "$TB_CLIENT_IP6/64"; local_port = 80; target = "b"; }
);
CONF
for c in a b; do
	"$SOCKETBOX" -c -f "$TB_DIR/$c.conf" >&2 || tb_fail "configuration $c.conf does not check"
done

# install_conf SOURCE: replace the configuration at once, as an operator's tools would.
install_conf() {
	cp "$1" "$CONF.new"
	mv -f "$CONF.new" "$CONF"
}
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
listener_inode() {
	tb_in "$TB_SERVER" ss -Hltne "sport = :$TB_PORT" 2>/dev/null | grep -o 'ino:[0-9]*' | head -n 1
}

tb_bg "$TB_APP1" "$APPLET" "$TB_DIR/app1.sock" ok
APP1_PID=$TB_BG_PID
APP1_LOG=$TB_BG_LOG
tb_bg "$TB_APP2" "$APPLET" "$TB_DIR/app2.sock" ok
APP2_PID=$TB_BG_PID
APP2_LOG=$TB_BG_LOG
tb_wait_socket "$TB_DIR/app1.sock"
tb_wait_socket "$TB_DIR/app2.sock"
install_conf "$TB_DIR/a.conf"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$CONF"
SB_PID=$TB_BG_PID
SB_LOG=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"
tb_wait_log "$SB_LOG" "ready:"

for a in 2001:db8::1 2001:db8::2; do
	out=$(tb_client_get "$a" 80) || tb_fail "first connection to $a failed: '$out'"
	tb_assert_eq ok "$out" "answer from $a before the storm"
done
PROBES=2
fds_before=$(fds "$SB_PID")
inode_before=$(listener_inode)
tb_log "acceptor [$SB_PID]: $fds_before descriptors, listener $inode_before"

# the flow
pids=()
for a in 2001:db8::1 2001:db8::2; do
	tb_in "$TB_CLIENT" timeout -k 5 60 "$PYTHON" "$BURST" --concurrency 16 --rate "$RATE" \
		"$a" 80 "$PER_CLIENT" ok 50 >"$TB_DIR/flow-$a.out" 2>&1 &
	pids+=($!)
done
sleep 0.3

# the storm: B, A, B, A, ... each SIGHUP waited for, so none is merged with the next
t0=$(date +%s%N)
for ((i = 1; i <= RELOADS; i++)); do
	if ((i % 2)); then install_conf "$TB_DIR/b.conf"; else install_conf "$TB_DIR/a.conf"; fi
	# Now and then both applets stop for a few reloads, so that reloads also meet
	# connections waiting in the acceptor's queues (and an unpinned sink with a queue).
	case $((i % 10)) in
	1) kill -STOP "$APP1_PID" "$APP2_PID" ;;
	4) kill -CONT "$APP1_PID" "$APP2_PID" ;;
	esac
	kill -HUP "$SB_PID"
	for ((w = 0; w < 1000; w++)); do
		(($(grep -c '^socketbox: reloaded ' "$SB_LOG" || true) >= i)) && break
		sleep 0.005
	done
	(($(grep -c '^socketbox: reloaded ' "$SB_LOG" || true) >= i)) ||
		tb_fail "reload $i was not logged within 5 s"
	sleep 0.01
done
storm_ms=$((($(date +%s%N) - t0) / 1000000))
kill -CONT "$APP1_PID" "$APP2_PID"
running=0
for p in "${pids[@]}"; do
	kill -0 "$p" 2>/dev/null && running=$((running + 1))
done
tb_log "$RELOADS reloads in $storm_ms ms; clients still running afterwards: $running of 2"
tb_assert_eq 2 "$running" "clients still running when the last reload was done"
if grep -q 'failed; the previous configuration stays' "$SB_LOG"; then
	tb_fail "a reload failed: $(grep -m 1 'failed' "$SB_LOG")"
fi

rcs=0
for p in "${pids[@]}"; do
	wait "$p" || rcs=$((rcs + 1))
done
for a in 2001:db8::1 2001:db8::2; do
	cat "$TB_DIR/flow-$a.out" >&2
	line=$(grep '^burst: count=' "$TB_DIR/flow-$a.out") || tb_fail "the client to $a printed no result"
	echo "measured: flow to $a during $RELOADS reloads: $line"
	tb_burst_assert "$line" "$PER_CLIENT" "connections to $a answered ok" "connections to $a"
done
tb_assert_eq 0 "$rcs" "clients that failed"

tb_alive "$SB_PID" || tb_fail "the acceptor died in the storm"
tb_assert_eq "$inode_before" "$(listener_inode)" "listening socket after the storm"
tb_assert_eq A "$(grep -q "spare = " "$CONF" && echo B || echo A)" "configuration in force at the end"
tb_assert_eq "$fds_before" "$(fds "$SB_PID")" "acceptor descriptors after the storm (config A)"

kill -USR1 "$SB_PID"
tb_wait_log "$SB_LOG" "counters:"
counters=$(grep 'counters:' "$SB_LOG" | tail -n 1)
tb_log "$counters"
n=$((2 * PER_CLIENT + PROBES))
for want in "accepted $n," "handed $n," "waiting 0," "reset queue-full 0," \
	"reset no-applet 0," "rejected 0," "dropped 0," "reloads $RELOADS"; do
	[[ $counters == *"$want"* ]] || tb_fail "acceptor counters lack '$want': $counters"
done
if ! [[ $counters =~ queued\ ([0-9]+) ]] || ((BASH_REMATCH[1] == 0)); then
	tb_fail "no connection ever waited in a queue: the storm did not meet queued connections"
fi
served=0
for p in "$APP1_PID:$APP1_LOG" "$APP2_PID:$APP2_LOG"; do
	kill -USR1 "${p%%:*}"
	tb_wait_log "${p#*:}" "served"
	s=$(grep 'served' "${p#*:}" | tail -n 1 | sed -n 's/.*served \([0-9]*\), dropped \([0-9]*\).*/\1/p')
	tb_log "applet [${p%%:*}]: $(grep 'served' "${p#*:}" | tail -n 1)"
	served=$((served + s))
done
tb_assert_eq "$n" "$served" "connections the applets served"
echo "PASS: $RELOADS reloads while $((2 * PER_CLIENT)) connections flowed: none lost (storm took ${storm_ms} ms)"
