#!/bin/bash
# The way out, part 1 (unsock's job): SOCKETBOX_CONNECT makes a TCP connect() to a listed
# destination reach a UNIX stream socket instead, in a namespace that has only lo and no
# TCP server at all. The servers are socat on UNIX sockets (each says which it is).
#   - python's socket module: 127.0.0.1:5432 reaches the "pg" socket, with a timeout (a
#     non-blocking connect inside) and without; getpeername() is what it asked for, and
#     TCP_NODELAY set after connect is accepted; [::1]:6379 reaches "redis" (@abstract);
#   - tests/integration/helpers/nb_connect.c: a non-blocking connect with epoll, TCP_NODELAY
#     set before, EINPROGRESS, writable, SO_ERROR 0, getpeername, data;
#   - a second connect() on a redirected socket is not redirected again: EISCONN, blocking
#     or not (a non-blocking one first says EINPROGRESS), and the first connection still works;
#   - a destination not listed (127.0.0.1:5433) is untouched: refused, as there is no server;
#   - an unusable SOCKETBOX_CONNECT fails closed: connect refused, stderr names the variable.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_exec "$SB_PRELOAD_LIB"
tb_setup
cc -O2 -Wall -Wextra -Werror -o "$TB_DIR/nb_connect" "$SB_TOP/tests/integration/helpers/nb_connect.c" ||
	tb_fail "cannot build helpers/nb_connect.c"

tb_bg "$TB_APP1" socat "UNIX-LISTEN:$TB_DIR/pg.sock,fork" SYSTEM:'echo pg'
tb_bg "$TB_APP1" socat ABSTRACT-LISTEN:sb-test-redis-$$,fork SYSTEM:'echo redis'
tb_wait_socket "$TB_DIR/pg.sock"
tb_wait_socket "@sb-test-redis-$$"
MAP="127.0.0.1:5432=$TB_DIR/pg.sock,[::1]:6379=@sb-test-redis-$$"

out=$(tb_in "$TB_APP1" env LD_PRELOAD="$SB_PRELOAD_LIB" SOCKETBOX_CONNECT="$MAP" "$PYTHON" -c '
import errno, socket
def talk(addr, timeout):
    s = socket.create_connection(addr, timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    peer = s.getpeername()[:2]
    data = s.makefile().read().strip()
    print("%s %s:%d" % (data, peer[0], peer[1]))
talk(("127.0.0.1", 5432), 10)
talk(("127.0.0.1", 5432), None)
talk(("::1", 6379), 10)
def again(blocking):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(blocking)
    first = s.connect_ex(("127.0.0.1", 5432))
    second = s.connect_ex(("127.0.0.1", 5432))
    s.setblocking(True)
    data = s.makefile().read().strip()
    print("again %s %s %s" % (errno.errorcode.get(first, first), errno.errorcode.get(second, second), data))
again(True)
again(False)
try:
    socket.create_connection(("127.0.0.1", 5433), timeout=10)
    print("5433 connected")
except ConnectionRefusedError:
    print("5433 refused")
' 2>&1) || tb_fail "the python client failed: $out"
tb_assert_eq "pg 127.0.0.1:5432 pg 127.0.0.1:5432 redis ::1:6379 again 0 EISCONN pg again EINPROGRESS EISCONN pg 5433 refused" "$(echo $out)" \
	"what the python client reached"

out=$(tb_in "$TB_APP1" env LD_PRELOAD="$SB_PRELOAD_LIB" SOCKETBOX_CONNECT="$MAP" \
	"$TB_DIR/nb_connect" 127.0.0.1 5432 2>&1) || tb_fail "nb_connect failed: $out"
tb_assert_eq pg "$out" "what the non-blocking epoll client reached"
out=$(tb_in "$TB_APP1" env LD_PRELOAD="$SB_PRELOAD_LIB" SOCKETBOX_CONNECT="$MAP" \
	"$TB_DIR/nb_connect" ::1 6379 2>&1) || tb_fail "nb_connect over IPv6 failed: $out"
tb_assert_eq redis "$out" "what the non-blocking epoll client reached over IPv6"

rc=0
out=$(tb_in "$TB_APP1" env LD_PRELOAD="$SB_PRELOAD_LIB" SOCKETBOX_CONNECT="127.0.0.1=/x" \
	"$TB_DIR/nb_connect" 127.0.0.1 5432 2>&1) || rc=$?
tb_assert_eq 1 "$rc" "exit status of a client with an unusable SOCKETBOX_CONNECT"
grep -q 'refusing to connect to 127.0.0.1:5432: SOCKETBOX_CONNECT is not a list' <<<"$out" ||
	tb_fail "the refusal does not name SOCKETBOX_CONNECT: $out"
tb_log "ok: SOCKETBOX_CONNECT redirects listed destinations and fails closed"
