#!/usr/bin/python3
"""reg_peer.py SOCKET SLOT [--answer TEXT] [--request HEX] [--silent] [--extra]

A registered applet that speaks socketbox's registration protocol (the Python socketbox's,
socketbox(8) PROTOCOL) byte for byte, and checks what socketbox says:

  request  {0x01, 0, 0, 0, SLOT as big-endian u32} on a SOCK_SEQPACKET connection to SOCKET
  answer   exactly {0x80, 0, 0, 0}, or the connection closed (refused)
  then     one message {0x03, 0, 0, 0} with exactly one descriptor (SCM_RIGHTS) per
           connection

Prints "registered" once accepted, or "refused" (closed without an answer) and exits 3. Each
connection received is answered TEXT (default "ok") and a newline, then closed. SIGUSR1
prints "served N"; SIGTERM prints it and exits 0. A message that is not exactly the above
prints "bad message: ..." and exits 2.

  --request HEX  send these bytes as the request instead (a malformed one), then print what
                 came back: "refused" or "answer HEX"
  --silent       connect and send nothing; print "closed" when socketbox closes the
                 connection
  --mark N FILE  create FILE once N connections were served
  --extra        after registering, send one more byte (which socketbox must not accept),
                 then print "closed" when socketbox closes the connection
"""
import array
import signal
import socket
import struct
import sys

args = sys.argv[1:]
opts = {}
pos = []
while args:
    a = args.pop(0)
    if a in ("--answer", "--request"):
        opts[a] = args.pop(0)
    elif a == "--mark":
        opts[a] = (int(args.pop(0)), args.pop(0))
    elif a in ("--silent", "--extra"):
        opts[a] = True
    else:
        pos.append(a)
path, slot = pos[0], int(pos[1])
answer = (opts.get("--answer", "ok") + "\n").encode()
served = 0


def say(text):
    print(text, flush=True)


def report(signo, frame):
    say("served %d" % served)
    if signo == signal.SIGTERM:
        sys.exit(0)


signal.signal(signal.SIGUSR1, report)
signal.signal(signal.SIGTERM, report)

s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(path)


def wait_closed():
    while True:
        try:
            if s.recv(16) == b"":
                break
        except ConnectionResetError:
            break
    say("closed")
    sys.exit(0)


if "--silent" in opts:
    wait_closed()
if "--request" in opts:
    s.send(bytes.fromhex(opts["--request"]))
    try:
        got = s.recv(16)
    except ConnectionResetError:
        got = b""
    say("answer " + got.hex() if got else "refused")
    sys.exit(0)

s.send(struct.pack(">BBBBI", 1, 0, 0, 0, slot))
try:
    got = s.recv(16)
except ConnectionResetError:
    got = b""
if got == b"":
    say("refused")
    sys.exit(3)
if got != b"\x80\x00\x00\x00":
    say("bad message: answer %s" % got.hex())
    sys.exit(2)
say("registered")
if "--extra" in opts:
    s.send(b"x")
    wait_closed()

space = socket.CMSG_SPACE(4 * array.array("i").itemsize)
while True:
    data, anc, flags, _ = s.recvmsg(16, space)
    fds = array.array("i")
    for level, kind, cdata in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(cdata[: len(cdata) - len(cdata) % fds.itemsize])
    if data == b"" and not anc:
        say("closed")
        sys.exit(0)
    if data != b"\x03\x00\x00\x00" or len(fds) != 1 or flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
        say("bad message: %s with %d descriptors, flags %#x" % (data.hex(), len(fds), flags))
        sys.exit(2)
    c = socket.socket(fileno=fds[0])
    try:
        c.sendall(answer)
    except OSError:
        pass
    c.close()
    served += 1
    if "--mark" in opts and served == opts["--mark"][0]:
        open(opts["--mark"][1], "w").close()
