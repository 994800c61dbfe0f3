#!/bin/bash
# listen.workers = 2: a worker killed with SIGKILL is restarted, and nothing it handed off is
# lost. A client holds a connection to an echo applet (socketbox-inetd running cat) and sees
# its first line echoed; then both workers are killed (so the one that accepted it surely
# is): the supervisor logs each death and restart, two new workers run, the held connection
# still echoes its second line, 2,000 new connections (tests/bench/loadgen, to the minimal
# fd applet) are all answered, and the totals (SIGUSR1) still count what the dead workers
# accepted (as they last published it: SIGUSR1 before the kill makes that complete). SIGTERM then ends the supervisor and its workers.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=helpers/core_cc.sh
. "$(dirname "$0")/helpers/core_cc.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
command -v socat >/dev/null 2>&1 || tb_skip "'socat' is not installed"
tb_setup

core_cc "$TB_DIR/benchsrv" "$SB_TOP/tests/bench/benchsrv.c" || tb_fail "cannot build benchsrv"
core_cc "$TB_DIR/loadgen" "$SB_TOP/tests/bench/loadgen.c" || tb_fail "cannot build loadgen"

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; workers = 2; };
queue_timeout = 0;
targets = {
  echo = { path = "$TB_DIR/echo.sock"; };
  ok = { path = "$TB_DIR/ok.sock"; };
};
rules = (
  { local = "2001:db8::1"; target = "echo"; },
  { local = "2001:db8::2"; target = "ok"; }
);
CONF
tb_bg "$TB_APP1" "$SB_INETD" -s "$TB_DIR/echo.sock" cat
tb_bg "$TB_APP1" "$TB_DIR/benchsrv" fd -s "$TB_DIR/ok.sock"
tb_wait_socket "$TB_DIR/echo.sock"
tb_wait_socket "$TB_DIR/ok.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
SB_PID=$TB_BG_PID
SB_LOG=$TB_BG_LOG
tb_wait_log "$SB_LOG" "2 workers started"
tb_wait_listen "$TB_SERVER" "$TB_PORT"

workers() { pgrep -P "$SB_PID" | sort | tr '\n' ' '; }
_two_new_workers() { # OLD...: two workers run, none of them one of OLD
	local now p
	now=$(workers)
	[[ $(wc -w <<<"$now") == 2 ]] || return 1
	for p in "$@"; do
		[[ " $now" != *" $p "* ]] || return 1
	done
}

# a held connection: the client writes through a fifo, its answers go to a file
mkfifo "$TB_DIR/in"
# shellcheck disable=SC2016 # $1 is the fifo, expanded by that sh
tb_bg "$TB_CLIENT" sh -c 'exec socat -t 30 - "TCP6:[2001:db8::1]:80" <"$1"' sh "$TB_DIR/in"
HOLD_LOG=$TB_BG_LOG
exec 3>"$TB_DIR/in"
echo before >&3
tb_wait_log "$HOLD_LOG" before

loadgen() { # ADDR N: N connections, every one answered "ok"
	local line
	line=$(tb_in "$TB_CLIENT" "$TB_DIR/loadgen" -c 16 -n "$2" -t 120 -T 30000 -e ok "$1" 80) ||
		tb_fail "loadgen failed"
	tb_log "$line"
	[[ $line == *" started=$2 ok=$2 "* ]] || tb_fail "not all of $2 connections were answered: $line"
}
loadgen 2001:db8::2 1000

# totals (SIGUSR1): also makes every worker publish its counters now, so that what the dead
# ones counted is all in the totals (a worker publishes at most every 250 ms otherwise)
totals() {
	local n
	n=$(grep -c '(2 workers)' "$SB_LOG") || true
	kill -USR1 "$SB_PID"
	tb_wait_count "$SB_LOG" '(2 workers)' $((n + 1)) "totals lines after SIGUSR1"
	grep '(2 workers)' "$SB_LOG" | tail -n 1
}
line=$(totals)
[[ $line == *"counters: accepted 1001, handed 1001,"* ]] ||
	tb_fail "the totals before the kill are not 1,001 connections: $line"

read -r -a old <<<"$(workers)"
tb_assert_eq 2 "${#old[@]}" "workers before the kill"
kill -KILL "${old[@]}"
for w in 1 2; do
	tb_wait_log "$SB_LOG" "worker $w (pid"
done
grep -E "worker [12] \(pid [0-9]+\) killed by signal 9; restarting it" "$SB_LOG" >&2 ||
	tb_fail "the supervisor's log does not say the workers were killed and restarted"
tb_until "$TB_WAIT" _two_new_workers "${old[@]}" ||
	tb_fail "two new workers do not run (now: $(workers))"
tb_log "ok: workers ${old[*]} killed, now $(workers)"

echo after >&3
tb_wait_log "$HOLD_LOG" after
tb_log "ok: the connection handed off before the kill still echoes"
exec 3>&-

loadgen 2001:db8::2 2000
line=$(totals)
tb_log "$line"
# 1 held + 1,000 before the kill + 2,000 after
[[ $line == *"counters: accepted 3001, handed 3001,"* ]] ||
	tb_fail "the totals do not count every connection of the dead and the new workers: $line"

tb_kill "$SB_PID"
tb_alive "$SB_PID" && tb_fail "the supervisor did not end on SIGTERM"
tb_assert_eq "" "$(workers)" "workers left after SIGTERM"
tb_wait_log "$SB_LOG" "worker 2 ended"
