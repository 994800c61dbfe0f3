#!/bin/bash
# Out of descriptors: with a hard limit of 48 open files and its applet frozen, the acceptor
# fills its queue until accept4() fails with EMFILE. It must pause accepting (one log line,
# no busy loop: a few ms of CPU over two seconds), then recover on its own once the applet
# runs again: every connection that waited in the kernel's backlog is served.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SOCKETBOX" "$SB_INETD"
tb_setup

N=80
tb_bg "$TB_APP1" "$SB_INETD" -c 200 -s "$TB_DIR/app.sock" echo served
app=$TB_BG_PID
tb_wait_socket "$TB_DIR/app.sock"
tb_bg "$TB_SERVER" bash -c "ulimit -n 48 && exec $SOCKETBOX -l :: -p $TB_PORT -t -S $TB_DIR/app.sock"
sb=$TB_BG_PID
sblog=$TB_BG_LOG
tb_wait_listen "$TB_SERVER" "$TB_PORT"

kill -STOP "$app"
# N clients at once, each waiting up to 2 x TB_WAIT s for its answer (a cap: the answers
# come once the applet runs again).
for i in $(seq "$N"); do
	tb_in "$TB_CLIENT" socat -u -T $((2 * TB_WAIT)) "TCP6:[2001:db8::7]:80" - >"$TB_DIR/c$i.out" 2>&1 &
done
tb_until "$TB_WAIT" grep -q 'pausing' "$sblog" || true
grep -q 'unable to accept; pausing' "$sblog" || tb_fail "acceptor never ran out of descriptors"

ticks0=$(awk '{print $14 + $15}' "/proc/$sb/stat")
sleep 2
ticks1=$(awk '{print $14 + $15}' "/proc/$sb/stat")
cpu=$((ticks1 - ticks0))
tb_log "CPU ticks used in 2 s while out of descriptors: $cpu"
((cpu < 20)) || tb_fail "acceptor spins while out of descriptors ($cpu ticks in 2 s)"

kill -CONT "$app"
wait_all() { local i; for i in $(seq "$N"); do wait -n 2>/dev/null || true; done; }
wait_all
served=$(grep -l '^served$' "$TB_DIR"/c*.out | wc -l)
tb_assert_eq "$N" "$served" "connections served after recovery"
