/* relay.h - socketbox-relay's connection engine: copies both directions of each handed-off
 * connection to a backend through one shared buffer, in one epoll loop. */
#ifndef SB_RELAY_H
#define SB_RELAY_H

#include "applet_socket.h"
#include "fdpass.h"

#include <stdbool.h>
#include <netinet/in.h>
#include <sys/socket.h>

struct relay_options {
	struct sockaddr_storage target; /* AF_INET6, AF_INET or AF_UNIX */
	socklen_t target_len;
	const char *target_text;
	bool to_original;		 /* connect to where the client connected instead */
	struct in6_addr original_prefix; /* ... with its first bits replaced by this prefix */
	unsigned original_plen;
	int netns_fd;	  /* network namespace for outbound sockets, or -1 */
	const char *egress; /* socketbox-sockd's socket: it connects for us; or NULL */
	int proxy;	  /* PROXY protocol version, 0 for none */
	int connect_timeout; /* seconds */
	int idle_timeout;    /* seconds, 0 for none */
	int half_close_timeout; /* seconds once one direction has ended, 0 for none */
	unsigned max_conns;
	int stats_fd; /* --stats: a listening stream socket for the counters, or -1 */
};

/* Serves connections arriving on sock (handed over by socketbox), or accepted on
 * listen_fd when sock is NULL, until SIGTERM or SIGINT. Returns the exit status. */
int relay_run(struct applet_socket *sock, int listen_fd, const struct relay_options *o);

#endif
