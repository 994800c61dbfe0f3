#!/usr/bin/python3
"""burst_client.py ADDR PORT COUNT EXPECT [TIMEOUT]

Opens COUNT TCP connections to ADDR:PORT at once (non-blocking connects issued back to back,
before any answer is read), reads each one to EOF and classifies it:

  ok       the connection delivered exactly EXPECT (a newline is appended) and then EOF
  other    it delivered something else
  eof      clean close without any data
  reset    ECONNRESET (at connect time or while reading), without data
  refused  ECONNREFUSED
  error    any other error
  timeout  still open when TIMEOUT seconds (default 60) have passed since the first connect

Prints one line "burst: count=N ok=N other=N eof=N reset=N refused=N error=N timeout=N
seconds=S.SSS" (S: from the first connect until the last connection ended) and exits 0 when
every connection was ok, 1 otherwise.
"""
import errno
import resource
import selectors
import socket
import sys
import time


def main():
    if len(sys.argv) not in (5, 6):
        sys.stderr.write(__doc__)
        return 2
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    expect = (sys.argv[4] + "\n").encode()
    limit = float(sys.argv[5]) if len(sys.argv) == 6 else 60.0

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

    def finish(s, what):
        results[what] += 1
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
        # readable once an answer, EOF or an error (refused, reset) is there
        sel.register(s, selectors.EVENT_READ)
    deadline = start + limit
    end = start
    while data:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for key, _ in sel.select(timeout=min(left, 1.0)):
            s = key.fileobj
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
            finish(s, "ok" if got == expect else "other" if got else "eof")
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
