#!/bin/bash
# Issue 11: a reload (SIGHUP) keeps the registrations whose slot still exists and whose uid
# is still allowed, and closes the others with a log line: the applet of a removed slot,
# and one whose uid the new allow list leaves out. The kept applet goes on serving.

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

conf() { # the targets: web (slot 80) only while $1 is "with-web"; ssh allows nobody unless "strict"
	cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
register = { path = "$reg"; };
targets = {
	$([[ $1 == with-web ]] && echo 'web = { slot = 80; allow = [ "root" ]; };')
	kept = { slot = 81; allow = [ "root" ]; };
	ssh = { slot = 22; allow = [ "root" $([[ $1 == with-web ]] && echo ', "nobody"') ]; };
};
rules = ( { local = "2001:db8::1"; target = "kept"; } );
CONF
}
conf with-web
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
sb=$TB_BG_PID
sblog=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"

tb_bg "$TB_APP1" "$PYTHON" "$PEER" "$reg" 80
web=$TB_BG_LOG
tb_bg "$TB_APP1" "$PYTHON" "$PEER" "$reg" 81 --answer kept
kept=$TB_BG_LOG
tb_bg "$TB_APP1" setpriv --reuid=nobody --regid=nogroup --clear-groups "$PYTHON" "$PEER" "$reg" 22
ssh=$TB_BG_LOG
for f in "$web" "$kept" "$ssh"; do
	tb_wait_log "$f" registered
done
tb_assert_eq kept "$(tb_client_get 2001:db8::1 80)" "before the reload"

conf strict
kill -HUP "$sb"
tb_wait_log "$sblog" "reloaded"
tb_wait_log "$sblog" "left slot 80 (target web): the slot is no longer configured after the reload"
tb_wait_log "$sblog" "uid 65534 left slot 22 (target ssh): its uid is no longer allowed after the reload"
tb_wait_log "$web" closed
tb_wait_log "$ssh" closed
tb_assert_eq kept "$(tb_client_get 2001:db8::1 80)" "after the reload, by the kept applet"
! grep -q closed "$kept" || tb_fail "the applet of the kept slot was closed"
tb_assert_eq 1 "$(grep -c 'registered for slot 81' "$sblog")" "registrations for slot 81"
