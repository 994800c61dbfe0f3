#!/bin/bash
# (d) IPv4 through the dual-stack listener: an IPv4 client's connection arrives as
# ::ffff:a.b.c.d and is matched as such. A plain IPv4 rule `local = "198.51.100.8"` selects
# applet two; a mapped prefix `local = "::ffff:198.51.100.0/120"` selects applet one for
# the rest of 198.51.100.0/24. The applet's UCSPI environment carries the mapped forms:
# TCPLOCALIP=::ffff:198.51.100.7, TCPREMOTEIP=::ffff:10.213.0.2, PROTO=TCP6. An IPv6
# connection is not caught by the mapped prefix (it is reset: no rule).

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
tb_setup

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
targets = {
  one = { path = "$TB_DIR/app1.sock"; };
  two = { path = "$TB_DIR/app2.sock"; };
};
rules = (
  { local = "198.51.100.8"; target = "two"; },
  { local = "::ffff:198.51.100.0/120"; target = "one"; }
);
CONF

# shellcheck disable=SC2016 # expanded by the per-connection shell
tb_bg "$TB_APP1" "$SB_INETD" -s "$TB_DIR/app1.sock" sh -c \
	'echo "one PROTO=$PROTO TCPLOCALIP=$TCPLOCALIP TCPLOCALPORT=$TCPLOCALPORT TCPREMOTEIP=$TCPREMOTEIP"'
# shellcheck disable=SC2016
tb_bg "$TB_APP2" "$SB_INETD" -s "$TB_DIR/app2.sock" sh -c \
	'echo "two PROTO=$PROTO TCPLOCALIP=$TCPLOCALIP TCPLOCALPORT=$TCPLOCALPORT TCPREMOTEIP=$TCPREMOTEIP"'
tb_wait_socket "$TB_DIR/app1.sock"
tb_wait_socket "$TB_DIR/app2.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -v -f "$TB_DIR/sb.conf"
SB_LOG=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"

# expect ADDR PORT WHO: an IPv4 connection to ADDR:PORT is served by applet WHO with the
# mapped addresses in its environment.
expect() {
	local out
	out=$(tb_client_get "$1" "$2") || tb_fail "$1:$2 should reach applet $3, got: '$out'"
	tb_assert_eq "$3 PROTO=TCP6 TCPLOCALIP=::ffff:$1 TCPLOCALPORT=$2 TCPREMOTEIP=::ffff:$TB_CLIENT_IP4" \
		"$out" "applet $3's environment for $1:$2"
}

expect 198.51.100.7 80 one
expect 198.51.100.8 80 two
expect 198.51.100.8 443 two
expect 198.51.100.0 22 one
expect 198.51.100.255 8080 one
expect 198.51.100.9 80 one

# The acceptor matched the mapped form and says so.
grep -qF -- "[::ffff:$TB_CLIENT_IP4]:" "$SB_LOG" ||
	tb_fail "the acceptor did not log the client as ::ffff:$TB_CLIENT_IP4"
grep -qF -- "-> [::ffff:198.51.100.7]:80: target one" "$SB_LOG" ||
	tb_fail "the acceptor did not log [::ffff:198.51.100.7]:80 going to target one"
grep -qF -- "-> [::ffff:198.51.100.8]:80: target two" "$SB_LOG" ||
	tb_fail "the acceptor did not log [::ffff:198.51.100.8]:80 going to target two"

# An IPv6 destination is outside ::ffff:198.51.100.0/120: no rule, reset.
r=$(tb_client_probe 2001:db8::7 80)
[[ $r != "error:[Errno 104]"* ]] || r=reset # a reset that beat the probe's connect()
tb_assert_eq reset "$r" "IPv6 [2001:db8::7]:80 (matches no rule)"
tb_log "ok: IPv4 connections match IPv4 and mapped rules and see mapped addresses"
