#!/bin/bash
# Issue 11: socketbox running as user nobody without any capability (its registration
# socket made before it dropped them) takes registrations from an applet in a user and
# network namespace of its own, mapped like rootless podman (unshare -U -r -n: uid 0 inside
# is the host's nobody). SO_PEERCRED reports the host uid: the applet registers as nobody,
# and a slot that allows only root refuses it although it is "root" in its namespace.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX"
command -v setpriv >/dev/null || tb_skip "setpriv is not installed"
command -v unshare >/dev/null || tb_skip "unshare is not installed"
setpriv --reuid=nobody --regid=nogroup --clear-groups unshare -U -r -n true 2>/dev/null ||
	tb_skip "unprivileged user namespaces are not available here"
tb_setup
PEER=$TB_DIR/reg_peer.py
cp "$SB_TOP/tests/integration/helpers/reg_peer.py" "$PEER"
reg=$TB_DIR/register.sock

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
user = "nobody";
group = "nogroup";
register = { path = "$reg"; mode = "0666"; };
targets = {
	web = { slot = 80; allow = [ "nobody" ]; };
	rootonly = { slot = 81; allow = [ "root" ]; };
};
rules = ( { local = "2001:db8::1"; target = "web"; } );
CONF
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
sb=$TB_BG_PID
sblog=$TB_BG_LOG
tb_wait_log "$sblog" "ready:"
tb_assert_eq 0000000000000000 "$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$sb/status")" \
	"socketbox's effective capabilities"
tb_assert_eq "$(id -u nobody)" "$(awk '/^Uid:/ {print $2}' "/proc/$sb/status")" "socketbox's uid"

rootless() { # a command as host nobody, uid 0 in a user and network namespace of its own
	setpriv --reuid=nobody --regid=nogroup --clear-groups unshare -U -r -n "$@"
}
tb_assert_eq "0 refused" "$(rootless sh -c 'id -u; exec "$0" "$@"' "$PYTHON" "$PEER" "$reg" 81 | xargs)" \
	"namespace root registering for a slot that allows only root"
tb_wait_log "$sblog" "uid $(id -u nobody) slot 81: uid not in the slot's allow list"

tb_bg "$TB_SERVER" setpriv --reuid=nobody --regid=nogroup --clear-groups unshare -U -r -n \
	"$PYTHON" "$PEER" "$reg" 80 --answer rootless
tb_wait_log "$TB_BG_LOG" registered
tb_wait_log "$sblog" "uid $(id -u nobody) registered for slot 80"
tb_assert_eq rootless "$(tb_client_get 2001:db8::1 80)" "a connection served by the rootless applet"
