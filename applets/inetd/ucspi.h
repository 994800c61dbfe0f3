/* ucspi.h - the UCSPI-TCP environment (PROTO, TCPLOCALIP, ...) for a connected socket */
#ifndef SB_UCSPI_H
#define SB_UCSPI_H

#include "addr.h"
#include "fdpass.h"

struct ucspi_env {
	/* the addresses, for logging (empty and 0 for PROTO=IPC) */
	char local_ip[INET6_ADDRSTRLEN], remote_ip[INET6_ADDRSTRLEN];
	unsigned local_port, remote_port;
	/* the entries of the environment, "NAME=value" */
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

/* Puts the addresses socketbox sent with the connection (fdpass.h: a PROXY header named
 * them) in place of the socket's own, which are the load balancer's. */
void ucspi_env_from_addrs(const struct fdpass_addrs *addrs, struct ucspi_env *env);

/* Builds an environment for execve(): the entries of base (NULL-terminated) without any
 * UCSPI variable, then those of env. out holds at least UCSPI_ENVP_EXTRA more entries than
 * base; it points into base and env, which must outlive it. */
#define UCSPI_ENVP_EXTRA 6
void ucspi_envp(struct ucspi_env *env, char *const *base, char **out);

#endif
