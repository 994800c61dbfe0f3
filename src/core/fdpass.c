/* fdpass.c - the wire protocol: one datagram, payload "\0" (and, for a connection a PROXY
 * header named the addresses of, those addresses), one fd in SCM_RIGHTS.
 * The receive side trusts nothing: whatever arrives beyond the one fd is closed. */
#include "fdpass.h"
#include "fddrop.h"
#include "ids.h"

#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Room for the most fds the kernel passes in one message (SCM_MAX_FD). */
#define FDPASS_MAX_FDS 253

/* The payload for addrs: FDPASS_ADDRS_LEN bytes. */
static void fdpass_addrs_write(unsigned char *p, const struct fdpass_addrs *a)
{
	p[0] = '\0';
	memcpy(p + 1, FDPASS_ADDRS_MAGIC, 4);
	memcpy(p + 5, &a->local, 16);
	p[21] = (unsigned char)(a->local_port >> 8);
	p[22] = (unsigned char)a->local_port;
	memcpy(p + 23, &a->remote, 16);
	p[39] = (unsigned char)(a->remote_port >> 8);
	p[40] = (unsigned char)a->remote_port;
}

static bool fdpass_addrs_read(const unsigned char *p, size_t len, struct fdpass_addrs *a)
{
	if (len != FDPASS_ADDRS_LEN || p[0] != '\0' || memcmp(p + 1, FDPASS_ADDRS_MAGIC, 4) != 0)
		return false;
	a->set = true;
	memcpy(&a->local, p + 5, 16);
	a->local_port = (uint16_t)(p[21] << 8 | p[22]);
	memcpy(&a->remote, p + 23, 16);
	a->remote_port = (uint16_t)(p[39] << 8 | p[40]);
	return true;
}

int fdpass_send_addrs(int sock, int fd, int flags, const struct fdpass_addrs *addrs)
{
	unsigned char payload[FDPASS_ADDRS_LEN];

	if (addrs == NULL || !addrs->set)
		return fdpass_send(sock, fd, flags);
	fdpass_addrs_write(payload, addrs);
	return fdpass_send_data(sock, fd, payload, sizeof(payload), flags);
}

int fdpass_send_registered(int sock, int fd, int flags, const struct fdpass_addrs *addrs)
{
	unsigned char payload[3 + FDPASS_ADDRS_LEN] = {3};
	size_t len = 4;

	if (addrs != NULL && addrs->set) {
		fdpass_addrs_write(payload + 3, addrs);
		len = sizeof(payload);
	}
	return fdpass_send_data(sock, fd, payload, len, flags);
}

union fdpass_control {
	char buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

/* msg carrying data and fd (none when -1), in iov and control. */
static void fdpass_message(struct msghdr *msg, struct iovec *iov, union fdpass_control *control,
			   int fd, const void *data, size_t len)
{
	struct cmsghdr *cmsg;

	*iov = (struct iovec){.iov_base = (void *)data, .iov_len = len};
	*msg = (struct msghdr){.msg_iov = iov, .msg_iovlen = 1};
	if (fd < 0)
		return;
	memset(control, 0, sizeof(*control));
	msg->msg_control = control->buf;
	msg->msg_controllen = sizeof(control->buf);
	cmsg = CMSG_FIRSTHDR(msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
}

int fdpass_send_batch(int sock, const int *fds, const struct fdpass_addrs *addrs, unsigned n,
		      int flags)
{
	struct mmsghdr msgs[FDPASS_BATCH_MAX];
	struct iovec iovs[FDPASS_BATCH_MAX];
	union fdpass_control controls[FDPASS_BATCH_MAX];
	unsigned char payloads[FDPASS_BATCH_MAX][FDPASS_ADDRS_LEN];
	int sent;

	if (n > FDPASS_BATCH_MAX)
		n = FDPASS_BATCH_MAX;
	for (unsigned i = 0; i < n; i++) {
		size_t len = 1;

		payloads[i][0] = '\0';
		if (addrs[i].set) {
			fdpass_addrs_write(payloads[i], &addrs[i]);
			len = FDPASS_ADDRS_LEN;
		}
		fdpass_message(&msgs[i].msg_hdr, &iovs[i], &controls[i], fds[i], payloads[i], len);
		msgs[i].msg_len = 0;
	}
	do
		sent = sendmmsg(sock, msgs, n, MSG_NOSIGNAL | flags);
	while (sent < 0 && errno == EINTR);
	return sent;
}

int fdpass_send_data(int sock, int fd, const void *data, size_t len, int flags)
{
	union fdpass_control control;
	struct iovec iov;
	struct msghdr msg;

	fdpass_message(&msg, &iov, &control, fd, data, len);
	for (;;) {
		if (sendmsg(sock, &msg, MSG_NOSIGNAL | flags) >= 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

int fdpass_send(int sock, int fd, int flags)
{
	return fdpass_send_data(sock, fd, "", 1, flags);
}

size_t fdpass_collect(struct msghdr *msg, int *fds, size_t max)
{
	size_t n = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		size_t k = c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS ?
				   (c->cmsg_len - CMSG_LEN(0)) / sizeof(int) : 0;

		for (size_t i = 0; i < k; i++) {
			int one;

			memcpy(&one, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (n < max)
				fds[n] = one;
			else
				fddrop(one);
			n++;
		}
	}
	return n;
}

/* Two system calls per descriptor, on every hand-off: the type, then the peer's address,
 * which says both that the socket is connected and its family (SO_DOMAIN was a third). */
const char *fdpass_check_socket(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(int);
	int type;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return errno == ENOTSOCK ? "descriptor is not a socket" : "getsockopt failed";
	if (type != SOCK_STREAM)
		return "socket is not a stream socket";
	len = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return "socket is not connected";
	if (ss.ss_family != AF_INET6 && ss.ss_family != AF_INET && ss.ss_family != AF_UNIX)
		return "socket family is not AF_INET6, AF_INET or AF_UNIX";
	return NULL;
}

int fdpass_senders_add(struct fdpass_senders *s, const char *user)
{
	uid_t uid;

	if (s->n == FDPASS_MAX_SENDERS || ids_user(user, &uid, NULL) < 0)
		return -1;
	s->uids[s->n++] = uid;
	return 0;
}

/* Whether the sender may hand us descriptors; if not, why says so. */
static bool fdpass_sender_ok(const struct fdpass_senders *senders, const struct ucred *cred,
			     char why[FDPASS_WHY_MAX])
{
	if (senders == NULL || senders->n == 0)
		return true;
	if (cred == NULL) {
		snprintf(why, FDPASS_WHY_MAX, "sender credentials missing");
		return false;
	}
	for (unsigned i = 0; i < senders->n; i++)
		if (senders->uids[i] == cred->uid)
			return true;
	snprintf(why, FDPASS_WHY_MAX, "sender uid %u is not allowed", (unsigned)cred->uid);
	return false;
}

int fdpass_recv_from(int sock, int *fd, int opts, const struct fdpass_senders *senders,
		     char why[FDPASS_WHY_MAX])
{
	struct fdpass_addrs ignored;

	return fdpass_recv_addrs(sock, fd, opts, senders, &ignored, why);
}

/* One NUL byte, or {3, 0, 0, 0} from socketbox to a registered applet; either may go on
 * with the addresses, whose block begins with that last NUL. */
static bool fdpass_payload_ok(const unsigned char *p, size_t n, int opts, struct fdpass_addrs *a)
{
	bool registered = opts & FDPASS_REGISTERED;
	size_t head = registered ? 4 : 1;

	if (n < head || memcmp(p, registered ? "\3\0\0\0" : "", head) != 0)
		return false;
	return n == head || fdpass_addrs_read(p + head - 1, n - head + 1, a);
}

int fdpass_recv_addrs(int sock, int *fd, int opts, const struct fdpass_senders *senders,
		      struct fdpass_addrs *addrs, char why[FDPASS_WHY_MAX])
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * FDPASS_MAX_FDS) +
			 CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} control;
	struct ucred cred, *have_cred = NULL;
	int fds[FDPASS_MAX_FDS];
	size_t nfds = 0;
	const char *bad = NULL;
	unsigned char payload[64];
	struct iovec iov = {.iov_base = payload, .iov_len = sizeof(payload)};
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *cmsg;
	ssize_t n;

	why[0] = '\0';
	addrs->set = false;
	do
		n = recvmsg(sock, &msg,
			    MSG_CMSG_CLOEXEC | ((opts & FDPASS_WAIT) ? 0 : MSG_DONTWAIT));
	while (n < 0 && errno == EINTR && !(opts & FDPASS_WAIT));
	if (n < 0)
		return -1;

	/* Every descriptor that arrived, from every SCM_RIGHTS message, and the sender. */
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		size_t k;

		if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_CREDENTIALS &&
		    cmsg->cmsg_len >= CMSG_LEN(sizeof(cred))) {
			memcpy(&cred, CMSG_DATA(cmsg), sizeof(cred));
			have_cred = &cred;
			continue;
		}
		if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int one;

			memcpy(&one, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
			if (nfds < FDPASS_MAX_FDS)
				fds[nfds++] = one;
			else
				fddrop(one); /* the kernel passes no more than that: never here */
		}
	}

	if ((opts & FDPASS_REGISTERED) && n == 0 && nfds == 0 && !(msg.msg_flags & MSG_CTRUNC)) {
		errno = ECONNRESET;
		return -1;
	}
	/* Who sent it comes first: nothing from a refused sender is looked at. */
	if (msg.msg_flags & MSG_CTRUNC)
		bad = "control data truncated";
	else if (!fdpass_sender_ok(senders, have_cred, why))
		bad = why;
	else if (nfds == 0)
		bad = "no descriptor";
	else if (nfds > 1)
		bad = "more than one descriptor";
	else if ((msg.msg_flags & MSG_TRUNC) ||
		 !fdpass_payload_ok(payload, (size_t)n, opts, addrs))
		bad = opts & FDPASS_REGISTERED ? "payload is not {3, 0, 0, 0}"
					       : "payload is not one NUL byte";
	else if (!(opts & FDPASS_ANY_FD))
		bad = fdpass_check_socket(fds[0]);

	if (bad != NULL) {
		addrs->set = false;
		if (bad != why)
			snprintf(why, FDPASS_WHY_MAX, "%s", bad);
		for (size_t i = 0; i < nfds; i++)
			fddrop(fds[i]);
		return 0;
	}
	*fd = fds[0];
	return 1;
}
