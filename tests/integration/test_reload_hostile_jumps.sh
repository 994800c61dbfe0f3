#!/bin/bash
# A SIGHUP with a hostile jump graph leaves the running acceptor serving. The acceptor runs
# under a 1 MiB stack limit (an eighth of the usual 8 MiB), so that a walk of the jump graph
# that takes a stack frame per rule set would overflow on the chain below:
#   1. config A (2001:db8::1 -> applet one): connections reach applet one;
#   2. "doubling": 30 rule sets, each jumping twice to the next, entered ahead of the rule
#      for 2001:db8::1 (so loaded, every connection would try 2^30 sets: some 20 s each).
#      SIGHUP: the log names FILE:LINE: rulesets: line N: jump from "s17" to "s18" lets
#      one lookup take more than 10000 steps, and the previous configuration stays; a
#      connection is still answered by applet one at once;
#   3. "chain": 20,000 rule sets, each jumping to the next: rejected the same way (the
#      jump of s14999), the acceptor alive, still answering with applet one;
#   4. config B (2001:db8::1 -> applet two): reloaded, answered by applet two;
# and the acceptor keeps its process all along.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
command -v prlimit >/dev/null || tb_skip "prlimit is not installed"
tb_setup

CONF=$TB_DIR/sb.conf

# install_conf SOURCE: replace the configuration file at once (rename).
install_conf() {
	cp "$1" "$CONF.new"
	mv -f "$CONF.new" "$CONF"
}

OVER="lets one lookup take more than 10000 steps (tries of rule sets and hash tables probed)"

# failed_reloads: how many reloads the acceptor has refused so far.
failed_reloads() {
	grep -c 'the previous configuration stays in force' "$SB_LOG" || true
}

# ask WHO: one connection to 2001:db8::1 port 80 must be answered by applet WHO (within the
# 5 s of tb_client_get: a lookup through the hostile jumps would take far longer).
ask() {
	local out
	out=$(tb_client_get 2001:db8::1 80) || tb_fail "connection to 2001:db8::1 port 80 failed: $out"
	tb_assert_eq "$1" "$out" "applet answering 2001:db8::1 port 80"
}

# hostile KIND N FILE: N rule sets, "doubling" (two jumps from each set to the next) or
# "chain" (one), entered from the main list ahead of the rule for 2001:db8::1. Set i is on
# line i + 4.
hostile() {
	awk -v kind="$1" -v n="$2" -v port="$TB_PORT" -v dir="$TB_DIR" 'BEGIN {
		printf "listen = { address = \"::\"; port = %d; transparent = true; };\n", port
		printf "targets = { two = { path = \"%s/app2.sock\"; }; };\n", dir
		print "rulesets = {"
		for (i = 0; i < n - 1; i++) {
			if (kind == "doubling")
				printf "  s%d = ( { jump = \"s%d\"; }, { jump = \"s%d\"; } );\n", i, i + 1, i + 1
			else
				printf "  s%d = ( { jump = \"s%d\"; } );\n", i, i + 1
		}
		printf "  s%d = ( { local_port = 1; action = \"drop\"; } );\n", n - 1
		print "};"
		print "rules = ( { jump = \"s0\"; }, { local = \"2001:db8::1\"; target = \"two\"; } );"
	}' >"$3"
}

# ---------------------------------------------------------------- configurations

cat >"$TB_DIR/a.conf" <<CONF
listen = { address = "::"; port = $TB_PORT; transparent = true; };
targets = { one = { path = "$TB_DIR/app1.sock"; }; };
rules = ( { local = "2001:db8::1"; target = "one"; } );
CONF

cat >"$TB_DIR/b.conf" <<CONF
listen = { address = "::"; port = $TB_PORT; transparent = true; };
targets = { two = { path = "$TB_DIR/app2.sock"; }; };
rules = ( { local = "2001:db8::1"; target = "two"; } );
CONF

# s<29-m> costs 2^(m+2) - 3 steps: s17's second jump (line 21) passes 10,000.
hostile doubling 30 "$TB_DIR/doubling.conf"
# s<19999-m> costs 2m + 1 steps: the jump of s14999 (line 15003) passes 10,000.
hostile chain 20000 "$TB_DIR/chain.conf"

# ---------------------------------------------------------------- start

tb_bg "$TB_APP1" "$SB_INETD" -s "$TB_DIR/app1.sock" echo one
tb_bg "$TB_APP2" "$SB_INETD" -s "$TB_DIR/app2.sock" echo two
tb_wait_socket "$TB_DIR/app1.sock"
tb_wait_socket "$TB_DIR/app2.sock"

install_conf "$TB_DIR/a.conf"
tb_bg "$TB_SERVER" prlimit --stack=$((1024 * 1024)) "$SOCKETBOX" -f "$CONF"
SB_PID=$TB_BG_PID
SB_LOG=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"
tb_wait_log "$SB_LOG" "socketbox: ready"
ask one

# ---------------------------------------------------------------- doubling

install_conf "$TB_DIR/doubling.conf"
kill -HUP "$SB_PID"
tb_wait_log "$SB_LOG" "warning: $CONF:3: rulesets: line 21: jump from \"s17\" to \"s18\" $OVER"
tb_wait_log "$SB_LOG" "reload of $CONF failed; the previous configuration stays in force"
tb_log "ok: the doubling jumps are refused at $CONF:3, line 21"
ask one
tb_assert_eq 1 "$(failed_reloads)" "number of failed reloads logged"

# ---------------------------------------------------------------- chain

install_conf "$TB_DIR/chain.conf"
kill -HUP "$SB_PID"
# libconfig reads a group of 20,000 members in seconds (more on a busy machine or under
# ASan): the long wait is for that, not for the check of the jumps.
tb_wait_log "$SB_LOG" \
	"warning: $CONF:3: rulesets: line 15003: jump from \"s14999\" to \"s15000\" $OVER" 90
tb_log "ok: the chain is refused at $CONF:3, line 15003"
for ((i = 0; i < 50 && $(failed_reloads) < 2; i++)); do
	sleep 0.1
done
tb_assert_eq 2 "$(failed_reloads)" "number of failed reloads logged"
tb_alive "$SB_PID" || tb_fail "the acceptor died on a reload with a 20,000-set chain"
ask one

# ---------------------------------------------------------------- a good configuration

install_conf "$TB_DIR/b.conf"
kill -HUP "$SB_PID"
tb_wait_log "$SB_LOG" "socketbox: reloaded $CONF: 1 targets, 1 rules"
ask two
tb_alive "$SB_PID" || tb_fail "the acceptor is gone"
tb_assert_eq 1 "$(grep -c '^socketbox: reloaded' "$SB_LOG")" "reloads that succeeded (config B only)"

echo "PASS: SIGHUP with hostile jumps is refused with FILE:LINE; the acceptor keeps serving"
