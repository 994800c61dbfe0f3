/* applet_socket.c - where an applet receives connections: its datagram socket, or its
 * registration */
#include "applet_socket.h"
#include "applet.h"
#include "evloop.h"
#include "log.h"
#include "num.h"
#include "sd.h"
#include "unixsock.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The directory of the socket may not exist yet on a fresh host (/run/socketbox). */
void applet_socket_make_dir(const char *path)
{
	char *copy, *dir;

	if (path[0] == '@')
		return;
	copy = strdup(path);
	if (copy == NULL)
		fatal("out of memory");
	dir = dirname(copy);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		fatal("unable to create the directory %s for the socket", dir);
	free(copy);
}

bool applet_socket_option(struct applet_socket_options *o, int opt, const char *arg)
{
	switch (opt) {
	case 's': o->path = arg; break;
	case 'g': o->group = arg; break;
	case 'm':
		if (num_parse_mode(arg, &o->mode) < 0)
			cli_usage("-m needs an octal mode such as 0660", arg);
		o->mode_set = true;
		break;
	case 'R':
		if (applet_register_parse(&o->reg, arg, false) < 0)
			cli_usage("--register needs PATH:SLOT, a socket path and a number", arg);
		break;
	case 'P':
		if (applet_register_parse(&o->reg, arg, true) < 0)
			cli_usage("-P needs SLOT:PATH, a number and a socket path", arg);
		break;
	case 'E': o->reg.exit_on_disconnect = true; break;
	case 'A':
		if (fdpass_senders_add(&o->senders, arg) < 0)
			cli_usage("--allow-uid needs a user name or uid (at most 16)", arg);
		break;
	default: return false;
	}
	return true;
}

bool applet_socket_registering(const struct applet_socket_options *o)
{
	return o->reg.path[0] != '\0';
}

/* --register replaces the socket file: the options about that file make no sense with it. */
static void applet_socket_check_register(const struct applet_socket_options *o)
{
	if (!applet_socket_registering(o)) {
		if (o->reg.exit_on_disconnect)
			cli_usage("--exit-on-disconnect needs --register", NULL);
		return;
	}
	if (o->path)
		cli_usage("--register and -s exclude each other: connections come from one", NULL);
	if (o->group || o->mode_set || o->senders.n > 0)
		cli_usage("-m, -g and --allow-uid concern the socket file, which --register "
			  "does not make",
			  NULL);
	if (sd_listen_fds() > 0)
		cli_usage("--register and socket activation exclude each other", NULL);
}

void applet_socket_open(struct applet_socket *s, const struct applet_socket_options *o)
{
	const char *path = o->path, *group = o->group;
	const struct fdpass_senders *senders = &o->senders;

	*s = (struct applet_socket){.fd = -1, .o = o, .senders = senders};
	applet_socket_check_register(o);
	if (applet_socket_registering(o))
		return;
	if (sd_listen_fds() > 0) {
		int type = 0;
		socklen_t len = sizeof(type);

		s->fd = SD_LISTEN_FDS_START;
		if (getsockopt(s->fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_DGRAM)
			fatalx("socket-activated descriptor %d is not a datagram socket", s->fd);
	} else {
		applet_socket_make_dir(path);
		s->fd = unixsock_bind_dgram(path, o->mode);
		if (s->fd < 0)
			fatal("unable to bind %s", path);
		s->path = path;
		if (path[0] != '@' && stat(path, &s->st) < 0)
			fatal("unable to look at %s after binding it", path);
		if (group && path[0] != '@' && unixsock_set_group(path, group) < 0)
			fatal("unable to give %s to group %s", path, group);
	}
	if (senders->n > 0 && unixsock_passcred(s->fd) < 0)
		fatal("unable to ask for the senders' credentials on %s",
		      s->path ? s->path : "the socket");
}

void applet_socket_watch(struct applet_socket *s, int epfd, void *ptr)
{
	if (applet_socket_registering(s->o))
		applet_register_start(&s->reg, &s->o->reg, epfd, ptr);
	else
		evloop_add(epfd, s->fd, EPOLLIN, ptr, "the socket");
	s->epfd = epfd;
	s->ptr = ptr;
}

void applet_socket_receiving(struct applet_socket *s, bool on)
{
	if (applet_socket_registering(s->o))
		applet_register_receiving(&s->reg, on);
	else if (evloop_mod(s->epfd, s->fd, on ? EPOLLIN : 0, s->ptr) < 0)
		fatal("unable to %s receiving connections", on ? "resume" : "pause");
}

void applet_socket_close(struct applet_socket *s)
{
	struct stat now;

	if (applet_socket_registering(s->o)) {
		applet_register_stop(&s->reg);
		return;
	}

	if (s->path && s->path[0] != '@' && stat(s->path, &now) == 0 &&
	    now.st_ino == s->st.st_ino && now.st_dev == s->st.st_dev)
		unlink(s->path);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

int applet_socket_receive(struct applet_socket *s, int *fd)
{
	for (;;) {
		char why[FDPASS_WHY_MAX];
		int rc;

		s->addrs.set = false;
		rc = applet_socket_registering(s->o)
			     ? applet_register_receive(&s->reg, fd, &s->addrs, why)
			     : fdpass_recv_addrs(s->fd, fd, 0, s->senders, &s->addrs, why);

		if (rc > 0) {
			s->received++;
			return 1;
		}
		if (rc == 0) {
			s->dropped++;
			log_warnx("dropped a message on the socket: %s", why);
			continue;
		}
		/* Not a spin: epoll wakes us again only if something is still waiting. */
		if (errno != EAGAIN)
			log_warn("unable to receive on the socket");
		return 0;
	}
}
