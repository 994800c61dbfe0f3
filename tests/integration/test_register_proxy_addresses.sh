#!/bin/bash
# A registered applet behind a PROXY listener learns the client's addresses the header
# named (socketbox(8) PROTOCOL: {3, 0, 0} and the 41-byte address block): socketbox-inetd's
# TCPREMOTEIP/TCPREMOTEPORT/TCPLOCALIP/TCPLOCALPORT are the header's, not the balancer's;
# without a header (a plain listener) they are the socket's own.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
tb_setup
reg=$TB_DIR/register.sock
plain=$((TB_PORT + 1))

cat >"$TB_DIR/sb.conf" <<CONF
listen = (
  { name = "lb"; port = $TB_PORT; proxy_protocol = true; proxy_from = "$TB_CLIENT_IP6"; },
  { name = "plain"; port = $plain; }
);
register = { path = "$reg"; };
targets = { env = { slot = 7; allow = [ "root" ]; }; };
rules = ( { target = "env"; } );
CONF
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
tb_wait_listen "$TB_SERVER" "$TB_PORT"

cat >"$TB_DIR/env.sh" <<'SH'
#!/bin/sh
echo "$TCPREMOTEIP $TCPREMOTEPORT $TCPLOCALIP $TCPLOCALPORT"
SH
chmod 755 "$TB_DIR/env.sh"
tb_bg "$TB_APP1" "$SB_INETD" --register "$reg:7" "$TB_DIR/env.sh"
tb_wait_log "$TB_BG_LOG" "registered for slot 7"

ask() { # HOST PORT [PROXY HEADER]: the line the applet answers
	tb_in "$TB_CLIENT" timeout "$TB_WAIT" "$PYTHON" -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
if len(sys.argv) > 3:
    s.sendall(sys.argv[3].encode() + b"\r\n")
print(s.makefile().readline().strip())
' "$@"
}
out=$(ask "$TB_SERVER_IP6" "$TB_PORT" "PROXY TCP6 2001:db8::7 2001:db8::1 4242 80")
tb_assert_eq "2001:db8::7 4242 2001:db8::1 80" "$out" "addresses of a v1 header, registered"
out=$(ask "$TB_SERVER_IP6" "$TB_PORT" "PROXY TCP4 192.0.2.7 198.51.100.1 4243 443")
tb_assert_eq "::ffff:192.0.2.7 4243 ::ffff:198.51.100.1 443" "$out" "IPv4 addresses of a header"
out=$(ask "$TB_SERVER_IP6" "$plain")
read -r ip _ lip lport <<<"$out"
tb_assert_eq "$TB_CLIENT_IP6 $TB_SERVER_IP6 $plain" "$ip $lip $lport" "a plain listener's own addresses"
tb_log "ok: a registered socketbox-inetd sees the addresses of the PROXY header"
