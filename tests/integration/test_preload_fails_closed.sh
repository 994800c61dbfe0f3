#!/bin/bash
# (f) Bad configuration of libsocketbox-preload.so fails closed: the daemon's bind() of the
# port fails, a message on stderr names the variable at fault, and the real TCP port is
# never bound. The daemon (a few lines of python, in an applet namespace that has only lo)
# binds 0.0.0.0:PORT, listens if that worked, reports "bind PORT ok" or "bind PORT failed
# ERRNO" and stays alive until killed, so that ss -ltn sees what it holds. Cases:
#   1. SOCKETBOX_PORTS="80,x": bind(80) fails, stderr names SOCKETBOX_PORTS; the wrapper
#      with -p '80,x' refuses at once (exit 100, naming SOCKETBOX_PORTS), runs nothing;
#   2. SOCKETBOX_PORTS=80 and SOCKETBOX_SOCKET unset (LD_PRELOAD directly): bind(80) fails,
#      stderr names SOCKETBOX_SOCKET;
#   3. SOCKETBOX_SOCKET in a directory that does not exist: bind(80) fails, stderr names
#      SOCKETBOX_SOCKET, the path and the reason (No such file or directory);
#   4. SOCKETBOX_PORTS="70000", "" (empty), "90-80": bind(80) fails naming SOCKETBOX_PORTS;
#   5. SOCKETBOX_SOCKET with an unknown %-token ("%z"): fails naming SOCKETBOX_SOCKET;
#   6. SOCKETBOX_MODE="rw" (not an octal mode): fails naming SOCKETBOX_MODE;
#   7. only SKBOX_DIRECTORY_ROOT, a variable of the original socketbox's library: fails
#      naming it and SOCKETBOX_SOCKET/SOCKETBOX_PORTS.
# In every case: nothing listens on a real TCP port in the namespace and no socket file
# appeared. Finally, as a control, the same daemon with a good configuration binds (a socket
# file appears, no real port).

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SB_PRELOAD" "$SB_PRELOAD_LIB"
tb_setup

cat >"$TB_DIR/daemon.py" <<'EOF'
import errno, socket, sys, time
for port in map(int, sys.argv[1:]):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("0.0.0.0", port))
        s.listen(16)
        print("bind %d ok" % port, flush=True)
    except OSError as e:
        print("bind %d failed %s" % (port, errno.errorcode.get(e.errno, e.errno)), flush=True)
    globals().setdefault("keep", []).append(s)
print("done", flush=True)
time.sleep(30)
EOF
mkdir "$TB_DIR/socks"

N=0
# run_case WHAT EXPECT_BIND MESSAGE CMD...: run the daemon (CMD... ends with the daemon and
# its ports) in $TB_APP1; its stdout+stderr must say "bind 80 EXPECT_BIND" and contain
# MESSAGE (fixed string, "" for none); then nothing may listen on a real TCP port.
run_case() {
	local what=$1 expect=$2 message=$3 log tcp
	shift 3
	N=$((N + 1))
	tb_bg "$TB_APP1" "$@"
	log=$TB_BG_LOG
	tb_wait_log "$log" "done"
	tcp=$(tb_in "$TB_APP1" ss -Hltn)
	tb_kill "$TB_BG_PID"
	tb_log "case $N ($what) printed: $(tr '\n' '|' <"$log")"
	grep -q "^bind 80 $expect" "$log" ||
		tb_fail "$what: expected 'bind 80 $expect', got: $(tr '\n' '|' <"$log")"
	if [[ -n $message ]] && ! grep -qF -- "$message" "$log"; then
		tb_fail "$what: no message containing '$message' on stderr: $(tr '\n' '|' <"$log")"
	fi
	[[ -z $tcp ]] || tb_fail "$what: a real TCP port is bound in the applet namespace: $tcp"
	tb_log "ok: $what: bind 80 $expect${message:+, the message names \"$message\"}, no real TCP listener"
}

no_socket_files() {
	local f
	f=$(find "$TB_DIR/socks" -mindepth 1)
	[[ -z $f ]] || tb_fail "$1: a socket file appeared: $f"
}

run_case 'SOCKETBOX_PORTS="80,x"' failed SOCKETBOX_PORTS \
	env LD_PRELOAD="$SB_PRELOAD_LIB" SOCKETBOX_SOCKET="$TB_DIR/socks/web-%p.sock" \
	SOCKETBOX_PORTS='80,x' "$PYTHON" "$TB_DIR/daemon.py" 80
no_socket_files 'SOCKETBOX_PORTS="80,x"'

# The wrapper checks the same values with the library's parser and refuses at once (a
# usage error, 100), before the daemon runs at all.
rc=0
out=$("$SB_PRELOAD" -s "$TB_DIR/socks/web-%p.sock" -p '80,x' touch "$TB_DIR/ran" 2>&1) || rc=$?
tb_assert_eq 100 "$rc" "exit status of socketbox-preload -p '80,x'"
grep -qF 'socketbox-preload: SOCKETBOX_PORTS is not a list of ports' <<<"$out" ||
	tb_fail "socketbox-preload -p '80,x' did not name SOCKETBOX_PORTS: $out"
[[ ! -e $TB_DIR/ran ]] || tb_fail "socketbox-preload -p '80,x' ran the program"
no_socket_files 'socketbox-preload -p "80,x"'

run_case 'SOCKETBOX_SOCKET unset' failed SOCKETBOX_SOCKET \
	env -u SOCKETBOX_SOCKET LD_PRELOAD="$SB_PRELOAD_LIB" SOCKETBOX_PORTS=80 \
	"$PYTHON" "$TB_DIR/daemon.py" 80
no_socket_files 'SOCKETBOX_SOCKET unset'

missing=$TB_DIR/socks/no-such-dir/web-80.sock
run_case 'SOCKETBOX_SOCKET in a missing directory' failed \
	"SOCKETBOX_SOCKET $missing for port 80: No such file or directory" \
	env LD_PRELOAD="$SB_PRELOAD_LIB" SOCKETBOX_SOCKET="$TB_DIR/socks/no-such-dir/web-%p.sock" \
	SOCKETBOX_PORTS=80 "$PYTHON" "$TB_DIR/daemon.py" 80
no_socket_files 'SOCKETBOX_SOCKET in a missing directory'

for ports in 70000 "" 90-80; do
	run_case "SOCKETBOX_PORTS=\"$ports\"" failed SOCKETBOX_PORTS \
		env LD_PRELOAD="$SB_PRELOAD_LIB" SOCKETBOX_SOCKET="$TB_DIR/socks/web-%p.sock" \
		SOCKETBOX_PORTS="$ports" "$PYTHON" "$TB_DIR/daemon.py" 80
	no_socket_files "SOCKETBOX_PORTS=\"$ports\""
done

# Started the original socketbox's way (its SKBOX_* variables, none of ours): refused,
# naming the old variable and the new ones, instead of binding the real port unnoticed.
run_case 'SKBOX_DIRECTORY_ROOT only' failed \
	"SKBOX_DIRECTORY_ROOT is the original socketbox's, which this library does not read; set SOCKETBOX_SOCKET and SOCKETBOX_PORTS" \
	env LD_PRELOAD="$SB_PRELOAD_LIB" SKBOX_DIRECTORY_ROOT="$TB_DIR/socks" \
	"$PYTHON" "$TB_DIR/daemon.py" 80
no_socket_files 'SKBOX_DIRECTORY_ROOT only'

run_case 'SOCKETBOX_SOCKET with %z' failed SOCKETBOX_SOCKET \
	env LD_PRELOAD="$SB_PRELOAD_LIB" SOCKETBOX_SOCKET="$TB_DIR/socks/web-%z.sock" \
	SOCKETBOX_PORTS=80 "$PYTHON" "$TB_DIR/daemon.py" 80
no_socket_files 'SOCKETBOX_SOCKET with %z'

run_case 'SOCKETBOX_MODE="rw"' failed SOCKETBOX_MODE \
	env LD_PRELOAD="$SB_PRELOAD_LIB" SOCKETBOX_SOCKET="$TB_DIR/socks/web-%p.sock" \
	SOCKETBOX_PORTS=80 SOCKETBOX_MODE=rw "$PYTHON" "$TB_DIR/daemon.py" 80
no_socket_files 'SOCKETBOX_MODE="rw"'

# control: the same daemon, configured well, gets its socket file and no real port
tb_bg "$TB_APP1" "$SB_PRELOAD" -s "$TB_DIR/socks/web-%p.sock" -p 80 "$PYTHON" "$TB_DIR/daemon.py" 80
tb_wait_log "$TB_BG_LOG" "done"
grep -qx 'bind 80 ok' "$TB_BG_LOG" || tb_fail "control: $(tr '\n' '|' <"$TB_BG_LOG")"
[[ -S $TB_DIR/socks/web-80.sock ]] || tb_fail "control: no socket file web-80.sock"
tcp=$(tb_in "$TB_APP1" ss -Hltn)
[[ -z $tcp ]] || tb_fail "control: a real TCP port is bound: $tcp"
tb_log "ok: control: with a good configuration bind(80) works through the socket file"
