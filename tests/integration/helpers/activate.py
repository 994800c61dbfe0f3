#!/usr/bin/python3
"""Socket activation and readiness the way systemd does them, for one test.

activate.py PORT SOCKETBOX_ARGS...: binds [::1]:PORT, starts socketbox with the listener as
fd 3 (LISTEN_FDS=1, LISTEN_PID=its pid) and NOTIFY_SOCKET pointing at a datagram socket
of ours; prints what arrives on the notify socket ("READY=1") and the pid, then waits for
socketbox to exit and prints its status."""
import os
import socket
import sys
import tempfile

port = int(sys.argv[1])
args = sys.argv[2:]
lst = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lst.bind(("::1", port))
lst.listen(64)
notify_path = os.path.join(tempfile.mkdtemp(), "notify")
notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
notify.bind(notify_path)
notify.settimeout(30)  # a cap for a slow start; READY=1 ends the wait

pid = os.fork()
if pid == 0:
    if lst.fileno() != 3:
        os.dup2(lst.fileno(), 3)
    os.set_inheritable(3, True)
    env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID=str(os.getpid()),
               NOTIFY_SOCKET=notify_path)
    os.execve(args[0], args, env)

lst.close()
print("notify:", notify.recv(256).decode(), flush=True)
print("pid:", pid, flush=True)
_, status = os.waitpid(pid, 0)
print("notify:", notify.recv(256).decode(), flush=True)
print("exit:", os.waitstatus_to_exitcode(status), flush=True)
