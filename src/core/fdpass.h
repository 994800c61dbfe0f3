/* fdpass.h - the wire protocol: one datagram, payload "\0", one fd in SCM_RIGHTS */
#ifndef SB_FDPASS_H
#define SB_FDPASS_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Sends fd over sock as one datagram. flags are added to MSG_NOSIGNAL (e.g. MSG_DONTWAIT).
 * Returns 0, or -1 with errno set by sendmsg. */
int fdpass_send(int sock, int fd, int flags);

/* The same with len bytes of data as the payload, and no descriptor when fd is -1 (the
 * replies of socketbox-sockd). */
int fdpass_send_data(int sock, int fd, const void *data, size_t len, int flags);

/* What fdpass_recv_from accepts: by default only connected stream sockets of AF_INET6,
 * AF_INET or AF_UNIX. FDPASS_ANY_FD skips that check. */
#define FDPASS_ANY_FD 0x1
/* Wait for a datagram (a blocking recvmsg, without MSG_DONTWAIT). A signal then ends the
 * wait with EINTR unless its handler has SA_RESTART, as for accept(). */
#define FDPASS_WAIT 0x2

/* Room for the reason a message was dropped, in the caller's buffer: the receive path runs
 * in threaded daemons (the preload library), so it keeps no static buffer. */
#define FDPASS_WHY_MAX 64

/* Who may hand us descriptors: with a list, every datagram must carry the sender's
 * credentials (the socket needs SO_PASSCRED, see unixsock_passcred) and come from one of
 * these uids; anything else is dropped. */
#define FDPASS_MAX_SENDERS 16
struct fdpass_senders {
	uid_t uids[FDPASS_MAX_SENDERS];
	unsigned n;
};

/* Adds a user name or a uid. Returns 0, or -1 (no such user, or the list is full). */
int fdpass_senders_add(struct fdpass_senders *s, const char *user);

/* Receives one datagram, from one of senders (anyone when NULL or empty). Returns 1 and
 * sets *fd (close-on-exec) to a usable descriptor, why set to ""; returns 0 when the
 * datagram was malformed, came from another sender or carried an unacceptable descriptor:
 * every descriptor that arrived is closed and why says what was wrong; returns -1 with
 * errno on failure (EAGAIN when nothing is waiting on a non-blocking socket). */
int fdpass_recv_from(int sock, int *fd, int opts, const struct fdpass_senders *senders,
		     char why[FDPASS_WHY_MAX]);

/* The descriptors that arrived in msg's SCM_RIGHTS messages: the first max in fds, the
 * rest dropped (fddrop). Returns how many arrived. */
size_t fdpass_collect(struct msghdr *msg, int *fds, size_t max);

/* Why a descriptor is not acceptable, or NULL when it is (a connected stream socket of
 * AF_INET6, AF_INET or AF_UNIX). */
const char *fdpass_check_socket(int fd);

#endif
