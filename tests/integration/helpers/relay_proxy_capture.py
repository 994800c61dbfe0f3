#!/usr/bin/python3
"""relay_proxy_capture.py HOST PORT COUNT

A backend that shows exactly which PROXY protocol header it received. It listens on
HOST:PORT, prints "listening", then for each of COUNT connections (one after the other):
reads the header - a v1 line up to and including CRLF (at most 107 bytes), or a v2 header
(12-byte signature, 4 bytes, then as many bytes as its length field says) - and prints it
on one line:

    v1 PROXY TCP4 10.213.0.2 198.51.100.1 40001 80      (the line without its CRLF)
    v2 ver_cmd=0x21 fam=0x11 len=12 src=10.213.0.2 dst=198.51.100.1 sport=40001 dport=80
    bad <what was read, repr>

(for fam 0x21, src and dst are IPv6 addresses as inet_ntop writes them); then it replies
"ok\\n" followed by every byte that came after the header, and closes the connection. Each
connection is bounded to 10 s.
"""
import socket
import struct
import sys

V2SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def read_exact(s, n, got=b""):
    while len(got) < n:
        d = s.recv(n - len(got))
        if not d:
            break
        got += d
    return got


def read_header(s):
    got = read_exact(s, 12)
    if got == V2SIG:
        got = read_exact(s, 16, got)
        if len(got) < 16:
            return "bad %r" % got
        ver_cmd, fam, length = got[12], got[13], struct.unpack("!H", got[14:16])[0]
        body = read_exact(s, length)
        line = "v2 ver_cmd=0x%02x fam=0x%02x len=%d" % (ver_cmd, fam, length)
        if fam == 0x11 and length >= 12:
            line += " src=%s dst=%s sport=%d dport=%d" % (
                socket.inet_ntop(socket.AF_INET, body[0:4]),
                socket.inet_ntop(socket.AF_INET, body[4:8]),
                *struct.unpack("!HH", body[8:12]))
        elif fam == 0x21 and length >= 36:
            line += " src=%s dst=%s sport=%d dport=%d" % (
                socket.inet_ntop(socket.AF_INET6, body[0:16]),
                socket.inet_ntop(socket.AF_INET6, body[16:32]),
                *struct.unpack("!HH", body[32:36]))
        return line
    while not got.endswith(b"\r\n") and len(got) < 107:
        d = s.recv(1)
        if not d:
            break
        got += d
    if got.startswith(b"PROXY ") and got.endswith(b"\r\n"):
        return "v1 " + got[:-2].decode("ascii", "replace")
    return "bad %r" % got


def main():
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    host, port, count = sys.argv[1].strip("[]"), int(sys.argv[2]), int(sys.argv[3])
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port))
    ls.listen(16)
    print("listening")
    sys.stdout.flush()
    for _ in range(count):
        s, _ = ls.accept()
        s.settimeout(10)
        try:
            print(read_header(s))
            sys.stdout.flush()
            rest = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                rest += d
            s.sendall(b"ok\n" + rest)
        except OSError as e:
            print("bad %s" % e)
            sys.stdout.flush()
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
