#!/bin/bash
# Relay (h): a unix:PATH target. The relays run in $TB_APP2 and dial UNIX stream sockets in
# $TB_DIR whose servers run in $TB_APP1:
#   echo.sock    socat UNIX-LISTEN:...,fork EXEC:cat (an echo, one cat per connection)
#   reply.sock   helpers/relay_stream.py: reads the request to EOF, then sends 10 MiB, closes
#   first.sock   helpers/relay_stream.py: sends 1 MiB and shuts down at once, then reads
# Asserted:
# 1. Echo both ways, interactively: "one\n" comes back before "two\n" is sent, then the
#    client half-closes and reads a clean EOF (IPv6 and IPv4 clients).
# 2. Echo of 5 MiB sent while reading, then half-close: the client reads back exactly what
#    it sent (bytes and sha256) and then EOF.
# 3. Half-close, client first: 3000 bytes and shutdown; the backend reads exactly those to
#    EOF, then its 10 MiB reach the client whole (sha256), then EOF.
# 4. Half-close, backend first: the client gets the 1 MiB and EOF while it has not sent
#    anything yet (it reads to EOF first, then waits 1 s), then sends 10 MiB that the
#    backend reads whole.
# 5. The relays still run and have their start-up number of descriptors again.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_RELAY"
tb_setup

STREAM=$(dirname "$0")/helpers/relay_stream.py

cat >"$TB_DIR/sb.conf" <<CONF
listen = { port = $TB_PORT; transparent = true; };
targets = {
  echo = { path = "$TB_DIR/r-echo.sock"; };
  reply = { path = "$TB_DIR/r-reply.sock"; };
  first = { path = "$TB_DIR/r-first.sock"; };
};
rules = (
  { local = "2001:db8::e"; target = "echo"; },
  { local = "::ffff:198.51.100.14"; target = "echo"; },
  { local = "2001:db8::f"; target = "reply"; },
  { local = "2001:db8::10"; target = "first"; }
);
CONF

tb_bg "$TB_APP1" socat -t 5 "UNIX-LISTEN:$TB_DIR/echo.sock,fork" EXEC:cat
tb_bg "$TB_APP1" "$PYTHON" "$STREAM" server "unix:$TB_DIR/reply.sock" --after-eof --send 10M \
	--seed 31 --timeout 15
REPLY_LOG=$TB_BG_LOG
tb_bg "$TB_APP1" "$PYTHON" "$STREAM" server "unix:$TB_DIR/first.sock" --send 1M --seed 32 --timeout 15
FIRST_LOG=$TB_BG_LOG
tb_wait_socket "$TB_DIR/echo.sock"
tb_wait_log "$REPLY_LOG" "server listening"
tb_wait_log "$FIRST_LOG" "server listening"

declare -A PIDS FDS
for name in echo reply first; do
	tb_bg "$TB_APP2" "$SB_RELAY" -s "$TB_DIR/r-$name.sock" "unix:$TB_DIR/$name.sock"
	PIDS[$name]=$TB_BG_PID
done
for name in echo reply first; do
	tb_wait_socket "$TB_DIR/r-$name.sock"
	FDS[$name]=$(find "/proc/${PIDS[$name]}/fd" -mindepth 1 -maxdepth 1 | wc -l)
done
tb_bg "$TB_SERVER" "$SOCKETBOX" -f "$TB_DIR/sb.conf"
tb_wait_listen "$TB_SERVER" "$TB_PORT"

field() {
	sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"
}

# 1. interactive echo
for addr in 2001:db8::e 198.51.100.14; do
	out=$(tb_in "$TB_CLIENT" timeout $((2 * TB_WAIT)) "$PYTHON" - "$addr" "$TB_WAIT" <<'EOF'
import socket, sys
host = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
s.settimeout(float(sys.argv[2]))
s.connect((host, 7))
res = []
for word in (b"one\n", b"two\n"):
    s.sendall(word)
    got = b""
    try:
        while len(got) < len(word):
            d = s.recv(100)
            if not d:
                break
            got += d
    except OSError as e:
        got += ("<%s>" % e).encode()
    res.append(got.decode(errors="replace").strip())
s.shutdown(socket.SHUT_WR)
try:
    d = s.recv(100)
    res.append("eof" if d == b"" else "more:%r" % d)
except OSError as e:
    res.append("error:%s" % e)
print(" ".join(res))
EOF
	) || tb_fail "$addr: the interactive client failed: $out"
	tb_assert_eq "one two eof" "$out" "$addr: interactive echo, then half-close"
done

# 2. bulk echo with half-close
out=$(tb_in "$TB_CLIENT" timeout -k 2 20 "$PYTHON" "$STREAM" client "[2001:db8::e]:7" --send 5M \
	--seed 33 --timeout 15) || true
printf '%s\n' "$out" >&2
csend=$(grep '^client 1 send ' <<<"$out") || tb_fail "no result from the client"
crecv=$(grep '^client 1 recv ' <<<"$out")
tb_assert_eq "done eof" "$(field "$csend" end) $(field "$crecv" end)" "echo of 5 MiB: how sending and reading ended"
tb_assert_eq "5242880 $(field "$csend" sha256)" "$(field "$crecv" bytes) $(field "$crecv" sha256)" \
	"echo of 5 MiB: what came back"

# check LABEL BACKEND_LOG CLIENT_ARGS...: both directions end cleanly, bytes and sha256 equal
check() {
	local label=$1 blog=$2 out i
	shift 2
	out=$(tb_in "$TB_CLIENT" timeout -k 2 20 "$PYTHON" "$STREAM" client "$@" --timeout 15) || true
	printf '%s\n' "$out" >&2
	CSEND=$(grep '^client 1 send ' <<<"$out") || tb_fail "$label: no result from the client"
	CRECV=$(grep '^client 1 recv ' <<<"$out")
	tb_until "$TB_WAIT" grep -q '^server 1 send ' "$blog" || true
	SSEND=$(grep '^server 1 send ' "$blog") || tb_fail "$label: no result from the backend"
	SRECV=$(grep '^server 1 recv ' "$blog")
	tb_log "$label: $SRECV"
	tb_log "$label: $SSEND"
	tb_assert_eq "done eof done eof" \
		"$(field "$CSEND" end) $(field "$CRECV" end) $(field "$SSEND" end) $(field "$SRECV" end)" \
		"$label: how client send, client recv, backend send, backend recv ended"
	tb_assert_eq "$(field "$CSEND" bytes) $(field "$CSEND" sha256)" \
		"$(field "$SRECV" bytes) $(field "$SRECV" sha256)" "$label: what the backend received"
	tb_assert_eq "$(field "$SSEND" bytes) $(field "$SSEND" sha256)" \
		"$(field "$CRECV" bytes) $(field "$CRECV" sha256)" "$label: what the client received"
}

# 3. the client half-closes first
check "client first" "$REPLY_LOG" "[2001:db8::f]:80" --send 3000 --seed 34
tb_assert_eq "3000 10485760" "$(field "$SRECV" bytes) $(field "$CRECV" bytes)" \
	"client first: request and reply sizes"

# 4. the backend half-closes first
# the client reads to EOF before it sends anything: a relay that passed the backend's EOF
# on only once both directions were done would leave it waiting until it gives up
check "backend first" "$FIRST_LOG" "[2001:db8::10]:80" --after-eof --send 10M --delay 1 --seed 35
tb_assert_eq "1048576 10485760" "$(field "$CRECV" bytes) $(field "$SRECV" bytes)" \
	"backend first: sizes received by the client and by the backend"
echo "measured: backend first: the client saw the backend's EOF $(field "$CRECV" seconds)s after connecting"

# 5. the relays are unharmed
for name in echo reply first; do
	tb_alive "${PIDS[$name]}" || tb_fail "relay $name died"
	tb_wait_fds "${PIDS[$name]}" "${FDS[$name]}" "relay $name: descriptors at the end"
done
