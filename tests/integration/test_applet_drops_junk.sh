#!/bin/bash
# (k) An applet survives junk on its socket. helpers/send_junk.py sends malformed hand-off
# datagrams straight to socketbox-inetd's AF_UNIX datagram socket: no descriptor, two
# descriptors, a pipe, a UDP socket, a listening TCP socket, and a wrong payload. Each one
# is dropped with a "dropped ..." line in the applet's log naming the reason, no program is
# run for any of them, every descriptor that arrived is closed again (the applet's count of
# open descriptors in /proc/PID/fd is back where it was), and the next real connection
# through the acceptor is served.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
tb_setup

JUNK=$(dirname "$0")/helpers/send_junk.py

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
targets = { one = { path = "$TB_DIR/app1.sock"; }; };
rules = ( { local = "2001:db8::1"; target = "one"; } );
CONF

tb_bg "$TB_APP1" "$SB_INETD" -v -s "$TB_DIR/app1.sock" echo served
APP_PID=$TB_BG_PID
APP_LOG=$TB_BG_LOG
tb_wait_socket "$TB_DIR/app1.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
tb_wait_listen "$TB_SERVER" "$TB_PORT"

# fd_count: descriptors the applet holds open now.
fd_count() {
	find "/proc/$APP_PID/fd" -mindepth 1 -maxdepth 1 | wc -l
}

# the path works before the junk
out=$(tb_client_get 2001:db8::1 80) || tb_fail "first connection failed: '$out'"
tb_assert_eq served "$out" "answer before the junk"
before=$(fd_count)
tb_log "applet [$APP_PID] holds $before descriptors"

kinds=(nofd twofds pipe udp listen payload)
reasons=("no descriptor" "more than one descriptor" "not a socket" "not a stream socket"
	"not connected" "payload")
tb_in "$TB_APP1" "$PYTHON" "$JUNK" "$TB_DIR/app1.sock" "${kinds[@]}" >&2 ||
	tb_fail "send_junk.py failed"

tb_wait_count "$APP_LOG" 'dropped' ${#kinds[@]} '"dropped" lines in the applet'"'"'s log'
n=$(grep -c 'dropped' "$APP_LOG" || true)
grep 'dropped' "$APP_LOG" >&2 || true
tb_assert_eq "${#kinds[@]}" "$n" "\"dropped\" lines in the applet's log"
mapfile -t lines < <(grep 'dropped' "$APP_LOG")
for ((i = 0; i < ${#kinds[@]}; i++)); do
	[[ ${lines[i]} == *"${reasons[i]}"* ]] ||
		tb_fail "junk '${kinds[i]}': expected a reason with '${reasons[i]}', got '${lines[i]}'"
	tb_log "ok: junk '${kinds[i]}' dropped: ${lines[i]#*: }"
done

tb_alive "$APP_PID" || tb_fail "the applet died of the junk"
after=$(fd_count)
if [[ $after != "$before" ]]; then
	ls -l "/proc/$APP_PID/fd" >&2
fi
tb_assert_eq "$before" "$after" "applet's open descriptors after the junk"
spawned=$(grep -c '^socketbox-inetd: pid [0-9]*:' "$APP_LOG" || true)
tb_assert_eq 1 "$spawned" "programs run (only the first real connection's)"

# and the next real connection is served
out=$(tb_client_get 2001:db8::1 80) || tb_fail "connection after the junk failed: '$out'"
tb_assert_eq served "$out" "answer after the junk"
tb_assert_eq "$before" "$(fd_count)" "applet's open descriptors after the next connection"
tb_log "ok: every kind of junk was dropped and logged, nothing leaked, service goes on"
