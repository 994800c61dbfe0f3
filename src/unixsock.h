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

/* A non-blocking, close-on-exec datagram socket connected to path. */
int unixsock_connect_dgram(const char *path);

#endif
