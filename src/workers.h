/* workers.h - listen.workers = N: a supervisor process and N acceptor processes sharing the
 * listeners (one socket each, watched with EPOLLEXCLUSIVE) */
#ifndef SB_WORKERS_H
#define SB_WORKERS_H

#include "config.h"

/* Becomes the supervisor: forks cfg->listen[0].workers workers, each an acceptor
 * (acceptor.h) on listen_fds with its own queues and applet connections; restarts a worker
 * that dies (at once, or after a growing delay when it dies young); passes SIGHUP, SIGUSR1,
 * SIGTERM and SIGINT on; serves the counters of all workers added up on stats_fd (-1:
 * none). Called with privileges dropped; owns cfg and fixed (as acceptor_new). Returns the
 * exit status once every worker has ended after SIGTERM or SIGINT. */
int workers_run(const int *listen_fds, struct config *cfg, const char *reload_file,
		struct config *fixed, int stats_fd);

#endif
