#!/bin/bash
# The shipped conf/socketbox.service and conf/socketbox.conf work together as installed.
# systemd is not PID 1 here, so setpriv starts the unit's own ExecStartPre and ExecStart
# lines the way systemd would: as its User= and Group= with their supplementary groups,
# its AmbientCapabilities= (inheritable and ambient), its CapabilityBoundingSet= and
# NoNewPrivileges=, in the test bed's server namespace. The configuration is the shipped
# one with /run/socketbox pointed at a scratch directory (the applet runs as the applet
# units run it: root, -m 0660 -g socketbox --allow-uid socketbox).
#   1. ExecStartPre (-c) says "configuration OK"; ExecStart logs "ready:", hands a
#      connection to 2001:db8::22 port 22 to the ssh applet, and then runs as the unit's
#      user with CapEff, CapPrm and CapAmb 0 and NoNewPrivs 1;
#   2. the same file naming the identity the unit already gives (group = "socketbox") is
#      accepted by -c;
#   3. settings the unit gives no capability for (groups, another user, chroot): -c exits 1
#      naming the setting, and ExecStart exits 1 with the same line and "not starting",
#      without ever logging "ready:".
# The unit's user is created from conf/socketbox.sysusers when missing, as installing
# would, and left in place.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
command -v setpriv >/dev/null || tb_skip "setpriv (util-linux) is not installed"
UNIT=$SB_TOP/conf/socketbox.service

# unit_setting NAME: the value of NAME= in the unit (the last one, as systemd reads it).
unit_setting() {
	sed -n "s/^$1=//p" "$UNIT" | tail -n 1
}

user=$(unit_setting User)
group=$(unit_setting Group)
[[ -n $user && -n $group ]] || tb_fail "socketbox.service sets no User= or Group="
if ! getent passwd "$user" >/dev/null; then
	if command -v systemd-sysusers >/dev/null; then
		systemd-sysusers "$SB_TOP/conf/socketbox.sysusers" ||
			tb_fail "systemd-sysusers conf/socketbox.sysusers failed"
	else
		useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "$user" ||
			tb_fail "useradd $user failed"
	fi
	tb_log "created the user $user"
fi
unit_uid=$(id -u "$user")
tb_setup

# setpriv's spelling of the unit's capability lists: "CAP_A CAP_B" -> "+a,+b".
caps() {
	local c out=
	for c in $1; do
		c=${c#CAP_}
		out+=,+${c,,}
	done
	printf '%s' "${out#,}"
}
ambient=$(caps "$(unit_setting AmbientCapabilities)")
bounding=$(caps "$(unit_setting CapabilityBoundingSet)")
[[ -n $ambient && -n $bounding ]] ||
	tb_fail "socketbox.service sets no AmbientCapabilities= or CapabilityBoundingSet="
as_unit=(setpriv --reuid="$user" --regid="$group" --init-groups --inh-caps="$ambient"
	--ambient-caps="$ambient" --bounding-set=-all,"$bounding")
[[ $(unit_setting NoNewPrivileges) == yes ]] && as_unit+=(--no-new-privs)
tb_log "the unit's credentials: ${as_unit[*]}"

# The unit's command lines with the install paths filled in: programs from the build,
# the configuration from $TB_DIR/etc.
mkdir -p "$TB_DIR/etc" "$TB_DIR/run"
chmod 0755 "$TB_DIR/etc" "$TB_DIR/run"
# unit_command NAME: the command line of NAME= as installed, split into words as systemd
# does for a line without quotes.
unit_command() {
	local line
	line=$(unit_setting "$1" | sed -e "s|@SBINDIR@|$SB_TOP/build|g" -e "s|@SYSCONFDIR@|$TB_DIR/etc|g")
	[[ $line != *[\"\'\$]* ]] || tb_fail "$1= has quotes or variables this test does not expand: $line"
	printf '%s\n' "$line"
}
read -ra pre <<<"$(unit_command ExecStartPre)"
read -ra start <<<"$(unit_command ExecStart)"
CONF=$TB_DIR/etc/socketbox.conf
[[ ${pre[*]} == *"-f $CONF"* && ${start[*]} == *"-f $CONF"* ]] ||
	tb_fail "the unit's command lines do not read @SYSCONFDIR@/socketbox.conf: ${pre[*]}; ${start[*]}"

# install_conf [LINE...]: the shipped configuration with the applets' directory in $TB_DIR
# and the port of the test bed, each LINE appended.
install_conf() {
	sed -e "s|/run/socketbox/|$TB_DIR/run/|g" -e "s|^\( *port = \)1;|\1$TB_PORT;|" \
		"$SB_TOP/conf/socketbox.conf" >"$CONF"
	if (($#)); then
		printf '%s\n' "$@" >>"$CONF"
	fi
	chmod 0644 "$CONF"
}

# run_pre: ExecStartPre as the unit would run it; sets RC, OUT, ERR.
run_pre() {
	RC=0
	tb_in "$TB_SERVER" timeout 10 "${as_unit[@]}" "${pre[@]}" >"$TB_DIR/out" 2>"$TB_DIR/err" || RC=$?
	OUT=$(cat "$TB_DIR/out")
	ERR=$(cat "$TB_DIR/err")
	tb_log "ExecStartPre: exit $RC; stdout: $OUT; stderr: ${ERR//$'\n'/ | }"
}

# status_field PID NAME: one line of /proc/PID/status, tabs as spaces.
status_field() {
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr '\t' ' ' | sed 's/ *$//'
}

# ---------------------------------------------------------------- 1: as shipped

install_conf
# The applet as socketbox-inetd@.service starts it (root), answering with what it was handed.
# shellcheck disable=SC2016 # expanded by the per-connection shell
tb_bg "$TB_APP1" "$SB_INETD" -s "$TB_DIR/run/sshd.sock" -m 0660 -g "$group" --allow-uid "$user" \
	sh -c 'echo "ssh applet $TCPLOCALIP $TCPLOCALPORT"'
tb_wait_socket "$TB_DIR/run/sshd.sock"

run_pre
tb_assert_eq 0 "$RC" "exit status of ExecStartPre (-c) as the unit's user"
grep -q 'configuration OK' <<<"$OUT" || tb_fail "ExecStartPre did not say 'configuration OK': $OUT"

tb_bg "$TB_SERVER" "${as_unit[@]}" "${start[@]}"
pid=$TB_BG_PID
tb_wait_log "$TB_BG_LOG" "socketbox: ready:"
tb_alive "$pid" || tb_fail "socketbox exited after ready: $(cat "$TB_BG_LOG")"
out=$(tb_client_get 2001:db8::22 22) || tb_fail "connection to 2001:db8::22 port 22 failed: $out"
tb_assert_eq "ssh applet 2001:db8::22 22" "$out" "the ssh applet's answer through the unit's socketbox"
for set in CapEff CapPrm CapAmb; do
	tb_assert_eq 0000000000000000 "$(status_field "$pid" "$set")" "$set of the running socketbox"
done
tb_assert_eq 1 "$(status_field "$pid" NoNewPrivs)" "NoNewPrivs of the running socketbox"
tb_assert_eq "$unit_uid $unit_uid $unit_uid $unit_uid" "$(status_field "$pid" Uid)" "Uid of the running socketbox"
tb_kill "$pid"

# ---------------------------------------------------------------- 2: the same identity, named

install_conf "group = \"$group\";"
run_pre
tb_assert_eq 0 "$RC" "exit status of -c with group = \"$group\", what the unit gives"

# ---------------------------------------------------------------- 3: what the unit cannot give

for case in 'groups|groups = [ "nogroup" ];' 'user|user = "nobody";' 'chroot|chroot = "/var/empty";'; do
	setting=${case%%|*}
	line=${case#*|}
	install_conf "$line"
	# in place of the shipped user: libconfig refuses a setting given twice
	[[ $setting != user ]] || sed -i '/^user = "socketbox";/d' "$CONF"
	run_pre
	tb_assert_eq 1 "$RC" "exit status of -c with $line"
	msg=$(grep -F "socketbox: $CONF: $setting: " <<<"$ERR") ||
		tb_fail "-c with $line did not name the setting $setting: $ERR"
	[[ -z $OUT ]] || tb_fail "-c with $line still printed: $OUT"

	RC=0
	tb_in "$TB_SERVER" timeout 10 "${as_unit[@]}" "${start[@]}" >"$TB_DIR/out" 2>"$TB_DIR/err" || RC=$?
	ERR=$(cat "$TB_DIR/err")
	tb_log "ExecStart with $line: exit $RC; stderr: ${ERR//$'\n'/ | }"
	tb_assert_eq 1 "$RC" "exit status of ExecStart with $line"
	grep -qxF "$msg" <<<"$ERR" || tb_fail "ExecStart with $line did not say '$msg': $ERR"
	grep -q 'not starting' <<<"$ERR" || tb_fail "ExecStart with $line did not say 'not starting': $ERR"
	if grep -q 'ready:\|not reachable' <<<"$ERR"; then
		tb_fail "ExecStart with $line got as far as the applets before refusing: $ERR"
	fi
done

echo "PASS: the unit's command lines, run as systemd would, check, start, serve and drop every capability; settings the unit cannot give are refused by -c and at start"
