/* listener.h - the listening TCP sockets */
#ifndef SB_LISTENER_H
#define SB_LISTENER_H

#include "config.h"

/* Sets fds[i] to the listening socket (non-blocking, close-on-exec) of cfg->listen[i]: the
 * inherited fd, else the socket-activated descriptor of the listener's name in
 * LISTEN_FDNAMES (the only listener takes the first when no name matches), else a new IPv6
 * socket bound and listening as the listener says, inside its network namespace if it
 * names one. Socket-activated descriptors no listener takes are closed. Exits with a
 * message when a listener cannot be had. */
void listener_open_all(const struct config *cfg, int *fds);

/* After a reload to cfg: the number cfg gives the running listener (by name), for
 * conn_key.listener; RULES_LISTENER_UNNAMED when cfg no longer has it. */
uint32_t listener_key(const struct listen_conf *running, const struct config *cfg);

/* Logs what a reload to cfg cannot change of the running listeners: listeners new in cfg,
 * changed, or gone from it. */
void listener_reload_report(const struct config *running, const struct config *cfg);

#endif
