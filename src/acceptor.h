/* acceptor.h - the event loop: accept, match, hand off; signals and reloads */
#ifndef SB_ACCEPTOR_H
#define SB_ACCEPTOR_H

#include "config.h"

#include <stdio.h>

struct acceptor;

/* Sets up the loop around listen_fds (one per listener of cfg) with cfg and connects the
 * targets. reload_file is the file SIGHUP re-reads, or NULL in quick mode; fixed
 * (config_fixed_copy) holds what that file said of the start-up-only settings, to warn
 * when a reload changes them. The acceptor owns cfg and fixed from now on. */
struct acceptor *acceptor_new(const int *listen_fds, struct config *cfg, const char *reload_file,
			      struct config *fixed);

/* Serves the counters (stats.h) on listen_fd, a listening stream socket, from now on. */
void acceptor_serve_stats(struct acceptor *a, int listen_fd);

/* For the worker processes (workers.h): the listeners are watched with EPOLLEXCLUSIVE, so
 * that a connection wakes one worker, not all. */
void acceptor_share_listeners(struct acceptor *a);
/* Calls publish(ctx, a) at most every tick while events arrive, once more after they stop,
 * and at SIGUSR1: how a worker keeps its counters where the supervisor reads them. */
void acceptor_publish_to(struct acceptor *a, void (*publish)(void *ctx, struct acceptor *a),
			 void *ctx);
/* Writes the counters as the stats socket serves them (a: the acceptor). */
void acceptor_render(void *a, FILE *out);

/* Runs until SIGTERM or SIGINT; returns the exit status. */
int acceptor_run(struct acceptor *a);

#endif
