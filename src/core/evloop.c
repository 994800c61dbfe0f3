/* evloop.c - the epoll set every program's event loop is built on */
#include "evloop.h"
#include "log.h"

#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

int evloop_new(void)
{
	int epfd = epoll_create1(EPOLL_CLOEXEC);

	if (epfd < 0)
		fatal("unable to create the event loop");
	return epfd;
}

void evloop_add(int epfd, int fd, uint32_t events, void *ptr, const char *what)
{
	struct epoll_event e = {.events = events, .data.ptr = ptr};

	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) < 0)
		fatal("unable to watch %s", what);
}

int evloop_mod(int epfd, int fd, uint32_t events, void *ptr)
{
	struct epoll_event e = {.events = events, .data.ptr = ptr};

	return epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &e);
}

int evloop_wait(int epfd, struct epoll_event *events, int max, int timeout)
{
	int n = epoll_wait(epfd, events, max, timeout);

	if (n < 0 && errno != EINTR)
		fatal("unable to wait for events");
	return n < 0 ? 0 : n;
}

int evloop_signals(int epfd, const int *signals, void *ptr)
{
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	for (; *signals; signals++)
		sigaddset(&mask, *signals);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		fatal("unable to block signals");
	/* A peer that goes away must be an EPIPE where we write, not our death. */
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		fatal("unable to receive signals through a signalfd");
	evloop_add(epfd, fd, EPOLLIN, ptr, "the signals");
	return fd;
}

int evloop_next_signal(int signal_fd)
{
	struct signalfd_siginfo si;

	if (read(signal_fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return 0;
	return (int)si.ssi_signo;
}

int evloop_timer(int epfd, void *ptr)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (fd < 0)
		fatal("unable to create a timer");
	evloop_add(epfd, fd, EPOLLIN, ptr, "the timer");
	return fd;
}

int evloop_timer_set(int timer_fd, unsigned ms)
{
	struct timespec every = {ms / 1000, (long)(ms % 1000) * 1000000L};
	struct itimerspec its = {every, every};

	return timerfd_settime(timer_fd, 0, &its, NULL);
}
