#!/bin/bash
# Fault: a client that sends nothing, behind socketbox-relay. socketbox hands the relay
# the accepted socket as accept4() made it: blocking (inetd programs want a blocking stdin),
# so the relay has to make it non-blocking itself; splice(SPLICE_F_NONBLOCK) only makes the
# pipe side non-blocking, not the socket. Two relays in $TB_APP2:
#   - "first": to a backend that speaks first (socat SYSTEM:'echo hello', [::1]:7000);
#   - "echo": to an echo backend (socat EXEC:cat, [::1]:7001).
# Asserted:
#   1. a client that connects and sends nothing gets the first backend's "hello" (and EOF),
#      as it would connecting directly (server-speaks-first protocols: SSH, SMTP, FTP
#      banners); a relay stuck reading the silent client never delivers it, and the client
#      gives up after TB_WAIT s;
#   2. while one client holds a connection to the echo relay open without sending anything
#      (until the test is done with the other one), another client's request through the
#      same relay is answered: one idle client does not stall the relay's event loop for
#      everyone (a stalled relay would answer only once the idle client is gone, which is
#      after the other client has given up).
# The times are printed, not asserted: a busy machine may be slow, not the relay.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_RELAY"
tb_setup

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
targets = {
  first = { path = "$TB_DIR/first.sock"; };
  echo = { path = "$TB_DIR/echo.sock"; };
};
rules = (
  { local = "2001:db8::1"; local_port = 80; target = "first"; },
  { local = "2001:db8::2"; local_port = 80; target = "echo"; }
);
CONF

tb_bg "$TB_APP2" socat 'TCP6-LISTEN:7000,bind=[::1],reuseaddr,fork' SYSTEM:'echo hello'
tb_bg "$TB_APP2" socat 'TCP6-LISTEN:7001,bind=[::1],reuseaddr,fork' EXEC:cat
tb_wait_listen "$TB_APP2" 7000
tb_wait_listen "$TB_APP2" 7001
tb_bg "$TB_APP2" "$SB_RELAY" -s "$TB_DIR/first.sock" "[::1]:7000"
FIRST_PID=$TB_BG_PID
tb_bg "$TB_APP2" "$SB_RELAY" -s "$TB_DIR/echo.sock" "[::1]:7001"
ECHO_PID=$TB_BG_PID
tb_wait_socket "$TB_DIR/first.sock"
tb_wait_socket "$TB_DIR/echo.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
tb_wait_listen "$TB_SERVER" "$TB_PORT"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# the backend itself speaks first
out=$(tb_in "$TB_APP2" timeout "$TB_WAIT" socat -u 'TCP6:[::1]:7000' STDOUT) || tb_fail "backend: '$out'"
tb_assert_eq hello "$out" "the first backend, directly"

# 1. server speaks first, the client sends nothing
t=$(now_ms)
out=$(tb_client_get 2001:db8::1 80) || true
ms=$(($(now_ms) - t))
tb_log "server-speaks-first through the relay: '$out' after $ms ms"
tb_assert_eq hello "$out" "the first backend's banner through the relay to a silent client"
echo "measured: the banner reached a client that sends nothing after $ms ms"
tb_alive "$FIRST_PID" || tb_fail "relay 'first' died"

# 2. one idle client must not stall the others. It stays connected, silent, until the file
# "release" appears (at most twice TB_WAIT s: longer than the other client waits).
tb_bg "$TB_CLIENT" "$PYTHON" -c '
import os, socket, sys, time
s = socket.create_connection(("2001:db8::2", 80), timeout=5)
print("connected", flush=True)
end = time.monotonic() + 2 * float(sys.argv[2])
while not os.path.exists(sys.argv[1]) and time.monotonic() < end:
    time.sleep(0.1)
print("released" if os.path.exists(sys.argv[1]) else "gave up", flush=True)' \
	"$TB_DIR/release" "$TB_WAIT"
IDLE_PID=$TB_BG_PID
IDLE_LOG=$TB_BG_LOG
tb_wait_log "$IDLE_LOG" connected
# the relay has the idle client's socket once it has dialled the echo backend for it
backend_connected() { [[ -n $(tb_in "$TB_APP2" ss -Htn state established '( dport = :7001 )') ]]; }
tb_until "$TB_WAIT" backend_connected ||
	tb_fail "the relay did not connect the idle client to the echo backend within $TB_WAIT s"
t=$(now_ms)
out=$(tb_client_send 2001:db8::2 80 ping) || true
ms=$(($(now_ms) - t))
tb_log "echo through the relay while another client idles: '$out' after $ms ms"
tb_assert_eq ping "$out" "echo through the relay while another client idles"
echo "measured: the relay answered a client after $ms ms while another one idled"
tb_alive "$IDLE_PID" || tb_fail "the idle client ended before the other one was answered: $(cat "$IDLE_LOG")"
: >"$TB_DIR/release"
tb_alive "$ECHO_PID" || tb_fail "relay 'echo' died"
echo "PASS: a silent client neither misses a server's banner nor stalls the relay"
