#!/bin/bash
# shutdown() of a listener wakes a thread blocked in accept() behind libsocketbox-preload.so,
# as it does with the kernel's TCP listener (accept fails with EINVAL). Multi-threaded
# daemons use this idiom to stop their accept threads. The daemon (a few lines of python, in
# an applet namespace that has only lo) binds 0.0.0.0:80, listens, blocks in accept() in a
# thread, and 0.3 s later calls shutdown(SHUT_RD) (then, in a second run, SHUT_RDWR) on the
# listener from the main thread; it reports how accept() ended, whether the thread is still
# blocked (it waits for the thread up to 30 s: a cap, the thread normally ends at once), and
# the CPU time the process used. Asserted, first without the shim
# (control: the kernel's behaviour on this machine), then with it: accept() fails with
# EINVAL, the thread has ended, and the process did not spin (under 0.5 s of CPU).

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SB_PRELOAD_LIB"
tb_setup

cat >"$TB_DIR/daemon.py" <<'EOF'
import errno, os, socket, sys, threading, time
how = {"rd": socket.SHUT_RD, "rdwr": socket.SHUT_RDWR}[sys.argv[1]]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("0.0.0.0", 80))
s.listen(16)
result = []
def waiter():
    try:
        c, a = s.accept()
        result.append("accepted %r" % (a,))
    except OSError as e:
        result.append("accept failed %s" % errno.errorcode.get(e.errno, e.errno))
t = threading.Thread(target=waiter, daemon=True)
t.start()
time.sleep(0.3)
s.shutdown(how)
t.join(30)
cpu = sum(os.times()[:2])
print("result=%s blocked=%s cpu=%.2f" % (result[0].replace(" ", "_") if result else "none",
      "yes" if t.is_alive() else "no", cpu), flush=True)
os._exit(0)
EOF

# run LABEL HOW ENV...: run the daemon in $TB_APP1 with ENV, check what it printed
run() {
	local label=$1 how=$2 out result blocked cpu
	shift 2
	out=$(tb_in "$TB_APP1" env "$@" timeout 60 "$PYTHON" "$TB_DIR/daemon.py" "$how" 2>&1) ||
		tb_fail "$label, shutdown($how): the daemon failed: $out"
	tb_log "$label, shutdown($how): $out"
	result=$(sed -n 's/.*result=\([^ ]*\).*/\1/p' <<<"$out")
	blocked=$(sed -n 's/.* blocked=\([^ ]*\).*/\1/p' <<<"$out")
	cpu=$(sed -n 's/.* cpu=\([0-9.]*\).*/\1/p' <<<"$out")
	tb_assert_eq no "$blocked" "$label, shutdown($how): accept thread still blocked 30 s later"
	tb_assert_eq accept_failed_EINVAL "$result" "$label, shutdown($how): how accept() ended"
	"$PYTHON" -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 0.5 else 1)' "$cpu" ||
		tb_fail "$label, shutdown($how): the daemon used ${cpu}s of CPU (spinning)"
}

for how in rd rdwr; do
	run "kernel (no shim)" "$how" SOCKETBOX_UNUSED=1
	run "behind the shim" "$how" LD_PRELOAD="$SB_PRELOAD_LIB" \
		SOCKETBOX_SOCKET="$TB_DIR/web-%p.sock" SOCKETBOX_PORTS=80
done
