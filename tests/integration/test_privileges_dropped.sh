#!/bin/bash
# (i) After start-up the acceptor holds no capability and cannot regain one:
#   1. started as root with `user = "nobody"; group = "nogroup";` and a transparent listener
#      (which needs CAP_NET_ADMIN to open): /proc/PID/status shows CapInh, CapPrm, CapEff,
#      CapBnd and CapAmb all zero, NoNewPrivs 1, every Uid/Gid field nobody/nogroup and no
#      supplementary group; and it still hands a connection to an applet (socket mode 0666);
#   2. with no user configured (it stays uid 0): the capability sets are still all zero and
#      NoNewPrivs is 1, and it still serves;
#   3. quick mode `socketbox -l :: -p PORT -t -S PATH -u nobody -g nogroup` drops the same way
#      and serves.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
NOBODY_UID=$(id -u nobody 2>/dev/null) || tb_skip "there is no user 'nobody' here"
NOGROUP_GID=$(getent group nogroup | cut -d: -f3)
[[ -n $NOGROUP_GID ]] || tb_skip "there is no group 'nogroup' here"
tb_setup

# wait_ready LOG: the acceptor logs "ready" after dropping its privileges.
wait_ready() {
	tb_until "$TB_WAIT" grep -q '^socketbox: ready' "$1" ||
		tb_fail "the acceptor did not log 'ready' within $TB_WAIT s: $(cat "$1")"
}

# status_field PID NAME: the value of one line of /proc/PID/status, tabs as spaces.
status_field() {
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr '\t' ' ' | sed 's/ *$//'
}

# check_dropped PID UID GID WHAT: no capability in any set, no_new_privs, the identity.
check_dropped() {
	local pid=$1 uid=$2 gid=$3 what=$4 set
	tb_alive "$pid" || tb_fail "$what: the acceptor is not running"
	for set in CapInh CapPrm CapEff CapBnd CapAmb; do
		tb_assert_eq 0000000000000000 "$(status_field "$pid" "$set")" "$what: $set"
	done
	tb_assert_eq 1 "$(status_field "$pid" NoNewPrivs)" "$what: NoNewPrivs"
	tb_assert_eq "$uid $uid $uid $uid" "$(status_field "$pid" Uid)" "$what: Uid (real effective saved fs)"
	tb_assert_eq "$gid $gid $gid $gid" "$(status_field "$pid" Gid)" "$what: Gid (real effective saved fs)"
}

# serves WHAT: a connection through the acceptor reaches the applet.
serves() {
	local out
	out=$(tb_client_get 2001:db8::7 8443) || tb_fail "$1: connection to 2001:db8::7 port 8443 failed: $out"
	tb_assert_eq "app 2001:db8::7 8443" "$out" "$1: the applet's answer"
}

# The applet's socket must be writable by nobody: mode 0666 (its directory is 0755).
# shellcheck disable=SC2016 # expanded by the per-connection shell
tb_bg "$TB_APP1" "$SB_INETD" -s "$TB_DIR/app.sock" -m 0666 sh -c 'echo "app $TCPLOCALIP $TCPLOCALPORT"'
tb_wait_socket "$TB_DIR/app.sock"

# ---------------------------------------------------------------- 1: user and group set

cat >"$TB_DIR/nobody.conf" <<CONF
listen = { address = "::"; port = $TB_PORT; transparent = true; };
user = "nobody";
group = "nogroup";
targets = { app = { path = "$TB_DIR/app.sock"; }; };
rules = ( { local = "2001:db8::/32"; target = "app"; } );
CONF
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/nobody.conf"
pid=$TB_BG_PID
tb_wait_listen "$TB_SERVER" "$TB_PORT"
wait_ready "$TB_BG_LOG"
check_dropped "$pid" "$NOBODY_UID" "$NOGROUP_GID" "config with user nobody"
tb_assert_eq "" "$(status_field "$pid" Groups)" "config with user nobody: supplementary groups"
serves "config with user nobody"
serves "config with user nobody (again)"
check_dropped "$pid" "$NOBODY_UID" "$NOGROUP_GID" "config with user nobody, after serving"
tb_kill "$pid"
tb_alive "$pid" && tb_fail "the acceptor did not stop on SIGTERM"

# ---------------------------------------------------------------- 2: no user: stays uid 0

cat >"$TB_DIR/root.conf" <<CONF
listen = { address = "::"; port = $TB_PORT; transparent = true; };
targets = { app = { path = "$TB_DIR/app.sock"; }; };
rules = ( { local = "2001:db8::/32"; target = "app"; } );
CONF
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/root.conf"
pid=$TB_BG_PID
tb_wait_listen "$TB_SERVER" "$TB_PORT"
wait_ready "$TB_BG_LOG"
check_dropped "$pid" 0 0 "config without a user"
serves "config without a user"
tb_kill "$pid"

# ---------------------------------------------------------------- 3: quick mode

tb_bg "$TB_SERVER" "$SOCKETBOX" -l :: -p "$TB_PORT" -t -S "$TB_DIR/app.sock" -u nobody -g nogroup
pid=$TB_BG_PID
tb_wait_listen "$TB_SERVER" "$TB_PORT"
wait_ready "$TB_BG_LOG"
check_dropped "$pid" "$NOBODY_UID" "$NOGROUP_GID" "quick mode -u nobody -g nogroup"
tb_assert_eq "" "$(status_field "$pid" Groups)" "quick mode: supplementary groups"
serves "quick mode -u nobody -g nogroup"
tb_kill "$pid"

echo "PASS: the acceptor drops every capability, sets no_new_privs and switches identity, and still serves"
