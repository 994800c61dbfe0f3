/* preload_egress.h - the way out of libsocketbox-preload.so (SOCKETBOX_EGRESS and
 * SOCKETBOX_XBIND): TCP connects that SOCKETBOX_CONNECT does not map, and binds of the
 * XBIND ports, get their socket from socketbox-sockd(8) in the namespace with the
 * network; the socket is put in place of the program's with dup3. */
#ifndef SB_PRELOAD_EGRESS_H
#define SB_PRELOAD_EGRESS_H

#include <stdbool.h>
#include <sys/socket.h>

/* Reads SOCKETBOX_EGRESS and SOCKETBOX_XBIND (the values, or NULL when unset). */
void preload_egress_init(const char *sock, const char *xbind);

/* Whether TCP connects go through socketbox-sockd (SOCKETBOX_EGRESS is set). */
bool preload_egress_active(void);

/* Connects fd (an AF_INET or AF_INET6 stream socket) to addr through socketbox-sockd,
 * with connect()'s results: 0, or -1 with EINPROGRESS for a non-blocking fd; EACCES when
 * the policy refuses; ENETUNREACH when socketbox-sockd cannot be reached. A socket that is
 * already connecting or connected, or an address of another family, goes to
 * real_connect. */
int preload_egress_connect(int fd, const struct sockaddr *addr, socklen_t len,
			   int (*real_connect)(int, const struct sockaddr *, socklen_t));

/* bind() for an XBIND port through socketbox-sockd (a TCP socket comes back listening);
 * any other bind goes to real_bind. */
int preload_egress_bind(int fd, const struct sockaddr *addr, socklen_t len,
			int (*real_bind)(int, const struct sockaddr *, socklen_t));

/* preload.c: puts sock in fd's place, keeping fd's O_NONBLOCK and FD_CLOEXEC. */
int preload_swap(int fd, int sock);

#endif
