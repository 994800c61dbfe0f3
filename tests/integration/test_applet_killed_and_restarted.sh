#!/bin/bash
# (g) Applets come and go while the acceptor keeps running.
#  - An applet that is not running when the acceptor starts: its connections are reset,
#    and once it starts they are served, without restarting the acceptor.
#  - Applet one is killed with SIGKILL (its socket file stays behind, stale): a new
#    connection for it is reset at once (no hang: the acceptor resets it when it finds no
#    applet, counted as "reset no-applet", and queues nothing for it), while applet two is
#    still served. Applet one is started again at the same path: it is served again, by the same
#    acceptor process.
# The acceptor logs the applet as unreachable and as reachable again.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
tb_setup

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
targets = {
  one  = { path = "$TB_DIR/app1.sock"; };
  two  = { path = "$TB_DIR/app2.sock"; };
  late = { path = "$TB_DIR/app3.sock"; };
};
rules = (
  { local = "2001:db8::1"; target = "one"; },
  { local = "2001:db8::2"; target = "two"; },
  { local = "2001:db8::3"; target = "late"; }
);
CONF

# expect_served ADDR ANSWER
expect_served() {
	local out
	out=$(tb_client_get "$1" 80) || tb_fail "[$1]:80 was not served: '$out'"
	tb_assert_eq "$2" "$out" "answer for [$1]:80"
}

# counter NAME LINE: the value of counter NAME ("queued", "reset no-applet") in LINE.
counter() {
	sed -n "s/.* $1 \([0-9]*\),.*/\1/p" <<<"$2"
}

# expect_immediate_reset ADDR WHAT: the connection is reset at once: the acceptor's counters
# (SIGUSR1) show it as one more "reset no-applet", with nothing queued meanwhile. Whether it
# is "at once" is not timed (a busy machine is slow): a connection held for an applet that
# might come back would show in "queued", or end as "timeout" after TB_WAIT s.
expect_immediate_reset() {
	local t0 t1 r ms before after
	before=$(tb_counters "$SB_PID" "$SB_LOG")
	t0=$(date +%s%N)
	r=$(tb_client_probe "$1" 80)
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	tb_assert_eq reset "$r" "[$1]:80 ($2)"
	after=$(tb_counters "$SB_PID" "$SB_LOG")
	tb_assert_eq "reset no-applet $(($(counter 'reset no-applet' "$before") + 1)), queued $(counter queued "$before")" \
		"reset no-applet $(counter 'reset no-applet' "$after"), queued $(counter queued "$after")" \
		"[$1]:80 ($2): the acceptor's counters"
	tb_log "ok: reset after ${ms} ms"
}

tb_bg "$TB_APP1" "$SB_INETD" -s "$TB_DIR/app1.sock" echo one
APP1_PID=$TB_BG_PID
tb_bg "$TB_APP2" "$SB_INETD" -s "$TB_DIR/app2.sock" echo two
tb_wait_socket "$TB_DIR/app1.sock"
tb_wait_socket "$TB_DIR/app2.sock"
[[ ! -e $TB_DIR/app3.sock ]] || tb_fail "app3.sock exists before its applet runs"
tb_bg "$TB_SERVER" "$SOCKETBOX" -v -f "$TB_DIR/sb.conf"
SB_PID=$TB_BG_PID
SB_LOG=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"

expect_served 2001:db8::1 one
expect_served 2001:db8::2 two

# --- an applet that is not there yet, then appears
expect_immediate_reset 2001:db8::3 "applet late not started yet"
tb_wait_log "$SB_LOG" "applet $TB_DIR/app3.sock is not reachable"
tb_bg "$TB_APP2" "$SB_INETD" -s "$TB_DIR/app3.sock" echo late
tb_wait_socket "$TB_DIR/app3.sock" "$TB_APP2"
expect_served 2001:db8::3 late
expect_served 2001:db8::3 late
tb_wait_log "$SB_LOG" "applet $TB_DIR/app3.sock is reachable again"

# --- applet one is killed
tb_kill "$APP1_PID" KILL
tb_alive "$APP1_PID" && tb_fail "applet one survived SIGKILL"
[[ -S $TB_DIR/app1.sock ]] || tb_fail "the killed applet's socket file should remain (stale)"
expect_immediate_reset 2001:db8::1 "applet one killed"
expect_served 2001:db8::2 two
expect_immediate_reset 2001:db8::1 "applet one killed, second attempt"
expect_served 2001:db8::3 late
tb_wait_log "$SB_LOG" "target one: no applet is reachable"

# --- applet one is started again at the same path (over the stale socket file)
tb_bg "$TB_APP1" "$SB_INETD" -s "$TB_DIR/app1.sock" echo one again
tb_wait_log "$TB_BG_LOG" "receiving on $TB_DIR/app1.sock"
expect_served 2001:db8::1 "one again"
expect_served 2001:db8::2 two
expect_served 2001:db8::1 "one again"
tb_wait_log "$SB_LOG" "applet $TB_DIR/app1.sock is reachable again"

tb_alive "$SB_PID" || tb_fail "the acceptor is no longer running"
n=$(grep -c 'ready:' "$SB_LOG")
tb_assert_eq 1 "$n" "times the acceptor started"
tb_log "ok: killed and late applets are reset at once and served again when they are back"
