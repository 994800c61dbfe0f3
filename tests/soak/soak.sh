#!/bin/bash
# tests/soak/soak.sh TOTAL EVERY — a soak of the hand-off path (issue 7, item 4).
#
#     make soak      # bash tests/soak/soak.sh 1000000 100000
#     make soak-ci   # bash tests/soak/soak.sh 50000 10000
#
# TOTAL connections flow from the client namespace through socketbox (transparent listener,
# one rule) to tests/soak/line_applet.c (a minimal fd-receiving applet built against the
# core: receive, write "ok", close; no fork) in an applet namespace of the reference test
# bed (tests/integration/lib.sh). The load is tests/integration/helpers/burst_client.py in
# flow mode: $SOAK_CONCURRENCY (default 32) connections open at once, spread over 256
# destination addresses so no address/port 4-tuple comes back too soon.
#
# After every EVERY connections the descriptor count (/proc/PID/fd), the resident set size
# (VmRSS) and its anonymous part (RssAnon: the heap and stacks, where a leak would show;
# the rest is shared library pages the kernel may drop and fault in again) of the acceptor
# and of the applet are sampled and printed as a table row. It asserts:
#   - every connection of every chunk is answered "ok" (nothing reset, refused, timed out);
#   - both processes are still alive;
#   - flat: after warm-up (the first sample), the last sample's descriptor counts equal the
#     first's, and each RSS and RssAnon grew by at most max($SOAK_RSS_TOLERANCE_KB KiB, 2 %)
#     (default 512 KiB);
#   - the acceptor's counters (SIGUSR1): accepted = handed = TOTAL, nothing waits, nothing
#     reset, no accept error.
# Exit status: 0 pass, 1 fail, 77 skip (not root, no namespaces); with
# SOCKETBOX_REQUIRE_NETNS=1 a skip is a failure.

# shellcheck source-path=SCRIPTDIR source=../integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
# shellcheck source=../integration/helpers/core_cc.sh
. "$SB_TOP/tests/integration/helpers/core_cc.sh"

if [[ ${SOCKETBOX_REQUIRE_NETNS:-0} == 1 ]]; then
	tb_skip() {
		printf 'FAIL: %s (SOCKETBOX_REQUIRE_NETNS=1 makes a skip a failure)\n' "$*" >&2
		exit 1
	}
fi

TOTAL=${1:-50000}
EVERY=${2:-10000}
CONCURRENCY=${SOAK_CONCURRENCY:-32}
RSS_TOLERANCE_KB=${SOAK_RSS_TOLERANCE_KB:-512}
[[ $TOTAL =~ ^[0-9]+$ && $EVERY =~ ^[0-9]+$ && $EVERY -gt 0 && $TOTAL -ge $((2 * EVERY)) ]] ||
	tb_fail "usage: soak.sh TOTAL EVERY (TOTAL at least twice EVERY)"
((TOTAL % EVERY == 0)) || tb_fail "TOTAL ($TOTAL) must be a multiple of EVERY ($EVERY)"

tb_require_root
command -v cc >/dev/null 2>&1 || tb_skip "no C compiler (cc)"
tb_require_exec "$SOCKETBOX"
tb_setup

BURST=$SB_TOP/tests/integration/helpers/burst_client.py
APPLET=$TB_DIR/line_applet
core_cc "$APPLET" "$SB_TOP/tests/soak/line_applet.c" || tb_fail "cannot compile tests/soak/line_applet.c"

# The client never needs more than CONCURRENCY sockets, but lots of ports over time.
tb_in "$TB_CLIENT" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; backlog = 4096; };
# Every connection must be served however slow the machine: no queue timeout.
queue_timeout = 0;
targets = { app = { path = "$TB_DIR/app.sock"; }; };
rules = ( { local = "2001:db8::/32"; local_port = 80; target = "app"; } );
CONF

tb_bg "$TB_APP1" "$APPLET" "$TB_DIR/app.sock" ok
APP_PID=$TB_BG_PID
tb_wait_socket "$TB_DIR/app.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
SB_PID=$TB_BG_PID
SB_LOG=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"
tb_wait_log "$SB_LOG" "ready:"

out=$(tb_client_get 2001:db8::1 80) || tb_fail "a single connection failed: '$out'"
tb_assert_eq ok "$out" "a single connection's answer"

fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
anon() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status"; }

chunks=$((TOTAL / EVERY))
# a chunk may take at most this long: a cap that only a failing run reaches (100
# connections/s, plus a minute, would be very slow even for a busy 2-core machine)
chunk_timeout=$((EVERY / 100 + 60))
samples=()
ROW='%11s %7s %7s | %4s %8s %9s | %4s %8s %9s\n'
# shellcheck disable=SC2059
header=$(printf '%28s| %-24s| %s\n' "" socketbox applet
	printf "$ROW" connections seconds conn/s fds "RSS KiB" "anon KiB" fds "RSS KiB" "anon KiB")
echo "soak: $TOTAL connections, sampled every $EVERY, $CONCURRENCY at once"
echo "$header"
# shellcheck disable=SC2059
printf "${ROW%\\n}   (start: not a sample)\\n" 1 - - "$(fds "$SB_PID")" "$(rss "$SB_PID")" \
	"$(anon "$SB_PID")" "$(fds "$APP_PID")" "$(rss "$APP_PID")" "$(anon "$APP_PID")"
start=$SECONDS
for ((c = 1; c <= chunks; c++)); do
	set +e
	result=$(tb_in "$TB_CLIENT" timeout -k 5 $((chunk_timeout + 10)) "$PYTHON" "$BURST" \
		--concurrency "$CONCURRENCY" --spread 256 2001:db8::1:0 80 "$EVERY" ok "$chunk_timeout")
	rc=$?
	set -e
	line=$(grep '^burst: count=' <<<"$result") ||
		tb_fail "chunk $c: the client printed no result (status $rc)"
	ok=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<<"$line")
	secs=$(sed -n 's/.* seconds=\([0-9.]*\).*/\1/p' <<<"$line")
	if [[ $rc -ne 0 || $ok != "$EVERY" ]]; then
		printf '%s\n' "$result" >&2
		tb_fail "chunk $c: $ok of $EVERY connections answered ok (client status $rc)"
	fi
	tb_alive "$SB_PID" || tb_fail "the acceptor died in chunk $c"
	tb_alive "$APP_PID" || tb_fail "the applet died in chunk $c"
	row="$((c * EVERY)) $secs $(fds "$SB_PID") $(rss "$SB_PID") $(anon "$SB_PID")"
	row+=" $(fds "$APP_PID") $(rss "$APP_PID") $(anon "$APP_PID")"
	samples+=("$row")
	# shellcheck disable=SC2086
	set -- $row
	# shellcheck disable=SC2059
	printf "$ROW" "$1" "$2" \
		"$(awk -v n="$EVERY" -v s="$2" 'BEGIN { if (s > 0) printf "%d", n / s; else print 0 }')" \
		"$3" "$4" "$5" "$6" "$7" "$8"
done
elapsed=$((SECONDS - start))
echo "soak: $TOTAL connections in ${elapsed}s"

# ---------------------------------------------------------------- flat?

# shellcheck disable=SC2206
first=(${samples[0]})
# shellcheck disable=SC2206
last=(${samples[-1]})
check_flat() { # WHAT FIRST LAST KIND
	local what=$1 a=$2 b=$3 kind=$4 allow
	if [[ $kind == fds ]]; then
		((b == a)) || tb_fail "$what is not flat: $a after warm-up, $b at the end"
		tb_log "ok: $what flat ($a -> $b)"
	else
		allow=$((a / 50))
		((allow >= RSS_TOLERANCE_KB)) || allow=$RSS_TOLERANCE_KB
		((b - a <= allow)) ||
			tb_fail "$what grew: $a KiB after warm-up, $b KiB at the end (more than $allow KiB)"
		tb_log "ok: $what flat ($a -> $b KiB, tolerance $allow KiB)"
	fi
}
check_flat "acceptor descriptors" "${first[2]}" "${last[2]}" fds
check_flat "acceptor RSS" "${first[3]}" "${last[3]}" rss
check_flat "acceptor RssAnon" "${first[4]}" "${last[4]}" rss
check_flat "applet descriptors" "${first[5]}" "${last[5]}" fds
check_flat "applet RSS" "${first[6]}" "${last[6]}" rss
check_flat "applet RssAnon" "${first[7]}" "${last[7]}" rss

# ---------------------------------------------------------------- the acceptor agrees

kill -USR1 "$SB_PID"
tb_wait_log "$SB_LOG" "counters:"
counters=$(grep 'counters:' "$SB_LOG" | tail -n 1)
tb_log "$counters"
n=$((TOTAL + 1))
for want in "accepted $n," "handed $n," "waiting 0," "reset queue-full 0," \
	"reset no-applet 0," "rejected 0," "dropped 0," "accept errors 0,"; do
	[[ $counters == *"$want"* ]] || tb_fail "acceptor counters lack '$want': $counters"
done
echo "PASS: $TOTAL connections served; descriptors and RSS of acceptor and applet flat"
