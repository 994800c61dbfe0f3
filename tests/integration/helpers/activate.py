#!/usr/bin/python3
"""Socket activation and readiness the way systemd does them, for one test.

activate.py PORT SOCKETBOX_ARGS...: binds [::1]:PORT, starts socketbox with the listener as
fd 3 (LISTEN_FDS=1, LISTEN_PID=its pid) and NOTIFY_SOCKET pointing at a datagram socket
of ours; PORT may also be a list PORT:NAME,PORT:NAME,...: one listener each, from fd 3 on,
named in LISTEN_FDNAMES as systemd's FileDescriptorName= names them. It prints what
arrives on the notify socket ("READY=1") and the pid, then waits for socketbox to exit
and prints its status."""
import fcntl
import os
import socket
import sys
import tempfile

specs = [spec.split(":", 1) for spec in sys.argv[1].split(",")]
args = sys.argv[2:]
listeners = []
for spec in specs:
    lst = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("::1", int(spec[0])))
    lst.listen(64)
    listeners.append(lst)
notify_path = os.path.join(tempfile.mkdtemp(), "notify")
notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
notify.bind(notify_path)
notify.settimeout(30)  # a cap for a slow start; READY=1 ends the wait

pid = os.fork()
if pid == 0:
    # Out of the way of fds 3...: then each into its place.
    fds = [fcntl.fcntl(lst.fileno(), fcntl.F_DUPFD, 100) for lst in listeners]
    for i, fd in enumerate(fds):
        os.dup2(fd, 3 + i)
        os.set_inheritable(3 + i, True)
    env = dict(os.environ, LISTEN_FDS=str(len(listeners)), LISTEN_PID=str(os.getpid()),
               NOTIFY_SOCKET=notify_path)
    if len(specs[0]) > 1:
        env["LISTEN_FDNAMES"] = ":".join(spec[1] for spec in specs)
    os.execve(args[0], args, env)

for lst in listeners:
    lst.close()
print("notify:", notify.recv(256).decode(), flush=True)
print("pid:", pid, flush=True)
_, status = os.waitpid(pid, 0)
print("notify:", notify.recv(256).decode(), flush=True)
print("exit:", os.waitstatus_to_exitcode(status), flush=True)
