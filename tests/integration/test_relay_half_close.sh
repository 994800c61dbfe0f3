#!/bin/bash
# Relay (b): half-close travels through the relay in each direction on its own.
# socketbox (server namespace) hands connections to socketbox-relay in $TB_APP2, which dials
# the backend helpers/relay_stream.py in $TB_APP1 with --netns (the backend has only lo).
#
# 1. Client half-closes first: the client sends a 3000-byte request and shuts its sending
#    direction down; the backend reads to EOF (so the EOF must have been passed on), waits
#    1 s (the relay must keep the half-closed connection), then sends 10 MiB and closes.
#    Asserted: the backend read exactly the request (bytes, sha256) and then EOF; the client
#    received exactly the 10 MiB (bytes, sha256) and then EOF; both ends report everything
#    sent.
# 2. Backend half-closes first: the backend sends 1 MiB and shuts down at once; the client
#    reads to EOF before it sends anything, then waits 1 s (the relay must keep the
#    half-closed connection) and sends 10 MiB, then shuts down. Asserted: the client
#    received the 1 MiB and EOF (while still to send: a relay that passed the EOF on only
#    once both directions were done would leave the client waiting until it gives up), and
#    the backend received all 10 MiB and EOF.
# 3. Both times over IPv4 too (198.51.100.1), and the relay's descriptor count is back to its
#    start-up value afterwards.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_RELAY"
tb_setup

STREAM=$(dirname "$0")/helpers/relay_stream.py

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
targets = {
  first = { path = "$TB_DIR/first.sock"; };
  second = { path = "$TB_DIR/second.sock"; };
};
rules = (
  { local = "2001:db8::1"; local_port = 80; target = "first"; },
  { local = "::ffff:198.51.100.1"; local_port = 80; target = "first"; },
  { local = "2001:db8::1"; local_port = 81; target = "second"; },
  { local = "::ffff:198.51.100.1"; local_port = 81; target = "second"; }
);
CONF

# backend 1: request -> EOF -> 1 s -> 10 MiB reply; backend 2: 1 MiB then shutdown at once
tb_bg "$TB_APP1" "$PYTHON" "$STREAM" server 127.0.0.1:9001 --count 2 --after-eof --delay 1 \
	--send 10M --seed 11 --timeout 15
B1_LOG=$TB_BG_LOG
tb_bg "$TB_APP1" "$PYTHON" "$STREAM" server "[::1]:9002" --count 2 --send 1M --seed 12 --timeout 15
B2_LOG=$TB_BG_LOG
tb_wait_log "$B1_LOG" "server listening"
tb_wait_log "$B2_LOG" "server listening"
tb_bg "$TB_APP2" "$SB_RELAY" -s "$TB_DIR/first.sock" --netns "/run/netns/$TB_APP1" 127.0.0.1:9001
R1_PID=$TB_BG_PID
tb_bg "$TB_APP2" "$SB_RELAY" -s "$TB_DIR/second.sock" --netns "/run/netns/$TB_APP1" "[::1]:9002"
R2_PID=$TB_BG_PID
tb_wait_socket "$TB_DIR/first.sock"
tb_wait_socket "$TB_DIR/second.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
tb_wait_listen "$TB_SERVER" "$TB_PORT"
fds1=$(find "/proc/$R1_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)
fds2=$(find "/proc/$R2_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)

field() {
	sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"
}

# check LABEL BACKEND_LOG N CLIENT_ARGS...: run the client, compare with the backend's
# connection N; both directions must end cleanly with equal bytes and sha256
check() {
	local label=$1 blog=$2 n=$3 out rc csend crecv ssend srecv i
	shift 3
	set +e
	out=$(tb_in "$TB_CLIENT" timeout -k 2 20 "$PYTHON" "$STREAM" client "$@" --timeout 15)
	rc=$?
	set -e
	printf '%s\n' "$out" >&2
	csend=$(grep '^client 1 send ' <<<"$out") || tb_fail "$label: no result from the client (status $rc)"
	crecv=$(grep '^client 1 recv ' <<<"$out") || tb_fail "$label: no result from the client (status $rc)"
	tb_until "$TB_WAIT" grep -q "^server $n send " "$blog" || true
	ssend=$(grep "^server $n send " "$blog") || tb_fail "$label: no result from the backend"
	srecv=$(grep "^server $n recv " "$blog")
	tb_log "$label: $srecv"
	tb_log "$label: $ssend"
	tb_assert_eq "done eof done eof" \
		"$(field "$csend" end) $(field "$crecv" end) $(field "$ssend" end) $(field "$srecv" end)" \
		"$label: how client send, client recv, backend send, backend recv ended"
	tb_assert_eq "$(field "$csend" bytes) $(field "$csend" sha256)" \
		"$(field "$srecv" bytes) $(field "$srecv" sha256)" "$label: what the backend received"
	tb_assert_eq "$(field "$ssend" bytes) $(field "$ssend" sha256)" \
		"$(field "$crecv" bytes) $(field "$crecv" sha256)" "$label: what the client received"
	[[ $rc -eq 0 ]] || tb_fail "$label: the client exited with status $rc"
	CRECV=$crecv SRECV=$srecv
}

# 1. the client half-closes first
check "client first, IPv6" "$B1_LOG" 1 "[2001:db8::1]:80" --send 3000 --seed 21
tb_assert_eq 3000 "$(field "$SRECV" bytes)" "request bytes the backend read before EOF"
tb_assert_eq 10485760 "$(field "$CRECV" bytes)" "reply bytes the client received"
# the reply came after the backend's 1 s pause, so the client stayed half-closed that long
awk -v s="$(field "$CRECV" seconds)" 'BEGIN { exit !(s >= 1.0) }' ||
	tb_fail "the client had the reply after $(field "$CRECV" seconds)s, before the backend's 1 s pause ended"
check "client first, IPv4" "$B1_LOG" 2 "198.51.100.1:80" --send 3000 --seed 22

# 2. the backend half-closes first; the client reads to EOF before it sends anything (so
# it saw EOF before it even started sending), and sends only 1 s after that
check "backend first, IPv6" "$B2_LOG" 1 "[2001:db8::1]:81" --after-eof --send 10M --delay 1 --seed 23
tb_assert_eq 1048576 "$(field "$CRECV" bytes)" "bytes the client received before EOF"
tb_assert_eq 10485760 "$(field "$SRECV" bytes)" "bytes the backend received after its shutdown"
echo "measured: backend first: the client saw the backend's EOF $(field "$CRECV" seconds)s after connecting"
check "backend first, IPv4" "$B2_LOG" 2 "198.51.100.1:81" --after-eof --send 10M --delay 1 --seed 24

tb_alive "$R1_PID" || tb_fail "relay 1 died"
tb_alive "$R2_PID" || tb_fail "relay 2 died"
tb_wait_fds "$R1_PID" "$fds1" "relay 1's descriptor count afterwards"
tb_wait_fds "$R2_PID" "$fds2" "relay 2's descriptor count afterwards"
