"""One TCP connection; say what happened, in one line.

    /usr/bin/python3 dial.py HOST PORT

Prints "answer TEXT" (everything the server sent until it closed, stripped), or one word:
"refused" (no handshake), "reset" (RST, also when it arrives while connect() is still
returning), "eof" (closed without data), "timeout" (30 s), or "error:TEXT".
"""
import socket
import sys

host, port = sys.argv[1], int(sys.argv[2])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(30)
data = b""
try:
    s.connect((host, port))
    while True:
        d = s.recv(4096)
        if not d:
            break
        data += d
except ConnectionRefusedError:
    print("refused")
    sys.exit(0)
except ConnectionResetError:
    print("reset" if not data else "answer " + data.decode("utf-8", "replace").strip())
    sys.exit(0)
except socket.timeout:
    print("timeout")
    sys.exit(0)
except OSError as e:
    print("error:%s" % e)
    sys.exit(0)
print("answer " + data.decode("utf-8", "replace").strip() if data else "eof")
