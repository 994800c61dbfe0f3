/* handoff.c - hands accepted connections to applets without ever blocking on one.
 *
 * Each distinct applet path has one sink: a datagram socket connect()ed to the path, and a
 * bounded queue of connections waiting for it. A connected socket is what lets the kernel
 * wake us with EPOLLOUT when the applet drains its receive queue (an unconnected sender only
 * gets EAGAIN once net.unix.max_dgram_qlen datagrams wait). Sinks are shared by every target
 * that names the path and survive reloads, so a reload never loses a queued connection. */
#include "handoff.h"
#include "addr.h"
#include "conn.h"
#include "fdclose.h"
#include "fdpass.h"
#include "log.h"
#include "ratelimit.h"
#include "slots.h"
#include "subst.h"
#include "unixsock.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define SINK_BUCKETS 4096
/* Sinks made from path templates beyond this many are closed when idle. */
#define SINK_MAX_IDLE_INSTANCES 1024

/* The counters of a target, kept by name across reloads, and while connections of a
 * target no longer configured still wait in a queue (c.waiting > 0). */
struct tally {
	struct handoff_counters c;
	char *name;
	bool current; /* a target of the configuration in force */
	struct tally *next;
};

struct waiting {
	int fd;
	uint64_t since_ms;	   /* queued at, CLOCK_MONOTONIC */
	struct fdpass_addrs addrs; /* of a PROXY header, for the applet */
	struct tally *tally;	   /* of the target it was accepted for */
};

struct sink {
	struct event_source ev; /* first: epoll_data.ptr points here */
	char *path;		/* NULL for an inherited descriptor */
	int inherited_fd;	/* for path == NULL */
	int sock;		/* connected datagram socket, -1 while not connected */
	bool armed;		/* sock is registered for EPOLLOUT */
	bool pinned;		/* a static path of the current configuration */
	bool fresh;		/* made by a handoff_configure that has not switched yet */
	bool down;		/* last attempt failed; logged once until it works again */
	struct waiting *queue;	/* ring of waiting connections */
	unsigned cap, head, len;
	uint64_t timeout_ms;	/* how long one may wait; UINT64_MAX: no limit */
	struct sink *next; /* hash chain */
};

struct target {
	char *name; /* a copy: the config may be freed */
	unsigned npaths;
	const char *templates[CONFIG_MAX_PATHS]; /* for paths with tokens */
	struct sink *sinks[CONFIG_MAX_PATHS];	 /* for static paths, else NULL */
	unsigned queue;
	uint64_t queue_timeout_ms; /* UINT64_MAX: no limit */
	struct tally *tally;
	struct slot *slot; /* registered applets first, then the paths */
};

/* The kinds of log message a remote client can cause, each limited on its own: a flood of
 * resets or of paths filled from templates does not hide a configured applet going away. */
/* A connection handed to a sink during a batch of events, sent with the others for the same
 * sink by handoff_flush: one sendmmsg per sink and batch instead of a sendmsg each. */
struct outgoing {
	struct sink *sink;
	int fd;
	unsigned target, path; /* where handoff_offer_paths goes on if it is not taken */
	bool full;	       /* a queue on the way was full */
	struct conn_key key;
};

enum limit { LIMIT_RESETS, LIMIT_CONFIGURED, LIMIT_FILLED, LIMITS };
static const char *const limit_what[LIMITS] = {"connection resets", "configured applet paths",
					       "filled template paths"};

struct handoff {
	int epfd;
	struct sink *buckets[SINK_BUCKETS];
	unsigned instances; /* unpinned sinks */
	bool collect;	    /* idle unpinned sinks wait to be closed */
	struct target *targets;
	unsigned ntargets;
	struct handoff_counters c; /* of all targets; c.waiting: connections in queues */
	struct tally *tallies;
	struct ratelimit limits[LIMITS];
	struct slots *slots;
	struct outgoing out[FDPASS_BATCH_MAX];
	unsigned nout;
	struct fdclose closing; /* handed connections, closed after the batch */
};

enum offer { OFFER_TAKEN, OFFER_FULL, OFFER_DEAD };

/* Counts n for a target and for the total. */
#define HANDOFF_COUNT(h, t, field, n) HANDOFF_ADD(&(h)->c, &(t)->c, field, n)

/* The counters of the target called name: those it had before a reload, or new ones. */
static struct tally *handoff_tally(struct handoff *h, const char *name)
{
	struct tally *t;

	for (t = h->tallies; t; t = t->next)
		if (strcmp(t->name, name) == 0)
			return t;
	if ((t = calloc(1, sizeof(*t))) == NULL || (t->name = strdup(name)) == NULL) {
		free(t);
		return NULL;
	}
	t->next = h->tallies;
	h->tallies = t;
	return t;
}

/* Frees the counters of targets gone from the configuration once nothing of theirs waits
 * (all of them: at exit). */
static void handoff_free_tallies(struct handoff *h, bool all)
{
	for (struct tally **pp = &h->tallies; *pp;) {
		struct tally *t = *pp;

		if (!all && (t->current || t->c.waiting > 0)) {
			pp = &t->next;
			continue;
		}
		*pp = t->next;
		free(t->name);
		free(t);
	}
}

static unsigned sink_hash(const char *path, int fd)
{
	uint32_t h = 2166136261u;

	if (path == NULL)
		return (unsigned)fd % SINK_BUCKETS;
	for (; *path; path++)
		h = (h ^ (uint8_t)*path) * 16777619u;
	return h % SINK_BUCKETS;
}

static const char *sink_name(const struct sink *s, char *buf, size_t len)
{
	if (s->path)
		return s->path;
	snprintf(buf, len, "fd %d", s->inherited_fd);
	return buf;
}

static struct sink *sink_find(struct handoff *h, const char *path, int fd)
{
	for (struct sink *s = h->buckets[sink_hash(path, fd)]; s; s = s->next) {
		if (path ? s->path && strcmp(s->path, path) == 0
			 : s->path == NULL && s->inherited_fd == fd)
			return s;
	}
	return NULL;
}

/* A new sink in the table, pinned by no configuration yet. */
static struct sink *sink_new(struct handoff *h, const char *path, int fd, unsigned cap)
{
	struct sink *s = calloc(1, sizeof(*s));
	unsigned b;

	if (s == NULL || (path && (s->path = strdup(path)) == NULL)) {
		free(s);
		return NULL;
	}
	s->ev.kind = EVENT_SINK;
	s->inherited_fd = fd;
	s->sock = path ? -1 : fd;
	s->cap = cap;
	if (path)
		h->instances++; /* until a configuration pins it */
	b = sink_hash(path, fd);
	s->next = h->buckets[b];
	h->buckets[b] = s;
	return s;
}

static void sink_disarm(struct handoff *h, struct sink *s)
{
	char name[32];

	if (s->armed && epoll_ctl(h->epfd, EPOLL_CTL_DEL, s->sock, NULL) < 0)
		log_warn("unable to stop watching the socket of %s",
			 sink_name(s, name, sizeof(name)));
	s->armed = false;
}

static void sink_arm(struct handoff *h, struct sink *s)
{
	struct epoll_event e = {.events = EPOLLOUT, .data.ptr = &s->ev};
	char name[32];

	if (s->armed)
		return;
	/* If this fails, handoff_tick still retries the queue. */
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, s->sock, &e) < 0)
		log_warn("unable to watch the socket of %s for room",
			 sink_name(s, name, sizeof(name)));
	else
		s->armed = true;
}

static void sink_disconnect(struct handoff *h, struct sink *s)
{
	sink_disarm(h, s);
	if (s->path && s->sock >= 0)
		close(s->sock);
	if (s->path)
		s->sock = -1;
}

/* Unlinked from the table by the caller. */
static void sink_free(struct handoff *h, struct sink *s)
{
	sink_disconnect(h, s);
	if (s->path && !s->pinned)
		h->instances--;
	free(s->queue);
	free(s->path);
	free(s);
}

/* Whether a message about s may be logged now. Sinks the configuration does not pin are
 * made from templates, as many as clients choose local addresses and ports. */
static bool sink_may_log(struct handoff *h, const struct sink *s)
{
	return ratelimit_allow(&h->limits[s->pinned ? LIMIT_CONFIGURED : LIMIT_FILLED],
			       ratelimit_now());
}

static void sink_log_unreachable(const struct sink *s, int err)
{
	struct stat st;
	char buf[32];

	/* connect() says ECONNREFUSED for a regular file too: say what it really is. */
	if (err == ECONNREFUSED && s->path && stat(s->path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		log_warnx("applet %s is not reachable: the path exists but is not a socket",
			  s->path);
		return;
	}
	errno = err;
	log_warn("applet %s is not reachable", sink_name(s, buf, sizeof(buf)));
}

/* Connects a path sink; an inherited descriptor cannot be reopened once it is gone. */
static int sink_connect(struct handoff *h, struct sink *s)
{
	char buf[32];

	if (s->sock >= 0)
		return 0;
	if (s->path)
		s->sock = unixsock_connect_dgram(s->path);
	if (s->sock < 0) {
		int err = errno;

		if (!s->down && sink_may_log(h, s))
			sink_log_unreachable(s, err);
		s->down = true;
		return -1;
	}
	if (!s->down)
		log_debug("connected to applet %s", sink_name(s, buf, sizeof(buf)));
	else if (sink_may_log(h, s))
		log_info("applet %s is reachable again", sink_name(s, buf, sizeof(buf)));
	s->down = false;
	return 0;
}

/* Errors of a send that mean the applet's socket is gone (it exited or restarted). */
static bool sink_gone(int err)
{
	return err == ECONNREFUSED || err == ENOTCONN || err == EPIPE || err == ECONNRESET ||
	       err == EDESTADDRREQ || err == EBADF || err == ENOTSOCK;
}

/* Tries to send the n connections in fds (one sendmmsg); on a gone applet reconnects once,
 * as it may have restarted and bound its path again. Returns how many were sent from the
 * first on (fewer than n: the applet would block), or -1 (applet gone). */
static int sink_send(struct handoff *h, struct sink *s, const int *fds,
		     const struct fdpass_addrs *addrs, unsigned n)
{
	char buf[32];
	int err = 0, sent;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (sink_connect(h, s) < 0)
			return -1;
		if ((sent = fdpass_send_batch(s->sock, fds, addrs, n, MSG_DONTWAIT)) >= 0)
			return sent;
		err = errno;
		if (!sink_gone(err))
			break;
		sink_disconnect(h, s);
	}
	if (err == EAGAIN || err == ENOBUFS || err == ENOMEM || err == ETOOMANYREFS)
		return 0;
	if (!s->down && sink_may_log(h, s)) {
		errno = err;
		log_warn("unable to hand a connection to %s", sink_name(s, buf, sizeof(buf)));
	}
	s->down = true;
	return -1;
}

static bool sink_push(struct handoff *h, struct sink *s, int fd, const struct fdpass_addrs *addrs,
		      struct tally *t)
{
	if (s->queue == NULL && (s->queue = malloc(s->cap * sizeof(*s->queue))) == NULL)
		return false;
	if (s->len == s->cap)
		return false;
	s->queue[(s->head + s->len) % s->cap] = (struct waiting){fd, ratelimit_now(), *addrs, t};
	s->len++;
	handoff_count_wait(&h->c, &t->c);
	return true;
}

static struct waiting sink_pop(struct handoff *h, struct sink *s)
{
	struct waiting w = s->queue[s->head];

	s->head = (s->head + 1) % s->cap;
	s->len--;
	HANDOFF_COUNT(h, w.tally, waiting, -1ULL);
	return w;
}

static void sink_reset_queue(struct handoff *h, struct sink *s, const char *why)
{
	unsigned n = s->len;
	char buf[32];

	if (n == 0)
		return;
	while (s->len) {
		struct waiting w = sink_pop(h, s);

		conn_reset(w.fd);
		HANDOFF_COUNT(h, w.tally, refused_dead, 1);
	}
	if (sink_may_log(h, s))
		log_warnx("reset %u queued connection%s for %s: %s", n, n == 1 ? "" : "s",
			  sink_name(s, buf, sizeof(buf)), why);
}

/* Resets the connections that have waited longer than the sink's queue timeout: their
 * clients have most likely given up, and an applet must never get them late. */
static void sink_expire(struct handoff *h, struct sink *s, uint64_t now)
{
	unsigned n = 0;
	char buf[32];

	while (s->len && now - s->queue[s->head].since_ms >= s->timeout_ms) {
		struct waiting w = sink_pop(h, s);

		conn_reset(w.fd);
		HANDOFF_COUNT(h, w.tally, expired, 1);
		n++;
	}
	if (n == 0)
		return;
	if (sink_may_log(h, s))
		log_warnx("reset %u connection%s that waited %llu ms or more for %s", n,
			  n == 1 ? "" : "s", (unsigned long long)s->timeout_ms,
			  sink_name(s, buf, sizeof(buf)));
	if (s->len == 0)
		sink_disarm(h, s);
}

/* Sends what waits in the queue, in order, up to FDPASS_BATCH_MAX a call, until the applet
 * would block; what waited too long is reset first. */
static void sink_drain(struct handoff *h, struct sink *s)
{
	sink_expire(h, s, ratelimit_now());
	while (s->len) {
		struct fdpass_addrs addrs[FDPASS_BATCH_MAX];
		int fds[FDPASS_BATCH_MAX], sent;
		unsigned n;

		for (n = 0; n < s->len && n < FDPASS_BATCH_MAX; n++) {
			const struct waiting *w = &s->queue[(s->head + n) % s->cap];

			fds[n] = w->fd;
			addrs[n] = w->addrs;
		}
		if ((sent = sink_send(h, s, fds, addrs, n)) < 0) {
			sink_reset_queue(h, s, "applet is gone");
			break;
		}
		for (int k = 0; k < sent; k++) {
			struct waiting w = sink_pop(h, s);

			fdclose_add(&h->closing, w.fd);
			HANDOFF_COUNT(h, w.tally, handed, 1);
		}
		if ((unsigned)sent < n)
			break;
	}
	if (s->len == 0)
		sink_disarm(h, s);
	else if (s->sock >= 0)
		sink_arm(h, s);
}

/* blocked: a send to s has just found it full. */
static enum offer sink_offer(struct handoff *h, struct sink *s, int fd,
			     const struct fdpass_addrs *addrs, struct tally *t, bool blocked)
{
	int rc;

	/* Behind a queue: keep the order, and save a system call that would fail. */
	if (s->len > 0 || blocked)
		goto queue;
	rc = sink_send(h, s, &fd, addrs, 1);
	if (rc < 0)
		return OFFER_DEAD;
	if (rc == 1) {
		fdclose_add(&h->closing, fd);
		HANDOFF_COUNT(h, t, handed, 1);
		return OFFER_TAKEN;
	}
queue:
	if (!sink_push(h, s, fd, addrs, t))
		return OFFER_FULL;
	if (s->len == 1) {
		char buf[32];

		log_debug("applet %s is busy; connections wait in its queue",
			  sink_name(s, buf, sizeof(buf)));
	}
	HANDOFF_COUNT(h, t, queued, 1);
	sink_arm(h, s);
	return OFFER_TAKEN;
}

/* Frees every sink for which drop holds. */
static void handoff_sweep(struct handoff *h,
			  bool (*drop)(const struct handoff *, const struct sink *))
{
	for (unsigned b = 0; b < SINK_BUCKETS; b++) {
		for (struct sink **pp = &h->buckets[b]; *pp;) {
			struct sink *s = *pp;

			if (!drop(h, s)) {
				pp = &s->next;
				continue;
			}
			*pp = s->next;
			sink_free(h, s);
		}
	}
}

static bool sink_collectable(const struct handoff *h, const struct sink *s)
{
	return !s->pinned && s->len == 0 && s->path &&
	       (h->collect || h->instances > SINK_MAX_IDLE_INSTANCES);
}

static bool sink_fresh(const struct handoff *h, const struct sink *s)
{
	(void)h;
	return s->fresh;
}

/* Closes idle sinks no configuration pins: all of them after a reload, else only while
 * there are too many. Runs between event batches, never while an event may point at one. */
void handoff_collect(struct handoff *h)
{
	handoff_flush(h);
	slots_collect(h->slots);
	if (!h->collect && h->instances <= SINK_MAX_IDLE_INSTANCES)
		return;
	handoff_sweep(h, sink_collectable);
	handoff_free_tallies(h, false);
	h->collect = false;
}

/* The sink for a path with tokens, made on first use. */
static struct sink *handoff_instance(struct handoff *h, struct target *t, unsigned i,
				     const struct conn_key *key)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct sink *s;

	if (subst_fill(t->templates[i], &key->local, key->local_port, path, sizeof(path)) < 0)
		return NULL;
	if ((s = sink_find(h, path, -1)) != NULL)
		return s;
	if ((s = sink_new(h, path, -1, t->queue)) != NULL)
		s->timeout_ms = t->queue_timeout_ms;
	return s;
}

static void handoff_addrs(const struct conn_key *key, struct fdpass_addrs *addrs)
{
	*addrs = (struct fdpass_addrs){.set = key->proxied};
	if (key->proxied) {
		addrs->local = key->local;
		addrs->remote = key->remote;
		addrs->local_port = key->local_port;
		addrs->remote_port = key->remote_port;
	}
}

/* Takes fd into the batch for s, unless connections wait in its queue (order: they go
 * first) or it cannot be connected. */
static enum offer sink_batch(struct handoff *h, struct sink *s, unsigned t, unsigned i, int fd,
			     const struct conn_key *key, bool full)
{
	if (h->nout == FDPASS_BATCH_MAX)
		handoff_flush(h); /* first: it may leave connections in the queue of s */
	if (s->len > 0)
		return OFFER_FULL; /* not taken here: sink_offer queues it */
	if (sink_connect(h, s) < 0)
		return OFFER_DEAD;
	h->out[h->nout++] = (struct outgoing){s, fd, t, i, full, *key};
	return OFFER_TAKEN;
}

/* How handoff_offer_paths offers a connection to its first path. */
enum path_mode {
	PATH_BATCH,   /* into the batch that handoff_flush sends */
	PATH_SEND,    /* sent at once */
	PATH_BLOCKED, /* queued: the applet has just been found full */
};

/* Offers fd to the paths of target t from the first-th on, resetting it when none takes
 * it; the paths after the first are always offered it at once. */
static void handoff_offer_paths(struct handoff *h, unsigned t, unsigned first, int fd,
				const struct conn_key *key, bool full, enum path_mode mode)
{
	struct target *tg = &h->targets[t];
	const char *why = "no applet is reachable";
	char local[ADDR_STRLEN], remote[ADDR_STRLEN];
	struct fdpass_addrs addrs;
	bool blocked;

	handoff_addrs(key, &addrs);
	for (unsigned i = first; i < tg->npaths; i++) {
		struct sink *s = tg->sinks[i] ? tg->sinks[i] : handoff_instance(h, tg, i, key);

		if (s == NULL) {
			why = "the filled path is too long or memory ran out";
			continue;
		}
		if (mode == PATH_BATCH && i == first) {
			enum offer o = sink_batch(h, s, t, i, fd, key, full);

			if (o == OFFER_TAKEN)
				return;
			if (o == OFFER_DEAD)
				continue;
		}
		blocked = mode == PATH_BLOCKED && i == first;
		switch (sink_offer(h, s, fd, &addrs, tg->tally, blocked)) {
		case OFFER_TAKEN: return;
		case OFFER_FULL: full = true; break;
		case OFFER_DEAD: break;
		}
	}
	conn_reset(fd);
	if (full) {
		why = "queue full";
		HANDOFF_COUNT(h, tg->tally, refused_full, 1);
	} else {
		HANDOFF_COUNT(h, tg->tally, refused_dead, 1);
	}
	if (ratelimit_allow(&h->limits[LIMIT_RESETS], ratelimit_now()))
		log_warnx("reset [%s]:%u -> [%s]:%u: target %s: %s",
			  addr_ntop(&key->remote, remote, sizeof(remote)), key->remote_port,
			  addr_ntop(&key->local, local, sizeof(local)), key->local_port, tg->name,
			  why);
}

void handoff_dispatch(struct handoff *h, unsigned t, int fd, const struct conn_key *key)
{
	struct target *tg = &h->targets[t];
	bool full = false;

	HANDOFF_COUNT(h, tg->tally, accepted, 1);
	if (tg->slot) {
		struct fdpass_addrs addrs;

		handoff_addrs(key, &addrs);
		switch (slots_offer(h->slots, tg->slot, fd, &addrs, tg->npaths > 0, &tg->tally->c)) {
		case SLOT_TAKEN: return;
		case SLOT_FULL: full = true; break;
		case SLOT_NONE: break;
		}
	}
	handoff_offer_paths(h, t, 0, fd, key, full, PATH_BATCH);
}

/* Sends the batch of each sink; what a sink did not take goes on as handoff_dispatch
 * would have sent it alone (queued, or to the next path). */
void handoff_flush(struct handoff *h)
{
	for (unsigned i = 0; i < h->nout; i++) {
		struct sink *s = h->out[i].sink;
		struct fdpass_addrs addrs[FDPASS_BATCH_MAX];
		unsigned idx[FDPASS_BATCH_MAX], n = 0;
		int fds[FDPASS_BATCH_MAX], sent;

		if (s == NULL)
			continue; /* sent with an earlier sink's batch */
		for (unsigned j = i; j < h->nout; j++) {
			if (h->out[j].sink != s)
				continue;
			h->out[j].sink = NULL;
			fds[n] = h->out[j].fd;
			handoff_addrs(&h->out[j].key, &addrs[n]);
			idx[n++] = j;
		}
		sent = sink_send(h, s, fds, addrs, n);
		for (unsigned k = 0; k < n; k++) {
			const struct outgoing *o = &h->out[idx[k]];

			if ((int)k < sent) {
				fdclose_add(&h->closing, o->fd);
				HANDOFF_COUNT(h, h->targets[o->target].tally, handed, 1);
			} else if (sent < 0) {
				handoff_offer_paths(h, o->target, o->path + 1, o->fd, &o->key,
						    o->full, PATH_SEND);
			} else {
				handoff_offer_paths(h, o->target, o->path, o->fd, &o->key, o->full,
						    PATH_BLOCKED);
			}
		}
	}
	h->nout = 0;
	fdclose_flush(&h->closing);
}

void handoff_event(struct handoff *h, struct event_source *ev)
{
	sink_drain(h, (struct sink *)ev);
}

bool handoff_wants_tick(const struct handoff *h)
{
	for (unsigned k = 0; k < LIMITS; k++)
		if (h->limits[k].suppressed)
			return true;
	return h->c.waiting > 0 || slots_wants_tick(h->slots);
}

void handoff_tick(struct handoff *h)
{
	uint64_t now = ratelimit_now();

	for (unsigned k = 0; k < LIMITS; k++)
		ratelimit_flush(&h->limits[k], now);
	slots_tick(h->slots);
	if (h->c.waiting == 0)
		return;
	for (unsigned b = 0; b < SINK_BUCKETS; b++)
		for (struct sink *s = h->buckets[b]; s; s = s->next)
			if (s->len)
				sink_drain(h, s);
}

/* Fills t from tc, finding the sinks of its static paths or making them (fresh). Returns 0,
 * or -1 when out of memory. */
static int handoff_target(struct handoff *h, struct target *t, const struct target_conf *tc)
{
	if ((t->name = strdup(tc->name)) == NULL || (t->tally = handoff_tally(h, tc->name)) == NULL)
		return -1;
	t->queue = tc->queue;
	t->queue_timeout_ms = tc->queue_timeout ? tc->queue_timeout * 1000ULL : UINT64_MAX;
	t->npaths = tc->fd >= 0 ? 1 : tc->npaths;
	t->slot = tc->has_slot ? slots_find(h->slots, tc->slot) : NULL;
	for (unsigned j = 0; j < t->npaths; j++) {
		const char *path = tc->fd >= 0 ? NULL : tc->paths[j];
		struct sink *s;

		if (path && subst_has_tokens(path)) {
			/* Points into cfg, which lives as long as these targets. */
			t->templates[j] = path;
			continue;
		}
		if ((s = sink_find(h, path, tc->fd)) == NULL) {
			if ((s = sink_new(h, path, tc->fd, tc->queue)) == NULL)
				return -1;
			s->fresh = true;
		}
		t->sinks[j] = s;
	}
	return 0;
}

static void handoff_free_targets(struct target *targets, unsigned n)
{
	for (unsigned i = 0; targets && i < n; i++)
		free(targets[i].name);
	free(targets);
}

/* Puts the targets of cfg in force; nothing here can fail. */
static void handoff_switch(struct handoff *h, struct target *targets, const struct config *cfg)
{
	unsigned n = cfg->ntargets;

	for (unsigned k = 0; k < LIMITS; k++)
		ratelimit_set(&h->limits[k], cfg->log_burst, cfg->log_interval);
	/* Unpin everything, then pin what the new targets name. */
	for (unsigned b = 0; b < SINK_BUCKETS; b++)
		for (struct sink *s = h->buckets[b]; s; s = s->next)
			if (s->pinned) {
				s->pinned = false;
				if (s->path)
					h->instances++;
			}
	for (struct tally *t = h->tallies; t; t = t->next)
		t->current = false;
	for (unsigned i = 0; i < n; i++) {
		targets[i].tally->current = true;
		for (unsigned j = 0; j < targets[i].npaths; j++) {
			struct sink *s = targets[i].sinks[j];

			if (s == NULL)
				continue;
			/* Targets sharing a path: the most patient one decides. A path no
			 * target names any more keeps its timeout while its queue drains. */
			if (!s->pinned || targets[i].queue_timeout_ms > s->timeout_ms)
				s->timeout_ms = targets[i].queue_timeout_ms;
			if (!s->pinned && s->path)
				h->instances--;
			s->pinned = true;
			s->fresh = false;
			if (targets[i].queue > s->cap && s->queue == NULL)
				s->cap = targets[i].queue;
			/* Connect now: at start-up this happens before privileges are dropped. */
			if (s->sock < 0)
				(void)sink_connect(h, s);
		}
	}
	handoff_free_targets(h->targets, h->ntargets);
	h->targets = targets;
	h->ntargets = n;
	h->collect = true;
}

/* Everything that can fail comes first and adds only fresh sinks, which a failure frees
 * again: until the switch, the targets in force keep pointing at pinned sinks. */
int handoff_configure(struct handoff *h, const struct config *cfg)
{
	struct target *targets;

	handoff_flush(h); /* the batch names targets of the configuration in force */
	targets = calloc(cfg->ntargets + 1, sizeof(*targets));
	/* Slots made here and left unused by a failure wait, unpinned, for the next reload. */
	if (targets == NULL || slots_prepare(h->slots, cfg) < 0)
		goto bad;
	for (unsigned i = 0; i < cfg->ntargets; i++)
		if (handoff_target(h, &targets[i], &cfg->targets[i]) < 0)
			goto bad;
	handoff_switch(h, targets, cfg);
	slots_switch(h->slots, cfg);
	return 0;
bad:
	handoff_sweep(h, sink_fresh);
	handoff_free_targets(targets, cfg->ntargets);
	return -1;
}

struct handoff *handoff_new(int epfd)
{
	struct handoff *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->epfd = epfd;
	if ((h->slots = slots_new(epfd, &h->c)) == NULL) {
		free(h);
		return NULL;
	}
	for (unsigned k = 0; k < LIMITS; k++)
		ratelimit_init(&h->limits[k], limit_what[k], CONFIG_DEFAULT_LOG_BURST,
			       CONFIG_DEFAULT_LOG_INTERVAL);
	return h;
}

unsigned long long handoff_pending(const struct handoff *h)
{
	return h->c.waiting; /* in the queues of sinks and of slots */
}

const char *handoff_may_register(struct handoff *h, uint32_t slot, uid_t uid)
{
	return slots_may_register(h->slots, slot, uid);
}

int handoff_register(struct handoff *h, uint32_t slot, int sock, const struct ucred *cred)
{
	return slots_register(h->slots, slot, sock, cred);
}

void handoff_applet_event(struct handoff *h, struct event_source *ev, uint32_t events)
{
	slots_event(h->slots, ev, events);
}

const struct slot_counters *handoff_slot_counters(const struct handoff *h, uint32_t slot)
{
	return slots_counters(h->slots, slot);
}

void handoff_report_slots(const struct handoff *h)
{
	slots_report(h->slots);
}

const struct handoff_counters *handoff_counters(const struct handoff *h)
{
	return &h->c;
}

unsigned handoff_ntargets(const struct handoff *h)
{
	return h->ntargets;
}

const char *handoff_target_name(const struct handoff *h, unsigned t)
{
	return h->targets[t].name;
}

const struct handoff_counters *handoff_target_counters(const struct handoff *h, unsigned t)
{
	return &h->targets[t].tally->c;
}

const struct slot_counters *handoff_target_slot(const struct handoff *h, unsigned t)
{
	return h->targets[t].slot ? slots_counters_of(h->targets[t].slot) : NULL;
}

void handoff_free(struct handoff *h)
{
	if (h == NULL)
		return;
	handoff_flush(h);
	for (unsigned b = 0; b < SINK_BUCKETS; b++) {
		while (h->buckets[b]) {
			struct sink *s = h->buckets[b];

			h->buckets[b] = s->next;
			sink_reset_queue(h, s, "socketbox is stopping");
			sink_free(h, s);
		}
	}
	slots_free(h->slots);
	for (unsigned k = 0; k < LIMITS; k++)
		ratelimit_end(&h->limits[k]);
	handoff_free_targets(h->targets, h->ntargets);
	handoff_free_tallies(h, true);
	free(h);
}
