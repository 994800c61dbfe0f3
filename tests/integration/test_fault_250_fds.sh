#!/bin/bash
# Fault: one hand-off datagram carries 250 descriptors. helpers/send_junk.py fds:250 sends
# payload "\0" with 250 descriptors in one SCM_RIGHTS message (each one end of a connected
# AF_UNIX stream pair whose other end it keeps) straight to the socket of each kind of
# applet, bypassing the acceptor:
#   - socketbox-inetd (-v, echo served), in $TB_APP1;
#   - socketbox-relay, in $TB_APP2, relaying to a socat echo backend on [::1]:7000 there
#     (the client speaks first and half-closes: a backend that speaks first stalls the
#     relay, see test_fault_relay_idle_client.sh);
#   - an unmodified daemon behind libsocketbox-preload.so (helpers/accept_server.c, epoll
#     accept loop on [::]:80, through the socketbox-preload wrapper), in $TB_APP1.
# For each one, asserted:
#   - every one of the 250 descriptors is closed: all 250 kept ends read EOF (waited for up
#     to 30 s);
#   - the applet logs the datagram as dropped ("more than one descriptor") and stays alive;
#   - its count of open descriptors (/proc/PID/fd) is what it was before (at rest: what it
#     held when it started, waited for once a connection is over);
#   - inetd ran no program for it;
#   - the next good connection through socketbox is served by it, and then the descriptor
#     count is still what it was.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
command -v cc >/dev/null 2>&1 || tb_skip "no C compiler (cc)"
tb_require_exec "$SOCKETBOX" "$SB_INETD" "$SB_RELAY" "$SB_PRELOAD" "$SB_PRELOAD_LIB"
tb_setup

NFDS=250
HELPERS=$(cd "$(dirname "$0")/helpers" && pwd)
JUNK=$HELPERS/send_junk.py
SERVER=$TB_DIR/accept_server
cc -O2 -Wall -Wextra -Werror -o "$SERVER" "$HELPERS/accept_server.c" ||
	tb_fail "cannot compile helpers/accept_server.c"

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
targets = {
  inetd = { path = "$TB_DIR/inetd.sock"; };
  relay = { path = "$TB_DIR/relay.sock"; };
  preload = { path = "$TB_DIR/preload.sock"; };
};
rules = (
  { local = "2001:db8::1"; local_port = 80; target = "inetd"; },
  { local = "2001:db8::2"; local_port = 80; target = "relay"; },
  { local = "2001:db8::3"; local_port = 80; target = "preload"; }
);
CONF

tb_bg "$TB_APP1" "$SB_INETD" -v -s "$TB_DIR/inetd.sock" echo served
INETD_PID=$TB_BG_PID
INETD_LOG=$TB_BG_LOG
tb_bg "$TB_APP2" socat -t "$TB_WAIT" 'TCP6-LISTEN:7000,bind=[::1],reuseaddr,fork' EXEC:cat
tb_wait_listen "$TB_APP2" 7000
tb_bg "$TB_APP2" "$SB_RELAY" -s "$TB_DIR/relay.sock" "[::1]:7000"
RELAY_PID=$TB_BG_PID
RELAY_LOG=$TB_BG_LOG
tb_bg "$TB_APP1" "$SB_PRELOAD" -s "$TB_DIR/preload.sock" -p 80 "$SERVER" epoll '[::]:80'
PRELOAD_PID=$TB_BG_PID
PRELOAD_LOG=$TB_BG_LOG
tb_wait_log "$PRELOAD_LOG" ready
for s in inetd relay preload; do
	tb_wait_socket "$TB_DIR/$s.sock"
done
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
SB_PID=$TB_BG_PID
tb_wait_listen "$TB_SERVER" "$TB_PORT"

fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
# descriptors of each applet at rest, before any connection
declare -A REST=([inetd]=$(fd_count "$INETD_PID") [relay]=$(fd_count "$RELAY_PID")
	[preload]=$(fd_count "$PRELOAD_PID"))

# serve NAME ADDR WANT: a connection through socketbox to ADDR port 80 answers WANT. For
# the relay (an echo backend) the client sends WANT first, then half-closes.
serve() {
	local out
	if [[ $1 == relay ]]; then
		out=$(tb_client_send "$2" 80 "$3") || tb_fail "$1: connection to $2 failed: '$out'"
	else
		out=$(tb_client_get "$2" 80) || tb_fail "$1: connection to $2 failed: '$out'"
	fi
	tb_assert_eq "$3" "$out" "$1: answer through socketbox"
}

# flood NAME NS PID LOG ADDR WANT: the 250-descriptor datagram against one applet.
flood() {
	local name=$1 ns=$2 pid=$3 log=$4 addr=$5 want=$6 before after out closed dropped

	serve "$name" "$addr" "$want"
	# the connection's descriptors go a little after the client saw its end (relay: once
	# both sides are closed)
	tb_wait_fds "$pid" "${REST[$name]}" "$name: open descriptors at rest after a connection"
	before=$(fd_count "$pid")
	dropped=$(grep -c 'more than one descriptor' "$log" || true)
	tb_log "$name [$pid]: $before descriptors before"
	out=$(tb_in "$ns" "$PYTHON" "$JUNK" "$TB_DIR/$name.sock" "fds:$NFDS") ||
		tb_fail "$name: send_junk.py failed: $out"
	tb_log "$name: send_junk.py: $(tr '\n' ' ' <<<"$out")"
	closed=$(sed -n 's/^closed //p' <<<"$out")
	tb_assert_eq "$NFDS/$NFDS" "$closed" "$name: descriptors of the datagram closed by the applet"
	tb_wait_log "$log" 'more than one descriptor'
	(($(grep -c 'more than one descriptor' "$log") == dropped + 1)) ||
		tb_fail "$name: expected one new 'more than one descriptor' line: $(grep 'more than one' "$log")"
	tb_log "$name: log: $(grep 'more than one descriptor' "$log" | tail -n 1)"
	tb_alive "$pid" || tb_fail "$name died of $NFDS descriptors"
	after=$(fd_count "$pid")
	[[ $after == "$before" ]] || ls -l "/proc/$pid/fd" >&2
	tb_assert_eq "$before" "$after" "$name: open descriptors after the datagram"
	serve "$name" "$addr" "$want"
	tb_wait_fds "$pid" "$before" "$name: open descriptors after the next connection"
}

flood inetd "$TB_APP1" "$INETD_PID" "$INETD_LOG" 2001:db8::1 served
spawned=$(grep -c '^socketbox-inetd: pid [0-9]*:' "$INETD_LOG" || true)
tb_assert_eq 2 "$spawned" "programs inetd ran (only for the two real connections)"

flood relay "$TB_APP2" "$RELAY_PID" "$RELAY_LOG" 2001:db8::2 relayed

flood preload "$TB_APP1" "$PRELOAD_PID" "$PRELOAD_LOG" 2001:db8::3 "epoll $TB_CLIENT_IP6 2001:db8::3 80"
if grep -q '^error' "$PRELOAD_LOG"; then
	tb_fail "the preloaded daemon saw an error: $(grep -m 1 '^error' "$PRELOAD_LOG")"
fi

tb_alive "$SB_PID" || tb_fail "the acceptor died"
echo "PASS: a datagram with $NFDS descriptors is dropped by inetd, relay and a preloaded daemon, every descriptor closed, nothing leaked"
