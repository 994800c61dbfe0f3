#!/bin/bash
# tests/demo.sh — `make demo`: socketbox end to end, in private network namespaces, told in
# plain words. Needs root (it creates network namespaces); removes everything it made.
#
# One acceptor listens on a single transparent socket in a "server" namespace; the host
# routes all of 2001:db8::/32 and 198.51.100.0/24 to it. Its rules send
#   2001:db8::1 (any port)          to applet alpha,
#   2001:db8::2 ports 80 and 443    to applet beta,
#   198.51.100.0/24 (IPv4)          to applet alpha,
#   2001:db8::80 port 80            to an unmodified python3 http.server behind the preload
#                                   library (in alpha's namespace),
#   2001:db8::8                     to socketbox-relay, which connects to a service that
#                                   listens only on 127.0.0.1 inside beta's namespace,
# and reset everything else. alpha and beta are socketbox-inetd, each in a namespace of its
# own, answering with what their program saw. A client namespace then dials around.

if [[ $(id -u) -ne 0 ]]; then
	echo "make demo needs root: it creates network namespaces" >&2
	exit 1
fi

# shellcheck source-path=SCRIPTDIR source=integration/lib.sh
. "$(dirname "$0")/integration/lib.sh"
HELPERS=$(cd "$(dirname "$0")/integration/helpers" && pwd)

# Quiet the test bed's progress chatter; keep its failures, in words that fit a demo.
tb_log() { :; }
tb_skip() {
	printf 'The demo cannot run here: %s\n' "$*" >&2
	exit 1
}

for f in "$SOCKETBOX" "$SB_INETD" "$SB_RELAY" "$SB_PRELOAD" "$SB_PRELOAD_LIB"; do
	[[ -x $f ]] || {
		echo "The demo needs $f: run make first." >&2
		exit 1
	}
done

tb_require_root
tb_setup

cat >"$TB_DIR/socketbox.conf" <<CONF
listen = { address = "::"; port = $TB_PORT; transparent = true; };
targets = {
  alpha = { path = "$TB_DIR/alpha.sock"; };
  beta  = { path = "$TB_DIR/beta.sock"; };
  web   = { path = "$TB_DIR/web-80.sock"; };
  relay = { path = "$TB_DIR/relay.sock"; };
};
rules = (
  { local = "2001:db8::80"; local_port = 80; target = "web"; },
  { local = "2001:db8::8";                   target = "relay"; },
  { local = "2001:db8::1";                   target = "alpha"; },
  { local = "2001:db8::2"; local_port = [ 80, 443 ]; target = "beta"; },
  { local = "::ffff:198.51.100.0/120";       target = "alpha"; }
);
default = "reject";
CONF

# shellcheck disable=SC2016 # expanded by the shell socketbox-inetd starts per connection
tb_bg "$TB_APP1" "$SB_INETD" -s "$TB_DIR/alpha.sock" \
	sh -c 'echo "alpha: you reached $TCPLOCALIP port $TCPLOCALPORT from $TCPREMOTEIP"'
# shellcheck disable=SC2016
tb_bg "$TB_APP2" "$SB_INETD" -s "$TB_DIR/beta.sock" \
	sh -c 'echo "beta: you reached $TCPLOCALIP port $TCPLOCALPORT from $TCPREMOTEIP"'
# An unmodified web server: it binds port 80 as usual; the preload library turns that into
# the socket file web-80.sock.
mkdir -p "$TB_DIR/www"
echo "gamma: an unmodified python3 http.server served this file" >"$TB_DIR/www/index.txt"
tb_bg "$TB_APP1" "$SB_PRELOAD" -s "$TB_DIR/web-%p.sock" -p 80 \
	"$PYTHON" -m http.server 80 --bind :: --directory "$TB_DIR/www"
WEB_LOG=$TB_BG_LOG
# A service that listens only on 127.0.0.1 of beta's namespace, reached by the relay.
tb_bg "$TB_APP2" socat TCP4-LISTEN:8080,bind=127.0.0.1,reuseaddr,fork \
	SYSTEM:'echo "delta: a service on 127.0.0.1:8080 inside $(ip netns identify)"'
tb_bg "$TB_SERVER" "$SB_RELAY" -s "$TB_DIR/relay.sock" --netns "/run/netns/$TB_APP2" \
	127.0.0.1:8080
tb_wait_socket "$TB_DIR/alpha.sock"
tb_wait_socket "$TB_DIR/beta.sock"
tb_wait_socket "$TB_DIR/web-80.sock"
tb_wait_socket "$TB_DIR/relay.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -v -f "$TB_DIR/socketbox.conf"
SB_LOG=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"

cat <<TEXT
socketbox demo
==============

Four network namespaces were made for this demo:
$(printf '  %-14s %s\n' \
	"$TB_CLIENT" "the client, at $TB_CLIENT_IP6 and $TB_CLIENT_IP4" \
	"$TB_SERVER" "the acceptor: one transparent socket on port $TB_PORT gets every TCP" \
	"" "connection to 2001:db8::/32 and 198.51.100.0/24, whatever the port" \
	"$TB_APP1" "applet alpha (socketbox-inetd); only a loopback interface, no network" \
	"$TB_APP2" "applet beta (socketbox-inetd); only a loopback interface, no network" \
	"" "and a service listening on 127.0.0.1:8080 there")

The acceptor's rules:
  2001:db8::1, any port             ->  alpha
  2001:db8::2, ports 80 and 443     ->  beta
  198.51.100.0/24 (IPv4)            ->  alpha
  2001:db8::80, port 80             ->  python3 -m http.server, unmodified, run with
                                        socketbox-preload in alpha's namespace
  2001:db8::8, any port             ->  socketbox-relay, which connects to 127.0.0.1:8080
                                        inside beta's namespace
  anything else                     ->  reset the connection

The acceptor never reads the connections: it hands each accepted socket to the applet
over a UNIX socket, across the namespaces. The client now connects to:

TEXT

# dial ADDR PORT: one connection from the client; say who answered.
dial() {
	local addr=$1 port=$2 shown what
	if [[ $addr == *:* ]]; then shown="[$addr]:$port"; else shown="$addr:$port"; fi
	what=$(tb_in "$TB_CLIENT" "$PYTHON" "$HELPERS/dial.py" "$addr" "$port" 2>&1) ||
		what="error:$what"
	case $what in
	"answer "*)
		what=${what#answer }
		printf '  %-22s %s answered: "%s"\n' "$shown" "${what%%:*}" "$what"
		return
		;;
	reset) what="nobody answered: the connection was reset (no rule matches it)" ;;
	refused) what="nobody answered: the connection was refused" ;;
	eof) what="nobody answered: the connection was closed without data" ;;
	timeout) what="nobody answered within 30 seconds" ;;
	*) what="nobody answered ($what)" ;;
	esac
	printf '  %-22s %s\n' "$shown" "$what"
}

dial 2001:db8::1 22
dial 2001:db8::1 8080
dial 2001:db8::2 80
dial 2001:db8::2 443
dial 2001:db8::2 22
dial 2001:db8::3 80
dial 198.51.100.7 25
dial 2001:db8::8 443

web=$(tb_in "$TB_CLIENT" curl -s -m 30 "http://[2001:db8::80]/index.txt" 2>&1) || web="(no answer: $web)"
printf '  %-22s curl got: "%s"\n' "http://[2001:db8::80]/" "$web"

cat <<TEXT

Each applet's program got the connection on its standard input and output, with the
address and port the client dialled in TCPLOCALIP and TCPLOCALPORT; an IPv4 client shows
as an IPv4-mapped address (::ffff:a.b.c.d), since one IPv6 socket takes both.

What the acceptor logged, one line per connection (socketbox -v):
TEXT
grep -E '\]:[0-9]+ -> \[' "$SB_LOG" | sed 's/^socketbox: /  /'
echo
echo "The web server's own log: it saw the real client address, though it has no network:"
grep -E '"GET ' "$WEB_LOG" | sed 's/^/  /'

echo
echo "Removing the namespaces, the processes and the files the demo made."
(tb_cleanup) >/dev/null 2>&1
left=$(ip netns list 2>/dev/null | grep -c "^$TB_ID" || true)
if [[ $left -eq 0 && ! -e $TB_DIR ]]; then
	echo "Done: nothing is left behind."
else
	echo "Warning: something was left behind (namespaces named $TB_ID*, or $TB_DIR)." >&2
	exit 1
fi
