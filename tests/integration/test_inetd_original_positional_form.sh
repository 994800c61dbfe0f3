#!/bin/bash
# socketbox-inetd SOCKET PROGRAM [ARG...], the original socketbox's form, used to be taken
# as a PROGRAM named like the socket and only failed at the first connection. Now a first
# argument that names a socket (here a path ending in .sock that does not exist yet) is
# taken as -s SOCKET, with a warning that shows the new spelling; the program runs for a
# connection. A program given by path that is an executable file stays a program.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SB_INETD"
tb_setup

# shellcheck disable=SC2016 # expanded by the per-connection shell
tb_bg "$TB_APP1" "$SB_INETD" "$TB_DIR/old.sock" /bin/sh -c 'touch "$0/ran"' "$TB_DIR"
log=$TB_BG_LOG
tb_wait_socket "$TB_DIR/old.sock"
tb_wait_log "$log" "is the original socketbox-inetd's form; taken as \"-s $TB_DIR/old.sock /bin/sh\""
tb_in "$TB_APP1" "$PYTHON" "$SB_TOP/tests/integration/helpers/send_junk.py" \
	"$TB_DIR/old.sock" good >/dev/null
for ((i = 0; i < 300; i++)); do
	[[ -e $TB_DIR/ran ]] && break
	sleep 0.1
done
[[ -e $TB_DIR/ran ]] || tb_fail "the program did not run for a connection"
tb_log "ok: the original form was taken as -s SOCKET PROGRAM"

# An executable given by path is the program, not a socket (default socket path).
SOCKETBOX_SOCKET=$TB_DIR/new.sock tb_bg "$TB_APP1" "$SB_INETD" /bin/sh -c true
tb_wait_socket "$TB_DIR/new.sock"
if grep -q "original socketbox-inetd's form" "$TB_BG_LOG"; then
	tb_fail "/bin/sh was taken for a socket: $(cat "$TB_BG_LOG")"
fi
tb_log "ok: /bin/sh stays the program"
