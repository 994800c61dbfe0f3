#!/bin/bash
# Relay (e): --netns. socketbox-relay runs in the server namespace (where socketbox hands it
# connections) and makes its outbound connections inside $TB_APP1, which has only lo and no
# route to anywhere: the backends there listen only on 127.0.0.1:7000 and [::1]:7000
# (helpers/relay_echo.c, greeting "app1-v4" / "app1-v6", then echo). A decoy echo server in
# the server namespace listens on the same addresses and ports with the greeting "decoy",
# so a connection made in the wrong namespace would be noticed.
#
# Relays (all in the server namespace):
#   r4: --netns /run/netns/$TB_APP1 127.0.0.1:7000
#   r6: --netns /run/netns/$TB_APP1 [::1]:7000
#   rp: --netns /proc/PID/ns/net (PID: the IPv6 backend) [::1]:7000
# Asserted: $TB_APP1 has no link but lo; for each relay, three connections from the client
# over IPv6 and one over IPv4 get "GREETING\nhello N\n" (the backend in $TB_APP1, never the
# decoy, echoing what the client sent, which then half-closed); each relay process itself
# stays in the server namespace; the decoy never got a connection.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_RELAY"
tb_setup

cc -O2 -Wall -Wextra -Werror -o "$TB_DIR/relay_echo" "$(dirname "$0")/helpers/relay_echo.c" ||
	tb_fail "cannot build helpers/relay_echo.c"

links=$(ip -n "$TB_APP1" -o link show | awk -F': ' '{ print $2 }' | tr '\n' ' ')
tb_assert_eq "lo " "$links" "links in $TB_APP1"

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
targets = {
  r4 = { path = "$TB_DIR/r4.sock"; };
  r6 = { path = "$TB_DIR/r6.sock"; };
  rp = { path = "$TB_DIR/rp.sock"; };
};
rules = (
  { local = "2001:db8::4"; target = "r4"; },
  { local = "::ffff:198.51.100.4"; target = "r4"; },
  { local = "2001:db8::6"; target = "r6"; },
  { local = "::ffff:198.51.100.6"; target = "r6"; },
  { local = "2001:db8::7"; target = "rp"; },
  { local = "::ffff:198.51.100.7"; target = "rp"; }
);
CONF

tb_bg "$TB_APP1" "$TB_DIR/relay_echo" -g app1-v4 127.0.0.1:7000
tb_wait_log "$TB_BG_LOG" ready
tb_bg "$TB_APP1" "$TB_DIR/relay_echo" -g app1-v6 "[::1]:7000"
B6_PID=$TB_BG_PID
tb_wait_log "$TB_BG_LOG" ready
tb_bg "$TB_SERVER" "$TB_DIR/relay_echo" -v -g decoy 127.0.0.1:7000 "[::1]:7000"
DECOY_LOG=$TB_BG_LOG
tb_wait_log "$DECOY_LOG" ready

declare -A PIDS
tb_bg "$TB_SERVER" "$SB_RELAY" -s "$TB_DIR/r4.sock" --netns "/run/netns/$TB_APP1" 127.0.0.1:7000
PIDS[r4]=$TB_BG_PID
tb_bg "$TB_SERVER" "$SB_RELAY" -s "$TB_DIR/r6.sock" --netns "/run/netns/$TB_APP1" "[::1]:7000"
PIDS[r6]=$TB_BG_PID
tb_bg "$TB_SERVER" "$SB_RELAY" -s "$TB_DIR/rp.sock" --netns "/proc/$B6_PID/ns/net" "[::1]:7000"
PIDS[rp]=$TB_BG_PID
for r in r4 r6 rp; do
	tb_wait_socket "$TB_DIR/$r.sock"
done
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
tb_wait_listen "$TB_SERVER" "$TB_PORT"

declare -A GREETING=([r4]=app1-v4 [r6]=app1-v6 [rp]=app1-v6)
declare -A LAST=([r4]=4 [r6]=6 [rp]=7)
for r in r4 r6 rp; do
	for n in 1 2 3 4; do
		if ((n < 4)); then
			addr=2001:db8::${LAST[$r]}
		else
			addr=198.51.100.${LAST[$r]}
		fi
		out=$(tb_client_send "$addr" 80 "hello $n"$'\n') || tb_fail "$r, $addr: the connection failed: '$out'"
		tb_assert_eq "${GREETING[$r]}"$'\n'"hello $n" "$out" "$r, $addr, connection $n: the answer"
	done
done

server_ns=$(stat -L -c %i "/run/netns/$TB_SERVER")
for r in r4 r6 rp; do
	tb_alive "${PIDS[$r]}" || tb_fail "relay $r died"
	tb_assert_eq "net:[$server_ns]" "$(readlink "/proc/${PIDS[$r]}/ns/net")" \
		"relay $r's own network namespace (the server's)"
done
if grep -q accepted "$DECOY_LOG"; then
	tb_fail "the decoy in the server namespace got $(grep -c accepted "$DECOY_LOG") connections"
fi
tb_log "ok: the decoy in the server namespace was never reached"
