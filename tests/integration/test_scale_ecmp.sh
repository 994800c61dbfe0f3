#!/bin/bash
# More than one host: socketbox keeps no shared state, so two hosts with the same
# configuration scale out behind the network's own balancing (README, "More than one host").
#
#   client --cl0-- router --h1-- host1    socketbox and an applet on each host, one
#   fd00:5c:c::2         \--h2-- host2    socketbox.conf for both: AnyIP/TPROXY of
#                                          2001:db8:5c::/48, and a PROXY listener on 9000
#
#   - ECMP: the router has a multipath route to 2001:db8:5c::/48 via both hosts with the L4
#     hash (net.ipv6.fib_multipath_hash_policy = 1); 1,000 connections from the client (one
#     address, many source ports) to [2001:db8:5c::80]:80 are all answered, by both hosts,
#     and the answers agree with each socketbox's "handed" counter; with host1's next hop
#     removed (ip route replace), 200 more all go to host2;
#   - haproxy in the router (mode tcp, send-proxy-v2, roundrobin, check inter 100ms) in front
#     of both hosts' PROXY listeners: 1,000 connections spread over both, and each applet
#     sees the client's real address; host1's socketbox stopped, haproxy's check marks it
#     down and 200 more all go to host2.
# The applet answers "HOST CLIENT-ADDRESS", so every answer says who served it and whom; it
# is a few lines of python that fork nothing, so 2,400 connections take little time.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" /usr/sbin/haproxy
tb_setup

PREFIX=2001:db8:5c::/48
SERVICE=2001:db8:5c::80
CLIENT_IP=fd00:5c:c::2
ROUTER=${TB_ID}r
CLIENT=${TB_ID}e
HOST1=${TB_ID}h1
HOST2=${TB_ID}h2
for ns in "$ROUTER" "$CLIENT" "$HOST1" "$HOST2"; do
	tb_netns "$ns"
done
tb_veth "$CLIENT" up0 "$CLIENT_IP/64" "$ROUTER" cl0 fd00:5c:c::1/64
tb_veth "$ROUTER" h1 fd00:5c:1::1/64 "$HOST1" up0 fd00:5c:1::2/64
tb_veth "$ROUTER" h2 fd00:5c:2::1/64 "$HOST2" up0 fd00:5c:2::2/64
_tb_run ip -n "$CLIENT" -6 route add default via fd00:5c:c::1 dev up0

# The router: forwarding, the L4 hash, one route with a next hop per host.
_tb_run tb_in "$ROUTER" sysctl -qw net.ipv6.conf.all.forwarding=1 \
	net.ipv6.fib_multipath_hash_policy=1
_tb_run ip -n "$ROUTER" -6 route add "$PREFIX" \
	nexthop via fd00:5c:1::2 dev h1 nexthop via fd00:5c:2::2 dev h2

# Each host: the whole prefix is local (AnyIP) and TPROXY hands it to socketbox's port.
cat >"$TB_DIR/host.nft" <<EOF
table ip6 sb {
	chain pre {
		type filter hook prerouting priority mangle;
		ip6 daddr $PREFIX meta l4proto tcp tproxy to :$TB_PORT
	}
}
EOF
# The applet: answers "NAME ADDRESS" with the client's address, from the PROXY header's
# addresses socketbox sends with the connection (socketbox(8), HAND-OFF), else the peer's.
cat >"$TB_DIR/whoami.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + sys.argv[2])
while True:
    msg, fds, _, _ = socket.recv_fds(s, 64, 4)
    for extra in fds[1:]:
        os.close(extra)
    if not fds:
        continue
    with socket.socket(fileno=fds[0]) as c:
        if len(msg) == 41 and msg[1:5] == b"SBa1":
            peer = socket.inet_ntop(socket.AF_INET6, msg[23:39])
        else:
            peer = c.getpeername()[0]
        try:
            c.sendall(("%s %s\n" % (sys.argv[1], peer)).encode())
        except OSError:
            pass
PY
# One configuration for both hosts. The applet's name is abstract, so each host (network
# namespace) has its own; real hosts would use a socket file in their own /run.
cat >"$TB_DIR/sb.conf" <<CONF
listen = (
  { name = "anyip"; port = $TB_PORT; transparent = true; },
  { name = "lb"; port = 9000; proxy_protocol = true;
    proxy_from = [ "fd00:5c:1::1", "fd00:5c:2::1" ]; }
);
targets = { app = { path = "@sb-ecmp-app"; abstract_ok = true; }; };
rules = ( { remote = "fd00:5c:c::/64"; target = "app"; } );
default = "reject";
CONF
declare -A SB_PID SB_LOG
for h in 1 2; do
	ns=${TB_ID}h$h
	_tb_run ip -n "$ns" -6 route add default via "fd00:5c:$h::1" dev up0
	_tb_run ip -n "$ns" -6 route add local "$PREFIX" dev lo
	_tb_run tb_in "$ns" nft -f "$TB_DIR/host.nft"
	tb_bg "$ns" "$PYTHON" "$TB_DIR/whoami.py" "host$h" sb-ecmp-app
	tb_wait_socket @sb-ecmp-app "$ns"
	tb_bg "$ns" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
	SB_PID[$h]=$TB_BG_PID
	SB_LOG[$h]=$TB_BG_LOG
	tb_wait_log "${SB_LOG[$h]}" "ready:"
done

# handed H: socketbox's "handed" counter on host H.
handed() {
	local line
	line=$(tb_counters "${SB_PID[$1]}" "${SB_LOG[$1]}")
	sed -n 's/.* handed \([0-9]*\),.*/\1/p' <<<"$line"
}

# burst ADDR PORT N WHAT H...: N connections from the client, 32 at a time, each one
# answered by one of the hosts H (1, 2); sets GOT[H], how many each answered, and checks
# that each host's socketbox counted as many handed on.
declare -A GOT
burst() {
	local addr=$1 port=$2 n=$3 what=$4 line h expect='' tally
	local -A before
	shift 4
	for h in "$@"; do
		before[$h]=$(handed "$h")
		expect+="${expect:+|}host$h $CLIENT_IP"
	done
	tb_in "$CLIENT" "$PYTHON" "$SB_TOP/tests/integration/helpers/burst_client.py" \
		--concurrency 32 --tally "$addr" "$port" "$n" "$expect" "$((TB_WAIT * 4))" \
		>"$TB_DIR/burst.out" 2>&1 || true
	line=$(grep '^burst: count=' "$TB_DIR/burst.out") ||
		tb_fail "$what: no result from the clients: $(cat "$TB_DIR/burst.out")"
	tb_log "$what: $line"
	tb_burst_assert "$line" "$n" "$what: connections answered as expected"
	read -r -a tally < <(sed -n 's/^burst: tally //p' "$TB_DIR/burst.out")
	for h in "$@"; do
		GOT[$h]=${tally[0]}
		tally=("${tally[@]:1}")
		tb_assert_eq "${GOT[$h]}" "$(($(handed "$h") - before[$h]))" \
			"$what: host$h's handed counter"
	done
}

burst "$SERVICE" 80 1000 "ECMP, both next hops" 1 2
((GOT[1] > 0 && GOT[2] > 0)) || tb_fail "ECMP did not spread: host1 ${GOT[1]}, host2 ${GOT[2]}"

_tb_run ip -n "$ROUTER" -6 route replace "$PREFIX" via fd00:5c:2::2 dev h2
burst "$SERVICE" 80 200 "ECMP, host1's next hop removed" 1 2
tb_assert_eq 200 "${GOT[2]}" "ECMP, host1's next hop removed: connections host2 answered"

cat >"$TB_DIR/haproxy.cfg" <<CFG
global
	maxconn 2000
defaults
	mode tcp
	timeout connect ${TB_WAIT}s
	timeout client ${TB_WAIT}s
	timeout server ${TB_WAIT}s
frontend web
	bind [fd00:5c:c::1]:80
	default_backend hosts
backend hosts
	balance roundrobin
	server host1 [fd00:5c:1::2]:9000 send-proxy-v2 check inter 100ms
	server host2 [fd00:5c:2::2]:9000 send-proxy-v2 check inter 100ms
CFG
tb_bg "$ROUTER" /usr/sbin/haproxy -db -f "$TB_DIR/haproxy.cfg"
HAPROXY_LOG=$TB_BG_LOG
tb_wait_listen "$ROUTER" 80

burst fd00:5c:c::1 80 1000 "haproxy, both hosts" 1 2
((GOT[1] > 0 && GOT[2] > 0)) || tb_fail "haproxy did not spread: host1 ${GOT[1]}, host2 ${GOT[2]}"

# host1's socketbox stops; once haproxy's check has seen it, every connection goes to host2
tb_kill "${SB_PID[1]}"
tb_wait_log "$HAPROXY_LOG" "host1 is DOWN"
burst fd00:5c:c::1 80 200 "haproxy, host1 down" 2
