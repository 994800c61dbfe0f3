/* benchsrv.c - the servers of `make bench`, one per mode, each a single epoll loop.
 *
 *   benchsrv accept -l ADDR -p PORT   a plain accept loop: accept4 in batches, write "ok\n",
 *                                     close. The ceiling of the hand-off comparison, and the
 *                                     backend of the relay comparison.
 *   benchsrv fd -s PATH [-d USEC]     the minimal applet: receive connections from socketbox
 *                                     on a datagram socket (src/fdpass.h), write "ok\n",
 *                                     close. -d sleeps USEC per connection (a slow applet).
 *   benchsrv sink -l ADDR -p PORT     read each connection until EOF, discard, close (bulk).
 *   benchsrv reg -s PATH -n SLOT      the minimal registered applet: register for SLOT on
 *                                     socketbox's registration socket PATH (socketbox(8)
 *                                     PROTOCOL), then the same work as fd.
 */
#include "fdpass.h"
#include "unixsock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE                                                                                      \
	"usage: benchsrv accept -l ADDR -p PORT\n"                                                 \
	"       benchsrv fd -s PATH [-d USEC]\n"                                                   \
	"       benchsrv sink -l ADDR -p PORT\n"                                                 \
	"       benchsrv reg -s PATH -n SLOT\n"

static const char line[] = "ok\n";

static void die(const char *what)
{
	fprintf(stderr, "benchsrv: %s: %s\n", what, strerror(errno));
	exit(2);
}

static int tcp_listen(const char *addr, const char *port)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
	int one = 1, fd;

	sa.sin6_port = htons((uint16_t)atoi(port));
	if (inet_pton(AF_INET6, addr, &sa.sin6_addr) != 1) {
		fprintf(stderr, "benchsrv: %s is not an IPv6 address\n", addr);
		exit(2);
	}
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind");
	if (listen(fd, 4096) < 0)
		die("listen");
	return fd;
}

static void watch(int epfd, int fd, uint32_t events)
{
	struct epoll_event e = {.events = events, .data.fd = fd};

	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) < 0)
		die("epoll_ctl");
}

/* The ceiling: the least a TCP server can do per connection. */
static void serve_accept(int lfd)
{
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev[16];

	watch(epfd, lfd, EPOLLIN);
	for (;;) {
		if (epoll_wait(epfd, ev, 16, -1) < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < 64; i++) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (fd < 0) {
				if (errno == EAGAIN)
					break;
				continue;
			}
			(void)!write(fd, line, sizeof(line) - 1);
			close(fd);
		}
	}
}

/* The minimal applet: the same work on descriptors handed over by socketbox. */
static void serve_fd(int sock, long delay_us)
{
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev[16];

	watch(epfd, sock, EPOLLIN);
	for (;;) {
		if (epoll_wait(epfd, ev, 16, -1) < 0 && errno != EINTR)
			die("epoll_wait");
		for (;;) {
			char why[FDPASS_WHY_MAX];
			int fd, rc = fdpass_recv_from(sock, &fd, FDPASS_ANY_FD, NULL, why);

			if (rc < 0) {
				if (errno == EAGAIN)
					break;
				if (errno != EINTR)
					die("recvmsg");
				continue;
			}
			if (rc == 0) {
				fprintf(stderr, "benchsrv: dropped a message: %s\n", why);
				continue;
			}
			if (delay_us)
				usleep((useconds_t)delay_us);
			(void)!write(fd, line, sizeof(line) - 1);
			close(fd);
		}
	}
}

/* Registers for slot on path: the request, and the answer {0x80, 0, 0, 0}. */
static int reg_connect(const char *path, unsigned long slot)
{
	unsigned char req[8] = {1, 0, 0, 0, slot >> 24, slot >> 16, slot >> 8, slot}, ans[8];
	struct sockaddr_un sun;
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0 || unixsock_addr(path, &sun, &len) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, len) < 0)
		die(path);
	if (send(fd, req, sizeof(req), 0) != (ssize_t)sizeof(req) ||
	    recv(fd, ans, sizeof(ans), 0) != 4 || ans[0] != 0x80) {
		fprintf(stderr, "benchsrv: registration for slot %lu refused\n", slot);
		exit(2);
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		die("fcntl");
	return fd;
}

/* One {0x03, 0, 0, 0} message with its descriptor, or -1 (EAGAIN: none waiting). */
static int reg_recv(int sock)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	unsigned char payload[4];
	struct iovec iov = {.iov_base = payload, .iov_len = sizeof(payload)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf)};
	struct cmsghdr *cmsg;
	ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	int fd = -1;

	if (n == 0) {
		fprintf(stderr, "benchsrv: socketbox closed the registration\n");
		exit(2);
	}
	if (n < 0)
		return -1;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (cmsg && cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	if (n != 4 || payload[0] != 0x03 || fd < 0) {
		fprintf(stderr, "benchsrv: a malformed message from socketbox\n");
		exit(2);
	}
	return fd;
}

static void serve_reg(int sock)
{
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev[16];

	watch(epfd, sock, EPOLLIN);
	for (;;) {
		int fd;

		if (epoll_wait(epfd, ev, 16, -1) < 0 && errno != EINTR)
			die("epoll_wait");
		while ((fd = reg_recv(sock)) >= 0) {
			(void)!write(fd, line, sizeof(line) - 1);
			close(fd);
		}
		if (errno != EAGAIN && errno != EINTR)
			die("recvmsg");
	}
}

static void serve_sink(int lfd)
{
	static char buf[256 * 1024];
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev[64];

	watch(epfd, lfd, EPOLLIN);
	for (;;) {
		int n = epoll_wait(epfd, ev, 64, -1);

		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;

			if (fd == lfd) {
				int c;

				while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
					watch(epfd, c, EPOLLIN);
				continue;
			}
			for (;;) {
				ssize_t r = read(fd, buf, sizeof(buf));

				if (r > 0)
					continue;
				if (r < 0 && errno == EAGAIN)
					break;
				if (r < 0 && errno == EINTR)
					continue;
				close(fd); /* EOF or error; closing also leaves the epoll set */
				break;
			}
		}
	}
}

int main(int argc, char **argv)
{
	const char *mode, *addr = "::1", *port = NULL, *path = NULL, *slot = NULL;
	long delay_us = 0;
	struct rlimit rl;
	int c;

	if (argc < 2) {
		fputs(USAGE, stderr);
		return 2;
	}
	mode = argv[1];
	optind = 2;
	while ((c = getopt(argc, argv, "l:p:s:d:n:")) != -1) {
		switch (c) {
		case 'l': addr = optarg; break;
		case 'p': port = optarg; break;
		case 's': path = optarg; break;
		case 'd': delay_us = atol(optarg); break;
		case 'n': slot = optarg; break;
		default: fputs(USAGE, stderr); return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (strcmp(mode, "accept") == 0 && port) {
		serve_accept(tcp_listen(addr, port));
	} else if (strcmp(mode, "sink") == 0 && port) {
		serve_sink(tcp_listen(addr, port));
	} else if (strcmp(mode, "reg") == 0 && path && slot) {
		serve_reg(reg_connect(path, strtoul(slot, NULL, 10)));
	} else if (strcmp(mode, "fd") == 0 && path) {
		int sock = unixsock_bind_dgram(path, 0666);

		if (sock < 0)
			die(path);
		serve_fd(sock, delay_us);
	}
	fputs(USAGE, stderr);
	return 2;
}
