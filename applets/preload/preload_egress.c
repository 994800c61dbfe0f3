/* preload_egress.c - SOCKETBOX_EGRESS and SOCKETBOX_XBIND of libsocketbox-preload.so.
 * The socket socketbox-sockd makes is a real TCP or UDP socket of its namespace: the
 * options the program set on its own socket before connect() or bind() are copied over
 * (a bounded list of common ones), then the socket replaces the program's with dup3.
 * An unusable value fails closed: every connect (SOCKETBOX_EGRESS) or every bind of an
 * IPv4 or IPv6 socket (SOCKETBOX_XBIND) is refused, with a line naming the variable. */
#include "preload_egress.h"
#include "addr.h"
#include "ports.h"
#include "sockd_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#define EGRESS_MAX_PORTS 64

static struct {
	const char *path;      /* SOCKETBOX_EGRESS, or NULL */
	const char *error;     /* why SOCKETBOX_EGRESS is unusable, or NULL */
	const char *bind_error; /* why SOCKETBOX_XBIND is unusable (or error), or NULL */
	bool xbind;	       /* SOCKETBOX_XBIND is set */
	struct port_range ports[EGRESS_MAX_PORTS];
	unsigned nports;
} eg;

void preload_egress_init(const char *sock, const char *xbind)
{
	struct sockaddr_un sun;
	int n;

	eg.path = sock;
	eg.xbind = xbind != NULL;
	if (sock && (sock[0] != '/' || strlen(sock) >= sizeof(sun.sun_path)))
		eg.error = "SOCKETBOX_EGRESS is not the absolute path of socketbox-sockd's socket";
	eg.bind_error = eg.error;
	if (xbind && !sock)
		eg.bind_error = "SOCKETBOX_XBIND needs SOCKETBOX_EGRESS, the socket of socketbox-sockd";
	if (xbind) {
		n = ports_parse_list(xbind, eg.ports, EGRESS_MAX_PORTS);
		if (n < 0)
			eg.bind_error = "SOCKETBOX_XBIND is not a list of ports such as \"53,8000-8099\"";
		else
			eg.nports = (unsigned)n;
	}
}

bool preload_egress_active(void)
{
	return eg.path != NULL;
}

/* Options a program sets before connect() or bind(), copied to the new socket when
 * they differ (level 0: any family; else the family they belong to). */
static const struct {
	int family, level, name;
} egress_opts[] = {
	{0, SOL_SOCKET, SO_KEEPALIVE},	   {0, SOL_SOCKET, SO_RCVBUF},
	{0, SOL_SOCKET, SO_SNDBUF},	   {0, SOL_SOCKET, SO_PRIORITY},
	{0, SOL_SOCKET, SO_REUSEADDR},	   {0, SOL_SOCKET, SO_REUSEPORT},
	{0, SOL_SOCKET, SO_BROADCAST},	   {0, IPPROTO_TCP, TCP_NODELAY},
	{0, IPPROTO_TCP, TCP_KEEPIDLE},	   {0, IPPROTO_TCP, TCP_KEEPINTVL},
	{0, IPPROTO_TCP, TCP_KEEPCNT},	   {0, IPPROTO_TCP, TCP_USER_TIMEOUT},
	{AF_INET, IPPROTO_IP, IP_TOS},	   {AF_INET6, IPPROTO_IPV6, IPV6_TCLASS},
	{AF_INET6, IPPROTO_IPV6, IPV6_V6ONLY},
};

static void egress_copy_options(int from, int to, int family)
{
	for (size_t i = 0; i < sizeof(egress_opts) / sizeof(egress_opts[0]); i++) {
		int a = 0, b = 0, level = egress_opts[i].level, name = egress_opts[i].name;
		socklen_t alen = sizeof(a), blen = sizeof(b);

		if ((egress_opts[i].family && egress_opts[i].family != family) ||
		    getsockopt(from, level, name, &a, &alen) < 0 ||
		    getsockopt(to, level, name, &b, &blen) < 0 || a == b)
			continue;
		/* The kernel reports buffer sizes doubled, and doubles what is set. */
		if (level == SOL_SOCKET && (name == SO_RCVBUF || name == SO_SNDBUF))
			a /= 2;
		setsockopt(to, level, name, &a, sizeof(a)); /* best effort, as xsocket */
	}
}

/* The family and type of fd, when it is an IPv4 or IPv6 socket of a type we carry. */
static bool egress_socket(int fd, int *family, int *type)
{
	socklen_t len = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, family, &len) < 0 ||
	    (*family != AF_INET && *family != AF_INET6))
		return false;
	len = sizeof(int);
	return getsockopt(fd, SOL_SOCKET, SO_TYPE, type, &len) == 0 &&
	       (*type == SOCK_STREAM || *type == SOCK_DGRAM);
}

/* sockd's answer for fd: the options copied, then in fd's place. Returns 0 or -1. */
static int egress_take(int fd, int sock, int family)
{
	int saved;

	egress_copy_options(fd, sock, family);
	if (preload_swap(fd, sock) < 0) {
		saved = errno;
		close(sock);
		errno = saved;
		return -1;
	}
	close(sock);
	return 0;
}

/* A blocking connect waits for the connection, as the program expects. */
static int egress_wait(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int err = 0;
	socklen_t len = sizeof(err);

	while (poll(&p, 1, -1) < 0)
		if (errno != EINTR)
			return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -1;
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

/* Only a socket that has not connected yet goes through socketbox-sockd: a second
 * connect() on a connecting or connected one (to learn how it went) must reach the
 * socket we put in place, which says EALREADY or EISCONN. */
static bool egress_fresh(int fd, int type)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	return type != SOCK_STREAM || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
	       ti.tcpi_state == TCP_CLOSE;
}

int preload_egress_connect(int fd, const struct sockaddr *addr, socklen_t len,
			   int (*real_connect)(int, const struct sockaddr *, socklen_t))
{
	int fl = fcntl(fd, F_GETFL), family, type, sock;
	char text[ADDR_STRLEN];

	if (eg.error) {
		fprintf(stderr, "libsocketbox-preload: refusing to connect to %s: %s\n",
			addr_format(addr, len, text, sizeof(text)), eg.error);
		errno = ECONNREFUSED;
		return -1;
	}
	if (fl < 0 || !egress_socket(fd, &family, &type) || addr->sa_family != family ||
	    !egress_fresh(fd, type))
		return real_connect(fd, addr, len);
	sock = sockd_connect(eg.path, addr, len, type);
	if (sock < 0 || egress_take(fd, sock, family) < 0)
		return -1;
	if (fl & O_NONBLOCK) {
		errno = EINPROGRESS;
		return -1;
	}
	return egress_wait(fd);
}

int preload_egress_bind(int fd, const struct sockaddr *addr, socklen_t len,
			int (*real_bind)(int, const struct sockaddr *, socklen_t))
{
	int family, type, sock, v6only = 0;
	socklen_t olen = sizeof(v6only);
	struct in6_addr a;
	uint16_t port;
	char text[ADDR_STRLEN];

	if (!eg.xbind || addr == NULL || len < sizeof(sa_family_t) ||
	    (addr->sa_family == AF_INET && len < sizeof(struct sockaddr_in)) ||
	    (addr->sa_family == AF_INET6 && len < sizeof(struct sockaddr_in6)) ||
	    addr_from_sockaddr(addr, &a, &port) < 0 || !egress_socket(fd, &family, &type) ||
	    addr->sa_family != family ||
	    (eg.bind_error == NULL && (port == 0 || !ports_contain(eg.ports, eg.nports, port))))
		return real_bind(fd, addr, len);
	if (eg.bind_error) {
		fprintf(stderr, "libsocketbox-preload: refusing to bind %s: %s\n",
			addr_format(addr, len, text, sizeof(text)), eg.bind_error);
		errno = EACCES;
		return -1;
	}
	if (family == AF_INET6)
		getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &olen);
	sock = sockd_bind(eg.path, addr, len, type, v6only ? SOCKD_F_V6ONLY : 0);
	if (sock < 0)
		return -1;
	return egress_take(fd, sock, family);
}
