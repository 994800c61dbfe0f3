#!/bin/bash
# Applets dial in (issue 11): a peer speaking the registration protocol byte for byte
# (helpers/reg_peer.py checks every byte socketbox sends) is accepted for a slot its uid is
# allowed, and serves a connection. Refused, closed and logged: another uid (nobody), a slot
# that does not exist, malformed requests (short, long, wrong type), a peer that never
# speaks (after about a second), an applet that sends anything after registering, and a
# user's connections beyond register_limit.per_uid while earlier ones have not spoken yet
# (which do not keep another user from registering).

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX"
command -v setpriv >/dev/null || tb_skip "setpriv is not installed"
tb_setup
PEER=$TB_DIR/reg_peer.py
# nobody may not be able to reach the checkout: the helper goes to the test's own directory
cp "$SB_TOP/tests/integration/helpers/reg_peer.py" "$PEER"
reg=$TB_DIR/register.sock

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
register = { path = "$reg"; mode = "0666"; };
register_limit = { per_uid = 3; };
targets = { web = { slot = 80; allow = [ "root" ]; queue_timeout = 0; }; };
rules = ( { local = "2001:db8::1"; target = "web"; } );
CONF
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
sblog=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"
tb_wait_socket "$reg"
tb_assert_eq "666" "$(stat -c '%a' "$reg")" "registration socket mode"

refused() { # WHAT LOGTEXT PEER_ARGS...: the peer is refused, and socketbox says why
	local what=$1 text=$2 out
	shift 2
	out=$(tb_in "$TB_APP1" timeout "$TB_WAIT" "$@") || true
	[[ $out == refused ]] || tb_fail "$what: the peer said '$out', not refused"
	tb_wait_log "$sblog" "$text"
	tb_log "$what: refused and logged"
}
refused "uid nobody" "uid 65534 slot 80: uid not in the slot's allow list" \
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$PYTHON" "$PEER" "$reg" 80
refused "slot 81" "slot 81: no such slot" "$PYTHON" "$PEER" "$reg" 81
refused "short request" "request too short" "$PYTHON" "$PEER" "$reg" 0 --request 0100000000
refused "long request" "request too long" "$PYTHON" "$PEER" "$reg" 0 \
	--request 010000000000005000
refused "wrong type" "not a registration request" "$PYTHON" "$PEER" "$reg" 0 \
	--request 0200000000000050

tb_assert_eq closed "$(tb_in "$TB_APP1" timeout "$TB_WAIT" "$PYTHON" "$PEER" "$reg" 80 --silent)" \
	"a peer that never speaks"
tb_wait_log "$sblog" "no request within 1 s"

tb_assert_eq "registered closed" \
	"$(tb_in "$TB_APP1" timeout "$TB_WAIT" "$PYTHON" "$PEER" "$reg" 80 --extra | xargs)" \
	"an applet that sends data after registering"
tb_wait_log "$sblog" "it sent data after registering"

# nobody opens 4 silent connections at once: the 4th is closed at once, and root registers
# while the 3 others wait for their second to pass.
tb_in "$TB_APP1" setpriv --reuid=nobody --regid=nogroup --clear-groups "$PYTHON" -c '
import socket, sys, time
s = [socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) for i in range(4)]
for c in s:
    c.connect(sys.argv[1])
time.sleep(float(sys.argv[2]))' "$reg" "$TB_WAIT" &
silent=$!
tb_wait_log "$sblog" "uid 65534 slot -: too many registrations under way from this uid"
tb_assert_eq "registered closed" \
	"$(tb_in "$TB_APP1" timeout "$TB_WAIT" "$PYTHON" "$PEER" "$reg" 80 --extra | xargs)" \
	"root registering meanwhile"
kill "$silent" 2>/dev/null || true

# The allowed uid: registered, and connections come with exactly the protocol's bytes.
tb_bg "$TB_APP1" "$PYTHON" "$PEER" "$reg" 80 --answer served
peerlog=$TB_BG_LOG
tb_wait_log "$peerlog" registered
tb_wait_log "$sblog" "registered for slot 80 (target web)"
tb_assert_eq served "$(tb_client_get 2001:db8::1 80)" "a connection through the registered applet"
tb_assert_eq served "$(tb_client_get 2001:db8::1 80)" "a second one"
! grep -q "bad message" "$peerlog" || tb_fail "the peer got a malformed message"
