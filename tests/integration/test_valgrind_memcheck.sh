#!/bin/bash
# Valgrind memcheck of every program through one scenario: the acceptor (config mode, with
# dispatch, a default reject, a reload, a refused connection to a dead applet, and an
# applet registered for a slot that serves, then dies; a refused registration),
# socketbox-inetd, socketbox-relay (to a socat echo backend) and libsocketbox-preload.so
# inside a small accept loop. Each runs under memcheck until SIGTERM: no errors, and
# "definitely lost: 0 bytes" in every report.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
command -v valgrind >/dev/null || tb_skip "valgrind is not installed"
tb_require_exec "$SOCKETBOX" "$SB_INETD" "$SB_RELAY" "$SB_PRELOAD_LIB"
tb_setup

cc -O2 -Wall -Wextra -Werror -o "$TB_DIR/accept_server" \
	"$SB_TOP/tests/integration/helpers/accept_server.c"
VG=(valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
	--track-fds=no)

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
register = { path = "$TB_DIR/register.sock"; };
targets = {
  reg   = { slot = 90; allow = [ "root" ]; };
  inetd = { path = "$TB_DIR/inetd.sock"; };
  relay = { path = "$TB_DIR/relay.sock"; };
  shim  = { path = "$TB_DIR/shim-80.sock"; };
  gone  = { path = "$TB_DIR/gone.sock"; };
};
rules = (
  { local = "2001:db8::1"; target = "inetd"; },
  { local = "2001:db8::2"; target = "relay"; },
  { local = "2001:db8::3"; target = "shim"; },
  { local = "2001:db8::4"; target = "gone"; },
  { local = "2001:db8::5"; target = "reg"; }
);
CONF

tb_bg "$TB_APP1" "${VG[@]}" --log-file="$TB_DIR/vg-inetd.%p" "$SB_INETD" -s "$TB_DIR/inetd.sock" echo via-inetd
inetd=$TB_BG_PID
tb_bg "$TB_APP2" socat -t "$TB_WAIT" TCP6-LISTEN:7,reuseaddr,fork EXEC:cat
tb_bg "$TB_APP2" "${VG[@]}" --log-file="$TB_DIR/vg-relay" "$SB_RELAY" -s "$TB_DIR/relay.sock" '[::1]:7'
relay=$TB_BG_PID
tb_bg "$TB_APP2" env LD_PRELOAD="$SB_PRELOAD_LIB" SOCKETBOX_SOCKET="$TB_DIR/shim-%p.sock" \
	SOCKETBOX_PORTS=80 "${VG[@]}" --log-file="$TB_DIR/vg-shim" "$TB_DIR/accept_server" epoll '[::]:80'
shim=$TB_BG_PID
# valgrind starts slowly: each waits up to TB_WAIT s
for s in inetd relay shim-80; do
	tb_wait_socket "$TB_DIR/$s.sock"
done
tb_bg "$TB_SERVER" "${VG[@]}" --log-file="$TB_DIR/vg-socketbox" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
sb=$TB_BG_PID
sblog=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"

for i in 1 2 3; do
	tb_assert_eq via-inetd "$(tb_client_get 2001:db8::1 22)" "inetd answer $i"
	tb_assert_eq "echo $i" "$(tb_client_send 2001:db8::2 80 "echo $i")" "relay echo $i"
	out=$(tb_client_get 2001:db8::3 80)
	[[ $out == "epoll fd00:5b::2 2001:db8::3 80" ]] || tb_fail "preload answer $i: $out"
done
tb_bg "$TB_APP1" "$PYTHON" "$SB_TOP/tests/integration/helpers/reg_peer.py" "$TB_DIR/register.sock" 90 --answer registered
peer=$TB_BG_PID
tb_wait_log "$TB_BG_LOG" registered
tb_assert_eq registered "$(tb_client_get 2001:db8::5 80)" "registered applet"
tb_assert_eq refused "$(tb_in "$TB_APP1" "$PYTHON" "$SB_TOP/tests/integration/helpers/reg_peer.py" \
	"$TB_DIR/register.sock" 91)" "registration for a slot that does not exist"
tb_kill "$peer" KILL
tb_assert_eq reset "$(tb_client_probe 2001:db8::4 80)" "dead applet"
tb_assert_eq reset "$(tb_client_probe 2001:db8::9 80)" "no rule"
kill -HUP "$sb"
tb_wait_log "$sblog" "reloaded"
tb_assert_eq via-inetd "$(tb_client_get 2001:db8::1 22)" "inetd answer after reload"

status=0
for pid in "$sb" "$inetd" "$relay" "$shim"; do
	kill -TERM "$pid"
	wait "$pid" || { rc=$?; [[ $rc == 99 ]] && status=1; }
done
for f in "$TB_DIR"/vg-*; do
	if [[ -s $f ]]; then
		tb_log "memcheck report ${f##*/}:"
		cat "$f" >&2
		grep -q "definitely lost: [1-9]" "$f" && status=1
		grep -q "ERROR SUMMARY: [1-9]" "$f" && status=1
	fi
done
((status == 0)) || tb_fail "valgrind found errors or leaks"
tb_log "ok: memcheck clean for socketbox, socketbox-inetd, socketbox-relay and the preload library"
