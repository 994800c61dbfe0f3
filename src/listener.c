/* listener.c - the one listening TCP socket: opened, inherited, or socket-activated */
#include "listener.h"
#include "addr.h"
#include "log.h"
#include "sd.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

static void listener_inherit(int fd, const char *how)
{
	int accepting = 0, type = 0, flags;
	socklen_t len = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) < 0)
		fatal("%s descriptor %d is not a socket", how, fd);
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM ||
	    !accepting)
		fatalx("%s descriptor %d is not a listening stream socket", how, fd);
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		fatal("unable to make %s descriptor %d non-blocking", how, fd);
}

static void listener_option(int fd, int level, int name, int value, const char *what)
{
	if (setsockopt(fd, level, name, &value, sizeof(value)) < 0)
		fatal("unable to set %s on the listening socket", what);
}

int listener_open(const struct listen_conf *l)
{
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
	char where[ADDR_STRLEN];
	int fd, n;

	if (l->fd >= 0) {
		listener_inherit(l->fd, "inherited");
		return l->fd;
	}
	if ((n = sd_listen_fds()) > 0) {
		if (n > 1)
			log_warnx("socket activation passed %d sockets; using the first", n);
		listener_inherit(SD_LISTEN_FDS_START, "socket-activated");
		return SD_LISTEN_FDS_START;
	}
	if (l->port == 0)
		fatalx("no listener: set listen.port (or -p), listen.fd (or -s), or use socket "
		       "activation");
	sin6.sin6_addr = l->address;
	sin6.sin6_port = htons((uint16_t)l->port);
	addr_format((struct sockaddr *)&sin6, sizeof(sin6), where, sizeof(where));

	fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fatal("unable to create an IPv6 socket");
	listener_option(fd, SOL_SOCKET, SO_REUSEADDR, l->reuseaddr, "SO_REUSEADDR");
	if (l->reuseport)
		listener_option(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
	listener_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, l->v6only, "IPV6_V6ONLY");
	if (l->transparent)
		listener_option(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, 1,
				"IPV6_TRANSPARENT (needs CAP_NET_ADMIN or CAP_NET_RAW)");
	if (l->freebind)
		listener_option(fd, IPPROTO_IPV6, IPV6_FREEBIND, 1, "IPV6_FREEBIND");
	if (bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) < 0)
		fatal("unable to bind %s", where);
	if (listen(fd, l->backlog) < 0)
		fatal("unable to listen on %s", where);
	return fd;
}
