#!/bin/bash
# Relay (c): a reset on one side is passed on as a reset (RST, SO_LINGER 0) to the other,
# never as a clean end of stream. socketbox-relay runs in the server namespace and makes its
# connections in $TB_APP1 (--netns), where helpers/relay_stream.py is the backend on lo.
#
# 1. Mid-stream: the client sends a 100-byte request and keeps its side open; the backend,
#    once it has the request, sends 4 MiB and then closes with SO_LINGER 0 (RST). Asserted:
#    the client's read ends in ECONNRESET (end=reset), not EOF, having received at most the
#    4 MiB, and all it received is a prefix of the backend's stream.
# 2. At once: the backend resets right after reading the request, before sending anything:
#    the client's read ends in ECONNRESET with 0 bytes.
# 3. The other way round: the client sends 8 MiB and resets; the backend, reading, must see
#    ECONNRESET too, not EOF.
# Each part over IPv6 and IPv4. Afterwards the relay still runs, logged (with -v) that
# connections ended by a reset, serves a normal connection, and has its start-up number of
# descriptors again.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_RELAY"
tb_setup

STREAM=$(dirname "$0")/helpers/relay_stream.py

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
targets = { relay = { path = "$TB_DIR/relay.sock"; }; };
rules = (
  { local = "2001:db8::/32"; target = "relay"; },
  { local = "::ffff:198.51.100.0/120"; target = "relay"; }
);
CONF

tb_bg "$TB_SERVER" "$SB_RELAY" -v -s "$TB_DIR/relay.sock" --netns "/run/netns/$TB_APP1" 127.0.0.1:9000
RELAY_PID=$TB_BG_PID
RELAY_LOG=$TB_BG_LOG
tb_wait_socket "$TB_DIR/relay.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
tb_wait_listen "$TB_SERVER" "$TB_PORT"
fds_start=$(find "/proc/$RELAY_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)

field() {
	sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"
}

# backend ARGS...: start a one-connection backend on 127.0.0.1:9000 in $TB_APP1
NB=0
backend() {
	NB=$((NB + 1))
	tb_bg "$TB_APP1" "$PYTHON" "$STREAM" server 127.0.0.1:9000 --seed 5 --timeout 10 "$@"
	B_PID=$TB_BG_PID
	B_LOG=$TB_BG_LOG
	tb_wait_log "$B_LOG" "server listening"
}

# client ADDR ARGS...: run the client; sets CSEND CRECV
client() {
	local addr=$1 out
	shift
	out=$(tb_in "$TB_CLIENT" timeout -k 2 15 "$PYTHON" "$STREAM" client "$addr" --seed 6 --timeout 10 "$@") || true
	printf '%s\n' "$out" >&2
	CSEND=$(grep '^client 1 send ' <<<"$out") || tb_fail "no result from the client: $out"
	CRECV=$(grep '^client 1 recv ' <<<"$out") || tb_fail "no result from the client: $out"
}

# backend_result: wait for the backend to report; sets SSEND SRECV
backend_result() {
	tb_until "$TB_WAIT" grep -q '^server 1 send ' "$B_LOG" || true
	SSEND=$(grep '^server 1 send ' "$B_LOG") || tb_fail "no result from the backend"
	SRECV=$(grep '^server 1 recv ' "$B_LOG")
	tb_log "backend: $SRECV"
	tb_log "backend: $SSEND"
	tb_kill "$B_PID"
}

# the SHA-256 of the first N bytes of relay_stream.py's stream with seed S
stream_prefix_sha() {
	"$PYTHON" - "$1" "$2" <<'EOF'
import hashlib, random, sys
n, seed = int(sys.argv[1]), int(sys.argv[2])
block = random.Random(seed).randbytes((1 << 20) + 13)
h = hashlib.sha256()
while n > 0:
    h.update(block[:n])
    n -= len(block[:n])
print(h.hexdigest())
EOF
}

for addr in "[2001:db8::1]:80" "198.51.100.1:80"; do
	# 1. mid-stream
	backend --wait-data --send 4M --reset
	client "$addr" --send 100 --no-shutdown
	backend_result
	tb_assert_eq "done reset" "$(field "$SSEND" end) $(field "$CRECV" end)" \
		"$addr mid-stream: end of the backend's sending, end of the client's reading"
	got=$(field "$CRECV" bytes)
	((got <= 4194304)) || tb_fail "the client received $got bytes, more than the backend sent"
	tb_assert_eq "$(stream_prefix_sha "$got" 5)" "$(field "$CRECV" sha256)" \
		"$addr mid-stream: sha256 of the $got bytes the client received (a prefix of the backend's stream)"
	tb_assert_eq "100 $(field "$CSEND" sha256)" "$(field "$SRECV" bytes) $(field "$SRECV" sha256)" \
		"$addr mid-stream: the request as the backend received it"

	# 2. at once
	backend --wait-data --send 0 --reset
	client "$addr" --send 100 --no-shutdown
	backend_result
	tb_assert_eq "reset 0" "$(field "$CRECV" end) $(field "$CRECV" bytes)" \
		"$addr at once: end of the client's reading, bytes received"

	# 3. the client resets
	backend --send 0 --no-shutdown
	client "$addr" --send 8M --reset
	tb_assert_eq "done" "$(field "$CSEND" end)" "$addr client reset: the client sent and reset"
	backend_result
	tb_assert_eq reset "$(field "$SRECV" end)" "$addr client reset: end of the backend's reading"
	got=$(field "$SRECV" bytes)
	tb_assert_eq "$(stream_prefix_sha "$got" 6)" "$(field "$SRECV" sha256)" \
		"$addr client reset: sha256 of the $got bytes the backend received (a prefix of the client's stream)"
done

tb_alive "$RELAY_PID" || tb_fail "the relay died"
n=$(grep -c 'ended by a reset' "$RELAY_LOG") || true
((n >= 6)) || tb_fail "the relay logged $n connections ended by a reset, expected at least 6"
tb_log "ok: the relay logged $n connections ended by a reset"

# still relays normally
backend --after-eof --send 1000
client "[2001:db8::2]:443" --send 1000
backend_result
tb_assert_eq "done eof done eof" \
	"$(field "$CSEND" end) $(field "$CRECV" end) $(field "$SSEND" end) $(field "$SRECV" end)" \
	"a normal connection afterwards: how each direction ended"
tb_assert_eq "$(field "$SSEND" sha256)" "$(field "$CRECV" sha256)" "a normal connection afterwards: the reply"

tb_wait_fds "$RELAY_PID" "$fds_start" "the relay's descriptor count at the end"
