#!/bin/bash
# The audit's symlink race on socket files: an applet binding its socket must never
# chmod(2) or chown(2) the path afterwards, since anyone who can write the directory could
# have swapped a symlink in by then (gdb held that window open: a root-owned 0600 file
# became 0666 root:nogroup). The file is born with its mode (umask around bind) and its
# group is set with fchownat(..., AT_SYMLINK_NOFOLLOW). Checked with strace on
# socketbox-inetd -m 0666 -g nogroup, then on the result: mode and group as asked.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

[[ $(id -u) -eq 0 ]] || tb_skip "needs root (a socket file given to another group)"
command -v strace >/dev/null 2>&1 || tb_skip "strace is not installed"
getent group nogroup >/dev/null || tb_skip "no group nogroup"
tb_require_exec "$SB_INETD"
dir=$(mktemp -d)
# strace's child is socketbox-inetd: end it first (a killed strace would leave it running).
stop() {
	pkill -TERM -P "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -rf "$dir"
}
trap stop EXIT

strace -f -qq -o "$dir/trace" -e trace=chmod,fchmodat,chown,fchownat,lchown,fchmod \
	"$SB_INETD" -s "$dir/app.sock" -m 0666 -g nogroup /bin/true 2>"$dir/log" &
pid=$!
for ((i = 0; i < 300; i++)); do
	[[ -S $dir/app.sock ]] && grep -q 'receiving on' "$dir/log" && break
	sleep 0.1
done
grep -q 'receiving on' "$dir/log" || tb_fail "socketbox-inetd did not start: $(cat "$dir/log")"
cat "$dir/trace" >&2

if grep -E '(^|[^a-z])(chmod|fchmodat|chown|lchown)\(' "$dir/trace" | grep -qF "$dir/app.sock"; then
	tb_fail "the socket file was changed by path after bind: $(grep -F "$dir/app.sock" "$dir/trace")"
fi
grep -F "$dir/app.sock" "$dir/trace" | grep 'fchownat(' | grep -q AT_SYMLINK_NOFOLLOW ||
	tb_fail "the group was not set with fchownat(..., AT_SYMLINK_NOFOLLOW)"
tb_assert_eq "666 nogroup" "$(stat -c '%a %G' "$dir/app.sock")" "mode and group of the socket file"
