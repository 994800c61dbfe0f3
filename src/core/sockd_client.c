/* sockd_client.c - one request to socketbox-sockd, one reply, maybe one descriptor */
#include "sockd_client.h"
#include "addr.h"
#include "fdpass.h"
#include "unixsock.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

/* The reply and its descriptor (-1 when none came). Anything more is closed. */
static int sockd_client_recv(int s, struct sockd_reply *rep, int *fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} control;
	uint8_t buf[SOCKD_REP_LEN + 1];
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf)};
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(s, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (fdpass_collect(&msg, fd, 1) == 0)
		*fd = -1;
	if (sockd_reply_parse(buf, (size_t)n, rep) < 0 || (rep->status == SOCKD_OK) != (*fd >= 0)) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		errno = EPROTO;
		return -1;
	}
	return 0;
}

static int sockd_status_errno(const struct sockd_reply *rep)
{
	switch (rep->status) {
	case SOCKD_EBADREQ: return EINVAL;
	case SOCKD_EDENIED: return EACCES;
	default: return rep->err > 0 && rep->err < 4096 ? (int)rep->err : EIO;
	}
}

static int sockd_request(const char *path, uint8_t op, const struct sockaddr *sa, socklen_t len,
			 int type, int flags)
{
	struct timeval tv = {.tv_sec = SOCKD_CLIENT_TIMEOUT};
	struct sockd_request req = {.op = op, .flags = (uint8_t)flags};
	struct sockd_reply rep;
	struct sockaddr_un sun;
	uint8_t buf[SOCKD_REQ_LEN];
	socklen_t sunlen;
	int s = -1, fd = -1, saved;
	bool answered = false;

	if ((sa->sa_family == AF_INET && len < sizeof(struct sockaddr_in)) ||
	    (sa->sa_family == AF_INET6 && len < sizeof(struct sockaddr_in6)) ||
	    addr_from_sockaddr(sa, &req.addr, &req.port) < 0 ||
	    (type != SOCK_STREAM && type != SOCK_DGRAM)) {
		errno = EINVAL;
		return -1;
	}
	req.proto = type == SOCK_STREAM ? SOCKD_TCP : SOCKD_UDP;
	if (sa->sa_family == AF_INET6)
		req.flags |= SOCKD_F_INET6; /* the family the caller has, for a mapped address */
	if (unixsock_addr(path, &sun, &sunlen) < 0 ||
	    (s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
		goto out;
	/* A server that does not answer cannot hold the caller forever. */
	if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		goto out;
	while (connect(s, (struct sockaddr *)&sun, sunlen) < 0)
		if (errno != EINTR)
			goto out;
	sockd_request_encode(&req, buf);
	while (send(s, buf, sizeof(buf), MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			goto out;
	if (sockd_client_recv(s, &rep, &fd) < 0)
		goto out;
	if (rep.status != SOCKD_OK)
		errno = sockd_status_errno(&rep);
	answered = true;
out:
	/* No answer: as if there were no route, since the server is the only way out. */
	if (!answered)
		errno = ENETUNREACH;
	saved = errno;
	if (s >= 0)
		close(s);
	errno = saved;
	return fd;
}

int sockd_connect(const char *path, const struct sockaddr *dst, socklen_t len, int type)
{
	return sockd_request(path, SOCKD_CONNECT, dst, len, type, 0);
}

int sockd_bind(const char *path, const struct sockaddr *addr, socklen_t len, int type, int flags)
{
	return sockd_request(path, SOCKD_BIND, addr, len, type, flags);
}
