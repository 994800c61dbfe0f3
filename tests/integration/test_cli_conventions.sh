#!/bin/bash
# One command-line convention for every program: --version prints "NAME VERSION" and exits
# 0; an unknown option or a missing argument is said once, under the program's name (not
# also by getopt), followed by the usage, exit status 100; values that would make the
# program fail later are refused at once: socketbox-inetd -u with an unknown user before it
# creates its socket, socketbox-preload -p with a bad port list before the daemon runs.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_exec "$SOCKETBOX" "$SB_INETD" "$SB_RELAY" "$SB_PRELOAD" "$SB_SOCKD"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# run PROG ARGS...: sets RC, OUT, ERR
run() {
	RC=0
	timeout 10 "$@" >"$dir/out" 2>"$dir/err" </dev/null || RC=$?
	OUT=$(cat "$dir/out")
	ERR=$(cat "$dir/err")
}

for prog in "$SOCKETBOX" "$SB_INETD" "$SB_RELAY" "$SB_PRELOAD" "$SB_SOCKD"; do
	name=${prog##*/}
	run "$prog" --version
	tb_assert_eq 0 "$RC" "exit status of $name --version"
	[[ $OUT =~ ^$name\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || tb_fail "$name --version printed '$OUT'"
	run "$prog" -Z
	tb_assert_eq 100 "$RC" "exit status of $name -Z"
	tb_assert_eq "$name: unknown option: -Z" "$(head -n 1 <<<"$ERR")" "first line of $name -Z"
	tb_assert_eq 1 "$(grep -c -- '-Z\|invalid option' <<<"$ERR")" "lines about -Z from $name"
	grep -q '^usage: ' <<<"$ERR" || tb_fail "$name -Z printed no usage: $ERR"
	run "$prog" --no-such-option
	tb_assert_eq 100 "$RC" "exit status of $name --no-such-option"
	tb_assert_eq "$name: unknown option: --no-such-option" "$(head -n 1 <<<"$ERR")" \
		"first line of $name --no-such-option"
done
for prog in "$SB_INETD" "$SB_RELAY" "$SB_PRELOAD" "$SB_SOCKD"; do
	run "$prog" -s
	tb_assert_eq 100 "$RC" "exit status of ${prog##*/} -s without its argument"
	tb_assert_eq "${prog##*/}: option needs an argument: -s" "$(head -n 1 <<<"$ERR")" \
		"first line of ${prog##*/} -s"
done

run "$SB_INETD" -u sb-no-such-user -s "$dir/app.sock" true
tb_assert_eq 100 "$RC" "exit status of socketbox-inetd -u sb-no-such-user"
[[ ! -e $dir/app.sock ]] || tb_fail "socketbox-inetd -u sb-no-such-user created its socket"
run "$SB_PRELOAD" -s "$dir/web-%p.sock" -p abc touch "$dir/ran"
tb_assert_eq 100 "$RC" "exit status of socketbox-preload -p abc"
[[ ! -e $dir/ran ]] || tb_fail "socketbox-preload -p abc ran the program"
tb_log "ok: every program follows the convention"
