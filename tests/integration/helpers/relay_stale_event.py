#!/usr/bin/python3
"""relay_stale_event.py SOCKET LOG - the audit's stale-registration attack on the relay.

Run against socketbox-relay -v --max-conns 2 --half-close-timeout 1 --connect-timeout 60
whose TARGET listens with a backlog of 0 and never accepts (so the relay's second connect
to it waits). Steps, each waited for in the relay's LOG:
  1. the attacker hands the relay S, one end of a TCP pair, and keeps a duplicate of it;
  2. it half-closes the other end; the relay passes the end on and, 1 s later, ends the
     connection by its half-closed timeout ("half-closed timeout" in LOG): it closes S,
     but the attacker's duplicate keeps S's file, and so its epoll registration, alive;
  3. a victim connection is handed over and takes the same slot; the relay is connecting
     for it ("connecting to" a second time in LOG; the backend's queue is full);
  4. the attacker shuts S down: S hangs up, and a registration left in the epoll set
     reports that for the slot, now the victim's: a relay that forgot to remove S resets
     the victim, which was still connecting;
  5. a malformed datagram follows ("dropped a message" in LOG): once it is logged, the
     relay has handled every event before it.
Prints "victim ok" when the victim's connection is still open and quiet, "victim reset"
(exit 1) when it was reset or closed.
"""
import errno
import socket
import sys
import time

CAP = 30.0


def wait_log(path, text, count=1):
    end = time.monotonic() + CAP
    while time.monotonic() < end:
        with open(path, errors="replace") as f:
            if f.read().count(text) >= count:
                return
        time.sleep(0.05)
    sys.exit("relay_stale_event.py: no %d x '%s' in %s within %d s" % (count, text, path, CAP))


def tcp_pair(lst):
    c = socket.create_connection(lst.getsockname())
    s, _ = lst.accept()
    return c, s


def main():
    path, log = sys.argv[1], sys.argv[2]
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.bind(("127.0.0.1", 0))
    lst.listen(4)
    tx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    tx.connect(path)

    c, s = tcp_pair(lst)
    socket.send_fds(tx, [b"\0"], [s.fileno()])  # 1: s stays open here too
    wait_log(log, "connecting to", 1)
    c.shutdown(socket.SHUT_WR)  # 2
    wait_log(log, "half-closed timeout")

    vc, vs = tcp_pair(lst)  # 3
    socket.send_fds(tx, [b"\0"], [vs.fileno()])
    vs.close()
    wait_log(log, "connecting to", 2)

    s.shutdown(socket.SHUT_WR)  # 4
    tx.send(b"junk")  # 5
    wait_log(log, "dropped a message")

    vc.setblocking(False)
    try:
        got = vc.recv(1)
        what = "closed" if got == b"" else "data"
    except BlockingIOError:
        print("victim ok")
        return 0
    except OSError as e:
        what = errno.errorcode.get(e.errno, str(e))
    print("victim reset (%s)" % what)
    return 1


if __name__ == "__main__":
    sys.exit(main())
