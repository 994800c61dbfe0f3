/* socketbox-inetd - receives connections from socketbox and runs PROGRAM for each, with
 * the socket on stdin and stdout and the UCSPI-TCP environment, like tcpserver. */
#include "fdpass.h"
#include "log.h"
#include "num.h"
#include "sd.h"
#include "ucspi.h"
#include "unixsock.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define USAGE                                                                                      \
	"usage: socketbox-inetd [-s PATH] [-m MODE] [-g GROUP] [-c MAXCHILDREN] [-u USER]\n"      \
	"                       [--allow-uid USER]... [-v] PROGRAM [ARG...]\n"                    \
	"\n"                                                                                       \
	"  -s PATH         socket to receive connections on (default $SOCKETBOX_SOCKET, else\n"    \
	"                  /run/socketbox/PROGRAM.sock; @NAME is an abstract socket)\n"            \
	"  -m MODE         permissions of the socket file (default 0660)\n"                        \
	"  -g GROUP        group of the socket file (e.g. the group socketbox runs in)\n"          \
	"  --allow-uid U   accept connections only from this sender (user name or uid;\n"        \
	"                  repeatable); others are dropped with a log line\n"                     \
	"  -c MAXCHILDREN  run at most this many programs at once (default 40)\n"                  \
	"  -u USER         after creating the socket, run as USER\n"                               \
	"  -v              log every connection\n"

#define DEFAULT_DIR "/run/socketbox"

struct inetd {
	int sock, epfd, sigfd;
	unsigned children, max_children;
	bool receiving;
	char **argv;
	char **envp;	  /* the environment of the next child's program */
	char exec_error[128]; /* what a child says when exec fails (no stdio after vfork) */
	struct fdpass_senders senders;
};

static void inetd_usage(const char *msg)
{
	fprintf(stderr, "socketbox-inetd: %s\n%s", msg, USAGE);
	exit(EXIT_USAGE);
}

static void inetd_receiving(struct inetd *d, bool on)
{
	struct epoll_event e = {.events = on ? EPOLLIN : 0, .data.fd = d->sock};

	if (d->receiving == on)
		return;
	if (epoll_ctl(d->epfd, EPOLL_CTL_MOD, d->sock, &e) < 0)
		fatal("epoll_ctl");
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

static void inetd_spawn(struct inetd *d, int fd)
{
	struct ucspi_env env;
	sigset_t none;
	pid_t pid;

	if (ucspi_env_from_fd(fd, &env) < 0) {
		log_warn("connection gone before it could be served");
		close(fd);
		return;
	}
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
		execvpe(d->argv[0], d->argv, d->envp);
		inetd_exec_failed(d, errno);
	}
	if (log_verbose && env.localip[0]) /* skip the "NAME=" of each variable */
		log_info("pid %d: [%s]:%s -> [%s]:%s", (int)pid, strchr(env.remoteip, '=') + 1,
			 strchr(env.remoteport, '=') + 1, strchr(env.localip, '=') + 1,
			 strchr(env.localport, '=') + 1);
	close(fd);
	d->children++;
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
	while (d->children < d->max_children) {
		const char *why;
		int fd, rc = fdpass_recv_from(d->sock, &fd, 0, &d->senders, &why);

		if (rc > 0)
			inetd_spawn(d, fd);
		else if (rc == 0)
			log_warnx("dropped a message on the socket: %s", why);
		else if (errno == EAGAIN)
			return;
		else {
			/* Not a spin: epoll calls again only if something is still waiting. */
			log_warn("receive failed");
			return;
		}
	}
	/* At the limit: leave datagrams queued, so the acceptor holds further connections
	 * in its own queue instead of anyone losing them. */
	inetd_receiving(d, false);
}

static bool inetd_signals(struct inetd *d)
{
	struct signalfd_siginfo si;
	bool stop = false;
	int status;
	pid_t pid;

	/* SIGHUP is taken and ignored: a daemon survives its terminal going away. */
	while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			stop = true;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		d->children--;
		if (log_verbose > 1 || (WIFSIGNALED(status) && WTERMSIG(status) != SIGPIPE))
			log_info("pid %d ended: %s %d", (int)pid,
				 WIFSIGNALED(status) ? "signal" : "status",
				 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	}
	if (d->children < d->max_children)
		inetd_receiving(d, true);
	return stop;
}

static void inetd_become(const char *user)
{
	const struct passwd *pw = getpwnam(user);

	if (pw == NULL)
		fatalx("no such user \"%s\"", user);
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setresgid(pw->pw_gid, pw->pw_gid,
								pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		fatal("unable to switch to user %s", user);
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
	/* The default directory may not exist yet on a fresh host. */
	if (mkdir(DEFAULT_DIR, 0755) < 0 && errno != EEXIST)
		fatal("unable to create %s", DEFAULT_DIR);
	return path;
}

int main(int argc, char **argv)
{
	struct inetd d = {.max_children = 40, .sock = -1};
	static const struct option longopts[] = {
		{"allow-uid", required_argument, NULL, 'A'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL, *user = NULL, *group = NULL, *errstr;
	char *owned_path = NULL;
	unsigned mode = 0660;
	struct epoll_event e;
	struct stat st = {0};
	sigset_t mask;
	long long v;
	int c, verbose = 0;

	log_init("socketbox-inetd", false, 0);
	/* Descriptors 0-2 stay taken, so that no received connection lands on one of them. */
	while ((c = open("/dev/null", O_RDWR)) >= 0 && c <= 2)
		;
	if (c > 2)
		close(c);
	while ((c = getopt_long(argc, argv, "+s:m:g:c:u:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 's': path = optarg; break;
		case 'g': group = optarg; break;
		case 'A':
			if (fdpass_senders_add(&d.senders, optarg) < 0)
				inetd_usage("--allow-uid needs a user name or uid (at most 16)");
			break;
		case 'm':
			if (num_parse_mode(optarg, &mode) < 0)
				inetd_usage("-m needs an octal mode such as 0660");
			break;
		case 'c':
			if (num_parse(optarg, 1, 1 << 20, &v, &errstr) < 0)
				inetd_usage("-c needs a number from 1 to 1048576");
			d.max_children = (unsigned)v;
			break;
		case 'u': user = optarg; break;
		case 'v': verbose++; break;
		case 'h': fputs(USAGE, stdout); return 0;
		default: inetd_usage("unknown option");
		}
	}
	if (optind >= argc)
		inetd_usage("missing PROGRAM");
	d.argv = argv + optind;
	log_init("socketbox-inetd", false, verbose);

	if (sd_listen_fds() > 0) {
		int type = 0;
		socklen_t len = sizeof(type);

		d.sock = SD_LISTEN_FDS_START;
		if (getsockopt(d.sock, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_DGRAM)
			fatalx("socket-activated descriptor %d is not a datagram socket", d.sock);
		path = NULL; /* -s names no socket of ours now */
	} else {
		if (path == NULL)
			path = owned_path = inetd_default_path(d.argv[0]);
		d.sock = unixsock_bind_dgram(path, mode);
		if (d.sock < 0)
			fatal("unable to bind %s", path);
		if (path[0] != '@')
			stat(path, &st);
		if (group && path[0] != '@' && unixsock_set_group(path, group) < 0)
			fatal("unable to give %s to group %s", path, group);
	}
	if (d.senders.n > 0 && unixsock_passcred(d.sock) < 0)
		fatal("unable to set SO_PASSCRED");
	if (user)
		inetd_become(user);

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		fatal("sigprocmask");
	signal(SIGPIPE, SIG_IGN);
	d.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	d.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d.sigfd < 0 || d.epfd < 0)
		fatal("unable to set up the event loop");
	e = (struct epoll_event){.events = EPOLLIN, .data.fd = d.sock};
	if (epoll_ctl(d.epfd, EPOLL_CTL_ADD, d.sock, &e) < 0)
		fatal("epoll_ctl");
	d.receiving = true;
	e = (struct epoll_event){.events = EPOLLIN, .data.fd = d.sigfd};
	if (epoll_ctl(d.epfd, EPOLL_CTL_ADD, d.sigfd, &e) < 0)
		fatal("epoll_ctl");
	sd_notify_state("READY=1");
	unsetenv("NOTIFY_SOCKET"); /* the programs we run are not the service */
	inetd_spawn_setup(&d);
	if (path)
		log_info("receiving on %s for %s", path, d.argv[0]);

	for (;;) {
		struct epoll_event events[2];
		int n = epoll_wait(d.epfd, events, 2, -1);

		if (n < 0 && errno != EINTR)
			fatal("epoll_wait");
		for (int i = 0; i < n; i++) {
			if (events[i].data.fd == d.sigfd) {
				if (inetd_signals(&d))
					goto stop;
			} else {
				inetd_receive(&d);
			}
		}
	}
stop:
	/* Remove the socket file only if it is still ours (not rebound by a successor). */
	if (path && path[0] != '@') {
		struct stat now;

		if (stat(path, &now) == 0 && now.st_ino == st.st_ino && now.st_dev == st.st_dev)
			unlink(path);
	}
	close(d.sock);
	free(d.envp);
	free(owned_path);
	return 0;
}
