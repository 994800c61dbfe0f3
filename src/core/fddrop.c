/* fddrop.c - getting rid of descriptors we refuse, without ever blocking on them */
#include "fddrop.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MEM_MAJOR 1 /* /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom */

/* The closing thread of this process: a forked child has none (only the caller's thread
 * survives a fork), so it is made again whenever the pid changed. */
static pthread_mutex_t fddrop_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t fddrop_pid;
static int fddrop_queue = -1; /* write end of the pipe the thread reads fds from */

static void *fddrop_closer(void *arg)
{
	int queue = (int)(intptr_t)arg, fd;

	while (read(queue, &fd, sizeof(fd)) == (ssize_t)sizeof(fd))
		close(fd);
	return NULL;
}

/* The queue to the closing thread, started on first use. -1 when it cannot be had. */
static int fddrop_closer_queue(void)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t thread;
	int pipefd[2], queue;

	pthread_mutex_lock(&fddrop_lock);
	if (fddrop_pid != getpid()) {
		if (fddrop_queue >= 0)
			close(fddrop_queue); /* our parent's queue, to its thread */
		fddrop_queue = -1;
		/* All signals blocked in the thread: they stay the loop's (signalfd). */
		sigfillset(&all);
		if (pipe2(pipefd, O_CLOEXEC) == 0) {
			fcntl(pipefd[1], F_SETFL, O_NONBLOCK);
			pthread_attr_init(&attr);
			pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
			pthread_sigmask(SIG_SETMASK, &all, &old);
			if (pthread_create(&thread, &attr, fddrop_closer,
					   (void *)(intptr_t)pipefd[0]) == 0) {
				fddrop_queue = pipefd[1];
				fddrop_pid = getpid();
			} else {
				close(pipefd[0]);
				close(pipefd[1]);
			}
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			pthread_attr_destroy(&attr);
		}
	}
	queue = fddrop_queue;
	pthread_mutex_unlock(&fddrop_lock);
	return queue;
}

/* Whether closing fd cannot wait on anything: the type comes from statx without a sync,
 * so not even a FUSE or NFS file is asked. */
static bool fddrop_harmless(int fd)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &stx) < 0)
		return false;
	switch (stx.stx_mode & S_IFMT) {
	case 0: return true; /* an anonymous inode: eventfd, timerfd, epoll... */
	case S_IFIFO: return true;
	case S_IFCHR: return stx.stx_rdev_major == MEM_MAJOR;
	default: return false;
	}
}

void fddrop(int fd)
{
	struct linger abort = {.l_onoff = 1, .l_linger = 0};
	int type, queue;
	socklen_t len = sizeof(type);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
		close(fd);
		return;
	}
	if (fddrop_harmless(fd)) {
		close(fd);
		return;
	}
	queue = fddrop_closer_queue();
	if (queue >= 0 && write(queue, &fd, sizeof(fd)) == (ssize_t)sizeof(fd))
		return;
	/* The closing thread is stuck or missing: better one descriptor kept than a loop
	 * that waits. */
	log_warnx("unable to close a refused descriptor (%d) without waiting; kept open", fd);
}
