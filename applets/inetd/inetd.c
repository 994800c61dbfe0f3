/* socketbox-inetd - receives connections from socketbox and runs PROGRAM for each, with
 * the socket on stdin and stdout and the UCSPI-TCP environment, like tcpserver. */
#include "applet.h"
#include "applet_socket.h"
#include "applet_stats.h"
#include "evloop.h"
#include "fdpass.h"
#include "ids.h"
#include "log.h"
#include "num.h"
#include "ratelimit.h"
#include "sd.h"
#include "ucspi.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define USAGE                                                                                      \
	"usage: socketbox-inetd [-s PATH] [-m MODE] [-g GROUP] [-c MAXCHILDREN] [-u USER]\n"      \
	"                       [--allow-uid USER]... [--keep-fds] [--stats PATH] [-v]\n"          \
	"                       PROGRAM [ARG...]\n"                                               \
	"       socketbox-inetd --register PATH:SLOT [--exit-on-disconnect] [-c MAXCHILDREN]\n"  \
	"                       [-u USER] [--keep-fds] [--stats PATH] [-v] PROGRAM [ARG...]\n"  \
	"\n"                                                                                       \
	"  -s PATH         socket to receive connections on (default $SOCKETBOX_SOCKET, else\n"    \
	"                  /run/socketbox/PROGRAM.sock; @NAME is an abstract socket)\n"            \
	"  --register PATH:SLOT  instead, register for SLOT on socketbox's registration\n"       \
	"                  socket PATH (-P SLOT:PATH is the same); dials again with backoff\n"    \
	"  --exit-on-disconnect  exit when socketbox refuses or goes away instead\n"            \
	"  -m MODE         permissions of the socket file (default 0660)\n"                        \
	"  -g GROUP        group of the socket file (e.g. the group socketbox runs in)\n"          \
	"  --allow-uid U   accept connections only from this sender (user name or uid;\n"        \
	"                  repeatable); others are dropped with a log line\n"                     \
	"  -c MAXCHILDREN  run at most this many programs at once (default 40)\n"                  \
	"  -u USER         after creating the socket, run as USER\n"                               \
	"  --keep-fds      let programs inherit the descriptors above 2 that\n"                  \
	"                  socketbox-inetd inherited (default: closed)\n"                        \
	"  --stats PATH    serve the counters on the stream socket PATH (mode of -m)\n"         \
	"  -v              log every connection\n"                                                \
	"  -h, --help      this text;  --version  the version\n"

#define DEFAULT_DIR "/run/socketbox"

struct inetd {
	struct applet_socket sock;
	int epfd, sigfd;
	unsigned children, max_children;
	bool receiving;
	bool keep_fds; /* --keep-fds: children inherit what we inherited */
	char **argv;
	char **envp;	  /* the environment of the next child's program */
	char exec_error[128]; /* what a child says when exec fails (no stdio after vfork) */
	unsigned long long started, failed, killed; /* programs run, exit != 0, by signal */
	struct ratelimit ends; /* log lines about programs that failed: clients cause them */
	struct metrics *stats; /* --stats, or NULL */
	int stats_ev;	       /* its address tells the stats socket's events apart */
};

static void inetd_receiving(struct inetd *d, bool on)
{
	if (d->receiving == on)
		return;
	applet_socket_receiving(&d->sock, on);
	d->receiving = on;
}

/* In the vfork child: no stdio (its buffers are the parent's), only write(2), and
 * strerrordesc_np, a plain table lookup without locale. */
static void __attribute__((noreturn)) inetd_exec_failed(const struct inetd *d, int err)
{
	const char *reason = strerrordesc_np(err);
	struct iovec iov[3] = {
		{(void *)d->exec_error, strlen(d->exec_error)},
		{(void *)(reason ? reason : "unknown error"), strlen(reason ? reason : "unknown error")},
		{"\n", 1},
	};

	if (writev(2, iov, 3) < 0)
		_exit(EXIT_SYSTEM);
	_exit(EXIT_SYSTEM);
}

static void inetd_spawn(struct inetd *d, int fd, const struct fdpass_addrs *addrs)
{
	struct ucspi_env env;
	sigset_t none;
	pid_t pid;

	if (ucspi_env_from_fd(fd, &env) < 0) {
		log_warn("connection gone before it could be served");
		close(fd);
		return;
	}
	/* Behind a load balancer, the client is who the PROXY header said. */
	if (addrs->set && env.local_ip[0])
		ucspi_env_from_addrs(addrs, &env);
	/* vfork: no page tables to copy, and we resume as soon as the child has exec'd. The
	 * child shares our memory until then, so it only makes system calls, writes the
	 * environment array we keep for it, and reports an exec failure with write(2). */
	ucspi_envp(&env, environ, d->envp);
	pid = vfork();
	if (pid < 0) {
		log_warn("unable to fork; connection closed");
		close(fd);
		return;
	}
	if (pid == 0) {
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		setsid();
		if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0)
			_exit(EXIT_SYSTEM);
		/* Descriptors we inherited from our own parent are not the program's business. */
		if (!d->keep_fds && close_range(3, ~0U, 0) < 0)
			_exit(EXIT_SYSTEM);
		execvpe(d->argv[0], d->argv, d->envp);
		inetd_exec_failed(d, errno);
	}
	if (log_verbose && env.local_ip[0])
		log_info("pid %d: [%s]:%u -> [%s]:%u", (int)pid, env.remote_ip, env.remote_port,
			 env.local_ip, env.local_port);
	close(fd);
	d->children++;
	d->started++;
}

/* Room for each child's environment: ours plus the UCSPI variables. */
static void inetd_spawn_setup(struct inetd *d)
{
	size_t n = 0;

	while (environ[n])
		n++;
	d->envp = calloc(n + UCSPI_ENVP_EXTRA, sizeof(char *));
	if (d->envp == NULL)
		fatal("out of memory");
	snprintf(d->exec_error, sizeof(d->exec_error), "socketbox-inetd: unable to run %s: ",
		 d->argv[0]);
}

static void inetd_receive(struct inetd *d)
{
	int fd;

	while (d->children < d->max_children) {
		if (!applet_socket_receive(&d->sock, &fd))
			return;
		inetd_spawn(d, fd, &d->sock.addrs);
	}
	/* At the limit: leave datagrams queued, so the acceptor holds further connections
	 * in its own queue instead of anyone losing them. */
	inetd_receiving(d, false);
}

/* --stats: what SIGUSR1 logs. */
static void inetd_render(void *ctx, FILE *out)
{
	const struct inetd *d = ctx;
	const struct metrics_value v[] = {
		{"socketbox_inetd_received_total", "counter", "Connections received.",
		 d->sock.received},
		{"socketbox_inetd_dropped_total", "counter",
		 "Messages dropped (malformed, or from a sender not allowed).", d->sock.dropped},
		{"socketbox_inetd_started_total", "counter", "Programs started.", d->started},
		{"socketbox_inetd_running", "gauge", "Programs running now.", d->children},
		{"socketbox_inetd_failed_total", "counter", "Programs that exited with a status "
		 "other than 0.", d->failed},
		{"socketbox_inetd_killed_total", "counter", "Programs ended by a signal.", d->killed},
	};

	metrics_values(out, v, sizeof(v) / sizeof(v[0]));
}

static bool inetd_signals(struct inetd *d)
{
	bool stop = false;
	int status, signo;
	pid_t pid;

	/* SIGHUP is taken and ignored: a daemon survives its terminal going away. */
	while ((signo = evloop_next_signal(d->sigfd)) != 0) {
		if (signo == SIGTERM || signo == SIGINT)
			stop = true;
		else if (signo == SIGUSR1)
			log_info("counters: received %llu, dropped %llu, started %llu, running %u, "
				 "failed %llu, killed %llu",
				 d->sock.received, d->sock.dropped, d->started, d->children, d->failed,
				 d->killed);
	}
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		/* A program that failed says why on its stderr (ours, the log): say which. A
		 * client that goes away (SIGPIPE) is no failure. */
		bool failed = WIFSIGNALED(status) ? WTERMSIG(status) != SIGPIPE
						  : WEXITSTATUS(status) != 0;

		d->children--;
		if (WIFSIGNALED(status))
			d->killed++;
		else if (WEXITSTATUS(status) != 0)
			d->failed++;
		if (log_verbose > 1 || (failed && ratelimit_allow(&d->ends, ratelimit_now())))
			log_info("pid %d (%s) ended: %s %d", (int)pid, d->argv[0],
				 WIFSIGNALED(status) ? "signal" : "status",
				 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	}
	ratelimit_flush(&d->ends, ratelimit_now());
	if (d->children < d->max_children)
		inetd_receiving(d, true);
	return stop;
}

/* The original socketbox-inetd took SOCKET PROGRAM [ARG...]. A first argument that names
 * a socket (an @name, a path ending in .sock or an existing socket file, or any path that
 * is not an executable file) followed by a program is taken that way. */
static bool inetd_original_form(int argc, char **argv)
{
	const char *a = argv[0];
	size_t n = strlen(a);
	struct stat st;

	if (argc < 2)
		return false;
	if (a[0] == '@' || (n > 5 && strcmp(a + n - 5, ".sock") == 0))
		return true;
	if (strchr(a, '/') == NULL)
		return false;
	return stat(a, &st) < 0 || S_ISSOCK(st.st_mode) || !S_ISREG(st.st_mode) ||
	       access(a, X_OK) < 0;
}

static char *inetd_default_path(const char *program)
{
	const char *env = getenv("SOCKETBOX_SOCKET");
	char *copy, *path;

	if (env && *env)
		return strdup(env);
	copy = strdup(program);
	if (copy == NULL || asprintf(&path, DEFAULT_DIR "/%s.sock", basename(copy)) < 0)
		fatal("out of memory");
	free(copy);
	return path;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		APPLET_SOCKET_LONGOPTS,
		APPLET_STATS_LONGOPTS,
		{"keep-fds", no_argument, NULL, 'K'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	static const int signals[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1, 0};
	struct inetd d = {.max_children = 40};
	struct applet_socket_options so = APPLET_SOCKET_OPTIONS_INIT;
	const char *user = NULL, *stats_path = NULL;
	char *owned_path = NULL;
	int c, verbose = 0, stats_fd = -1;

	applet_init("socketbox-inetd", USAGE);
	while ((c = getopt_long(argc, argv, CLI_GETOPT_POSIX(APPLET_SOCKET_OPTSTRING "c:u:vh"),
				longopts, NULL)) != -1) {
		if (applet_socket_option(&so, c, optarg))
			continue;
		switch (c) {
		case 'c': d.max_children = (unsigned)cli_number("-c", optarg, 1, 1 << 20); break;
		case 'u': user = optarg; break;
		case 'K': d.keep_fds = true; break;
		case 'T': stats_path = optarg; break;
		case 'v': verbose++; break;
		case 'h': cli_help();
		case 'V': cli_version();
		default: cli_option_error(c, argv);
		}
	}
	if (so.path == NULL && !applet_socket_registering(&so) &&
	    inetd_original_form(argc - optind, argv + optind)) {
		so.path = argv[optind++];
		log_warnx("\"%s %s\" is the original socketbox-inetd's form; taken as "
			  "\"-s %s %s\", which is how to write it", so.path, argv[optind], so.path,
			  argv[optind]);
	}
	if (optind >= argc)
		cli_usage("missing PROGRAM", NULL);
	d.argv = argv + optind;
	log_init("socketbox-inetd", false, verbose);

	if (so.path == NULL && !applet_socket_registering(&so))
		so.path = owned_path = inetd_default_path(d.argv[0]);
	/* Refused before the socket exists, not after: nothing to clean up. */
	if (user && getpwnam(user) == NULL)
		cli_usage("-u names no user in the user database", user);
	applet_socket_open(&d.sock, &so);
	if (stats_path)
		stats_fd = applet_stats_listen(stats_path, so.mode);
	if (user)
		ids_become(user);

	ratelimit_init(&d.ends, "programs that failed", 10, 5);
	d.epfd = evloop_new();
	d.sigfd = evloop_signals(d.epfd, signals, &d.sigfd);
	applet_socket_watch(&d.sock, d.epfd, &d.sock);
	if (stats_fd >= 0)
		d.stats = applet_stats_serve(stats_fd, d.epfd, &d.stats_ev, inetd_render, &d);
	d.receiving = true;
	sd_notify_state("READY=1");
	unsetenv("NOTIFY_SOCKET"); /* the programs we run are not the service */
	inetd_spawn_setup(&d);
	if (d.sock.path)
		log_info("receiving on %s for %s", d.sock.path, d.argv[0]);

	for (;;) {
		struct epoll_event events[3];
		int n = evloop_wait(d.epfd, events, 3, -1);

		for (int i = 0; i < n; i++) {
			if (events[i].data.ptr == &d.sigfd) {
				if (inetd_signals(&d))
					goto stop;
			} else if (events[i].data.ptr == &d.stats_ev) {
				metrics_run(d.stats);
			} else {
				inetd_receive(&d);
			}
		}
	}
stop:
	ratelimit_end(&d.ends);
	metrics_free(d.stats);
	applet_socket_close(&d.sock);
	free(d.envp);
	free(owned_path);
	return 0;
}
