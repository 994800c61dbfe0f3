/* preload_connect.c - connect() redirection of libsocketbox-preload.so (SOCKETBOX_CONNECT):
 * a TCP connect to a listed destination becomes a connection to a UNIX stream socket, put
 * in place of the program's socket with dup3, while getpeername() keeps answering with the
 * address the program asked for. Everything else goes straight to libc. */
#include "preload_connect.h"
#include "addr.h"
#include "connect_map.h"
#include "preload_egress.h"
#include "unixsock.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

union inet_addr {
	sa_family_t family; /* 0: the descriptor is not redirected */
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

static struct {
	bool active; /* SOCKETBOX_CONNECT is set */
	bool broken; /* ... but unusable: every TCP connect fails (closed, not open) */
	struct connect_map map;
	int (*real_connect)(int, const struct sockaddr *, socklen_t);
	int (*real_close)(int);
	int (*real_getsockopt)(int, int, int, void *, socklen_t *);
	int (*real_getpeername)(int, struct sockaddr *, socklen_t *);
	pthread_mutex_t lock;
	union inet_addr *peers; /* by descriptor, grown as needed */
	size_t npeers;
} pc = {.lock = PTHREAD_MUTEX_INITIALIZER};

void preload_connect_init(const char *value)
{
	pc.real_connect = dlsym(RTLD_NEXT, "connect");
	pc.real_close = dlsym(RTLD_NEXT, "close");
	pc.real_getsockopt = dlsym(RTLD_NEXT, "getsockopt");
	pc.real_getpeername = dlsym(RTLD_NEXT, "getpeername");
	if (value == NULL)
		return;
	pc.active = true;
	pc.broken = connect_map_parse(&pc.map, value) < 0;
}

/* Remembers where the program wanted to go. false when the table cannot grow. */
static bool preload_connect_remember(int fd, const struct sockaddr *addr, socklen_t len)
{
	bool ok = true;

	pthread_mutex_lock(&pc.lock);
	if ((size_t)fd >= pc.npeers) {
		size_t n = (size_t)fd + 64;
		union inet_addr *p = realloc(pc.peers, n * sizeof(*p));

		if (p == NULL) {
			ok = false;
			goto out;
		}
		memset(p + pc.npeers, 0, (n - pc.npeers) * sizeof(*p));
		pc.peers = p;
		pc.npeers = n;
	}
	memset(&pc.peers[fd], 0, sizeof(pc.peers[fd]));
	memcpy(&pc.peers[fd], addr, len < sizeof(pc.peers[fd]) ? len : sizeof(pc.peers[fd]));
out:
	pthread_mutex_unlock(&pc.lock);
	return ok;
}

/* A copy of fd's entry; family 0 when fd is not redirected. */
static union inet_addr preload_connect_entry(int fd)
{
	union inet_addr a = {0};

	pthread_mutex_lock(&pc.lock);
	if (fd >= 0 && (size_t)fd < pc.npeers)
		a = pc.peers[fd];
	pthread_mutex_unlock(&pc.lock);
	return a;
}

static void preload_connect_copy(const union inet_addr *a, struct sockaddr *addr,
				 socklen_t *lenp)
{
	socklen_t len = a->family == AF_INET ? sizeof(a->in) : sizeof(a->in6);

	memcpy(addr, a, *lenp < len ? *lenp : len);
	*lenp = len;
}

bool preload_connect_peer(int fd, struct sockaddr *addr, socklen_t *lenp)
{
	union inet_addr a = preload_connect_entry(fd);

	if (a.family == 0 || addr == NULL || lenp == NULL)
		return false;
	preload_connect_copy(&a, addr, lenp);
	return true;
}

bool preload_connect_local(int fd, struct sockaddr *addr, socklen_t *lenp)
{
	union inet_addr a = preload_connect_entry(fd), any = {0};

	if (a.family == 0 || addr == NULL || lenp == NULL)
		return false;
	any.family = a.family;
	preload_connect_copy(&any, addr, lenp);
	return true;
}

bool preload_connect_redirected(int fd)
{
	return preload_connect_entry(fd).family != 0;
}

void preload_connect_forget(int fd)
{
	pthread_mutex_lock(&pc.lock);
	if (fd >= 0 && (size_t)fd < pc.npeers)
		pc.peers[fd].family = 0;
	pthread_mutex_unlock(&pc.lock);
}

/* Connects a UNIX stream socket to the rule's path and puts it in fd's place, keeping
 * O_NONBLOCK and FD_CLOEXEC. A non-blocking socket gets EINPROGRESS, then is writable
 * at once, as a TCP connect that completes quickly; errors read as TCP's would. */
static int preload_connect_redirect(int fd, const struct sockaddr *addr, socklen_t len,
				    const struct connect_rule *r)
{
	int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD), u, saved;
	struct sockaddr_un sun;
	socklen_t sunlen;

	if (fl < 0 || fdfl < 0 || unixsock_addr(r->path, &sun, &sunlen) < 0)
		return -1;
	u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | ((fl & O_NONBLOCK) ? SOCK_NONBLOCK : 0), 0);
	if (u < 0)
		return -1;
	if (pc.real_connect(u, (struct sockaddr *)&sun, sunlen) < 0) {
		/* A full backlog (EAGAIN) or no listener: what TCP says for no listener. */
		saved = errno == EAGAIN || errno == ENOENT ? ECONNREFUSED : errno;
		pc.real_close(u);
		errno = saved;
		return -1;
	}
	if (!preload_connect_remember(fd, addr, len) ||
	    dup3(u, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		saved = errno;
		preload_connect_forget(fd);
		pc.real_close(u);
		errno = saved;
		return -1;
	}
	pc.real_close(u);
	if (fl & O_NONBLOCK) {
		errno = EINPROGRESS;
		return -1;
	}
	return 0;
}

/* A second connect() on a redirected descriptor answers as TCP's would (EISCONN, as
 * the UNIX connect is complete at once) instead of being redirected again; one that
 * is not connected after all gets the kernel's own answer. */
static int preload_connect_again(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct sockaddr_un sun;
	socklen_t sunlen = sizeof(sun);

	if (pc.real_getpeername(fd, (struct sockaddr *)&sun, &sunlen) == 0 &&
	    sun.sun_family == AF_UNIX) {
		errno = EISCONN;
		return -1;
	}
	return pc.real_connect(fd, addr, len);
}

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	const struct connect_rule *r;
	struct in6_addr a;
	uint16_t port;
	int type = 0;
	socklen_t tlen = sizeof(type);
	char text[ADDR_STRLEN];

	if (pc.real_connect == NULL) /* called before our constructor ran */
		preload_connect_init(NULL);
	if (preload_connect_redirected(fd))
		return preload_connect_again(fd, addr, len);
	if ((!pc.active && !preload_egress_active()) || addr == NULL || len < sizeof(sa_family_t) ||
	    (addr->sa_family == AF_INET && len < sizeof(struct sockaddr_in)) ||
	    (addr->sa_family == AF_INET6 && len < sizeof(struct sockaddr_in6)) ||
	    addr_from_sockaddr(addr, &a, &port) < 0 ||
	    pc.real_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 || type != SOCK_STREAM)
		return pc.real_connect(fd, addr, len);
	if (pc.active && pc.broken) {
		fprintf(stderr, "libsocketbox-preload: refusing to connect to %s: SOCKETBOX_CONNECT "
				"is not a list of ADDR:PORT=SOCKET such as "
				"\"127.0.0.1:5432=/run/pg.sock,[::1]:6379=@redis\"\n",
			addr_format(addr, len, text, sizeof(text)));
		errno = ECONNREFUSED;
		return -1;
	}
	r = pc.active ? connect_map_find(&pc.map, &a, port) : NULL;
	if (r == NULL && preload_egress_active())
		return preload_egress_connect(fd, addr, len, pc.real_connect);
	if (r == NULL)
		return pc.real_connect(fd, addr, len);
	return preload_connect_redirect(fd, addr, len, r);
}
