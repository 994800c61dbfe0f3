#!/usr/bin/python3
"""burst_client.py [--send TEXT [--shutdown]] [--http] [--concurrency N] [--rate R]
                 [--spread N] [--until FILE] [--hold] [--tally] ADDR PORT COUNT EXPECT
                 [TIMEOUT]

Opens COUNT TCP connections to ADDR:PORT at once (non-blocking connects issued back to back,
before any answer is read), reads each one to EOF and classifies it:

  ok       the connection delivered exactly EXPECT (a newline is appended) and then EOF
  other    it delivered something else
  eof      clean close without any data
  reset    ECONNRESET (at connect time or while reading), without data
  refused  ECONNREFUSED
  error    any other error
  timeout  still open when TIMEOUT seconds (default 60) have passed since the first connect

EXPECT "@FILE" stands for the exact contents of FILE (no newline appended).

  --tally      EXPECT lists several answers separated by "|" (each with a newline appended),
               as servers behind a balancer that each say who they are; any of them is ok,
               and after the result line one more says how many connections delivered each,
               in the order given: "burst: tally N1 N2 ..."

Options (for request/response servers such as nginx):
  --send TEXT  once a connection is established, send TEXT on it (backslash escapes such as
               \\r and \\n are decoded); the connection is not half-closed, unless:
  --shutdown   after sending, shut the sending direction down (for echo servers)
  --http       the answer is an HTTP response: ok means a status line "HTTP/1.x 200" and,
               after the header, a body that is exactly EXPECT

Holding connections open (for tests that count what a server holds):
  --hold       a connection is ok as soon as it delivered exactly EXPECT (no EOF needed): it
               is then held open. Once every connection is settled the usual line is
               printed, then "burst: holding N", and the held connections are watched until
               a line (or EOF) arrives on stdin, or TIMEOUT seconds more have passed; a held
               connection that sees data, EOF or a reset meanwhile is lost. Then each one
               still held is shut down for writing and read to EOF, and one more line is
               printed: "burst: released=N closed=N lost=N reset=N other=N error=N
               timeout=N seconds=S.SSS" (closed: clean EOF without more data; seconds: from
               the release until the last one ended). Exit 0 only when all COUNT were ok and
               closed.

Options for long runs (a flow of connections rather than one burst):
  --concurrency N  keep at most N connections open at once: open N, and a new one each
                   time one ends, until COUNT were opened (default: all COUNT at once)
  --rate R         open at most R connections per second (paced evenly from the start)
  --spread N       dial N consecutive addresses, ADDR, ADDR+1, ... ADDR+N-1, in turn, so that
                   a long run does not reuse one address/port 4-tuple too soon (default 1)
  --until FILE     keep opening connections (paced by --rate, at most N open with
                   --concurrency) until FILE exists, then let the open ones end: a flow that
                   lasts as long as whatever the test does meanwhile, however long that takes
                   on a slow machine. COUNT is then only an upper bound (the flow also ends
                   once COUNT were opened), and count= in the result line is the number of
                   connections actually opened. When TIMEOUT passes before FILE appears, that
                   is said on stderr and the exit status is 1.

Prints one line "burst: count=N ok=N other=N eof=N reset=N refused=N error=N timeout=N
seconds=S.SSS" (S: from the first connect until the last connection ended) and exits 0 when
every connection was ok, 1 otherwise. The first unexpected answer is shown on stderr.
"""
import errno
import ipaddress
import os
import resource
import selectors
import socket
import sys
import time


def http_ok(got, body):
    """True when got is an HTTP response with status 200 and exactly body after the header."""
    head, sep, rest = got.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    return (sep != b"" and len(status) >= 2 and status[0].startswith(b"HTTP/1.")
            and status[1] == b"200" and rest == body)


def main():
    args = sys.argv[1:]
    request = None
    http = False
    shutdown = False
    concurrency = None
    rate = None
    spread = 1
    hold = False
    tally = False
    until = None
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt == "--send" and args:
            request = args.pop(0).encode("latin-1").decode("unicode_escape").encode("latin-1")
        elif opt == "--http":
            http = True
        elif opt == "--shutdown":
            shutdown = True
        elif opt == "--hold":
            hold = True
        elif opt == "--tally":
            tally = True
        elif opt == "--until" and args:
            until = args.pop(0)
        elif opt == "--concurrency" and args and args[0].isdigit() and int(args[0]) > 0:
            concurrency = int(args.pop(0))
        elif opt == "--rate" and args and args[0].isdigit() and int(args[0]) > 0:
            rate = int(args.pop(0))
        elif opt == "--spread" and args and args[0].isdigit() and int(args[0]) > 0:
            spread = int(args.pop(0))
        else:
            sys.stderr.write(__doc__)
            return 2
    if len(args) not in (4, 5):
        sys.stderr.write(__doc__)
        return 2
    host, port, count = args[0], int(args[1]), int(args[2])
    if args[3].startswith("@"):
        with open(args[3][1:], "rb") as f:
            expect = f.read()
    else:
        expect = (args[3] + "\n").encode()
    answers = [(a + "\n").encode() for a in args[3].split("|")] if tally else [expect]
    if tally and (hold or http or args[3].startswith("@")):
        sys.stderr.write("burst_client.py: --tally goes with neither --hold, --http nor @FILE\n")
        return 2
    counts = dict.fromkeys(answers, 0)
    limit = float(args[4]) if len(args) == 5 else 60.0

    if concurrency is None or concurrency > count:
        concurrency = count
    if spread > 1:
        first = ipaddress.ip_address(host)
        top = 2 ** (128 if first.version == 6 else 32) - 1
        if int(first) + spread - 1 > top:
            sys.stderr.write("burst_client.py: --spread %d runs past the last address\n"
                             % spread)
            return 2
        hosts = [str(first + i) for i in range(spread)]
    else:
        hosts = [host]

    need = concurrency + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            hard = need  # root may raise the hard limit too (CAP_SYS_RESOURCE)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
        except (ValueError, OSError) as e:
            sys.stderr.write("burst_client.py: cannot raise the descriptor limit to %d "
                             "for %d sockets: %s\n" % (need, count, e))
            return 2

    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    sel = selectors.DefaultSelector()
    results = dict.fromkeys(
        ("ok", "other", "eof", "reset", "refused", "error", "timeout"), 0)
    data = {}
    errors = {}

    shown = []

    def finish(s, what):
        results[what] += 1
        if what == "other" and not shown:
            shown.append(1)
            sys.stderr.write("burst_client.py: unexpected answer: %r\n" % data[s][:300])
        sel.unregister(s)
        s.close()
        del data[s]
        if time.monotonic() < deadline:
            open_more()

    opened = [0]
    stopped = [False]  # --until: FILE appeared, open no more
    held = []

    def keep(s):
        """--hold: s delivered EXPECT; it stays open, outside the main loop's care."""
        results["ok"] += 1
        sel.unregister(s)
        del data[s]
        held.append(s)

    def open_more():
        """Opens connections until concurrency are open or count were opened."""
        while opened[0] < count and len(data) < concurrency and not stopped[0]:
            if rate and time.monotonic() < start + opened[0] / rate:
                break  # not yet: the main loop comes back in time
            addr = hosts[opened[0] % len(hosts)]
            opened[0] += 1
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setblocking(False)
            rc = s.connect_ex((addr, port))
            if rc not in (0, errno.EINPROGRESS):
                errors[rc] = errors.get(rc, 0) + 1
                results["refused" if rc == errno.ECONNREFUSED else "error"] += 1
                s.close()
                continue
            data[s] = b""
            # readable once an answer, EOF or an error (refused, reset) is there; with a
            # request to send, writable first, once the handshake is over (or failed)
            sel.register(s, selectors.EVENT_READ if request is None else selectors.EVENT_WRITE)

    start = time.monotonic()
    open_more()
    deadline = start + limit
    end = start
    while data or (opened[0] < count and not stopped[0]):
        now = time.monotonic()
        left = deadline - now
        if left <= 0:
            break
        if until is not None and not stopped[0] and os.path.exists(until):
            stopped[0] = True
            if not data:
                break
        wait = min(left, 1.0)
        if until is not None and not stopped[0]:
            wait = min(wait, 0.05)  # look for FILE often enough
        if rate and opened[0] < count and not stopped[0]:
            wait = max(0.0, min(wait, start + opened[0] / rate - now))
        for key, _ in sel.select(timeout=wait):
            s = key.fileobj
            if key.events == selectors.EVENT_WRITE:
                # the handshake is over: send the request (small: it fits the send buffer)
                rc = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                try:
                    if rc:
                        raise OSError(rc, os.strerror(rc))
                    s.sendall(request)
                    if shutdown:
                        s.shutdown(socket.SHUT_WR)
                except ConnectionResetError:
                    finish(s, "reset")
                    end = time.monotonic()
                    continue
                except ConnectionRefusedError:
                    finish(s, "refused")
                    end = time.monotonic()
                    continue
                except OSError as e:
                    errors[e.errno] = errors.get(e.errno, 0) + 1
                    finish(s, "error")
                    end = time.monotonic()
                    continue
                sel.modify(s, selectors.EVENT_READ)
                continue
            try:
                chunk = s.recv(4096)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                finish(s, "reset" if not data[s] else "other")
                end = time.monotonic()
                continue
            except ConnectionRefusedError:
                finish(s, "refused")
                end = time.monotonic()
                continue
            except OSError as e:
                errors[e.errno] = errors.get(e.errno, 0) + 1
                finish(s, "error")
                end = time.monotonic()
                continue
            if chunk:
                data[s] += chunk
                if hold and data[s] == expect:
                    keep(s)
                    end = time.monotonic()
                continue
            got = data[s]
            good = http_ok(got, expect) if http else got in counts
            if good and not http:
                counts[got] += 1
            finish(s, "ok" if good else "other" if got else "eof")
            end = time.monotonic()
        if rate:
            open_more()
    for s in list(data):
        finish(s, "timeout")
        end = time.monotonic()
    late = False
    if until is not None:
        # the flow's size is what was opened; FILE not there by the deadline is a failure
        late = not stopped[0] and opened[0] < count
        if late:
            sys.stderr.write("burst_client.py: %s did not appear within %g s\n"
                             % (until, limit))
        count = opened[0]
    # with --concurrency, connections never opened before the deadline count as timed out
    results["timeout"] += count - opened[0]

    print("burst: count=%d %s seconds=%.3f" % (
        count, " ".join("%s=%d" % kv for kv in results.items()), end - start))
    if tally:
        print("burst: tally " + " ".join(str(counts[a]) for a in answers))
    if errors:
        print("burst: errors: " + ", ".join(
            "%s x%d" % (errno.errorcode.get(k, k), v) for k, v in errors.items()))
    sys.stdout.flush()
    if hold:
        rc = release(held, limit)
        return rc if results["ok"] == count and not late else 1
    return 0 if results["ok"] == count and not late else 1


def release(held, limit):
    """--hold: watch the held connections until stdin says so, then close each cleanly."""
    print("burst: holding %d" % len(held))
    sys.stdout.flush()
    out = dict.fromkeys(("closed", "lost", "reset", "other", "error", "timeout"), 0)
    sel = selectors.DefaultSelector()
    for s in held:
        sel.register(s, selectors.EVENT_READ)
    try:
        sel.register(sys.stdin, selectors.EVENT_READ)
    except (ValueError, OSError):
        pass  # stdin closed or not pollable: release at once
    else:
        deadline = time.monotonic() + limit
        waiting = True
        while waiting and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=min(1.0, max(0.0, deadline - time.monotonic()))):
                if key.fileobj is sys.stdin:
                    waiting = False
                    continue
                # a held connection woke up: data, EOF or an error while it should be idle
                s = key.fileobj
                sel.unregister(s)
                s.close()
                held.remove(s)
                out["lost"] += 1
        sel.unregister(sys.stdin)
    start = time.monotonic()
    end = start
    data = {}
    for s in held:
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        data[s] = b""
    deadline = start + limit
    while data and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=min(1.0, max(0.0, deadline - time.monotonic()))):
            s = key.fileobj
            try:
                chunk = s.recv(4096)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                what = "reset"
            except OSError:
                what = "error"
            else:
                if chunk:
                    data[s] += chunk
                    continue
                what = "other" if data[s] else "closed"
            out[what] += 1
            sel.unregister(s)
            s.close()
            del data[s]
            end = time.monotonic()
    for s in list(data):
        out["timeout"] += 1
        s.close()
        end = time.monotonic()
    print("burst: released=%d %s seconds=%.3f" % (
        len(held), " ".join("%s=%d" % kv for kv in out.items()), end - start))
    sys.stdout.flush()
    return 0 if out["closed"] == len(held) and out["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
