#!/bin/bash
# listen.workers = 2 (issue 15, item 6): two acceptor processes share the listener.
#   1. 10,000 connections (tests/bench/loadgen, 32 at a time, at most 120 s) to the minimal
#      fd applet (tests/bench/benchsrv fd): every one is answered "ok", both workers
#      accepted some (SIGUSR1: a "counters:" line per worker), the supervisor's totals line
#      and the stats socket say the sum, which is 10,000.
#   2. The file is replaced by one whose rule sends everything to another target (another
#      applet; the first one is stopped), SIGHUP: both workers log "reloaded", and rounds of
#      1,000 connections, until both workers accepted some of them, are all answered by the
#      new applet: a worker still on the old rules would queue them for the stopped applet.
# No figure is timed: the spread is asserted only as "each worker > 0" (EPOLLEXCLUSIVE
# wakes one worker per connection, not in turn).

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=helpers/core_cc.sh
. "$(dirname "$0")/helpers/core_cc.sh"

tb_require_root
tb_require_exec "$SOCKETBOX"
command -v socat >/dev/null 2>&1 || tb_skip "'socat' is not installed"
tb_setup

core_cc "$TB_DIR/benchsrv" "$SB_TOP/tests/bench/benchsrv.c" || tb_fail "cannot build benchsrv"
core_cc "$TB_DIR/loadgen" "$SB_TOP/tests/bench/loadgen.c" || tb_fail "cannot build loadgen"
CONF=$TB_DIR/sb.conf
STATS=$TB_DIR/stats.sock

conf() { # TARGET: every connection to 2001:db8::/32 goes to TARGET ($TB_DIR/TARGET.sock)
	cat >"$CONF.new" <<CONF
listen = { port = $TB_PORT; transparent = true; backlog = 4096; workers = 2; };
stats = { path = "$STATS"; };
queue_timeout = 0;
targets = { $1 = { path = "$TB_DIR/$1.sock"; }; };
rules = ( { local = "2001:db8::/32"; target = "$1"; } );
CONF
	mv -f "$CONF.new" "$CONF"
}

# load N: N connections from the client namespace, every one answered "ok".
load() {
	local line
	line=$(tb_in "$TB_CLIENT" "$TB_DIR/loadgen" -c 32 -n "$1" -t 120 -T 30000 -e ok \
		2001:db8::1 80) || tb_fail "loadgen failed"
	tb_log "$line"
	[[ $line == *" started=$1 ok=$1 "* ]] || tb_fail "not all of $1 connections were answered: $line"
}

# accepted W: what worker W accepted so far, from a fresh SIGUSR1 (sets TOTAL too).
declare -A ACC
counters() {
	local n
	n=$(grep -c '(2 workers)' "$SB_LOG") || true
	kill -USR1 "$SB_PID"
	tb_wait_count "$SB_LOG" '(2 workers)' $((n + 1)) "totals lines after SIGUSR1"
	for w in 1 2; do
		ACC[$w]=$(grep "^socketbox worker $w: counters:" "$SB_LOG" | tail -n 1 |
			sed -n 's/.*counters: accepted \([0-9]*\),.*/\1/p')
	done
	TOTAL=$(grep '(2 workers)' "$SB_LOG" | tail -n 1 | sed -n 's/.*counters: accepted \([0-9]*\),.*/\1/p')
	tb_log "accepted: worker 1 ${ACC[1]}, worker 2 ${ACC[2]}, total $TOTAL"
}

stats_value() { # NAME: a sample of the stats socket's text
	printf '\n' | socat -t 5 - "UNIX-CONNECT:$STATS" | awk -v n="$1" '$1 == n { print $2 }'
}
_stats_is() {
	[[ $(stats_value "$1") == "$2" ]]
}

conf one
tb_bg "$TB_APP1" "$TB_DIR/benchsrv" fd -s "$TB_DIR/one.sock"
APP1=$TB_BG_PID
tb_wait_socket "$TB_DIR/one.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$CONF"
SB_PID=$TB_BG_PID
SB_LOG=$TB_BG_LOG
tb_wait_log "$SB_LOG" "2 workers started"
tb_wait_listen "$TB_SERVER" "$TB_PORT"
tb_assert_eq 2 "$(pgrep -c -P "$SB_PID")" "worker processes under the supervisor"

# 1. 10,000 connections over both workers
load 10000
counters
((ACC[1] > 0 && ACC[2] > 0)) || tb_fail "a worker accepted nothing: ${ACC[1]} and ${ACC[2]}"
tb_assert_eq 10000 $((ACC[1] + ACC[2])) "the workers' accepted connections added up"
tb_assert_eq 10000 "$TOTAL" "the supervisor's total of accepted connections"
tb_until "$TB_WAIT" _stats_is socketbox_connections_total 10000 ||
	tb_fail "the stats socket says $(stats_value socketbox_connections_total) connections, not 10000"
tb_assert_eq 10000 "$(stats_value 'socketbox_connections_handed_total{target="one"}')" \
	"connections handed to target one, on the stats socket"
echo "measured: 10000 connections, worker 1 accepted ${ACC[1]}, worker 2 ${ACC[2]}"

# 2. a reload that moves every connection to another applet, in both workers
tb_kill "$APP1"
tb_bg "$TB_APP2" "$TB_DIR/benchsrv" fd -s "$TB_DIR/two.sock"
tb_wait_socket "$TB_DIR/two.sock" "$TB_APP2"
conf two
kill -HUP "$SB_PID"
for w in 1 2; do
	tb_wait_log "$SB_LOG" "socketbox worker $w: reloaded $CONF"
done
before1=${ACC[1]} before2=${ACC[2]} rounds=0
while ((rounds < 10)); do
	load 1000
	rounds=$((rounds + 1))
	counters
	((ACC[1] > before1 && ACC[2] > before2)) && break
done
((ACC[1] > before1 && ACC[2] > before2)) ||
	tb_fail "after $rounds rounds one worker still accepted nothing new"
tb_until "$TB_WAIT" _stats_is 'socketbox_connections_handed_total{target="two"}' $((rounds * 1000)) ||
	tb_fail "target two was handed $(stats_value 'socketbox_connections_handed_total{target="two"}')" \
		"connections, not $((rounds * 1000))"
tb_assert_eq 2 "$(stats_value socketbox_reloads_total)" "reloads on the stats socket (one per worker)"
tb_alive "$SB_PID" || tb_fail "the supervisor died"
tb_log "ok: after the reload worker 1 accepted $((ACC[1] - before1)), worker 2 $((ACC[2] - before2))"
