/* accept_server.c - a small TCP daemon for the libsocketbox-preload.so tests: it checks, as an
 * unmodified daemon would notice, that its listeners and the connections it accepts behave
 * like real TCP ones.
 *
 *   accept_server [-a full|small|null] [-r] MODE LISTEN...
 *
 * LISTEN is "a.b.c.d:PORT" (AF_INET) or "[v6]:PORT" (AF_INET6, IPV6_V6ONLY set). MODE:
 *
 *   epoll     listeners made with SOCK_NONBLOCK|SOCK_CLOEXEC, one epoll set; on readiness
 *             accept4(SOCK_NONBLOCK|SOCK_CLOEXEC) in a loop until EAGAIN; every accepted fd
 *             must have O_NONBLOCK and FD_CLOEXEC
 *   poll      the same with poll()
 *   select    the same with select()
 *   blocking  one plain (blocking, inheritable) listener and plain accept(); every accepted
 *             fd must be blocking and without FD_CLOEXEC
 *
 * On every listener, after bind() and before listen(): O_NONBLOCK and FD_CLOEXEC are as the
 * socket was made and SO_ACCEPTCONN is 0; after listen(): getsockname() returns exactly the
 * bound address (length and bytes), SO_TYPE is SOCK_STREAM, SO_ACCEPTCONN 1, SO_DOMAIN the
 * family, SO_PROTOCOL IPPROTO_TCP. Any failure there: a message on stderr and exit 1. Once
 * every listener is up it prints "ready" on stdout.
 *
 * How accept() gets the peer address (-a):
 *   full   (default) a sockaddr_storage: the length must be that of the listener's family
 *          (an AF_INET listener gets sockaddr_in), and the address equal getpeername()'s
 *   small  a 4-byte buffer inside a canary-filled one: accept must succeed, set the length
 *          to the full length of the listener's family, write the first 4 bytes of the
 *          address (as getpeername() has them) and nothing beyond (kernel semantics)
 *   null   accept(fd, NULL, NULL)
 * On every accepted fd, getpeername() and getsockname() must give the listener's family and
 * getsockname()'s port must be the listener's port.
 *
 * -r (blocking mode): a SIGALRM handler installed with SA_RESTART fires every 20 ms while
 * accept() blocks; as with the kernel's accept(), it must restart, never fail with EINTR.
 *
 * Each connection gets one line, then is closed:
 *   "MODE PEER LOCAL PORT\n"   e.g. "epoll fd00:5b::2 2001:db8::7 80"
 * or, when a check on it failed, "error WHAT\n" (also on stderr). A failing accept() other
 * than EAGAIN/ECONNABORTED ends the program with status 1.
 *
 * Built by the tests with: cc -O2 -Wall -Wextra -Werror -o accept_server accept_server.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_LISTENERS 16

struct lsn {
	int fd;
	int family;
	struct sockaddr_storage bound;
	socklen_t bound_len;
	const char *spec;
};

static struct lsn lsns[MAX_LISTENERS];
static int nlsns;
static const char *mode;
static const char *addrmode = "full";
static volatile sig_atomic_t alarms;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("accept_server: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void parse_listen(const char *spec, struct lsn *l)
{
	char host[128];
	const char *colon = strrchr(spec, ':');
	char *end;
	long port;
	size_t n;

	if (colon == NULL || (n = (size_t)(colon - spec)) == 0 || n >= sizeof(host))
		die("bad LISTEN '%s'", spec);
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		die("bad port in '%s'", spec);
	memcpy(host, spec, n);
	host[n] = '\0';
	memset(&l->bound, 0, sizeof(l->bound));
	l->spec = spec;
	if (host[0] == '[' && host[n - 1] == ']') {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l->bound;

		host[n - 1] = '\0';
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &sin6->sin6_addr) != 1)
			die("bad IPv6 address in '%s'", spec);
		l->bound_len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&l->bound;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			die("bad IPv4 address in '%s'", spec);
		l->bound_len = sizeof(*sin);
	}
	l->family = l->bound.ss_family;
}

static int sockopt_int(int fd, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, name, &v, &len) < 0)
		return -1000 - errno;
	if (len != sizeof(v))
		return -2000;
	return v;
}

static void open_listener(struct lsn *l, bool nonblocking)
{
	int one = 1, fl, fdfl, v;
	struct sockaddr_storage ss;
	socklen_t len;

	l->fd = socket(l->family, SOCK_STREAM | (nonblocking ? SOCK_NONBLOCK | SOCK_CLOEXEC : 0),
		       0);
	if (l->fd < 0)
		die("socket: %s", strerror(errno));
	if (setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		die("SO_REUSEADDR: %s", strerror(errno));
	if (l->family == AF_INET6 &&
	    setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		die("IPV6_V6ONLY: %s", strerror(errno));
	if (bind(l->fd, (struct sockaddr *)&l->bound, l->bound_len) < 0)
		die("bind %s: %s", l->spec, strerror(errno));

	fl = fcntl(l->fd, F_GETFL);
	fdfl = fcntl(l->fd, F_GETFD);
	if (fl < 0 || fdfl < 0)
		die("%s: fcntl after bind: %s", l->spec, strerror(errno));
	if (!!(fl & O_NONBLOCK) != nonblocking)
		die("%s: O_NONBLOCK is %s after bind", l->spec, (fl & O_NONBLOCK) ? "set" : "clear");
	if (!!(fdfl & FD_CLOEXEC) != nonblocking)
		die("%s: FD_CLOEXEC is %s after bind", l->spec,
		    (fdfl & FD_CLOEXEC) ? "set" : "clear");
	if ((v = sockopt_int(l->fd, SO_ACCEPTCONN)) != 0)
		die("%s: SO_ACCEPTCONN is %d before listen, expected 0", l->spec, v);

	if (listen(l->fd, 128) < 0)
		die("listen %s: %s", l->spec, strerror(errno));

	memset(&ss, 0x5a, sizeof(ss));
	len = sizeof(ss);
	if (getsockname(l->fd, (struct sockaddr *)&ss, &len) < 0)
		die("%s: getsockname: %s", l->spec, strerror(errno));
	if (len != l->bound_len || memcmp(&ss, &l->bound, len) != 0)
		die("%s: getsockname returned %u bytes (family %d), not what was bound (%u bytes)",
		    l->spec, len, ss.ss_family, l->bound_len);
	if ((v = sockopt_int(l->fd, SO_TYPE)) != SOCK_STREAM)
		die("%s: SO_TYPE is %d, expected SOCK_STREAM (%d)", l->spec, v, SOCK_STREAM);
	if ((v = sockopt_int(l->fd, SO_ACCEPTCONN)) != 1)
		die("%s: SO_ACCEPTCONN is %d after listen, expected 1", l->spec, v);
	if ((v = sockopt_int(l->fd, SO_DOMAIN)) != l->family)
		die("%s: SO_DOMAIN is %d, expected %d", l->spec, v, l->family);
	if ((v = sockopt_int(l->fd, SO_PROTOCOL)) != IPPROTO_TCP)
		die("%s: SO_PROTOCOL is %d, expected IPPROTO_TCP", l->spec, v);
}

static const char *addr_text(const struct sockaddr_storage *ss, char *buf, size_t size,
			     unsigned *port)
{
	const void *a;

	if (ss->ss_family == AF_INET) {
		a = &((const struct sockaddr_in *)ss)->sin_addr;
		*port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		*port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	} else {
		snprintf(buf, size, "family-%d", ss->ss_family);
		*port = 0;
		return buf;
	}
	return inet_ntop(ss->ss_family, a, buf, (socklen_t)size);
}

static socklen_t family_len(int family)
{
	return family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/* Checks one accepted connection and answers it. */
static void serve(const struct lsn *l, int c, const struct sockaddr_storage *got, socklen_t gotlen,
		  const unsigned char *raw, size_t rawsize)
{
	struct sockaddr_storage peer, local;
	socklen_t plen = sizeof(peer), llen = sizeof(local);
	char line[256], what[200] = "", pa[INET6_ADDRSTRLEN], la[INET6_ADDRSTRLEN];
	unsigned pport, lport, bport;
	int fl = fcntl(c, F_GETFL), fdfl = fcntl(c, F_GETFD);
	bool nonblocking = strcmp(mode, "blocking") != 0;

	addr_text(&l->bound, la, sizeof(la), &bport);
	if (fl < 0 || fdfl < 0)
		snprintf(what, sizeof(what), "fcntl: %s", strerror(errno));
	else if (!!(fl & O_NONBLOCK) != nonblocking)
		snprintf(what, sizeof(what), "accepted fd has O_NONBLOCK %s",
			 (fl & O_NONBLOCK) ? "set" : "clear");
	else if (!!(fdfl & FD_CLOEXEC) != nonblocking)
		snprintf(what, sizeof(what), "accepted fd has FD_CLOEXEC %s",
			 (fdfl & FD_CLOEXEC) ? "set" : "clear");
	else if (getpeername(c, (struct sockaddr *)&peer, &plen) < 0)
		snprintf(what, sizeof(what), "getpeername: %s", strerror(errno));
	else if (getsockname(c, (struct sockaddr *)&local, &llen) < 0)
		snprintf(what, sizeof(what), "getsockname: %s", strerror(errno));
	else if (peer.ss_family != l->family || plen != family_len(l->family))
		snprintf(what, sizeof(what), "getpeername gave family %d length %u on a family %d "
			 "listener", peer.ss_family, plen, l->family);
	else if (local.ss_family != l->family || llen != family_len(l->family))
		snprintf(what, sizeof(what), "getsockname gave family %d length %u on a family %d "
			 "listener", local.ss_family, llen, l->family);
	else if (strcmp(addrmode, "full") == 0 &&
		 (gotlen != plen || memcmp(got, &peer, plen) != 0))
		snprintf(what, sizeof(what), "accept gave %u bytes (family %d), getpeername %u bytes "
			 "(family %d)", gotlen, got->ss_family, plen, peer.ss_family);
	else if (strcmp(addrmode, "small") == 0 && gotlen != plen)
		snprintf(what, sizeof(what), "accept with a 4-byte buffer set the length to %u, "
			 "expected %u", gotlen, plen);
	else if (strcmp(addrmode, "small") == 0 && memcmp(raw, &peer, 4) != 0)
		snprintf(what, sizeof(what), "accept with a 4-byte buffer wrote other bytes than "
			 "getpeername's first 4");
	if (what[0] == '\0' && strcmp(addrmode, "small") == 0)
		for (size_t i = 4; i < rawsize; i++)
			if (raw[i] != 0xa5) {
				snprintf(what, sizeof(what), "accept with a 4-byte buffer wrote byte %zu "
					 "beyond it", i);
				break;
			}
	if (what[0] == '\0') {
		addr_text(&local, la, sizeof(la), &lport);
		if (lport != bport)
			snprintf(what, sizeof(what), "local port %u, the listener's is %u", lport,
				 bport);
	}
	if (what[0] == '\0') {
		addr_text(&peer, pa, sizeof(pa), &pport);
		snprintf(line, sizeof(line), "%s %s %s %u\n", mode, pa, la, lport);
	} else {
		fprintf(stderr, "accept_server: %s: %s\n", l->spec, what);
		snprintf(line, sizeof(line), "error %s\n", what);
	}
	/* the line fits an empty send buffer, also on a non-blocking socket */
	if (send(c, line, strlen(line), MSG_NOSIGNAL) < 0)
		fprintf(stderr, "accept_server: send: %s\n", strerror(errno));
	close(c);
}

/* Accepts one connection on l; returns false when none is waiting (EAGAIN). */
static bool accept_one(const struct lsn *l)
{
	union {
		struct sockaddr_storage ss;
		unsigned char raw[sizeof(struct sockaddr_storage)];
	} a;
	socklen_t len;
	int c, flags = strcmp(mode, "blocking") == 0 ? 0 : SOCK_NONBLOCK | SOCK_CLOEXEC;

	memset(&a, 0xa5, sizeof(a));
	if (strcmp(addrmode, "null") == 0) {
		c = flags ? accept4(l->fd, NULL, NULL, flags) : accept(l->fd, NULL, NULL);
		len = 0;
	} else {
		len = strcmp(addrmode, "small") == 0 ? 4 : sizeof(a.ss);
		c = flags ? accept4(l->fd, (struct sockaddr *)&a.ss, &len, flags)
			  : accept(l->fd, (struct sockaddr *)&a.ss, &len);
	}
	if (c < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED)
			return false;
		die("%s: accept: %s%s", l->spec, strerror(errno),
		    errno == EINTR ? " (the signal handler was installed with SA_RESTART)" : "");
	}
	serve(l, c, &a.ss, len, a.raw, sizeof(a.raw));
	return true;
}

static void run_epoll(void)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev[MAX_LISTENERS];

	if (ep < 0)
		die("epoll_create1: %s", strerror(errno));
	for (int i = 0; i < nlsns; i++) {
		struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)i};

		if (epoll_ctl(ep, EPOLL_CTL_ADD, lsns[i].fd, &e) < 0)
			die("epoll_ctl: %s", strerror(errno));
	}
	for (;;) {
		int n = epoll_wait(ep, ev, MAX_LISTENERS, -1);

		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++)
			while (accept_one(&lsns[ev[i].data.u32]))
				;
	}
}

static void run_poll(void)
{
	struct pollfd p[MAX_LISTENERS];

	for (int i = 0; i < nlsns; i++)
		p[i] = (struct pollfd){.fd = lsns[i].fd, .events = POLLIN};
	for (;;) {
		if (poll(p, (nfds_t)nlsns, -1) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (int i = 0; i < nlsns; i++)
			if (p[i].revents & POLLIN)
				while (accept_one(&lsns[i]))
					;
	}
}

static void run_select(void)
{
	for (;;) {
		fd_set r;
		int max = -1;

		FD_ZERO(&r);
		for (int i = 0; i < nlsns; i++) {
			if (lsns[i].fd >= FD_SETSIZE)
				die("fd %d too large for select", lsns[i].fd);
			FD_SET(lsns[i].fd, &r);
			if (lsns[i].fd > max)
				max = lsns[i].fd;
		}
		if (select(max + 1, &r, NULL, NULL, NULL) < 0) {
			if (errno == EINTR)
				continue;
			die("select: %s", strerror(errno));
		}
		for (int i = 0; i < nlsns; i++)
			if (FD_ISSET(lsns[i].fd, &r))
				while (accept_one(&lsns[i]))
					;
	}
}

int main(int argc, char **argv)
{
	bool restart = false;
	int c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt(argc, argv, "+a:r")) != -1) {
		switch (c) {
		case 'a': addrmode = optarg; break;
		case 'r': restart = true; break;
		default: die("usage: accept_server [-a full|small|null] [-r] MODE LISTEN...");
		}
	}
	if (strcmp(addrmode, "full") != 0 && strcmp(addrmode, "small") != 0 &&
	    strcmp(addrmode, "null") != 0)
		die("-a takes full, small or null");
	if (argc - optind < 2)
		die("usage: accept_server [-a full|small|null] [-r] MODE LISTEN...");
	mode = argv[optind++];
	if (strcmp(mode, "epoll") != 0 && strcmp(mode, "poll") != 0 &&
	    strcmp(mode, "select") != 0 && strcmp(mode, "blocking") != 0)
		die("unknown MODE '%s'", mode);
	if (argc - optind > MAX_LISTENERS)
		die("at most %d listeners", MAX_LISTENERS);
	if (strcmp(mode, "blocking") == 0 && argc - optind != 1)
		die("blocking mode takes one listener");
	for (; optind < argc; optind++) {
		parse_listen(argv[optind], &lsns[nlsns]);
		open_listener(&lsns[nlsns], strcmp(mode, "blocking") != 0);
		nlsns++;
	}
	if (restart) {
		struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
		struct itimerval it = {.it_interval = {0, 20000}, .it_value = {0, 20000}};

		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGALRM, &sa, NULL) < 0 || setitimer(ITIMER_REAL, &it, NULL) < 0)
			die("SIGALRM timer: %s", strerror(errno));
	}
	printf("ready\n");
	if (strcmp(mode, "epoll") == 0)
		run_epoll();
	else if (strcmp(mode, "poll") == 0)
		run_poll();
	else if (strcmp(mode, "select") == 0)
		run_select();
	for (;;)
		accept_one(&lsns[0]);
}
