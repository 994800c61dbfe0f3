#!/usr/bin/python3
"""fake_registrar.py PATH SLOT ACTION...

A stand-in for socketbox's registration socket that speaks the registration protocol of the
Python socketbox byte for byte (the one its socketbox-inetd-p speaks): it listens on a
SOCK_SEQPACKET UNIX socket at PATH; a registration is the 8-byte request
{0x01, 0, 0, 0, SLOT as big-endian u32}, answered with {0x80, 0, 0, 0} (or refused by closing
the connection); each handed-off connection is then a 4-byte message {0x03, 0, 0, 0} with
one descriptor in SCM_RIGHTS.

Every request is checked exactly (length and every byte): anything else prints
"request bad: HEX" and exits 1. A request that does not come within the wait prints
"request missing" and exits 1.

The ACTIONs run in order; those that need a registration take the next one:
  refuse     take a registration and close it unanswered ("refused N at T", T monotonic s)
  serve:N    take a registration, answer it, hand over N connections (one end of a
             connected AF_UNIX stream pair each), send "ping\n" and end our direction on
             the other end, and read what comes back until EOF: "served K: TEXT"; the
             registration is then held
  http:N     as serve, but each connection is a TCP connection over 127.0.0.1 (for
             daemons that want a TCP peer), the request "GET /F HTTP/1.0" where F is the
             action's argument after a comma (http:N,FILE), and "served K: " is followed by
             the status line and the last line of the answer
  fill:N     take a registration, answer it, hand over connections without blocking until
             the socket is full ("full after K") or N were sent ("not full after N"); the
             registration is then held
  release    close the first two connections' ends of fill and wait until the socket
             takes one more message ("drained")
  await:FILE wait until FILE exists
  drop       close the held registration (the applet sees its end)
  expect-eof wait until the applet closes the held registration ("eof")
  hold       wait until killed
Every line is flushed at once. Waits give up after $TB_WAIT seconds (default 30).
"""
import array
import os
import select
import socket
import sys
import time

WAIT = float(os.environ.get("TB_WAIT", "30"))


def say(*words):
    print(*words, flush=True)


def fail(msg):
    say(msg)
    sys.exit(1)


def take(listener, slot, n):
    r, _, _ = select.select([listener], [], [], WAIT)
    if not r:
        fail("no registration within the wait")
    conn, _ = listener.accept()
    r, _, _ = select.select([conn], [], [], WAIT)
    if not r:
        fail("request missing")
    req = conn.recv(64)
    want = bytes([1, 0, 0, 0]) + slot.to_bytes(4, "big")
    if req != want:
        fail("request bad: " + req.hex())
    say("request ok %d: %s" % (n, req.hex()))
    return conn


def tcp_pair():
    with socket.create_server(("127.0.0.1", 0)) as lst:
        ours = socket.create_connection(lst.getsockname())
        theirs, _ = lst.accept()
    return ours, theirs


def handoff(conn, flags=0, tcp=False):
    ours, theirs = tcp_pair() if tcp else socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        # sendmsg itself: socket.send_fds of Python 3.11 drops the flags.
        fds = array.array("i", [theirs.fileno()])
        conn.sendmsg([bytes([3, 0, 0, 0])], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)], flags)
    finally:
        theirs.close()
    return ours


def read_all(sock):
    sock.settimeout(WAIT)
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk


def main():
    path, slot, actions = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    os.chmod(path, 0o666)
    listener.listen(16)
    say("listening")
    held, n, kept = None, 0, []
    for action in actions:
        verb, _, arg = action.partition(":")
        if verb in ("refuse", "serve", "http", "fill"):
            n += 1
            conn = take(listener, slot, n)
        if verb == "refuse":
            conn.close()
            say("refused %d at %.3f" % (n, time.monotonic()))
        elif verb == "serve":
            conn.send(bytes([0x80, 0, 0, 0]))
            held = conn
            for k in range(int(arg)):
                ours = handoff(conn)
                ours.sendall(b"ping\n")
                ours.shutdown(socket.SHUT_WR)
                say("served %d: %s" % (k + 1, read_all(ours).decode(errors="replace").strip()))
                ours.close()
        elif verb == "http":
            count, _, name = arg.partition(",")
            conn.send(bytes([0x80, 0, 0, 0]))
            held = conn
            for k in range(int(count)):
                ours = handoff(conn, tcp=True)
                ours.sendall(b"GET /" + name.encode() + b" HTTP/1.0\r\n\r\n")
                ours.shutdown(socket.SHUT_WR)
                lines = read_all(ours).decode(errors="replace").strip().splitlines() or [""]
                say("served %d: %s %s" % (k + 1, lines[0].strip(), lines[-1].strip()))
                ours.close()
        elif verb == "fill":
            conn.send(bytes([0x80, 0, 0, 0]))
            held = conn
            # A small send buffer: full after a few messages, not hundreds.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            sent = 0
            try:
                while sent < int(arg):
                    kept.append(handoff(conn, socket.MSG_DONTWAIT))
                    sent += 1
                say("not full after %d" % sent)
            except BlockingIOError:
                say("full after %d" % sent)
        elif verb == "release":
            for s in kept[:2]:
                s.close()
            deadline = time.monotonic() + WAIT
            # Not select(): it says writable only once most of the buffer is free.
            while time.monotonic() < deadline:
                try:
                    kept.append(handoff(held, socket.MSG_DONTWAIT))
                    say("drained")
                    break
                except BlockingIOError:
                    time.sleep(0.05)
            else:
                fail("the socket never took messages again")
        elif verb == "await":
            deadline = time.monotonic() + WAIT
            while not os.path.exists(arg):
                if time.monotonic() > deadline:
                    fail("no " + arg + " within the wait")
                time.sleep(0.05)
        elif verb == "drop":
            held.close()
            held = None
            say("dropped")
        elif verb == "expect-eof":
            r, _, _ = select.select([held], [], [], WAIT)
            if not r or held.recv(64) != b"":
                fail("no eof")
            say("eof")
        elif verb == "hold":
            while True:
                time.sleep(3600)
        else:
            fail("unknown action " + action)
    listener.close()
    os.unlink(path)
    say("done")


main()
