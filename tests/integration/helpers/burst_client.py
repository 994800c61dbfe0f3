#!/usr/bin/python3
"""burst_client.py [--send TEXT [--shutdown]] [--http] ADDR PORT COUNT EXPECT [TIMEOUT]

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

Options (for request/response servers such as nginx):
  --send TEXT  once a connection is established, send TEXT on it (backslash escapes such as
               \\r and \\n are decoded); the connection is not half-closed, unless:
  --shutdown   after sending, shut the sending direction down (for echo servers)
  --http       the answer is an HTTP response: ok means a status line "HTTP/1.x 200" and,
               after the header, a body that is exactly EXPECT

Prints one line "burst: count=N ok=N other=N eof=N reset=N refused=N error=N timeout=N
seconds=S.SSS" (S: from the first connect until the last connection ended) and exits 0 when
every connection was ok, 1 otherwise. The first unexpected answer is shown on stderr.
"""
import errno
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
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt == "--send" and args:
            request = args.pop(0).encode("latin-1").decode("unicode_escape").encode("latin-1")
        elif opt == "--http":
            http = True
        elif opt == "--shutdown":
            shutdown = True
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
    limit = float(args[4]) if len(args) == 5 else 60.0

    need = count + 64
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

    start = time.monotonic()
    for _ in range(count):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setblocking(False)
        rc = s.connect_ex((host, port))
        data[s] = b""
        if rc not in (0, errno.EINPROGRESS):
            errors[rc] = errors.get(rc, 0) + 1
            results["refused" if rc == errno.ECONNREFUSED else "error"] += 1
            s.close()
            del data[s]
            continue
        # readable once an answer, EOF or an error (refused, reset) is there; with a
        # request to send, writable first, once the handshake is over (or failed)
        sel.register(s, selectors.EVENT_READ if request is None else selectors.EVENT_WRITE)
    deadline = start + limit
    end = start
    while data:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for key, _ in sel.select(timeout=min(left, 1.0)):
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
                continue
            got = data[s]
            good = http_ok(got, expect) if http else got == expect
            finish(s, "ok" if good else "other" if got else "eof")
            end = time.monotonic()
    for s in list(data):
        finish(s, "timeout")
        end = time.monotonic()

    print("burst: count=%d %s seconds=%.3f" % (
        count, " ".join("%s=%d" % kv for kv in results.items()), end - start))
    if errors:
        print("burst: errors: " + ", ".join(
            "%s x%d" % (errno.errorcode.get(k, k), v) for k, v in errors.items()))
    sys.stdout.flush()
    return 0 if results["ok"] == count else 1


if __name__ == "__main__":
    sys.exit(main())
