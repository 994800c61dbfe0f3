#!/bin/bash
# socketbox-inetd --register against a fake registrar that speaks the registration
# protocol byte for byte and checks the request (the original socketbox-inetd-p's bytes):
# refused three times, it dials again with growing backoff and says so once; registered,
# it serves the connections handed over; when the registration is closed, or the
# registrar goes away and comes back, it registers again and serves again.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SB_INETD"
tb_setup
FAKE=$SB_TOP/tests/integration/helpers/fake_registrar.py
REG=$TB_DIR/register.sock

tb_bg "$TB_APP1" "$PYTHON" "$FAKE" "$REG" 22 refuse refuse refuse serve:2 drop serve:1
fake=$TB_BG_PID
fakelog=$TB_BG_LOG
tb_wait_log "$fakelog" listening
tb_bg "$TB_APP1" "$SB_INETD" --register "$REG:22" sh -c 'read -r l; echo "hello $PROTO $l"'
inetd=$TB_BG_PID
inetdlog=$TB_BG_LOG

tb_wait_log "$fakelog" "done"
cat "$fakelog" >&2
tb_assert_eq 5 "$(grep -c '^request ok [0-9]*: 0100000000000016$' "$fakelog")" \
	"registrations with the exact request bytes"
tb_assert_eq 3 "$(grep -c '^served [0-9]*: hello IPC ping$' "$fakelog")" "connections served"
# Backoff: 0.1 s, then 0.2 s between the refused attempts (lower bounds only).
"$PYTHON" - "$fakelog" <<'PY' || tb_fail "the attempts after a refusal do not back off"
import re, sys
t = [float(m) for m in re.findall(r"^refused \d+ at ([\d.]+)$", open(sys.argv[1]).read(), re.M)]
assert len(t) == 3, t
assert t[1] - t[0] >= 0.09 and t[2] - t[1] >= 0.19, t
PY
tb_wait_log "$inetdlog" "registered again for slot 22"
tb_assert_eq 1 "$(grep -c 'refused the registration' "$inetdlog")" \
	"log lines for three refused attempts"
tb_assert_eq 1 "$(grep -c "registered for slot 22 at $REG" "$inetdlog")" "first registration"
tb_kill "$fake"

# The registrar went away (its file is gone); it comes back and is dialed again.
tb_bg "$TB_APP1" "$PYTHON" "$FAKE" "$REG" 22 serve:1 hold
fakelog=$TB_BG_LOG
tb_wait_log "$fakelog" "served 1: hello IPC ping"
tb_wait_count "$inetdlog" "registered again for slot 22" 2 "registrations after the outage"
tb_alive "$inetd" || tb_fail "socketbox-inetd died"
cat "$inetdlog" >&2
kill -TERM "$inetd"
rc=0
wait "$inetd" || rc=$?
tb_assert_eq 0 "$rc" "socketbox-inetd's exit status on SIGTERM"
tb_log "ok: refused, dropped and gone registrars are dialed again, logged once per outage"
