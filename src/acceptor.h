/* acceptor.h - the event loop: accept, match, hand off; signals and reloads */
#ifndef SB_ACCEPTOR_H
#define SB_ACCEPTOR_H

#include "config.h"

struct acceptor;

/* Sets up the loop around listen_fd with cfg (now owned by the acceptor) and connects the
 * targets. reload_file is the file SIGHUP re-reads, or NULL in quick mode; fixed holds
 * what that file said of the start-up-only settings, to warn when a reload changes them. */
struct acceptor *acceptor_new(int listen_fd, struct config *cfg, const char *reload_file,
			      const struct config_fixed *fixed);

/* Runs until SIGTERM or SIGINT; returns the exit status. */
int acceptor_run(struct acceptor *a);

#endif
