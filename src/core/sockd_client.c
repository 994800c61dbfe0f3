/* sockd_client.c - one request to socketbox-sockd, one reply, maybe one descriptor */
#include "sockd_client.h"
#include "addr.h"
#include "fdpass.h"
#include "unixsock.h"

#include <errno.h>
#include <string.h>
#include <poll.h>
#include <time.h>
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
		n = recvmsg(s, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
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

int sockd_request_start(const char *path, int op, const struct sockaddr *sa, socklen_t len,
			int type, int flags)
{
	struct sockd_request req = {.op = (uint8_t)op, .flags = (uint8_t)flags};
	struct sockaddr_un sun;
	uint8_t buf[SOCKD_REQ_LEN];
	socklen_t sunlen;
	int s = -1, saved;

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
	    (s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		goto fail;
	/* A UNIX connect is complete at once, or EAGAIN when the backlog is full. */
	while (connect(s, (struct sockaddr *)&sun, sunlen) < 0)
		if (errno != EINTR)
			goto fail;
	sockd_request_encode(&req, buf);
	/* The server's new socket has an empty queue: the request goes in whole. */
	while (send(s, buf, sizeof(buf), MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			goto fail;
	return s;
fail:
	/* No server: as if there were no route, since the server is the only way out. */
	saved = errno == EAGAIN ? EAGAIN : ENETUNREACH;
	if (s >= 0)
		close(s);
	errno = saved;
	return -1;
}

int sockd_reply_take(int s)
{
	struct sockd_reply rep;
	int fd;

	if (sockd_client_recv(s, &rep, &fd) < 0) {
		if (errno != EAGAIN)
			errno = ENETUNREACH; /* closed or garbled: no answer */
		return -1;
	}
	if (rep.status != SOCKD_OK)
		errno = sockd_status_errno(&rep);
	return fd;
}

static long sockd_ms_left(const struct timespec *end)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (end->tv_sec - now.tv_sec) * 1000 + (end->tv_nsec - now.tv_nsec) / 1000000;
}

/* The blocking exchange: start, wait for the reply, at most SOCKD_CLIENT_TIMEOUT seconds
 * in all (a full backlog is tried again every 10 ms). */
static int sockd_request(const char *path, int op, const struct sockaddr *sa, socklen_t len,
			 int type, int flags)
{
	struct timespec end, pause = {.tv_nsec = 10 * 1000 * 1000};
	struct pollfd p = {.fd = -1, .events = POLLIN};
	int fd = -1, saved;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += SOCKD_CLIENT_TIMEOUT;
	while ((p.fd = sockd_request_start(path, op, sa, len, type, flags)) < 0 &&
	       errno == EAGAIN && sockd_ms_left(&end) > 0)
		nanosleep(&pause, NULL);
	if (p.fd < 0)
		goto out;
	while ((fd = sockd_reply_take(p.fd)) < 0 && errno == EAGAIN && sockd_ms_left(&end) > 0)
		if (poll(&p, 1, (int)sockd_ms_left(&end)) < 0 && errno != EINTR)
			break;
out:
	if (fd < 0 && (errno == EAGAIN || errno == EINTR))
		errno = ENETUNREACH; /* no answer in time */
	saved = errno;
	if (p.fd >= 0)
		close(p.fd);
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
