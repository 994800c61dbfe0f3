#!/bin/bash
# The audit's relay finding 5: idle clients could hold the relay for ever (no idle timeout
# by default, and at --max-conns it stops receiving). The relay now has timeouts by default
# - connect 10 s, idle 600 s, half-closed 60 s - logged at start; 0 turns one off. Shown
# with --half-close-timeout 1: a client that half-closes while the backend stays quiet is
# closed (reset) by the half-closed timeout, long before the idle timeout.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SB_RELAY"
tb_setup

# A backend that accepts and then stays quiet.
tb_bg "$TB_APP1" "$PYTHON" -c '
import socket, time
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", 7000))
l.listen(8)
print("listening", flush=True)
held = []
while True:
    held.append(l.accept()[0])'
tb_wait_log "$TB_BG_LOG" listening

tb_bg "$TB_APP1" "$SB_RELAY" -s "$TB_DIR/defaults.sock" 127.0.0.1:7000
tb_wait_log "$TB_BG_LOG" "timeouts: connect 10 s, idle 600 s, half-closed 60 s"
tb_log "ok: the relay's default timeouts: $(grep -o 'timeouts: .*' "$TB_BG_LOG")"

tb_bg "$TB_APP1" "$SB_RELAY" -s "$TB_DIR/relay.sock" --half-close-timeout 1 127.0.0.1:7000
relaylog=$TB_BG_LOG
tb_wait_socket "$TB_DIR/relay.sock"
out=$(tb_in "$TB_APP1" "$PYTHON" - "$TB_DIR/relay.sock" <<'PY'
import socket, sys
lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
lst.bind(("127.0.0.1", 0))
lst.listen(1)
c = socket.create_connection(lst.getsockname())
s, _ = lst.accept()
tx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
tx.connect(sys.argv[1])
socket.send_fds(tx, [b"\0"], [s.fileno()])
s.close()
c.shutdown(socket.SHUT_WR)
c.settimeout(30)
try:
    print("closed" if c.recv(1) == b"" else "data")
except ConnectionResetError:
    print("reset")
except socket.timeout:
    print("still open after 30 s")
PY
)
tb_assert_eq reset "$out" "the half-closed client's connection"
tb_wait_log "$relaylog" "half-closed timeout for a connection to 127.0.0.1:7000; closed"
