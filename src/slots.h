/* slots.h - applets registered for a target's slot: handed connections round robin over a
 * SEQPACKET connection each, with one bounded queue per slot. Part of handoff: only
 * handoff.c uses it (the registry goes through handoff.h). */
#ifndef SB_SLOTS_H
#define SB_SLOTS_H

#include "config.h"
#include "event.h"
#include "fdpass.h"
#include "handoff.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct slots;
struct slot;

enum slot_offer { SLOT_TAKEN, SLOT_FULL, SLOT_NONE };

/* total: the handoff's counters, which count what the slots do too, as do the counters of
 * the target each connection was offered for. */
struct slots *slots_new(int epfd, struct handoff_counters *total);

/* Makes the slots cfg names that do not exist yet. Returns 0, or -1 when out of memory:
 * then nothing has changed. */
int slots_prepare(struct slots *ss, const struct config *cfg);

/* The slot of that number, after slots_prepare. */
struct slot *slots_find(struct slots *ss, uint32_t number);

/* Puts cfg in force: slots it no longer names lose their applets (closed, logged) and
 * their queue (reset); applets whose uid is no longer allowed are closed. Cannot fail. */
void slots_switch(struct slots *ss, const struct config *cfg);

/* Hands fd (with addrs, of its PROXY header) to an applet of sl, or queues it, counting in t (the target's counters, which
 * must live while the connection waits: its waiting count says so) and in the total.
 * SLOT_NONE (only when fallback: the target has a path) means no applet is registered;
 * SLOT_FULL that the queue is full. fd is the caller's still unless SLOT_TAKEN. */
enum slot_offer slots_offer(struct slots *ss, struct slot *sl, int fd,
			    const struct fdpass_addrs *addrs, bool fallback, struct handoff_counters *t);

/* Why uid may not register for number now, or NULL. */
const char *slots_may_register(struct slots *ss, uint32_t number, uid_t uid);

/* Takes sock (a connection that has been answered {0x80,0,0,0}) as an applet of slot
 * number. Returns 0, or -1 (out of memory: sock is the caller's still). */
int slots_register(struct slots *ss, uint32_t number, int sock, const struct ucred *cred);

/* An epoll event on an applet's connection. */
void slots_event(struct slots *ss, struct event_source *ev, uint32_t events);

/* Expires and retries queued connections, and looks again at what applets have not read. */
void slots_tick(struct slots *ss);
/* Whether slots_tick has work. */
bool slots_wants_tick(const struct slots *ss);

/* Frees applets that went away, between event batches. */
void slots_collect(struct slots *ss);

/* The counters of the slot of that number, or NULL. */
const struct slot_counters *slots_counters(const struct slots *ss, uint32_t number);
/* The counters of sl. */
const struct slot_counters *slots_counters_of(const struct slot *sl);

/* One log line per slot: "counters of slot N (target T): ...". */
void slots_report(const struct slots *ss);

/* Resets queued connections, closes every applet, frees everything. */
void slots_free(struct slots *ss);

#endif
