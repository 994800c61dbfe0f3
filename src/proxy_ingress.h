/* proxy_ingress.h - the PROXY protocol header of each connection of a proxy_protocol
 * listener, read without ever blocking the acceptor */
#ifndef SB_PROXY_INGRESS_H
#define SB_PROXY_INGRESS_H

#include "config.h"
#include "event.h"
#include "proxy_parse.h"

#include <stdbool.h>

/* How many connections may wait for their header at once; more are reset and counted.
 * The slots are allocated once, at start-up. */
#define PROXY_INGRESS_MAX 1024

struct proxy_ingress_counters {
	unsigned long long refused_source; /* reset: not from a proxy_from address */
	unsigned long long refused_full;   /* reset: PROXY_INGRESS_MAX already waiting */
	unsigned long long malformed;	   /* reset: not a header this reader accepts */
	unsigned long long expired;	   /* reset: no whole header within proxy_timeout */
	unsigned long long closed;	   /* closed by the peer before its header was whole */
	unsigned long long read;	   /* headers read */
	unsigned long long local;	   /* of them LOCAL/UNKNOWN: the balancer's own (checks) */
};

struct proxy_ingress;

struct proxy_ingress *proxy_ingress_new(int epfd, const struct config *cfg);

/* The rate limit of its log lines, from cfg's log_limit (after a reload). */
void proxy_ingress_configure(struct proxy_ingress *pi, const struct config *cfg);

/* Takes fd, accepted from peer (port peer_port) on listener number listener (l its
 * settings), to wait for its header. A peer outside l's proxy_from, or a full pool, gets
 * a reset, a count and a rate-limited log line. */
void proxy_ingress_add(struct proxy_ingress *pi, int fd, unsigned listener,
		       const struct listen_conf *l, const struct in6_addr *peer,
		       uint16_t peer_port);

/* An event on a waiting connection. Returns true once its header has been read (exactly
 * the header: the client's bytes stay in the socket), with the connection in *fd, its
 * listener number and what the header said (for a header naming no client, src and
 * src_port are the connection's peer); false while it waits, or when it was dropped
 * (malformed, closed). */
bool proxy_ingress_event(struct proxy_ingress *pi, struct event_source *ev, int *fd,
			 unsigned *listener, struct proxy_info *info);

/* Resets the connections whose time is up, and says held-back log lines. */
void proxy_ingress_tick(struct proxy_ingress *pi);

/* Whether proxy_ingress_tick has work. */
bool proxy_ingress_wants_tick(const struct proxy_ingress *pi);

unsigned proxy_ingress_pending(const struct proxy_ingress *pi);
const struct proxy_ingress_counters *proxy_ingress_counters(const struct proxy_ingress *pi);

/* Resets every waiting connection and frees everything. NULL is fine. */
void proxy_ingress_free(struct proxy_ingress *pi);

#endif
