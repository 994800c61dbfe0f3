/* listener.c - the listening TCP sockets: opened (in socketbox's network namespace or
 * another one), inherited, or socket-activated */
#include "listener.h"
#include "addr.h"
#include "log.h"
#include "sd.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LISTENER_MAX_ACTIVATED 64

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

static void listener_option(int fd, int level, int name, int value, const char *what,
			    const char *where)
{
	if (setsockopt(fd, level, name, &value, sizeof(value)) < 0)
		fatal("unable to set %s on %s", what, where);
}

/* Enters the network namespace of file for as long as the socket is made: the socket stays
 * in it. Returns the descriptor of the namespace to return to. Only at start-up, while
 * socketbox still has CAP_SYS_ADMIN and one thread. */
static int listener_enter(const char *file, const char *where)
{
	int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int ns = open(file, O_RDONLY | O_CLOEXEC);

	if (home < 0)
		fatal("unable to open /proc/self/ns/net");
	if (ns < 0)
		fatal("unable to open the network namespace %s of %s", file, where);
	if (setns(ns, CLONE_NEWNET) < 0)
		fatal("unable to enter the network namespace %s of %s", file, where);
	close(ns);
	return home;
}

static void listener_return(int home)
{
	if (setns(home, CLONE_NEWNET) < 0)
		fatal("unable to return to socketbox's own network namespace");
	close(home);
}

/* A new socket bound and listening as l says. */
static int listener_socket(const struct listen_conf *l, unsigned nlisten)
{
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
	char addr[ADDR_STRLEN], where[ADDR_STRLEN + CONFIG_LISTEN_NAME_MAX + CONFIG_NETNS_MAX + 32];
	int fd, home = -1;

	if (l->port == 0)
		fatalx("no listener%s%s: set listen.port (or -p), listen.fd (or -s), or use socket "
		       "activation", nlisten > 1 ? " " : "", nlisten > 1 ? l->name : "");
	sin6.sin6_addr = l->address;
	sin6.sin6_port = htons((uint16_t)l->port);
	addr_format((struct sockaddr *)&sin6, sizeof(sin6), addr, sizeof(addr));
	snprintf(where, sizeof(where), "%s%s%s%s%s", addr, l->netns[0] ? " in " : "", l->netns,
		 nlisten > 1 ? " for listener " : "", nlisten > 1 ? l->name : "");
	if (l->netns[0])
		home = listener_enter(l->netns, where);
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fatal("unable to create an IPv6 socket for %s", where);
	listener_option(fd, SOL_SOCKET, SO_REUSEADDR, l->reuseaddr, "SO_REUSEADDR", where);
	if (l->reuseport)
		listener_option(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT", where);
	listener_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, l->v6only, "IPV6_V6ONLY", where);
	if (l->transparent)
		listener_option(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, 1,
				"IPV6_TRANSPARENT (needs CAP_NET_ADMIN or CAP_NET_RAW)", where);
	if (l->freebind)
		listener_option(fd, IPPROTO_IPV6, IPV6_FREEBIND, 1, "IPV6_FREEBIND", where);
	if (bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) < 0)
		fatal("unable to bind %s", where);
	if (listen(fd, l->backlog) < 0)
		fatal("unable to listen on %s", where);
	if (home >= 0)
		listener_return(home);
	return fd;
}

/* The socket-activated descriptors by LISTEN_FDNAMES ("" for a descriptor without one). */
struct activated {
	int n;
	char names[4096];
	const char *name[LISTENER_MAX_ACTIVATED];
	bool taken[LISTENER_MAX_ACTIVATED];
};

static void listener_activated(struct activated *act)
{
	char *p;

	act->n = sd_listen_fds_names(act->names, sizeof(act->names));
	if (act->n > LISTENER_MAX_ACTIVATED)
		fatalx("socket activation passed %d sockets; socketbox takes at most %d", act->n,
		       LISTENER_MAX_ACTIVATED);
	p = act->names;
	for (int i = 0; i < act->n; i++)
		act->name[i] = p ? strsep(&p, ":") : "";
}

/* The activated descriptor for l: the one of its name, else (for the only listener) the
 * first, as before listeners had names; -1 when none. */
static int listener_take(struct activated *act, const struct listen_conf *l, unsigned nlisten)
{
	for (int i = 0; i < act->n; i++) {
		if (!act->taken[i] && strcmp(act->name[i], l->name) == 0) {
			act->taken[i] = true;
			return SD_LISTEN_FDS_START + i;
		}
	}
	if (nlisten == 1 && act->n > 0 && !act->taken[0]) {
		if (act->n > 1)
			log_warnx("socket activation passed %d sockets; using the first", act->n);
		act->taken[0] = true;
		return SD_LISTEN_FDS_START;
	}
	return -1;
}

void listener_open_all(const struct config *cfg, int *fds)
{
	struct activated act;

	listener_activated(&act);
	for (unsigned i = 0; i < cfg->nlisten; i++) {
		const struct listen_conf *l = &cfg->listen[i];

		if (l->fd >= 0) {
			listener_inherit(l->fd, "inherited");
			fds[i] = l->fd;
		} else if ((fds[i] = listener_take(&act, l, cfg->nlisten)) >= 0) {
			listener_inherit(fds[i], "socket-activated");
		} else {
			fds[i] = listener_socket(l, cfg->nlisten);
		}
	}
	/* A socket systemd holds for a listener this file does not have: say so, and do not
	 * keep its connections waiting in a backlog nobody accepts. */
	for (int i = 0; i < act.n; i++) {
		if (act.taken[i] || (cfg->nlisten == 1 && i > 0))
			continue;
		log_warnx("socket activation passed descriptor %d named \"%s\", but no listener has "
			  "that name; closing it", SD_LISTEN_FDS_START + i, act.name[i]);
		close(SD_LISTEN_FDS_START + i);
	}
}

uint32_t listener_key(const struct listen_conf *running, const struct config *cfg)
{
	int i = config_listen_find(cfg, running->name);

	return i < 0 ? RULES_LISTENER_UNNAMED : (uint32_t)i;
}

void listener_reload_report(const struct config *running, const struct config *cfg)
{
	for (unsigned i = 0; i < cfg->nlisten; i++) {
		const struct listen_conf *l = &cfg->listen[i];
		int r = config_listen_find(running, l->name);

		if (r < 0)
			log_warnx("reload: listener \"%s\" is new; listeners open only at start-up "
				  "(before privileges are dropped), so it opens on restart",
				  l->name);
		else if (!config_listen_same(&running->listen[r], l))
			log_warnx("reload: listener \"%s\" changed; it keeps its start-up settings "
				  "until restart", l->name);
	}
	for (unsigned i = 0; i < running->nlisten; i++)
		if (config_listen_find(cfg, running->listen[i].name) < 0)
			log_warnx("reload: listener \"%s\" is no longer in the file; it accepts until "
				  "restart, and only rules without listener match its connections",
				  running->listen[i].name);
}
