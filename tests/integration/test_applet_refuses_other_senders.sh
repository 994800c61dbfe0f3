#!/bin/bash
# Sender authentication: an applet started with --allow-uid root takes hand-offs only from
# uid 0 (the acceptor). A well-formed datagram with a valid connected socket sent by another
# user (nobody) is dropped with a log line naming the uid, and its program never runs; the
# same datagram from root is served, and so is a real connection through the acceptor.
# Also a socket file created with -g gets that group, and -m its mode.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
command -v setpriv >/dev/null || tb_skip "setpriv is not installed"
tb_setup

sock=$TB_DIR/app.sock
# shellcheck disable=SC2016 # expanded by the per-connection shell
tb_bg "$TB_APP1" "$SB_INETD" -v -m 0666 -g nogroup --allow-uid root -s "$sock" \
	sh -c 'touch "$0/ran-$PROTO"; echo served' "$TB_DIR"
applog=$TB_BG_LOG
tb_wait_socket "$sock"
tb_assert_eq "666 nogroup" "$(stat -c '%a %G' "$sock")" "socket file mode and group"

# nobody may not be able to reach the checkout: the helper goes to the test's own directory
cp "$SB_TOP/tests/integration/helpers/send_junk.py" "$TB_DIR/"
setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$PYTHON" "$TB_DIR/send_junk.py" "$sock" good
tb_wait_log "$applog" "sender uid 65534 is not allowed"
sleep 0.3
[[ ! -e $TB_DIR/ran-IPC ]] || tb_fail "the program ran for a datagram from nobody"

"$PYTHON" "$SB_TOP/tests/integration/helpers/send_junk.py" "$sock" good
tb_until "$TB_WAIT" test -e "$TB_DIR/ran-IPC" ||
	tb_fail "the program did not run for a datagram from root (within $TB_WAIT s)"

tb_bg "$TB_SERVER" "$SOCKETBOX" -l :: -p "$TB_PORT" -t -S "$sock"
tb_wait_listen "$TB_SERVER" "$TB_PORT"
tb_assert_eq served "$(tb_client_get 2001:db8::5 80)" "connection through the acceptor"
tb_assert_eq 1 "$(grep -c 'not allowed' "$applog")" "drop lines in the applet's log"
