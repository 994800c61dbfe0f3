/* fdpass.h - the wire protocol: one datagram, payload "\0", one fd in SCM_RIGHTS */
#ifndef SB_FDPASS_H
#define SB_FDPASS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* The extension for a connection whose addresses are not its socket's (a PROXY protocol
 * header named them): the payload is the NUL byte, then "SBa1", the local address (16
 * bytes), port (2, big-endian), the remote address and port: 41 bytes. A receiver that
 * reads one byte sees the NUL byte it expects and loses the rest, so the original
 * socketbox's applets take the connection as ever (and see the balancer's address). */
#define FDPASS_ADDRS_MAGIC "SBa1"
#define FDPASS_ADDRS_LEN 41
struct fdpass_addrs {
	bool set; /* false: the socket's own addresses stand */
	struct in6_addr local, remote;
	uint16_t local_port, remote_port;
};

/* Sends fd over sock as one datagram. flags are added to MSG_NOSIGNAL (e.g. MSG_DONTWAIT).
 * Returns 0, or -1 with errno set by sendmsg. */
int fdpass_send(int sock, int fd, int flags);
/* The same, with the addresses after the NUL byte when addrs is set. */
int fdpass_send_addrs(int sock, int fd, int flags, const struct fdpass_addrs *addrs);

/* Sends n (at most FDPASS_BATCH_MAX) descriptors over sock in one sendmmsg, each in its own
 * datagram as fdpass_send_addrs would send it (addrs: n entries). Returns how many were
 * sent from the first on, or -1 with errno when not even the first was. */
#define FDPASS_BATCH_MAX 64
int fdpass_send_batch(int sock, const int *fds, const struct fdpass_addrs *addrs, unsigned n,
		      int flags);

/* Sends fd to a registered applet: {3, 0, 0, 0}, or with addrs set {3, 0, 0} and the 41
 * bytes of the datagram's payload (whose NUL is the fourth byte): the original socketbox's
 * registered applets read up to 128 bytes and look at none of them. */
int fdpass_send_registered(int sock, int fd, int flags, const struct fdpass_addrs *addrs);

/* The same with len bytes of data as the payload, and no descriptor when fd is -1 (the
 * replies of socketbox-sockd). */
int fdpass_send_data(int sock, int fd, const void *data, size_t len, int flags);

/* What fdpass_recv_from accepts: by default only connected stream sockets of AF_INET6,
 * AF_INET or AF_UNIX. FDPASS_ANY_FD skips that check. */
#define FDPASS_ANY_FD 0x1
/* Wait for a datagram (a blocking recvmsg, without MSG_DONTWAIT). A signal then ends the
 * wait with EINTR unless its handler has SA_RESTART, as for accept(). */
#define FDPASS_WAIT 0x2
/* A message of the registration protocol on a connected SOCK_SEQPACKET socket: payload
 * {0x03, 0, 0, 0} instead of one NUL byte, and the end of the connection (an empty read
 * without descriptors) is -1 with ECONNRESET rather than a dropped message. */
#define FDPASS_REGISTERED 0x4

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
/* The same, and the addresses the datagram carried in *addrs (addrs->set false when it
 * carried none). fdpass_recv_from accepts such datagrams too and ignores the addresses. */
int fdpass_recv_addrs(int sock, int *fd, int opts, const struct fdpass_senders *senders,
		      struct fdpass_addrs *addrs, char why[FDPASS_WHY_MAX]);

/* The descriptors that arrived in msg's SCM_RIGHTS messages: the first max in fds, the
 * rest dropped (fddrop). Returns how many arrived. */
size_t fdpass_collect(struct msghdr *msg, int *fds, size_t max);

/* Why a descriptor is not acceptable, or NULL when it is (a connected stream socket of
 * AF_INET6, AF_INET or AF_UNIX). */
const char *fdpass_check_socket(int fd);

#endif
