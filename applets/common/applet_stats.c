/* applet_stats.c - an applet's counters on a stats socket */
#include "applet_stats.h"
#include "applet_socket.h"
#include "evloop.h"
#include "log.h"
#include "unixsock.h"

int applet_stats_listen(const char *path, unsigned mode)
{
	int fd;

	applet_socket_make_dir(path);
	fd = unixsock_listen_stream(path, mode);
	if (fd < 0)
		fatal("unable to create the stats socket %s", path);
	return fd;
}

struct metrics *applet_stats_serve(int fd, int epfd, void *ptr, metrics_render_fn *render,
				   void *ctx)
{
	struct metrics *m = metrics_new(fd, render, ctx);

	if (m == NULL)
		fatal("unable to serve the counters");
	evloop_add(epfd, metrics_fd(m), EPOLLIN, ptr, "the stats socket");
	return m;
}
