#!/bin/bash
# The audit's relay finding 4: with --proxy-protocol, a handed-over connection whose
# addresses cannot be read, or that is not an internet socket (here an AF_UNIX stream
# socket that stays open), used to be relayed behind "PROXY UNKNOWN"
# (v1) or a v2 LOCAL header, which makes the backend take the relay itself for the client.
# Now the relay resets such a connection with a warning: the backend gets no header at all.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SB_RELAY"
tb_setup

CAPTURE=$SB_TOP/tests/integration/helpers/relay_proxy_capture.py
for v in v1 v2; do
	port=$((7000 + ${v#v}))
	tb_bg "$TB_APP1" "$PYTHON" "$CAPTURE" 127.0.0.1 "$port" 1
	capture=$TB_BG_LOG
	tb_wait_log "$capture" listening
	tb_bg "$TB_APP1" "$SB_RELAY" -s "$TB_DIR/relay-$v.sock" --proxy-protocol "$v" \
		"127.0.0.1:$port"
	relaylog=$TB_BG_LOG
	tb_wait_socket "$TB_DIR/relay-$v.sock"
	# an AF_UNIX client that stays open (a client gone first would be reset for that)
	tb_bg "$TB_APP1" "$PYTHON" -c '
import socket, sys, time
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
tx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
tx.connect(sys.argv[1])
socket.send_fds(tx, [b"\0"], [a.fileno()])
a.close()
time.sleep(120)' "$TB_DIR/relay-$v.sock"
	tb_wait_log "$relaylog" "without internet addresses for the PROXY header; reset"
	tb_wait_log "$capture" "bad"
	header=$(grep -E '^(v1|v2|bad)' "$capture" | head -n 1)
	[[ $header == "bad b''" || $header == bad\ \[Errno* ]] ||
		tb_fail "$v: the backend received a header for an AF_UNIX client: $header"
	tb_log "ok: $v: the backend got no header ($header), the relay reset the connection"
done
