/* unixsock.h - UNIX datagram sockets by path ("/run/x.sock") or abstract name ("@x") */
#ifndef SB_UNIXSOCK_H
#define SB_UNIXSOCK_H

#include <sys/socket.h>
#include <sys/un.h>

/* Fills sun for path; a leading '@' names an abstract socket. -1 with ENAMETOOLONG or
 * EINVAL (empty). */
int unixsock_addr(const char *path, struct sockaddr_un *sun, socklen_t *len);

/* A non-blocking, close-on-exec datagram socket bound at path with the given mode. A stale
 * socket file (nobody receiving) is replaced; a live one or a file that is not a socket is
 * an error (EADDRINUSE, EEXIST). Returns the fd, or -1 with errno. */
int unixsock_bind_dgram(const char *path, unsigned mode);

/* The same for a socket of another type (SOCK_SEQPACKET for socketbox-sockd). The stale
 * check connects a datagram socket, which a live socket of any type refuses otherwise. */
int unixsock_bind(const char *path, int type, unsigned mode);

/* A listening stream socket (the stats socket), bound as above. */
int unixsock_listen_stream(const char *path, unsigned mode);

/* A non-blocking, close-on-exec datagram socket connected to path. */
int unixsock_connect_dgram(const char *path);

/* The same for a socket of another type (SOCK_SEQPACKET). A UNIX connect completes at
 * once or fails: EAGAIN means the listener's backlog is full. */
int unixsock_connect(const char *path, int type);

/* Gives the socket file at path to group (a name or a number), so that a socketbox running
 * in that group can connect while the mode stays 0660. -1 with errno (ENOENT: no group). */
int unixsock_set_group(const char *path, const char *group);

/* Asks the kernel to attach each sender's credentials to what arrives on fd. */
int unixsock_passcred(int fd);

#endif
