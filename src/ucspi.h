/* ucspi.h - the UCSPI-TCP environment (PROTO, TCPLOCALIP, ...) for a connected socket */
#ifndef SB_UCSPI_H
#define SB_UCSPI_H

#include "addr.h"

struct ucspi_env {
	char proto[16];
	char localip[16 + INET6_ADDRSTRLEN];
	char localport[24];
	char remoteip[16 + INET6_ADDRSTRLEN];
	char remoteport[24];
};

/* Fills env from the socket's own and peer addresses ("PROTO=TCP6", "TCPLOCALIP=...").
 * AF_INET6 gives PROTO=TCP6, AF_INET gives PROTO=TCP, AF_UNIX gives PROTO=IPC with no
 * address variables. Returns 0, or -1 with errno when the addresses cannot be read. */
int ucspi_env_from_fd(int fd, struct ucspi_env *env);

/* Puts the variables into the environment of the calling process (the variables of the
 * strings in env, which must outlive the call; meant for a child before exec). */
void ucspi_env_apply(struct ucspi_env *env);

#endif
