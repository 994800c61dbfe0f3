/* sockd_client.h - the C client of socketbox-sockd(8): asks the server at a UNIX socket
 * path for a socket made in its network namespace. One short exchange per call (at most
 * SOCKD_CLIENT_TIMEOUT seconds), thread-safe, no state. */
#ifndef SB_SOCKD_CLIENT_H
#define SB_SOCKD_CLIENT_H

#include "sockd_proto.h"

#include <sys/socket.h>

#define SOCKD_CLIENT_TIMEOUT 10

/* A socket of type (SOCK_STREAM: TCP, SOCK_DGRAM: UDP) connected to dst (AF_INET or
 * AF_INET6). The connect may still be in progress (the socket is non-blocking): wait until
 * it is writable and read SO_ERROR. Returns the descriptor (close-on-exec), or -1 with
 * errno: EACCES when the policy refuses, EINVAL for a request the server cannot take, what
 * socket() or connect() said in the server, or ENETUNREACH when the server cannot be
 * reached or does not answer (it is the only way out). */
int sockd_connect(const char *path, const struct sockaddr *dst, socklen_t len, int type);

/* A socket of type bound to addr (a TCP socket already listening), blocking. flags:
 * SOCKD_F_V6ONLY. Returns the descriptor or -1 with errno, as sockd_connect. */
int sockd_bind(const char *path, const struct sockaddr *addr, socklen_t len, int type,
	       int flags);

#endif
