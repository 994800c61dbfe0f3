#!/bin/bash
# The audit's relay finding 3: a sender that keeps a duplicate of the socket it hands over
# keeps that socket's epoll registration alive after the relay closed its copy, unless the
# relay removes it from the epoll set first; the registration's next event then lands on
# whatever connection reuses the slot (reproduced: a victim reset while its backend was
# still connecting). helpers/relay_stale_event.py plays attacker and victim.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SB_RELAY"
tb_setup

# A backend that never accepts, with room for one connection in its queue.
tb_bg "$TB_APP1" "$PYTHON" -c '
import socket, time
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", 7000))
l.listen(0)
print("listening", flush=True)
time.sleep(3600)'
tb_wait_log "$TB_BG_LOG" listening
tb_bg "$TB_APP1" "$SB_RELAY" -v -s "$TB_DIR/relay.sock" --max-conns 2 \
	--half-close-timeout 1 --connect-timeout 60 127.0.0.1:7000
relaylog=$TB_BG_LOG
tb_wait_socket "$TB_DIR/relay.sock"

out=$(tb_in "$TB_APP1" "$PYTHON" "$SB_TOP/tests/integration/helpers/relay_stale_event.py" \
	"$TB_DIR/relay.sock" "$relaylog" 2>&1) || true
tb_log "relay_stale_event.py: $out"
tb_assert_eq "victim ok" "$(tail -n 1 <<<"$out")" "the victim's connection after the attack"
