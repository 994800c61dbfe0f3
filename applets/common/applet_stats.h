/* applet_stats.h - --stats PATH: an applet serves the counters its SIGUSR1 line logs in the
 * Prometheus text format on a UNIX stream socket, as socketbox does (metrics.h) */
#ifndef SB_APPLET_STATS_H
#define SB_APPLET_STATS_H

#include "metrics.h"

#include <getopt.h>

#define APPLET_STATS_LONGOPTS                                                                      \
	{                                                                                          \
		"stats", required_argument, NULL, 'T'                                              \
	}

/* The listening socket at path with mode, its directory created if missing like the
 * applet socket's: call it before privileges are dropped. Exits with a message on failure.
 * The file stays at exit; the next start replaces it. */
int applet_stats_listen(const char *path, unsigned mode);

/* Serves render's text on fd (from applet_stats_listen), watched in epfd with ptr: when an
 * event comes with ptr, call metrics_run. Exits with a message on failure. */
struct metrics *applet_stats_serve(int fd, int epfd, void *ptr, metrics_render_fn *render,
				   void *ctx);

#endif
