/* loadgen.c - the load generator of `make bench`.
 *
 * Connection mode: C concurrent connections in one epoll loop. Each connects to ADDR:PORT,
 * optionally sends a request, reads until EOF, closes, and is replaced by a new one, until
 * COUNT connections were started or SECS seconds passed (whichever comes first); then the
 * connections in flight are finished. Prints one line of key=value pairs:
 *
 *   loadgen mode=conn conc=64 started=N ok=N secs=S cps=N reset=N refused=N eof=N
 *           timeout=N bad=N other=N other_errno=E p50_us=N p99_us=N max_us=N
 *
 *   ok       the connection delivered data (and, with -e, data starting with EXPECT)
 *   reset    ECONNRESET (or EPIPE) while connecting, sending or reading
 *   refused  ECONNREFUSED
 *   eof      end of file before any data
 *   timeout  not finished within the per-connection timeout (-T)
 *   bad      data that does not start with EXPECT
 *   other    any other error (other_errno names the last one)
 *   latency  from connect() to EOF, successful connections only
 *
 * Bulk mode (-B BYTES): one connection, or -c FLOWS at once (one process each); each sends
 * BYTES, shuts down its write side, reads until EOF (a sink closes once it has read
 * everything). Prints the bytes of all flows over the time until the last one ended:
 *
 *   loadgen mode=bulk flows=N bytes=N secs=S mibps=N
 *
 * Loopback or a test-bed namespace only: there is no pacing and no back-off. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define USAGE                                                                                      \
	"usage: loadgen [-c CONC] [-n COUNT] [-t SECS] [-r REQUEST] [-e EXPECT] [-w] [-T MS]\n"      \
	"               ADDR PORT\n"                                                              \
	"       loadgen -B BYTES [-c FLOWS] ADDR PORT\n"                                          \
	"  -c CONC     concurrent connections (default 1)\n"                                       \
	"  -n COUNT    start at most COUNT connections (default: no limit)\n"                      \
	"  -t SECS     start connections for SECS seconds (default 1 unless -n is given)\n"        \
	"  -r REQUEST  send REQUEST once connected (\\r, \\n and \\\\ are unescaped)\n"            \
	"  -e EXPECT   count a connection as ok only if its data starts with EXPECT\n"             \
	"  -w          shut down the write side once connected (after REQUEST, if any)\n"         \
	"  -T MS       per-connection timeout (default 10000)\n"                                   \
	"  -B BYTES    bulk mode: send BYTES (suffix K, M or G) over one connection\n"             \
	"              (or over each of CONC connections at once)\n"

enum state { FREE, CONNECTING, READING };

struct conn {
	int fd;
	enum state state;
	uint64_t start_ns;
	size_t got; /* bytes received */
	char head[32];
	unsigned headlen;
};

static struct {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char *request;
	size_t reqlen;
	const char *expect;
	size_t expectlen;
	unsigned conc;
	bool half_close;
	unsigned long long count; /* 0: no limit */
	double secs;
	uint64_t timeout_ns;
	/* results */
	unsigned long long started, ok, reset, refused, eof, timeout, bad, other;
	int other_errno;
	uint32_t *lat; /* µs per successful connection */
	size_t nlat, lat_cap;
	int epfd;
	unsigned active;
} g;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void usage(const char *msg)
{
	fprintf(stderr, "loadgen: %s\n%s", msg, USAGE);
	exit(2);
}

static unsigned long long parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	switch (*end) {
	case 'G': case 'g': v <<= 10; /* fall through */
	case 'M': case 'm': v <<= 10; /* fall through */
	case 'K': case 'k': v <<= 10; end++; break;
	case '\0': break;
	default: usage("bad number");
	}
	if (*end != '\0' || v == 0)
		usage("bad number");
	return v;
}

static char *unescape(const char *s, size_t *len)
{
	char *out = malloc(strlen(s) + 1), *p = out;

	if (out == NULL)
		die("malloc");
	for (; *s; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			*p++ = *s == 'r' ? '\r' : *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
		} else {
			*p++ = *s;
		}
	}
	*len = (size_t)(p - out);
	return out;
}

static void parse_addr(const char *host, const char *port)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&g.addr;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&g.addr;
	char buf[INET6_ADDRSTRLEN];
	size_t n = strlen(host);
	long p = strtol(port, NULL, 10);

	if (p <= 0 || p > 65535)
		usage("bad port");
	if (host[0] == '[' && n > 2 && host[n - 1] == ']' && n - 2 < sizeof(buf)) {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		host = buf;
	}
	memset(&g.addr, 0, sizeof(g.addr));
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		g.addrlen = sizeof(*s6);
	} else if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		g.addrlen = sizeof(*s4);
	} else {
		usage("ADDR must be a numeric IPv6 or IPv4 address");
	}
}

static void record_latency(uint64_t ns)
{
	if (g.nlat == g.lat_cap) {
		g.lat_cap = g.lat_cap ? g.lat_cap * 2 : 65536;
		g.lat = realloc(g.lat, g.lat_cap * sizeof(*g.lat));
		if (g.lat == NULL)
			die("realloc");
	}
	g.lat[g.nlat++] = (uint32_t)(ns / 1000 > UINT32_MAX ? UINT32_MAX : ns / 1000);
}

static void count_error(int err)
{
	switch (err) {
	case ECONNRESET:
	case EPIPE:
		g.reset++;
		break;
	case ECONNREFUSED:
		g.refused++;
		break;
	case ETIMEDOUT:
		g.timeout++;
		break;
	default:
		g.other++;
		g.other_errno = err;
		break;
	}
}

static void conn_finish(struct conn *c, int err)
{
	uint64_t t = now_ns();

	if (err)
		count_error(err);
	else if (c->got == 0)
		g.eof++;
	else if (g.expect &&
		 (c->headlen < g.expectlen || memcmp(c->head, g.expect, g.expectlen) != 0))
		g.bad++;
	else {
		g.ok++;
		record_latency(t - c->start_ns);
	}
	close(c->fd);
	c->fd = -1;
	c->state = FREE;
	g.active--;
}

static void conn_start(struct conn *c)
{
	struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
	int rc;

	c->got = 0;
	c->headlen = 0;
	c->start_ns = now_ns();
	c->fd = socket(g.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	g.started++;
	g.active++;
	if (c->fd < 0) {
		count_error(errno);
		c->state = FREE;
		g.active--;
		return;
	}
	c->state = CONNECTING;
	rc = connect(c->fd, (struct sockaddr *)&g.addr, g.addrlen);
	if (rc < 0 && errno != EINPROGRESS) {
		conn_finish(c, errno);
		return;
	}
	if (epoll_ctl(g.epfd, EPOLL_CTL_ADD, c->fd, &e) < 0)
		die("epoll_ctl");
}

static void conn_event(struct conn *c, uint32_t events)
{
	char buf[65536];

	if (c->state == CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err == EINPROGRESS)
			return;
		if (err) {
			conn_finish(c, err);
			return;
		}
		c->state = READING;
		if (g.reqlen && send(c->fd, g.request, g.reqlen, MSG_NOSIGNAL) != (ssize_t)g.reqlen) {
			conn_finish(c, errno ? errno : EIO);
			return;
		}
		if (g.half_close && shutdown(c->fd, SHUT_WR) < 0) {
			conn_finish(c, errno);
			return;
		}
	}
	for (;;) {
		ssize_t n = read(c->fd, buf, sizeof(buf));

		if (n > 0) {
			if (c->headlen < sizeof(c->head)) {
				size_t k = sizeof(c->head) - c->headlen;

				if ((size_t)n < k)
					k = (size_t)n;
				memcpy(c->head + c->headlen, buf, k);
				c->headlen += (unsigned)k;
			}
			c->got += (size_t)n;
			continue;
		}
		if (n == 0) {
			conn_finish(c, 0);
			return;
		}
		if (errno == EAGAIN)
			return;
		if (errno == EINTR)
			continue;
		conn_finish(c, errno);
		return;
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t percentile(double p)
{
	size_t i;

	if (g.nlat == 0)
		return 0;
	i = (size_t)(p * (double)(g.nlat - 1) + 0.5);
	return g.lat[i];
}

static int run_conns(void)
{
	struct conn *conns = calloc(g.conc, sizeof(*conns));
	struct epoll_event events[256];
	uint64_t start, stop_at, end, last_sweep;
	bool starting = true;

	if (conns == NULL)
		die("calloc");
	g.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (g.epfd < 0)
		die("epoll_create1");
	for (unsigned i = 0; i < g.conc; i++)
		conns[i].fd = -1;
	start = last_sweep = now_ns();
	stop_at = start + (uint64_t)(g.secs * 1e9);

	for (;;) {
		uint64_t t = now_ns();
		int n;

		if (starting && (t >= stop_at || (g.count && g.started >= g.count)))
			starting = false;
		if (starting) {
			for (unsigned i = 0; i < g.conc; i++) {
				if (conns[i].state != FREE)
					continue;
				if (g.count && g.started >= g.count)
					break;
				conn_start(&conns[i]);
			}
		}
		if (!starting && g.active == 0)
			break;
		t = now_ns(); /* connections started above are younger than the t of before */
		if (t - last_sweep > 100000000u) {
			last_sweep = t;
			for (unsigned i = 0; i < g.conc; i++)
				if (conns[i].state != FREE && t - conns[i].start_ns > g.timeout_ns)
					conn_finish(&conns[i], ETIMEDOUT);
			continue;
		}
		n = epoll_wait(g.epfd, events, 256, 100);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = events[i].data.ptr;

			if (c->state != FREE)
				conn_event(c, events[i].events);
		}
	}
	end = now_ns();
	qsort(g.lat, g.nlat, sizeof(*g.lat), cmp_u32);
	double secs = (double)(end - start) / 1e9;
	printf("loadgen mode=conn conc=%u started=%llu ok=%llu secs=%.3f cps=%.0f reset=%llu "
	       "refused=%llu eof=%llu timeout=%llu bad=%llu other=%llu other_errno=%d "
	       "p50_us=%u p99_us=%u max_us=%u\n",
	       g.conc, g.started, g.ok, secs, (double)g.ok / secs, g.reset, g.refused, g.eof,
	       g.timeout, g.bad, g.other, g.other_errno, percentile(0.50), percentile(0.99),
	       g.nlat ? g.lat[g.nlat - 1] : 0);
	free(conns);
	return g.ok > 0 ? 0 : 1;
}

/* One flow: send bytes, shut down, read until EOF. */
static void bulk_flow(unsigned long long bytes)
{
	size_t bufsize = 256 * 1024;
	char *buf = malloc(bufsize);
	unsigned long long sent = 0;
	int fd;

	if (buf == NULL)
		die("malloc");
	memset(buf, 'x', bufsize);
	fd = socket(g.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&g.addr, g.addrlen) < 0)
		die("connect");
	while (sent < bytes) {
		size_t k = bytes - sent < bufsize ? (size_t)(bytes - sent) : bufsize;
		ssize_t n = send(fd, buf, k, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("send");
		}
		sent += (unsigned long long)n;
	}
	if (shutdown(fd, SHUT_WR) < 0)
		die("shutdown");
	for (;;) {
		ssize_t n = read(fd, buf, bufsize);

		if (n == 0)
			break;
		if (n < 0 && errno != EINTR)
			die("read");
	}
	close(fd);
	free(buf);
}

/* g.conc flows at once, one child process each; the time is until the last one ended. */
static int run_bulk(unsigned long long bytes)
{
	uint64_t start = now_ns(), end;
	unsigned ok = 0;
	int status;

	for (unsigned i = 0; i < g.conc; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			bulk_flow(bytes);
			_exit(0);
		}
	}
	while (wait(&status) > 0)
		ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
	end = now_ns();
	if (ok != g.conc) {
		fprintf(stderr, "loadgen: %u of %u flows failed\n", g.conc - ok, g.conc);
		return 1;
	}
	double secs = (double)(end - start) / 1e9;
	printf("loadgen mode=bulk flows=%u bytes=%llu secs=%.3f mibps=%.1f\n", g.conc,
	       bytes * g.conc, secs, (double)bytes * g.conc / secs / 1048576.0);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long long bulk = 0;
	struct rlimit rl;
	int c;

	g.conc = 1;
	g.secs = -1;
	g.timeout_ns = 10000000000ull;
	while ((c = getopt(argc, argv, "c:n:t:r:e:wT:B:h")) != -1) {
		switch (c) {
		case 'c': g.conc = (unsigned)parse_size(optarg); break;
		case 'n': g.count = parse_size(optarg); break;
		case 't': g.secs = strtod(optarg, NULL); break;
		case 'r': g.request = unescape(optarg, &g.reqlen); break;
		case 'e':
			g.expect = unescape(optarg, &g.expectlen);
			if (g.expectlen > sizeof(((struct conn *)0)->head))
				usage("EXPECT is at most 32 bytes");
			break;
		case 'w': g.half_close = true; break;
		case 'T': g.timeout_ns = parse_size(optarg) * 1000000ull; break;
		case 'B': bulk = parse_size(optarg); break;
		case 'h': fputs(USAGE, stdout); return 0;
		default: usage("unknown option");
		}
	}
	if (argc - optind != 2)
		usage("need ADDR and PORT");
	parse_addr(argv[optind], argv[optind + 1]);
	if (g.secs < 0)
		g.secs = g.count ? 1e9 : 1.0;
	/* Enough descriptors for every connection at once. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return bulk ? run_bulk(bulk) : run_conns();
}
