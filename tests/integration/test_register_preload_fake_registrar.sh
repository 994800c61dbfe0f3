#!/bin/bash
# The preload library registers (SOCKETBOX_REGISTER, socketbox-preload --register): an
# unmodified python3 http.server under socketbox-preload registers with a fake registrar
# that checks the request bytes, serves the connections handed over, and registers again
# when its registration is closed, its listener the same descriptor throughout. Settings
# that contradict SOCKETBOX_REGISTER fail closed, naming the variable.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SB_PRELOAD" "$SB_PRELOAD_LIB"
tb_setup
FAKE=$SB_TOP/tests/integration/helpers/fake_registrar.py
REG=$TB_DIR/register.sock
mkdir -p "$TB_DIR/www"
echo "registered page" >"$TB_DIR/www/page.txt"

tb_bg "$TB_APP1" "$PYTHON" "$FAKE" "$REG" 8080 http:2,page.txt drop http:1,page.txt hold
fakelog=$TB_BG_LOG
tb_wait_log "$fakelog" listening
tb_bg "$TB_APP1" "$SB_PRELOAD" --register "$REG:8080" -p 8080 \
	"$PYTHON" -m http.server -d "$TB_DIR/www" -b 127.0.0.1 8080
pylog=$TB_BG_LOG
tb_wait_count "$fakelog" '^served [0-9]*: HTTP/1.0 200 OK registered page$' 3 \
	"pages served by the registered http.server"
tb_assert_eq 2 "$(grep -c '^request ok [0-9]*: 0100000000001f90$' "$fakelog")" \
	"registrations with the exact request bytes"
tb_wait_log "$pylog" "libsocketbox-preload: registered again for slot 8080"
# The port itself was never bound.
if tb_in "$TB_APP1" ss -Hltn 'sport = :8080' | grep -q .; then
	tb_fail "port 8080 was bound for real"
fi

# Fail closed, naming the variable: the daemon's bind fails, nothing is registered.
for env in "SOCKETBOX_REGISTER=$REG" "SOCKETBOX_REGISTER=$REG:1 SOCKETBOX_SOCKET=/x.sock" \
	"SOCKETBOX_REGISTER=$REG:1 SOCKETBOX_MODE=0666"; do
	out=$(env $env SOCKETBOX_PORTS=8081 LD_PRELOAD="$SB_PRELOAD_LIB" \
		"$PYTHON" -c 'import socket; socket.create_server(("127.0.0.1", 8081))' 2>&1) &&
		tb_fail "$env: the bind succeeded"
	var=${env%%=*}
	[[ $env == *SOCKETBOX_SOCKET* ]] && var=SOCKETBOX_SOCKET
	[[ $env == *SOCKETBOX_MODE* ]] && var=SOCKETBOX_MODE
	grep -q "refusing to bind port 8081: .*$var" <<<"$out" ||
		tb_fail "$env: no message naming $var: $out"
	tb_log "ok: $env fails closed"
done
rc=0
"$SB_PRELOAD" --register "$REG:1" -s "$TB_DIR/x.sock" true 2>/dev/null || rc=$?
tb_assert_eq 100 "$rc" "socketbox-preload --register with -s"
tb_log "ok: a preloaded http.server registers, serves and registers again"
