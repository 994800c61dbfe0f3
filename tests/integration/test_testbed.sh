#!/bin/bash
# The reference test bed works on its own: with only socat, a transparent dual-stack listener
# on [::]:$TB_PORT in the server namespace receives connections from the client namespace to
# any address and port in 2001:db8::/32 and 198.51.100.0/24, and sees the dialled address.
# No socketbox binary is involved; if this fails, every other integration test is moot.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_setup

# Answer "ok" and, on a second line, the address and port the client dialled as the
# listening socket saw them (socat's SOCAT_SOCKADDR/SOCAT_SOCKPORT of the accepted socket).
# shellcheck disable=SC2016 # $SOCAT_* expand in the shell socat starts
tb_bg "$TB_SERVER" socat "TCP6-LISTEN:$TB_PORT,ipv6only=0,ip-transparent,reuseaddr,fork" \
	SYSTEM:'echo ok; echo "$SOCAT_SOCKADDR $SOCAT_SOCKPORT"'
tb_wait_listen "$TB_SERVER" "$TB_PORT"

check() {
	local addr=$1 port=$2 seen=$3 out got_addr got_port
	out=$(tb_client_get "$addr" "$port") || tb_fail "connecting to $addr port $port failed: $out"
	tb_assert_eq ok "$(sed -n 1p <<<"$out")" "answer via $addr port $port"
	read -r got_addr got_port <<<"$(sed -n 2p <<<"$out")"
	tb_assert_eq "$seen $port" "$(tb_norm_addr "$got_addr") $got_port" \
		"local address seen for $addr port $port"
}

check 2001:db8::1 22 2001:db8::1
check 2001:db8:5::9 80 2001:db8:5::9
check 198.51.100.7 443 ::ffff:198.51.100.7

# And something outside the routed prefixes must not reach the listener.
if out=$(tb_client_get 2001:db9::1 80 2>&1); then
	tb_fail "2001:db9::1 is outside the test bed's prefix but answered: $out"
fi

# The listener can refuse, and tb_client_reset sees it: kill it and dial again.
tb_kill "$TB_BG_PID"
tb_client_reset 2001:db8::1 22 || tb_fail "a closed port was not refused"

echo "PASS: test bed delivers IPv6 and IPv4 connections to one transparent listener"
