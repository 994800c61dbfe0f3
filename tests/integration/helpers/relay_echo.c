/* relay_echo.c - an echo server for the socketbox-relay tests, good for thousands of
 * concurrent connections (one epoll loop, non-blocking sockets).
 *
 *   relay_echo [-v] [-g GREETING] [-b BACKLOG] LISTEN...
 *
 * LISTEN is "a.b.c.d:PORT", "[v6]:PORT" (IPV6_V6ONLY set) or "unix:PATH" (an existing file
 * at PATH is replaced). Every connection first gets GREETING and a newline (with -g), then
 * every byte it sends back. When the peer half-closes, whatever is still buffered is sent,
 * then the connection is closed (so the peer reads EOF after the last echoed byte). A reset
 * or error closes the connection. Once every listener is up "ready" is printed on stdout.
 * SIGTERM ends the program. On stderr, one line per connection that ended by an error.
 * With -v, "accepted N open M" on stdout for every connection (N counts from 1, M is the
 * number of connections open, this one included).
 *
 * Built by the tests with: cc -O2 -Wall -Wextra -Werror -o relay_echo relay_echo.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define BUF_SIZE 16384
#define MAX_LISTENERS 8

struct conn {
	int fd;
	size_t len, off;
	char buf[BUF_SIZE];
};

static int epfd;
static int listeners[MAX_LISTENERS];
static int nlisteners;
static const char *greeting;
static bool verbose;
static unsigned long accepted, open_conns;

static void die(const char *what)
{
	fprintf(stderr, "relay_echo: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int make_listener(const char *spec, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char host[128];
	const char *colon;
	int fd, on = 1;

	memset(&ss, 0, sizeof(ss));
	if (strncmp(spec, "unix:", 5) == 0) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;

		if (strlen(spec + 5) >= sizeof(sun->sun_path)) {
			fprintf(stderr, "relay_echo: path too long: %s\n", spec + 5);
			exit(2);
		}
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, spec + 5);
		len = sizeof(*sun);
		unlink(sun->sun_path);
	} else {
		colon = strrchr(spec, ':');
		if (colon == NULL || (size_t)(colon - spec) >= sizeof(host)) {
			fprintf(stderr, "relay_echo: bad address %s\n", spec);
			exit(2);
		}
		if (spec[0] == '[') {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			memcpy(host, spec + 1, (size_t)(colon - spec) - 2);
			host[colon - spec - 2] = '\0';
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((unsigned short)atoi(colon + 1));
			if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1) {
				fprintf(stderr, "relay_echo: bad address %s\n", spec);
				exit(2);
			}
			len = sizeof(*s6);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			memcpy(host, spec, (size_t)(colon - spec));
			host[colon - spec] = '\0';
			s4->sin_family = AF_INET;
			s4->sin_port = htons((unsigned short)atoi(colon + 1));
			if (inet_pton(AF_INET, host, &s4->sin_addr) != 1) {
				fprintf(stderr, "relay_echo: bad address %s\n", spec);
				exit(2);
			}
			len = sizeof(*s4);
		}
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	if (ss.ss_family != AF_UNIX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		die(spec);
	if (listen(fd, backlog) < 0)
		die("listen");
	return fd;
}

static void watch(struct conn *c, int op)
{
	struct epoll_event e = {.data.ptr = c};

	/* Level-triggered: read while the buffer is empty, write while it is not. */
	e.events = c->len > c->off ? EPOLLOUT : EPOLLIN;
	if (epoll_ctl(epfd, op, c->fd, &e) < 0)
		die("epoll_ctl");
}

static void conn_close(struct conn *c, const char *why)
{
	if (why)
		fprintf(stderr, "relay_echo: connection closed: %s: %s\n", why, strerror(errno));
	close(c->fd);
	free(c);
	open_conns--;
}

static void conn_accept(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0) {
			if (errno == EAGAIN || errno == ECONNABORTED || errno == EINTR)
				return;
			die("accept4");
		}
		c = calloc(1, sizeof(*c));
		if (c == NULL)
			die("calloc");
		c->fd = fd;
		open_conns++;
		if (verbose) {
			printf("accepted %lu open %lu\n", ++accepted, open_conns);
			fflush(stdout);
		}
		if (greeting) {
			c->len = (size_t)snprintf(c->buf, sizeof(c->buf), "%s\n", greeting);
			if (c->len >= sizeof(c->buf))
				c->len = sizeof(c->buf) - 1;
		}
		watch(c, EPOLL_CTL_ADD);
	}
}

static void conn_event(struct conn *c)
{
	ssize_t n;

	if (c->len > c->off) {
		n = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			conn_close(c, "send");
			return;
		}
		c->off += (size_t)n;
		if (c->off < c->len)
			return;
		c->off = c->len = 0;
		watch(c, EPOLL_CTL_MOD);
		return;
	}
	n = recv(c->fd, c->buf, sizeof(c->buf), 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		conn_close(c, "recv");
		return;
	}
	if (n == 0) {
		conn_close(c, NULL);
		return;
	}
	c->len = (size_t)n;
	c->off = 0;
	/* Try at once; most of the time the whole chunk goes out now. */
	n = send(c->fd, c->buf, c->len, MSG_NOSIGNAL);
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		conn_close(c, "send");
		return;
	}
	if (n > 0)
		c->off = (size_t)n;
	if (c->off == c->len)
		c->off = c->len = 0;
	else
		watch(c, EPOLL_CTL_MOD);
}

int main(int argc, char **argv)
{
	struct epoll_event events[256];
	struct rlimit rl;
	int opt, backlog = 4096;

	while ((opt = getopt(argc, argv, "vg:b:")) != -1) {
		switch (opt) {
		case 'v': verbose = true; break;
		case 'g': greeting = optarg; break;
		case 'b': backlog = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: relay_echo [-v] [-g GREETING] [-b BACKLOG] LISTEN...\n");
			return 2;
		}
	}
	if (optind >= argc || argc - optind > MAX_LISTENERS) {
		fprintf(stderr, "usage: relay_echo [-v] [-g GREETING] [-b BACKLOG] LISTEN...\n");
		return 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1");
	for (int i = optind; i < argc; i++) {
		struct epoll_event e = {.events = EPOLLIN};

		listeners[nlisteners] = make_listener(argv[i], backlog);
		/* a listener is told apart from a connection by its small index */
		e.data.u64 = (uint64_t)nlisteners;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, listeners[nlisteners], &e) < 0)
			die("epoll_ctl");
		nlisteners++;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int n = epoll_wait(epfd, events, 256, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			if (events[i].data.u64 < MAX_LISTENERS)
				conn_accept(listeners[events[i].data.u64]);
			else
				conn_event(events[i].data.ptr);
		}
	}
}
