#!/bin/bash
# (c) A connection that matches no rule gets the default action. Without a `default`
# setting (and with `default = "reject"`) the client sees a reset (RST, no data); with
# `default = "drop"` it sees a clean close (FIN, no data). The acceptor, run with -v, logs
# each such connection as "reject (default)" or "drop (default)", and its counters (SIGUSR1)
# count them. A connection that does match a rule is still served all along, over IPv6 and
# over IPv4.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
tb_setup

# write_conf FILE [DEFAULT_LINE]
write_conf() {
	cat >"$1" <<CONF
listen = { port = $TB_PORT; transparent = true; };
targets = { one = { path = "$TB_DIR/app1.sock"; }; };
rules = (
  { local = "2001:db8::1"; target = "one"; },
  { local = "198.51.100.1"; target = "one"; }
);
${2:-}
CONF
}
write_conf "$TB_DIR/implicit.conf"
write_conf "$TB_DIR/reject.conf" 'default = "reject";'
write_conf "$TB_DIR/drop.conf" 'default = "drop";'

tb_bg "$TB_APP1" "$SB_INETD" -s "$TB_DIR/app1.sock" echo served
tb_wait_socket "$TB_DIR/app1.sock"

# run_case CONF ACTION EXPECTED: start the acceptor with CONF, check that matching
# connections are served and that non-matching ones end as EXPECTED (reset/eof) and are
# logged as ACTION, then stop the acceptor.
run_case() {
	local conf=$1 action=$2 expected=$3 pid log out
	tb_log "--- ${conf##*/}: no match means $action"
	tb_bg "$TB_SERVER" "$SOCKETBOX" -v -f "$conf"
	pid=$TB_BG_PID
	log=$TB_BG_LOG
	tb_wait_listen "$TB_SERVER" "$TB_PORT"

	out=$(tb_client_get 2001:db8::1 80) || tb_fail "[2001:db8::1]:80 was not served: '$out'"
	tb_assert_eq served "$out" "matching IPv6 connection"
	out=$(tb_client_get 198.51.100.1 80) || tb_fail "198.51.100.1:80 was not served: '$out'"
	tb_assert_eq served "$out" "matching IPv4 connection"

	tb_assert_eq "$expected" "$(tb_client_probe 2001:db8::2 80)" "[2001:db8::2]:80, no rule ($action)"
	tb_assert_eq "$expected" "$(tb_client_probe 2001:db8:ffff::1 22)" "[2001:db8:ffff::1]:22, no rule ($action)"
	tb_assert_eq "$expected" "$(tb_client_probe 198.51.100.2 443)" "198.51.100.2:443, no rule ($action)"

	tb_wait_log "$log" "-> [2001:db8::2]:80: $action (default)"
	tb_wait_log "$log" "-> [2001:db8:ffff::1]:22: $action (default)"
	tb_wait_log "$log" "-> [::ffff:198.51.100.2]:443: $action (default)"
	tb_wait_log "$log" "-> [2001:db8::1]:80: target one"
	if [[ $action == reject ]]; then
		grep -qF -- ": drop" "$log" && tb_fail "a connection was dropped instead of rejected"
	else
		grep -qF -- ": reject" "$log" && tb_fail "a connection was rejected instead of dropped"
	fi

	kill -USR1 "$pid"
	if [[ $action == reject ]]; then
		tb_wait_log "$log" "rejected 3, dropped 0"
	else
		tb_wait_log "$log" "rejected 0, dropped 3"
	fi
	tb_wait_log "$log" "accepted 5, handed 2,"
	tb_alive "$pid" || tb_fail "the acceptor ended"
	tb_kill "$pid"
	tb_alive "$pid" && tb_fail "the acceptor did not stop on SIGTERM"
	return 0
}

run_case "$TB_DIR/implicit.conf" reject reset
run_case "$TB_DIR/reject.conf" reject reset
run_case "$TB_DIR/drop.conf" drop eof
tb_log "ok: no matching rule means a reset by default, a clean close with default = drop"
