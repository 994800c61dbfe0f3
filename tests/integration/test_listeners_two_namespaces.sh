#!/bin/bash
# Several listeners, one of them in another network namespace, and rules by listener:
#   - socketbox runs in the server namespace with two listeners: "tproxy", the test bed's
#     transparent listener, and "outside", [::1]:9000 inside the client namespace (entered
#     at start with setns, before privileges are dropped);
#   - a rule with listener = "outside" sends that listener's connections to applet "out",
#     every other connection goes to applet "in": a client in the client namespace reaches
#     "out" through [::1]:9000 and "in" through 2001:db8::1 port 80;
#   - SIGHUP with the targets swapped: the rules' listener names resolve against the running
#     listeners, so the answers swap; a reload that adds a listener is reported (listeners
#     open only at start-up) and the running ones go on.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
tb_setup

CONF=$TB_DIR/sb.conf
write_conf() { # OUTSIDE_TARGET OTHER_TARGET [EXTRA_LISTENER]
	cat >"$CONF.new" <<CONF
listen = (
  { name = "tproxy"; address = "::"; port = $TB_PORT; transparent = true; },
  { name = "outside"; address = "::1"; port = 9000; netns = "/run/netns/$TB_CLIENT"; }
  ${3:-}
);
targets = {
  in = { path = "$TB_DIR/in.sock"; };
  out = { path = "$TB_DIR/out.sock"; };
};
rules = (
  { listener = "outside"; target = "$1"; },
  { listener = [ "tproxy" ]; target = "$2"; }
);
CONF
	mv -f "$CONF.new" "$CONF"
}

ask_outside() {
	tb_in "$TB_CLIENT" timeout "$TB_WAIT" socat -u "TCP6:[::1]:9000,connect-timeout=$TB_WAIT" -
}

tb_bg "$TB_APP1" "$SB_INETD" -s "$TB_DIR/in.sock" echo in
tb_bg "$TB_APP2" "$SB_INETD" -s "$TB_DIR/out.sock" echo out
tb_wait_socket "$TB_DIR/in.sock"
tb_wait_socket "$TB_DIR/out.sock"

write_conf out in
"$SOCKETBOX" -c -f "$CONF" || tb_fail "socketbox -c refused the configuration"
tb_bg "$TB_SERVER" "$SOCKETBOX" -v -f "$CONF" -u nobody
SB_PID=$TB_BG_PID
SB_LOG=$TB_BG_LOG
tb_wait_log "$SB_LOG" "ready:"
grep -q 'outside \[::1\]:9000 in /run/netns/' "$SB_LOG" || tb_fail "the start line does not name the listener in the other namespace"
# The listener in the client namespace belongs to socketbox, which runs in the server's.
tb_in "$TB_CLIENT" ss -Hltn 'sport = :9000' | grep -q '\[::1\]:9000' ||
	tb_fail "nothing listens on [::1]:9000 in the client namespace"
[[ -z $(tb_in "$TB_SERVER" ss -Hltn 'sport = :9000') ]] ||
	tb_fail "socketbox listens on port 9000 in its own namespace too"

tb_assert_eq out "$(ask_outside)" "answer through the listener in the client namespace"
tb_assert_eq in "$(tb_client_get 2001:db8::1 80)" "answer through the transparent listener"
tb_wait_log "$SB_LOG" "target out (rules[0])"
tb_wait_log "$SB_LOG" "target in (rules[1])"

# Reload, targets swapped: names resolve in the new file.
write_conf in out
kill -HUP "$SB_PID"
tb_wait_count "$SB_LOG" "reloaded " 1 "reload lines"
tb_assert_eq in "$(ask_outside)" "answer through the listener in the client namespace after reload"
tb_assert_eq out "$(tb_client_get 2001:db8::1 80)" "answer through the transparent listener after reload"

# A reload that adds a listener: said clearly, and nothing stops.
write_conf in out ', { name = "later"; address = "::1"; port = 9001; }'
kill -HUP "$SB_PID"
tb_wait_log "$SB_LOG" 'listener "later" is new'
tb_wait_count "$SB_LOG" "reloaded " 2 "reload lines"
[[ -z $(tb_in "$TB_SERVER" ss -Hltn 'sport = :9001') ]] || tb_fail "a reload opened a listener"
tb_assert_eq in "$(ask_outside)" "answer through the listener in the client namespace after the second reload"
tb_alive "$SB_PID" || tb_fail "socketbox died"
