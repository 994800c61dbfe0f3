#!/bin/bash
# socketbox-inetd's programs get the connection on 0 and 1 and the log on 2, nothing else:
# descriptors socketbox-inetd inherited from whatever started it (here fd 7, open on
# /dev/null without close-on-exec) are closed in the child, unless --keep-fds says so.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
tb_setup

cat >"$TB_DIR/sb.conf" <<CONF
listen = { address = "::"; port = $TB_PORT; transparent = true; };
targets = {
  closed = { path = "$TB_DIR/app1.sock"; };
  kept = { path = "$TB_DIR/app2.sock"; };
};
rules = (
  { local = "2001:db8::1"; target = "closed"; },
  { local = "2001:db8::2"; target = "kept"; }
);
CONF

# The program lists its own shell's descriptors (ls runs as a child of that shell).
# shellcheck disable=SC2016 # expanded by the per-connection shell
LIST='ls /proc/$$/fd'
exec 7</dev/null
tb_bg "$TB_APP1" "$SB_INETD" -s "$TB_DIR/app1.sock" sh -c "$LIST"
tb_bg "$TB_APP2" "$SB_INETD" --keep-fds -s "$TB_DIR/app2.sock" sh -c "$LIST"
exec 7<&-
tb_wait_socket "$TB_DIR/app1.sock"
tb_wait_socket "$TB_DIR/app2.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
tb_wait_listen "$TB_SERVER" "$TB_PORT"

out=$(tb_client_get 2001:db8::1 80) || tb_fail "2001:db8::1: $out"
# shellcheck disable=SC2086 # one line of the listed names
tb_assert_eq "0 1 2" "$(echo $out)" "descriptors of a program (inherited fd 7 closed)"
out=$(tb_client_get 2001:db8::2 80) || tb_fail "2001:db8::2: $out"
[[ " $(echo $out) " == *" 7 "* ]] || tb_fail "with --keep-fds the program lacks fd 7: $out"
tb_log "ok: with --keep-fds the program has: $(echo $out)"
