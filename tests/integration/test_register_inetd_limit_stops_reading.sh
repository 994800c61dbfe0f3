#!/bin/bash
# A registered socketbox-inetd at its -c limit stops reading its registration: the
# registrar's socket fills up (it sees EAGAIN, as socketbox would, and queues), and
# socketbox-inetd has taken no more than its limit. When programs end, it reads again.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SB_INETD"
tb_setup
FAKE=$SB_TOP/tests/integration/helpers/fake_registrar.py
REG=$TB_DIR/register.sock

tb_bg "$TB_APP1" "$PYTHON" "$FAKE" "$REG" 5 fill:2000 "await:$TB_DIR/go" release hold
fakelog=$TB_BG_LOG
tb_wait_log "$fakelog" listening
tb_bg "$TB_APP1" "$SB_INETD" --register "$REG:5" -c 2 cat
inetd=$TB_BG_PID
inetdlog=$TB_BG_LOG
tb_wait_log "$fakelog" "full after"
cat "$fakelog" >&2
sent=$(sed -n 's/^full after \([0-9]*\)$/\1/p' "$fakelog")
((sent > 2)) || tb_fail "full after $sent messages: socketbox-inetd read none?"
# Both programs are running before the counters can say so.
for ((i = 0; i < 10 * TB_WAIT; i++)); do
	line=$(tb_counters "$inetd" "$inetdlog")
	[[ $line == *"running 2,"* ]] && break
	sleep 0.1
done
tb_log "$line"
[[ $line == *"received 2, dropped 0, started 2, running 2,"* ]] ||
	tb_fail "socketbox-inetd took more than its limit of 2"

touch "$TB_DIR/go"
tb_wait_log "$fakelog" drained
line=$(tb_counters "$inetd" "$inetdlog")
tb_log "$line"
[[ $line =~ received\ ([0-9]+) ]] && ((BASH_REMATCH[1] > 2)) ||
	tb_fail "socketbox-inetd did not read again below its limit"
tb_log "ok: at its limit socketbox-inetd left $((sent - 2)) hand-offs queued in socketbox's socket"
