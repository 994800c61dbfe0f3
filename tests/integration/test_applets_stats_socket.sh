#!/bin/bash
# Applets expose their counters the same way as socketbox when asked (the operator-experience
# issue, item 6): socketbox-inetd --stats PATH and socketbox-relay --stats PATH serve what
# their SIGUSR1 line logs as Prometheus text, over HTTP (curl) and as a table
# (socketbox --stats), and the numbers agree with the SIGUSR1 line.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD" "$SB_RELAY" /usr/bin/curl
tb_setup
JUNK=$SB_TOP/tests/integration/helpers/send_junk.py

tb_bg "$TB_APP1" "$SB_INETD" -s "$TB_DIR/inetd.sock" -m 0600 --stats "$TB_DIR/stats/inetd.stats" \
	sh -c 'exit 3'
inetd=$TB_BG_PID
inetdlog=$TB_BG_LOG
tb_bg "$TB_APP1" socat TCP4-LISTEN:7000,bind=127.0.0.1,reuseaddr,fork EXEC:cat
tb_wait_listen "$TB_APP1" 7000
tb_bg "$TB_APP1" "$SB_RELAY" -s "$TB_DIR/relay.sock" --stats "$TB_DIR/relay.stats" 127.0.0.1:7000
relay=$TB_BG_PID
relaylog=$TB_BG_LOG
tb_wait_socket "$TB_DIR/inetd.sock"
tb_wait_socket "$TB_DIR/relay.sock"
tb_wait_socket "$TB_DIR/stats/inetd.stats" # its directory made, as for the applet socket
tb_wait_socket "$TB_DIR/relay.stats"
[[ $(stat -c %a "$TB_DIR/stats/inetd.stats") == 600 ]] || tb_fail "the stats socket does not have the mode of -m"

for s in inetd relay; do
	tb_in "$TB_APP1" "$PYTHON" "$JUNK" "$TB_DIR/$s.sock" good >/dev/null
	tb_in "$TB_APP1" "$PYTHON" "$JUNK" "$TB_DIR/$s.sock" pipe >/dev/null
done

scrape() { # PATH: the text over HTTP into $TB_DIR/scrape.txt
	curl -sS --max-time "$TB_WAIT" --unix-socket "$1" http://localhost/metrics >"$TB_DIR/scrape.txt"
}
# The program's exit (status 3) is counted once it has been reaped.
inetd_done() {
	scrape "$TB_DIR/stats/inetd.stats" && grep -qx 'socketbox_inetd_failed_total 1' "$TB_DIR/scrape.txt"
}
tb_until "$TB_WAIT" inetd_done || tb_fail "socketbox-inetd's stats never counted the failed program: $(cat "$TB_DIR/scrape.txt")"
for line in 'socketbox_inetd_received_total 1' 'socketbox_inetd_dropped_total 1' \
	'socketbox_inetd_started_total 1' 'socketbox_inetd_running 0' 'socketbox_inetd_killed_total 0' \
	'# TYPE socketbox_inetd_running gauge'; do
	grep -qxF -- "$line" "$TB_DIR/scrape.txt" || tb_fail "no '$line' from socketbox-inetd: $(cat "$TB_DIR/scrape.txt")"
done
counters=$(tb_counters "$inetd" "$inetdlog")
[[ $counters == *"received 1, dropped 1, started 1, running 0, failed 1, killed 0"* ]] ||
	tb_fail "SIGUSR1 does not agree: $counters"

relay_done() {
	scrape "$TB_DIR/relay.stats" && grep -qx 'socketbox_relay_dropped_total 1' "$TB_DIR/scrape.txt"
}
tb_until "$TB_WAIT" relay_done || tb_fail "socketbox-relay's stats never counted the junk: $(cat "$TB_DIR/scrape.txt")"
grep -qx 'socketbox_relay_received_total 1' "$TB_DIR/scrape.txt" || tb_fail "relay received is not 1"
grep -qx '# TYPE socketbox_relay_active gauge' "$TB_DIR/scrape.txt" || tb_fail "relay active is not a gauge"

"$SOCKETBOX" --stats "$TB_DIR/relay.stats" >"$TB_DIR/table.txt" || tb_fail "socketbox --stats failed on the relay"
cat "$TB_DIR/table.txt" >&2
grep -qE '^relay_received +1$' "$TB_DIR/table.txt" || tb_fail "the table does not say relay_received 1"
grep -qE '^relay_connect_failures +0$' "$TB_DIR/table.txt" || tb_fail "the table does not say relay_connect_failures 0"
tb_alive "$inetd" && tb_alive "$relay" || tb_fail "an applet died"
