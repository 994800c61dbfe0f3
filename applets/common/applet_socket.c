/* applet_socket.c - the datagram socket an applet receives connections on */
#include "applet_socket.h"
#include "applet.h"
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
		break;
	case 'A':
		if (fdpass_senders_add(&o->senders, arg) < 0)
			cli_usage("--allow-uid needs a user name or uid (at most 16)", arg);
		break;
	default: return false;
	}
	return true;
}

void applet_socket_open(struct applet_socket *s, const struct applet_socket_options *o)
{
	const char *path = o->path, *group = o->group;
	const struct fdpass_senders *senders = &o->senders;

	*s = (struct applet_socket){.fd = -1, .senders = senders};
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

void applet_socket_close(struct applet_socket *s)
{
	struct stat now;

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
		int rc = fdpass_recv_from(s->fd, fd, 0, s->senders, why);

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
