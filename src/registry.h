/* registry.h - the registration sockets applets dial in to (socketbox(8) PROTOCOL): accepts
 * peers, reads their one request within a second, checks SO_PEERCRED, answers, and gives
 * the accepted ones to handoff as applets of their slot. */
#ifndef SB_REGISTRY_H
#define SB_REGISTRY_H

#include "config.h"
#include "event.h"
#include "handoff.h"

#include <stdint.h>

/* How long a peer may take to send its request. */
#define REGISTRY_REQUEST_MS 1000
/* Peers that have not sent their request yet, at most; more are closed at once. */
#define REGISTRY_MAX_PENDING 64

struct registry;

/* Creates the registration sockets of cfg (before privileges are dropped: the directory
 * may be root's) and watches them. Exits with a message naming the path on failure. */
struct registry *registry_new(int epfd, const struct config *cfg, struct handoff *h);

/* A reload: new log limits and register_limit.per_uid (the sockets themselves stay until
 * restart). */
void registry_configure(struct registry *r, const struct config *cfg);

/* An epoll event whose source is of kind EVENT_REGISTRY. */
void registry_event(struct registry *r, struct event_source *ev);

/* Frees closed peers, between event batches. */
void registry_collect(struct registry *r);

void registry_free(struct registry *r);

#endif
