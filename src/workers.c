/* workers.c - the supervisor of listen.workers = N.
 *
 * Why one shared listening socket and EPOLLEXCLUSIVE, not an SO_REUSEPORT group: inherited
 * listeners (socket activation, -s) and TPROXY listeners are one socket already, and the
 * connections waiting in a shared backlog survive the death of a worker (an SO_REUSEPORT
 * member's backlog is reset unless net.ipv4.tcp_migrate_req=1). The price, measured with 2
 * processes on this 2-core kernel (6.18): SO_REUSEPORT splits connections 50/50; the shared
 * socket unevenly (3/97 with one client connecting at a time, 46/54 to 84/16 with 16 or 64
 * at once), because a busy worker keeps draining the backlog before the other wakes.
 *
 * Counters: each worker renders its exposition text into its block of a MAP_SHARED region
 * made before the first fork (a sequence number, odd while it writes), at most every tick
 * while its counters change; the supervisor adds the blocks up (metrics_sum.h). What a dead
 * worker counted is kept, for the counters (_total) its successors still have. */
#include "workers.h"
#include "acceptor.h"
#include "evloop.h"
#include "log.h"
#include "metrics.h"
#include "metrics_sum.h"
#include "ratelimit.h"
#include "sd.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKERS_TEXT_MAX (16u << 20) /* per worker; pages are touched only as used */
#define WORKERS_TICK_MS 250
#define WORKERS_YOUNG_MS 1000	   /* a worker dying younger than this is restarted later */
#define WORKERS_DELAY_MAX_MS 30000 /* the longest wait before a restart */
/* How long the totals of SIGUSR1 wait for a busy worker's counters of the moment. */
#define WORKERS_USR1_WAIT_MS 5000

/* What a worker publishes. */
struct workers_block {
	uint64_t seq; /* odd while the worker writes */
	size_t len;
	char text[WORKERS_TEXT_MAX];
};

struct workers_proc {
	pid_t pid;			 /* 0: not running */
	uint64_t started_ms, restart_ms; /* restart_ms: when to start it again (0: at once) */
	unsigned delay_ms;
};

struct workers {
	unsigned n;
	struct workers_proc procs[CONFIG_MAX_WORKERS];
	struct workers_block *blocks;
	const int *listen_fds;
	struct config *cfg, *fixed;
	const char *reload_file;
	int epfd, signal_fd, timer_fd;
	bool ticking;
	pid_t self; /* the supervisor */
	struct metrics *metrics;
	char *retired; /* the counters of dead workers, as text */
	size_t retired_len;
	bool stop;
	uint64_t usr1_seq[CONFIG_MAX_WORKERS]; /* at SIGUSR1: wait for every block to change */
	uint64_t usr1_ms;		       /* 0: no SIGUSR1 pending */
	char ev_signal, ev_timer, ev_stats;    /* epoll_data.ptr points at these */
};

static struct workers_block *workers_block(struct workers *w, unsigned i)
{
	return (struct workers_block *)((char *)w->blocks +
					(size_t)i * sizeof(struct workers_block));
}

/* In the worker: its counters into its block. */
static void workers_publish(void *ctx, struct acceptor *a)
{
	struct workers_block *b = ctx;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	uint64_t seq;

	if (f == NULL)
		return;
	acceptor_render(a, f);
	if (fclose(f) == 0) {
		if (len > WORKERS_TEXT_MAX)
			len = WORKERS_TEXT_MAX; /* cut: the last line may be lost */
		/* Odd while writing; a predecessor killed while writing left it odd. */
		seq = b->seq | 1;
		__atomic_store_n(&b->seq, seq, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		memcpy(b->text, text, len);
		b->len = len;
		__atomic_store_n(&b->seq, seq + 1, __ATOMIC_RELEASE);
	}
	free(text);
}

/* In the supervisor: a consistent copy of block i (malloc'd), or NULL. */
static char *workers_read(struct workers *w, unsigned i, size_t *len)
{
	struct workers_block *b = workers_block(w, i);

	for (int tries = 0; tries < 100; tries++) {
		uint64_t seq = __atomic_load_n(&b->seq, __ATOMIC_ACQUIRE);
		size_t n = b->len;
		char *copy;

		if (seq == 0 || (seq & 1) || n > WORKERS_TEXT_MAX || (copy = malloc(n + 1)) == NULL)
			continue;
		memcpy(copy, b->text, n);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&b->seq, __ATOMIC_RELAXED) == seq) {
			*len = n;
			return copy;
		}
		free(copy);
	}
	return NULL;
}

/* The counters of every worker added up, and of the dead ones where they still apply. */
static struct metrics_sum *workers_sum(struct workers *w)
{
	struct metrics_sum *s = metrics_sum_new();

	for (unsigned i = 0; s && i < w->n; i++) {
		size_t len;
		char *text = workers_read(w, i, &len);

		if (text && metrics_sum_add(s, text, len, false) < 0)
			log_warnx("out of memory adding up the counters");
		free(text);
	}
	if (s && w->retired)
		(void)metrics_sum_add(s, w->retired, w->retired_len, true);
	return s;
}

static void workers_render(void *ctx, FILE *out)
{
	struct metrics_sum *s = workers_sum(ctx);

	if (s)
		metrics_sum_write(s, out);
	metrics_sum_free(s);
}

/* Keeps the counters (not the gauges) a dead worker last published. */
static void workers_retire(struct workers *w, unsigned i)
{
	struct metrics_sum *s = metrics_sum_new();
	size_t len, rlen = 0;
	char *text = workers_read(w, i, &len), *line, *save = NULL, *out = NULL;
	FILE *f;

	if (s == NULL || text == NULL)
		goto done;
	if (w->retired)
		(void)metrics_sum_add(s, w->retired, w->retired_len, false);
	text[len] = '\0';
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t n = strcspn(line, "{ ");

		if (n >= 6 && strncmp(line + n - 6, "_total", 6) == 0)
			(void)metrics_sum_add(s, line, strlen(line), false);
	}
	if ((f = open_memstream(&out, &rlen)) == NULL)
		goto done;
	metrics_sum_write(s, f);
	if (fclose(f) == 0) {
		free(w->retired);
		w->retired = out;
		w->retired_len = rlen;
		out = NULL;
	}
done:
	free(out);
	free(text);
	metrics_sum_free(s);
}

/* In the child: the acceptor, as one process would run it, but sharing the listeners. */
static void workers_child(struct workers *w, unsigned i)
{
	static char name[32];
	sigset_t chld;
	struct acceptor *a;

	snprintf(name, sizeof(name), "socketbox worker %u", i + 1);
	log_set_progname(name); /* on standard error; syslog tells processes by pid */
	/* A worker outlives no supervisor. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != w->self)
		_exit(0);
	metrics_free(w->metrics);
	close(w->epfd);
	close(w->signal_fd);
	close(w->timer_fd);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_UNBLOCK, &chld, NULL) < 0)
		fatal("unable to unblock SIGCHLD");
	unsetenv("NOTIFY_SOCKET"); /* the supervisor speaks to the service manager */
	a = acceptor_new(w->listen_fds, w->cfg, w->reload_file, w->fixed);
	acceptor_share_listeners(a);
	acceptor_publish_to(a, workers_publish, workers_block(w, i));
	exit(acceptor_run(a));
}

static void workers_start(struct workers *w, unsigned i)
{
	struct workers_proc *p = &w->procs[i];
	pid_t pid = fork();

	if (pid == 0)
		workers_child(w, i);
	p->restart_ms = 0;
	if (pid < 0) {
		log_warn("unable to start worker %u; trying again in %u ms", i + 1,
			 WORKERS_TICK_MS);
		p->restart_ms = ratelimit_now() + WORKERS_TICK_MS;
		return;
	}
	p->pid = pid;
	p->started_ms = ratelimit_now();
	log_info("worker %u started (pid %d)", i + 1, (int)pid);
}

/* A worker that ended: gone for good after SIGTERM, else started again. A crash loop
 * waits 250 ms, then twice as long each time, up to 30 s. */
static void workers_ended(struct workers *w, unsigned i, int status)
{
	struct workers_proc *p = &w->procs[i];
	uint64_t now = ratelimit_now();
	int pid = (int)p->pid;
	char how[64];

	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "killed by signal %d", WTERMSIG(status));
	else
		snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
	p->pid = 0;
	workers_retire(w, i);
	if (w->stop) {
		log_info("worker %u ended", i + 1);
		return;
	}
	if (now - p->started_ms < WORKERS_YOUNG_MS)
		p->delay_ms = p->delay_ms ? p->delay_ms * 2 : WORKERS_TICK_MS;
	else
		p->delay_ms = 0;
	if (p->delay_ms > WORKERS_DELAY_MAX_MS)
		p->delay_ms = WORKERS_DELAY_MAX_MS;
	if (p->delay_ms)
		log_warnx("worker %u (pid %d) %s; restarting it in %u ms", i + 1, pid, how,
			  p->delay_ms);
	else
		log_warnx("worker %u (pid %d) %s; restarting it", i + 1, pid, how);
	if (p->delay_ms == 0) {
		workers_start(w, i);
		return;
	}
	p->restart_ms = now + p->delay_ms;
}

static void workers_reap(struct workers *w)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (unsigned i = 0; i < w->n; i++)
			if (w->procs[i].pid == pid)
				workers_ended(w, i, status);
}

static void workers_kill(struct workers *w, int signo)
{
	for (unsigned i = 0; i < w->n; i++)
		if (w->procs[i].pid > 0 && kill(w->procs[i].pid, signo) < 0 && errno != ESRCH)
			log_warn("unable to signal worker %u", i + 1);
}

static void workers_quiet(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg; /* the workers report the same load */
}

/* SIGHUP: every worker reloads itself and says so; the supervisor loads the file too, so
 * that a worker started later starts with it. */
static void workers_reload(struct workers *w)
{
	struct config *cfg;

	workers_kill(w, SIGHUP);
	if (w->reload_file == NULL)
		return;
	cfg = config_reload(w->reload_file, workers_quiet, NULL);
	if (cfg && config_check_fds(cfg, workers_quiet, NULL) > 0) {
		config_free(cfg);
		cfg = NULL;
	}
	if (cfg == NULL)
		return;
	config_free(w->cfg);
	w->cfg = cfg;
}

/* The totals line of SIGUSR1, once every worker has published its counters of the moment
 * (or after WORKERS_USR1_WAIT_MS). Begins "counters:" as one process's line. */
static void workers_report(struct workers *w)
{
	struct metrics_sum *s;
	bool all = true;

	for (unsigned i = 0; i < w->n; i++)
		all &= w->procs[i].pid == 0 || __atomic_load_n(&workers_block(w, i)->seq,
							       __ATOMIC_ACQUIRE) != w->usr1_seq[i];
	if (!all && ratelimit_now() - w->usr1_ms < WORKERS_USR1_WAIT_MS)
		return;
	w->usr1_ms = 0;
	if ((s = workers_sum(w)) == NULL)
		return;
	log_info("counters: accepted %llu, handed %llu, queued %llu, waiting %llu, "
		 "reset queue-full %llu, reset no-applet %llu, reset expired %llu, rejected %llu, "
		 "dropped %llu, accept errors %llu, accept pauses %llu, reloads %llu (%u workers)",
		 metrics_sum_total(s, "socketbox_connections_total"),
		 metrics_sum_total(s, "socketbox_connections_handed_total"),
		 metrics_sum_total(s, "socketbox_connections_queued_total"),
		 metrics_sum_total(s, "socketbox_connections_waiting"),
		 metrics_sum_total(s, "socketbox_connections_reset_queue_full_total"),
		 metrics_sum_total(s, "socketbox_connections_reset_no_applet_total"),
		 metrics_sum_total(s, "socketbox_connections_expired_total"),
		 metrics_sum_total(s, "socketbox_connections_rejected_total"),
		 metrics_sum_total(s, "socketbox_connections_dropped_total"),
		 metrics_sum_total(s, "socketbox_accept_errors_total"),
		 metrics_sum_total(s, "socketbox_accept_pauses_total"),
		 metrics_sum_total(s, "socketbox_reloads_total"), w->n);
	metrics_sum_free(s);
}

static void workers_signal(struct workers *w)
{
	int signo;

	while ((signo = evloop_next_signal(w->signal_fd)) != 0) {
		switch (signo) {
		case SIGCHLD:
			workers_reap(w);
			break;
		case SIGHUP:
			workers_reload(w);
			break;
		case SIGUSR1:
			for (unsigned i = 0; i < w->n; i++)
				w->usr1_seq[i] =
				    __atomic_load_n(&workers_block(w, i)->seq, __ATOMIC_ACQUIRE);
			w->usr1_ms = ratelimit_now();
			workers_kill(w, SIGUSR1);
			break;
		default:
			if (!w->stop)
				sd_notify_state("STOPPING=1");
			w->stop = true;
			workers_kill(w, SIGTERM);
			break;
		}
	}
}

static void workers_tick(struct workers *w)
{
	uint64_t expirations, now = ratelimit_now();

	if (read(w->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_warn("unable to read the timer");
	for (unsigned i = 0; i < w->n && !w->stop; i++)
		if (w->procs[i].pid == 0 && now >= w->procs[i].restart_ms)
			workers_start(w, i);
	if (w->usr1_ms)
		workers_report(w);
}

/* The timer runs while a worker waits for its restart or SIGUSR1 for the workers' counters:
 * an idle supervisor sleeps. */
static void workers_timer(struct workers *w)
{
	bool want = w->usr1_ms != 0;

	for (unsigned i = 0; i < w->n && !w->stop; i++)
		want |= w->procs[i].pid == 0;
	if (want == w->ticking)
		return;
	if (evloop_timer_set(w->timer_fd, want ? WORKERS_TICK_MS : 0) < 0)
		fatal("unable to set the timer");
	w->ticking = want;
}

static bool workers_alive(const struct workers *w)
{
	for (unsigned i = 0; i < w->n; i++)
		if (w->procs[i].pid > 0)
			return true;
	return false;
}

static void workers_setup(struct workers *w, int stats_fd)
{
	static const int signals[] = {SIGHUP, SIGTERM, SIGINT, SIGUSR1, SIGCHLD, 0};
	size_t size = (size_t)w->n * sizeof(struct workers_block);

	w->blocks = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (w->blocks == MAP_FAILED)
		fatal("unable to map the counters of %u workers", w->n);
	w->epfd = evloop_new();
	w->signal_fd = evloop_signals(w->epfd, signals, &w->ev_signal);
	w->timer_fd = evloop_timer(w->epfd, &w->ev_timer);
	w->self = getpid();
	if (stats_fd >= 0) {
		if ((w->metrics = metrics_new(stats_fd, workers_render, w)) == NULL)
			fatal("unable to serve the counters");
		evloop_add(w->epfd, metrics_fd(w->metrics), EPOLLIN, &w->ev_stats,
			   "the stats socket");
	}
}

int workers_run(const int *listen_fds, struct config *cfg, const char *reload_file,
		struct config *fixed, int stats_fd)
{
	struct workers w = {
	    .n = cfg->listen[0].workers,
	    .listen_fds = listen_fds,
	    .cfg = cfg,
	    .fixed = fixed,
	    .reload_file = reload_file,
	};
	struct epoll_event events[8];

	workers_setup(&w, stats_fd);
	for (unsigned i = 0; i < w.n; i++)
		workers_start(&w, i);
	log_info("%u workers started", w.n);
	sd_notify_state("READY=1");
	while (!w.stop || workers_alive(&w)) {
		int n = evloop_wait(w.epfd, events, 8, -1);

		for (int i = 0; i < n; i++) {
			void *ev = events[i].data.ptr;

			if (ev == &w.ev_signal)
				workers_signal(&w);
			else if (ev == &w.ev_timer)
				workers_tick(&w);
			else if (ev == &w.ev_stats)
				metrics_run(w.metrics);
		}
		workers_timer(&w);
	}
	metrics_free(w.metrics);
	munmap(w.blocks, (size_t)w.n * sizeof(struct workers_block));
	free(w.retired);
	config_free(w.cfg);
	config_free(w.fixed);
	close(w.epfd);
	close(w.signal_fd);
	close(w.timer_fd);
	return 0;
}
