#!/bin/bash
# Relay: --idle-timeout closes idle connections, and only those, with a log line.
# socketbox-relay --idle-timeout 2 runs in $TB_APP1 and relays to an echo server
# (helpers/relay_echo.c) on 127.0.0.1:7 there.
#
# 1. Ten clients connect 0.1 s apart (over a whole second, so a timeout measured in whole
#    seconds of a coarse clock cannot go unnoticed), each sends "hi\n", gets it echoed and
#    then stays silent. Asserted: each gets its 3 bytes back, then is closed (reset or EOF)
#    by the relay, no earlier than 2 s (- 0.05 s) after the last byte it sent; the relay
#    logs "idle timeout for a connection to 127.0.0.1:7" ten times.
# 2. At the same time a client sends "ping\n" every 0.5 s for 5 s: it is not closed while it
#    is busy (it lives at least 5 s and gets every ping back), then is closed no earlier
#    than 2 s after its last ping.
# 3. The relay still runs and has its start-up number of descriptors again.
# How late after 2 s a connection is closed is printed, not asserted: on a busy machine the
# relay, and the client that notices the close, may run late. A relay that never closes an
# idle connection fails all the same: the clients give up after TB_WAIT s ("timeout").
# "No earlier than" is measured from the last byte the client sent (relay_probe.py's
# quiet=), which the relay saw before its own last traffic on the connection, so it holds
# however late the client reads the echo.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_RELAY"
tb_setup

PROBE=$(dirname "$0")/helpers/relay_probe.py
cc -O2 -Wall -Wextra -Werror -o "$TB_DIR/relay_echo" "$(dirname "$0")/helpers/relay_echo.c" ||
	tb_fail "cannot build helpers/relay_echo.c"

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
targets = { relay = { path = "$TB_DIR/relay.sock"; }; };
rules = ( { local = "2001:db8::/32"; target = "relay"; } );
CONF

tb_bg "$TB_APP1" "$TB_DIR/relay_echo" 127.0.0.1:7
tb_wait_log "$TB_BG_LOG" ready
# Start the relay half-way between two whole seconds of CLOCK_MONOTONIC: a relay that
# checks its deadlines on a 1 s tick against whole seconds would then close some of the
# connections below about half a second early, every time, not just by bad luck.
"$PYTHON" -c 'import time; time.sleep((0.5 - time.monotonic() % 1) % 1)'
tb_bg "$TB_APP1" "$SB_RELAY" -s "$TB_DIR/relay.sock" --idle-timeout 2 127.0.0.1:7
RELAY_PID=$TB_BG_PID
RELAY_LOG=$TB_BG_LOG
tb_wait_socket "$TB_DIR/relay.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
tb_wait_listen "$TB_SERVER" "$TB_PORT"
fds_start=$(find "/proc/$RELAY_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)

field() {
	sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"
}

# the busy client, in the background
tb_in "$TB_CLIENT" timeout -k 2 $((TB_WAIT + 20)) "$PYTHON" "$PROBE" --send 'ping\n' \
	--every 0.5 --for 5.2 --timeout $((TB_WAIT + 6)) 2001:db8::2 80 >"$TB_DIR/busy.out" 2>&1 &
busy=$!
# the idle ones
out=$(tb_in "$TB_CLIENT" timeout -k 2 $((TB_WAIT + 20)) "$PYTHON" "$PROBE" --send 'hi\n' \
	--timeout "$TB_WAIT" --count 10 --stagger 0.1 2001:db8::1 80)
printf '%s\n' "$out" >&2
tb_assert_eq 10 "$(grep -c '^probe ' <<<"$out")" "idle connections probed"
bad=
while read -r line; do
	outcome=$(awk '{ print $3 }' <<<"$line")
	if [[ $outcome != reset && $outcome != eof ]]; then
		bad+="; $line (expected reset or eof)"
	elif [[ $(field "$line" bytes) != 3 ]]; then
		bad+="; $line (expected the 3 bytes echoed)"
	elif ! awk -v s="$(field "$line" quiet)" 'BEGIN { exit !(s >= 1.95) }'; then
		bad+="; $line (expected closed no earlier than 2 s after the last byte sent)"
	fi
done <<<"$out"
[[ -z $bad ]] || tb_fail "with --idle-timeout 2${bad}"
tb_log "ok: all 10 idle connections were closed, no earlier than 2 s after their last byte"
echo "measured: idle connections closed after (s, from the last byte sent):" \
	"$(sed -n 's/.* quiet=\([0-9.]*\).*/\1/p' <<<"$out" | tr '\n' ' ')"

wait "$busy" || tb_fail "the busy client failed: $(cat "$TB_DIR/busy.out")"
line=$(cat "$TB_DIR/busy.out")
tb_log "busy client: $line"
outcome=$(awk '{ print $3 }' <<<"$line")
[[ $outcome == reset || $outcome == eof ]] ||
	tb_fail "the busy connection ended as '$outcome', expected reset or eof after it went idle"
awk -v s="$(field "$line" seconds)" 'BEGIN { exit !(s >= 5) }' ||
	tb_fail "the busy connection was closed after $(field "$line" seconds)s, while it was busy (5 s)"
awk -v s="$(field "$line" quiet)" 'BEGIN { exit !(s >= 1.95) }' ||
	tb_fail "the busy connection was closed $(field "$line" quiet)s after its last ping (expected 2 s or more)"
echo "measured: the busy connection was closed $(field "$line" quiet)s after its last ping"
# "ping\n" sent at 0, 0.5, ..., 5.0 s: 11 times, all echoed
tb_assert_eq 55 "$(field "$line" bytes)" "bytes echoed to the busy client"

re='idle timeout for a connection to .*127\.0\.0\.1\]*:7'
tb_wait_count "$RELAY_LOG" "$re" 11 "log lines 'idle timeout for a connection to 127.0.0.1:7'"
tb_assert_eq 11 "$(grep -c "$re" "$RELAY_LOG")" "log lines 'idle timeout for a connection to 127.0.0.1:7'"

tb_alive "$RELAY_PID" || tb_fail "the relay died"
tb_wait_fds "$RELAY_PID" "$fds_start" "the relay's descriptor count at the end"
