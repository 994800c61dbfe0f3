/* ucspi.c - the UCSPI-TCP environment, as djb's tcpserver sets it */
#include "ucspi.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The text form of sa's address into ip, and its port. */
static unsigned ucspi_addr(const struct sockaddr *sa, char ip[INET6_ADDRSTRLEN])
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

	if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, INET6_ADDRSTRLEN);
		return ntohs(in6->sin6_port);
	}
	inet_ntop(AF_INET, &in->sin_addr, ip, INET6_ADDRSTRLEN);
	return ntohs(in->sin_port);
}

/* The variables of the addresses in env. */
static void ucspi_env_vars(struct ucspi_env *env)
{
	snprintf(env->localip, sizeof(env->localip), "TCPLOCALIP=%s", env->local_ip);
	snprintf(env->localport, sizeof(env->localport), "TCPLOCALPORT=%u", env->local_port);
	snprintf(env->remoteip, sizeof(env->remoteip), "TCPREMOTEIP=%s", env->remote_ip);
	snprintf(env->remoteport, sizeof(env->remoteport), "TCPREMOTEPORT=%u", env->remote_port);
}

int ucspi_env_from_fd(int fd, struct ucspi_env *env)
{
	struct sockaddr_storage local, remote;
	socklen_t llen = sizeof(local), rlen = sizeof(remote);

	memset(env, 0, sizeof(*env));
	if (getsockname(fd, (struct sockaddr *)&local, &llen) < 0 ||
	    getpeername(fd, (struct sockaddr *)&remote, &rlen) < 0)
		return -1;
	if (local.ss_family == AF_UNIX) {
		snprintf(env->proto, sizeof(env->proto), "PROTO=IPC");
		return 0;
	}
	snprintf(env->proto, sizeof(env->proto), "PROTO=%s",
		 local.ss_family == AF_INET6 ? "TCP6" : "TCP");
	env->local_port = ucspi_addr((struct sockaddr *)&local, env->local_ip);
	env->remote_port = ucspi_addr((struct sockaddr *)&remote, env->remote_ip);
	ucspi_env_vars(env);
	return 0;
}

void ucspi_env_from_addrs(const struct fdpass_addrs *addrs, struct ucspi_env *env)
{
	addr_ntop(&addrs->local, env->local_ip, sizeof(env->local_ip));
	addr_ntop(&addrs->remote, env->remote_ip, sizeof(env->remote_ip));
	env->local_port = addrs->local_port;
	env->remote_port = addrs->remote_port;
	ucspi_env_vars(env);
}

static bool ucspi_is_ours(const char *entry)
{
	static const char *const names[] = {"PROTO=", "TCPLOCALIP=", "TCPLOCALPORT=",
					    "TCPREMOTEIP=", "TCPREMOTEPORT="};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strncmp(entry, names[i], strlen(names[i])) == 0)
			return true;
	return false;
}

void ucspi_envp(struct ucspi_env *env, char *const *base, char **out)
{
	char *vars[] = {env->proto, env->localip, env->localport, env->remoteip, env->remoteport};
	size_t n = 0;

	/* Inherited values must not survive, e.g. for an AF_UNIX peer. */
	for (; *base; base++)
		if (!ucspi_is_ours(*base))
			out[n++] = *base;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (vars[i][0] != '\0')
			out[n++] = vars[i];
	out[n] = NULL;
}
