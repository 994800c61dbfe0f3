#!/bin/bash
# Target paths: a template filled from the local address and port picks a per-tenant applet
# socket ("%l4" = last 4 hex digits of the address, "%p" = port); a list of paths falls back
# to the second when the first applet is not there, and returns to the first once it is.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
tb_setup

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
targets = {
  tenant = { path = "$TB_DIR/tenant-%l4-%p.sock"; };
  pair   = { path = [ "$TB_DIR/first.sock", "$TB_DIR/second.sock" ]; };
};
rules = (
  { local = "2001:db8:100::/64"; local_port = [ 80, 443 ]; target = "tenant"; },
  { local = "2001:db8::9"; target = "pair"; }
);
CONF

tb_bg "$TB_APP1" "$SB_INETD" -s "$TB_DIR/tenant-00aa-80.sock" echo tenant-aa-80
tb_bg "$TB_APP2" "$SB_INETD" -s "$TB_DIR/tenant-00bb-443.sock" echo tenant-bb-443
tb_bg "$TB_APP2" "$SB_INETD" -s "$TB_DIR/second.sock" echo second
for s in tenant-00aa-80 tenant-00bb-443 second; do tb_wait_socket "$TB_DIR/$s.sock"; done
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
tb_wait_listen "$TB_SERVER" "$TB_PORT"

tb_assert_eq tenant-aa-80 "$(tb_client_get 2001:db8:100::aa 80)" "template for ::aa port 80"
tb_assert_eq tenant-bb-443 "$(tb_client_get 2001:db8:100::bb 443)" "template for ::bb port 443"
# A tenant whose applet does not exist: reset, not a hang.
tb_assert_eq reset "$(tb_client_probe 2001:db8:100::cc 80)" "template without an applet"

tb_assert_eq second "$(tb_client_get 2001:db8::9 22)" "fallback while the first path is absent"
tb_bg "$TB_APP1" "$SB_INETD" -s "$TB_DIR/first.sock" echo first
tb_wait_socket "$TB_DIR/first.sock"
tb_assert_eq first "$(tb_client_get 2001:db8::9 22)" "first path once its applet is up"
