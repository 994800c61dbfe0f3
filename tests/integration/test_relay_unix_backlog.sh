#!/bin/bash
# Relay: a busy unix: target loses nothing. A UNIX stream listener whose accept queue is
# full makes a non-blocking connect() fail at once with EAGAIN (unlike TCP, where the
# handshake is simply retried by the kernel): the connection was NOT started, so the relay
# must try again (within --connect-timeout), not wait for an event of a socket that is not
# connecting, take it for connected and reset the client.
# The backend in $TB_APP1 is a small python server on $TB_DIR/backend.sock with listen(1)
# that answers each connection "ok\n" 20 ms after accepting it; socketbox-relay in $TB_APP2
# dials it. helpers/burst_client.py opens 40 connections at once from the client namespace.
# Asserted: all 40 read exactly "ok\n" and EOF (none reset, none closed without data); the
# backend accepted 40 connections; the relay still runs.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_RELAY"
tb_setup

N=40
BURST=$(dirname "$0")/helpers/burst_client.py

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
# Every connection must be served however slow the machine: no queue timeout.
queue_timeout = 0;
targets = { relay = { path = "$TB_DIR/relay.sock"; }; };
rules = ( { local = "2001:db8::1"; local_port = 80; target = "relay"; } );
CONF

cat >"$TB_DIR/slow_unix.py" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(1)
print("listening", flush=True)
n = 0
while True:
    c, _ = s.accept()
    n += 1
    print("accepted %d" % n, flush=True)
    time.sleep(0.02)
    c.sendall(b"ok\n")
    c.close()
EOF
tb_bg "$TB_APP1" "$PYTHON" "$TB_DIR/slow_unix.py" "$TB_DIR/backend.sock"
BACKEND_LOG=$TB_BG_LOG
tb_wait_log "$BACKEND_LOG" listening
tb_bg "$TB_APP2" "$SB_RELAY" -s "$TB_DIR/relay.sock" "unix:$TB_DIR/backend.sock"
RELAY_PID=$TB_BG_PID
RELAY_LOG=$TB_BG_LOG
tb_wait_socket "$TB_DIR/relay.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
tb_wait_listen "$TB_SERVER" "$TB_PORT"

set +e
result=$(tb_in "$TB_CLIENT" timeout -k 5 30 "$PYTHON" "$BURST" 2001:db8::1 80 "$N" ok 20)
rc=$?
set -e
printf '%s\n' "$result" >&2
line=$(grep '^burst: count=' <<<"$result") || tb_fail "the burst client printed no result (status $rc)"
bad=
for k in ok other eof reset refused error timeout; do
	v=$(sed -n "s/.* $k=\([0-9]*\).*/\1/p" <<<"$line")
	if [[ $k == ok ]]; then
		[[ $v == "$N" ]] || bad+=" ok=$v (expected $N)"
	elif [[ $v != 0 ]]; then
		bad+=" $k=$v"
	fi
done
if [[ -n $bad ]]; then
	tb_log "the relay logged $(grep -c . "$RELAY_LOG") lines:"
	cat "$RELAY_LOG" >&2
	tb_fail "connections to a unix: target with a full accept queue were lost:$bad"
fi
tb_log "ok: all $N connections were answered"
tb_assert_eq "$N" "$(grep -c '^accepted ' "$BACKEND_LOG")" "connections the backend accepted"
tb_alive "$RELAY_PID" || tb_fail "the relay died"
