#!/bin/bash
# The shipped systemd units (conf/*.service, conf/*.socket) pass `systemd-analyze verify`
# with @SBINDIR@ pointed at the built binaries, and agree with each other and the files
# installed with them:
#   - socketbox.service has the hardening socketbox relies on, runs as the user that
#     conf/socketbox.sysusers creates and conf/socketbox.conf names, and has no
#     RuntimeDirectory= (that would give /run/socketbox to that user);
#   - socketbox-inetd@.service (daemons) is sandboxed; socketbox-inetd-login@.service (login
#     sessions) has none of ProtectHome=, PrivateTmp=, RestrictAddressFamilies=; both share
#     /run/socketbox with RuntimeDirectoryPreserve=yes;
#   - socketbox-sockd.service is hardened like socketbox.service but keeps the host's
#     network (no PrivateNetwork=), checks its file first and shares /run/socketbox;
#   - systemd-sysusers and systemd-tmpfiles, applied to a scratch root, create the socketbox
#     user and group (no login shell) and /run/socketbox (0755 root:root).

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

for c in systemd-analyze systemd-sysusers systemd-tmpfiles; do
	command -v "$c" >/dev/null || tb_skip "$c is not installed"
done
tb_require_exec "$SOCKETBOX" "$SB_INETD" "$SB_SOCKD"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
conf=$SB_TOP/conf
units=(socketbox.service socketbox.socket socketbox-inetd@.service socketbox-inetd-login@.service
	socketbox-sockd.service)
for unit in "${units[@]}"; do
	sed -e "s|@SBINDIR@|$SB_TOP/build|g" -e "s|@SYSCONFDIR@|/etc|g" "$conf/$unit" >"$dir/$unit"
	if grep -n '@[A-Z]*@' "$dir/$unit"; then
		tb_fail "$unit has a placeholder that make install does not fill in"
	fi
done
cp "$dir/socketbox-inetd@.service" "$dir/socketbox-inetd@git.service"
cp "$dir/socketbox-inetd-login@.service" "$dir/socketbox-inetd-login@sshd.service"
out=$(cd "$dir" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no \
	./socketbox.service ./socketbox.socket ./socketbox-inetd@git.service \
	./socketbox-inetd-login@sshd.service ./socketbox-sockd.service 2>&1) ||
	tb_fail "systemd-analyze verify failed: $out"
[[ -z $out ]] || tb_fail "systemd-analyze verify complained: $out"
tb_log "ok: units verify clean"

# has UNIT SETTING: the unit has the line SETTING exactly.
has() {
	grep -qx -- "$2" "$conf/$1"
}

for setting in Type=notify NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes \
	'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' SystemCallFilter=@system-service \
	User=socketbox Group=socketbox \
	'ExecStartPre=@SBINDIR@/socketbox -c -f @SYSCONFDIR@/socketbox.conf' \
	'ExecStart=@SBINDIR@/socketbox -f @SYSCONFDIR@/socketbox.conf'; do
	has socketbox.service "$setting" || tb_fail "socketbox.service lacks $setting"
done
if grep -q '^RuntimeDirectory' "$conf/socketbox.service"; then
	tb_fail "socketbox.service sets RuntimeDirectory=: /run/socketbox would belong to its user"
fi
# What the unit grants is what the configuration may ask for: the same user, no chroot.
grep -qx 'user = "socketbox";' "$conf/socketbox.conf" ||
	tb_fail "conf/socketbox.conf does not name the unit's user socketbox"
if grep -Eq '^[[:space:]]*(group|groups|chroot)[[:space:]]*=' "$conf/socketbox.conf"; then
	tb_fail "conf/socketbox.conf sets group, groups or chroot, which socketbox.service cannot apply"
fi
tb_log "ok: socketbox.service and socketbox.conf agree on the identity"

for unit in socketbox-inetd@.service socketbox-inetd-login@.service; do
	for setting in Type=notify RuntimeDirectory=socketbox RuntimeDirectoryPreserve=yes \
		RuntimeDirectoryMode=0755; do
		has "$unit" "$setting" || tb_fail "$unit lacks $setting"
	done
done
for setting in ProtectHome=read-only PrivateTmp=yes ProtectSystem=full \
	'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX'; do
	has socketbox-inetd@.service "$setting" || tb_fail "socketbox-inetd@.service lacks $setting"
done
if grep -Eq '^(ProtectHome|PrivateTmp|RestrictAddressFamilies|ProtectSystem)=' \
	"$conf/socketbox-inetd-login@.service"; then
	tb_fail "socketbox-inetd-login@.service sandboxes the login sessions it starts"
fi
tb_log "ok: the applet units share /run/socketbox; only the daemon one is sandboxed"

for setting in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
	'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' SystemCallFilter=@system-service \
	RestrictNamespaces=yes MemoryDenyWriteExecute=yes RuntimeDirectory=socketbox \
	RuntimeDirectoryPreserve=yes RuntimeDirectoryMode=0755 \
	'ExecStartPre=@SBINDIR@/socketbox-sockd -c -f @SYSCONFDIR@/socketbox-sockd.conf' \
	'ExecStart=@SBINDIR@/socketbox-sockd -f @SYSCONFDIR@/socketbox-sockd.conf'; do
	has socketbox-sockd.service "$setting" || tb_fail "socketbox-sockd.service lacks $setting"
done
if grep -Eq '^(PrivateNetwork|User|DynamicUser)=' "$conf/socketbox-sockd.service"; then
	tb_fail "socketbox-sockd.service leaves the host's network or root's /run/socketbox"
fi
tb_log "ok: socketbox-sockd.service is hardened and keeps the network"

mkdir -p "$dir/root/etc"
out=$(systemd-sysusers --root="$dir/root" "$conf/socketbox.sysusers" 2>&1) ||
	tb_fail "systemd-sysusers failed: $out"
line=$(grep '^socketbox:' "$dir/root/etc/passwd") ||
	tb_fail "systemd-sysusers created no user socketbox: $out"
[[ $line == *nologin ]] || tb_fail "the socketbox user can log in: $line"
grep -q '^socketbox:' "$dir/root/etc/group" || tb_fail "systemd-sysusers created no group socketbox"
tb_log "ok: sysusers.d creates $line"
out=$(systemd-tmpfiles --create --root="$dir/root" "$conf/socketbox.tmpfiles" 2>&1) ||
	tb_fail "systemd-tmpfiles failed: $out"
tb_assert_eq "755 0 0" "$(stat -c '%a %u %g' "$dir/root/run/socketbox")" \
	"mode, owner and group of /run/socketbox from tmpfiles.d"
echo "PASS: the units verify and agree with socketbox.conf, sysusers.d and tmpfiles.d"
