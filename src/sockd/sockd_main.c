/* sockd_main.c - socketbox-sockd: makes sockets in its network namespace for clients of
 * its UNIX SOCK_SEQPACKET socket, as its rules allow by client uid (SO_PEERCRED), and
 * passes them back with SCM_RIGHTS. One epoll loop; every socket non-blocking; a bounded
 * number of requests per event and of clients at once (more wait in the backlog). */
#include "cli.h"
#include "evloop.h"
#include "fdlimit.h"
#include "fdpass.h"
#include "log.h"
#include "sockd_config.h"
#include "sockd_serve.h"
#include "unixsock.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define USAGE                                                                                      \
	"usage: socketbox-sockd [-f FILE] [-s PATH] [-c] [-v]\n"                                   \
	"\n"                                                                                       \
	"  -f FILE    configuration file (default " SOCKD_DEFAULT_FILE ")\n"                        \
	"  -s PATH    the socket clients connect to (default: the file's \"socket\", else\n"     \
	"             " SOCKD_DEFAULT_SOCKET ")\n"                                                  \
	"  -c         check the configuration, print every error as FILE:LINE: message, exit\n"   \
	"  -v         log every socket made\n"                                                      \
	"  -h, --help this text                      --version the version\n"

#define SOCKD_BATCH 16 /* requests served per client and event, connections per accept */

struct client {
	int fd; /* -1: a free slot */
	uid_t uid;
	uint64_t since_ms; /* of its connection or its last request */
};

struct sockd {
	struct sockd_server sv;
	struct sockd_config *cfg;
	const char *file, *path;
	struct stat st; /* the socket file we bound, to remove only ours at exit */
	int epfd, listen_fd, signal_fd, timer_fd;
	bool listening, stop, out_of_fds;
	struct client *clients;
	unsigned *free_slots; /* a stack of the free entries of clients */
	unsigned nclients;
	unsigned long long reloads, idle; /* idle: clients dropped for client_timeout */
};

static void sockd_log_error(void *ctx, const char *msg)
{
	(void)ctx;
	log_warnx("%s", msg);
}

static void sockd_listen(struct sockd *d, bool on)
{
	if (d->listening != on && evloop_mod(d->epfd, d->listen_fd, on ? EPOLLIN : 0, d) == 0)
		d->listening = on;
}

static void sockd_drop_client(struct sockd *d, struct client *c)
{
	close(c->fd);
	c->fd = -1;
	d->nclients--;
	d->free_slots[d->cfg->max_clients - d->nclients - 1] = (unsigned)(c - d->clients);
	if (!d->out_of_fds)
		sockd_listen(d, true);
}

static void sockd_accept(struct sockd *d)
{
	for (int i = 0; i < SOCKD_BATCH; i++) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct client *c = NULL;
		int fd;

		if (d->nclients == d->cfg->max_clients) {
			sockd_listen(d, false); /* the rest waits in the backlog */
			return;
		}
		fd = accept4(d->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			/* Level-triggered epoll would wake us at once again: the timer resumes. */
			if (ratelimit_allow(&d->sv.refused, ratelimit_now()))
				log_warn("unable to accept a client; pausing for a second");
			d->out_of_fds = true;
			sockd_listen(d, false);
			return;
		}
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn("unable to accept a client");
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			log_warn("unable to read a client's credentials");
			close(fd);
			continue;
		}
		c = &d->clients[d->free_slots[d->cfg->max_clients - d->nclients - 1]];
		c->fd = fd;
		c->uid = cred.uid;
		c->since_ms = ratelimit_now();
		d->nclients++;
		d->sv.count.clients++;
		evloop_add(d->epfd, fd, EPOLLIN, c, "a client");
	}
}

/* One message of a client: 1 served, 0 nothing waiting, -1 the client is gone or must go. */
static int sockd_client_request(struct sockd *d, struct client *c)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} control;
	uint8_t buf[SOCKD_REQ_LEN + 1], out[SOCKD_REP_LEN];
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf)};
	struct sockd_reply rep;
	ssize_t n = recvmsg(c->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	const char *defect = NULL;
	int fd, rc = 1;

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1; /* the client closed */
	c->since_ms = ratelimit_now();
	/* Descriptors have no business in a request: closed, and the request is malformed. */
	if (fdpass_collect(&msg, &fd, 0) > 0 || (msg.msg_flags & MSG_CTRUNC))
		defect = "a descriptor came with the request";
	sockd_serve(&d->sv, c->uid, buf, (size_t)n, defect, &rep, &fd);
	sockd_reply_encode(&rep, out);
	/* A client that does not read its replies gets no more: never queued, never waited for. */
	if (fdpass_send_data(c->fd, fd, out, sizeof(out), MSG_DONTWAIT) < 0) {
		if (ratelimit_allow(&d->sv.refused, ratelimit_now()))
			log_warn("unable to answer a client of uid %u; dropping it", (unsigned)c->uid);
		rc = -1;
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

static void sockd_client_event(struct sockd *d, struct client *c, uint32_t events)
{
	int rc = 0;

	if (c->fd < 0)
		return; /* dropped by the timer earlier in this batch of events */
	for (int i = 0; i < SOCKD_BATCH && (rc = sockd_client_request(d, c)) > 0; i++)
		;
	if (rc < 0 || (rc == 0 && (events & (EPOLLHUP | EPOLLERR))))
		sockd_drop_client(d, c);
}

static void sockd_report(struct sockd *d)
{
	const struct sockd_counters *c = &d->sv.count;

	log_info("counters: clients %llu, connected now %u, requests %llu, connected %llu, "
		 "bound %llu, denied %llu, malformed %llu, failed %llu, reloads %llu, "
		 "dropped idle %llu",
		 c->clients, d->nclients, c->requests, c->connected, c->bound, c->denied,
		 c->malformed, c->failed, d->reloads, d->idle);
}

/* Once a second: clients that hold a slot without asking anything go, and refusals held
 * back by the rate limit are said. */
static void sockd_tick(struct sockd *d)
{
	uint64_t expirations, now = ratelimit_now(), limit = d->cfg->client_timeout * 1000ULL;

	if (read(d->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_warn("unable to read the timer");
	ratelimit_flush(&d->sv.refused, now);
	if (d->out_of_fds) {
		d->out_of_fds = false;
		sockd_listen(d, d->nclients < d->cfg->max_clients);
	}
	for (unsigned i = 0; limit && i < d->cfg->max_clients && d->nclients; i++) {
		struct client *c = &d->clients[i];

		if (c->fd >= 0 && now - c->since_ms >= limit) {
			d->idle++;
			if (log_verbose)
				log_info("dropping a client of uid %u: no request for %u s",
					 (unsigned)c->uid, d->cfg->client_timeout);
			sockd_drop_client(d, c);
		}
	}
}

static void sockd_reload(struct sockd *d)
{
	struct sockd_config *cfg = sockd_config_load(d->file, sockd_log_error, NULL);

	if (cfg == NULL) {
		log_warnx("reload of %s failed; the previous configuration stays in force",
			  d->file);
		return;
	}
	if (strcmp(cfg->socket ? cfg->socket : "", d->cfg->socket ? d->cfg->socket : "") != 0 ||
	    cfg->socket_mode != d->cfg->socket_mode || cfg->max_clients != d->cfg->max_clients)
		log_warnx("reload: socket, socket_mode and max_clients take effect on restart");
	cfg->max_clients = d->cfg->max_clients; /* the client table keeps its size */
	sockd_config_free(d->cfg);
	d->cfg = cfg;
	d->sv.cfg = cfg;
	d->reloads++;
	log_info("reloaded %s: %zu connect rules, %zu bind rules", d->file,
		 rules_count(cfg->connect), rules_count(cfg->bind));
}

static void sockd_signal(struct sockd *d)
{
	int signo;

	while ((signo = evloop_next_signal(d->signal_fd)) != 0) {
		if (signo == SIGHUP)
			sockd_reload(d);
		else if (signo == SIGUSR1)
			sockd_report(d);
		else
			d->stop = true;
	}
}

static void sockd_open(struct sockd *d)
{
	static const int signals[] = {SIGHUP, SIGTERM, SIGINT, SIGUSR1, 0};

	d->clients = calloc(d->cfg->max_clients, sizeof(*d->clients));
	d->free_slots = calloc(d->cfg->max_clients, sizeof(*d->free_slots));
	if (d->clients == NULL || d->free_slots == NULL)
		fatal("out of memory");
	for (unsigned i = 0; i < d->cfg->max_clients; i++) {
		d->clients[i].fd = -1;
		d->free_slots[i] = d->cfg->max_clients - 1 - i; /* slot 0 on top */
	}
	d->listen_fd = unixsock_bind(d->path, SOCK_SEQPACKET, d->cfg->socket_mode);
	if (d->listen_fd < 0)
		fatal("unable to bind %s", d->path);
	if (d->path[0] != '@' && stat(d->path, &d->st) < 0)
		fatal("unable to look at %s after binding it", d->path);
	if (listen(d->listen_fd, SOMAXCONN) < 0)
		fatal("unable to listen on %s", d->path);
	d->epfd = evloop_new();
	evloop_add(d->epfd, d->listen_fd, EPOLLIN, d, "the listening socket");
	d->listening = true;
	d->signal_fd = evloop_signals(d->epfd, signals, &d->signal_fd);
	d->timer_fd = evloop_timer(d->epfd, &d->timer_fd);
	if (evloop_timer_set(d->timer_fd, 1000) < 0)
		fatal("unable to arm the timer");
}

static void sockd_close(struct sockd *d)
{
	struct stat now;

	/* Only while the file is still ours, not a successor's. */
	if (d->path[0] != '@' && stat(d->path, &now) == 0 && now.st_ino == d->st.st_ino &&
	    now.st_dev == d->st.st_dev)
		unlink(d->path);
	for (unsigned i = 0; i < d->cfg->max_clients; i++)
		if (d->clients[i].fd >= 0)
			close(d->clients[i].fd);
	close(d->listen_fd);
	free(d->clients);
	free(d->free_slots);
	ratelimit_end(&d->sv.refused);
	sockd_config_free(d->cfg);
}

static int sockd_run(struct sockd *d)
{
	struct epoll_event ev[64];

	log_info("serving %s with %s: %zu connect rules, %zu bind rules", d->path, d->file,
		 rules_count(d->cfg->connect), rules_count(d->cfg->bind));
	while (!d->stop) {
		int n = evloop_wait(d->epfd, ev, 64, -1);

		for (int i = 0; i < n; i++) {
			if (ev[i].data.ptr == d)
				sockd_accept(d);
			else if (ev[i].data.ptr == &d->signal_fd)
				sockd_signal(d);
			else if (ev[i].data.ptr == &d->timer_fd)
				sockd_tick(d);
			else
				sockd_client_event(d, ev[i].data.ptr, ev[i].events);
		}
	}
	log_info("exiting");
	sockd_report(d);
	sockd_close(d);
	return 0;
}

static void sockd_check_report(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "socketbox-sockd: %s\n", msg);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct sockd d = {.file = SOCKD_DEFAULT_FILE};
	bool check = false;
	int c, verbose = 0;

	cli_init("socketbox-sockd", USAGE);
	while ((c = getopt_long(argc, argv, CLI_GETOPT("f:s:cvh"), longopts, NULL)) != -1) {
		switch (c) {
		case 'f': d.file = optarg; break;
		case 's': d.path = optarg; break;
		case 'c': check = true; break;
		case 'v': verbose++; break;
		case 'h': cli_help();
		case 'V': cli_version();
		default: cli_option_error(c, argv);
		}
	}
	if (optind < argc)
		cli_usage("unexpected argument", argv[optind]);
	log_init("socketbox-sockd", false, verbose);
	d.cfg = sockd_config_load(d.file, sockd_check_report, NULL);
	if (d.cfg == NULL) {
		if (!check)
			fprintf(stderr, "socketbox-sockd: %s: configuration has errors; not starting\n",
				d.file);
		return 1;
	}
	if (check) {
		printf("socketbox-sockd: %s: configuration OK (%zu connect rules, %zu bind rules)\n",
		       d.file, rules_count(d.cfg->connect), rules_count(d.cfg->bind));
		sockd_config_free(d.cfg);
		return 0;
	}
	if (d.path == NULL)
		d.path = d.cfg->socket ? d.cfg->socket : SOCKD_DEFAULT_SOCKET;
	d.sv.cfg = d.cfg;
	ratelimit_init(&d.sv.refused, "refused requests", CONFIG_DEFAULT_LOG_BURST,
		       CONFIG_DEFAULT_LOG_INTERVAL);
	fdlimit_raise();
	sockd_open(&d);
	return sockd_run(&d);
}
