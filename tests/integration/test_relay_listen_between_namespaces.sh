#!/bin/bash
# socketbox-relay listening on its own (netns_tcp_bridge's job in one command): it runs in
# the server namespace, listens inside $TB_APP2 (--listen-netns) and connects inside
# $TB_APP1 (--netns), two namespaces that share nothing but this relay.
#   1. --listen 127.0.0.1:8000 to TARGET 127.0.0.1:7000: 256 MiB each way at once, both
#      directions ending by half-close; the bytes and SHA-256 on each side match;
#   2. --to-original: the client's own destination, 127.0.0.1:8001, reached in $TB_APP1;
#   3. --to-original=64:ff9b::/96: the IPv4 destination 127.0.0.1:8002 moved into the NAT64
#      prefix, [64:ff9b::7f00:1]:8002 in $TB_APP1.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SB_RELAY"
tb_setup
STREAM=$SB_TOP/tests/integration/helpers/relay_stream.py
ip -n "$TB_APP1" addr add 64:ff9b::7f00:1/128 dev lo nodad

field() {
	sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"
}

# transfer LABEL BACKEND_ADDR CLIENT_ADDR BYTES: a backend in $TB_APP1 and a client in
# $TB_APP2 each send BYTES and half-close; what each received must be what the other sent.
transfer() {
	local label=$1 baddr=$2 caddr=$3 bytes=$4 out blog line
	tb_bg "$TB_APP1" "$PYTHON" "$STREAM" server "$baddr" --send "$bytes" --seed 7 --timeout 60
	blog=$TB_BG_LOG
	tb_wait_log "$blog" "server listening"
	out=$(tb_in "$TB_APP2" "$PYTHON" "$STREAM" client "$caddr" --send "$bytes" --seed 8 \
		--timeout 60) || tb_fail "$label: the client failed: $out"
	tb_wait_log "$blog" "server 1 send "
	tb_wait_log "$blog" "server 1 recv "
	for line in "client 1 send:server 1 recv" "server 1 send:client 1 recv"; do
		local from to
		from=$(grep -h "^${line%%:*} " "$blog" - <<<"$out")
		to=$(grep -h "^${line#*:} " "$blog" - <<<"$out")
		tb_assert_eq "$(field "$from" bytes) $(field "$from" sha256) eof" \
			"$(field "$to" bytes) $(field "$to" sha256) $(field "$to" end)" \
			"$label: ${line%% 1 *} to ${line#*:}"
	done
}

tb_bg "$TB_SERVER" "$SB_RELAY" --listen 127.0.0.1:8000 --listen-netns "/run/netns/$TB_APP2" \
	--netns "/run/netns/$TB_APP1" 127.0.0.1:7000
tb_wait_log "$TB_BG_LOG" "listening on 127.0.0.1:8000"
transfer "--listen to TARGET" 127.0.0.1:7000 127.0.0.1:8000 256M

tb_bg "$TB_SERVER" "$SB_RELAY" --listen 127.0.0.1:8001 --listen-netns "/run/netns/$TB_APP2" \
	--netns "/run/netns/$TB_APP1" --to-original
tb_wait_log "$TB_BG_LOG" "listening on 127.0.0.1:8001"
transfer "--to-original" 127.0.0.1:8001 127.0.0.1:8001 1M

tb_bg "$TB_SERVER" "$SB_RELAY" --listen 127.0.0.1:8002 --listen-netns "/run/netns/$TB_APP2" \
	--netns "/run/netns/$TB_APP1" --to-original=64:ff9b::/96
tb_wait_log "$TB_BG_LOG" "listening on 127.0.0.1:8002"
transfer "--to-original=64:ff9b::/96" "[64:ff9b::7f00:1]:8002" 127.0.0.1:8002 1M

# The relay itself stays in the server namespace and nothing listens there.
[[ -z $(tb_in "$TB_SERVER" ss -Hltn 'sport >= :8000 and sport <= :8002') ]] ||
	tb_fail "the relay listens in its own namespace"
tb_log "ok: the relay bridged two namespaces in every mode"
