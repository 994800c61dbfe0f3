#!/bin/bash
# README "Containers", rootless recipe (what rootless podman does, without podman, whose
# runtime does not start on every machine): socketbox runs as nobody without capabilities;
# socketbox-inetd runs as host user nobody in a user, network and mount namespace of its own
# (unshare -U -r -n -m: uid 0 inside is host nobody), with the registration socket's
# directory bind-mounted to /run/socketbox inside, and registers with --register. socketbox
# authorises it by its host uid (SO_PEERCRED) and hands it connections to serve.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
command -v setpriv >/dev/null || tb_skip "setpriv is not installed"
command -v unshare >/dev/null || tb_skip "unshare is not installed"
setpriv --reuid=nobody --regid=nogroup --clear-groups unshare -U -r -n -m true 2>/dev/null ||
	tb_skip "unprivileged user namespaces are not available here"
tb_setup
# The container's image: the applet, readable by nobody (the checkout may not be).
mkdir -p "$TB_DIR/image" "$TB_DIR/host-run" "$TB_DIR/image/run"
cp "$SB_INETD" "$TB_DIR/image/socketbox-inetd"
chmod -R a+rX "$TB_DIR/image"
reg=$TB_DIR/host-run/register.sock

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
user = "nobody";
group = "nogroup";
register = { path = "$reg"; mode = "0666"; };
targets = { web = { slot = 80; allow = [ "nobody" ]; }; };
rules = ( { local = "2001:db8::1"; target = "web"; } );
CONF
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
sblog=$TB_BG_LOG
tb_wait_log "$sblog" "ready:"

# podman run --userns=... -v /run/socketbox:/run/socketbox image socketbox-inetd ..., by hand.
tb_bg "$TB_SERVER" setpriv --reuid=nobody --regid=nogroup --clear-groups \
	unshare -U -r -n -m sh -c '
		mount --bind "$1/host-run" "$1/image/run" &&
		exec "$1/image/socketbox-inetd" --register "$1/image/run/register.sock:80" \
			sh -c "echo \"rootless uid \$(id -u)\""' sh "$TB_DIR"
applog=$TB_BG_LOG
tb_wait_log "$applog" "registered for slot 80 at $TB_DIR/image/run/register.sock"
tb_wait_log "$sblog" "uid $(id -u nobody) registered for slot 80"
tb_assert_eq "rootless uid 0" "$(tb_client_get 2001:db8::1 80)" \
	"a connection served by the applet, root in its user namespace"
tb_log "ok: a rootless-style container registered by its host uid and serves"
