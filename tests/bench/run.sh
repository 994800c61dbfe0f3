#!/bin/bash
# tests/bench/run.sh - `make bench` (every comparison of issue 6, several times each, in one
# run) and `make bench-smoke` (--smoke: the same cases, about a second each, one repetition).
#
#     tests/bench/run.sh [--smoke]
#
# Everything runs in a private network namespace (unshare -n, root) on its loopback, with
# the load generator pinned to one core and every process of the path under test to the
# other (DESIGN.md section 8). Baselines run in the same invocation, interleaved with the
# socketbox paths (A, B, A, B...), because absolute figures on a shared machine move.
#
# Per run it records connections/s, failures, p50/p99 latency, and the server CPU time per
# connection: utime+stime+cutime+cstime of every process of the path under test (children
# included) from /proc/PID/stat, and the busy time of the server core from /proc/stat.
# The load generator saturates its own core before a fast server does, so the CPU figures
# say more than connections/s from about 16 concurrent connections on. On a machine shared
# with other work, a CPU hog on the server core also costs a one-process path (the ceiling,
# nginx listening directly) more conn/s than a two-process one (socketbox and its applet);
# the CPU time per connection is not affected that way.
#
# At the end: one Markdown table (median, min-max, ratio of each pair) and the targets,
# marked met or missed. Raw figures: $SB_BENCH_KEEP/results.tsv if SB_BENCH_KEEP names a
# directory. Exit status: 0 when every case ran and served connections; 1 otherwise. Missed
# speed targets do not fail the run.
#
# Knobs (environment): SB_BENCH_REPS, SB_BENCH_SECS, SB_BENCH_CONCS ("1 16 64"),
# SB_BENCH_BULK (bytes, e.g. 1G), SB_BENCH_ONLY (space-separated subset of: handoff workers
# register burst lookup memory inetd preload relay), SB_BENCH_NICE (e.g. -10: run servers and load generator
# at that nice level, so that other work on a shared machine disturbs the figures less; the
# default leaves the priority alone), SOCKETBOX_PEER_DIR (a build directory of the original
# socketbox, PHJArea217/socketbox, made outside this repository: adds its acceptor and relay
# rows), HAPROXY (default: haproxy on the PATH; its rows are added whenever it is installed),
# SB_BENCH_SVG (where the chart goes, e.g. tests/bench/results.svg; default results.svg next
# to results.tsv; made only when gnuplot is installed; GNUPLOT names another one, or none).

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SMOKE=
[[ ${1:-} == --smoke ]] && SMOKE=1

# ---------------------------------------------------------------- a private namespace

if [[ ${SB_BENCH_IN_NETNS:-} != 1 ]]; then
	if [[ $(id -u) -eq 0 ]] && unshare -n true 2>/dev/null; then
		exec env SB_BENCH_IN_NETNS=1 unshare -n -- bash "${BASH_SOURCE[0]}" "$@"
	fi
	echo "run.sh: not root, or unshare -n does not work: using the host's loopback" >&2
	SB_BENCH_IN_NETNS=0
fi
if [[ $SB_BENCH_IN_NETNS == 1 ]]; then
	ip link set lo up
	# per-namespace settings: room for many short connections; net.unix.max_dgram_qlen
	# keeps its default (10), which the hand-off must cope with
	sysctl -qw net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1 \
		net.core.somaxconn=8192 2>/dev/null || true
	PORT_BASE=7000
else
	PORT_BASE=$((20000 + $$ % 20000))
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ---------------------------------------------------------------- settings

if [[ -n $SMOKE ]]; then
	REPS=${SB_BENCH_REPS:-1}
	SECS=${SB_BENCH_SECS:-0.3}
	BULK=${SB_BENCH_BULK:-32M} # each flow: the two-flow runs move twice that
	LOOKUP_ARGS=(-r 1 -k 16384 -p 1)
else
	REPS=${SB_BENCH_REPS:-3}
	SECS=${SB_BENCH_SECS:-1.5}
	BULK=${SB_BENCH_BULK:-1G}
	LOOKUP_ARGS=(-r 3 -k 65536 -p 2)
fi
CONCS=${SB_BENCH_CONCS:-"1 16 64"}
ONLY=${SB_BENCH_ONLY:-"handoff workers register burst lookup memory inetd preload relay"}
BURST=4000
BURST_DELAY_US=250 # the slow applet: 4,000 connections take it at least a second

NCPU=$(nproc)
if ((NCPU >= 2)); then
	LG_CPU=0
	SUT_CPU=1
else
	LG_CPU=0
	SUT_CPU=0
fi
HZ=$(getconf CLK_TCK)
PRIO=()
[[ -n ${SB_BENCH_NICE:-} ]] && PRIO=(nice -n "$SB_BENCH_NICE")
# how servers and the load generator are pinned (the workers comparison pins nothing)
SUT_PIN=(taskset -c "$SUT_CPU")
LG_PIN=(taskset -c "$LG_CPU")

SOCKETBOX=$TOP/build/socketbox
SB_INETD=$TOP/build/socketbox-inetd
SB_RELAY=$TOP/build/socketbox-relay
SB_PRELOAD=$TOP/build/socketbox-preload
LOADGEN=$TOP/build/bench/loadgen
BENCHSRV=$TOP/build/bench/benchsrv
LOOKUP=$TOP/build/bench/lookup_bench
NGINX=${NGINX:-/usr/sbin/nginx}
XINETD=${XINETD:-/usr/sbin/xinetd}
SOCAT=${SOCAT:-$(command -v socat || echo /usr/bin/socat)}
HAPROXY=${HAPROXY:-$(command -v haproxy || echo /usr/sbin/haproxy)}
PEER_DIR=${SOCKETBOX_PEER_DIR:-}
PEER_SOCKETBOX=$PEER_DIR/socketbox
PEER_RELAY=$PEER_DIR/socketbox-relay

for f in "$SOCKETBOX" "$SB_INETD" "$SB_RELAY" "$SB_PRELOAD" "$LOADGEN" "$BENCHSRV" "$LOOKUP"; do
	[[ -x $f ]] || {
		echo "run.sh: $f is missing: run make bench (or make all and the bench programs)" >&2
		exit 2
	}
done
if [[ -n $PEER_DIR && ! (-x $PEER_SOCKETBOX && -x $PEER_RELAY) ]]; then
	echo "run.sh: SOCKETBOX_PEER_DIR=$PEER_DIR has no socketbox and socketbox-relay" >&2
	exit 2
fi
if grep -qs -- -fsanitize "$TOP/build/.flags"; then
	echo "run.sh: WARNING: built with sanitizers (SANITIZE=1): figures are meaningless" >&2
fi

W=$(mktemp -d /tmp/socketbox-bench.XXXXXX)
chmod 0755 "$W"
RESULTS=$W/results.tsv
: >"$RESULTS"
ERRORS=0
PIDS=()

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local rc=$? pid i any
	trap - EXIT INT TERM HUP
	set +e
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for ((i = 0; i < 30; i++)); do
		any=
		for pid in "${PIDS[@]}"; do
			kill -0 "$pid" 2>/dev/null && any=1
		done
		[[ -n $any ]] || break
		sleep 0.1
	done
	for pid in "${PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	if [[ -n ${SB_BENCH_KEEP:-} && -d ${SB_BENCH_KEEP:-} ]]; then
		cp -r "$W"/. "$SB_BENCH_KEEP"/ 2>/dev/null
	fi
	rm -rf -- "$W"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
fail() {
	printf '[bench] ERROR: %s\n' "$*" >&2
	ERRORS=$((ERRORS + 1))
}

# ---------------------------------------------------------------- processes

# start NAME CMD...: run CMD pinned to the server core, in the background, output in
# $W/NAME.log; sets PID (also remembered for the clean-up).
start() {
	local name=$1
	shift
	"${PRIO[@]}" "${SUT_PIN[@]}" "$@" </dev/null >"$W/$name.log" 2>&1 &
	PID=$!
	PIDS+=("$PID")
}

# stop PID...: SIGTERM, wait up to 3 s, then SIGKILL.
stop() {
	local pid i
	for pid in "$@"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "$@"; do
		for ((i = 0; i < 30; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
}

# How long a wait for a server gives up after, in seconds: a cap, which only a failing run
# reaches (a slow or busy machine only takes longer to start one).
WAIT_SECS=30

# wait_tcp PORT: until something listens on [::1]:PORT (WAIT_SECS).
wait_tcp() {
	local end=$((SECONDS + WAIT_SECS))
	while ((SECONDS < end)); do
		[[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]] && return 0
		sleep 0.05
	done
	fail "nothing listens on port $1 after $WAIT_SECS s"
	return 1
}

# wait_unix PATH: until the socket file exists (WAIT_SECS).
wait_unix() {
	local end=$((SECONDS + WAIT_SECS))
	while ((SECONDS < end)); do
		[[ -S $1 ]] && return 0
		sleep 0.05
	done
	fail "socket $1 did not appear within $WAIT_SECS s"
	return 1
}

# descendants PID...: the PIDs and all their descendants.
descendants() {
	local pid kids
	for pid in "$@"; do
		[[ -d /proc/$pid ]] || continue
		echo "$pid"
		if [[ -r /proc/$pid/task/$pid/children ]]; then
			kids=$(cat /proc/"$pid"/task/*/children 2>/dev/null) || true
		else
			kids=$(pgrep -P "$pid" 2>/dev/null) || true
		fi
		# shellcheck disable=SC2086 # one PID per word
		[[ -n $kids ]] && descendants $kids
	done
	return 0
}

# proc_ticks PID...: utime+stime+cutime+cstime of the processes and their descendants.
proc_ticks() {
	local total=0 pid s f
	for pid in $(descendants "$@"); do
		s=$(cat /proc/"$pid"/stat 2>/dev/null) || continue
		s=${s##*) }
		read -ra f <<<"$s"
		total=$((total + f[11] + f[12] + f[13] + f[14]))
	done
	echo "$total"
}

# core_busy: busy ticks of the server core (everything but idle and iowait).
core_busy() {
	awk -v c="cpu$SUT_CPU" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# kv KEY LINE: the value of KEY=value in LINE.
kv() {
	local w
	for w in $2; do
		[[ $w == "$1="* ]] && {
			echo "${w#*=}"
			return 0
		}
	done
	echo 0
}

# record FIELDS...: one line of results.tsv.
record() {
	local IFS=$'\t'
	echo "$*" >>"$RESULTS"
}

# measure GROUP SYSTEM CONC REP PIDS -- LOADGEN_ARGS...: one run of the load generator
# against the path whose processes are PIDS; records the figures.
measure() {
	local group=$1 system=$2 conc=$3 rep=$4 pids=() out t0 t1 b0 b1 ok fails cpu core
	shift 4
	while [[ $1 != -- ]]; do
		pids+=("$1")
		shift
	done
	shift
	t0=$(proc_ticks "${pids[@]}")
	b0=$(core_busy)
	if ! out=$("${PRIO[@]}" "${LG_PIN[@]}" "$LOADGEN" "$@" 2>&1); then
		fail "$group/$system c=$conc: loadgen: $out"
	fi
	sleep 0.1 # let the servers finish their part (exits, reaping)
	t1=$(proc_ticks "${pids[@]}")
	b1=$(core_busy)
	ok=$(kv ok "$out")
	fails=$(($(kv reset "$out") + $(kv refused "$out") + $(kv eof "$out") + $(kv timeout "$out") + $(kv bad "$out") + $(kv other "$out")))
	if ((ok > 0)); then
		cpu=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v n="$ok" 'BEGIN { printf "%.2f", t * 1e6 / hz / n }')
		core=$(awk -v t=$((b1 - b0)) -v hz="$HZ" -v n="$ok" 'BEGIN { printf "%.2f", t * 1e6 / hz / n }')
	else
		cpu=0
		core=0
		fail "$group/$system c=$conc rep $rep served no connection: $out"
	fi
	record conn "$group" "$system" "$conc" "$rep" "$(kv cps "$out")" "$ok" "$fails" \
		"$cpu" "$core" "$(kv p50_us "$out")" "$(kv p99_us "$out")" \
		"reset=$(kv reset "$out"),refused=$(kv refused "$out"),eof=$(kv eof "$out"),timeout=$(kv timeout "$out"),bad=$(kv bad "$out"),other=$(kv other "$out")"
	printf '  %-8s %-28s c=%-3s rep %s: %s conn/s, %s fail, %s µs CPU/conn, core %s µs/conn, p99 %s µs\n' \
		"$group" "$system" "$conc" "$rep" "$(kv cps "$out")" "$fails" "$cpu" "$core" \
		"$(kv p99_us "$out")" >&2
}

# measure_bulk GROUP SYSTEM FLOWS REP PORT PIDS...: FLOWS bulk transfers at once.
measure_bulk() {
	local group=$1 system=$2 flows=$3 rep=$4 port=$5 out t0 t1 cpu
	shift 5
	t0=$(proc_ticks "$@")
	if ! out=$("${PRIO[@]}" taskset -c "$LG_CPU" "$LOADGEN" -B "$BULK" -c "$flows" ::1 "$port" 2>&1); then
		fail "$group/$system bulk: $out"
		return 0
	fi
	sleep 0.1
	t1=$(proc_ticks "$@")
	cpu=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v b="$(kv bytes "$out")" 'BEGIN { printf "%.3f", t / hz / (b / 1073741824) }')
	record bulk "$group" "$system" "$flows" "$rep" "$(kv mibps "$out")" 1 0 "$cpu" 0 0 0 "bytes=$(kv bytes "$out")"
	printf '  %-8s %-28s bulk %s flow(s) rep %s: %s MiB/s, %s s CPU/GiB\n' "$group" "$system" \
		"$flows" "$rep" "$(kv mibps "$out")" "$cpu" >&2
}

# run_pairs GROUP LOADGEN_ARGS -- NAME PORT PIDS... [-- NAME PORT PIDS...]...: for each
# repetition and concurrency, one run against each system in turn.
run_pairs() {
	local group=$1 args=() systems=() rep conc spec name port
	shift
	while [[ $1 != -- ]]; do
		args+=("$1")
		shift
	done
	shift
	# systems: "NAME PORT PID PID..." strings, separated by --
	spec=
	while (($#)); do
		if [[ $1 == -- ]]; then
			systems+=("$spec")
			spec=
		else
			spec+="${spec:+ }$1"
		fi
		shift
	done
	[[ -n $spec ]] && systems+=("$spec")
	for ((rep = 1; rep <= REPS; rep++)); do
		for conc in $CONCS; do
			for spec in "${systems[@]}"; do
				read -r name port pids <<<"$spec"
				# shellcheck disable=SC2086 # PIDs, one per word
				measure "$group" "$name" "$conc" "$rep" $pids -- -c "$conc" -t "$SECS" \
					"${args[@]}" ::1 "$port"
			done
		done
	done
}

P=$PORT_BASE
next_port() { P=$((P + 1)); }

# want GROUP [PROGRAM...]: whether to run a comparison; a missing program is an error.
want() {
	local group=$1 p
	[[ " $ONLY " == *" $group "* ]] || return 1
	shift
	for p in "$@"; do
		if [[ ! -x $p ]]; then
			fail "$group: $p is not installed (Debian: nginx-light, xinetd, socat, haproxy)"
			return 1
		fi
	done
	return 0
}

log "mode ${SMOKE:+smoke}${SMOKE:-full}: $REPS repetition(s), $SECS s per run, concurrency $CONCS; load generator on CPU $LG_CPU, servers on CPU $SUT_CPU; namespace: $([[ $SB_BENCH_IN_NETNS == 1 ]] && echo private || echo host)"

# ---------------------------------------------------------------- hand-off vs the ceiling

if want handoff; then
	log "hand-off: socketbox -> minimal fd applet vs a plain epoll accept loop (the ceiling)"
	next_port
	PORT_CEIL=$P
	start ceiling "$BENCHSRV" accept -l ::1 -p "$PORT_CEIL"
	PID_CEIL=$PID
	start applet "$BENCHSRV" fd -s "$W/handoff.sock"
	PID_APPLET=$PID
	wait_unix "$W/handoff.sock"
	next_port
	PORT_SB=$P
	start socketbox-handoff "$SOCKETBOX" -l ::1 -p "$PORT_SB" -S "$W/handoff.sock"
	PID_SB=$PID
	peer=()
	PIDS_O=()
	if [[ -n $PEER_DIR ]]; then
		# the original socketbox, in front of a copy of the same applet of its own
		start applet-original "$BENCHSRV" fd -s "$W/handoff-original.sock"
		PIDS_O+=("$PID")
		wait_unix "$W/handoff-original.sock"
		next_port
		start socketbox-original "$PEER_SOCKETBOX" -l ::1 -p "$P" -S "$W/handoff-original.sock"
		PIDS_O+=("$PID")
		peer=(-- original-socketbox "$P" "${PIDS_O[@]}")
		wait_tcp "$P"
	fi
	if wait_tcp "$PORT_CEIL" && wait_tcp "$PORT_SB"; then
		run_pairs handoff -T 10000 -- \
			ceiling "$PORT_CEIL" "$PID_CEIL" -- \
			socketbox "$PORT_SB" "$PID_SB" "$PID_APPLET" "${peer[@]}"
	fi
	stop "$PID_SB" "$PID_APPLET" "$PID_CEIL" "${PIDS_O[@]}"
fi

# ---------------------------------------------------------------- 1 vs 2 workers

# listen.workers = 1 and = 2 in front of the same applet, nothing pinned: the load
# generator, the workers and the applet share every core. On a 2-core machine a second
# worker competes with the load generator and the applet for the same two cores, so this
# shows the cost of the supervisor and the shared listener more than a gain.
if want workers; then
	log "workers: socketbox with workers = 1 vs 2 -> minimal fd applet, nothing pinned"
	SUT_PIN=()
	LG_PIN=()
	start applet-workers "$BENCHSRV" fd -s "$W/workers.sock"
	PID_WAPPLET=$PID
	wait_unix "$W/workers.sock"
	wspecs=()
	wpids=()
	for n in 1 2; do
		next_port
		cat >"$W/workers-$n.conf" <<CONF
listen = { address = "::1"; port = $P; workers = $n; };
targets = { app = { path = "$W/workers.sock"; }; };
default = "app";
CONF
		start "socketbox-workers-$n" "$SOCKETBOX" -f "$W/workers-$n.conf"
		wpids+=("$PID")
		wait_tcp "$P" || continue
		wspecs+=(-- "workers-$n" "$P" "$PID" "$PID_WAPPLET")
	done
	if ((${#wspecs[@]} == 10)); then
		run_pairs workers -T 10000 "${wspecs[@]}"
	fi
	stop "${wpids[@]}" "$PID_WAPPLET"
	SUT_PIN=(taskset -c "$SUT_CPU")
	LG_PIN=(taskset -c "$LG_CPU")
fi

# ---------------------------------------------------------------- registered vs datagram

# wait_log FILE TEXT: until FILE has a line with TEXT (WAIT_SECS).
wait_log() {
	local end=$((SECONDS + WAIT_SECS))
	while ((SECONDS < end)); do
		grep -qF -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "no '$2' in ${1##*/} after $WAIT_SECS s"
	return 1
}

# reg_conf KIND PORT TARGET: a configuration file $W/KIND.conf, the same for both paths but
# for the target.
reg_conf() {
	cat >"$W/$1.conf" <<EOF
listen = { address = "::1"; port = $2; };
register = { path = "$W/register-$1.sock"; };
targets = { app = { $3 }; };
default = "app";
EOF
}

if want register; then
	log "register: socketbox -> a registered applet (slot) vs -> the same applet on a datagram socket"
	start applet-dgram "$BENCHSRV" fd -s "$W/dgram.sock"
	PID_APD=$PID
	wait_unix "$W/dgram.sock"
	next_port
	PORT_SBD=$P
	next_port
	PORT_SBR=$P
	reg_conf dgram "$PORT_SBD" "path = \"$W/dgram.sock\";"
	reg_conf reg "$PORT_SBR" "slot = 1; allow = [ \"$(id -u)\" ];"
	start socketbox-dgram "$SOCKETBOX" -f "$W/dgram.conf"
	PID_SBD=$PID
	start socketbox-reg "$SOCKETBOX" -f "$W/reg.conf"
	PID_SBR=$PID
	if wait_unix "$W/register-reg.sock"; then
		start applet-reg "$BENCHSRV" reg -s "$W/register-reg.sock" -n 1
		PID_APR=$PID
		if wait_log "$W/socketbox-reg.log" "registered for slot 1" && wait_tcp "$PORT_SBD" &&
			wait_tcp "$PORT_SBR"; then
			run_pairs register -T 10000 -- \
				datagram "$PORT_SBD" "$PID_SBD" "$PID_APD" -- \
				registered "$PORT_SBR" "$PID_SBR" "$PID_APR"
		fi
		stop "$PID_APR"
	fi
	stop "$PID_SBD" "$PID_SBR" "$PID_APD"
fi

# ---------------------------------------------------------------- burst

if want burst; then
	log "burst: $BURST simultaneous connections to an applet that takes $BURST_DELAY_US µs each"
	start slowapplet "$BENCHSRV" fd -s "$W/slow.sock" -d "$BURST_DELAY_US"
	PID_SLOW=$PID
	wait_unix "$W/slow.sock"
	next_port
	PORT_BURST=$P
	start socketbox-burst "$SOCKETBOX" -l ::1 -p "$PORT_BURST" -S "$W/slow.sock"
	PID_SBB=$PID
	if wait_tcp "$PORT_BURST"; then
		for ((rep = 1; rep <= REPS; rep++)); do
			measure burst socketbox "$BURST" "$rep" "$PID_SBB" "$PID_SLOW" -- \
				-c "$BURST" -n "$BURST" -T 60000 ::1 "$PORT_BURST"
		done
	fi
	stop "$PID_SBB" "$PID_SLOW"
fi

# ---------------------------------------------------------------- lookup

if want lookup; then
	log "lookup: ns per rules_lookup at 10, 1,000 and 100,000 rules"
	mkdir -p "$W/rules"
	if out=$(taskset -c "$SUT_CPU" "$LOOKUP" "${LOOKUP_ARGS[@]}" "$W/rules" 10 1000 100000); then
		while read -r line; do
			echo "  $line" >&2
			record lookup lookup "$(kv rules "$line")" 0 0 "$(kv ns "$line")" \
				"$(kv ns_min "$line")" "$(kv ns_max "$line")" "$(kv load_ms "$line")" \
				"$(kv hits "$line")" 0 0 -
		done <<<"$out"
	else
		fail "lookup_bench failed: $out"
	fi
fi

# ---------------------------------------------------------------- memory

# rss_of NRULES REP: start socketbox with a generated configuration of NRULES rules and
# record VmRSS and VmHWM once it listens, and how long it took to start listening.
rss_of() {
	local n=$1 rep=$2 t0 t1 pid rss hwm
	next_port
	"$LOOKUP" -g "$n" "$W/mem-$n.conf" "$P" "$W/nobody-listens.sock"
	t0=$(date +%s%N)
	start "socketbox-mem-$n" "$SOCKETBOX" -f "$W/mem-$n.conf"
	pid=$PID
	if wait_tcp "$P"; then
		t1=$(date +%s%N)
		sleep 0.2
		rss=$(awk '/^VmRSS:/ { print $2 }' /proc/"$pid"/status)
		hwm=$(awk '/^VmHWM:/ { print $2 }' /proc/"$pid"/status)
		record memory memory "$n" 0 "$rep" "$rss" "$hwm" 0 "$(((t1 - t0) / 1000000))" 0 0 0 -
		printf '  memory   %6s rules rep %s: VmRSS %s KiB, VmHWM %s KiB, listening after %s ms\n' \
			"$n" "$rep" "$rss" "$hwm" "$(((t1 - t0) / 1000000))" >&2
	fi
	stop "$pid"
}

if want memory; then
	log "memory: socketbox resident set after loading 10 and 100,000 rules"
	for ((rep = 1; rep <= REPS; rep++)); do
		rss_of 10 "$rep"
		rss_of 100000 "$rep"
	done
fi

# ---------------------------------------------------------------- inetd vs xinetd

if want inetd "$XINETD"; then
	log "inetd: socketbox + socketbox-inetd /bin/echo ok vs xinetd running /bin/echo ok"
	# Both daemons run with the minimal environment a service manager gives (no LANG, so
	# echo skips loading a locale): the figure is then the daemons' own cost, not echo's.
	start inetd env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$SB_INETD" -s "$W/echo.sock" /bin/echo ok
	PID_INETD=$PID
	wait_unix "$W/echo.sock"
	next_port
	PORT_SBI=$P
	start socketbox-inetd "$SOCKETBOX" -l ::1 -p "$PORT_SBI" -S "$W/echo.sock"
	PID_SBI=$PID
	next_port
	PORT_XI=$P
	cat >"$W/xinetd.conf" <<EOF
defaults
{
	instances = UNLIMITED
	per_source = UNLIMITED
	cps = 0 0
	log_type = FILE $W/xinetd-service.log
	log_on_success =
	log_on_failure =
}
service sbbench
{
	type = UNLISTED
	id = sbbench
	socket_type = stream
	protocol = tcp
	wait = no
	user = root
	flags = IPv6
	bind = ::1
	port = $PORT_XI
	server = /bin/echo
	server_args = ok
	# as deep a listen queue as socketbox's (xinetd's default drops SYNs at 64 concurrent)
	backlog = 4096
	instances = UNLIMITED
	per_source = UNLIMITED
	cps = 0 0
}
EOF
	start xinetd env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$XINETD" -dontfork -f "$W/xinetd.conf" -pidfile "$W/xinetd.pid"
	PID_XI=$PID
	if wait_tcp "$PORT_SBI" && wait_tcp "$PORT_XI"; then
		run_pairs inetd -e "ok\n" -T 20000 -- \
			xinetd "$PORT_XI" "$PID_XI" -- \
			socketbox-inetd "$PORT_SBI" "$PID_SBI" "$PID_INETD"
	fi
	stop "$PID_SBI" "$PID_INETD" "$PID_XI"
fi

# ---------------------------------------------------------------- preload: nginx

# nginx_conf NAME PORT: a one-worker nginx serving a small static page on [::1]:PORT.
nginx_conf() {
	mkdir -p "$W/www" "$W/nginx-$1"
	cat >"$W/nginx-$1.conf" <<EOF
worker_processes 1;
daemon off;
master_process on;
pid $W/nginx-$1.pid;
error_log $W/nginx-$1.err warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $W/nginx-$1/body;
	proxy_temp_path $W/nginx-$1/proxy;
	fastcgi_temp_path $W/nginx-$1/fastcgi;
	uwsgi_temp_path $W/nginx-$1/uwsgi;
	scgi_temp_path $W/nginx-$1/scgi;
	types { text/html html; }
	server {
		listen [::1]:$2;
		root $W/www;
	}
}
EOF
}

if want preload "$NGINX"; then
	log "preload: nginx (1 worker) behind socketbox + libsocketbox-preload vs nginx listening directly"
	printf '<html><body>socketbox bench</body></html>\n' >"$W/www/index.html" 2>/dev/null ||
		{ mkdir -p "$W/www" && printf '<html><body>socketbox bench</body></html>\n' >"$W/www/index.html"; }
	chmod -R a+rX "$W/www"
	next_port
	PORT_ND=$P
	nginx_conf direct "$PORT_ND"
	start nginx-direct "$NGINX" -e "$W/nginx-direct.err" -p "$W/" -c "$W/nginx-direct.conf"
	PID_ND=$PID
	next_port
	PORT_NP=$P
	nginx_conf preload "$PORT_NP"
	# nginx binds [::1]:PORT_NP through the shim (no real socket); socketbox listens there.
	start nginx-preload "$SB_PRELOAD" -s "$W/web-%p.sock" -p "$PORT_NP" \
		"$NGINX" -e "$W/nginx-preload.err" -p "$W/" -c "$W/nginx-preload.conf"
	PID_NP=$PID
	if wait_unix "$W/web-$PORT_NP.sock"; then
		start socketbox-preload "$SOCKETBOX" -l ::1 -p "$PORT_NP" -S "$W/web-$PORT_NP.sock"
		PID_SBP=$PID
		if wait_tcp "$PORT_ND" && wait_tcp "$PORT_NP"; then
			run_pairs preload -r 'GET /index.html HTTP/1.0\r\n\r\n' -e 'HTTP/1.1 200' -T 10000 -- \
				nginx-direct "$PORT_ND" "$PID_ND" -- \
				nginx-preload "$PORT_NP" "$PID_SBP" "$PID_NP"
		fi
		stop "$PID_SBP"
	fi
	stop "$PID_ND" "$PID_NP"
fi

# ---------------------------------------------------------------- relay

# haproxy_conf NAME PORT BACKEND_PORT: haproxy as a user would run it for TCP: mode tcp,
# one process, one thread, defaults otherwise (no splicing).
haproxy_conf() {
	cat >"$W/haproxy-$1.cfg" <<EOF
global
	nbthread 1
	maxconn 8000
defaults
	mode tcp
	timeout connect 10s
	timeout client 60s
	timeout server 60s
frontend in
	bind [::1]:$2 backlog 4096
	default_backend out
backend out
	server backend [::1]:$3
EOF
}

# relay_paths NAME BACKEND_PORT BACKEND_PID: starts each relay in front of the backend.
# Sets SYSTEMS (run_pairs arguments: NAME PORT PIDS..., each PIDS ending with the
# backend's, separated by --), RELAY_PIDS, RELAY_PORTS, and PROBE_SB, PROBE_SOCAT ("PORT
# PIDS..." of socketbox-relay and socat).
relay_paths() {
	local name=$1 back=$2 bpid=$3 pid_relay
	SYSTEMS=()
	RELAY_PIDS=()
	RELAY_PORTS=()
	next_port
	start "socat-$name" "$SOCAT" "TCP6-LISTEN:$P,bind=[::1],fork,reuseaddr,backlog=4096" "TCP6:[::1]:$back"
	SYSTEMS+=(socat "$P" "$PID" "$bpid")
	PROBE_SOCAT="$P $PID $bpid"
	RELAY_PIDS+=("$PID")
	RELAY_PORTS+=("$P")
	if [[ -x $HAPROXY ]]; then
		next_port
		haproxy_conf "$name" "$P" "$back"
		start "haproxy-$name" "$HAPROXY" -db -f "$W/haproxy-$name.cfg"
		SYSTEMS+=(-- haproxy "$P" "$PID" "$bpid")
		RELAY_PIDS+=("$PID")
		RELAY_PORTS+=("$P")
	fi
	behind_acceptor socketbox-relay "$SOCKETBOX" relay "$SB_RELAY" -s "$W/relay-$name.sock" "[::1]:$back"
	PROBE_SB="$P ${SYSTEMS[*]: -3}"
	next_port
	start "relay-listen-$name" "$SB_RELAY" --listen "[::1]:$P" "[::1]:$back"
	SYSTEMS+=(-- socketbox-relay-listen "$P" "$PID" "$bpid")
	RELAY_PIDS+=("$PID")
	RELAY_PORTS+=("$P")
	if [[ -n $PEER_DIR ]]; then
		behind_acceptor original-relay "$PEER_SOCKETBOX" relay-original \
			"$PEER_RELAY" -s "$W/relay-original-$name.sock" -c ::1 -p "$back"
	fi
}

# behind_acceptor SYSTEM ACCEPTOR SOCKNAME RELAY_CMD...: for relay_paths (its name and
# bpid): starts RELAY_CMD, which listens on $W/SOCKNAME-$name.sock, and ACCEPTOR in front.
behind_acceptor() {
	local system=$1 acceptor=$2 sock="$W/$3-$name.sock" pid_relay
	shift 3
	start "$system-$name" "$@"
	pid_relay=$PID
	wait_unix "$sock"
	next_port
	start "$system-acceptor-$name" "$acceptor" -l ::1 -p "$P" -S "$sock"
	SYSTEMS+=(-- "$system" "$P" "$PID" "$pid_relay" "$bpid")
	RELAY_PIDS+=("$pid_relay" "$PID")
	RELAY_PORTS+=("$P")
}

# bulk_pairs FLOWS REP NAME PORT PIDS... [-- NAME PORT PIDS...]...: one bulk run each.
bulk_pairs() {
	local flows=$1 rep=$2 name port pids
	shift 2
	while (($#)); do
		name=$1 port=$2
		shift 2
		pids=()
		while (($#)) && [[ $1 != -- ]]; do
			pids+=("$1")
			shift
		done
		(($#)) && shift
		measure_bulk relay "$name" "$flows" "$rep" "$port" "${pids[@]}"
	done
}

if want relay "$SOCAT"; then
	log "relay: socketbox + socketbox-relay vs direct, socat$([[ -x $HAPROXY ]] && echo ", haproxy")${PEER_DIR:+, the original} (connections/s, bulk)"
	next_port
	PORT_BACK=$P # the backend: writes a line and closes
	start backend "$BENCHSRV" accept -l ::1 -p "$PORT_BACK"
	PID_BACK=$PID
	next_port
	PORT_SINK=$P # the bulk backend: reads until EOF
	start sink "$BENCHSRV" sink -l ::1 -p "$PORT_SINK"
	PID_SINK=$PID
	ports=("$PORT_BACK" "$PORT_SINK")
	relay_paths conn "$PORT_BACK" "$PID_BACK"
	CONN_SYSTEMS=("${SYSTEMS[@]}")
	PROBE_SB_CONN=$PROBE_SB
	PROBE_SOCAT_CONN=$PROBE_SOCAT
	ALL_PIDS=("${RELAY_PIDS[@]}")
	ports+=("${RELAY_PORTS[@]}")
	relay_paths bulk "$PORT_SINK" "$PID_SINK"
	BULK_SYSTEMS=("${SYSTEMS[@]}")
	ALL_PIDS+=("${RELAY_PIDS[@]}")
	ports+=("${RELAY_PORTS[@]}")
	ports_ok=1
	for port in "${ports[@]}"; do
		wait_tcp "$port" || ports_ok=
	done
	if [[ -n $ports_ok ]]; then
		run_pairs relay -e "ok\n" -T 20000 -- direct "$PORT_BACK" "$PID_BACK" -- \
			"${CONN_SYSTEMS[@]}"
		# A regression probe: a client that sends nothing and keeps its side open while the
		# backend speaks first (as for SSH or SMTP), through each relay. Until d50b8c0,
		# socketbox-relay spliced from the client socket in blocking mode and such a client
		# stalled the whole relay. Correctness, not speed: a stalled relay never answers, so
		# the timeout is only a cap.
		for probe in "socketbox-relay $PROBE_SB_CONN" "socat $PROBE_SOCAT_CONN"; do
			# shellcheck disable=SC2086 # NAME PORT PIDS..., one per word
			set -- $probe
			name=$1 port=$2
			shift 2
			measure relay-probe "$name" 4 1 "$@" -- -c 4 -n 4 -e "ok\n" -T 30000 ::1 "$port"
		done
		for ((rep = 1; rep <= REPS; rep++)); do
			for flows in 1 2; do
				bulk_pairs "$flows" "$rep" direct "$PORT_SINK" "$PID_SINK" -- "${BULK_SYSTEMS[@]}"
			done
		done
	fi
	stop "${ALL_PIDS[@]}" "$PID_BACK" "$PID_SINK"
fi

# ---------------------------------------------------------------- the table

for f in "$W"/*.log; do
	[[ -s $f ]] || continue
	if grep -qiE 'fatal|emerg|AddressSanitizer|runtime error' "$f"; then
		fail "${f##*/} reports a problem: $(grep -iE 'fatal|emerg|AddressSanitizer|runtime error' "$f" | head -3)"
	fi
done

machine="$(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), Linux $(uname -r)"
python3 "$HERE/report.py" "$RESULTS" --machine "$machine" --reps "$REPS" --secs "$SECS" \
	--bulk "$BULK" --only "$ONLY" --svg "${SB_BENCH_SVG:-$W/results.svg}" ${SMOKE:+--smoke} ||
	fail "the report failed"
if ((ERRORS)); then
	echo "bench: $ERRORS error(s); see above" >&2
	exit 1
fi
exit 0
