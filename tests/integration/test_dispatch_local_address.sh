#!/bin/bash
# (a) Dispatch by local address: connections to 2001:db8::1 reach the applet in one
# namespace, those to 2001:db8::2 the applet in another, each with the UCSPI environment
# describing the connection as the client dialled it.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
tb_setup

cat >"$TB_DIR/sb.conf" <<CONF
listen = { address = "::"; port = $TB_PORT; transparent = true; };
targets = {
  one = { path = "$TB_DIR/app1.sock"; };
  two = { path = "$TB_DIR/app2.sock"; };
};
rules = (
  { local = "2001:db8::1"; target = "one"; },
  { local = "2001:db8::2"; target = "two"; }
);
CONF

# shellcheck disable=SC2016 # expanded by the per-connection shell
tb_bg "$TB_APP1" "$SB_INETD" -s "$TB_DIR/app1.sock" sh -c 'echo "one $PROTO $TCPLOCALIP $TCPLOCALPORT $TCPREMOTEIP"'
# shellcheck disable=SC2016
tb_bg "$TB_APP2" "$SB_INETD" -s "$TB_DIR/app2.sock" sh -c 'echo "two $PROTO $TCPLOCALIP $TCPLOCALPORT $TCPREMOTEIP"'
tb_wait_socket "$TB_DIR/app1.sock"
tb_wait_socket "$TB_DIR/app2.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
tb_wait_listen "$TB_SERVER" "$TB_PORT"

out=$(tb_client_get 2001:db8::1 22) || tb_fail "2001:db8::1 port 22: $out"
tb_assert_eq "one TCP6 2001:db8::1 22 $TB_CLIENT_IP6" "$out" "applet one's answer"
out=$(tb_client_get 2001:db8::2 8080) || tb_fail "2001:db8::2 port 8080: $out"
tb_assert_eq "two TCP6 2001:db8::2 8080 $TB_CLIENT_IP6" "$out" "applet two's answer"
