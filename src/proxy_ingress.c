/* proxy_ingress.c - reads the PROXY protocol header of the connections of proxy_protocol
 * listeners inside the acceptor's event loop. This is the one place socketbox reads bytes
 * of a connection, so it is bounded every way: only peers in proxy_from may send one, at
 * most PROXY_INGRESS_MAX wait at once in slots allocated at start-up, each for at most
 * proxy_timeout seconds, and a header is peeked at (MSG_PEEK) until it is whole, then read
 * by its exact length: never a byte of what the client sends after it. Edge-triggered
 * epoll wakes us only when more bytes arrive, so a slow peer costs nothing between them. */
#include "proxy_ingress.h"
#include "addr.h"
#include "conn.h"
#include "log.h"
#include "ratelimit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct proxy_wait {
	struct event_source ev; /* first: epoll_data.ptr points here */
	int fd;			/* -1: a free slot */
	unsigned listener;
	uint64_t deadline_ms;
	struct in6_addr peer; /* for log lines */
	uint16_t peer_port;
};

enum proxy_limit { PROXY_LIMIT_SOURCE, PROXY_LIMIT_HEADER, PROXY_LIMITS };
static const char *const proxy_limit_what[PROXY_LIMITS] = {
	"PROXY headers from sources not allowed", "bad or late PROXY headers"};

struct proxy_ingress {
	int epfd;
	struct proxy_wait *slots;
	unsigned *free; /* stack of free slot numbers */
	unsigned nfree;
	struct proxy_ingress_counters c;
	struct ratelimit limits[PROXY_LIMITS];
};

struct proxy_ingress *proxy_ingress_new(int epfd, const struct config *cfg)
{
	struct proxy_ingress *pi = calloc(1, sizeof(*pi));

	if (pi == NULL)
		return NULL;
	pi->epfd = epfd;
	pi->slots = calloc(PROXY_INGRESS_MAX, sizeof(*pi->slots));
	pi->free = calloc(PROXY_INGRESS_MAX, sizeof(*pi->free));
	if (pi->slots == NULL || pi->free == NULL) {
		proxy_ingress_free(pi);
		return NULL;
	}
	for (unsigned i = 0; i < PROXY_INGRESS_MAX; i++) {
		pi->slots[i].ev.kind = EVENT_PROXY;
		pi->slots[i].fd = -1;
		pi->free[pi->nfree++] = PROXY_INGRESS_MAX - 1 - i;
	}
	for (unsigned k = 0; k < PROXY_LIMITS; k++)
		ratelimit_init(&pi->limits[k], proxy_limit_what[k], cfg->log_burst,
			       cfg->log_interval);
	return pi;
}

void proxy_ingress_configure(struct proxy_ingress *pi, const struct config *cfg)
{
	for (unsigned k = 0; k < PROXY_LIMITS; k++)
		ratelimit_set(&pi->limits[k], cfg->log_burst, cfg->log_interval);
}

static bool proxy_ingress_allowed(const struct listen_conf *l, const struct in6_addr *peer)
{
	for (unsigned i = 0; i < l->nproxy_from; i++) {
		struct in6_addr a = *peer;

		addr_mask(&a, l->proxy_from_plen[i]);
		if (IN6_ARE_ADDR_EQUAL(&a, &l->proxy_from[i]))
			return true;
	}
	return false;
}

/* Resets a connection that will not be served, with a rate-limited line saying why. */
static void proxy_ingress_refuse(struct proxy_ingress *pi, int fd, enum proxy_limit kind,
				 const struct in6_addr *peer, uint16_t port, const char *why)
{
	char addr[ADDR_STRLEN];

	conn_reset(fd);
	if (ratelimit_allow(&pi->limits[kind], ratelimit_now()))
		log_warnx("reset [%s]:%u: %s", addr_ntop(peer, addr, sizeof(addr)), port, why);
}

void proxy_ingress_add(struct proxy_ingress *pi, int fd, unsigned listener,
		       const struct listen_conf *l, const struct in6_addr *peer,
		       uint16_t peer_port)
{
	struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET};
	struct proxy_wait *w;

	if (!proxy_ingress_allowed(l, peer)) {
		pi->c.refused_source++;
		proxy_ingress_refuse(pi, fd, PROXY_LIMIT_SOURCE, peer, peer_port,
				     "not in proxy_from of its listener, may not send a PROXY "
				     "header");
		return;
	}
	if (pi->nfree == 0) {
		pi->c.refused_full++;
		proxy_ingress_refuse(pi, fd, PROXY_LIMIT_HEADER, peer, peer_port,
				     "too many connections wait for their PROXY header");
		return;
	}
	w = &pi->slots[pi->free[pi->nfree - 1]];
	e.data.ptr = &w->ev;
	/* Registered with data already there, the first edge is reported at once. */
	if (epoll_ctl(pi->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
		log_warn("unable to wait for a PROXY header");
		conn_reset(fd);
		return;
	}
	pi->nfree--;
	w->fd = fd;
	w->listener = listener;
	w->deadline_ms = ratelimit_now() + l->proxy_timeout * 1000ULL;
	w->peer = *peer;
	w->peer_port = peer_port;
}

/* The slot goes back to the pool; the connection stays open. */
static int proxy_ingress_release(struct proxy_ingress *pi, struct proxy_wait *w)
{
	int fd = w->fd;

	if (epoll_ctl(pi->epfd, EPOLL_CTL_DEL, fd, NULL) < 0)
		log_warn("unable to stop watching a connection");
	w->fd = -1;
	pi->free[pi->nfree++] = (unsigned)(w - pi->slots);
	return fd;
}

/* Peeks at what has arrived: 1 with the header's length in *len, 0 to wait for more, -1
 * when the connection is done for (why says so, NULL when the peer just went away). */
static int proxy_ingress_peek(int fd, struct proxy_info *info, size_t *len, const char **why)
{
	unsigned char buf[PROXY_PARSE_MAX];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	int rc;

	*why = NULL;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;
	rc = proxy_parse(buf, (size_t)n, info, why);
	if (rc <= 0)
		return rc;
	*len = (size_t)rc;
	return 1;
}

bool proxy_ingress_event(struct proxy_ingress *pi, struct event_source *ev, int *fd,
			 unsigned *listener, struct proxy_info *info)
{
	struct proxy_wait *w = (struct proxy_wait *)ev;
	unsigned char buf[PROXY_PARSE_MAX];
	const char *why;
	size_t len = 0;
	int rc;

	if (w->fd < 0)
		return false; /* released earlier in this batch of events */
	rc = proxy_ingress_peek(w->fd, info, &len, &why);
	if (rc == 0)
		return false; /* more to come; a peer that stops short meets the timeout */
	if (rc > 0 && recv(w->fd, buf, len, MSG_DONTWAIT) != (ssize_t)len) {
		rc = -1;
		why = "the PROXY header could not be read";
	}
	if (rc < 0) {
		struct in6_addr peer = w->peer;
		uint16_t port = w->peer_port;
		int gone = proxy_ingress_release(pi, w);

		if (why == NULL) {
			pi->c.closed++;
			close(gone);
		} else {
			pi->c.malformed++;
			proxy_ingress_refuse(pi, gone, PROXY_LIMIT_HEADER, &peer, port, why);
		}
		return false;
	}
	pi->c.read++;
	if (info->local) {
		/* No client named: the connection's own peer stands, as accept saw it. */
		pi->c.local++;
		info->src = w->peer;
		info->src_port = w->peer_port;
	}
	*listener = w->listener;
	*fd = proxy_ingress_release(pi, w);
	return true;
}

void proxy_ingress_tick(struct proxy_ingress *pi)
{
	uint64_t now = ratelimit_now();

	for (unsigned k = 0; k < PROXY_LIMITS; k++)
		ratelimit_flush(&pi->limits[k], now);
	for (unsigned i = 0; i < PROXY_INGRESS_MAX && pi->nfree < PROXY_INGRESS_MAX; i++) {
		struct proxy_wait *w = &pi->slots[i];

		if (w->fd < 0 || now < w->deadline_ms)
			continue;
		pi->c.expired++;
		proxy_ingress_refuse(pi, proxy_ingress_release(pi, w), PROXY_LIMIT_HEADER,
				     &w->peer, w->peer_port,
				     "no whole PROXY header within proxy_timeout");
	}
}

bool proxy_ingress_wants_tick(const struct proxy_ingress *pi)
{
	for (unsigned k = 0; k < PROXY_LIMITS; k++)
		if (pi->limits[k].suppressed)
			return true;
	return pi->nfree < PROXY_INGRESS_MAX;
}

unsigned proxy_ingress_pending(const struct proxy_ingress *pi)
{
	return PROXY_INGRESS_MAX - pi->nfree;
}

const struct proxy_ingress_counters *proxy_ingress_counters(const struct proxy_ingress *pi)
{
	return &pi->c;
}

void proxy_ingress_free(struct proxy_ingress *pi)
{
	if (pi == NULL)
		return;
	for (unsigned i = 0; pi->slots && i < PROXY_INGRESS_MAX; i++)
		if (pi->slots[i].fd >= 0)
			conn_reset(proxy_ingress_release(pi, &pi->slots[i]));
	for (unsigned k = 0; k < PROXY_LIMITS; k++)
		ratelimit_end(&pi->limits[k]);
	free(pi->slots);
	free(pi->free);
	free(pi);
}
