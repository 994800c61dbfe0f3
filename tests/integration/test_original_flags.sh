#!/bin/bash
# The original socketbox's flags, for users bringing their command lines across:
#   -e PROGRAM: the listener is opened, privileges dropped, and PROGRAM runs with it in
#      SKBOX_LISTEN_FD (here a python server that accepts one connection on it);
#   -z: accepted connections reach the applet without IPV6_TRANSPARENT (checked by the
#      program inetd runs, with getsockopt on its stdin), and without -z they keep it;
#   -b N sets the backlog; quick mode listens on port 80 when no -p is given.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
tb_setup

# -e
tb_bg "$TB_SERVER" "$SOCKETBOX" -l ::1 -p 8000 -b 7 -e "$PYTHON" -c '
import os, socket
s = socket.socket(fileno=int(os.environ["SKBOX_LISTEN_FD"]))
c, _ = s.accept()
nnp = [l.split()[1] for l in open("/proc/self/status") if l.startswith("NoNewPrivs")][0]
c.sendall(b"listener %d nnp %s\n" % (int(os.environ["SKBOX_LISTEN_FD"]), nnp.encode()))
c.close()'
tb_wait_listen "$TB_SERVER" 8000
backlog=$(tb_in "$TB_SERVER" ss -Hltn 'sport = :8000' | awk '{ print $3 }')
tb_assert_eq 7 "$backlog" "the listen backlog set by -b"
out=$(tb_in "$TB_SERVER" timeout 30 socat -u TCP6:[::1]:8000 -)
[[ $out =~ ^listener\ [0-9]+\ nnp\ 1$ ]] || tb_fail "-e: the program said '$out'"
tb_log "ok: -e ran the program with the listener: $out"

# -z, and the default port 80
# shellcheck disable=SC2016 # run by the per-connection shell
PROBE='import socket; s = socket.socket(fileno=0); print(s.getsockopt(41, 75)); s.detach()'
tb_bg "$TB_APP1" "$SB_INETD" -s "$TB_DIR/z.sock" "$PYTHON" -c "$PROBE"
tb_bg "$TB_APP2" "$SB_INETD" -s "$TB_DIR/t.sock" "$PYTHON" -c "$PROBE"
tb_wait_socket "$TB_DIR/z.sock"
tb_wait_socket "$TB_DIR/t.sock" "$TB_APP2"
tb_bg "$TB_SERVER" "$SOCKETBOX" -t -z -S "$TB_DIR/z.sock"
tb_wait_listen "$TB_SERVER" 80
tb_assert_eq 0 "$(tb_client_get 2001:db8::80 80)" "IPV6_TRANSPARENT of a connection with -z"
tb_kill "$TB_BG_PID"
tb_bg "$TB_SERVER" "$SOCKETBOX" -t -S "$TB_DIR/t.sock"
tb_wait_listen "$TB_SERVER" 80
tb_assert_eq 1 "$(tb_client_get 2001:db8::80 80)" "IPV6_TRANSPARENT of a connection without -z"
