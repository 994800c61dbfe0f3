#!/bin/bash
# Relay (d): the backend cannot be reached.
#
# 1. Nothing listens: three relays in $TB_APP1 dial 127.0.0.1:9000, [::1]:9000 and
#    unix:$TB_DIR/nothing.sock, where nothing listens (connect fails with ECONNREFUSED or
#    ENOENT). Asserted for each, over IPv6 and IPv4: the client's connection is closed
#    (reset or EOF, without data), and the relay logs "unable to connect to TARGET" (an
#    IPv4 TARGET may be written as [::ffff:a.b.c.d]:port).
# 2. The backend drops SYNs: an nftables rule in $TB_APP2 drops TCP SYNs to port 9001, and a
#    relay with --connect-timeout 2 dials 127.0.0.1:9001 there. Ten clients connect 0.1 s
#    apart (spread over a whole second, so a timeout measured in whole seconds of a
#    coarse clock cannot go unnoticed). Asserted: each is closed (reset or EOF, without
#    data) no earlier than 2 s (- 0.05 s) after it connected, and the relay logs "connect
#    timeout for a connection to 127.0.0.1:9001" for each.
# 3. The relays still run and have their start-up number of descriptors again.
# How long the closes took is printed, not asserted: on a busy machine the relay and the
# client may run late. A relay that leaves such a connection open fails all the same: the
# clients give up after TB_WAIT s (the outcome is then "timeout", not reset or eof), long
# before the kernel's own SYN retries would end a connect (about two minutes).

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_RELAY"
tb_setup

PROBE=$(dirname "$0")/helpers/relay_probe.py

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
targets = {
  v4 = { path = "$TB_DIR/v4.sock"; };
  v6 = { path = "$TB_DIR/v6.sock"; };
  unix = { path = "$TB_DIR/unix.sock"; };
  synlost = { path = "$TB_DIR/drop.sock"; };
};
rules = (
  { local = "2001:db8::4"; target = "v4"; },
  { local = "::ffff:198.51.100.4"; target = "v4"; },
  { local = "2001:db8::6"; target = "v6"; },
  { local = "::ffff:198.51.100.6"; target = "v6"; },
  { local = "2001:db8::7"; target = "unix"; },
  { local = "::ffff:198.51.100.7"; target = "unix"; },
  { local = "2001:db8::d"; target = "synlost"; }
);
CONF

cat >"$TB_DIR/drop.nft" <<'NFT'
table inet sbdrop {
	chain in {
		type filter hook input priority 0;
		tcp dport 9001 tcp flags syn drop
	}
}
NFT
_tb_run tb_in "$TB_APP2" nft -f "$TB_DIR/drop.nft"

declare -A PIDS LOGS FDS
for t in v4:127.0.0.1:9000 "v6:[::1]:9000" "unix:unix:$TB_DIR/nothing.sock"; do
	name=${t%%:*}
	tb_bg "$TB_APP1" "$SB_RELAY" -s "$TB_DIR/$name.sock" "${t#*:}"
	PIDS[$name]=$TB_BG_PID
	LOGS[$name]=$TB_BG_LOG
done
# Start the relay half-way between two whole seconds of CLOCK_MONOTONIC: a relay that
# checks its deadlines on a 1 s tick against whole seconds would then close some of the
# connections below about half a second early, every time, not just by bad luck.
"$PYTHON" -c 'import time; time.sleep((0.5 - time.monotonic() % 1) % 1)'
tb_bg "$TB_APP2" "$SB_RELAY" -s "$TB_DIR/drop.sock" --connect-timeout 2 127.0.0.1:9001
PIDS[drop]=$TB_BG_PID
LOGS[drop]=$TB_BG_LOG
# something does listen behind the drop rule: only the rule keeps the connect pending
tb_bg "$TB_APP2" socat TCP4-LISTEN:9001,bind=127.0.0.1,reuseaddr,fork SYSTEM:'echo hello'
tb_wait_listen "$TB_APP2" 9001
for name in v4 v6 unix drop; do
	tb_wait_socket "$TB_DIR/$name.sock"
done
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
tb_wait_listen "$TB_SERVER" "$TB_PORT"
for name in v4 v6 unix drop; do
	FDS[$name]=$(find "/proc/${PIDS[$name]}/fd" -mindepth 1 -maxdepth 1 | wc -l)
done

field() {
	sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"
}

_count_re_at_least() { (($(grep -cE -- "$2" "$1") >= $3)); }
# wait_log_re FILE ERE [N]: wait up to $TB_WAIT s until FILE has N (default 1) lines
# matching ERE
wait_log_re() {
	tb_until "$TB_WAIT" _count_re_at_least "$1" "$2" "${3:-1}" ||
		tb_fail "fewer than ${3:-1} lines matching '$2' in ${1##*/} within $TB_WAIT s"
}

# 1. nothing listens (the log may name an IPv4 target as [::ffff:a.b.c.d]:port)
V4RE='(127\.0\.0\.1|\[::ffff:127\.0\.0\.1\])'
declare -A TARGET=([v4]="$V4RE:9000" [v6]="\[::1\]:9000" [unix]="unix:$TB_DIR/nothing\.sock")
declare -A LAST=([v4]=4 [v6]=6 [unix]=7)
for name in v4 v6 unix; do
	for addr in "2001:db8::${LAST[$name]}" "198.51.100.${LAST[$name]}"; do
		out=$(tb_in "$TB_CLIENT" "$PYTHON" "$PROBE" --timeout "$TB_WAIT" "$addr" 80)
		tb_log "$name, $addr: $out"
		outcome=$(awk '{ print $3 }' <<<"$out")
		[[ $outcome == reset || $outcome == eof ]] ||
			tb_fail "$name, $addr: the client's connection ended as '$outcome', expected reset or eof"
		tb_assert_eq 0 "$(field "$out" bytes)" "$name, $addr: bytes the client received"
		echo "measured: $name, $addr: the client was closed after $(field "$out" seconds)s"
	done
	wait_log_re "${LOGS[$name]}" "unable to connect to ${TARGET[$name]}" 2
	n=$(grep -cE "unable to connect to ${TARGET[$name]}" "${LOGS[$name]}") || true
	tb_assert_eq 2 "$n" "$name: log lines 'unable to connect to ${TARGET[$name]}'"
done

# 2. SYNs dropped: --connect-timeout 2
out=$(tb_in "$TB_CLIENT" timeout -k 2 $((TB_WAIT + 15)) "$PYTHON" "$PROBE" --timeout "$TB_WAIT" \
	--count 10 --stagger 0.1 2001:db8::d 80)
printf '%s\n' "$out" >&2
tb_assert_eq 10 "$(grep -c '^probe ' <<<"$out")" "connections probed"
bad=
while read -r line; do
	outcome=$(awk '{ print $3 }' <<<"$line")
	secs=$(field "$line" seconds)
	if [[ $outcome != reset && $outcome != eof ]] || [[ $(field "$line" bytes) != 0 ]]; then
		bad+="; $line (expected reset or eof without data)"
	elif ! awk -v s="$secs" 'BEGIN { exit !(s >= 1.95) }'; then
		bad+="; $line (expected closed no earlier than 2 s after connecting)"
	fi
done <<<"$out"
[[ -z $bad ]] || tb_fail "with --connect-timeout 2 and SYNs dropped${bad}"
tb_log "ok: all 10 connections were closed, no earlier than 2 s after they connected"
echo "measured: with --connect-timeout 2, closed after (s):" \
	"$(sed -n 's/.* seconds=\([0-9.]*\).*/\1/p' <<<"$out" | tr '\n' ' ')"
wait_log_re "${LOGS[drop]}" "connect timeout for a connection to $V4RE:9001" 10
n=$(grep -cE "connect timeout for a connection to $V4RE:9001" "${LOGS[drop]}") || true
tb_assert_eq 10 "$n" "log lines 'connect timeout for a connection to 127.0.0.1:9001'"

# 3. the relays are unharmed
for name in v4 v6 unix drop; do
	tb_alive "${PIDS[$name]}" || tb_fail "relay $name died"
	tb_wait_fds "${PIDS[$name]}" "${FDS[$name]}" "relay $name: descriptors at the end"
done
