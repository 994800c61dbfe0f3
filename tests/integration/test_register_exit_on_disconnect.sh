#!/bin/bash
# --exit-on-disconnect (the original socketbox-inetd-p's behaviour): socketbox-inetd exits
# with status 111 when its registration is closed, or refused; -P SLOT:PATH (the original's
# spelling) registers like --register PATH:SLOT; what makes no sense with --register is a
# usage error (status 100) before anything starts.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SB_INETD" "$SB_RELAY"
tb_setup
FAKE=$SB_TOP/tests/integration/helpers/fake_registrar.py
REG=$TB_DIR/register.sock

usage() { # usage WHAT PROGRAM ARG...: PROGRAM ARG... must exit 100
	local what=$1 rc=0
	shift
	"$@" >/dev/null 2>&1 || rc=$?
	tb_assert_eq 100 "$rc" "exit status of $what"
}
usage "--register with -s" "$SB_INETD" --register "$REG:1" -s "$TB_DIR/x.sock" true
usage "--register with -m" "$SB_INETD" --register "$REG:1" -m 0666 true
usage "--register with --allow-uid" "$SB_RELAY" --register "$REG:1" --allow-uid 0 \
	127.0.0.1:1
usage "--register with --listen" "$SB_RELAY" --register "$REG:1" --listen 127.0.0.1:9 \
	127.0.0.1:1
usage "--exit-on-disconnect alone" "$SB_INETD" --exit-on-disconnect true
usage "--register without a slot" "$SB_INETD" --register "$REG" true
usage "--register with slot 2^32" "$SB_INETD" --register "$REG:4294967296" true
usage "-P PATH:SLOT" "$SB_RELAY" -P "$REG:1" 127.0.0.1:1
[[ ! -e $TB_DIR/x.sock ]] || tb_fail "a usage error left a socket file"

# Registered, then dropped: exits.
tb_bg "$TB_APP1" "$PYTHON" "$FAKE" "$REG" 7 serve:1 drop hold
fakelog=$TB_BG_LOG
tb_wait_log "$fakelog" listening
rc=0
tb_in "$TB_APP1" timeout "$TB_WAIT" "$SB_INETD" -P "7:$REG" --exit-on-disconnect \
	sh -c 'read -r l; echo "got $l"' 2>"$TB_DIR/inetd1.log" || rc=$?
cat "$TB_DIR/inetd1.log" >&2
tb_assert_eq 111 "$rc" "exit status when the registration is closed"
grep -q 'closed the registration (slot 7 at .*); exiting (--exit-on-disconnect)' \
	"$TB_DIR/inetd1.log" || tb_fail "no log line saying why it exited"
grep -q '^served 1: got ping$' "$fakelog" || tb_fail "the connection was not served first"
grep -q '^request ok 1: 0100000000000007$' "$fakelog" || tb_fail "-P sent another request"

# Refused: exits too.
tb_bg "$TB_APP1" "$PYTHON" "$FAKE" "$REG" 7 refuse hold
fakelog=$TB_BG_LOG
tb_wait_log "$fakelog" listening
rc=0
tb_in "$TB_APP1" timeout "$TB_WAIT" "$SB_RELAY" --register "$REG:7" --exit-on-disconnect \
	127.0.0.1:1 2>"$TB_DIR/relay.log" || rc=$?
cat "$TB_DIR/relay.log" >&2
tb_assert_eq 111 "$rc" "socketbox-relay's exit status when refused"
grep -q 'refused the registration (slot 7 at .*); exiting' "$TB_DIR/relay.log" ||
	tb_fail "no log line saying why socketbox-relay exited"
tb_log "ok: --exit-on-disconnect exits, -P registers, bad combinations are usage errors"
