#!/bin/bash
# (h) SIGHUP reloads the configuration without ever closing the listener:
#   1. config A (2001:db8::1 -> applet one): connections reach applet one;
#   2. the file is replaced by one with a syntax error, SIGHUP: the log names FILE:LINE and
#      says the previous configuration stays in force; connections still reach applet one;
#   3. the same with a file that parses but has a bad address (FILE:LINE: rules[1].local);
#   4. config B (2001:db8::1 -> applet two), SIGHUP: the log says reloaded, new connections
#      reach applet two;
# and all along a client connects in a loop, one connection after another: not one of them
# fails, answers go from "one" to "two" and never back, and the acceptor keeps the same
# process and the same listening socket (inode in ss and in /proc/PID/fd).

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
tb_setup

HELPERS=$(cd "$(dirname "$0")/helpers" && pwd)
CONF=$TB_DIR/sb.conf

# install_conf SOURCE: replace the configuration file at once (rename), as an operator's
# editor or configuration management would, so a reload never reads half a file.
install_conf() {
	cp "$1" "$CONF.new"
	mv -f "$CONF.new" "$CONF"
}

# wait_log PATTERN WHAT: wait up to $TB_WAIT s for an extended regex in the acceptor's log.
wait_log() {
	tb_until "$TB_WAIT" grep -Eq -- "$1" "$SB_LOG" ||
		tb_fail "the acceptor's log does not show $2 (/$1/) within $TB_WAIT s"
	tb_log "ok: log shows $2"
}

# wait_answers TEXT N: wait up to $TB_WAIT s until the connection loop has N answers TEXT.
wait_answers() {
	tb_wait_count "$LOOP_LOG" "^ok $1\$" "$2" "connections of the loop answered '$1'"
}

# ask WHO: one connection to 2001:db8::1 port 80 must be answered by applet WHO.
ask() {
	local out
	out=$(tb_client_get 2001:db8::1 80) || tb_fail "connection to 2001:db8::1 port 80 failed: $out"
	tb_assert_eq "$1" "$out" "applet answering 2001:db8::1 port 80"
}

# listener_inode: the inode of the socket listening on [::]:$TB_PORT in the server namespace.
listener_inode() {
	tb_in "$TB_SERVER" ss -Hltne "sport = :$TB_PORT" 2>/dev/null | grep -o 'ino:[0-9]*' | head -n 1 |
		cut -d: -f2
}

# fd_inodes PID: the socket inodes held open by PID, one per line.
fd_inodes() {
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null |
		sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p'
}

# ---------------------------------------------------------------- configurations

cat >"$TB_DIR/a.conf" <<CONF
listen = { address = "::"; port = $TB_PORT; transparent = true; };
targets = {
  one = { path = "$TB_DIR/app1.sock"; };
};
rules = (
  { local = "2001:db8::1"; target = "one"; }
);
CONF

# A syntax error on line 6 ("= =").
cat >"$TB_DIR/syntax.conf" <<CONF
listen = { address = "::"; port = $TB_PORT; transparent = true; };
targets = {
  two = { path = "$TB_DIR/app2.sock"; };
};
rules = (
  { local = "2001:db8::1"; target = = "two"; }
);
CONF
SYNTAX_LINE=6

# Parses, but line 7 has an address that is not one.
cat >"$TB_DIR/semantic.conf" <<CONF
listen = { address = "::"; port = $TB_PORT; transparent = true; };
targets = {
  two = { path = "$TB_DIR/app2.sock"; };
};
rules = (
  { local = "2001:db8::5"; target = "two"; },
  { local = "2001:db8::1::zz"; target = "two"; }
);
CONF
SEMANTIC_LINE=7

cat >"$TB_DIR/b.conf" <<CONF
listen = { address = "::"; port = $TB_PORT; transparent = true; };
targets = {
  two = { path = "$TB_DIR/app2.sock"; };
};
rules = (
  { local = "2001:db8::1"; target = "two"; }
);
CONF

# ---------------------------------------------------------------- start

tb_bg "$TB_APP1" "$SB_INETD" -s "$TB_DIR/app1.sock" echo one
tb_bg "$TB_APP2" "$SB_INETD" -s "$TB_DIR/app2.sock" echo two
tb_wait_socket "$TB_DIR/app1.sock"
tb_wait_socket "$TB_DIR/app2.sock"

install_conf "$TB_DIR/a.conf"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$CONF"
SB_PID=$TB_BG_PID
SB_LOG=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"
wait_log '^socketbox: ready' "the acceptor is ready"

INODE=$(listener_inode)
[[ -n $INODE ]] || tb_fail "no inode for the listening socket in ss"
fd_inodes "$SB_PID" | grep -qx "$INODE" ||
	tb_fail "the acceptor (pid $SB_PID) does not hold the listening socket $INODE"
tb_log "listening socket: inode $INODE in pid $SB_PID"

ask one

# The connection loop runs until the stop file appears.
tb_bg "$TB_CLIENT" "$PYTHON" "$HELPERS/connect_loop.py" 2001:db8::1 80 "$TB_DIR/stop-loop" 0.01
LOOP_PID=$TB_BG_PID
LOOP_LOG=$TB_BG_LOG
# the loop is under way: 5 answers from one before the first reload
wait_answers one 5

# ---------------------------------------------------------------- a syntax error

install_conf "$TB_DIR/syntax.conf"
kill -HUP "$SB_PID"
wait_log "^socketbox: warning: reload of $CONF failed; the previous configuration stays in force\$" \
	"the failed reload (syntax error)"
grep -Fq "$CONF:$SYNTAX_LINE: " "$SB_LOG" ||
	tb_fail "the log does not name $CONF:$SYNTAX_LINE for the syntax error: $(cat "$SB_LOG")"
tb_log "ok: log names $CONF:$SYNTAX_LINE: $(grep -F "$CONF:$SYNTAX_LINE: " "$SB_LOG")"
tb_alive "$SB_PID" || tb_fail "the acceptor died on a reload with a syntax error"
ask one
sleep 0.2

# ---------------------------------------------------------------- a bad setting

install_conf "$TB_DIR/semantic.conf"
kill -HUP "$SB_PID"
wait_log "$CONF:$SEMANTIC_LINE: rules\\[1\\]\\.local: .*2001:db8::1::zz" \
	"$CONF:$SEMANTIC_LINE: rules[1].local for the bad address"
wait_log "failed; the previous configuration stays in force.*" "the failed reload (bad address)"
n=$(grep -c 'the previous configuration stays in force' "$SB_LOG")
tb_assert_eq 2 "$n" "number of failed reloads logged"
tb_alive "$SB_PID" || tb_fail "the acceptor died on a reload with a bad address"
ask one
sleep 0.2

# ---------------------------------------------------------------- a good configuration

install_conf "$TB_DIR/b.conf"
kill -HUP "$SB_PID"
# The reload line says what runs now and what changed.
wait_log "^socketbox: reloaded $CONF: 1 targets, 1 rules; socketbox [0-9][0-9.]*; targets added: two; targets removed: one\$" \
	"the reload of config B"
ask two
ask two

# the loop goes on past the reload: 5 answers from two
wait_answers two 5
: >"$TB_DIR/stop-loop"
loop_stopped() { ! tb_alive "$LOOP_PID"; }
tb_until "$TB_WAIT" loop_stopped || true
tb_alive "$LOOP_PID" && tb_fail "the connection loop did not stop within $TB_WAIT s"

# ---------------------------------------------------------------- the loop's record

grep -q '^done ' "$LOOP_LOG" || tb_fail "the connection loop did not finish: $(tail -n 5 "$LOOP_LOG")"
total=$(sed -n 's/^done //p' "$LOOP_LOG")
fails=$(grep -c '^fail' "$LOOP_LOG" || true)
ones=$(grep -cx 'ok one' "$LOOP_LOG" || true)
twos=$(grep -cx 'ok two' "$LOOP_LOG" || true)
tb_log "connection loop: $total connections, $ones answered one, $twos answered two, $fails failed"
if [[ $fails -ne 0 ]]; then
	tb_fail "$fails of $total connections failed during the reloads: $(grep '^fail' "$LOOP_LOG" | sort | uniq -c | tr '\n' ';')"
fi
tb_assert_eq "$total" "$((ones + twos))" "connections answered by one or two"
[[ $ones -ge 5 && $twos -ge 5 ]] || tb_fail "too few connections on either side of the reload ($ones one, $twos two)"
# answered "one" until the good reload, "two" after it, never back
order=$(grep '^ok ' "$LOOP_LOG" | uniq | tr '\n' ' ')
tb_assert_eq "ok one ok two " "$order" "order of answers in the connection loop"

# ---------------------------------------------------------------- the listener

tb_alive "$SB_PID" || tb_fail "the acceptor is gone"
tb_assert_eq "$INODE" "$(listener_inode)" "inode of the listening socket after the reloads"
fd_inodes "$SB_PID" | grep -qx "$INODE" ||
	tb_fail "the acceptor no longer holds the listening socket $INODE"
tb_log "ok: pid $SB_PID still holds listening socket $INODE"
n=$(tb_in "$TB_SERVER" ss -Hltn "sport = :$TB_PORT" | wc -l)
tb_assert_eq 1 "$n" "number of listening sockets on port $TB_PORT"

echo "PASS: SIGHUP reloads; a broken file is reported with FILE:LINE and changes nothing; the listener stays"
