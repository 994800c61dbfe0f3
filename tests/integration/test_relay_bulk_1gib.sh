#!/bin/bash
# Relay (a): bulk transfer, 1 GiB each way at the same time, through
#     client --veth--> socketbox (server namespace) --fd--> socketbox-relay --veth--> backend
# and, in the same run and over the same two veth links, the same transfer on a direct TCP
# connection client -> backend (routed by the server namespace), as the baseline, and
# through socat (a read()/write() proxy in the server namespace, no socketbox) for scale.
#
# For this test only, the applet namespace $TB_APP1 gets a second veth pair to the server
# namespace (fd00:5c::1 server, fd00:5c::2 backend), and the server namespace forwards
# between its two links, so the client can also reach the backend without socketbox. The
# relay runs in the server namespace and dials [fd00:5c::2]:9000; the backend is
# helpers/relay_stream.py (one connection at a time, receiving and sending concurrently).
#
# Asserted, for each of the three transfers:
#   - the client's and the backend's directions all end as asked (EOF after the sender's
#     shutdown, everything sent);
#   - bytes and SHA-256 of what the client sent equal what the backend received, and of what
#     the backend sent equal what the client received; both are $BYTES;
#   - the relay is still alive and has its start-up number of descriptors again.
# Printed: MB/s (10^6 bytes/s) of each direction and of both together (2 x BYTES / time of
# the slower direction), relayed, direct and via socat, relayed as a percentage of direct,
# and the CPU time the relay (socat) used for its transfer. Measured on the endpoints:
# client -> backend ends when the backend reads EOF, backend -> client when the client does.
# RELAY_BULK_BYTES (default 1G) sets the size of each direction.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_RELAY"
tb_setup

BYTES=${RELAY_BULK_BYTES:-1G}
STREAM=$(dirname "$0")/helpers/relay_stream.py
BACKEND6=fd00:5c::2

# the second link: server <-> app1, routed for the direct baseline
_tb_run ip -n "$TB_SERVER" link add sb1 type veth peer name sb1 netns "$TB_APP1"
_tb_run ip -n "$TB_SERVER" addr add fd00:5c::1/64 dev sb1 nodad
_tb_run ip -n "$TB_APP1" addr add "$BACKEND6/64" dev sb1 nodad
_tb_run ip -n "$TB_SERVER" link set sb1 up
_tb_run ip -n "$TB_APP1" link set sb1 up
_tb_run ip -n "$TB_APP1" -6 route add fd00:5b::/64 via fd00:5c::1 dev sb1
_tb_run ip -n "$TB_CLIENT" -6 route add fd00:5c::/64 via "$TB_SERVER_IP6" dev sb0
_tb_run tb_in "$TB_SERVER" sysctl -qw net.ipv6.conf.all.forwarding=1
sb1_up() { ip -n "$TB_APP1" -o link show sb1 | grep -q 'state UP'; }
tb_until "$TB_WAIT" sb1_up || tb_fail "no carrier on the second link within $TB_WAIT s"

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
targets = { relay = { path = "$TB_DIR/relay.sock"; }; };
rules = ( { local = "2001:db8::1"; local_port = 80; target = "relay"; } );
CONF

tb_bg "$TB_APP1" "$PYTHON" "$STREAM" server "[::]:9000" --count 3 --send "$BYTES" --timeout 50
BACKEND_LOG=$TB_BG_LOG
tb_wait_log "$BACKEND_LOG" "server listening"
tb_bg "$TB_SERVER" "$SB_RELAY" -s "$TB_DIR/relay.sock" "[$BACKEND6]:9000"
RELAY_PID=$TB_BG_PID
tb_wait_socket "$TB_DIR/relay.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
tb_wait_listen "$TB_SERVER" "$TB_PORT"
fds_start=$(find "/proc/$RELAY_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)
tb_bg "$TB_SERVER" socat -b 262144 "TCP6-LISTEN:9001,bind=[$TB_SERVER_IP6],reuseaddr,fork" "TCP6:[$BACKEND6]:9000"
SOCAT_PID=$TB_BG_PID
tb_wait_listen "$TB_SERVER" 9001

# cpu PID: user + system time of a process so far, in clock ticks
cpu() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# field LINE NAME: the value of NAME=... in LINE
field() {
	sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"
}

# transfer LABEL ADDR PORT N: one transfer from the client; the backend's connection N.
# Sets MBS_UP MBS_DOWN MBS_BOTH (MB/s client->backend, backend->client, both together).
transfer() {
	local label=$1 addr=$2 port=$3 n=$4 out rc csend crecv ssend srecv i
	set +e
	out=$(tb_in "$TB_CLIENT" timeout -k 5 55 "$PYTHON" "$STREAM" client "[$addr]:$port" \
		--send "$BYTES" --seed 2 --timeout 50)
	rc=$?
	set -e
	printf '%s\n' "$out" >&2
	csend=$(grep '^client 1 send ' <<<"$out") || tb_fail "$label: the client printed no result (status $rc)"
	crecv=$(grep '^client 1 recv ' <<<"$out") || tb_fail "$label: the client printed no result (status $rc)"
	tb_until "$TB_WAIT" grep -q "^server $n send " "$BACKEND_LOG" || true
	ssend=$(grep "^server $n send " "$BACKEND_LOG") || tb_fail "$label: the backend printed no result"
	srecv=$(grep "^server $n recv " "$BACKEND_LOG")
	tb_log "$label backend: $srecv"
	tb_log "$label backend: $ssend"
	tb_assert_eq "done" "$(field "$csend" end)" "$label: end of the client's sending"
	tb_assert_eq eof "$(field "$crecv" end)" "$label: end of the client's receiving"
	tb_assert_eq "done" "$(field "$ssend" end)" "$label: end of the backend's sending"
	tb_assert_eq eof "$(field "$srecv" end)" "$label: end of the backend's receiving"
	tb_assert_eq "$(field "$csend" bytes) $(field "$csend" sha256)" \
		"$(field "$srecv" bytes) $(field "$srecv" sha256)" \
		"$label: bytes and sha256 the backend received (= what the client sent)"
	tb_assert_eq "$(field "$ssend" bytes) $(field "$ssend" sha256)" \
		"$(field "$crecv" bytes) $(field "$crecv" sha256)" \
		"$label: bytes and sha256 the client received (= what the backend sent)"
	[[ $rc -eq 0 ]] || tb_fail "$label: the client exited with status $rc"
	# client -> backend: until the backend saw EOF; backend -> client: until the client did
	read -r MBS_UP MBS_DOWN MBS_BOTH < <(awk -v b="$(field "$srecv" bytes)" \
		-v tu="$(field "$srecv" seconds)" -v td="$(field "$crecv" seconds)" \
		'BEGIN { t = tu > td ? tu : td;
		         printf "%.0f %.0f %.0f\n", (tu > 0 ? b / tu : 0) / 1e6, (td > 0 ? b / td : 0) / 1e6, (t > 0 ? 2 * b / t : 0) / 1e6 }')
}

HZ=$(getconf CLK_TCK)
c0=$(cpu "$RELAY_PID")
transfer relayed 2001:db8::1 80 1
R_UP=$MBS_UP R_DOWN=$MBS_DOWN R_BOTH=$MBS_BOTH
R_CPU=$(awk -v t=$(($(cpu "$RELAY_PID") - c0)) -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }')
transfer direct "$BACKEND6" 9000 2
D_UP=$MBS_UP D_DOWN=$MBS_DOWN D_BOTH=$MBS_BOTH
transfer socat "$TB_SERVER_IP6" 9001 3
S_UP=$MBS_UP S_DOWN=$MBS_DOWN S_BOTH=$MBS_BOTH
# socat forks a child per connection; the child's time lands in the parent's cutime/cstime
S_CPU=$(awk -v hz="$HZ" '{ printf "%.2f", ($14 + $15 + $16 + $17) / hz }' "/proc/$SOCAT_PID/stat")

tb_alive "$RELAY_PID" || tb_fail "the relay died"
tb_wait_fds "$RELAY_PID" "$fds_start" "the relay's descriptor count after the transfer"

pct=$(awk -v r="$R_BOTH" -v d="$D_BOTH" 'BEGIN { printf "%.0f", (d > 0 ? 100 * r / d : 0) }')
echo "measured: $BYTES each way at once, MB/s up (client->backend) / down / both:" \
	"relayed $R_UP / $R_DOWN / $R_BOTH (relay CPU ${R_CPU}s)," \
	"direct $D_UP / $D_DOWN / $D_BOTH, socat $S_UP / $S_DOWN / $S_BOTH (socat CPU ${S_CPU}s);" \
	"relayed = ${pct}% of direct"
