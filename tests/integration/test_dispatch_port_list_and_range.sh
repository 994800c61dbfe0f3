#!/bin/bash
# (b) Dispatch by local address and local port: a rule with one local address and a
# local_port list [22, 80] hands to applet one; a rule with the local prefix
# 2001:db8:100::/64 and the local_port range "8000-8099" hands to applet two. Every
# address/port combination that matches lands on the right applet (which sees the address
# and port the client dialled); every combination that matches no rule (right address,
# wrong port; right port, wrong address; just outside the range or the prefix) is reset,
# because the default action is reject.

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
  { local = "2001:db8::10"; local_port = [ 22, 80 ]; target = "one"; },
  { local = "2001:db8:100::/64"; local_port = "8000-8099"; target = "two"; }
);
CONF

# shellcheck disable=SC2016 # expanded by the per-connection shell
tb_bg "$TB_APP1" "$SB_INETD" -s "$TB_DIR/app1.sock" sh -c 'echo "one $TCPLOCALIP $TCPLOCALPORT"'
# shellcheck disable=SC2016
tb_bg "$TB_APP2" "$SB_INETD" -s "$TB_DIR/app2.sock" sh -c 'echo "two $TCPLOCALIP $TCPLOCALPORT"'
tb_wait_socket "$TB_DIR/app1.sock"
tb_wait_socket "$TB_DIR/app2.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -v -f "$TB_DIR/sb.conf"
SB_PID=$TB_BG_PID
SB_LOG=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"

# expect_applet ADDR PORT WHO: the connection is served by applet WHO ("one" or "two").
expect_applet() {
	local out
	out=$(tb_client_get "$1" "$2") || tb_fail "[$1]:$2 should reach applet $3, got: '$out'"
	tb_assert_eq "$3 $1 $2" "$out" "answer for [$1]:$2"
}

# expect_reset ADDR PORT: no rule matches; the connection is reset without data.
expect_reset() {
	local r
	r=$(tb_client_probe "$1" "$2")
	tb_assert_eq reset "$r" "[$1]:$2 (no rule matches)"
}

# rule 1: the address with each port of the list
expect_applet 2001:db8::10 22 one
expect_applet 2001:db8::10 80 one
# rule 2: addresses in the prefix, ports at both ends of the range and inside it
expect_applet 2001:db8:100::5 8000 two
expect_applet 2001:db8:100::5 8099 two
expect_applet 2001:db8:100::1:2 8042 two
expect_applet 2001:db8:100:0:ffff:ffff:ffff:ffff 8050 two

# rule 1's address with ports not in the list (and not in rule 2's range either)
expect_reset 2001:db8::10 23
expect_reset 2001:db8::10 443
expect_reset 2001:db8::10 8000
# rule 1's ports on another address
expect_reset 2001:db8::11 22
expect_reset 2001:db8::11 80
# rule 2's prefix with ports just outside the range, and with rule 1's ports
expect_reset 2001:db8:100::5 7999
expect_reset 2001:db8:100::5 8100
expect_reset 2001:db8:100::5 22
expect_reset 2001:db8:100::5 80
# rule 2's range just outside the prefix
expect_reset 2001:db8:101::5 8000
expect_reset 2001:db8:ff::ffff 8050

# the matches still work after the rejects (nothing got stuck)
expect_applet 2001:db8::10 80 one
expect_applet 2001:db8:100::7 8001 two

# The acceptor says why: a default reject for a non-matching combination, the target for
# a match.
grep -qF -- "-> [2001:db8::10]:23: reject (default)" "$SB_LOG" ||
	tb_fail "the acceptor did not log the default reject of [2001:db8::10]:23"
grep -qF -- "-> [2001:db8:100::5]:8099: target two" "$SB_LOG" ||
	tb_fail "the acceptor did not log [2001:db8:100::5]:8099 going to target two"
tb_alive "$SB_PID" ||
	tb_fail "the acceptor is no longer running"
tb_log "ok: port lists and ranges dispatch as configured; everything else is reset"
