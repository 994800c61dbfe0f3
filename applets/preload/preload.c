/* libsocketbox-preload.so - lets an unmodified TCP daemon serve connections handed off by
 * socketbox. When the daemon binds a TCP socket to a selected port, the descriptor is
 * replaced in place by a UNIX datagram socket bound at SOCKETBOX_SOCKET; accept() then
 * returns the connections that arrive on it. Everything else goes straight to libc.
 *
 * Environment (read with secure_getenv, so set-id programs are left alone):
 *   SOCKETBOX_SOCKET  the socket path; "%p" is replaced by the port (see subst.h)
 *   SOCKETBOX_PORTS   which ports: "80,443", "8000-8099", or "*"
 *   SOCKETBOX_MODE    permissions of the socket file (octal, default 0660)
 *   SOCKETBOX_ALLOW_UID  comma-separated users or uids allowed to hand connections over
 *   SOCKETBOX_CONNECT  TCP destinations to reach through UNIX stream sockets instead
 *                      (preload_connect.c)
 *   SOCKETBOX_EGRESS, SOCKETBOX_XBIND  other TCP connects, and binds of these ports, through
 *                      socketbox-sockd (preload_egress.c)
 *   SOCKETBOX_REGISTER  PATH:SLOT instead of SOCKETBOX_SOCKET: register for SLOT on
 *                      socketbox's registration socket (applet_register.h)
 *   SOCKETBOX_EXIT_ON_DISCONNECT  1: exit when that registration is refused or ends
 */
#include "addr.h"
#include "applet_register.h"
#include "fdpass.h"
#include "log.h"
#include "ports.h"
#include "preload_connect.h"
#include "preload_egress.h"
#include "preload_env.h"
#include "subst.h"
#include "unixsock.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define PRELOAD_MAX_LISTENERS 64
#define PRELOAD_FD_BITS 65536 /* descriptors tracked in bitmaps; above, a table scan */

struct listener {
	int fd; /* -1: free */
	int family;
	struct sockaddr_storage bound; /* what the daemon asked for, for getsockname() */
	socklen_t bound_len;
	bool listening;
	bool shut;   /* shutdown() was called: accept() fails with EINVAL, as for TCP */
	int divert;  /* AF_INET6 listener sharing its port with an AF_INET one: where its
		      * IPv4-mapped connections go, or -1 */
	bool paired; /* AF_INET half of a dual-stack pair: fed only through our socketpair */
	bool owner; /* this entry created the socket file (and may remove it) */
	bool registered; /* SOCKETBOX_REGISTER: fd is an epoll set holding reg's descriptors */
	struct applet_register reg;
	pid_t pid;  /* ... in this process */
	dev_t dev;
	ino_t ino;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static struct {
	struct preload_env env;
	pthread_mutex_t lock;
	struct listener listeners[PRELOAD_MAX_LISTENERS];
	unsigned nlisteners;
	_Atomic uint64_t listener_bits[PRELOAD_FD_BITS / 64];
	_Atomic uint64_t v4_bits[PRELOAD_FD_BITS / 64]; /* accepted for an AF_INET listener */
	int pending_divert; /* set by preload_pair_families for the listener being made */
} pl = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int (*real_bind)(int, const struct sockaddr *, socklen_t);
static int (*real_listen)(int, int);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
static int (*real_getsockname)(int, struct sockaddr *, socklen_t *);
static int (*real_getpeername)(int, struct sockaddr *, socklen_t *);
static int (*real_getsockopt)(int, int, int, void *, socklen_t *);
static int (*real_setsockopt)(int, int, int, const void *, socklen_t);
static int (*real_close)(int);
static int (*real_shutdown)(int, int);

/* Atomic: a threaded daemon's accept() calls set and clear bits of one word at once. */
static bool bit_get(const _Atomic uint64_t *bits, int fd)
{
	return fd >= 0 && fd < PRELOAD_FD_BITS &&
	       (atomic_load_explicit(&bits[fd / 64], memory_order_relaxed) >> (fd % 64)) & 1;
}

static void bit_set(_Atomic uint64_t *bits, int fd, bool on)
{
	if (fd < 0 || fd >= PRELOAD_FD_BITS)
		return;
	if (on)
		atomic_fetch_or_explicit(&bits[fd / 64], 1ULL << (fd % 64), memory_order_relaxed);
	else
		atomic_fetch_and_explicit(&bits[fd / 64], ~(1ULL << (fd % 64)),
					  memory_order_relaxed);
}

/* The name of an SKBOX_ variable (the original socketbox's library), or NULL. Like
 * secure_getenv, nothing for set-id programs. */
static const char *preload_legacy_variable(void)
{
	static char name[48];

	if (getauxval(AT_SECURE))
		return NULL;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "SKBOX_", 6) == 0) {
			snprintf(name, sizeof(name), "%.*s", (int)strcspn(*e, "="), *e);
			return name;
		}
	return NULL;
}

__attribute__((constructor)) static void preload_init(void)
{
	real_bind = dlsym(RTLD_NEXT, "bind");
	real_listen = dlsym(RTLD_NEXT, "listen");
	real_accept4 = dlsym(RTLD_NEXT, "accept4");
	real_getsockname = dlsym(RTLD_NEXT, "getsockname");
	real_getpeername = dlsym(RTLD_NEXT, "getpeername");
	real_getsockopt = dlsym(RTLD_NEXT, "getsockopt");
	real_setsockopt = dlsym(RTLD_NEXT, "setsockopt");
	real_close = dlsym(RTLD_NEXT, "close");
	real_shutdown = dlsym(RTLD_NEXT, "shutdown");
	log_init("libsocketbox-preload", false, 0);
	for (unsigned i = 0; i < PRELOAD_MAX_LISTENERS; i++)
		pl.listeners[i].fd = -1;
	if (secure_getenv("SOCKETBOX_REGISTER"))
		preload_env_parse_register(&pl.env, secure_getenv("SOCKETBOX_REGISTER"),
					   secure_getenv("SOCKETBOX_EXIT_ON_DISCONNECT"),
					   secure_getenv("SOCKETBOX_SOCKET"),
					   secure_getenv("SOCKETBOX_PORTS"),
					   secure_getenv("SOCKETBOX_MODE"),
					   secure_getenv("SOCKETBOX_ALLOW_UID"));
	else
		preload_env_parse(&pl.env, secure_getenv("SOCKETBOX_SOCKET"),
				  secure_getenv("SOCKETBOX_PORTS"), secure_getenv("SOCKETBOX_MODE"),
				  secure_getenv("SOCKETBOX_ALLOW_UID"), preload_legacy_variable());
	preload_connect_init(secure_getenv("SOCKETBOX_CONNECT"));
	preload_egress_init(secure_getenv("SOCKETBOX_EGRESS"), secure_getenv("SOCKETBOX_XBIND"));
}

static struct listener *preload_listener(int fd)
{
	if (pl.nlisteners == 0)
		return NULL;
	if (fd < PRELOAD_FD_BITS && !bit_get(pl.listener_bits, fd))
		return NULL;
	for (unsigned i = 0; i < PRELOAD_MAX_LISTENERS; i++)
		if (pl.listeners[i].fd == fd)
			return &pl.listeners[i];
	return NULL;
}

/* A listener of this process on the socket file path, of the given family (or any, 0). */
static struct listener *preload_by_path(const char *path, int family)
{
	pid_t pid = getpid();

	for (unsigned i = 0; i < PRELOAD_MAX_LISTENERS; i++)
		if (pl.listeners[i].fd >= 0 && pl.listeners[i].pid == pid &&
		    (family == 0 || pl.listeners[i].family == family) &&
		    strcmp(pl.listeners[i].path, path) == 0)
			return &pl.listeners[i];
	return NULL;
}

static bool preload_selected(int fd, const struct sockaddr *addr, socklen_t len, uint16_t *port)
{
	struct in6_addr a;
	int type = 0;
	socklen_t tlen = sizeof(type);

	if (!pl.env.active || addr == NULL || len < sizeof(sa_family_t) ||
	    (addr->sa_family == AF_INET && len < sizeof(struct sockaddr_in)) ||
	    (addr->sa_family == AF_INET6 && len < sizeof(struct sockaddr_in6)) ||
	    addr_from_sockaddr(addr, &a, port) < 0 || *port == 0)
		return false;
	if (real_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 || type != SOCK_STREAM)
		return false;
	return pl.env.error != NULL || ports_contain(pl.env.ports, pl.env.nports, *port);
}

/* Puts sock in fd's place, keeping fd's O_NONBLOCK and FD_CLOEXEC. */
int preload_swap(int fd, int sock)
{
	int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD), cur;

	if (fl < 0 || fdfl < 0 || dup3(sock, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0)
		return -1;
	cur = fcntl(fd, F_GETFL);
	if (cur < 0 || fcntl(fd, F_SETFL, (cur & ~O_NONBLOCK) | (fl & O_NONBLOCK)) < 0)
		return -1;
	return 0;
}

/* The same port bound in both families (nginx's "listen 80; listen [::]:80;"): the kernel
 * would give IPv4 clients to the AF_INET listener and IPv6 ones to the AF_INET6 listener.
 * The AF_INET6 listener holds the socket file's socket; the AF_INET listener becomes the
 * read end of a private socketpair, and accept() on the AF_INET6 listener passes IPv4-mapped
 * connections on to it. Returns the socket for the new listener, or -1. */
static int preload_pair_families(int family, struct listener *other)
{
	int pair[2], sock;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) < 0)
		return -1;
	if (family == AF_INET) {
		other->divert = pair[1];
		return pair[0];
	}
	/* The AF_INET listener came first and holds the file's socket: move it here. */
	sock = fcntl(other->fd, F_DUPFD_CLOEXEC, 0);
	if (sock < 0 || preload_swap(other->fd, pair[0]) < 0) {
		if (sock >= 0)
			real_close(sock);
		real_close(pair[0]);
		real_close(pair[1]);
		return -1;
	}
	real_close(pair[0]);
	other->divert = -1;
	other->paired = true;
	other->owner = false;
	pl.pending_divert = pair[1];
	return sock;
}

/* A free listener entry, or NULL with EMFILE. Under the lock. */
static struct listener *preload_listener_free(void)
{
	for (unsigned i = 0; i < PRELOAD_MAX_LISTENERS; i++)
		if (pl.listeners[i].fd < 0)
			return &pl.listeners[i];
	errno = EMFILE;
	return NULL;
}

/* Fills entry l for the daemon's descriptor fd, bound to addr, known by path (a socket
 * file, or a registration's key), and makes it a listener. Under the lock. */
static void preload_listener_take(struct listener *l, int fd, const struct sockaddr *addr,
				  socklen_t len, const char *path)
{
	memset(l, 0, sizeof(*l));
	l->fd = fd;
	l->family = addr->sa_family;
	l->bound_len = len < sizeof(l->bound) ? len : sizeof(l->bound);
	memcpy(&l->bound, addr, l->bound_len);
	l->divert = -1;
	l->pid = getpid();
	snprintf(l->path, sizeof(l->path), "%s", path);
	bit_set(pl.listener_bits, fd, true);
	pl.nlisteners++;
}

/* SOCKETBOX_REGISTER: the listener's descriptor becomes an epoll set that holds the
 * registration and its retry timer (applet_register.c). It is readable when a connection
 * (or a retry) is due, and stays the same open file while the registration is dialed
 * again, so that the daemon's own epoll, poll or select keeps watching the right thing.
 * One listener per port and process: no SO_REUSEPORT sharing, no dual-stack pairs. The
 * registration's state is the process's own: a daemon whose forked workers accept shares
 * the registration while it lasts, but each worker would dial again on its own after an
 * outage (socketbox-preload(8) says to use SOCKETBOX_SOCKET for those). */
static int preload_bind_registered(int fd, const struct sockaddr *addr, socklen_t len,
				   uint16_t port)
{
	struct listener *l = NULL;
	char key[sizeof(l->path)];
	int ep = -1, saved;

	snprintf(key, sizeof(key), "slot %u port %u", (unsigned)pl.env.reg.slot, port);
	pthread_mutex_lock(&pl.lock);
	if (preload_by_path(key, 0)) {
		errno = EADDRINUSE;
		goto bad;
	}
	l = preload_listener_free();
	if (l == NULL)
		goto bad;
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || preload_swap(fd, ep) < 0)
		goto bad;
	real_close(ep);
	preload_listener_take(l, fd, addr, len, key);
	l->registered = true;
	applet_register_start(&l->reg, &pl.env.reg, fd, l);
	/* socketbox answers at once; a daemon that forks after bind() gets it settled. */
	applet_register_settle(&l->reg, 1000);
	pthread_mutex_unlock(&pl.lock);
	return 0;
bad:
	saved = errno;
	fprintf(stderr, "libsocketbox-preload: unable to take port %u for SOCKETBOX_REGISTER %s: %s\n",
		port, pl.env.reg.path, strerror(saved));
	if (ep >= 0)
		real_close(ep);
	pthread_mutex_unlock(&pl.lock);
	errno = saved;
	return -1;
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct listener *l = NULL, *shared, *other;
	struct in6_addr a;
	char path[sizeof(pl.listeners[0].path)];
	struct stat st = {0};
	uint16_t port;
	int sock = -1, saved;

	if (!preload_selected(fd, addr, len, &port))
		return preload_egress_bind(fd, addr, len, real_bind);
	if (pl.env.error) {
		fprintf(stderr, "libsocketbox-preload: refusing to bind port %u: %s\n", port,
			pl.env.error);
		errno = EINVAL;
		return -1;
	}
	addr_from_sockaddr(addr, &a, &port);
	if (pl.env.reg.path[0])
		return preload_bind_registered(fd, addr, len, port);
	if (subst_fill(pl.env.tmpl, &a, port, path, sizeof(path)) < 0) {
		fprintf(stderr, "libsocketbox-preload: SOCKETBOX_SOCKET for port %u is too long\n",
			port);
		errno = ENAMETOOLONG;
		return -1;
	}
	pthread_mutex_lock(&pl.lock);
	l = preload_listener_free();
	if (l == NULL)
		goto bad;
	pl.pending_divert = -1;
	shared = preload_by_path(path, addr->sa_family);
	other = preload_by_path(path, addr->sa_family == AF_INET ? AF_INET6 : AF_INET);
	if (shared) {
		/* SO_REUSEPORT sockets of nginx workers, say: one queue for all. */
		sock = fcntl(shared->fd, F_DUPFD_CLOEXEC, 0);
	} else if (other) {
		sock = preload_pair_families(addr->sa_family, other);
	} else {
		sock = unixsock_bind_dgram(path, pl.env.mode);
		if (sock >= 0 && path[0] != '@')
			stat(path, &st);
		if (sock >= 0 && pl.env.senders.n > 0 && unixsock_passcred(sock) < 0) {
			real_close(sock);
			sock = -1;
		}
	}
	if (sock < 0 || preload_swap(fd, sock) < 0)
		goto bad;
	real_close(sock);
	preload_listener_take(l, fd, addr, len, path);
	l->owner = shared == NULL && (other == NULL || addr->sa_family == AF_INET6);
	l->divert = pl.pending_divert;
	l->paired = other != NULL && addr->sa_family == AF_INET;
	if (other && addr->sa_family == AF_INET6) {
		l->dev = other->dev;
		l->ino = other->ino;
	}
	if (!other) {
		l->dev = st.st_dev;
		l->ino = st.st_ino;
	}
	pthread_mutex_unlock(&pl.lock);
	return 0;
bad:
	saved = errno;
	fprintf(stderr, "libsocketbox-preload: unable to bind SOCKETBOX_SOCKET %s for port %u: %s\n",
		path, port, strerror(saved));
	if (sock >= 0)
		real_close(sock);
	pthread_mutex_unlock(&pl.lock);
	errno = saved;
	return -1;
}

int listen(int fd, int backlog)
{
	struct listener *l = preload_listener(fd);

	if (l == NULL)
		return real_listen(fd, backlog);
	l->listening = true;
	return 0;
}

/* An AF_INET daemon gets AF_INET addresses for IPv4-mapped ones. */
static socklen_t preload_convert(int family, struct sockaddr_storage *ss, socklen_t len)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	struct sockaddr_in sin = {.sin_family = AF_INET};

	if (family != AF_INET || ss->ss_family != AF_INET6 ||
	    !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return len;
	sin.sin_port = sin6->sin6_port;
	memcpy(&sin.sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &sin, sizeof(sin));
	return sizeof(sin);
}

/* Copies like the kernel: at most *lenp bytes, and *lenp becomes the full length. */
static void preload_copy_addr(const struct sockaddr_storage *ss, socklen_t len,
			      struct sockaddr *addr, socklen_t *lenp)
{
	if (addr == NULL || lenp == NULL)
		return;
	memcpy(addr, ss, *lenp < len ? *lenp : len);
	*lenp = len;
}

/* An IPv4 client that reached the AF_INET6 half of a dual-stack pair belongs to the
 * AF_INET listener: pass it on. False (keep it here) when it is not IPv4, or when the
 * AF_INET listener's queue is full. */
static bool preload_divert(const struct listener *l, int c, const struct sockaddr_storage *peer)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)peer;

	if (peer->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) ||
	    fdpass_send(l->divert, c, MSG_DONTWAIT) < 0)
		return false;
	real_close(c);
	return true;
}

/* The client's address of connection c into ss (len: room, then its length); one of the
 * listener's family when the client has none (AF_UNIX). */
static void preload_peer(const struct listener *l, int c, struct sockaddr_storage *ss,
			 socklen_t *len)
{
	if (real_getpeername(c, (struct sockaddr *)ss, len) == 0)
		return;
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)l->family;
	*len = l->family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/* Whether accept() on fd must not wait: 1 (with EAGAIN set), 0, or -1 on failure. */
static int preload_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	if (!(fl & O_NONBLOCK))
		return 0;
	errno = EAGAIN;
	return 1;
}

/* The next connection of a registered listener. The registration is driven here, under
 * the lock (threads may accept at once); a blocking listener waits on its epoll set, and a
 * signal ends that wait with EINTR whatever SA_RESTART says (epoll_wait is never
 * restarted). */
static int preload_accept_registered(struct listener *l, int fd)
{
	struct fdpass_addrs ignored; /* the daemon asks the socket itself (getpeername) */
	char why[FDPASS_WHY_MAX];
	struct epoll_event ev;
	int c, rc;

	for (;;) {
		if (l->shut) {
			errno = EINVAL;
			return -1;
		}
		pthread_mutex_lock(&pl.lock);
		rc = applet_register_receive(&l->reg, &c, &ignored, why);
		pthread_mutex_unlock(&pl.lock);
		if (rc > 0)
			return c;
		if (rc == 0) {
			log_warnx("dropped a message on %s: %s", l->path, why);
			continue;
		}
		if (preload_nonblocking(fd) != 0 || epoll_wait(fd, &ev, 1, -1) < 0)
			return -1;
	}
}

int accept4(int fd, struct sockaddr *addr, socklen_t *lenp, int flags)
{
	struct listener *l = preload_listener(fd);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char why[FDPASS_WHY_MAX];
	int c;

	if (l == NULL)
		return real_accept4(fd, addr, lenp, flags);
	if (!l->listening) {
		errno = EINVAL; /* as the kernel says before listen() */
		return -1;
	}
	if (l->registered) {
		c = preload_accept_registered(l, fd);
		if (c < 0)
			return -1;
		preload_peer(l, c, &ss, &len);
	}
	for (bool wait = false; !l->registered;) {
		int rc;

		if (l->shut) {
			errno = EINVAL;
			return -1;
		}
		/* A blocking listener blocks in recvmsg(), so SA_RESTART, SO_RCVTIMEO and
		 * several waiting processes behave as with accept(). */
		rc = fdpass_recv_from(fd, &c, wait ? FDPASS_WAIT : 0, l->paired ? NULL : &pl.env.senders,
				      why);
		if (rc > 0) {
			preload_peer(l, c, &ss, &len);
			if (l->divert >= 0 && preload_divert(l, c, &ss))
				continue;
			break;
		}
		if (rc == 0) {
			if (!l->shut)
				log_warnx("dropped a message on %s: %s", l->path, why);
			continue;
		}
		if (errno != EAGAIN || wait || preload_nonblocking(fd) != 0)
			return -1;
		wait = true;
	}
	/* One ioctl instead of F_GETFL + F_SETFL: this runs for every connection. */
	if ((flags & SOCK_NONBLOCK) && ioctl(c, FIONBIO, &(int){1}) < 0)
		goto bad;
	if (!(flags & SOCK_CLOEXEC) && fcntl(c, F_SETFD, 0) < 0)
		goto bad;
	preload_copy_addr(&ss, preload_convert(l->family, &ss, len), addr, lenp);
	bit_set(pl.v4_bits, c, l->family == AF_INET);
	return c;
bad:
	real_close(c);
	return -1;
}

int accept(int fd, struct sockaddr *addr, socklen_t *lenp)
{
	return accept4(fd, addr, lenp, 0);
}

int getsockname(int fd, struct sockaddr *addr, socklen_t *lenp)
{
	struct listener *l = preload_listener(fd);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (l) {
		preload_copy_addr(&l->bound, l->bound_len, addr, lenp);
		return 0;
	}
	if (preload_connect_local(fd, addr, lenp))
		return 0;
	if (!bit_get(pl.v4_bits, fd) || lenp == NULL)
		return real_getsockname(fd, addr, lenp);
	if (real_getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	preload_copy_addr(&ss, preload_convert(AF_INET, &ss, len), addr, lenp);
	return 0;
}

int getpeername(int fd, struct sockaddr *addr, socklen_t *lenp)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (preload_connect_peer(fd, addr, lenp))
		return 0;
	if (!bit_get(pl.v4_bits, fd) || lenp == NULL)
		return real_getpeername(fd, addr, lenp);
	if (real_getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	preload_copy_addr(&ss, preload_convert(AF_INET, &ss, len), addr, lenp);
	return 0;
}

int getsockopt(int fd, int level, int name, void *val, socklen_t *lenp)
{
	struct listener *l = preload_listener(fd);
	int v;

	/* TCP options of a redirected connection read as 0 (a UNIX socket has none). */
	if (l == NULL && level == IPPROTO_TCP && val && lenp && *lenp >= sizeof(int) &&
	    preload_connect_redirected(fd)) {
		memset(val, 0, *lenp);
		return 0;
	}
	if (l == NULL || level != SOL_SOCKET || val == NULL || lenp == NULL ||
	    *lenp < sizeof(int))
		return real_getsockopt(fd, level, name, val, lenp);
	switch (name) {
	case SO_TYPE: v = SOCK_STREAM; break;
	case SO_ACCEPTCONN: v = l->listening; break;
	case SO_DOMAIN: v = l->family; break;
	case SO_PROTOCOL: v = IPPROTO_TCP; break;
	default: return real_getsockopt(fd, level, name, val, lenp);
	}
	memcpy(val, &v, sizeof(v));
	*lenp = sizeof(v);
	return 0;
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	int rc;

	/* TCP options mean nothing on the UNIX socket of a redirected connection. */
	if (level == IPPROTO_TCP && preload_connect_redirected(fd))
		return 0;
	if (preload_listener(fd) == NULL)
		return real_setsockopt(fd, level, name, val, len);
	/* TCP and IP options mean nothing on the datagram socket that replaced the listener;
	 * the daemon must not fail over them. */
	if (level != SOL_SOCKET)
		return 0;
	rc = real_setsockopt(fd, level, name, val, len);
	/* ENOTSOCK: a registered listener is an epoll set. */
	if (rc < 0 && (errno == ENOPROTOOPT || errno == EOPNOTSUPP || errno == ENOTSOCK))
		rc = 0;
	return rc;
}

int shutdown(int fd, int how)
{
	struct listener *l = preload_listener(fd);

	if (l && how != SHUT_WR)
		l->shut = true; /* before waking a thread blocked in accept() */
	if (l && l->registered)
		return 0; /* an epoll set: nothing to shut down */
	return real_shutdown(fd, how);
}

int close(int fd)
{
	struct listener *l;

	bit_set(pl.v4_bits, fd, false);
	preload_connect_forget(fd);
	l = preload_listener(fd);
	if (l) {
		struct stat st;

		pthread_mutex_lock(&pl.lock);
		/* A child's copies of the registration are closed, but it leaves the epoll set,
		 * which its parent shares, alone. */
		if (l->registered && l->pid == getpid()) {
			applet_register_stop(&l->reg);
		} else if (l->registered) {
			if (l->reg.fd >= 0)
				real_close(l->reg.fd);
			real_close(l->reg.timer_fd);
		}
		/* Only the process that made the socket file removes it, and only while it is
		 * still that file: prefork children closing their copy remove nothing. */
		if (l->owner && l->pid == getpid()) {
			struct listener *heir;

			l->fd = -1; /* so that preload_by_path finds another sharer, if any */
			heir = preload_by_path(l->path, 0);
			if (heir) {
				heir->owner = true;
				heir->dev = l->dev;
				heir->ino = l->ino;
			} else if (l->path[0] != '@' && stat(l->path, &st) == 0 &&
				   st.st_ino == l->ino && st.st_dev == l->dev) {
				unlink(l->path);
			}
		}
		l->fd = -1;
		bit_set(pl.listener_bits, fd, false);
		pl.nlisteners--;
		pthread_mutex_unlock(&pl.lock);
	}
	return real_close(fd);
}
