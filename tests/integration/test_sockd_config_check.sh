#!/bin/bash
# socketbox-sockd -c: a good file is OK with its rule counts; a bad one prints every error
# as FILE:LINE: SETTING: message and exits 1, and socketbox-sockd does not start with it
# (no socket is created). A live socket at the path is not taken over. The example that
# make install ships, conf/socketbox-sockd.conf, is OK.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_exec "$SB_SOCKD"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

cat >"$dir/good.conf" <<'EOF'
socket_mode = "0660";
connect = ( { remote = [ "192.0.2.0/24", "2001:db8::/32" ]; remote_port = (80, "8000-8099");
	      user = "root"; uid = [ 1000, 1001 ]; protocol = "tcp"; action = "allow"; } );
bind = ( { local = "::"; local_port = 53; action = "deny"; } );
EOF
out=$("$SB_SOCKD" -c -f "$dir/good.conf" 2>&1) || tb_fail "the good file was refused: $out"
tb_assert_eq "socketbox-sockd: $dir/good.conf: configuration OK (6 connect rules, 1 bind rules)" \
	"$out" "socketbox-sockd -c of a good file"

out=$("$SB_SOCKD" -c -f "$SB_TOP/conf/socketbox-sockd.conf" 2>&1) ||
	tb_fail "the shipped example was refused: $out"
tb_log "ok: $out"

cat >"$dir/bad.conf" <<'EOF'
socket = "relative.sock";
connect = (
	{ remote = "300.1.1.1"; remote_port = 70000; action = "allow"; },
	{ remote = "10.0.0.0/8"; user = "sb-no-such-user"; protocol = "sctp"; action = "permit"; },
	{ remote = "10.0.0.0/8"; lokal = "::1"; }
);
bnd = ();
EOF
rc=0
out=$("$SB_SOCKD" -c -f "$dir/bad.conf" 2>&1) || rc=$?
tb_assert_eq 1 "$rc" "exit status of socketbox-sockd -c of a bad file"
for want in \
	"bad.conf:1: socket: \"relative.sock\" is not an absolute path" \
	"bad.conf:3: connect[0].remote: \"300.1.1.1\" is not an address or prefix" \
	"bad.conf:3: connect[0].remote_port: 70000 is out of range (0 to 65535)" \
	"bad.conf:4: connect[1].user: no such user \"sb-no-such-user\"" \
	"bad.conf:4: connect[1].protocol: \"sctp\" is not \"tcp\" or \"udp\"" \
	"bad.conf:4: connect[1].action: \"permit\" is not \"allow\" or \"deny\"" \
	"bad.conf:5: connect[2]: unknown setting \"lokal\"" \
	"bad.conf:5: connect[2]: needs an action (\"allow\" or \"deny\")" \
	"bad.conf:7: top level: unknown setting \"bnd\""; do
	grep -qF -- "$want" <<<"$out" || tb_fail "no '$want' in: $out"
done

rc=0
out=$("$SB_SOCKD" -f "$dir/bad.conf" -s "$dir/sockd.sock" 2>&1) || rc=$?
tb_assert_eq 1 "$rc" "exit status of socketbox-sockd started with a bad file"
grep -q "configuration has errors; not starting" <<<"$out" || tb_fail "no 'not starting' in: $out"
[[ ! -e $dir/sockd.sock ]] || tb_fail "socketbox-sockd created its socket with a bad file"

# A live socket at the path (another server's) is an error, exit 111.
"$PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(sys.argv[1]); s.listen(1); print("ready", flush=True); time.sleep(30)
' "$dir/live.sock" >"$dir/live.out" &
live=$!
tb_until "$TB_WAIT" grep -q ready "$dir/live.out" || tb_fail "the live socket did not appear"
rc=0
out=$(timeout 10 "$SB_SOCKD" -f "$dir/good.conf" -s "$dir/live.sock" 2>&1) || rc=$?
kill "$live"
wait "$live" 2>/dev/null || true
tb_assert_eq 111 "$rc" "exit status of socketbox-sockd on another server's live socket"
grep -q "unable to bind $dir/live.sock" <<<"$out" || tb_fail "no bind error in: $out"
tb_log "ok: errors name file, line and setting; nothing starts with them"
