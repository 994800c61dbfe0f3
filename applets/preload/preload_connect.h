/* preload_connect.h - connect() redirection of libsocketbox-preload.so (SOCKETBOX_CONNECT):
 * a TCP connect to a listed destination becomes a connection to a UNIX stream socket, in
 * place, while the program goes on seeing the address it asked for. */
#ifndef SB_PRELOAD_CONNECT_H
#define SB_PRELOAD_CONNECT_H

#include <stdbool.h>
#include <sys/socket.h>

/* Reads SOCKETBOX_CONNECT (the value, or NULL when unset). */
void preload_connect_init(const char *value);

/* For getpeername(): true when fd was redirected; the address the program connected to
 * is copied out as getpeername would. */
bool preload_connect_peer(int fd, struct sockaddr *addr, socklen_t *lenp);

/* For getsockname(): true when fd was redirected; an unspecified address of the family
 * the program used, port 0, is copied out (the UNIX socket has no such address). */
bool preload_connect_local(int fd, struct sockaddr *addr, socklen_t *lenp);

/* For setsockopt()/getsockopt(): whether fd was redirected (TCP-level options then do
 * nothing and read as 0: they mean nothing on a UNIX socket). */
bool preload_connect_redirected(int fd);

/* For close(): fd is no longer redirected. */
void preload_connect_forget(int fd);

#endif
