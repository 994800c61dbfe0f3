#!/usr/bin/python3
"""send_junk.py PATH KIND...

Sends one malformed hand-off datagram per KIND straight to the applet's AF_UNIX SOCK_DGRAM
socket at PATH (an abstract name is written @NAME), bypassing the acceptor. The wire format
an applet accepts is a 1-byte payload "\\0" with exactly one connected stream socket in one
SCM_RIGHTS message; each KIND breaks it in one way:

  nofd      payload "\\0", no descriptor at all
  twofds    payload "\\0", two descriptors (both ends of a connected AF_UNIX stream pair)
  pipe      payload "\\0", the read end of a pipe
  udp       payload "\\0", a UDP socket
  listen    payload "\\0", a listening TCP socket
  payload   payload "junk", one connected AF_UNIX stream socket
  good      a well-formed hand-off: payload "\\0", one connected AF_UNIX stream socket
            (to test who may send, rather than what)
  fds:N     payload "\\0", N descriptors in one SCM_RIGHTS message (at most 253, the
            kernel's SCM_MAX_FD), each one end of a connected AF_UNIX stream pair. We keep
            the other ends and wait (up to 30 s) until every one of them sees EOF, which
            happens only once the receiver has closed every descriptor it got; prints
            "closed K/N" (K = N when all were closed in time)

Our own copies of the descriptors are closed after sending, so only the applet can hold
them. Prints one line per datagram sent.
"""
import os
import selectors
import socket
import sys
import time


def address(path):
    return "\0" + path[1:] if path.startswith("@") else path


def wait_closed(peers, limit):
    """Waits until every socket in peers reads EOF (its other end closed everywhere), at
    most limit seconds. Returns how many did."""
    sel = selectors.DefaultSelector()
    for p in peers:
        p.setblocking(False)
        sel.register(p, selectors.EVENT_READ)
    closed = 0
    deadline = time.monotonic() + limit
    while closed < len(peers):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for key, _ in sel.select(timeout=left):
            try:
                d = key.fileobj.recv(64)
            except BlockingIOError:
                continue
            except OSError:
                d = b""
            if not d:
                sel.unregister(key.fileobj)
                closed += 1
    sel.close()
    return closed


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    dest = address(sys.argv[1])
    tx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    tx.connect(dest)
    for kind in sys.argv[2:]:
        keep = []  # objects whose descriptors are sent
        peers = []  # for fds:N, the ends we keep, to see the receiver close the others
        payload = b"\0"
        if kind == "nofd":
            fds = []
        elif kind == "twofds":
            a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            keep = [a, b]
            fds = [a.fileno(), b.fileno()]
        elif kind == "pipe":
            r, w = os.pipe()
            keep = [r, w]
            fds = [r]
        elif kind == "udp":
            u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            keep = [u]
            fds = [u.fileno()]
        elif kind == "listen":
            t = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            t.bind(("::1", 0))
            t.listen(1)
            keep = [t]
            fds = [t.fileno()]
        elif kind == "good":
            a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            keep = [a, b]
            fds = [a.fileno()]
        elif kind.startswith("fds:") and kind[4:].isdigit() and 1 <= int(kind[4:]) <= 253:
            n = int(kind[4:])
            pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(n)]
            keep = [a for a, _ in pairs]
            peers = [b for _, b in pairs]
            fds = [a.fileno() for a in keep]
        elif kind == "payload":
            a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            keep = [a, b]
            fds = [a.fileno()]
            payload = b"junk"
        else:
            sys.stderr.write("send_junk.py: unknown kind %r\n" % kind)
            return 2
        if fds:
            socket.send_fds(tx, [payload], fds)
        else:
            tx.send(payload)
        for k in keep:
            if isinstance(k, int):
                os.close(k)
            else:
                k.close()
        print("sent %s" % kind, flush=True)
        if peers:
            print("closed %d/%d" % (wait_closed(peers, 30.0), len(peers)), flush=True)
            for p in peers:
                p.close()
            peers = []
    return 0


if __name__ == "__main__":
    sys.exit(main())
