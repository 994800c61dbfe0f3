/* registry.c - the registration sockets applets dial in to.
 *
 * A peer gets one chance: one 8-byte request within REGISTRY_REQUEST_MS, for a slot its
 * uid (SO_PEERCRED: the host's uid, also from inside a user namespace) may take within the
 * limits. Anything else closes it with a log line (rate-limited: any local user can
 * connect). Nothing here blocks: every socket is non-blocking and read once per event. */
#include "registry.h"
#include "evloop.h"
#include "log.h"
#include "ratelimit.h"
#include "regmsg.h"
#include "unixsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define REGISTRY_TICK_MS 250
#define REGISTRY_BACKLOG 128
#define REGISTRY_ACCEPT_BATCH 16

enum reg_what { REG_LISTENER, REG_PEER, REG_TIMER };

struct reg_source {
	struct event_source ev; /* first: epoll_data.ptr points here */
	enum reg_what what;
};

struct reg_listener {
	struct reg_source src;
	int fd;
	char *path;
	bool paused; /* out of descriptors: not watched until the next tick */
};

struct reg_peer {
	struct reg_source src;
	int fd; /* -1 once closed or handed on */
	struct ucred cred;
	uint64_t deadline_ms;
	struct reg_peer *next; /* waiting list, then closed list */
};

struct registry {
	int epfd;
	struct handoff *h;
	struct reg_listener *listeners;
	unsigned nlisteners;
	struct reg_peer *waiting, *closed;
	unsigned nwaiting, npaused;
	unsigned per_uid; /* register_limit.per_uid: waiting peers count against it too */
	struct reg_source timer;
	int timer_fd;
	bool ticking;
	struct ratelimit rl;
};

static void registry_tick_on(struct registry *r, bool on)
{
	if (on == r->ticking)
		return;
	if (evloop_timer_set(r->timer_fd, on ? REGISTRY_TICK_MS : 0) < 0)
		fatal("unable to set the registration timer");
	r->ticking = on;
}

/* Unlinks p from the waiting list and closes its socket unless it was handed on. */
static void registry_close(struct registry *r, struct reg_peer *p)
{
	for (struct reg_peer **pp = &r->waiting; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	r->nwaiting--;
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->next = r->closed;
	r->closed = p;
	registry_tick_on(r, r->nwaiting > 0 || r->npaused > 0);
}

static void registry_refuse(struct registry *r, const struct ucred *cred, long long slot,
			    const char *why)
{
	char s[24] = "-";

	if (!ratelimit_allow(&r->rl, ratelimit_now()))
		return;
	if (slot >= 0)
		snprintf(s, sizeof(s), "%lld", slot);
	log_warnx("registration refused: pid %ld uid %u slot %s: %s", (long)cred->pid,
		  (unsigned)cred->uid, s, why);
}

static unsigned registry_waiting_uid(const struct registry *r, uid_t uid)
{
	unsigned n = 0;

	for (const struct reg_peer *p = r->waiting; p; p = p->next)
		n += p->cred.uid == uid;
	return n;
}

static void registry_accept(struct registry *r, struct reg_listener *l)
{
	for (int i = 0; i < REGISTRY_ACCEPT_BATCH; i++) {
		struct ucred cred = {.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
		socklen_t len = sizeof(cred);
		struct reg_peer *p = NULL;
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
				return;
			if (ratelimit_allow(&r->rl, ratelimit_now()))
				log_warn("unable to accept a registration on %s", l->path);
			/* Out of descriptors or memory: the socket stays readable, so stop
			 * watching it until the next tick rather than spin. */
			if (evloop_mod(r->epfd, l->fd, 0, &l->src) == 0) {
				l->paused = true;
				r->npaused++;
				registry_tick_on(r, true);
			}
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			registry_refuse(r, &cred, -1, "no peer credentials");
			goto bad;
		}
		/* One user's silent connections must not keep the others from registering. */
		if (registry_waiting_uid(r, cred.uid) >= r->per_uid) {
			registry_refuse(r, &cred, -1, "too many registrations under way from this uid");
			goto bad;
		}
		if (r->nwaiting >= REGISTRY_MAX_PENDING) {
			registry_refuse(r, &cred, -1, "too many registrations under way");
			goto bad;
		}
		if ((p = calloc(1, sizeof(*p))) == NULL) {
			registry_refuse(r, &cred, -1, "out of memory");
			goto bad;
		}
		*p = (struct reg_peer){.src = {{EVENT_REGISTRY}, REG_PEER}, .fd = fd,
				       .cred = cred,
				       .deadline_ms = ratelimit_now() + REGISTRY_REQUEST_MS,
				       .next = r->waiting};
		struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = &p->src};

		if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
			registry_refuse(r, &cred, -1, "unable to watch the connection");
			goto bad;
		}
		r->waiting = p;
		r->nwaiting++;
		registry_tick_on(r, true);
		continue;
bad:
		free(p);
		close(fd);
	}
}

/* The one request: answered and handed to handoff, or refused. */
static void registry_request(struct registry *r, struct reg_peer *p)
{
	unsigned char buf[16];
	const char *why;
	uint32_t slot = 0;
	/* MSG_TRUNC: the real length of a longer message, which is refused as such. */
	ssize_t n = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		registry_refuse(r, &p->cred, -1, n == 0 ? "closed before sending a request"
							: strerror(errno));
		goto close;
	}
	if ((why = regmsg_parse(buf, (size_t)n, &slot)) != NULL) {
		registry_refuse(r, &p->cred, -1, why);
		goto close;
	}
	if ((why = handoff_may_register(r->h, slot, p->cred.uid)) != NULL) {
		registry_refuse(r, &p->cred, slot, why);
		goto close;
	}
	/* A fresh connection has room for 4 bytes: this cannot block. */
	if (send(p->fd, regmsg_accepted, sizeof(regmsg_accepted), MSG_DONTWAIT | MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(regmsg_accepted)) {
		registry_refuse(r, &p->cred, slot, "unable to answer");
		goto close;
	}
	if (epoll_ctl(r->epfd, EPOLL_CTL_DEL, p->fd, NULL) < 0 ||
	    handoff_register(r->h, slot, p->fd, &p->cred) < 0) {
		registry_refuse(r, &p->cred, slot, "out of memory");
		goto close;
	}
	p->fd = -1; /* handoff's now */
close:
	registry_close(r, p);
}

static void registry_expire(struct registry *r)
{
	uint64_t now = ratelimit_now(), expirations;

	if (read(r->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_warn("unable to read the registration timer");
	for (struct reg_peer *p = r->waiting, *next; p; p = next) {
		next = p->next;
		if (now >= p->deadline_ms) {
			registry_refuse(r, &p->cred, -1, "no request within 1 s");
			registry_close(r, p);
		}
	}
	for (unsigned i = 0; i < r->nlisteners; i++) {
		struct reg_listener *l = &r->listeners[i];

		if (l->paused && evloop_mod(r->epfd, l->fd, EPOLLIN, &l->src) == 0) {
			l->paused = false;
			r->npaused--;
		}
	}
	registry_tick_on(r, r->nwaiting > 0 || r->npaused > 0);
	ratelimit_flush(&r->rl, now);
}

void registry_event(struct registry *r, struct event_source *ev)
{
	struct reg_source *src = (struct reg_source *)ev;

	switch (src->what) {
	case REG_LISTENER:
		registry_accept(r, (struct reg_listener *)src);
		break;
	case REG_PEER:
		if (((struct reg_peer *)src)->fd >= 0) /* else closed earlier in this batch */
			registry_request(r, (struct reg_peer *)src);
		break;
	case REG_TIMER:
		registry_expire(r);
		break;
	}
}

struct registry *registry_new(int epfd, const struct config *cfg, struct handoff *h)
{
	struct registry *r = calloc(1, sizeof(*r));

	if (r == NULL || (cfg->nregisters &&
			  (r->listeners = calloc(cfg->nregisters, sizeof(*r->listeners))) == NULL))
		fatal("out of memory");
	r->epfd = epfd;
	r->h = h;
	r->per_uid = cfg->reg_per_uid;
	r->timer = (struct reg_source){{EVENT_REGISTRY}, REG_TIMER};
	r->timer_fd = evloop_timer(epfd, &r->timer);
	ratelimit_init(&r->rl, "registration refusals", cfg->log_burst, cfg->log_interval);
	for (unsigned i = 0; i < cfg->nregisters; i++) {
		struct reg_listener *l = &r->listeners[i];

		l->src = (struct reg_source){{EVENT_REGISTRY}, REG_LISTENER};
		if ((l->path = strdup(cfg->registers[i].path)) == NULL)
			fatal("out of memory");
		l->fd = unixsock_bind(l->path, SOCK_SEQPACKET, cfg->registers[i].mode);
		if (l->fd < 0 || listen(l->fd, REGISTRY_BACKLOG) < 0)
			fatal("unable to create the registration socket %s", l->path);
		r->nlisteners++;
		evloop_add(epfd, l->fd, EPOLLIN, &l->src, "the registration socket");
	}
	return r;
}

void registry_configure(struct registry *r, const struct config *cfg)
{
	ratelimit_set(&r->rl, cfg->log_burst, cfg->log_interval);
	r->per_uid = cfg->reg_per_uid;
}

void registry_collect(struct registry *r)
{
	while (r->closed) {
		struct reg_peer *p = r->closed;

		r->closed = p->next;
		free(p);
	}
}

void registry_free(struct registry *r)
{
	if (r == NULL)
		return;
	while (r->waiting)
		registry_close(r, r->waiting);
	registry_collect(r);
	for (unsigned i = 0; i < r->nlisteners; i++) {
		close(r->listeners[i].fd);
		free(r->listeners[i].path);
	}
	free(r->listeners);
	close(r->timer_fd);
	ratelimit_end(&r->rl);
	free(r);
}
