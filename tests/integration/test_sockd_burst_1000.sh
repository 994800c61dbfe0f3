#!/bin/bash
# 1,000 egress connects in a burst through socketbox-sockd: 4 python clients in $TB_APP1
# (only lo) make 250 TCP connects each at once through SOCKETBOX_EGRESS to a server in
# $TB_SERVER. All are served (the server accepts 1,000, socketbox-sockd counts 1,000) and
# socketbox-sockd holds as many descriptors afterwards as before.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SB_SOCKD" "$SB_PRELOAD_LIB"
tb_setup

tb_bg "$TB_SERVER" "$PYTHON" -u -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8080))
s.listen(4096)
while True:
    c, _ = s.accept()
    c.close()
    print("accepted")
' "$TB_SERVER_IP4"
SERVER_LOG=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" 8080

cat >"$TB_DIR/sockd.conf" <<EOF
connect = ( { remote = "$TB_SERVER_IP4"; remote_port = 8080; action = "allow"; } );
EOF
tb_bg "$TB_CLIENT" "$SB_SOCKD" -f "$TB_DIR/sockd.conf" -s "$TB_DIR/sockd.sock"
SOCKD=$TB_BG_PID
SOCKD_LOG=$TB_BG_LOG
tb_wait_socket "$TB_DIR/sockd.sock"
fds=$(find "/proc/$SOCKD/fd" -mindepth 1 -maxdepth 1 | wc -l)

pids=()
for i in 1 2 3 4; do
	tb_in "$TB_APP1" env LD_PRELOAD="$SB_PRELOAD_LIB" SOCKETBOX_EGRESS="$TB_DIR/sockd.sock" \
		"$PYTHON" -c '
import socket, sys
ok = 0
for _ in range(250):
    c = socket.create_connection((sys.argv[1], 8080), timeout=20)
    ok += c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
    c.close()
print(ok)
' "$TB_SERVER_IP4" >"$TB_DIR/client$i.out" 2>&1 &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || tb_fail "a client failed: $(cat "$TB_DIR"/client*.out)"
done
total=0
for i in 1 2 3 4; do
	total=$((total + $(cat "$TB_DIR/client$i.out")))
done
tb_assert_eq 1000 "$total" "connects the clients made"
tb_wait_count "$SERVER_LOG" '^accepted$' 1000 "connections the server accepted"

line=$(tb_counters "$SOCKD" "$SOCKD_LOG")
grep -q "requests 1000, connected 1000, bound 0, denied 0, malformed 0, failed 0" <<<"$line" ||
	tb_fail "unexpected counters: $line"
tb_log "ok: $line"
tb_wait_fds "$SOCKD" "$fds" "socketbox-sockd's descriptors after the burst"
