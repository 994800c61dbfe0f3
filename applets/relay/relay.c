/* relay.c - socketbox-relay's connection engine.
 *
 * Each connection is a client socket (handed off by socketbox) and a backend socket. Each
 * direction copies through one buffer shared by the whole relay: peek at what the source
 * has (MSG_PEEK), send it, then drop from the source what the destination took (MSG_TRUNC:
 * TCP discards without copying). Bytes the destination did not take stay in the source's
 * receive queue, so a connection holds no buffer and no pipe of its own, and TCP flow
 * control slows the sender. On loopback this moves bulk data faster and with less CPU than
 * splice() through a pipe, and costs no pipes per connection (tests/bench/README.md has
 * the figures). Sockets are registered edge-triggered once for everything; on any event
 * each direction is pumped until it makes no progress (or its source has nothing, or its
 * destination no room, as the events said). End of input on one side becomes
 * shutdown(SHUT_WR) on the other; a reset on one side resets the other. */
#include "relay.h"
#include "applet_stats.h"
#include "conn.h"
#include "evloop.h"
#include "fdpass.h"
#include "log.h"
#include "proxy_header.h"
#include "addr.h"
#include "ratelimit.h"
#include "sockd_client.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

/* The shared buffer: 96 KiB stays in the L2 cache between the peek and the send, and
 * moved bulk data faster than 64 KiB, 128 KiB, 256 KiB and 1 MiB at about the same CPU
 * (tests/bench/README.md). */
#define RELAY_BUF (96 * 1024)

enum endpoint_kind { EP_CLIENT, EP_BACKEND, EP_RECEIVE, EP_SIGNAL, EP_TIMER, EP_STATS };

/* A socket of a connection, with what its edge-triggered events said of it since the
 * relay last ran into EAGAIN: no call is made on a socket known to have nothing to give. */
struct endpoint {
	enum endpoint_kind kind;
	struct relay_conn *conn;
	int fd;
	bool readable, writable;
	bool failed; /* EPOLLERR or EPOLLHUP: look even where nothing can be sent */
	bool ended;  /* EPOLLRDHUP: the peer's FIN, and so all its data, is in the queue */
};

/* One direction: from -> to. The bytes in transit stay in the source's receive queue. */
struct flow {
	bool shut; /* end of input seen and passed on to the destination */
	unsigned long long bytes; /* delivered to the destination */
};

struct relay_conn {
	struct endpoint client_ep, backend_ep;
	int client, backend;
	bool connecting;
	bool asking; /* ... and before that, waiting for socketbox-sockd's answer (--egress):
		      * backend is the socket the answer comes on */
	bool retry; /* connect again on the next tick: the UNIX backend's queue was full */
	bool in_use;
	struct flow up, down; /* up: client -> backend; down: backend -> client */
	int64_t deadline;     /* connect or idle timeout, monotonic ms; 0 for none */
	struct relay_conn *next_free;
	struct fdpass_addrs addrs; /* the client's and the dialled address, when socketbox
				    * read them from a PROXY header; else the socket's stand */
};

struct relay {
	const struct relay_options *o;
	struct applet_socket *sock; /* where connections come from: socketbox's hand-offs, */
	int listen_fd;		    /* or our own listening socket (--listen), else -1 */
	int epfd, sigfd, timerfd, netns_home;
	struct endpoint recv_ep, sig_ep, timer_ep, stats_ep;
	struct metrics *stats; /* --stats, or NULL */
	struct relay_conn *conns, *free_list;
	char *buf; /* RELAY_BUF bytes, shared by every connection */
	unsigned active;
	bool receiving;
	bool starved; /* accept ran out of descriptors or memory: paused until one is freed */
	unsigned long long accepted; /* with --listen */
	/* for SIGUSR1: connections that failed to connect or timed out; bytes of ended ones */
	unsigned long long connect_failures, timeouts, bytes_up, bytes_down;
	struct ratelimit failures; /* their log lines: a dead backend must not flood the log */
	char target[ADDR_STRLEN];
};

#define RELAY_TICK_MS 100

/* Milliseconds: whole seconds made a 2 s timeout fire after 1.3 s. */
static int64_t relay_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void relay_receiving(struct relay *r, bool on)
{
	if (r->receiving == on)
		return;
	if (r->sock)
		applet_socket_receiving(r->sock, on);
	else if (evloop_mod(r->epfd, r->listen_fd, on ? EPOLLIN : 0, &r->recv_ep) < 0)
		fatal("unable to %s receiving connections", on ? "resume" : "pause");
	r->receiving = on;
}

/* Ends a connection: reset both sides, or close them normally. The client socket leaves
 * the epoll set before it is closed: a sender that kept a duplicate of it keeps its file
 * alive, and with it a registration whose events would land on this slot's next
 * connection. The backend socket is ours alone: closing it ends its registration. */
static void relay_end(struct relay *r, struct relay_conn *c, bool reset)
{
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, c->client, NULL);
	if (reset) {
		conn_reset(c->client);
		if (c->backend >= 0)
			conn_reset(c->backend);
	} else {
		close(c->client);
		if (c->backend >= 0)
			close(c->backend);
	}
	r->bytes_up += c->up.bytes;
	r->bytes_down += c->down.bytes;
	c->up = c->down = (struct flow){0};
	c->in_use = false;
	c->next_free = r->free_list;
	r->free_list = c;
	if (r->active-- == r->o->max_conns || r->starved) {
		r->starved = false;
		relay_receiving(r, true);
	}
}

/* An outbound socket, made inside the target namespace if there is one. */
static int relay_socket(struct relay *r, int family)
{
	int fd;

	if (r->o->netns_fd >= 0 && setns(r->o->netns_fd, CLONE_NEWNET) < 0)
		fatal("unable to enter the target network namespace");
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->o->netns_fd >= 0 && setns(r->netns_home, CLONE_NEWNET) < 0)
		fatal("unable to return to the original network namespace");
	return fd;
}

enum step { STEP_IDLE, STEP_PROGRESS, STEP_RESET, STEP_ERROR };

static bool relay_is_reset(int err)
{
	return err == ECONNRESET || err == EPIPE || err == ETIMEDOUT || err == EHOSTUNREACH ||
	       err == ENETUNREACH;
}

static enum step relay_failure(int err)
{
	if (err == EAGAIN)
		return STEP_IDLE;
	return relay_is_reset(err) ? STEP_RESET : STEP_ERROR;
}

/* End of input from a direction's source: pass it on. Once both directions have ended,
 * close() sends the backend its FIN: no shutdown() for it (the client's socket may have
 * another reference, so it always gets one). */
static enum step flow_end(struct flow *f, const struct endpoint *to, const struct flow *other)
{
	f->shut = true;
	if ((to->kind == EP_CLIENT || !other->shut) && shutdown(to->fd, SHUT_WR) < 0 &&
	    errno != ENOTCONN)
		return STEP_ERROR;
	return STEP_PROGRESS;
}

/* One step of one direction: pass on what the source has, up to the shared buffer, or the
 * end of input. MSG_DONTWAIT, not O_NONBLOCK: the handed-over socket stays as it came. */
static enum step flow_step(struct relay *r, struct flow *f, struct endpoint *from,
			   struct endpoint *to, const struct flow *other)
{
	ssize_t n, sent;
	bool last;

	if (f->shut || !from->readable || !(to->writable || from->failed))
		return STEP_IDLE;
	n = recv(from->fd, r->buf, RELAY_BUF, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN)
		from->readable = false;
	if (n < 0)
		return relay_failure(errno);
	if (n == 0)
		return flow_end(f, to, other);
	if (!to->writable)
		return STEP_IDLE;
	/* The peek took all that was queued before the source's FIN: the next read would
	 * return 0. MSG_MORE holds the tail so that the FIN leaves in the same segment. */
	last = n < RELAY_BUF && from->ended && !from->failed;
	sent = send(to->fd, r->buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL | (last ? MSG_MORE : 0));
	if (sent < 0 && errno == EAGAIN)
		to->writable = false;
	if (sent < 0)
		return relay_failure(errno);
	/* Drop what was delivered; the rest waits in the source's queue for the next try. */
	if (recv(from->fd, r->buf, (size_t)sent, MSG_TRUNC | MSG_DONTWAIT) != sent)
		return STEP_ERROR;
	f->bytes += (size_t)sent;
	if (sent == n && last)
		return flow_end(f, to, other);
	if (sent == n)
		return STEP_PROGRESS;
	/* A short send means the destination is full: its next EPOLLOUT edge resumes. */
	to->writable = false;
	return STEP_IDLE;
}

/* When an established connection that just saw activity times out: after the idle
 * timeout, or the shorter half-closed one once a direction has ended; 0 for never. */
static int64_t relay_quiet_deadline(const struct relay *r, const struct relay_conn *c)
{
	int64_t t = r->o->idle_timeout;

	if ((c->up.shut || c->down.shut) && r->o->half_close_timeout &&
	    (t == 0 || r->o->half_close_timeout < t))
		t = r->o->half_close_timeout;
	return t ? relay_now() + t * 1000 : 0;
}

/* Each direction until it makes no progress: once idle it stays so until the next event
 * (edge-triggered: data or room arriving later raises a new one). */
static void relay_pump(struct relay *r, struct relay_conn *c)
{
	enum step up = STEP_PROGRESS, down = STEP_PROGRESS;

	for (;;) {
		if (up == STEP_PROGRESS)
			up = flow_step(r, &c->up, &c->client_ep, &c->backend_ep, &c->down);
		if (down == STEP_PROGRESS && up < STEP_RESET)
			down = flow_step(r, &c->down, &c->backend_ep, &c->client_ep, &c->up);
		if (up >= STEP_RESET || down >= STEP_RESET) {
			if (log_verbose)
				log_info("connection to %s ended by a reset or error", r->target);
			relay_end(r, c, true);
			return;
		}
		if (c->up.shut && c->down.shut) {
			relay_end(r, c, false);
			return;
		}
		if (up == STEP_IDLE && down == STEP_IDLE)
			break;
	}
	c->deadline = relay_quiet_deadline(r, c);
}

static int relay_watch(struct relay *r, int fd, struct endpoint *ep)
{
	struct epoll_event e = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		.data.ptr = ep,
	};

	return epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &e);
}

/* The client's address (src) and the one it dialled (dst): those socketbox sent, else the
 * socket's own. Returns -1 when they are not internet addresses of one family. */
static int relay_addresses(const struct relay_conn *c, struct sockaddr_storage *src,
			   struct sockaddr_storage *dst)
{
	socklen_t slen = sizeof(*src), dlen = sizeof(*dst);
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)src, *d6 = (struct sockaddr_in6 *)dst;

	if (c->addrs.set) {
		memset(src, 0, sizeof(*src));
		memset(dst, 0, sizeof(*dst));
		s6->sin6_family = d6->sin6_family = AF_INET6;
		s6->sin6_addr = c->addrs.remote;
		s6->sin6_port = htons(c->addrs.remote_port);
		d6->sin6_addr = c->addrs.local;
		d6->sin6_port = htons(c->addrs.local_port);
		return 0;
	}
	if (getpeername(c->client, (struct sockaddr *)src, &slen) < 0 ||
	    getsockname(c->client, (struct sockaddr *)dst, &dlen) < 0 ||
	    (src->ss_family != AF_INET6 && src->ss_family != AF_INET) ||
	    dst->ss_family != src->ss_family)
		return -1;
	return 0;
}

/* Where connection c goes: TARGET, or with --to-original the address and port the client
 * dialled, its first bits replaced by the --to-original prefix if one was given (e.g.
 * 64:ff9b::/96 puts an IPv4 destination into the NAT64 prefix). */
static int relay_destination(const struct relay *r, const struct relay_conn *c,
			     struct sockaddr_storage *dst, socklen_t *len)
{
	const struct relay_options *o = r->o;
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)dst;
	struct in6_addr a;
	uint16_t port;

	if (!o->to_original) {
		memcpy(dst, &o->target, o->target_len);
		*len = o->target_len;
		return 0;
	}
	if (c->addrs.set) {
		a = c->addrs.local;
		port = c->addrs.local_port;
	} else if (getsockname(c->client, (struct sockaddr *)&local, &llen) < 0 ||
		   addr_from_sockaddr((struct sockaddr *)&local, &a, &port) < 0) {
		return -1;
	}
	for (unsigned bit = 0; bit < o->original_plen; bit++) {
		uint8_t m = (uint8_t)(0x80 >> (bit % 8));

		a.s6_addr[bit / 8] = (uint8_t)((a.s6_addr[bit / 8] & ~m) |
					       (o->original_prefix.s6_addr[bit / 8] & m));
	}
	memset(dst, 0, sizeof(*dst));
	if (IN6_IS_ADDR_V4MAPPED(&a)) {
		struct sockaddr_in *in = (struct sockaddr_in *)dst;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		memcpy(&in->sin_addr, &a.s6_addr[12], 4);
		*len = sizeof(*in);
	} else {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		in6->sin6_addr = a;
		*len = sizeof(*in6);
	}
	return 0;
}

/* A failed connect, counted and logged (rate-limited); errno says why. */
static void relay_connect_failed(struct relay *r, const struct relay_conn *c)
{
	struct sockaddr_storage dst;
	socklen_t dlen;
	char text[ADDR_STRLEN];
	int err = errno;

	r->connect_failures++;
	if (!ratelimit_allow(&r->failures, ratelimit_now()))
		return;
	if (r->o->egress == NULL || relay_destination(r, c, &dst, &dlen) < 0) {
		log_warn("unable to connect to %s", r->target);
		return;
	}
	errno = err;
	log_warn("unable to connect to %s through socketbox-sockd at %s",
		 addr_format((struct sockaddr *)&dst, dlen, text, sizeof(text)), r->o->egress);
}

/* The backend answered the connect (events: its first ones): send the PROXY header, then
 * relay. Only an error event makes the outcome worth asking for. */
static void relay_connected(struct relay *r, struct relay_conn *c, uint32_t events)
{
	struct sockaddr_storage src, dst;
	socklen_t elen = sizeof(int);
	char header[PROXY_HEADER_MAX];
	size_t hlen;
	int err = 0;

	if ((events & (EPOLLERR | EPOLLHUP)) &&
	    getsockopt(c->backend, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		err = errno;
	if (err == EINPROGRESS || err == EALREADY)
		return;
	if (err) {
		errno = err;
		relay_connect_failed(r, c);
		relay_end(r, c, true);
		return;
	}
	c->connecting = false;
	c->deadline = relay_quiet_deadline(r, c);
	if (r->o->proxy) {
		/* Fail closed: a header without the client's address would make the backend
		 * take the relay for the client. */
		if (relay_addresses(c, &src, &dst) < 0) {
			log_warnx("connection without internet addresses for the PROXY header; "
				  "reset");
			relay_end(r, c, true);
			return;
		}
		hlen = proxy_header(r->o->proxy, (struct sockaddr *)&src, (struct sockaddr *)&dst,
				    header);
		/* A new connection's send buffer is empty: the header goes out whole. */
		if (send(c->backend, header, hlen, MSG_NOSIGNAL) != (ssize_t)hlen) {
			log_warn("unable to send the PROXY header to %s", r->target);
			relay_end(r, c, true);
			return;
		}
	}
	relay_pump(r, c);
}

/* Watches the backend socket fd: the request to socketbox-sockd, or the connection. */
static int relay_backend(struct relay *r, struct relay_conn *c, int fd)
{
	c->backend = fd;
	c->backend_ep = (struct endpoint){.kind = EP_BACKEND, .conn = c, .fd = fd};
	if (relay_watch(r, fd, &c->backend_ep) < 0) {
		log_warn("unable to watch a connection to %s; reset", r->target);
		return -1;
	}
	return 0;
}

/* --egress: socketbox-sockd's answer came. Its socket is connecting (or connected) to the
 * destination: from here on as if we had made it. */
static void relay_answered(struct relay *r, struct relay_conn *c)
{
	int fd = sockd_reply_take(c->backend), err = errno;

	if (fd < 0 && err == EAGAIN)
		return;
	close(c->backend);
	c->backend = -1;
	c->asking = false;
	if (fd < 0) {
		errno = err;
		relay_connect_failed(r, c);
		relay_end(r, c, true);
		return;
	}
	if (relay_backend(r, c, fd) < 0)
		relay_end(r, c, true);
}

/* Starts connecting to the backend, or asking socketbox-sockd to. Returns 0 (the
 * backend's first EPOLLOUT edge completes it, also when it was immediate, as for UNIX
 * sockets; or sockd's answer), 1 (try again later) or -1. */
static int relay_connect(struct relay *r, struct relay_conn *c)
{
	struct sockaddr_storage dst;
	socklen_t dlen;
	int rc, fd;

	if (relay_destination(r, c, &dst, &dlen) < 0) {
		log_warn("unable to read a connection's original destination; reset");
		return -1;
	}
	if (r->o->egress) {
		fd = sockd_request_start(r->o->egress, SOCKD_CONNECT, (struct sockaddr *)&dst, dlen,
					 SOCK_STREAM, 0);
		if (fd < 0 && errno == EAGAIN)
			return 1; /* its backlog is full: nothing was started */
		if (fd < 0) {
			relay_connect_failed(r, c);
			return -1;
		}
		c->asking = true;
		return relay_backend(r, c, fd);
	}
	fd = relay_socket(r, dst.ss_family);
	if (fd < 0) {
		log_warn("unable to create a socket for %s; connection reset", r->target);
		return -1;
	}
	rc = connect(fd, (struct sockaddr *)&dst, dlen);
	if (rc < 0 && errno == EAGAIN && dst.ss_family == AF_UNIX) {
		/* A UNIX listener's backlog is full: nothing was started. */
		close(fd);
		return 1;
	}
	if (rc < 0 && errno != EINPROGRESS) {
		relay_connect_failed(r, c);
		close(fd);
		return -1;
	}
	return relay_backend(r, c, fd);
}

static void relay_start(struct relay *r, int client, const struct fdpass_addrs *addrs)
{
	struct relay_conn *c = r->free_list;
	int rc;

	r->free_list = c->next_free;
	c->in_use = true;
	c->client = client;
	c->addrs = *addrs;
	c->backend = -1;
	c->connecting = true;
	c->asking = false;
	c->client_ep = (struct endpoint){.kind = EP_CLIENT, .conn = c, .fd = client};
	c->backend_ep = (struct endpoint){.kind = EP_BACKEND, .conn = c, .fd = -1};
	c->deadline = relay_now() + r->o->connect_timeout * 1000LL;
	c->retry = false;
	if (++r->active == r->o->max_conns)
		relay_receiving(r, false); /* back-pressure: socketbox queues the rest */
	if (relay_watch(r, c->client, &c->client_ep) < 0) {
		log_warn("unable to watch a new connection; reset");
		goto bad;
	}
	if (log_verbose)
		log_info("new connection: connecting to %s", r->target);
	rc = relay_connect(r, c);
	if (rc < 0)
		goto bad;
	c->retry = rc > 0;
	return;
bad:
	relay_end(r, c, true);
}

/* The next connection of our own listener: 1 with *fd, or 0 (none waiting, or a
 * resource ran out: then accepting pauses until a connection ends or the next tick, so
 * that a full descriptor table does not make the loop spin). */
static int relay_accept(struct relay *r, int *fd)
{
	*fd = accept4(r->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (*fd >= 0) {
		r->accepted++;
		return 1;
	}
	if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
		log_warn("unable to accept a connection; paused");
		r->starved = true;
		relay_receiving(r, false);
	}
	/* Anything else (EAGAIN, a connection reset while queued) concerns one connection. */
	return 0;
}

static void relay_receive(struct relay *r)
{
	static const struct fdpass_addrs none;
	int fd;

	while (r->free_list && (r->listen_fd >= 0 ? relay_accept(r, &fd)
						   : applet_socket_receive(r->sock, &fd)))
		relay_start(r, fd, r->listen_fd >= 0 ? &none : &r->sock->addrs);
}

static void relay_event(struct relay *r, struct endpoint *ep, uint32_t events)
{
	struct relay_conn *c = ep->conn;

	if (!c->in_use)
		return; /* ended earlier in this batch */
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))
		ep->readable = true;
	if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
		ep->writable = true;
	if (events & (EPOLLERR | EPOLLHUP))
		ep->failed = true;
	if (events & EPOLLRDHUP)
		ep->ended = true;

	if (c->connecting) {
		if (ep->kind == EP_CLIENT) {
			if (events & (EPOLLERR | EPOLLHUP))
				relay_end(r, c, true); /* client gone before the backend answered */
		} else if (c->asking) {
			if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				relay_answered(r, c);
		} else if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
			relay_connected(r, c, events);
		}
		return;
	}
	relay_pump(r, c);
}

/* Connect retries, connect and idle timeouts: a sweep every tick. */
static void relay_sweep(struct relay *r)
{
	uint64_t ticks;
	int64_t now = relay_now();

	if (read(r->timerfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		log_warn("unable to read the timer");
	ratelimit_flush(&r->failures, ratelimit_now());
	if (r->starved && r->free_list) {
		r->starved = false;
		relay_receiving(r, true);
	}
	for (unsigned i = 0; i < r->o->max_conns; i++) {
		struct relay_conn *c = &r->conns[i];

		if (c->in_use && c->retry) {
			int rc = relay_connect(r, c);

			if (rc < 0) {
				relay_end(r, c, true);
				continue;
			}
			c->retry = rc > 0;
		}
		if (!c->in_use || c->deadline == 0 || c->deadline > now)
			continue;
		r->timeouts++;
		log_warnx("%s timeout for a connection to %s; closed",
			  c->connecting			? "connect"
			  : c->up.shut || c->down.shut	? "half-closed"
							: "idle",
			  r->target);
		relay_end(r, c, true);
	}
}

/* Bytes relayed each way, those of connections still open included. */
static void relay_bytes(const struct relay *r, unsigned long long *up, unsigned long long *down)
{
	*up = r->bytes_up;
	*down = r->bytes_down;
	for (unsigned i = 0; i < r->o->max_conns; i++)
		if (r->conns[i].in_use) {
			*up += r->conns[i].up.bytes;
			*down += r->conns[i].down.bytes;
		}
}

/* --stats: what SIGUSR1 logs. */
static void relay_render(void *ctx, FILE *out)
{
	const struct relay *r = ctx;
	unsigned long long up, down;

	relay_bytes(r, &up, &down);
	const struct metrics_value v[] = {
		{"socketbox_relay_received_total", "counter", "Connections received.",
		 r->sock ? r->sock->received : r->accepted},
		{"socketbox_relay_dropped_total", "counter",
		 "Messages dropped (malformed, or from a sender not allowed).",
		 r->sock ? r->sock->dropped : 0},
		{"socketbox_relay_active", "gauge", "Connections being relayed now.", r->active},
		{"socketbox_relay_connect_failures_total", "counter",
		 "Connections whose backend could not be reached.", r->connect_failures},
		{"socketbox_relay_timeouts_total", "counter", "Connections closed by a timeout.",
		 r->timeouts},
		{"socketbox_relay_backend_bytes_total", "counter", "Bytes relayed to the backend.",
		 up},
		{"socketbox_relay_client_bytes_total", "counter", "Bytes relayed to the clients.",
		 down},
	};

	metrics_values(out, v, sizeof(v) / sizeof(v[0]));
}

/* SIGUSR1: the counters, bytes including those of connections still open. */
static void relay_report(const struct relay *r)
{
	unsigned long long up, down;

	relay_bytes(r, &up, &down);
	log_info("counters: received %llu, dropped %llu, active %u, connect failures %llu, "
		 "timeouts %llu, bytes to the backend %llu, to clients %llu",
		 r->sock ? r->sock->received : r->accepted, r->sock ? r->sock->dropped : 0,
		 r->active, r->connect_failures, r->timeouts, up, down);
}

int relay_run(struct applet_socket *sock, int listen_fd, const struct relay_options *o)
{
	static const int signals[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, 0};
	struct relay r = {.o = o, .sock = sock, .listen_fd = listen_fd, .netns_home = -1};
	struct epoll_event events[256];
	bool stop = false, receive = false;

	if (o->to_original)
		snprintf(r.target, sizeof(r.target), "the original destination");
	else
		addr_format((const struct sockaddr *)&o->target, o->target_len, r.target,
			    sizeof(r.target));
	ratelimit_init(&r.failures, "failed connects", 10, 5);
	r.conns = calloc(o->max_conns, sizeof(*r.conns));
	r.buf = malloc(RELAY_BUF);
	if (r.conns == NULL || r.buf == NULL)
		fatal("out of memory");
	for (unsigned i = o->max_conns; i-- > 0;) {
		r.conns[i].next_free = r.free_list;
		r.free_list = &r.conns[i];
	}
	if (o->netns_fd >= 0 && (r.netns_home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
		fatal("unable to open /proc/self/ns/net");

	r.epfd = evloop_new();
	r.recv_ep.kind = EP_RECEIVE;
	r.sig_ep.kind = EP_SIGNAL;
	r.timer_ep.kind = EP_TIMER;
	r.stats_ep.kind = EP_STATS;
	if (sock)
		applet_socket_watch(sock, r.epfd, &r.recv_ep);
	else
		evloop_add(r.epfd, listen_fd, EPOLLIN, &r.recv_ep, "the listening socket");
	r.receiving = true;
	r.sigfd = evloop_signals(r.epfd, signals, &r.sig_ep);
	r.timerfd = evloop_timer(r.epfd, &r.timer_ep);
	if (evloop_timer_set(r.timerfd, RELAY_TICK_MS) < 0)
		fatal("unable to set the timer");
	if (o->stats_fd >= 0)
		r.stats = applet_stats_serve(o->stats_fd, r.epfd, &r.stats_ep, relay_render, &r);

	while (!stop) {
		int n = evloop_wait(r.epfd, events, 256, -1), signo;

		for (int i = 0; i < n; i++) {
			struct endpoint *ep = events[i].data.ptr;

			switch (ep->kind) {
			case EP_RECEIVE:
				receive = true;
				break;
			case EP_SIGNAL:
				while ((signo = evloop_next_signal(r.sigfd)) != 0)
					if (signo == SIGUSR1)
						relay_report(&r);
					else if (signo != SIGHUP)
						stop = true;
				break;
			case EP_TIMER:
				relay_sweep(&r);
				break;
			case EP_STATS:
				metrics_run(r.stats);
				break;
			default:
				relay_event(&r, ep, events[i].events);
				break;
			}
		}
		/* After the batch: a slot freed in it must not be reused while an event for
		 * its old connection may still follow (a stale EPOLLHUP reset new ones). */
		if (receive) {
			receive = false;
			relay_receive(&r);
		}
	}
	for (unsigned i = 0; i < o->max_conns; i++)
		if (r.conns[i].in_use)
			relay_end(&r, &r.conns[i], true);
	ratelimit_end(&r.failures);
	metrics_free(r.stats);
	free(r.conns);
	free(r.buf);
	close(r.epfd);
	close(r.sigfd);
	close(r.timerfd);
	if (r.netns_home >= 0)
		close(r.netns_home);
	return 0;
}
