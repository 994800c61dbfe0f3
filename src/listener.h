/* listener.h - the one listening TCP socket */
#ifndef SB_LISTENER_H
#define SB_LISTENER_H

#include "config.h"

/* Returns the listening socket (non-blocking, close-on-exec): the inherited l->fd, else one
 * passed by systemd socket activation, else a new IPv6 socket bound and listening as l
 * says. Exits with a message when that is impossible. */
int listener_open(const struct listen_conf *l);

#endif
