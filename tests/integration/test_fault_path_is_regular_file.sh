#!/bin/bash
# Fault: an applet's socket path is replaced by a regular file. Targets "one" (one.sock,
# socketbox-inetd answering "one") and "two" (two.sock, answering "two"). Applet one is
# stopped and its path becomes a regular file (`rm sock; touch sock`). Asserted:
#   - connections to target one are reset (RST, no data), each with a log line
#     "reset [...] -> [2001:db8::1]:80: target one: ...", and the acceptor says clearly
#     what is wrong: a warning naming the path and saying it is not a socket
#     ("not a socket"), not a misleading "Connection refused" as if an applet were merely
#     not running;
#   - target two keeps answering "two" between and after them, and the acceptor lives on;
#   - the counters (SIGUSR1) count the resets as "reset no-applet";
#   - socketbox-inetd started on a path that is a regular file (with contents) fails at
#     once (non-zero status, not a hang: it is stopped after TB_WAIT s) with an error naming
#     the path and saying it exists
#     and is not a socket, and leaves the file alone (same inode, same contents);
#   - once the file is removed and applet one restarted, target one answers again.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
tb_setup

ONE=$TB_DIR/one.sock
TWO=$TB_DIR/two.sock
cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
targets = {
  one = { path = "$ONE"; };
  two = { path = "$TWO"; };
};
rules = (
  { local = "2001:db8::1"; target = "one"; },
  { local = "2001:db8::2"; target = "two"; }
);
CONF

tb_bg "$TB_APP1" "$SB_INETD" -s "$ONE" echo one
ONE_PID=$TB_BG_PID
tb_bg "$TB_APP2" "$SB_INETD" -s "$TWO" echo two
tb_wait_socket "$ONE"
tb_wait_socket "$TWO"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
SB_PID=$TB_BG_PID
SB_LOG=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"

ask() { # ADDR WANT
	local out
	out=$(tb_client_get "$1" 80) || tb_fail "connection to $1 failed: '$out'"
	tb_assert_eq "$2" "$out" "answer from $1"
}
ask 2001:db8::1 one
ask 2001:db8::2 two

# ---------------------------------------------------------------- the path becomes a file

tb_kill "$ONE_PID"
rm -f "$ONE"
touch "$ONE"
[[ -f $ONE && ! -S $ONE ]] || tb_fail "$ONE is not a regular file"
tb_log "applet one stopped; $ONE is now a regular file"

for i in 1 2 3 4; do
	tb_client_reset 2001:db8::1 80 || tb_fail "connection $i to target one was not reset"
	ask 2001:db8::2 two
done
tb_alive "$SB_PID" || tb_fail "the acceptor died"
# each reset is logged right after it is sent: wait for the 4 lines, then count them
tb_wait_count "$SB_LOG" '-> \[2001:db8::1\]:80: target one: ' 4 '"reset ... target one" log lines'
n=$(grep -cF -- '-> [2001:db8::1]:80: target one: ' "$SB_LOG" || true)
tb_log "reset lines: $(grep -m 1 'target one: ' "$SB_LOG")"
tb_assert_eq 4 "$n" "\"reset ... target one\" log lines"
tb_log "what the acceptor said about $ONE:"
grep -F "$ONE" "$SB_LOG" >&2 || true
if ! grep -F "$ONE" "$SB_LOG" | grep -qi 'not a socket'; then
	tb_fail "no log line says that $ONE is not a socket (got: $(grep -F "$ONE" "$SB_LOG" | tr '\n' '|'))"
fi
tb_log "ok: the log says $ONE is not a socket"

kill -USR1 "$SB_PID"
tb_wait_log "$SB_LOG" "counters:"
counters=$(grep 'counters:' "$SB_LOG" | tail -n 1)
tb_log "$counters"
[[ $counters == *"reset no-applet 4,"* ]] || tb_fail "counters lack 'reset no-applet 4,': $counters"

# ---------------------------------------------------------------- inetd on a regular file

printf 'precious\n' >"$TB_DIR/file.sock"
ino=$(stat -c %i "$TB_DIR/file.sock")
set +e
err=$(tb_in "$TB_APP1" timeout "$TB_WAIT" "$SB_INETD" -s "$TB_DIR/file.sock" echo x 2>&1)
rc=$?
set -e
tb_log "socketbox-inetd on a regular file: status $rc: $err"
[[ $rc -ne 0 && $rc -ne 124 ]] || tb_fail "socketbox-inetd on a regular file: status $rc (expected an error exit)"
[[ $err == *"$TB_DIR/file.sock"* ]] || tb_fail "the error does not name the path: $err"
[[ $err == *"exists"* || $err == *"not a socket"* ]] ||
	tb_fail "the error does not say the path exists / is not a socket: $err"
[[ -f $TB_DIR/file.sock && ! -S $TB_DIR/file.sock ]] || tb_fail "the file was replaced"
tb_assert_eq "$ino" "$(stat -c %i "$TB_DIR/file.sock")" "inode of the file after the attempt"
tb_assert_eq precious "$(cat "$TB_DIR/file.sock")" "contents of the file after the attempt"

# ---------------------------------------------------------------- repaired

rm -f "$ONE"
tb_bg "$TB_APP1" "$SB_INETD" -s "$ONE" echo one
tb_wait_socket "$ONE"
ask 2001:db8::1 one
ask 2001:db8::2 two
echo "PASS: a regular file at a target's path: resets with a clear log line, other targets serve, inetd refuses it"
