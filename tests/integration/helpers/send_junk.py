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

Our own copies of the descriptors are closed after sending, so only the applet can hold
them. Prints one line per datagram sent.
"""
import os
import socket
import sys


def address(path):
    return "\0" + path[1:] if path.startswith("@") else path


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    dest = address(sys.argv[1])
    tx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    tx.connect(dest)
    for kind in sys.argv[2:]:
        keep = []  # objects whose descriptors are sent
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
        print("sent %s" % kind)
    return 0


if __name__ == "__main__":
    sys.exit(main())
