/* sockd_client.h - the C client of socketbox-sockd(8): asks the server at a UNIX socket
 * path for a socket made in its network namespace. One short exchange per call (at most
 * SOCKD_CLIENT_TIMEOUT seconds), thread-safe, no state; or the same in two non-blocking
 * halves for an event loop. */
#ifndef SB_SOCKD_CLIENT_H
#define SB_SOCKD_CLIENT_H

#include "sockd_proto.h"

#include <sys/socket.h>

#define SOCKD_CLIENT_TIMEOUT 10

/* The non-blocking pair, for an event loop. sockd_request_start sends a request (op:
 * SOCKD_CONNECT or SOCKD_BIND, flags as for sockd_bind) and returns the non-blocking
 * SEQPACKET socket the reply comes on (close-on-exec): wait until it is readable, then
 * call sockd_reply_take and close it. -1 with errno: EAGAIN when the server's backlog is
 * full (try again later), EINVAL for a request it cannot take, ENETUNREACH when there is
 * no server. */
int sockd_request_start(const char *path, int op, const struct sockaddr *sa, socklen_t len,
			int type, int flags);

/* The socket the server sent on s, or -1 with errno: EAGAIN while the reply has not come,
 * else as sockd_connect. */
int sockd_reply_take(int s);

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
