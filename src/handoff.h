/* handoff.h - hands accepted connections to targets without ever blocking on an applet */
#ifndef SB_HANDOFF_H
#define SB_HANDOFF_H

#include "config.h"
#include "event.h"
#include "rules.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* The counters of one target, and of all together. One field more is a line here and a
 * line in stats.c's list of what is exposed. */
struct handoff_counters {
	unsigned long long accepted;	 /* given to the target by the rules */
	unsigned long long handed;	 /* delivered to an applet */
	unsigned long long queued;	 /* had to wait for an applet at least once */
	unsigned long long waiting;	 /* in a queue now */
	unsigned long long waiting_max;	 /* the most that waited at once */
	unsigned long long refused_full; /* reset: every live path's queue was full */
	unsigned long long refused_dead; /* reset: no live path (applet gone or not there) */
	unsigned long long expired;	 /* reset: waited longer than the queue timeout */
};

/* Per slot (targets with slot = N), for SIGUSR1 and exporters. */
/* Counts n for a target (t) and for all targets (total); handoff.c and slots.c count so. */
#define HANDOFF_ADD(total, t, field, n) ((total)->field += (n), (t)->field += (n))

/* One connection more waits for t: counted there and in total, with their high-waters. */
static inline void handoff_count_wait(struct handoff_counters *total, struct handoff_counters *t)
{
	HANDOFF_ADD(total, t, waiting, 1);
	if (t->waiting > t->waiting_max)
		t->waiting_max = t->waiting;
	if (total->waiting > total->waiting_max)
		total->waiting_max = total->waiting;
}

struct slot_counters {
	unsigned long long applets;	 /* registered now */
	unsigned long long registered;	 /* registrations accepted */
	unsigned long long handed;	 /* sent to an applet */
	unsigned long long queued;	 /* had to wait for an applet at least once */
	unsigned long long lost;	 /* at most this many were unread by applets that died */
	unsigned long long refused_full; /* the slot's queue was full */
	unsigned long long expired;	 /* reset: waited longer than the queue timeout */
};

struct handoff;

struct handoff *handoff_new(int epfd);

/* Applies the targets of cfg. Sockets and queues of paths that stay are kept, so a reload
 * loses nothing; a path that goes away keeps its socket until its queue is empty.
 * Returns 0, or -1 when out of memory: nothing has changed then, the old targets stay in
 * force. */
int handoff_configure(struct handoff *h, const struct config *cfg);

/* Hands fd (an accepted connection, now owned by handoff) to target number t of the
 * configuration: sent with the batch (handoff_flush), queued until the applet can take it,
 * or reset with a log line (rate-limited, see log_limit in config.h) when every path is
 * full or gone. */
void handoff_dispatch(struct handoff *h, unsigned t, int fd, const struct conn_key *key);

/* Sends the connections dispatched since the last flush, one sendmmsg per applet socket,
 * and closes our copies of those handed over. handoff_collect and handoff_configure flush
 * first. */
void handoff_flush(struct handoff *h);

/* An epoll event on a sink's socket: the applet drained its queue, or went away. */
void handoff_event(struct handoff *h, struct event_source *ev);

/* Registered applets (slots.c): why uid may not register for slot now, or NULL; then,
 * once the peer has been answered, takes sock as one of the slot's applets (0, or -1 when
 * out of memory: sock stays the caller's). */
const char *handoff_may_register(struct handoff *h, uint32_t slot, uid_t uid);
int handoff_register(struct handoff *h, uint32_t slot, int sock, const struct ucred *cred);
/* An epoll event on a registered applet's connection. */
void handoff_applet_event(struct handoff *h, struct event_source *ev, uint32_t events);
/* The counters of the slot, or NULL. */
const struct slot_counters *handoff_slot_counters(const struct handoff *h, uint32_t slot);
/* Logs a counters line per slot. */
void handoff_report_slots(const struct handoff *h);

/* Periodic work: retries queued connections, and logs how many messages the rate limits
 * held back once their window has ended. */
void handoff_tick(struct handoff *h);

/* Whether handoff_tick has work: connections wait in queues, or held-back messages wait to
 * be counted in the log. */
bool handoff_wants_tick(const struct handoff *h);

/* Closes sockets of paths no longer configured once idle. Call between event batches. */
void handoff_collect(struct handoff *h);

/* Number of connections waiting in queues. */
unsigned long long handoff_pending(const struct handoff *h);

const struct handoff_counters *handoff_counters(const struct handoff *h);

/* The targets in force, in configuration order, and their counters. A target keeps its
 * counters across reloads as long as a target of that name stays. */
unsigned handoff_ntargets(const struct handoff *h);
const char *handoff_target_name(const struct handoff *h, unsigned t);
const struct handoff_counters *handoff_target_counters(const struct handoff *h, unsigned t);
/* The counters of target t's slot, or NULL when it has none. */
const struct slot_counters *handoff_target_slot(const struct handoff *h, unsigned t);

/* Resets every queued connection (at exit) and frees everything. */
void handoff_free(struct handoff *h);

#endif
