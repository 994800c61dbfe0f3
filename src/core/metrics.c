/* metrics.c - the exposition server: a few clients at a time, each read and written only
 * when epoll says it can be, so that a client that never sends or never reads costs a slot
 * until its timeout and nothing else. It has its own epoll set, so that any program's loop
 * adds it as one descriptor. */
#include "metrics.h"
#include "log.h"
#include "ratelimit.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

/* Scrapers are few: Prometheus, an operator, a health check. A client beyond these takes
 * the slot of the oldest. */
#define METRICS_MAX_CLIENTS 8
#define METRICS_ACCEPT_BATCH 16
#define METRICS_LISTENER UINT32_MAX
#define METRICS_TIMER (UINT32_MAX - 1)
#define METRICS_TICK_MS 500 /* how often the time of connected clients is checked */

struct metrics_client {
	int fd; /* -1: a free slot */
	uint64_t since_ms;
	char req[2048]; /* the request, up to the end of its headers */
	size_t reqlen;
	char *out; /* the answer once rendered, written from outoff on */
	size_t outlen, outoff;
};

struct metrics {
	int epfd, listen_fd, timer_fd;
	bool ticking;
	metrics_render_fn *render;
	void *ctx;
	unsigned nclients;
	struct metrics_client clients[METRICS_MAX_CLIENTS];
};

static void metrics_drop(struct metrics *m, struct metrics_client *c)
{
	/* Closing removes it from the epoll set: the fd is ours alone. */
	close(c->fd);
	free(c->out);
	c->fd = -1;
	c->out = NULL;
	m->nclients--;
}

/* Whether the request is complete: an HTTP request at its blank line, anything else at its
 * first newline; at the end of input or a full buffer, whatever came. */
static bool metrics_request_done(const struct metrics_client *c, bool eof)
{
	const char *nl = memchr(c->req, '\n', c->reqlen);

	if (eof || c->reqlen == sizeof(c->req) - 1)
		return true;
	if (nl == NULL)
		return false;
	if (memmem(c->req, (size_t)(nl - c->req), " HTTP/", 6) == NULL)
		return true;
	return memmem(c->req, c->reqlen, "\r\n\r\n", 4) || memmem(c->req, c->reqlen, "\n\n", 2);
}

/* The answer to the request in c->req: the text, in an HTTP response when asked in HTTP. */
static int metrics_answer(struct metrics *m, struct metrics_client *c)
{
	char *body = NULL, head[256];
	size_t blen = 0, hlen = 0;
	FILE *f = open_memstream(&body, &blen);
	bool http, get, head_only;
	const char *nl;

	if (f == NULL)
		return -1;
	m->render(m->ctx, f);
	if (fclose(f) != 0) {
		free(body);
		return -1;
	}
	c->req[c->reqlen] = '\0';
	nl = strchr(c->req, '\n');
	http = nl && memmem(c->req, (size_t)(nl - c->req), " HTTP/", 6);
	head_only = strncmp(c->req, "HEAD ", 5) == 0;
	get = strncmp(c->req, "GET ", 4) == 0 || head_only;
	if (http && get)
		hlen = (size_t)snprintf(head, sizeof(head),
					"HTTP/1.0 200 OK\r\n"
					"Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
					"Content-Length: %zu\r\nConnection: close\r\n\r\n",
					blen);
	else if (http)
		hlen = (size_t)snprintf(head, sizeof(head),
					"HTTP/1.0 405 Method Not Allowed\r\nAllow: GET, HEAD\r\n"
					"Content-Length: 0\r\nConnection: close\r\n\r\n");
	if (http && (!get || head_only))
		blen = 0;
	c->out = malloc(hlen + blen + 1);
	if (c->out == NULL) {
		free(body);
		return -1;
	}
	memcpy(c->out, head, hlen);
	memcpy(c->out + hlen, body, blen);
	c->outlen = hlen + blen;
	c->outoff = 0;
	free(body);
	return 0;
}

/* Writes what the socket takes now; waits for room (EPOLLOUT) for the rest. */
static void metrics_flush(struct metrics *m, struct metrics_client *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct epoll_event e = {.events = EPOLLOUT,
						.data.u32 = (uint32_t)(c - m->clients)};

			if (epoll_ctl(m->epfd, EPOLL_CTL_MOD, c->fd, &e) < 0)
				metrics_drop(m, c);
			return;
		}
		if (n < 0) {
			metrics_drop(m, c);
			return;
		}
		c->outoff += (size_t)n;
	}
	metrics_drop(m, c);
}

static void metrics_read(struct metrics *m, struct metrics_client *c)
{
	bool eof = false;

	for (;;) {
		ssize_t n =
		    recv(c->fd, c->req + c->reqlen, sizeof(c->req) - 1 - c->reqlen, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			metrics_drop(m, c);
			return;
		}
		if (n == 0) {
			eof = true;
			break;
		}
		c->reqlen += (size_t)n;
		if (c->reqlen == sizeof(c->req) - 1)
			break;
	}
	if (!metrics_request_done(c, eof))
		return;
	if (metrics_answer(m, c) < 0) {
		log_warn("unable to render the counters");
		metrics_drop(m, c);
		return;
	}
	metrics_flush(m, c);
}

static struct metrics_client *metrics_slot(struct metrics *m)
{
	struct metrics_client *oldest = &m->clients[0];

	for (unsigned i = 0; i < METRICS_MAX_CLIENTS; i++) {
		if (m->clients[i].fd < 0)
			return &m->clients[i];
		if (m->clients[i].since_ms < oldest->since_ms)
			oldest = &m->clients[i];
	}
	metrics_drop(m, oldest);
	return oldest;
}

static void metrics_accept(struct metrics *m)
{
	for (int i = 0; i < METRICS_ACCEPT_BATCH; i++) {
		int fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct metrics_client *c;
		struct epoll_event e = {.events = EPOLLIN};

		if (fd < 0) {
			/* EAGAIN: all taken. Out of descriptors: the next event tries again. */
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		c = metrics_slot(m);
		e.data.u32 = (uint32_t)(c - m->clients);
		if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
			close(fd);
			continue;
		}
		*c = (struct metrics_client){.fd = fd, .since_ms = ratelimit_now()};
		m->nclients++;
	}
}

/* Drops the clients whose time is up. */
static void metrics_tick(struct metrics *m)
{
	uint64_t now = ratelimit_now();

	for (unsigned i = 0; i < METRICS_MAX_CLIENTS; i++)
		if (m->clients[i].fd >= 0 &&
		    now - m->clients[i].since_ms >= METRICS_CLIENT_TIMEOUT_MS)
			metrics_drop(m, &m->clients[i]);
}

/* The timer runs while clients are connected: an idle server sleeps. */
static void metrics_timer(struct metrics *m)
{
	bool want = m->nclients > 0;
	struct itimerspec its = {0};

	if (want == m->ticking)
		return;
	if (want)
		its.it_value = its.it_interval = (struct timespec){0, METRICS_TICK_MS * 1000000L};
	if (timerfd_settime(m->timer_fd, 0, &its, NULL) == 0)
		m->ticking = want;
}

void metrics_run(struct metrics *m)
{
	struct epoll_event events[METRICS_MAX_CLIENTS + 2];
	int n = epoll_wait(m->epfd, events, METRICS_MAX_CLIENTS + 2, 0);
	uint64_t expirations;

	for (int i = 0; i < n; i++) {
		uint32_t k = events[i].data.u32;
		struct metrics_client *c = &m->clients[k < METRICS_MAX_CLIENTS ? k : 0];

		if (k == METRICS_LISTENER)
			metrics_accept(m);
		else if (k == METRICS_TIMER && read(m->timer_fd, &expirations, 8) >= 0)
			metrics_tick(m);
		else if (k >= METRICS_MAX_CLIENTS)
			continue;
		else if (c->fd < 0)
			continue; /* dropped earlier in this batch */
		else if (c->out)
			metrics_flush(m, c);
		else
			metrics_read(m, c);
	}
	metrics_timer(m);
}

struct metrics *metrics_new(int listen_fd, metrics_render_fn *render, void *ctx)
{
	struct metrics *m = calloc(1, sizeof(*m));
	struct epoll_event e = {.events = EPOLLIN, .data.u32 = METRICS_LISTENER};
	struct epoll_event t = {.events = EPOLLIN, .data.u32 = METRICS_TIMER};

	if (m == NULL)
		goto bad;
	m->timer_fd = -1;
	m->listen_fd = listen_fd;
	m->render = render;
	m->ctx = ctx;
	for (unsigned i = 0; i < METRICS_MAX_CLIENTS; i++)
		m->clients[i].fd = -1;
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	m->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (m->epfd < 0 || m->timer_fd < 0 ||
	    epoll_ctl(m->epfd, EPOLL_CTL_ADD, listen_fd, &e) < 0 ||
	    epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->timer_fd, &t) < 0)
		goto bad;
	return m;
bad:
	if (m && m->epfd >= 0)
		close(m->epfd);
	if (m && m->timer_fd >= 0)
		close(m->timer_fd);
	free(m);
	close(listen_fd);
	return NULL;
}

int metrics_fd(const struct metrics *m)
{
	return m->epfd;
}

void metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	for (unsigned i = 0; i < METRICS_MAX_CLIENTS; i++)
		if (m->clients[i].fd >= 0)
			metrics_drop(m, &m->clients[i]);
	close(m->listen_fd);
	close(m->timer_fd);
	close(m->epfd);
	free(m);
}

void metrics_values(FILE *out, const struct metrics_value *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		metrics_help(out, v[i].name, v[i].type, v[i].help);
		metrics_sample(out, v[i].name, NULL, NULL, v[i].value);
	}
}

void metrics_help(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values are names from a configuration file; escaped all the same, as the format
 * says (backslash, double quote, newline). */
void metrics_sample(FILE *out, const char *name, const char *label, const char *value,
		    unsigned long long v)
{
	fputs(name, out);
	if (label) {
		fprintf(out, "{%s=\"", label);
		for (const char *p = value; *p; p++) {
			if (*p == '\\' || *p == '"')
				fputc('\\', out);
			if (*p == '\n')
				fputs("\\n", out);
			else
				fputc(*p, out);
		}
		fputs("\"}", out);
	}
	fprintf(out, " %llu\n", v);
}
