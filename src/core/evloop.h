/* evloop.h - the epoll set every program's event loop is built on, with signals arriving
 * through a signalfd (handled in the loop, never in handler context) */
#ifndef SB_EVLOOP_H
#define SB_EVLOOP_H

#include <stdint.h>
#include <sys/epoll.h>

/* A close-on-exec epoll descriptor. Exits with a message on failure. */
int evloop_new(void);

/* Watches fd for events; ptr comes back in epoll_data.ptr. Exits with a message naming
 * what on failure (what: "the listening socket", "the timer"...). */
void evloop_add(int epfd, int fd, uint32_t events, void *ptr, const char *what);

/* Changes what fd is watched for. Returns 0, or -1 with errno. */
int evloop_mod(int epfd, int fd, uint32_t events, void *ptr);

/* Waits for up to max events (timeout in ms, -1: forever). Returns how many arrived, 0
 * when a signal interrupted the wait; exits with a message on failure. */
int evloop_wait(int epfd, struct epoll_event *events, int max, int timeout);

/* Blocks the signals (a 0-terminated list), ignores SIGPIPE, and watches a non-blocking
 * signalfd for them with ptr. Returns the signalfd; exits with a message on failure. */
int evloop_signals(int epfd, const int *signals, void *ptr);

/* The next pending signal of a signalfd, or 0 when none is left. */
int evloop_next_signal(int signal_fd);

/* A non-blocking timerfd, disarmed, watched with ptr. Exits with a message on failure. */
int evloop_timer(int epfd, void *ptr);

/* Arms the timer to fire every ms milliseconds, or disarms it (0). Returns 0, or -1. */
int evloop_timer_set(int timer_fd, unsigned ms);

#endif
