#!/bin/bash
# socketbox-relay --register: registers with a fake registrar that checks the request bytes,
# relays the connections it hands over to a TCP echo server, registers again when the
# registration is closed, and stops cleanly on SIGTERM.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SB_RELAY"
tb_setup
FAKE=$SB_TOP/tests/integration/helpers/fake_registrar.py
REG=$TB_DIR/register.sock

tb_bg "$TB_APP1" socat TCP4-LISTEN:7000,bind=127.0.0.1,reuseaddr,fork EXEC:cat
tb_wait_listen "$TB_APP1" 7000
tb_bg "$TB_APP1" "$PYTHON" "$FAKE" "$REG" 4000000000 serve:2 drop serve:1 hold
fakelog=$TB_BG_LOG
tb_wait_log "$fakelog" listening
tb_bg "$TB_APP1" "$SB_RELAY" --register "$REG:4000000000" 127.0.0.1:7000
relay=$TB_BG_PID
relaylog=$TB_BG_LOG
tb_wait_count "$fakelog" '^served [0-9]*: ping$' 3 "connections relayed"
cat "$fakelog" >&2
tb_assert_eq 2 "$(grep -c '^request ok [0-9]*: 01000000ee6b2800$' "$fakelog")" \
	"registrations for slot 4000000000 with the exact bytes"
tb_wait_log "$relaylog" "registered again for slot 4000000000"
line=$(tb_counters "$relay" "$relaylog")
tb_log "$line"
[[ $line == *"received 3, dropped 0,"* ]] || tb_fail "socketbox-relay's counters are off"
# A clean stop, registered: status 0 and no complaint.
kill -TERM "$relay"
rc=0
wait "$relay" || rc=$?
tb_assert_eq 0 "$rc" "socketbox-relay's exit status on SIGTERM"
if grep -q fatal "$relaylog"; then
	tb_fail "socketbox-relay: $(grep fatal "$relaylog")"
fi
tb_log "ok: socketbox-relay registers, relays and registers again"
