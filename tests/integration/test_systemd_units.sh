#!/bin/bash
# The shipped systemd units (conf/*.service, conf/*.socket) pass `systemd-analyze verify`
# with their ExecStart paths pointed at the built binaries; and the service's hardening
# settings that socketbox relies on are present.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v systemd-analyze >/dev/null || tb_skip "systemd-analyze is not installed"
tb_require_exec "$SOCKETBOX" "$SB_INETD"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for unit in socketbox.service socketbox.socket socketbox-inetd@.service; do
	sed -e "s|/usr/local/sbin/socketbox-inetd|$SB_INETD|g" \
		-e "s|/usr/local/sbin/socketbox |$SOCKETBOX |g" "$SB_TOP/conf/$unit" >"$dir/$unit"
done
cp "$dir/socketbox-inetd@.service" "$dir/socketbox-inetd@sshd.service"
out=$(cd "$dir" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no \
	./socketbox.service ./socketbox.socket ./socketbox-inetd@sshd.service 2>&1) ||
	tb_fail "systemd-analyze verify failed: $out"
[[ -z $out ]] || tb_fail "systemd-analyze verify complained: $out"
for setting in Type=notify NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes \
	'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' SystemCallFilter=@system-service; do
	grep -qx -- "$setting" "$SB_TOP/conf/socketbox.service" || tb_fail "socketbox.service lacks $setting"
done
tb_log "ok: units verify clean"
