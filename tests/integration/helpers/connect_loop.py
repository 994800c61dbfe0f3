"""Connect again and again, one connection at a time, until a stop file appears.

    /usr/bin/python3 connect_loop.py HOST PORT STOPFILE [PAUSE_SECONDS]

For every connection prints one line: "ok TEXT" (TEXT: what the server sent, stripped, until
it closed) or "fail WHY" (refused, reset, timeout, nothing sent...). Finally prints
"done N" with the number of connections made. Used by the reload test to prove that no
connection fails while the acceptor reloads its configuration.
"""
import os
import socket
import sys
import time


def one(host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(30)  # a cap: an answer that never comes fails, a slow one does not
    try:
        s.connect((host, port))
        data = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            data += d
    except OSError as e:
        return "fail %s" % (e.__class__.__name__,)
    finally:
        s.close()
    if not data:
        return "fail eof-without-data"
    return "ok " + data.decode("utf-8", "replace").strip()


def main():
    host, port, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    pause = float(sys.argv[4]) if len(sys.argv) > 4 else 0.02
    n = 0
    while not os.path.exists(stop):
        print(one(host, port), flush=True)
        n += 1
        time.sleep(pause)
    print("done %d" % n, flush=True)


main()
