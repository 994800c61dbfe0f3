#!/bin/bash
# socketbox-sockd's policy and robustness, with python speaking the wire protocol of
# socketbox-sockd(8) directly (a non-preload client, as a Go or Rust program would):
#   - the rules are per uid (SO_PEERCRED): root may connect, nobody gets status 2 (denied)
#     and, through the preload, EACCES; both logged with the uid;
#   - malformed requests (short, unknown version, reserved bytes set, a descriptor
#     attached) get status 1 and a log line, and the next request is served;
#   - SIGHUP reloads the rules: nobody is allowed afterwards; a broken file keeps them;
#   - a client that asks nothing is dropped after client_timeout.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SB_SOCKD" "$SB_PRELOAD_LIB"
command -v setpriv >/dev/null || tb_skip "setpriv is not installed"
tb_setup

# A TCP server in $TB_SERVER that accepts and says hello.
tb_bg "$TB_SERVER" socat "TCP-LISTEN:8080,bind=$TB_SERVER_IP4,reuseaddr,fork" SYSTEM:'echo hello'
tb_wait_listen "$TB_SERVER" 8080

cat >"$TB_DIR/sockd.conf" <<EOF
client_timeout = 3;
connect = ( { remote = "$TB_SERVER_IP4/30"; remote_port = 8080; uid = 0; action = "allow"; } );
EOF
tb_bg "$TB_CLIENT" "$SB_SOCKD" -f "$TB_DIR/sockd.conf" -s "$TB_DIR/sockd.sock"
SOCKD=$TB_BG_PID
SOCKD_LOG=$TB_BG_LOG
tb_wait_socket "$TB_DIR/sockd.sock"

# The client: one request per argument (connect, or junk of the named kind), printing the
# status of each reply; a socket that comes back is read from.
cat >"$TB_DIR/client.py" <<'EOF'
import os, socket, struct, sys
path, ip = sys.argv[1], sys.argv[2]
good = struct.pack("!BBBBHH16s", 1, 1, 1, 0, 8080, 0,
                   b"\0" * 10 + b"\xff\xff" + socket.inet_aton(ip))
junk = {"short": good[:10], "version": b"\x02" + good[1:], "reserved": good[:6] + b"\1" + good[7:]}
for what in sys.argv[3:]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    if what == "fd":
        socket.send_fds(s, [good], [0])
    else:
        s.send(junk.get(what, good))
    msg, fds, _, _ = socket.recv_fds(s, 64, 4)
    version, status, _, err = struct.unpack("!BBHI", msg)
    out = "%s:%d" % (what, status)
    if fds:
        c = socket.socket(fileno=fds[0])
        c.setblocking(True)
        out += ":" + c.makefile().read().strip()
    print(out, end=" ")
print("end")
EOF
cp "$SB_PRELOAD_LIB" "$TB_DIR/preload.so" # nobody may not reach the checkout
chmod 0644 "$TB_DIR/client.py" "$TB_DIR/preload.so"

as_nobody() {
	tb_in "$TB_APP1" setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}

out=$(tb_in "$TB_APP1" "$PYTHON" "$TB_DIR/client.py" "$TB_DIR/sockd.sock" "$TB_SERVER_IP4" \
	connect short version reserved fd connect 2>&1) || tb_fail "the client failed: $out"
tb_assert_eq "connect:0:hello short:1 version:1 reserved:1 fd:1 connect:0:hello end" "$out" \
	"replies to root's requests, good and malformed"
tb_wait_log "$SOCKD_LOG" "malformed request from uid 0 (10 bytes): a request is 24 bytes"
tb_wait_log "$SOCKD_LOG" "malformed request from uid 0 (24 bytes): unknown protocol version"
tb_wait_log "$SOCKD_LOG" "unknown flags or reserved bytes set"
tb_wait_log "$SOCKD_LOG" "a descriptor came with the request"

out=$(as_nobody "$PYTHON" "$TB_DIR/client.py" "$TB_DIR/sockd.sock" "$TB_SERVER_IP4" connect 2>&1) ||
	tb_fail "the client as nobody failed: $out"
tb_assert_eq "connect:2 end" "$out" "the reply to nobody (not in the rules)"
NOBODY=$(id -u nobody)
tb_wait_log "$SOCKD_LOG" "denied connect tcp [::ffff:$TB_SERVER_IP4]:8080 for uid $NOBODY (no connect rule: default deny)"

nobody_preload() {
	as_nobody env LD_PRELOAD="$TB_DIR/preload.so" SOCKETBOX_EGRESS="$TB_DIR/sockd.sock" \
		"$PYTHON" -c '
import socket, sys
try:
    print(socket.create_connection((sys.argv[1], 8080), timeout=20).makefile().read().strip())
except PermissionError:
    print("EACCES")
' "$TB_SERVER_IP4"
}
out=$(nobody_preload 2>&1) || tb_fail "the preload client as nobody failed: $out"
tb_assert_eq EACCES "$out" "what nobody's connect through the preload returns"

# A reload that allows nobody too; then a broken file, which changes nothing.
n=$(grep -c reloaded "$SOCKD_LOG") || true
cat >"$TB_DIR/sockd.conf" <<EOF
client_timeout = 3;
connect = ( { remote = "$TB_SERVER_IP4"; remote_port = 8080; user = [ "root", "nobody" ];
	      action = "allow"; } );
EOF
kill -HUP "$SOCKD"
tb_wait_count "$SOCKD_LOG" reloaded $((n + 1)) "reload lines"
out=$(nobody_preload 2>&1) || tb_fail "the preload client as nobody failed: $out"
tb_assert_eq hello "$out" "what nobody reaches once the reload allows it"

echo 'connect = ( { remote = "nowhere"; action = "allow"; } );' >"$TB_DIR/sockd.conf"
kill -HUP "$SOCKD"
tb_wait_log "$SOCKD_LOG" "sockd.conf:1: connect[0].remote: \"nowhere\" is not an address or prefix"
tb_wait_log "$SOCKD_LOG" "the previous configuration stays in force"
out=$(nobody_preload 2>&1) || tb_fail "the preload client as nobody failed: $out"
tb_assert_eq hello "$out" "what nobody reaches after a failed reload"

out=$(tb_in "$TB_APP1" "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.settimeout(30)
print("closed" if s.recv(64) == b"" else "answered")
' "$TB_DIR/sockd.sock" 2>&1) || tb_fail "the idle client failed: $out"
tb_assert_eq closed "$out" "what an idle client gets after client_timeout"

line=$(tb_counters "$SOCKD" "$SOCKD_LOG")
grep -q "connected 4, bound 0, denied 2, malformed 4, failed 0, reloads 1, dropped idle 1" <<<"$line" ||
	tb_fail "unexpected counters: $line"
tb_log "ok: $line"
