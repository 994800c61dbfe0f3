#!/bin/bash
# The stats socket never stalls the acceptor (the operator-experience issue, item 6): with
# more clients than it has slots connected and silent, and one client that asked for 1.5 MB
# of counters (3,000 targets) and never reads them, connections keep being accepted and
# handed on, a new scrape still gets the whole text, and the silent clients are dropped.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=helpers/core_cc.sh
. "$(dirname "$0")/helpers/core_cc.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" /usr/bin/curl
tb_setup
APPLET=$TB_DIR/line_applet
core_cc "$APPLET" "$SB_TOP/tests/soak/line_applet.c" || tb_fail "cannot compile tests/soak/line_applet.c"
STATS=$TB_DIR/stats.sock
FILLERS=3000
N=20

{
	echo "listen = { port = $TB_PORT; transparent = true; };"
	echo "stats = { path = \"$STATS\"; };"
	echo "log_limit = { burst = 1; interval = 60; };"
	echo "targets = {"
	echo "	live = { path = \"$TB_DIR/live.sock\"; };"
	for ((i = 0; i < FILLERS; i++)); do
		echo "	filler$i = { path = \"$TB_DIR/none.sock\"; };"
	done
	echo "};"
	echo 'rules = ( { local = "2001:db8::1"; target = "live"; } );'
} >"$TB_DIR/sb.conf"
tb_bg "$TB_APP1" "$APPLET" "$TB_DIR/live.sock" ok
tb_wait_socket "$TB_DIR/live.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
tb_wait_listen "$TB_SERVER" "$TB_PORT"
tb_wait_socket "$STATS"

# Silent clients first (more than the slots, so the oldest are dropped for newer ones),
# then one that sends a request and reads nothing: it says "stalled" once the server has
# filled its socket (more than 100 KB wait unread), and holds on.
cat >"$TB_DIR/stall.py" <<'PY'
import array, fcntl, socket, sys, termios, time
path, silent = sys.argv[1], int(sys.argv[2])
held = []
for _ in range(silent):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    held.append(s)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
n = array.array("i", [0])
while n[0] < 100000:
    time.sleep(0.05)
    fcntl.ioctl(s, termios.FIONREAD, n)
print("stalled", n[0], flush=True)
time.sleep(3600)
PY
tb_bg "$TB_CLIENT" "$PYTHON" "$TB_DIR/stall.py" "$STATS" 10
staller=$TB_BG_LOG
tb_wait_log "$staller" "stalled"

for ((i = 1; i <= N; i++)); do
	tb_assert_eq ok "$(tb_client_get 2001:db8::1 80)" "answer of connection $i while the stats client stalls"
done

curl -sS -i --max-time "$TB_WAIT" --unix-socket "$STATS" http://localhost/metrics \
	>"$TB_DIR/http.out" || tb_fail "curl could not read the stats socket while a client stalls"
tb_assert_eq "$(tr -d '\r' <"$TB_DIR/http.out" | grep -i '^Content-Length:' | tr -dc 0-9)" \
	"$(sed '1,/^\r$/d' "$TB_DIR/http.out" | wc -c)" "Content-Length against the body"
grep -qxF "socketbox_connections_handed_total{target=\"live\"} $N" "$TB_DIR/http.out" ||
	tb_fail "the scrape does not count $N handed: $(grep 'handed_total{target="live"' "$TB_DIR/http.out")"
tb_assert_eq $FILLERS "$(grep -c '^socketbox_connections_expired_total{target="filler' "$TB_DIR/http.out")" \
	"filler targets in the text"

# Every client is dropped after its time (5 s), the one that stalled too.
_no_stats_clients() {
	[[ $(ip netns exec "$TB_SERVER" ss -Hx state connected src "$STATS" 2>/dev/null | wc -l) == 0 ]]
}
tb_until "$TB_WAIT" _no_stats_clients ||
	tb_fail "stats clients still connected: $(ip netns exec "$TB_SERVER" ss -Hx src "$STATS")"
