/* sockd_config.h - socketbox-sockd's configuration file: its socket and two rule lists,
 * "connect" (the destinations clients may reach) and "bind" (the addresses and ports they
 * may bind), in the syntax and with the rule engine of socketbox.conf(5). */
#ifndef SB_SOCKD_CONFIG_H
#define SB_SOCKD_CONFIG_H

#include "config.h"
#include "rules.h"
#include "sockd_proto.h"

#include <sys/types.h>

#define SOCKD_DEFAULT_FILE "/etc/socketbox-sockd.conf"
#define SOCKD_DEFAULT_SOCKET "/run/socketbox/sockd.sock"
#define SOCKD_DEFAULT_MAX_CLIENTS 1024
#define SOCKD_DEFAULT_CLIENT_TIMEOUT 10 /* seconds */

struct sockd_config {
	char *file;
	char *socket;	      /* NULL: the default or -s */
	unsigned socket_mode; /* of the socket file */
	unsigned max_clients; /* connected clients at once; more wait in the backlog */
	unsigned client_timeout; /* seconds a client may stay without a request; 0: no limit */
	/* The rule engine matches a request as a connection: remote = the destination (or the
	 * address to bind), remote_port its port, local = the client's uid (sockd_uid_addr),
	 * local_port the protocol (enum sockd_proto). An allowing rule is a RULE_TARGET. */
	struct rules *connect, *bind;
};

/* Loads and checks file, reporting every error as config_load does. NULL on errors. */
struct sockd_config *sockd_config_load(const char *file, config_report_fn *report, void *ctx);
void sockd_config_free(struct sockd_config *cfg);

/* The key a uid is matched by: ::UID (its low 32 bits), matched as a /128. */
void sockd_uid_addr(uid_t uid, struct in6_addr *a);

#endif
