# shellcheck shell=bash
# tests/integration/lib.sh — shared helpers for the network-namespace integration tests.
#
# Every integration script sources this file, then calls tb_require_root first and
# tb_setup next:
#
#     . "$(dirname "$0")/lib.sh"
#     tb_require_root
#     tb_setup
#     tb_bg "$TB_APP1" "$SB_INETD" -s "$TB_DIR/app1.sock" -m 0666 /bin/echo hi
#     ...
#
# Sourcing turns on `set -euo pipefail`. Exit status: 0 pass, 77 skip, anything else fail.
#
# The reference test bed (DESIGN.md §7), all names unique to this run:
#
#   $TB_CLIENT  --veth sb0--  $TB_SERVER          $TB_APP1, $TB_APP2 (only lo, up)
#   fd00:5b::2/64             fd00:5b::1/64
#   10.213.0.2/30             10.213.0.1/30
#
#   client: 2001:db8::/32 via fd00:5b::1, 198.51.100.0/24 via 10.213.0.1
#   server: local 2001:db8::/32 dev lo, local 198.51.100.0/24 dev lo, and nftables TPROXY of
#           every TCP connection to those prefixes onto port $TB_PORT (default 1), so one
#           transparent dual-stack listener on [::]:$TB_PORT gets them all; IPv4 clients
#           arrive as ::ffff:198.51.100.x.

set -euo pipefail

SB_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SOCKETBOX=$SB_TOP/build/socketbox
SB_INETD=$SB_TOP/build/socketbox-inetd
SB_RELAY=$SB_TOP/build/socketbox-relay
SB_PRELOAD=$SB_TOP/build/socketbox-preload
SB_PRELOAD_LIB=$SB_TOP/build/libsocketbox-preload.so
PYTHON=/usr/bin/python3
export SB_TOP SOCKETBOX SB_INETD SB_RELAY SB_PRELOAD SB_PRELOAD_LIB
SB_SOCKD=$SB_TOP/build/socketbox-sockd
export SB_SOCKD

: "${TB_PORT:=1}"

# Addresses of the test bed, for tests that need them.
TB_SERVER_IP6=fd00:5b::1
TB_CLIENT_IP6=fd00:5b::2
TB_SERVER_IP4=10.213.0.1
TB_CLIENT_IP4=10.213.0.2
TB_PREFIX6=2001:db8::/32
TB_PREFIX4=198.51.100.0/24

TB_ID=
TB_CLIENT=
TB_SERVER=
TB_APP1=
TB_APP2=
TB_DIR=
TB_BG_PID=
TB_BG_LOG=
TB_PIDS=()
TB_NETNS=()
_TB_BG_N=0

# How long every wait for an event below (a socket, a listener, a log line, an answer, a
# process's end) gives up after, in seconds. Generous on purpose: on a slow or busy machine
# things take longer, and a cap only makes a failing run slower, never a passing one.
: "${TB_WAIT:=30}"

# ---------------------------------------------------------------- messages, assertions

# tb_log MSG...: a progress line on stderr (lands in the test's log).
tb_log() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
}

# tb_fail MSG...: print "FAIL: MSG" and end the test with status 1.
tb_fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

# tb_skip MSG...: print "SKIP: MSG" and end the test with status 77.
tb_skip() {
	printf 'SKIP: %s\n' "$*"
	exit 77
}

# tb_assert_eq EXPECTED ACTUAL WHAT
tb_assert_eq() {
	if [[ $# -ne 3 ]]; then
		tb_fail "tb_assert_eq needs EXPECTED ACTUAL WHAT, got $# arguments"
	fi
	if [[ "$1" != "$2" ]]; then
		tb_fail "$3: expected '$1', got '$2'"
	fi
	tb_log "ok: $3 = '$2'"
}

# tb_norm_addr ADDR: print ADDR in canonical text form (brackets stripped, IPv6
# compressed as inet_ntop does, e.g. "[2001:0db8:0:0::1]" -> "2001:db8::1",
# "::ffff:c633:6407" -> "::ffff:198.51.100.7"), so tests can compare addresses as text.
tb_norm_addr() {
	"$PYTHON" -c '
import socket, sys
a = sys.argv[1].strip().strip("[]")
f = socket.AF_INET6 if ":" in a else socket.AF_INET
print(socket.inet_ntop(f, socket.inet_pton(f, a)))' "$1"
}

# tb_require_exec FILE...: fail (not skip) when a program the test needs is not built.
tb_require_exec() {
	local f
	for f in "$@"; do
		[[ -x "$f" ]] || tb_fail "$f is missing or not executable (run make first)"
	done
}

# ---------------------------------------------------------------- preconditions

# tb_require_root: skip (exit 77) unless we are root and network namespaces, veth pairs and
# nftables TPROXY all work here.
tb_require_root() {
	local c probe
	if [[ $(id -u) -ne 0 ]]; then
		tb_skip "integration tests need root (network namespaces)"
	fi
	for c in ip nft ss socat timeout; do
		command -v "$c" >/dev/null 2>&1 || tb_skip "'$c' is not installed"
	done
	[[ -x $PYTHON ]] || tb_skip "$PYTHON is not installed"

	probe="sbtp$$"
	if ! ip netns add "$probe" 2>/dev/null; then
		tb_skip "'ip netns add' does not work here"
	fi
	local why=
	if ! ip netns exec "$probe" true 2>/dev/null; then
		why="'ip netns exec' does not work here"
	elif ! ip -n "$probe" link add sbp0 type veth peer name sbp1 2>/dev/null; then
		why="cannot create veth pairs"
	elif ! printf '%s\n' 'table ip6 sbprobe {' \
		'chain pre {' \
		'type filter hook prerouting priority mangle;' \
		'ip6 daddr 2001:db8::/32 meta l4proto tcp tproxy to :1' \
		'}' '}' | ip netns exec "$probe" nft -f - 2>/dev/null; then
		why="nftables tproxy is not available (kernel nft_tproxy module?)"
	fi
	ip netns del "$probe" 2>/dev/null || true
	[[ -z $why ]] || tb_skip "$why"
}

# ---------------------------------------------------------------- processes

# tb_in NS CMD [ARG...]: run a command in a namespace, in the foreground.
tb_in() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# tb_bg NS CMD [ARG...]: start a command in namespace NS in the background (in its own
# session, so tb_cleanup can kill it together with its children). Output goes to a log in
# $TB_DIR. Sets TB_BG_PID and TB_BG_LOG (do not call it in $(...): the PID would be lost).
tb_bg() {
	local ns=$1
	shift
	[[ -n $TB_DIR ]] || tb_fail "tb_bg called before tb_setup"
	_TB_BG_N=$((_TB_BG_N + 1))
	TB_BG_LOG="$TB_DIR/bg$_TB_BG_N-${1##*/}.log"
	# A background job of a non-interactive shell is not a process-group leader, so setsid
	# does not fork: $! is the PID of the command itself (ip netns exec execs it too).
	setsid ip netns exec "$ns" "$@" </dev/null >"$TB_BG_LOG" 2>&1 &
	TB_BG_PID=$!
	TB_PIDS+=("$TB_BG_PID")
	tb_log "started [$TB_BG_PID] in $ns: $* (log ${TB_BG_LOG##*/})"
}

# tb_kill PID [SIGNAL]: signal one process started by tb_bg, with its process group.
# With the default TERM (or KILL) it also waits (up to $TB_WAIT s) for the process to end.
tb_kill() {
	local pid=$1 sig=${2:-TERM}
	kill -s "$sig" -- "-$pid" 2>/dev/null || kill -s "$sig" "$pid" 2>/dev/null || true
	if [[ $sig == TERM || $sig == KILL ]]; then
		tb_until "$TB_WAIT" _tb_gone "$pid" || true
		wait "$pid" 2>/dev/null || true
	fi
}

_tb_gone() {
	! kill -0 "$1" 2>/dev/null
}

# tb_alive PID: true while a process started by tb_bg still runs.
tb_alive() {
	local state
	kill -0 "$1" 2>/dev/null || return 1
	# a zombie (exited, not reaped yet) counts as gone
	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ $state != Z ]]
}

# ---------------------------------------------------------------- waiting

# tb_until SECONDS CMD [ARG...]: run CMD every 0.1 s until it succeeds (status 0) or
# SECONDS have passed; status 0 when it succeeded, 1 when time ran out. For a wait of a
# test's own; the tb_wait_* helpers below fail the test instead.
tb_until() {
	local end=$((SECONDS + $1))
	shift
	while :; do
		"$@" && return 0
		((SECONDS < end)) || return 1
		sleep 0.1
	done
}

_tb_socket_there() {
	if [[ $1 == @* ]]; then
		ip netns exec "$2" ss -Hxa 2>/dev/null | grep -qF -- " $1 "
	else
		[[ -S $1 ]]
	fi
}

# tb_wait_socket PATH [NS]: wait up to $TB_WAIT s until the UNIX socket PATH exists. An
# abstract name "@name" is looked up in namespace NS (default $TB_APP1) with ss.
tb_wait_socket() {
	tb_until "$TB_WAIT" _tb_socket_there "$1" "${2:-$TB_APP1}" ||
		tb_fail "socket $1 did not appear within $TB_WAIT s"
}

_tb_listening() {
	[[ -n $(ip netns exec "$1" ss -Hltn "sport = :$2" 2>/dev/null) ]]
}

# tb_wait_listen NS PORT: wait up to $TB_WAIT s until a TCP socket listens on PORT in NS.
tb_wait_listen() {
	tb_until "$TB_WAIT" _tb_listening "$1" "$2" ||
		tb_fail "nothing listens on TCP port $2 in $1 after $TB_WAIT s"
}

# ---------------------------------------------------------------- client side

# _tb_socat_addr ADDR PORT: socat address for a TCP connection to ADDR:PORT.
_tb_socat_addr() {
	if [[ $1 == *:* ]]; then
		printf 'TCP6:[%s]:%s,connect-timeout=%s' "$1" "$2" "$TB_WAIT"
	else
		printf 'TCP4:%s:%s,connect-timeout=%s' "$1" "$2" "$TB_WAIT"
	fi
}

# tb_client_get ADDR PORT: connect from $TB_CLIENT, send nothing, print everything the
# server sends until it closes (at most $TB_WAIT s). Returns non-zero when the connection
# fails.
tb_client_get() {
	ip netns exec "$TB_CLIENT" timeout "$TB_WAIT" socat -u "$(_tb_socat_addr "$1" "$2")" STDOUT
}

# tb_client_send ADDR PORT DATA: connect from $TB_CLIENT, send DATA (printf %s, then a
# half-close), print everything the server sends until it closes (at most $TB_WAIT s).
tb_client_send() {
	printf '%s' "$3" |
		ip netns exec "$TB_CLIENT" timeout "$TB_WAIT" socat -t "$TB_WAIT" - \
			"$(_tb_socat_addr "$1" "$2")"
}

# tb_client_probe ADDR PORT: connect from $TB_CLIENT, send nothing, and print what happened,
# one word: "refused" (no handshake), "reset" (RST without data), "eof" (clean close without
# data), "data" (the server sent something), "timeout" ($TB_WAIT s, nothing),
# "error:<text>".
tb_client_probe() {
	ip netns exec "$TB_CLIENT" "$PYTHON" - "$1" "$2" "$TB_WAIT" <<'EOF'
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(float(sys.argv[3]))
try:
    s.connect((host, port))
except ConnectionRefusedError:
    print("refused"); sys.exit(0)
except ConnectionResetError:
    # The handshake completed but the RST came before connect() returned.
    print("reset"); sys.exit(0)
except socket.timeout:
    print("timeout"); sys.exit(0)
except OSError as e:
    print("error:%s" % e); sys.exit(0)
try:
    d = s.recv(4096)
    print("data" if d else "eof")
except ConnectionResetError:
    print("reset")
except socket.timeout:
    print("timeout")
except OSError as e:
    print("error:%s" % e)
EOF
}

# tb_client_reset ADDR PORT: true when a connection from $TB_CLIENT is reset or refused
# without receiving any data.
tb_client_reset() {
	local r
	r=$(tb_client_probe "$1" "$2") || return 2
	tb_log "connection to $1 port $2: $r"
	[[ $r == reset || $r == refused ]]
}

# tb_burst_expire APPLET_PID SBLOG SOCK ADDR N: freeze the applet APPLET_PID, open N
# connections to ADDR port 80 at once from $TB_CLIENT (helpers/burst_client.py, answer "ok"),
# wait until the acceptor's log SBLOG says queued connections for SOCK expired (its target's
# queue_timeout must be 1), thaw the applet and wait for the clients. Sets TB_BURST_OK and
# TB_BURST_RESET; fails unless each client was answered or reset and some were reset.
tb_burst_expire() {
	local line burst
	kill -STOP "$1"
	tb_in "$TB_CLIENT" "$PYTHON" "$SB_TOP/tests/integration/helpers/burst_client.py" \
		"$4" 80 "$5" ok 120 >"$TB_DIR/burst.out" 2>&1 &
	burst=$!
	tb_wait_log "$2" "connections that waited 1000 ms or more for $3"
	kill -CONT "$1"
	wait "$burst" || true
	line=$(grep '^burst: count=' "$TB_DIR/burst.out") || tb_fail "no result from the clients"
	tb_log "$line"
	TB_BURST_OK=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<<"$line")
	TB_BURST_RESET=$(sed -n 's/.* reset=\([0-9]*\).*/\1/p' <<<"$line")
	tb_assert_eq "$5" "$((TB_BURST_OK + TB_BURST_RESET))" "connections answered or reset"
	((TB_BURST_RESET > 0)) || tb_fail "no connection expired"
}

# tb_burst_assert LINE N [OK_WHAT [WHO]]: check the result line of helpers/burst_client.py
# ("burst: count=... ok=... other=... eof=... reset=... refused=... error=... timeout=...")
# with tb_assert_eq: ok must be N (asserted as OK_WHAT, default 'connections answered "ok"')
# and every other category 0 (asserted as "WHO ending as CATEGORY", WHO default
# "connections").
tb_burst_assert() {
	local line=$1 n=$2 ok_what=${3:-'connections answered "ok"'} who=${4:-connections} k v
	for k in ok other eof reset refused error timeout; do
		v=$(sed -n "s/.* $k=\([0-9]*\).*/\1/p" <<<"$line")
		if [[ $k == ok ]]; then
			tb_assert_eq "$n" "$v" "$ok_what"
		else
			tb_assert_eq 0 "$v" "$who ending as $k"
		fi
	done
}

# tb_wait_log FILE TEXT [SECONDS]: wait up to SECONDS (at least and by default $TB_WAIT)
# until FILE has a line containing TEXT (fixed string).
tb_wait_log() {
	local secs=${3:-$TB_WAIT}
	((secs >= TB_WAIT)) || secs=$TB_WAIT
	tb_until "$secs" grep -qF -- "$2" "$1" ||
		tb_fail "no line with '$2' in ${1##*/} within $secs s"
}

_tb_count_at_least() {
	(($(grep -c -- "$2" "$1" 2>/dev/null) >= $3))
}

# tb_wait_count FILE REGEX N [WHAT]: wait up to $TB_WAIT s until FILE has at least N lines
# matching REGEX (grep's basic regex); WHAT names them in the failure message.
tb_wait_count() {
	tb_until "$TB_WAIT" _tb_count_at_least "$1" "$2" "$3" ||
		tb_fail "${4:-lines matching '$2'}: fewer than $3 in ${1##*/} within $TB_WAIT s" \
			"(got $(grep -c -- "$2" "$1" 2>/dev/null))"
}

_tb_fds_are() {
	(($(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l) == $2))
}

# tb_wait_fds PID N WHAT: wait up to $TB_WAIT s until process PID holds N descriptors (a
# connection's are closed a little after its peer saw the end), then assert it as WHAT.
tb_wait_fds() {
	tb_until "$TB_WAIT" _tb_fds_are "$1" "$2" || true
	tb_assert_eq "$2" "$(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)" "$3"
}

# tb_counters PID LOG: ask the acceptor PID for its counters (SIGUSR1), wait for the new
# "counters:" line in its LOG (earlier ones do not count) and print it. Call it as
# line=$(tb_counters ...): a failure ends the test.
tb_counters() {
	local n
	n=$(grep -c 'counters:' "$2" 2>/dev/null) || true
	kill -USR1 "$1"
	tb_wait_count "$2" 'counters:' $((n + 1)) "counters lines after SIGUSR1"
	grep 'counters:' "$2" | tail -n 1
}

# ---------------------------------------------------------------- servers

# tb_nginx_conf WORKERS CONNECTIONS ERROR_LEVEL [DIRECTIVE...] <HTTP_BODY: write
# $TB_DIR/nginx.conf for nginx started with `-p "$TB_DIR/" -c "$TB_DIR/nginx.conf"`: in the
# foreground (daemon off, with a master process), WORKERS worker processes, CONNECTIONS
# worker_connections, pid file $TB_DIR/nginx.pid, error log $TB_DIR/error.log at
# ERROR_LEVEL, each DIRECTIVE (e.g. 'user nobody nogroup;') on a line of its own in the main
# context, and an http block with every temporary path under $TB_DIR/tmp (created here)
# followed by HTTP_BODY from stdin (log_format, access_log, types, server...).
tb_nginx_conf() {
	local workers=$1 connections=$2 level=$3 body
	shift 3
	[[ -n $TB_DIR ]] || tb_fail "tb_nginx_conf called before tb_setup"
	body=$(cat)
	mkdir -p "$TB_DIR/tmp"
	{
		if (($#)); then
			printf '%s\n' "$@"
		fi
		cat <<CONF
worker_processes $workers;
daemon off;
master_process on;
pid $TB_DIR/nginx.pid;
error_log $TB_DIR/error.log $level;
events { worker_connections $connections; }
http {
    client_body_temp_path $TB_DIR/tmp/body;
    proxy_temp_path $TB_DIR/tmp/proxy;
    fastcgi_temp_path $TB_DIR/tmp/fastcgi;
    uwsgi_temp_path $TB_DIR/tmp/uwsgi;
    scgi_temp_path $TB_DIR/tmp/scgi;
$body
}
CONF
	} >"$TB_DIR/nginx.conf"
}

# ---------------------------------------------------------------- test bed

_tb_run() {
	local out
	if ! out=$("$@" 2>&1); then
		tb_fail "test bed setup: '$*' failed: $out"
	fi
}

_tb_pick_id() {
	local id s
	for s in "" a b c d e f g h i j k l m n o p q r s t u v w x y z; do
		id="sbt$$$s"
		if [[ ! -e /run/netns/${id}c && ! -e /run/netns/${id}s &&
			! -e /run/netns/${id}a1 && ! -e /run/netns/${id}a2 ]]; then
			TB_ID=$id
			return 0
		fi
	done
	tb_fail "no free test bed name sbt$$*: delete the leftovers (ip netns list)"
}

_tb_netns_add() {
	_tb_run ip netns add "$1"
	TB_NETNS+=("$1")
	_tb_run ip -n "$1" link set lo up
	# addresses must be usable at once, and no link gets a tentative address
	_tb_run ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0
}

_tb_carrier() {
	ip -n "$TB_CLIENT" -o link show sb0 | grep -q 'state UP' &&
		ip -n "$TB_SERVER" -o link show sb0 | grep -q 'state UP'
}

# tb_setup: build the reference test bed (see the top of this file), register tb_cleanup
# on EXIT, create $TB_DIR (mode 0755). Sets TB_ID TB_CLIENT TB_SERVER TB_APP1 TB_APP2 TB_DIR.
tb_setup() {
	[[ -z $TB_DIR ]] || tb_fail "tb_setup called twice"
	trap tb_cleanup EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM

	TB_DIR=$(mktemp -d /tmp/socketbox-test.XXXXXX) || tb_fail "mktemp -d failed"
	chmod 0755 "$TB_DIR"

	_tb_pick_id
	TB_CLIENT=${TB_ID}c
	TB_SERVER=${TB_ID}s
	TB_APP1=${TB_ID}a1
	TB_APP2=${TB_ID}a2
	local ns
	for ns in "$TB_CLIENT" "$TB_SERVER" "$TB_APP1" "$TB_APP2"; do
		_tb_netns_add "$ns"
	done

	# The veth pair is created inside the namespaces, so its names never clash with
	# another run's.
	_tb_run ip -n "$TB_CLIENT" link add sb0 type veth peer name sb0 netns "$TB_SERVER"

	_tb_run ip -n "$TB_SERVER" addr add "$TB_SERVER_IP6/64" dev sb0 nodad
	_tb_run ip -n "$TB_SERVER" addr add "$TB_SERVER_IP4/30" dev sb0
	_tb_run ip -n "$TB_SERVER" link set sb0 up
	_tb_run ip -n "$TB_SERVER" -6 route add local "$TB_PREFIX6" dev lo
	_tb_run ip -n "$TB_SERVER" -4 route add local "$TB_PREFIX4" dev lo

	_tb_run ip -n "$TB_CLIENT" addr add "$TB_CLIENT_IP6/64" dev sb0 nodad
	_tb_run ip -n "$TB_CLIENT" addr add "$TB_CLIENT_IP4/30" dev sb0
	_tb_run ip -n "$TB_CLIENT" link set sb0 up
	_tb_run ip -n "$TB_CLIENT" -6 route add "$TB_PREFIX6" via "$TB_SERVER_IP6" dev sb0
	_tb_run ip -n "$TB_CLIENT" -4 route add "$TB_PREFIX4" via "$TB_SERVER_IP4" dev sb0

	cat >"$TB_DIR/tproxy.nft" <<EOF
table ip6 sb {
	chain pre {
		type filter hook prerouting priority mangle;
		ip6 daddr $TB_PREFIX6 meta l4proto tcp tproxy to :$TB_PORT
	}
}
table ip sb {
	chain pre {
		type filter hook prerouting priority mangle;
		ip daddr $TB_PREFIX4 meta l4proto tcp tproxy to :$TB_PORT
	}
}
EOF
	_tb_run ip netns exec "$TB_SERVER" nft -f "$TB_DIR/tproxy.nft"

	# wait for the veth carrier on both sides
	tb_until "$TB_WAIT" _tb_carrier || tb_fail "test bed setup: no carrier on sb0 within $TB_WAIT s"
	tb_log "test bed $TB_ID ready: client $TB_CLIENT, server $TB_SERVER," \
		"applets $TB_APP1 $TB_APP2, port $TB_PORT, dir $TB_DIR"
}

# tb_netns NAME: one more namespace for a test that builds a topology of its own beside the
# reference test bed (call it after tb_setup, with a name that starts with $TB_ID so it never
# clashes with another run's): lo up, no duplicate address detection, deleted by tb_cleanup
# with everything still running inside it.
tb_netns() {
	[[ -n $TB_ID && $1 == "$TB_ID"* ]] || tb_fail "tb_netns: '$1' does not start with \$TB_ID"
	_tb_netns_add "$1"
}

_tb_link_up() {
	ip -n "$1" -o link show "$2" | grep -q 'state UP' &&
		ip -n "$3" -o link show "$4" | grep -q 'state UP'
}

# tb_veth NS1 IF1 ADDR1/LEN NS2 IF2 ADDR2/LEN: a veth pair from interface IF1 in NS1 to IF2
# in NS2, each end with its address (usable at once) and up; waits up to $TB_WAIT s for the
# carrier on both ends.
tb_veth() {
	_tb_run ip -n "$1" link add "$2" type veth peer name "$5" netns "$4"
	_tb_run ip -n "$1" addr add "$3" dev "$2" nodad
	_tb_run ip -n "$4" addr add "$6" dev "$5" nodad
	_tb_run ip -n "$1" link set "$2" up
	_tb_run ip -n "$4" link set "$5" up
	tb_until "$TB_WAIT" _tb_link_up "$1" "$2" "$4" "$5" ||
		tb_fail "no carrier on $1:$2 - $4:$5 within $TB_WAIT s"
}

# tb_cleanup: registered on EXIT by tb_setup. Kills every process started by tb_bg (and
# anything else left inside the test bed's namespaces), deletes the namespaces and $TB_DIR.
# On failure it first prints the tail of every background log.
tb_cleanup() {
	local rc=$? pid ns f i any
	trap - EXIT HUP INT TERM
	set +e

	if [[ $rc -ne 0 && $rc -ne 77 && -n $TB_DIR && -d $TB_DIR ]]; then
		for f in "$TB_DIR"/bg*.log; do
			[[ -e $f ]] || continue
			printf -- '--- %s (last 30 lines) ---\n' "${f##*/}" >&2
			tail -n 30 "$f" >&2
		done
	fi

	for pid in "${TB_PIDS[@]}"; do
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
	done
	for ((i = 0; i < 30; i++)); do
		any=
		for pid in "${TB_PIDS[@]}"; do
			tb_alive "$pid" && any=1
		done
		[[ -n $any ]] || break
		sleep 0.1
	done
	for pid in "${TB_PIDS[@]}"; do
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
	done
	# whatever still runs inside our namespaces was started by this test
	for ns in "${TB_NETNS[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
	done
	wait 2>/dev/null

	for ns in "${TB_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	if [[ -n $TB_DIR && -d $TB_DIR ]]; then
		rm -rf -- "$TB_DIR"
	fi
	exit "$rc"
}
