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
# two clients (helpers/burst_client.py in flow mode, 16 at once, 700/s each) connect to
# 2001:db8::1 and 2001:db8::2 from before the first reload until after the last one: they
# stop opening connections only when the storm is over (--until a stop file), however long
# the 100 reloads take on a slow or busy machine. Asserted:
#   - all 100 reloads happen while the connections flow (both clients still running after
#     the last one, and at least FLOW_MIN connections accepted between the first and the
#     last reload), and each reload is logged "reloaded";
#   - none of the connections is lost: every one a client opened is answered "ok";
#   - the acceptor is alive, its pid and listening socket unchanged, and it holds as many
#     descriptors as before the storm (same configuration A): no sink leaked;
#   - the counters (SIGUSR1): accepted = handed = the connections the clients opened + the
#     probes, reloads 100, some connections queued, nothing waiting or reset; the applets'
#     own counts add up to the same.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=helpers/core_cc.sh
. "$(dirname "$0")/helpers/core_cc.sh"

tb_require_root
command -v cc >/dev/null 2>&1 || tb_skip "no C compiler (cc)"
tb_require_exec "$SOCKETBOX"
tb_setup

RELOADS=100
# Each client's upper bound: far more than it can open (700/s) before the stop file ends
# its flow, so that running out of connections would show as count = MAX_PER_CLIENT.
MAX_PER_CLIENT=200000
RATE=700
# Connections the acceptor must have accepted during the storm. Even on a fast machine the
# storm lasts over a second (100 x 10 ms pauses, plus the reloads), 30% of it with the
# applets stopped (then 16 connections per client wait, none is opened); unloaded, over
# 5,000 are accepted.
FLOW_MIN=200
STOP=$TB_DIR/storm-over
BURST=$(dirname "$0")/helpers/burst_client.py
APPLET=$TB_DIR/line_applet
core_cc "$APPLET" "$SB_TOP/tests/soak/line_applet.c" || tb_fail "cannot compile tests/soak/line_applet.c"
CONF=$TB_DIR/sb.conf

cat >"$TB_DIR/a.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; backlog = 4096; };
queue_timeout = 0;  # the storm stops the applets for a while: nothing may expire
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
queue_timeout = 0;  # the storm stops the applets for a while: nothing may expire
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

# install_conf TEXT: replace the configuration at once, as an operator's tools would.
install_conf() {
	printf '%s\n' "$1" >"$CONF.new"
	mv -f "$CONF.new" "$CONF"
}
A_CONF=$(<"$TB_DIR/a.conf")
B_CONF=$(<"$TB_DIR/b.conf")
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
# accepted_now: the acceptor's count of accepted connections, from its counters (SIGUSR1).
accepted_now() {
	local line
	line=$(tb_counters "$SB_PID" "$SB_LOG")
	[[ $line =~ accepted\ ([0-9]+), ]] || tb_fail "no accepted count in: $line"
	echo "${BASH_REMATCH[1]}"
}
# The storm's waits read the acceptor's log as it grows, through one descriptor, and pause
# with read -t on a FIFO nobody writes: no process is started for a look or a pause. Under
# load, a grep and a sleep every 5 ms over 100 reloads cost more CPU than the reloads.
# scan_log: count the "reloaded" lines the log got since the last look, in RELOADS_SEEN.
RELOADS_SEEN=0
LOG_PARTIAL=
scan_log() {
	local line
	while IFS= read -r -u "$LOG_FD" line; do
		line=$LOG_PARTIAL$line
		LOG_PARTIAL=
		if [[ $line == 'socketbox: reloaded '* ]]; then
			RELOADS_SEEN=$((RELOADS_SEEN + 1))
		fi
	done
	LOG_PARTIAL+=$line # a line still being written
}
# nap SECONDS: sleep without a process
mkfifo "$TB_DIR/nap"
exec {NAP_FD}<>"$TB_DIR/nap"
nap() { read -r -t "$1" -u "$NAP_FD" _ || true; }
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
install_conf "$A_CONF"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$CONF"
SB_PID=$TB_BG_PID
SB_LOG=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"
tb_wait_log "$SB_LOG" "ready:"
exec {LOG_FD}<"$SB_LOG"

for a in 2001:db8::1 2001:db8::2; do
	out=$(tb_client_get "$a" 80) || tb_fail "first connection to $a failed: '$out'"
	tb_assert_eq ok "$out" "answer from $a before the storm"
done
PROBES=2
fds_before=$(fds "$SB_PID")
inode_before=$(listener_inode)
tb_log "acceptor [$SB_PID]: $fds_before descriptors, listener $inode_before"

# the flow: until the stop file exists (90 s at most: only a failing run gets that far)
pids=()
for a in 2001:db8::1 2001:db8::2; do
	tb_in "$TB_CLIENT" timeout -k 5 100 "$PYTHON" "$BURST" --concurrency 16 --rate "$RATE" \
		--until "$STOP" "$a" 80 "$MAX_PER_CLIENT" ok 90 >"$TB_DIR/flow-$a.out" 2>&1 &
	pids+=($!)
done
# the storm begins once the flow is under way: its first 32 connections accepted
deadline=$((SECONDS + TB_WAIT))
accepted_before=$(accepted_now)
while ((accepted_before < PROBES + 32)); do
	((SECONDS < deadline)) || tb_fail "the clients' connections were not accepted within $TB_WAIT s"
	sleep 0.1
	accepted_before=$(accepted_now)
done

# the storm: B, A, B, A, ... each SIGHUP waited for, so none is merged with the next
t0=$(date +%s%N)
for ((i = 1; i <= RELOADS; i++)); do
	if ((i % 2)); then install_conf "$B_CONF"; else install_conf "$A_CONF"; fi
	# Now and then both applets stop for a few reloads, so that reloads also meet
	# connections waiting in the acceptor's queues (and an unpinned sink with a queue).
	case $((i % 10)) in
	1) kill -STOP "$APP1_PID" "$APP2_PID" ;;
	4) kill -CONT "$APP1_PID" "$APP2_PID" ;;
	esac
	kill -HUP "$SB_PID"
	# looked for every 5 ms (not tb_wait_count's 0.1 s), so the storm stays a storm
	deadline=$((SECONDS + TB_WAIT))
	scan_log
	while ((RELOADS_SEEN < i)); do
		((SECONDS < deadline)) || tb_fail "reload $i was not logged within $TB_WAIT s"
		nap 0.005
		scan_log
	done
	nap 0.01
done
storm_ms=$((($(date +%s%N) - t0) / 1000000))
kill -CONT "$APP1_PID" "$APP2_PID"
running=0
for p in "${pids[@]}"; do
	kill -0 "$p" 2>/dev/null && running=$((running + 1))
done
accepted_after=$(accepted_now)
during=$((accepted_after - accepted_before))
tb_log "$RELOADS reloads in $storm_ms ms, $during connections accepted meanwhile;" \
	"clients still running afterwards: $running of 2"
# the clients stop only on the stop file: one that ended already failed or ran out
tb_assert_eq 2 "$running" "clients still running when the last reload was done"
((during >= FLOW_MIN)) ||
	tb_fail "only $during connections were accepted during the storm (expected $FLOW_MIN or more)"
touch "$STOP"
if grep -q 'failed; the previous configuration stays' "$SB_LOG"; then
	tb_fail "a reload failed: $(grep -m 1 'failed' "$SB_LOG")"
fi

rcs=0
for p in "${pids[@]}"; do
	wait "$p" || rcs=$((rcs + 1))
done
opened=0
for a in 2001:db8::1 2001:db8::2; do
	cat "$TB_DIR/flow-$a.out" >&2
	line=$(grep '^burst: count=' "$TB_DIR/flow-$a.out") || tb_fail "the client to $a printed no result"
	echo "measured: flow to $a during $RELOADS reloads: $line"
	count=$(sed -n 's/^burst: count=\([0-9]*\) .*/\1/p' <<<"$line")
	((count < MAX_PER_CLIENT)) || tb_fail "the client to $a ran out of connections before the storm was over"
	tb_burst_assert "$line" "$count" "connections to $a answered ok" "connections to $a"
	opened=$((opened + count))
done
tb_assert_eq 0 "$rcs" "clients that failed"

tb_alive "$SB_PID" || tb_fail "the acceptor died in the storm"
tb_assert_eq "$inode_before" "$(listener_inode)" "listening socket after the storm"
tb_assert_eq A "$(grep -q "spare = " "$CONF" && echo B || echo A)" "configuration in force at the end"
tb_assert_eq "$fds_before" "$(fds "$SB_PID")" "acceptor descriptors after the storm (config A)"

counters=$(tb_counters "$SB_PID" "$SB_LOG")
tb_log "$counters"
n=$((opened + PROBES))
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
echo "PASS: $RELOADS reloads while $opened connections flowed: none lost (storm took ${storm_ms} ms)"
