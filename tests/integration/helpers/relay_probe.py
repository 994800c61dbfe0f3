#!/usr/bin/python3
"""relay_probe.py [--send TEXT] [--every S] [--for S] [--timeout S] [--stagger S] [--count N]
                  ADDR PORT

Connects to ADDR:PORT (TCP; ADDR with ":" is IPv6) and watches how the connection ends.
With --send, TEXT (backslash escapes decoded) is sent at once and, with --every S, again
every S seconds until --for S seconds have passed (then the connection only waits).
Everything received is counted. The connection ends when the peer closes or resets it, or
after --timeout seconds (default 10) since the connect.

With --count N, N connections are made, the k-th (from 0) --stagger S * k seconds after the
first, and watched at the same time (one line each, in the order they were made).

One line per connection on stdout:
    probe K OUTCOME seconds=S idle=I bytes=B quiet=Q
OUTCOME: reset (ECONNRESET, also when connect() itself was reset), eof (clean close),
refused (ECONNREFUSED), timeout (still open at --timeout), error:NAME. seconds: from the
connect until the end; idle: from the last byte sent or received (or the connect) until the
end; quiet: from the last byte sent (or the connect) until the end. Through a relay, quiet is
never shorter than the time the relay itself saw no traffic before it closed, however late
this process gets to read what comes back (idle can be, on a busy machine: it starts only
when this process has read the last answer). Exit status 0 (also for outcomes such as
reset; the caller judges them).
"""
import errno
import selectors
import socket
import sys
import time


def main():
    args = sys.argv[1:]
    opts = {"send": None, "every": 0.0, "for": 0.0, "timeout": 10.0, "stagger": 0.0, "count": 1}
    while args and args[0].startswith("--"):
        o = args.pop(0)[2:]
        if o not in opts or not args:
            sys.stderr.write(__doc__)
            return 2
        v = args.pop(0)
        if o == "send":
            opts[o] = v.encode("latin-1").decode("unicode_escape").encode("latin-1")
        elif o == "count":
            opts[o] = int(v)
        else:
            opts[o] = float(v)
    if len(args) != 2:
        sys.stderr.write(__doc__)
        return 2
    host, port = args[0].strip("[]"), int(args[1])
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET

    sel = selectors.DefaultSelector()
    conns = []
    t0 = time.monotonic()

    def finish(c, outcome):
        now = time.monotonic()
        c["outcome"] = outcome
        c["seconds"] = now - c["start"]
        c["idle"] = now - c["last"]
        c["quiet"] = now - c["sent"]
        if c["sock"] is not None:
            try:
                sel.unregister(c["sock"])
            except (KeyError, ValueError):
                pass
            c["sock"].close()
            c["sock"] = None

    def start(k):
        s = socket.socket(fam, socket.SOCK_STREAM)
        now = time.monotonic()
        c = {"k": k, "sock": s, "start": now, "last": now, "sent": now, "bytes": 0,
             "outcome": None, "next_send": None}
        conns.append(c)
        s.settimeout(opts["timeout"])
        try:
            s.connect((host, port))
        except ConnectionResetError:
            finish(c, "reset")
            return
        except ConnectionRefusedError:
            finish(c, "refused")
            return
        except socket.timeout:
            finish(c, "timeout")
            return
        except OSError as e:
            finish(c, "error:" + errno.errorcode.get(e.errno, str(e.errno)))
            return
        s.setblocking(False)
        c["start"] = c["last"] = c["sent"] = time.monotonic()
        if opts["send"] is not None:
            c["next_send"] = c["start"]
        sel.register(s, selectors.EVENT_READ, c)

    next_k = 0
    while True:
        now = time.monotonic()
        if next_k < opts["count"] and now >= t0 + next_k * opts["stagger"]:
            start(next_k)
            next_k += 1
            continue
        live = [c for c in conns if c["outcome"] is None]
        if not live and next_k >= opts["count"]:
            break
        wake = [t0 + next_k * opts["stagger"]] if next_k < opts["count"] else []
        for c in live:
            if now - c["start"] >= opts["timeout"]:
                finish(c, "timeout")
                continue
            wake.append(c["start"] + opts["timeout"])
            if c["next_send"] is not None and now >= c["next_send"]:
                try:
                    c["sock"].send(opts["send"])
                    c["last"] = c["sent"] = now
                except ConnectionResetError:
                    finish(c, "reset")
                    continue
                except BlockingIOError:
                    pass
                except OSError as e:
                    finish(c, "error:" + errno.errorcode.get(e.errno, str(e.errno)))
                    continue
                nxt = now + opts["every"] if opts["every"] > 0 else None
                if nxt is not None and nxt - c["start"] > opts["for"]:
                    nxt = None
                c["next_send"] = nxt
            if c["next_send"] is not None:
                wake.append(c["next_send"])
        if not any(c["outcome"] is None for c in conns) and next_k >= opts["count"]:
            break
        timeout = max(0.0, min(wake) - time.monotonic()) if wake else 0.1
        for key, _ in sel.select(timeout=timeout):
            c = key.data
            try:
                d = c["sock"].recv(65536)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                finish(c, "reset")
                continue
            except OSError as e:
                finish(c, "error:" + errno.errorcode.get(e.errno, str(e.errno)))
                continue
            if not d:
                finish(c, "eof")
                continue
            c["bytes"] += len(d)
            c["last"] = time.monotonic()

    for c in conns:
        print("probe %d %s seconds=%.3f idle=%.3f bytes=%d quiet=%.3f" % (
            c["k"], c["outcome"], c["seconds"], c["idle"], c["bytes"], c["quiet"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
