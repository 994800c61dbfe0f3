#!/bin/bash
# README "Containers", systemd-nspawn recipe: socketbox-inetd in a container with a private
# network (systemd-nspawn --private-network, the registration socket's directory bound to
# /run/socketbox with --bind) registers with socketbox and serves. Then the same with
# --private-users (a user namespace: root in the container is host uid 1000000, which the
# slot's allow list names, as SO_PEERCRED reports host uids).

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
command -v systemd-nspawn >/dev/null ||
	tb_skip "systemd-nspawn is not installed (Debian's systemd-container)"
tb_setup
# The bound directory holds the registration socket and the applet: --volatile=yes shows
# the container only the host's /usr.
run=$TB_DIR/run
mkdir -p "$run"
cp "$SB_INETD" "$run/socketbox-inetd"
chmod -R a+rX "$run"
nspawn() { # nspawn OPTION... COMMAND...: a container on the host's /usr, in the background
	# Started from the host's namespaces, not with tb_bg: "ip netns exec" mounts a sysfs
	# without the cgroup tree, where systemd-nspawn refuses to start.
	log=$TB_DIR/bg-nspawn${#TB_PIDS[@]}.log
	setsid systemd-nspawn -q --directory=/ --volatile=yes --private-network --register=no \
		--keep-unit --bind="$run:/run/socketbox" "$@" </dev/null >"$log" 2>&1 &
	TB_PIDS+=($!)
	tb_log "started [$!]: systemd-nspawn ... $* (log ${log##*/})"
}
probe=$(systemd-nspawn -q --directory=/ --volatile=yes --private-network --register=no \
	--keep-unit sh -c 'echo ok' 2>&1) ||
	tb_skip "systemd-nspawn does not start a container here: $probe"

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
register = { path = "$run/register.sock"; mode = "0666"; };
targets = {
	plain = { slot = 80; allow = [ 0 ]; };
	userns = { slot = 81; allow = [ 1000000 ]; };
};
rules = (
	{ local = "2001:db8::1"; target = "plain"; },
	{ local = "2001:db8::2"; target = "userns"; }
);
CONF
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
sblog=$TB_BG_LOG
tb_wait_log "$sblog" "ready:"

nspawn /run/socketbox/socketbox-inetd --register /run/socketbox/register.sock:80 \
	sh -c 'echo "nspawn $(ip -o link | wc -l) links"'
tb_wait_log "$log" "registered for slot 80"
# --private-network: the container sees only its own loopback.
tb_assert_eq "nspawn 1 links" "$(tb_client_get 2001:db8::1 80)" \
	"a connection served from the container"

# The user namespace needs the bound directory without ID mapping (ownership off).
nspawn --private-users=1000000:65536 --private-users-ownership=off \
	/run/socketbox/socketbox-inetd --register /run/socketbox/register.sock:81 \
	sh -c 'echo "userns uid $(id -u)"'
tb_wait_log "$log" "registered for slot 81"
tb_wait_log "$sblog" "uid 1000000 registered for slot 81"
tb_assert_eq "userns uid 0" "$(tb_client_get 2001:db8::2 80)" \
	"a connection served from the container with --private-users"
tb_log "ok: systemd-nspawn containers, with and without a user namespace, register and serve"
