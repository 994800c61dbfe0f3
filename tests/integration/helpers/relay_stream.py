#!/usr/bin/python3
"""relay_stream.py server|client ADDRESS [options]

A byte-stream peer for the socketbox-relay tests: sends a deterministic pseudo-random stream,
receives whatever the other side sends, and reports the SHA-256 of both, so a test can
compare what one end sent with what the other end received.

ADDRESS is HOST:PORT, [V6]:PORT or unix:PATH. The server listens there and serves --count
connections one after the other, then exits; the client connects there once.

Each connection, by default: a thread receives to EOF while the main thread sends --send
bytes and then shuts its sending direction down (shutdown(SHUT_WR)); done when both are.

Options:
  --send BYTES     bytes to send (suffix K, M, G: powers of 1024; default 0)
  --seed N         the stream's seed (default 1); the stream cycles through a random block of
                   1 MiB + 13 bytes, so a lost, repeated or reordered piece changes the hash
  --after-eof      first receive to EOF, then send (a request/reply server after half-close)
  --wait-data      first receive until at least one byte arrived, then send; receiving
                   continues concurrently
  --delay S        sleep S seconds before sending
  --no-shutdown    after sending, do not shut down: wait until the peer ends the connection
  --reset          after sending, close with SO_LINGER 0 (a reset) at once; nothing more is
                   received (with neither --after-eof nor --wait-data nothing is received;
                   the recv line then says end=stopped)
  --count N        server: connections to serve, one after another (default 1)
  --backlog N      server: listen backlog (default 16)
  --timeout S      give up after S seconds per connection (default 60)

Output on stdout, one line per direction and connection (N counts from 1; the client is 1):
  ROLE N recv bytes=B sha256=H end=eof|reset|timeout|error:NAME seconds=S
  ROLE N send bytes=B sha256=H end=done|reset|timeout|error:NAME seconds=S
seconds: from the connection's start (connect() returned / accept() returned) until the
direction ended. The server prints "server listening" once it listens. Exit status 0 when
everything ended as asked (recv end=eof, send end=done), 1 otherwise, 2 for bad usage.
"""
import errno
import hashlib
import os
import random
import select
import socket
import struct
import sys
import threading
import time

BLOCK = (1 << 20) + 13
CHUNK = 1 << 20


def parse_size(text):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:].upper(), 1)
    return int(text[:-1] if mult != 1 else text) * mult


def parse_address(text):
    if text.startswith("unix:"):
        return socket.AF_UNIX, text[5:]
    host, _, port = text.rpartition(":")
    if host.startswith("["):
        return socket.AF_INET6, (host[1:-1], int(port))
    return (socket.AF_INET6 if ":" in host else socket.AF_INET), (host, int(port))


def end_name(e):
    if isinstance(e, socket.timeout):
        return "timeout"
    if isinstance(e, (ConnectionResetError, BrokenPipeError)):
        return "reset"
    if isinstance(e, OSError) and e.errno is not None:
        return "error:" + errno.errorcode.get(e.errno, str(e.errno))
    return "error:" + type(e).__name__


class Direction:
    def __init__(self):
        self.bytes = 0
        self.hash = hashlib.sha256()
        self.end = None
        self.seconds = 0.0

    def line(self, role, n, what):
        return "%s %d %s bytes=%d sha256=%s end=%s seconds=%.3f" % (
            role, n, what, self.bytes, self.hash.hexdigest(), self.end, self.seconds)


def receive(s, d, start, until_data=None):
    """Receive to EOF (or, with until_data, until data arrived: returns True then)."""
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    try:
        while True:
            n = s.recv_into(buf)
            if n == 0:
                d.end = "eof"
                break
            d.hash.update(view[:n])
            d.bytes += n
            if until_data:
                return True
    except Exception as e:  # noqa: BLE001 - every ending is reported
        d.end = end_name(e)
    d.seconds = time.monotonic() - start
    return False


def send(s, d, start, total, pattern, opts):
    view = memoryview(pattern)
    try:
        if opts["delay"]:
            time.sleep(opts["delay"])
        pos = 0
        while d.bytes < total:
            n = min(CHUNK, total - d.bytes)
            piece = view[pos:pos + n]
            s.sendall(piece)
            d.hash.update(piece)
            d.bytes += n
            pos = (pos + n) % BLOCK
        if opts["reset"]:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif not opts["no_shutdown"]:
            s.shutdown(socket.SHUT_WR)
        d.end = "done"
    except Exception as e:  # noqa: BLE001
        d.end = end_name(e)
    d.seconds = time.monotonic() - start


def serve_one(s, role, n, opts, pattern):
    start = time.monotonic()
    s.settimeout(opts["timeout"])
    r, w = Direction(), Direction()
    thread = None
    if opts["after_eof"]:
        receive(s, r, start)
    elif opts["wait_data"]:
        if receive(s, r, start, until_data=True) and not opts["reset"]:
            thread = threading.Thread(target=receive, args=(s, r, start))
            thread.start()
    elif not opts["reset"]:
        thread = threading.Thread(target=receive, args=(s, r, start))
        thread.start()
    if r.end in (None, "eof"):
        send(s, w, start, opts["send"], pattern, opts)
    else:
        w.end = "skipped"
    if thread:
        thread.join(opts["timeout"])
    if r.end is None:
        # still receiving after the timeout, or (--reset) receiving was not asked for
        r.end = "timeout" if thread else "stopped"
        r.seconds = time.monotonic() - start
    s.close()
    print(r.line(role, n, "recv"))
    print(w.line(role, n, "send"))
    sys.stdout.flush()
    want_recv = ("eof", "stopped") if opts["reset"] else ("eof",)
    return r.end in want_recv and w.end == "done"


def main():
    args = sys.argv[1:]
    if len(args) < 2 or args[0] not in ("server", "client"):
        sys.stderr.write(__doc__)
        return 2
    role, address = args[0], args[1]
    opts = {"send": 0, "seed": 1, "after_eof": False, "wait_data": False, "delay": 0.0,
            "no_shutdown": False, "reset": False, "count": 1, "backlog": 16, "timeout": 60.0}
    rest = args[2:]
    try:
        while rest:
            o = rest.pop(0)
            if o == "--send":
                opts["send"] = parse_size(rest.pop(0))
            elif o == "--seed":
                opts["seed"] = int(rest.pop(0))
            elif o == "--after-eof":
                opts["after_eof"] = True
            elif o == "--wait-data":
                opts["wait_data"] = True
            elif o == "--delay":
                opts["delay"] = float(rest.pop(0))
            elif o == "--no-shutdown":
                opts["no_shutdown"] = True
            elif o == "--reset":
                opts["reset"] = True
            elif o == "--count":
                opts["count"] = int(rest.pop(0))
            elif o == "--backlog":
                opts["backlog"] = int(rest.pop(0))
            elif o == "--timeout":
                opts["timeout"] = float(rest.pop(0))
            else:
                raise ValueError(o)
        family, addr = parse_address(address)
    except (ValueError, IndexError) as e:
        sys.stderr.write("relay_stream.py: bad arguments (%s)\n%s" % (e, __doc__))
        return 2

    block = random.Random(opts["seed"]).randbytes(BLOCK)
    pattern = block + block[:CHUNK]  # any CHUNK-long window starting in the block is contiguous

    ok = True
    if role == "client":
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(opts["timeout"])
        try:
            s.connect(addr)
        except OSError as e:
            print("client 1 connect end=%s" % end_name(e))
            return 1
        ok = serve_one(s, "client", 1, opts, pattern)
        return 0 if ok else 1

    ls = socket.socket(family, socket.SOCK_STREAM)
    if family != socket.AF_UNIX:
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    elif os.path.exists(addr):
        os.unlink(addr)
    ls.bind(addr)
    ls.listen(opts["backlog"])
    print("server listening")
    sys.stdout.flush()
    for n in range(1, opts["count"] + 1):
        s, _ = ls.accept()
        ok = serve_one(s, "server", n, opts, pattern) and ok
    ls.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
