#!/bin/bash
# `make install` and `make uninstall` as a packager runs them:
#   make install DESTDIR=$tmp/root PREFIX=/usr CFLAGS=-O1 LDFLAGS=-Wl,-z,now
# built in a scratch build directory (BUILD=$tmp/build), so the checkout's build/ and the
# tests that use it are never touched.
#   - exactly the expected files are installed: the four programs (0755), the preload
#     library, the manual pages, the five systemd units, the sysusers.d and tmpfiles.d
#     files and the example configurations (0644);
#   - the units name /usr/sbin and /etc, with no @PLACEHOLDER@ and no /usr/local left;
#   - the packager's flags are used and the required ones added: -O1 and -std=c11 both in
#     the build's flags, -Werror exactly when WERROR=1, the preload library linked with
#     LDFLAGS (BIND_NOW), the wrapper pointing at /usr/lib/socketbox;
#   - `make uninstall` with the same variables leaves no file behind.
# Needs no root and no namespaces.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v readelf >/dev/null || tb_skip "readelf (binutils) is not installed"
tmp=$(mktemp -d /tmp/socketbox-install.XXXXXX) || tb_fail "mktemp -d failed"
trap 'rm -rf -- "$tmp"' EXIT
root=$tmp/root

# sb_make TARGET: make in the checkout with the packager's variables. Not a sub-make of a
# running `make check`: its jobserver and command-line variables stay out.
sb_make() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$SB_TOP" -j2 BUILD="$tmp/build" \
		DESTDIR="$root" PREFIX=/usr CFLAGS=-O1 LDFLAGS=-Wl,-z,now "$@" >"$tmp/make.log" 2>&1 ||
		tb_fail "make $* failed: $(tail -n 30 "$tmp/make.log")"
}

sb_make install
tb_log "make install done"

expected=$(sort <<'EOF'
usr/lib/socketbox/libsocketbox-preload.so 644
usr/lib/systemd/system/socketbox-inetd-login@.service 644
usr/lib/systemd/system/socketbox-inetd@.service 644
usr/lib/systemd/system/socketbox-sockd.service 644
usr/lib/systemd/system/socketbox.service 644
usr/lib/systemd/system/socketbox.socket 644
usr/lib/sysusers.d/socketbox.conf 644
usr/lib/tmpfiles.d/socketbox.conf 644
usr/sbin/socketbox 755
usr/sbin/socketbox-inetd 755
usr/sbin/socketbox-preload 755
usr/sbin/socketbox-relay 755
usr/sbin/socketbox-sockd 755
usr/share/doc/socketbox/socketbox-sockd.conf 644
usr/share/doc/socketbox/socketbox.conf 644
usr/share/man/man5/socketbox.conf.5 644
usr/share/man/man8/socketbox-inetd.8 644
usr/share/man/man8/socketbox-preload.8 644
usr/share/man/man8/socketbox-relay.8 644
usr/share/man/man8/socketbox-sockd.8 644
usr/share/man/man8/socketbox.8 644
EOF
)
got=$(cd "$root" && find . ! -type d -printf '%P %m\n' | sort)
[[ $got == "$expected" ]] || tb_fail "installed files differ from the expected ones: $(diff <(echo "$expected") <(echo "$got"))"
tb_log "ok: the expected $(wc -l <<<"$got") files, with their modes"

units=$root/usr/lib/systemd/system
if grep -n '@[A-Z]*@\|/usr/local' "$units"/*; then
	tb_fail "an installed unit still has a placeholder or /usr/local"
fi
grep -qx 'ExecStart=/usr/sbin/socketbox -f /etc/socketbox.conf' "$units/socketbox.service" ||
	tb_fail "socketbox.service does not run /usr/sbin/socketbox -f /etc/socketbox.conf"
for unit in socketbox-inetd@.service socketbox-inetd-login@.service; do
	grep -q '^ExecStart=/usr/sbin/socketbox-inetd ' "$units/$unit" ||
		tb_fail "$unit does not run /usr/sbin/socketbox-inetd"
	grep -qx 'EnvironmentFile=/etc/socketbox/inetd-%i.conf' "$units/$unit" ||
		tb_fail "$unit does not read /etc/socketbox/inetd-%i.conf"
done
grep -qx 'ExecStart=/usr/sbin/socketbox-sockd -f /etc/socketbox-sockd.conf' \
	"$units/socketbox-sockd.service" ||
	tb_fail "socketbox-sockd.service does not run /usr/sbin/socketbox-sockd -f /etc/socketbox-sockd.conf"
for conf in socketbox.conf socketbox-sockd.conf; do
	cmp -s "$SB_TOP/conf/$conf" "$root/usr/share/doc/socketbox/$conf" ||
		tb_fail "the example configuration $conf is not conf/$conf"
done
tb_log "ok: the units name /usr/sbin and /etc"

flags=$(cat "$tmp/build/.flags")
[[ " $flags " == *" -O1 "* && " $flags " == *" -std=c11 "* ]] ||
	tb_fail "CFLAGS=-O1 did not keep the required flags, or was not used: $flags"
if [[ ${WERROR:-} == 1 ]]; then
	[[ " $flags " == *" -Werror "* ]] || tb_fail "WERROR=1 but no -Werror: $flags"
else
	[[ " $flags " != *" -Werror "* ]] || tb_fail "-Werror without WERROR=1: $flags"
fi
readelf -d "$root/usr/lib/socketbox/libsocketbox-preload.so" | grep -q BIND_NOW ||
	tb_fail "the preload library was not linked with LDFLAGS (-Wl,-z,now)"
grep -qaF /usr/lib/socketbox/libsocketbox-preload.so "$root/usr/sbin/socketbox-preload" ||
	tb_fail "socketbox-preload does not point at /usr/lib/socketbox/libsocketbox-preload.so"
"$root/usr/sbin/socketbox" --version >/dev/null || tb_fail "the installed socketbox does not run"
tb_log "ok: the packager's flags, and the required ones, were used: $flags"

sb_make uninstall
left=$(cd "$root" && find . ! -type d -printf '%P\n')
[[ -z $left ]] || tb_fail "make uninstall left files behind: $left"
for d in usr/lib/socketbox usr/share/doc/socketbox; do
	[[ ! -e $root/$d ]] || tb_fail "make uninstall left socketbox's own directory $d"
done
echo "PASS: make install puts programs, library, manual pages, units (with /usr/sbin), sysusers.d, tmpfiles.d and the example where a package wants them, with the packager's flags; make uninstall removes them"
