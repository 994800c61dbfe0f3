#!/bin/bash
# listen.workers in `socketbox -c`: 1 to 64 is accepted (in one listener group, or the same
# number in several, or given once); 0, 65, a string, two different numbers in two listener
# groups and workers > 1 with registration (register, slot) are refused with exit 1 and
# FILE:LINE: SETTING: naming the line of the workers setting. Needs neither root nor
# namespaces.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_exec "$SOCKETBOX"
TB_DIR=$(mktemp -d /tmp/socketbox-test.XXXXXX) || tb_fail "mktemp -d failed"
trap 'rm -rf -- "$TB_DIR"' EXIT
F=$TB_DIR/sb.conf

# write LISTEN [EXTRA]: a file whose line 2 is LISTEN
write() {
	printf '# workers\n%s\ntargets = { web = { %s }; };\ndefault = "web";\n%s\n' "$1" \
		"${3:-path = \"$TB_DIR/web.sock\";}" "${2:-}" >"$F"
}

ok() { # LISTEN: accepted
	local out rc=0
	write "$1"
	out=$("$SOCKETBOX" -c -f "$F" 2>&1) || rc=$?
	tb_assert_eq 0 "$rc" "exit status of -c with: $1 ($out)"
	[[ $out == *"configuration OK"* ]] || tb_fail "-c does not say OK for: $1 ($out)"
}

bad() { # LISTEN EXPECTED [EXTRA [TARGET]]: refused with "$F:2: EXPECTED"
	local out rc=0
	write "$1" "${3:-}" "${4:-}"
	out=$("$SOCKETBOX" -c -f "$F" 2>&1) || rc=$?
	tb_assert_eq 1 "$rc" "exit status of -c with: $1"
	[[ $out == *"$F:2: $2"* ]] || tb_fail "-c does not say '$F:2: $2' for: $1 ($out)"
	tb_log "ok: refused: ${out%%$'\n'*}"
}

ok 'listen = { port = 8080; workers = 1; };'
ok 'listen = { port = 8080; workers = 64; };'
ok 'listen = ( { port = 8080; workers = 4; }, { name = "b"; port = 8081; workers = 4; } );'
ok 'listen = ( { port = 8080; workers = 4; }, { name = "b"; port = 8081; } );'
bad 'listen = { port = 8080; workers = 0; };' 'listen.workers: 0 is out of range (1 to 64)'
bad 'listen = { port = 8080; workers = 65; };' 'listen.workers: 65 is out of range (1 to 64)'
bad 'listen = { port = 8080; workers = "2"; };' 'listen.workers: must be a number'
bad 'listen = ( { port = 8080; workers = 2; }, { name = "b"; port = 8081; workers = 3; } );' \
	'listen[1].workers: is 3 here but 2 in an earlier listener'
bad 'listen = { port = 8080; workers = 2; };' \
	'listen.workers: 2 worker processes cannot serve registered applets' \
	"register = { path = \"$TB_DIR/reg.sock\"; };" 'slot = 80; allow = [ 0 ];'
