/* slots.c - applets registered for a slot (applets dial in, socketbox(8) PROTOCOL).
 *
 * Each applet is one connected SEQPACKET socket, watched for EPOLLIN|EPOLLRDHUP all the time
 * so that its death (EOF, HUP) is seen at once, and for EPOLLOUT while it is full, as the
 * datagram sinks of handoff.c. A slot spreads connections round robin over its applets,
 * skipping full ones; what none can take now waits in the slot's bounded queue (the target's
 * queue and queue_timeout) for any of them, or for the next one to register. */
#include "slots.h"
#include "conn.h"
#include "evloop.h"
#include "fdpass.h"
#include "log.h"
#include "ratelimit.h"
#include "regmsg.h"

#include <errno.h>
#include <linux/sockios.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct applet {
	struct event_source ev; /* first: epoll_data.ptr points here */
	int sock;
	pid_t pid;
	uid_t uid;
	uint32_t slot;
	bool full; /* watched for EPOLLOUT too */
	bool dead; /* closed; freed by slots_collect */
	int outq;  /* SIOCOUTQ after the last send: bytes the applet has not read */
	int unit;  /* the smallest outq seen after a send: one message */
	struct applet *next_dead;
};

struct waiting {
	int fd;
	uint64_t since_ms;
	struct fdpass_addrs addrs;	 /* of a PROXY header, for the applet */
	struct handoff_counters *target; /* of the target it was accepted for */
};

struct slot {
	uint32_t number;
	char *target; /* its name, for the log */
	uid_t allow[CONFIG_MAX_ALLOW];
	unsigned nallow;
	bool pinned, fresh;
	struct applet **applets;
	unsigned napplets, room, rr;
	struct waiting *queue; /* ring */
	unsigned cap, head, len;
	uint64_t timeout_ms; /* UINT64_MAX: no limit */
	struct slot_counters c;
	struct slot *next;
};

struct slots {
	int epfd;
	struct slot *list;
	struct applet *dead;
	unsigned per_uid, per_slot;
	unsigned long long pending;
	unsigned unsettled; /* applets whose outq is not 0: looked at again every tick */
	struct handoff_counters *total;
	struct ratelimit rl; /* applets that come and go, and resets */
};

struct slots *slots_new(int epfd, struct handoff_counters *total)
{
	struct slots *ss = calloc(1, sizeof(*ss));

	if (ss == NULL)
		return NULL;
	ss->epfd = epfd;
	ss->total = total;
	ss->per_uid = CONFIG_DEFAULT_REG_PER_UID;
	ss->per_slot = CONFIG_DEFAULT_REG_PER_SLOT;
	ratelimit_init(&ss->rl, "registered applets", CONFIG_DEFAULT_LOG_BURST,
		       CONFIG_DEFAULT_LOG_INTERVAL);
	return ss;
}

struct slot *slots_find(struct slots *ss, uint32_t number)
{
	for (struct slot *sl = ss->list; sl; sl = sl->next)
		if (sl->number == number)
			return sl;
	return NULL;
}

static bool slots_may_log(struct slots *ss)
{
	return ratelimit_allow(&ss->rl, ratelimit_now());
}

/* Connections sent to an applet it has not read yet, as far as SIOCOUTQ said at the last
 * send or tick: what "lost" would count if it died now. */
static unsigned applet_unread(const struct applet *a)
{
	return a->unit && a->outq > 0 ? (unsigned)((a->outq + a->unit - 1) / a->unit) : 0;
}

/* Closes a: its connection ends (the kernel closes what it had not read), it leaves the
 * slot's list, and is freed between event batches. */
static void applet_drop(struct slots *ss, struct slot *sl, unsigned i, const char *why)
{
	struct applet *a = sl->applets[i];
	int unread = (int)applet_unread(a);

	sl->c.lost += (unsigned long long)unread;
	ss->unsettled -= a->outq > 0;
	sl->c.applets--;
	if (unread && slots_may_log(ss))
		log_warnx("applet pid %ld uid %u left slot %u (target %s): %s; up to %d "
			  "connection%s sent to it may have been unread",
			  (long)a->pid, (unsigned)a->uid, (unsigned)sl->number, sl->target, why,
			  unread, unread == 1 ? "" : "s");
	else if (slots_may_log(ss))
		log_warnx("applet pid %ld uid %u left slot %u (target %s): %s", (long)a->pid,
			  (unsigned)a->uid, (unsigned)sl->number, sl->target, why);
	close(a->sock); /* also leaves the epoll set */
	a->sock = -1;
	a->dead = true;
	a->next_dead = ss->dead;
	ss->dead = a;
	sl->applets[i] = sl->applets[--sl->napplets];
}

static void applet_watch(struct slots *ss, struct applet *a, bool full)
{
	uint32_t events = EPOLLIN | EPOLLRDHUP | (full ? EPOLLOUT : 0);

	if (evloop_mod(ss->epfd, a->sock, events, &a->ev) < 0)
		log_warn("unable to watch applet pid %ld", (long)a->pid);
	a->full = full;
}

/* What a dead applet leaves unread is gone with it, and the kernel purges its receive queue
 * before we see the EOF: so remember what it had not read yet (SIOCOUTQ: the bytes of our
 * messages still in its socket) after each send, and every tick until it reaches 0. */
static void applet_outq(struct slots *ss, struct applet *a)
{
	int q;

	if (ioctl(a->sock, SIOCOUTQ, &q) < 0)
		return;
	ss->unsettled += (q > 0) - (a->outq > 0);
	a->outq = q;
	if (q > 0 && (a->unit == 0 || q < a->unit))
		a->unit = q;
}

/* Returns 0 (sent), 1 (the applet is full) or -1 (it is gone). */
static int applet_send(struct slots *ss, struct applet *a, int fd,
		       const struct fdpass_addrs *addrs)
{
	if (fdpass_send_registered(a->sock, fd, MSG_DONTWAIT, addrs) < 0) {
		if (errno != EAGAIN && errno != ENOBUFS && errno != ENOMEM)
			return -1;
		applet_watch(ss, a, true);
		return 1;
	}
	applet_outq(ss, a);
	return 0;
}

/* Sends fd to the next applet that can take it, counted in t. Returns 0 (sent), 1 (all are
 * full) or -1 (none is registered). */
static int slot_send(struct slots *ss, struct slot *sl, int fd, const struct fdpass_addrs *addrs,
		     struct handoff_counters *t)
{
	for (unsigned tries = sl->napplets; tries > 0 && sl->napplets > 0; tries--) {
		unsigned i = sl->rr++ % sl->napplets;
		struct applet *a = sl->applets[i];
		int rc;

		if (a->full)
			continue;
		rc = applet_send(ss, a, fd, addrs);
		if (rc == 0) {
			sl->c.handed++;
			HANDOFF_ADD(ss->total, t, handed, 1);
			return 0;
		}
		if (rc < 0)
			applet_drop(ss, sl, i, "unable to send to it");
	}
	return sl->napplets > 0 ? 1 : -1;
}

static struct waiting slot_pop(struct slots *ss, struct slot *sl)
{
	struct waiting w = sl->queue[sl->head];

	sl->head = (sl->head + 1) % sl->cap;
	sl->len--;
	ss->pending--;
	HANDOFF_ADD(ss->total, w.target, waiting, -1ULL);
	return w;
}

static void slot_reset_queue(struct slots *ss, struct slot *sl, const char *why)
{
	unsigned n = sl->len;

	if (n == 0)
		return;
	while (sl->len) {
		struct waiting w = slot_pop(ss, sl);

		conn_reset(w.fd);
		HANDOFF_ADD(ss->total, w.target, refused_dead, 1);
	}
	if (slots_may_log(ss))
		log_warnx("reset %u queued connection%s for slot %u (target %s): %s", n,
			  n == 1 ? "" : "s", (unsigned)sl->number, sl->target, why);
}

static void slot_expire(struct slots *ss, struct slot *sl, uint64_t now)
{
	unsigned n = 0;

	while (sl->len && now - sl->queue[sl->head].since_ms >= sl->timeout_ms) {
		struct waiting w = slot_pop(ss, sl);

		conn_reset(w.fd);
		HANDOFF_ADD(ss->total, w.target, expired, 1);
		n++;
	}
	if (n == 0)
		return;
	sl->c.expired += n;
	if (slots_may_log(ss))
		log_warnx("reset %u connection%s that waited %llu ms or more for slot %u (target "
			  "%s)", n, n == 1 ? "" : "s", (unsigned long long)sl->timeout_ms,
			  (unsigned)sl->number, sl->target);
}

/* Sends what waits, in order, while an applet takes it. */
static void slot_drain(struct slots *ss, struct slot *sl)
{
	slot_expire(ss, sl, ratelimit_now());
	while (sl->len) {
		struct waiting *w = &sl->queue[sl->head];

		if (slot_send(ss, sl, w->fd, &w->addrs, w->target) != 0)
			break;
		close(slot_pop(ss, sl).fd);
	}
}

enum slot_offer slots_offer(struct slots *ss, struct slot *sl, int fd,
			    const struct fdpass_addrs *addrs, bool fallback, struct handoff_counters *t)
{
	if (sl->napplets == 0 && fallback)
		return SLOT_NONE;
	/* Behind a queue: keep the order. */
	if (sl->len == 0) {
		int rc = slot_send(ss, sl, fd, addrs, t);

		if (rc == 0) {
			close(fd);
			return SLOT_TAKEN;
		}
		if (rc < 0 && fallback)
			return SLOT_NONE;
	}
	if (sl->queue == NULL && (sl->queue = malloc(sl->cap * sizeof(*sl->queue))) == NULL)
		return SLOT_FULL;
	if (sl->len == sl->cap) {
		sl->c.refused_full++;
		return SLOT_FULL;
	}
	sl->queue[(sl->head + sl->len) % sl->cap] = (struct waiting){fd, ratelimit_now(), *addrs, t};
	sl->len++;
	ss->pending++;
	sl->c.queued++;
	HANDOFF_ADD(ss->total, t, queued, 1);
	handoff_count_wait(ss->total, t);
	return SLOT_TAKEN;
}

static unsigned slots_count_uid(const struct slots *ss, uid_t uid)
{
	unsigned n = 0;

	for (const struct slot *sl = ss->list; sl; sl = sl->next)
		for (unsigned i = 0; i < sl->napplets; i++)
			n += sl->applets[i]->uid == uid;
	return n;
}

static bool slot_allows(const struct slot *sl, uid_t uid)
{
	for (unsigned i = 0; i < sl->nallow; i++)
		if (sl->allow[i] == uid)
			return true;
	return false;
}

const char *slots_may_register(struct slots *ss, uint32_t number, uid_t uid)
{
	struct slot *sl = slots_find(ss, number);

	if (sl == NULL || !sl->pinned)
		return "no such slot";
	if (!slot_allows(sl, uid))
		return "uid not in the slot's allow list";
	if (sl->napplets >= ss->per_slot)
		return "slot has register_limit.per_slot applets already";
	if (slots_count_uid(ss, uid) >= ss->per_uid)
		return "uid has register_limit.per_uid applets already";
	return NULL;
}

int slots_register(struct slots *ss, uint32_t number, int sock, const struct ucred *cred)
{
	struct slot *sl = slots_find(ss, number);
	struct applet *a = calloc(1, sizeof(*a));
	struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP};

	if (a == NULL || sl == NULL)
		goto bad;
	if (sl->napplets == sl->room) {
		unsigned room = sl->room ? sl->room * 2 : 4;
		struct applet **grown = realloc(sl->applets, room * sizeof(*grown));

		if (grown == NULL)
			goto bad;
		sl->applets = grown;
		sl->room = room;
	}
	*a = (struct applet){.ev.kind = EVENT_APPLET, .sock = sock, .pid = cred->pid,
			     .uid = cred->uid, .slot = number};
	e.data.ptr = &a->ev;
	if (epoll_ctl(ss->epfd, EPOLL_CTL_ADD, sock, &e) < 0)
		goto bad;
	sl->applets[sl->napplets++] = a;
	sl->c.applets++;
	sl->c.registered++;
	if (slots_may_log(ss))
		log_info("applet pid %ld uid %u registered for slot %u (target %s)",
			 (long)a->pid, (unsigned)a->uid, (unsigned)number, sl->target);
	slot_drain(ss, sl);
	return 0;
bad:
	free(a);
	return -1;
}

static unsigned slot_index(const struct slot *sl, const struct applet *a)
{
	unsigned i = 0;

	while (i < sl->napplets && sl->applets[i] != a)
		i++;
	return i;
}

void slots_event(struct slots *ss, struct event_source *ev, uint32_t events)
{
	struct applet *a = (struct applet *)ev;
	struct slot *sl;
	char byte;
	ssize_t n;
	unsigned i;

	if (a->dead || (sl = slots_find(ss, a->slot)) == NULL ||
	    (i = slot_index(sl, a)) == sl->napplets)
		return; /* closed earlier in this batch */
	if (events & EPOLLIN) {
		/* An applet has nothing to say after its request. */
		n = recv(a->sock, &byte, 1, MSG_DONTWAIT);
		if (n > 0) {
			applet_drop(ss, sl, i, "it sent data after registering");
			return;
		}
		if (n == 0) {
			applet_drop(ss, sl, i, "end of file");
			return;
		}
	}
	if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
		applet_drop(ss, sl, i, "connection closed");
		return;
	}
	if ((events & EPOLLOUT) && a->full) {
		applet_watch(ss, a, false);
		slot_drain(ss, sl);
	}
}

void slots_tick(struct slots *ss)
{
	ratelimit_flush(&ss->rl, ratelimit_now());
	for (struct slot *sl = ss->list; sl && (ss->pending || ss->unsettled); sl = sl->next) {
		for (unsigned i = 0; i < sl->napplets; i++)
			if (sl->applets[i]->outq > 0)
				applet_outq(ss, sl->applets[i]);
		if (sl->len)
			slot_drain(ss, sl);
	}
}

bool slots_wants_tick(const struct slots *ss)
{
	return ss->pending || ss->unsettled || ss->rl.suppressed;
}

void slots_collect(struct slots *ss)
{
	while (ss->dead) {
		struct applet *a = ss->dead;

		ss->dead = a->next_dead;
		free(a);
	}
}

static void slot_free(struct slots *ss, struct slot *sl, const char *why)
{
	while (sl->napplets)
		applet_drop(ss, sl, sl->napplets - 1, why);
	slot_reset_queue(ss, sl, why);
	free(sl->applets);
	free(sl->queue);
	free(sl->target);
	free(sl);
}

int slots_prepare(struct slots *ss, const struct config *cfg)
{
	for (unsigned i = 0; i < cfg->ntargets; i++) {
		const struct target_conf *t = &cfg->targets[i];
		struct slot *sl;

		if (!t->has_slot || slots_find(ss, t->slot))
			continue;
		if ((sl = calloc(1, sizeof(*sl))) == NULL)
			goto bad;
		sl->number = t->slot;
		sl->fresh = true;
		sl->next = ss->list;
		ss->list = sl;
	}
	return 0;
bad:
	for (struct slot **pp = &ss->list; *pp;) {
		struct slot *sl = *pp;

		if (!sl->fresh) {
			pp = &sl->next;
			continue;
		}
		*pp = sl->next;
		free(sl);
	}
	return -1;
}

/* The target of cfg that has slot number, or NULL. */
static const struct target_conf *slots_target(const struct config *cfg, uint32_t number)
{
	for (unsigned i = 0; i < cfg->ntargets; i++)
		if (cfg->targets[i].has_slot && cfg->targets[i].slot == number)
			return &cfg->targets[i];
	return NULL;
}

/* Takes the settings of t; applets whose uid t no longer allows are closed. */
static void slot_apply(struct slots *ss, struct slot *sl, const struct target_conf *t)
{
	char *name = strdup(t->name);

	if (name) { /* else the old name stays: only the log would show it */
		free(sl->target);
		sl->target = name;
	}
	memcpy(sl->allow, t->allow, sizeof(sl->allow));
	sl->nallow = t->nallow;
	sl->timeout_ms = t->queue_timeout ? t->queue_timeout * 1000ULL : UINT64_MAX;
	if (sl->queue == NULL)
		sl->cap = t->queue;
	sl->pinned = true;
	sl->fresh = false;
	for (unsigned i = sl->napplets; i-- > 0;)
		if (!slot_allows(sl, sl->applets[i]->uid))
			applet_drop(ss, sl, i, "its uid is no longer allowed after the reload");
}

void slots_switch(struct slots *ss, const struct config *cfg)
{
	ratelimit_set(&ss->rl, cfg->log_burst, cfg->log_interval);
	ss->per_uid = cfg->reg_per_uid;
	ss->per_slot = cfg->reg_per_slot;
	for (struct slot **pp = &ss->list; *pp;) {
		struct slot *sl = *pp;
		const struct target_conf *t = slots_target(cfg, sl->number);

		if (t == NULL) {
			*pp = sl->next;
			slot_free(ss, sl, "the slot is no longer configured after the reload");
			continue;
		}
		slot_apply(ss, sl, t);
		pp = &sl->next;
	}
}

const struct slot_counters *slots_counters(const struct slots *ss, uint32_t number)
{
	for (const struct slot *sl = ss->list; sl; sl = sl->next)
		if (sl->number == number)
			return &sl->c;
	return NULL;
}

const struct slot_counters *slots_counters_of(const struct slot *sl)
{
	return &sl->c;
}

void slots_report(const struct slots *ss)
{
	for (const struct slot *sl = ss->list; sl; sl = sl->next) {
		unsigned unread = 0;

		for (unsigned i = 0; i < sl->napplets; i++)
			unread += applet_unread(sl->applets[i]);
		log_info("counters of slot %u (target %s): applets %llu, registered %llu, handed "
			 "%llu, queued %llu, waiting %u, lost %llu, reset queue-full %llu, reset "
			 "expired %llu, unread %u",
			 (unsigned)sl->number, sl->target, sl->c.applets, sl->c.registered,
			 sl->c.handed, sl->c.queued, sl->len, sl->c.lost, sl->c.refused_full,
			 sl->c.expired, unread);
	}
}

void slots_free(struct slots *ss)
{
	if (ss == NULL)
		return;
	while (ss->list) {
		struct slot *sl = ss->list;

		ss->list = sl->next;
		slot_free(ss, sl, "socketbox is stopping");
	}
	slots_collect(ss);
	ratelimit_end(&ss->rl);
	free(ss);
}
