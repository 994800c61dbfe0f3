#!/bin/bash
# Socket activation with several listeners: systemd passes two sockets named "web" and
# "admin" in LISTEN_FDNAMES (in the opposite order to the file's listeners), socketbox
# takes each by its listener's name, opens no socket of its own, and the rules by listener
# send each socket's connections to its own applet.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
tb_setup

tb_bg "$TB_APP1" "$SB_INETD" -s "$TB_DIR/web.sock" echo web
tb_bg "$TB_APP2" "$SB_INETD" -s "$TB_DIR/admin.sock" echo admin
tb_wait_socket "$TB_DIR/web.sock"
tb_wait_socket "$TB_DIR/admin.sock"
cat >"$TB_DIR/sb.conf" <<CONF
listen = ( { name = "web"; }, { name = "admin"; } );
targets = {
  web = { path = "$TB_DIR/web.sock"; };
  admin = { path = "$TB_DIR/admin.sock"; };
};
rules = (
  { listener = "admin"; target = "admin"; },
  { listener = "web"; target = "web"; }
);
CONF
tb_bg "$TB_SERVER" "$PYTHON" "$SB_TOP/tests/integration/helpers/activate.py" 7001:admin,7000:web \
	"$SOCKETBOX" -f "$TB_DIR/sb.conf"
log=$TB_BG_LOG
tb_wait_log "$log" 'pid:'
tb_assert_eq "notify: READY=1" "$(grep "^notify:" "$log" | sed -n 1p)" "readiness notification"

ask() {
	tb_in "$TB_SERVER" timeout "$TB_WAIT" socat -u "TCP6:[::1]:$1,connect-timeout=$TB_WAIT" -
}
tb_assert_eq web "$(ask 7000)" "answer through the activated socket named web"
tb_assert_eq admin "$(ask 7001)" "answer through the activated socket named admin"
listeners=$(tb_in "$TB_SERVER" ss -Hltnp | grep -c '"socketbox"' || true)
tb_assert_eq 2 "$listeners" "listening sockets held by socketbox"
grep -q 'on web descriptor 4, admin descriptor 3,' "$log" ||
	tb_fail "the start line does not show each listener on its named descriptor"
if grep -q "socket activation" "$log"; then
	tb_fail "socketbox warned: $(grep "socket activation" "$log")"
fi
