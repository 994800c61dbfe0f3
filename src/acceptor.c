/* acceptor.c - the event loop: accept in batches, match the rules, hand off. Signals
 * arrive through a signalfd and are handled here, never in handler context. */
#include "acceptor.h"
#include "addr.h"
#include "conn.h"
#include "event.h"
#include "evloop.h"
#include "handoff.h"
#include "listener.h"
#include "proxy_ingress.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "registry.h"
#include "sd.h"
#include "stats.h"
#include "version.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define ACCEPT_BATCH 64
#define TICK_MS 250 /* queue retries, and how long accept pauses when out of descriptors */

/* One listening socket, with the settings it was opened with: listeners are start-up only. */
struct acceptor_listener {
	struct event_source ev; /* first: epoll_data.ptr points here */
	int fd;
	uint32_t key; /* conn_key.listener: its number in the configuration in force */
	struct listen_conf conf;
	bool local_fixed; /* every connection's local address is local, local_port */
	struct in6_addr local;
	uint16_t local_port;
};

struct acceptor {
	int epfd, signal_fd, timer_fd;
	struct acceptor_listener listeners[CONFIG_MAX_LISTEN];
	unsigned nlisten;
	struct event_source ev_signal, ev_timer, ev_stats;
	struct config *cfg;
	const char *reload_file;
	struct config *fixed; /* the start-up settings as the file said them */
	struct handoff *handoff;
	struct proxy_ingress *proxy; /* NULL: no listener reads PROXY headers */
	struct metrics *metrics; /* NULL: no stats socket */
	struct stats_sets *sets;
	uint64_t started_ms;
	struct registry *registry;
	bool paused, stop, reload, ticking;
	bool exclusive; /* listeners watched with EPOLLEXCLUSIVE (workers) */
	void (*publish)(void *ctx, struct acceptor *a); /* NULL: one process, nothing to publish */
	void *publish_ctx;
	bool publish_due; /* events came since the last publish */
	uint64_t published_ms;
	unsigned long long accepted, rejected, dropped, accept_errors, pauses, reloads;
};

/* A listener bound to one address without IP(V6)_TRANSPARENT gives every connection that
 * address: asked once here, it saves a getsockname per connection. */
static void acceptor_fix_local(struct acceptor_listener *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss), olen = sizeof(int);
	int transparent = 1, rc;

	if (getsockname(l->fd, (struct sockaddr *)&ss, &len) < 0 ||
	    addr_from_sockaddr((struct sockaddr *)&ss, &l->local, &l->local_port) < 0)
		return;
	if (ss.ss_family == AF_INET6)
		rc = getsockopt(l->fd, SOL_IPV6, IPV6_TRANSPARENT, &transparent, &olen);
	else
		rc = getsockopt(l->fd, SOL_IP, IP_TRANSPARENT, &transparent, &olen);
	l->local_fixed = rc == 0 && !transparent && !IN6_IS_ADDR_UNSPECIFIED(&l->local) &&
			 !(IN6_IS_ADDR_V4MAPPED(&l->local) && l->local.s6_addr32[3] == 0);
}

struct acceptor *acceptor_new(const int *listen_fds, struct config *cfg, const char *reload_file,
			      struct config *fixed)
{
	static const int signals[] = {SIGHUP, SIGTERM, SIGINT, SIGUSR1, 0};
	struct acceptor *a = calloc(1, sizeof(*a));

	if (a == NULL)
		fatal("out of memory");
	a->cfg = cfg;
	a->reload_file = reload_file;
	a->fixed = fixed;
	a->ev_signal.kind = EVENT_SIGNAL;
	a->ev_timer.kind = EVENT_TIMER;
	a->ev_stats.kind = EVENT_STATS;
	a->started_ms = ratelimit_now();

	a->epfd = evloop_new();
	for (unsigned i = 0; i < cfg->nlisten; i++) {
		struct acceptor_listener *l = &a->listeners[i];

		l->ev.kind = EVENT_LISTENER;
		l->fd = listen_fds[i];
		l->key = i;
		l->conf = cfg->listen[i];
		acceptor_fix_local(l);
		evloop_add(a->epfd, l->fd, EPOLLIN, &l->ev, "a listening socket");
	}
	a->nlisten = cfg->nlisten;
	for (unsigned i = 0; i < cfg->nlisten && a->proxy == NULL; i++)
		if (cfg->listen[i].proxy_protocol &&
		    (a->proxy = proxy_ingress_new(a->epfd, cfg)) == NULL)
			fatal("out of memory");
	a->signal_fd = evloop_signals(a->epfd, signals, &a->ev_signal);
	a->timer_fd = evloop_timer(a->epfd, &a->ev_timer);

	a->handoff = handoff_new(a->epfd);
	a->sets = stats_sets_new();
	if (a->handoff == NULL || handoff_configure(a->handoff, cfg) < 0 || a->sets == NULL ||
	    stats_sets_configure(a->sets, cfg->rules) < 0)
		fatal("out of memory");
	a->registry = registry_new(a->epfd, cfg, a->handoff);
	return a;
}

void acceptor_render(void *ctx, FILE *out)
{
	struct acceptor *a = ctx;
	struct stats_global g = {
		.accepted = a->accepted,
		.rejected = a->rejected,
		.dropped = a->dropped,
		.accept_errors = a->accept_errors,
		.accept_pauses = a->pauses,
		.reloads = a->reloads,
		.uptime_s = (ratelimit_now() - a->started_ms) / 1000,
	};

	stats_render(out, &g, a->handoff, a->sets);
}

void acceptor_serve_stats(struct acceptor *a, int listen_fd)
{
	a->metrics = metrics_new(listen_fd, acceptor_render, a);
	if (a->metrics == NULL)
		fatal("unable to serve the counters");
	evloop_add(a->epfd, metrics_fd(a->metrics), EPOLLIN, &a->ev_stats, "the stats socket");
}

/* EPOLLEXCLUSIVE cannot be modified: a shared listener is taken out and put back. */
static int acceptor_watch(struct acceptor *a, struct acceptor_listener *l, bool on)
{
	struct epoll_event e = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &l->ev};

	if (!a->exclusive)
		return evloop_mod(a->epfd, l->fd, on ? EPOLLIN : 0, &l->ev);
	if (!on)
		return epoll_ctl(a->epfd, EPOLL_CTL_DEL, l->fd, NULL);
	return epoll_ctl(a->epfd, EPOLL_CTL_ADD, l->fd, &e);
}

void acceptor_share_listeners(struct acceptor *a)
{
	for (unsigned i = 0; i < a->nlisten; i++)
		if (epoll_ctl(a->epfd, EPOLL_CTL_DEL, a->listeners[i].fd, NULL) < 0)
			fatal("unable to share a listening socket");
	a->exclusive = true;
	for (unsigned i = 0; i < a->nlisten; i++)
		if (acceptor_watch(a, &a->listeners[i], true) < 0)
			fatal("unable to share a listening socket");
}

void acceptor_publish_to(struct acceptor *a, void (*publish)(void *ctx, struct acceptor *a),
			 void *ctx)
{
	a->publish = publish;
	a->publish_ctx = ctx;
	publish(ctx, a);
}

static void acceptor_listen(struct acceptor *a, bool on)
{
	for (unsigned i = 0; i < a->nlisten; i++)
		if (acceptor_watch(a, &a->listeners[i], on) < 0)
			log_warn("unable to %s accepting connections", on ? "resume" : "pause");
	a->paused = !on;
}

/* What the rules decide for a connection, and doing it. */
static void acceptor_decide(struct acceptor *a, int fd, const struct conn_key *key)
{
	struct verdict v;
	char l[ADDR_STRLEN], r[ADDR_STRLEN];

	rules_lookup(a->cfg->rules, key, &v);
	stats_sets_count(a->sets, &v);
	if (log_verbose) {
		char where[96];

		log_info("[%s]:%u -> [%s]:%u: %s%s (%s)", addr_ntop(&key->remote, r, sizeof(r)),
			 key->remote_port, addr_ntop(&key->local, l, sizeof(l)), key->local_port,
			 v.action == RULE_TARGET ? "target " : v.action == RULE_DROP ? "drop" : "reject",
			 v.action == RULE_TARGET ? a->cfg->targets[v.target].name : "",
			 rules_where(a->cfg->rules, &v, where, sizeof(where)));
	}
	switch (v.action) {
	case RULE_TARGET:
		handoff_dispatch(a->handoff, v.target, fd, key);
		break;
	case RULE_DROP:
		a->dropped++;
		close(fd);
		break;
	default:
		a->rejected++;
		conn_reset(fd);
		break;
	}
}

/* The socket's local address in key (the peer's comes from accept). */
static int acceptor_local_address(int fd, struct conn_key *key)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);

	if (getsockname(fd, (struct sockaddr *)&local, &len) < 0)
		return -1;
	return addr_from_sockaddr((struct sockaddr *)&local, &key->local, &key->local_port);
}

static void acceptor_connection(struct acceptor *a, const struct acceptor_listener *listener,
				int fd, const struct sockaddr *peer)
{
	struct conn_key key = {.listener = listener->key};

	a->accepted++;
	/* -z, as the original socketbox: applets see a plain socket. */
	if (listener->conf.clear_transparent)
		(void)setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &(int){0}, sizeof(int));
	if (listener->local_fixed) {
		key.local = listener->local;
		key.local_port = listener->local_port;
	}
	if (addr_from_sockaddr(peer, &key.remote, &key.remote_port) < 0 ||
	    (!listener->local_fixed && acceptor_local_address(fd, &key) < 0)) {
		/* The peer may already have gone; nothing to match on. */
		a->accept_errors++;
		conn_reset(fd);
		return;
	}
	if (listener->conf.proxy_protocol) {
		proxy_ingress_add(a->proxy, fd, (unsigned)(listener - a->listeners), &listener->conf,
				  &key.remote, key.remote_port);
		return;
	}
	acceptor_decide(a, fd, &key);
}

/* A connection whose PROXY header has been read: the rules match the addresses it names
 * (LOCAL and UNKNOWN name none: the balancer's own connection). */
static void acceptor_proxied(struct acceptor *a, struct event_source *ev)
{
	struct conn_key key = {0};
	struct proxy_info info;
	unsigned i;
	int fd;

	if (!proxy_ingress_event(a->proxy, ev, &fd, &i, &info))
		return;
	key.listener = a->listeners[i].key;
	if (info.local) {
		/* The balancer's own connection (its health check, say): the socket's own
		 * addresses, the peer's as accept saw it, since it may have closed by now. */
		key.remote = info.src;
		key.remote_port = info.src_port;
		if (acceptor_local_address(fd, &key) < 0) {
			a->accept_errors++;
			conn_reset(fd);
			return;
		}
	} else {
		key.local = info.dst;
		key.local_port = info.dst_port;
		key.remote = info.src;
		key.remote_port = info.src_port;
		key.proxied = true;
	}
	acceptor_decide(a, fd, &key);
}

static void acceptor_accept(struct acceptor *a, const struct acceptor_listener *l)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int fd = accept4(l->fd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);

		if (fd >= 0) {
			acceptor_connection(a, l, fd, (struct sockaddr *)&peer);
			continue;
		}
		switch (errno) {
		case EAGAIN:
			return;
		case EINTR:
			continue;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			/* Out of resources: pause instead of spinning on a listener that stays
			 * readable; the connections wait in the kernel's backlog. */
			a->pauses++;
			log_warn("unable to accept; pausing for %d ms", TICK_MS);
			acceptor_listen(a, false);
			return;
		default:
			/* ECONNABORTED, EPROTO, EPERM (firewall)...: that connection only. */
			a->accept_errors++;
			continue;
		}
	}
}

static void acceptor_report(struct acceptor *a)
{
	const struct handoff_counters *c = handoff_counters(a->handoff);

	log_info("counters: accepted %llu, handed %llu, queued %llu, waiting %llu, "
		 "reset queue-full %llu, reset no-applet %llu, reset expired %llu, rejected %llu, "
		 "dropped %llu, accept errors %llu, accept pauses %llu, reloads %llu",
		 a->accepted, c->handed, c->queued, handoff_pending(a->handoff), c->refused_full,
		 c->refused_dead, c->expired, a->rejected, a->dropped, a->accept_errors,
		 a->pauses, a->reloads);
	if (a->proxy) {
		const struct proxy_ingress_counters *p = proxy_ingress_counters(a->proxy);

		/* Its own line: tools that read "counters:" lines find them as they were. */
		log_info("PROXY headers: read %llu, waiting %u, reset not-allowed %llu, reset "
			 "malformed %llu, reset expired %llu, reset too-many %llu, closed %llu, "
			 "without client %llu",
			 p->read, proxy_ingress_pending(a->proxy), p->refused_source, p->malformed,
			 p->expired, p->refused_full, p->closed, p->local);
	}
	handoff_report_slots(a->handoff);
}

static void acceptor_log_error(void *ctx, const char *msg)
{
	(void)ctx;
	/* A warning of the file says "warning:" itself. */
	if (strstr(msg, ": warning: "))
		log_info("%s", msg);
	else
		log_warnx("%s", msg);
}

static void acceptor_reload(struct acceptor *a)
{
	struct config *cfg;
	const char *changed;
	char changes[1024];

	if (a->reload_file == NULL) {
		log_warnx("SIGHUP: no configuration file to reload in quick mode");
		return;
	}
	cfg = config_reload(a->reload_file, acceptor_log_error, NULL);
	if (cfg && config_check_fds(cfg, acceptor_log_error, NULL) > 0) {
		config_free(cfg);
		cfg = NULL;
	}
	if (cfg == NULL) {
		log_warnx("reload of %s failed; the previous configuration stays in force",
			  a->reload_file);
		return;
	}
	if ((changed = config_fixed_diff(a->fixed, cfg)) != NULL)
		log_warnx("reload: \"%s\" changed; it takes effect on restart", changed);
	if (handoff_configure(a->handoff, cfg) < 0) {
		log_warnx("reload of %s failed: out of memory; the previous configuration stays "
			  "in force",
			  a->reload_file);
		config_free(cfg);
		return;
	}
	if (stats_sets_configure(a->sets, cfg->rules) < 0)
		log_warnx("reload: out of memory for the counters per rule set; they stay as "
			  "they were until the next reload");
	config_target_changes(a->cfg, cfg, changes, sizeof(changes));
	registry_configure(a->registry, cfg);
	config_free(a->cfg);
	a->cfg = cfg;
	if (a->proxy)
		proxy_ingress_configure(a->proxy, cfg);
	/* Rules name listeners by the new file's numbers. */
	for (unsigned i = 0; i < a->nlisten; i++)
		a->listeners[i].key = listener_key(&a->listeners[i].conf, cfg);
	listener_reload_report(a->fixed, cfg);
	a->reloads++;
	/* Begins "reloaded FILE: N targets, M rules" as it always did. */
	log_info("reloaded %s: %u targets, %zu rules; socketbox %s%s", a->reload_file,
		 cfg->ntargets, rules_count(cfg->rules), SOCKETBOX_VERSION, changes);
}

static void acceptor_signal(struct acceptor *a)
{
	int signo;

	while ((signo = evloop_next_signal(a->signal_fd)) != 0) {
		switch (signo) {
		case SIGHUP:
			a->reload = true; /* after this batch: events may point at old sinks */
			break;
		case SIGUSR1:
			acceptor_report(a);
			if (a->publish)
				a->publish(a->publish_ctx, a);
			break;
		default:
			a->stop = true;
			break;
		}
	}
}

/* Publishes what events changed, at most once a tick; the timer sees to the last ones. */
static void acceptor_publish(struct acceptor *a, bool tick)
{
	uint64_t now;

	if (a->publish == NULL || !a->publish_due)
		return;
	now = ratelimit_now();
	if (!tick && now - a->published_ms < TICK_MS)
		return;
	a->publish(a->publish_ctx, a);
	a->publish_due = false;
	a->published_ms = now;
}

static void acceptor_tick(struct acceptor *a)
{
	uint64_t expirations;

	if (read(a->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_warn("unable to read the timer");
	if (a->paused)
		acceptor_listen(a, true);
	handoff_tick(a->handoff);
	acceptor_publish(a, true);
	if (a->proxy)
		proxy_ingress_tick(a->proxy);
}

/* The timer runs only while there is something to retry, or held-back log messages to
 * count: an idle acceptor sleeps. */
static void acceptor_timer(struct acceptor *a)
{
	bool want = a->paused || a->publish_due || handoff_wants_tick(a->handoff) ||
		    (a->proxy && proxy_ingress_wants_tick(a->proxy));

	if (want == a->ticking)
		return;
	if (evloop_timer_set(a->timer_fd, want ? TICK_MS : 0) < 0)
		fatal("unable to set the timer");
	a->ticking = want;
}

int acceptor_run(struct acceptor *a)
{
	struct epoll_event events[64];

	sd_notify_state("READY=1");
	while (!a->stop) {
		int n = evloop_wait(a->epfd, events, 64, -1);

		for (int i = 0; i < n; i++) {
			struct event_source *ev = events[i].data.ptr;

			/* Anything but the timer may change counters; queued connections too. */
			a->publish_due |= a->publish && (ev->kind != EVENT_TIMER ||
							 handoff_wants_tick(a->handoff));
			switch (ev->kind) {
			case EVENT_LISTENER:
				acceptor_accept(a, (struct acceptor_listener *)ev);
				break;
			case EVENT_SIGNAL:
				acceptor_signal(a);
				break;
			case EVENT_TIMER:
				acceptor_tick(a);
				break;
			case EVENT_SINK:
				handoff_event(a->handoff, ev);
				break;
			case EVENT_PROXY:
				acceptor_proxied(a, ev);
				break;
			case EVENT_APPLET:
				handoff_applet_event(a->handoff, ev, events[i].events);
				break;
			case EVENT_REGISTRY:
				registry_event(a->registry, ev);
				break;
			case EVENT_STATS:
				metrics_run(a->metrics);
				break;
			}
		}
		if (a->reload) {
			a->reload = false;
			acceptor_reload(a);
		}
		acceptor_publish(a, false);
		handoff_collect(a->handoff);
		registry_collect(a->registry);
		acceptor_timer(a);
	}
	sd_notify_state("STOPPING=1");
	for (unsigned i = 0; i < a->nlisten; i++)
		close(a->listeners[i].fd);
	handoff_tick(a->handoff); /* a last chance for queued connections */
	acceptor_report(a);
	proxy_ingress_free(a->proxy);
	registry_free(a->registry);
	handoff_free(a->handoff);
	metrics_free(a->metrics);
	stats_sets_free(a->sets);
	config_free(a->cfg);
	config_free(a->fixed);
	close(a->epfd);
	close(a->signal_fd);
	close(a->timer_fd);
	free(a);
	return 0;
}
