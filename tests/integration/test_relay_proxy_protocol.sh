#!/bin/bash
# Relay (f): --proxy-protocol v1 and v2, read by a real peer: nginx (nginx-light) in $TB_APP1
# with `listen 127.0.0.1:8000 proxy_protocol;` and an access log of
#     $proxy_protocol_addr $proxy_protocol_port $proxy_protocol_server_addr
#     $proxy_protocol_server_port
# behind two relays in $TB_APP1 (one per version). curl in the client namespace, from fixed
# source ports, asks http://[2001:db8::80]:80/ and http://198.51.100.80:80/ (v1) and the same
# on port 81 (v2). Asserted, for each of the four requests: status 200 and the exact body;
# the access log line shows the real client (fd00:5b::2, or 10.213.0.2 for IPv4 - the
# IPv4-mapped peer must arrive as TCP4, not as ::ffff:10.213.0.2), its source port, and the
# address and port the client dialled (2001:db8::80 / 198.51.100.80, 80 / 81).
#
# The exact header is checked too: two more relays (v1, v2) send it to
# helpers/relay_proxy_capture.py, which prints what arrived. Asserted: v1 lines
# "PROXY TCP6 fd00:5b::2 2001:db8::90 40021 90" and "PROXY TCP4 10.213.0.2 198.51.100.90
# 40022 90"; v2 headers with version/command 0x21, family 0x21 (TCP over IPv6, 36 address
# bytes) or 0x11 (TCP over IPv4, 12 bytes) and the same addresses and ports; and the data
# the client sent after the header arrives unchanged.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
NGINX=/usr/sbin/nginx
[[ -x $NGINX ]] || tb_skip "$NGINX is not installed (nginx-light)"
command -v curl >/dev/null 2>&1 || tb_skip "curl is not installed"
if ! getent passwd nobody >/dev/null || ! getent group nogroup >/dev/null; then
	tb_skip "user nobody or group nogroup does not exist"
fi
tb_require_exec "$SOCKETBOX" "$SB_RELAY"
tb_setup

CAPTURE=$(dirname "$0")/helpers/relay_proxy_capture.py

mkdir -p "$TB_DIR/www"
printf 'hello through socketbox-relay (%s)\n' "$TB_ID" >"$TB_DIR/www/index.html"
chmod 0644 "$TB_DIR/www/index.html"

tb_nginx_conf 1 64 info 'user nobody nogroup;' <<CONF
    log_format pp 'pp=\$proxy_protocol_addr ppport=\$proxy_protocol_port ppdst=\$proxy_protocol_server_addr ppdstport=\$proxy_protocol_server_port uri=\$request_uri status=\$status';
    access_log $TB_DIR/access.log pp;
    types { text/html html; }
    server {
        listen 127.0.0.1:8000 proxy_protocol;
        root $TB_DIR/www;
    }
CONF

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
targets = {
  v1 = { path = "$TB_DIR/v1.sock"; };
  v2 = { path = "$TB_DIR/v2.sock"; };
  c1 = { path = "$TB_DIR/c1.sock"; };
  c2 = { path = "$TB_DIR/c2.sock"; };
};
rules = (
  { local = "2001:db8::80"; local_port = 80; target = "v1"; },
  { local = "::ffff:198.51.100.80"; local_port = 80; target = "v1"; },
  { local = "2001:db8::80"; local_port = 81; target = "v2"; },
  { local = "::ffff:198.51.100.80"; local_port = 81; target = "v2"; },
  { local = "2001:db8::90"; local_port = 90; target = "c1"; },
  { local = "::ffff:198.51.100.90"; local_port = 90; target = "c1"; },
  { local = "2001:db8::90"; local_port = 91; target = "c2"; },
  { local = "::ffff:198.51.100.90"; local_port = 91; target = "c2"; }
);
CONF

tb_bg "$TB_APP1" "$NGINX" -p "$TB_DIR/" -c "$TB_DIR/nginx.conf"
tb_wait_listen "$TB_APP1" 8000
tb_bg "$TB_APP1" "$PYTHON" "$CAPTURE" 127.0.0.1 8100 4
CAPTURE_LOG=$TB_BG_LOG
tb_wait_log "$CAPTURE_LOG" listening
tb_bg "$TB_APP1" "$SB_RELAY" -s "$TB_DIR/v1.sock" --proxy-protocol v1 127.0.0.1:8000
tb_bg "$TB_APP1" "$SB_RELAY" -s "$TB_DIR/v2.sock" --proxy-protocol v2 127.0.0.1:8000
tb_bg "$TB_APP1" "$SB_RELAY" -s "$TB_DIR/c1.sock" --proxy-protocol v1 127.0.0.1:8100
tb_bg "$TB_APP1" "$SB_RELAY" -s "$TB_DIR/c2.sock" --proxy-protocol v2 127.0.0.1:8100
for s in v1 v2 c1 c2; do
	tb_wait_socket "$TB_DIR/$s.sock"
done
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
tb_wait_listen "$TB_SERVER" "$TB_PORT"

BODY=$(cat "$TB_DIR/www/index.html")

# get URL SPORT: curl from the client namespace from source port SPORT
get() {
	local out body
	out=$(tb_in "$TB_CLIENT" curl -sS -g --noproxy '*' --max-time "$TB_WAIT" --local-port "$2" \
		-w '|status=%{http_code}' "$1") || tb_fail "curl $1 failed: $out"
	body=${out%|status=*}
	tb_assert_eq "$BODY status=200" "${body%$'\n'} status=${out##*|status=}" "body and status of $1"
}

get "http://[2001:db8::80]:80/index.html?v1-ipv6" 40001
get "http://198.51.100.80:80/index.html?v1-ipv4" 40002
get "http://[2001:db8::80]:81/index.html?v2-ipv6" 40003
get "http://198.51.100.80:81/index.html?v2-ipv4" 40004

log_line() {
	tb_wait_log "$TB_DIR/access.log" "uri=$1 "
	grep -F "uri=$1 " "$TB_DIR/access.log"
}
tb_assert_eq "pp=$TB_CLIENT_IP6 ppport=40001 ppdst=2001:db8::80 ppdstport=80 uri=/index.html?v1-ipv6 status=200" \
	"$(log_line "/index.html?v1-ipv6")" "nginx's log line for PROXY v1 from an IPv6 client"
tb_assert_eq "pp=$TB_CLIENT_IP4 ppport=40002 ppdst=198.51.100.80 ppdstport=80 uri=/index.html?v1-ipv4 status=200" \
	"$(log_line "/index.html?v1-ipv4")" "nginx's log line for PROXY v1 from an IPv4 client"
tb_assert_eq "pp=$TB_CLIENT_IP6 ppport=40003 ppdst=2001:db8::80 ppdstport=81 uri=/index.html?v2-ipv6 status=200" \
	"$(log_line "/index.html?v2-ipv6")" "nginx's log line for PROXY v2 from an IPv6 client"
tb_assert_eq "pp=$TB_CLIENT_IP4 ppport=40004 ppdst=198.51.100.80 ppdstport=81 uri=/index.html?v2-ipv4 status=200" \
	"$(log_line "/index.html?v2-ipv4")" "nginx's log line for PROXY v2 from an IPv4 client"
if grep -E '\[(emerg|alert|crit|error)\]' "$TB_DIR/error.log" >&2; then
	tb_fail "nginx logged errors"
fi

# the exact headers; the client sends "data N" and half-closes, the capture answers
# "ok\n" and the data it got after the header
capture() {
	local addr=$1 port=$2 sport=$3 n=$4 out
	if [[ $addr == *:* ]]; then
		addr="TCP6:[$addr]:$port,sourceport=$sport,connect-timeout=$TB_WAIT"
	else
		addr="TCP4:$addr:$port,sourceport=$sport,connect-timeout=$TB_WAIT"
	fi
	out=$(printf 'data %s' "$n" | tb_in "$TB_CLIENT" timeout "$TB_WAIT" socat -t "$TB_WAIT" - "$addr") ||
		tb_fail "connection $n to $addr failed: $out"
	tb_assert_eq "ok"$'\n'"data $n" "$out" "connection $n: the capture's answer (data after the header intact)"
}
capture 2001:db8::90 90 40021 1
capture 198.51.100.90 90 40022 2
capture 2001:db8::90 91 40023 3
capture 198.51.100.90 91 40024 4
tb_wait_count "$CAPTURE_LOG" '^v[12] \|^bad' 4 "header lines of the capture"
got=$(grep '^v[12] \|^bad' "$CAPTURE_LOG") || true
expect="v1 PROXY TCP6 $TB_CLIENT_IP6 2001:db8::90 40021 90
v1 PROXY TCP4 $TB_CLIENT_IP4 198.51.100.90 40022 90
v2 ver_cmd=0x21 fam=0x21 len=36 src=$TB_CLIENT_IP6 dst=2001:db8::90 sport=40023 dport=91
v2 ver_cmd=0x21 fam=0x11 len=12 src=$TB_CLIENT_IP4 dst=198.51.100.90 sport=40024 dport=91"
tb_assert_eq "$expect" "$got" "the PROXY headers as received"
