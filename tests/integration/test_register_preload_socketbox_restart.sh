#!/bin/bash
# An unmodified python3 http.server under socketbox-preload --register, with the real
# socketbox: it serves through its registration; socketbox stops and starts again (a new
# process, a new registration socket) and the daemon registers again by itself, logging
# the outage once, and serves again.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_PRELOAD" "$SB_PRELOAD_LIB"
tb_setup
reg=$TB_DIR/register.sock
mkdir -p "$TB_DIR/www"
echo "page of a registered daemon" >"$TB_DIR/www/index.html"

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
register = { path = "$reg"; };
targets = { web = { slot = 80; allow = [ "root" ]; queue_timeout = 0; }; };
rules = ( { local = "2001:db8::/32"; target = "web"; } );
CONF
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
sb=$TB_BG_PID
tb_wait_listen "$TB_SERVER" "$TB_PORT"

tb_bg "$TB_APP1" "$SB_PRELOAD" --register "$reg:80" -p 8000 \
	"$PYTHON" -m http.server -d "$TB_DIR/www" 8000
pylog=$TB_BG_LOG
tb_wait_log "$pylog" "libsocketbox-preload: registered for slot 80"
get() {
	tb_in "$TB_CLIENT" curl -sS --max-time "$TB_WAIT" "http://[2001:db8::1]/"
}
tb_assert_eq "page of a registered daemon" "$(get)" "the page through the registration"

tb_kill "$sb"
tb_wait_log "$pylog" "socketbox closed the registration (slot 80"
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
tb_wait_log "$pylog" "libsocketbox-preload: registered again for slot 80"
tb_assert_eq "page of a registered daemon" "$(get)" "the page after socketbox's restart"
tb_assert_eq 1 "$(grep -c 'registering again with backoff' "$pylog")" \
	"log lines for the outage"
tb_log "ok: the preloaded daemon registered again after socketbox restarted"
