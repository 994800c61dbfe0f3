/* applet_register.c - an applet dials in to socketbox's registration socket */
#include "applet_register.h"
#include "evloop.h"
#include "log.h"
#include "num.h"
#include "unixsock.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Dialing again after a refusal or an outage: 0.1 s, doubled each time, at most 5 s. */
#define REGISTER_BACKOFF_MIN 100
#define REGISTER_BACKOFF_MAX 5000

int applet_register_parse(struct applet_register_options *o, const char *arg, bool slot_first)
{
	const char *sep = slot_first ? strchr(arg, ':') : strrchr(arg, ':');
	const char *path = slot_first ? sep + 1 : arg, *err;
	char digits[16];
	size_t dlen, plen;
	struct sockaddr_un sun;
	socklen_t len;
	long long slot;

	if (sep == NULL)
		return -1;
	dlen = slot_first ? (size_t)(sep - arg) : strlen(sep + 1);
	plen = slot_first ? strlen(sep + 1) : (size_t)(sep - arg);
	if (dlen == 0 || dlen >= sizeof(digits) || plen >= sizeof(o->path))
		return -1;
	memcpy(digits, slot_first ? arg : sep + 1, dlen);
	digits[dlen] = '\0';
	if (num_parse(digits, 0, UINT32_MAX, &slot, &err) < 0)
		return -1;
	memcpy(o->path, path, plen);
	o->path[plen] = '\0';
	if (unixsock_addr(o->path, &sun, &len) < 0)
		return -1;
	o->slot = (uint32_t)slot;
	return 0;
}

int applet_register_dial(const char *path, uint32_t slot)
{
	const unsigned char request[8] = {0x01, 0, 0, 0, slot >> 24, slot >> 16, slot >> 8, slot};
	int fd = unixsock_connect(path, SOCK_SEQPACKET), saved;
	ssize_t n;

	if (fd < 0)
		return -1;
	do
		n = send(fd, request, sizeof(request), MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(request))
		goto bad;
	return fd;
bad:
	saved = n < 0 ? errno : EIO;
	close(fd);
	errno = saved;
	return -1;
}

int applet_register_answer(int fd)
{
	/* Room for more than the answer: a longer message is no answer. Descriptors sent
	 * with it are closed by the kernel, as there is no room for them. */
	unsigned char answer[8];
	ssize_t n;

	do
		n = recv(fd, answer, sizeof(answer), MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : -1;
	if (n == 4 && memcmp(answer, "\x80\0\0\0", 4) == 0)
		return 1;
	errno = ECONNREFUSED;
	return -1;
}

/* ENOENT is no failure: a process that shares the epoll set (the preload library in a
 * forked daemon) may have removed the connection already. */
static void applet_register_unwatch(struct applet_register *r)
{
	if (epoll_ctl(r->epfd, EPOLL_CTL_DEL, r->fd, NULL) < 0 && errno != ENOENT)
		fatal("unable to stop watching the registration");
	r->fd_watched = false;
}

/* Our connection is watched while there is one and the owner takes connections. */
static void applet_register_watch(struct applet_register *r)
{
	bool want = r->fd >= 0 && r->receiving;

	if (want == r->fd_watched)
		return;
	if (want)
		evloop_add(r->epfd, r->fd, EPOLLIN, r->ptr, "the registration");
	else
		applet_register_unwatch(r);
	r->fd_watched = want;
}

static void applet_register_close(struct applet_register *r)
{
	if (r->fd < 0)
		return;
	/* Removed from epoll first: a child between fork and exec may hold a copy. */
	if (r->fd_watched)
		applet_register_unwatch(r);
	close(r->fd);
	r->fd = -1;
}

/* Refused, unreachable or gone: dial again later, saying so once per outage. */
static void applet_register_lost(struct applet_register *r, const char *what, int err)
{
	char why[160];

	applet_register_close(r);
	snprintf(why, sizeof(why), "%s%s%s (slot %u at %s)", what, err ? ": " : "",
		 err ? strerror(err) : "", (unsigned)r->o->slot, r->o->path);
	if (r->o->exit_on_disconnect)
		fatalx("%s; exiting (--exit-on-disconnect)", why);
	if (!r->down)
		log_warnx("%s; registering again with backoff, quietly until it succeeds", why);
	r->down = true;
	r->state = REGISTER_WAITING;
	if (evloop_timer_set(r->timer_fd, r->backoff) < 0)
		fatal("unable to set the registration timer");
	r->backoff = r->backoff * 2 > REGISTER_BACKOFF_MAX ? REGISTER_BACKOFF_MAX : r->backoff * 2;
}

static void applet_register_dial_now(struct applet_register *r)
{
	int fd = applet_register_dial(r->o->path, r->o->slot);

	if (fd < 0) {
		applet_register_lost(r, "unable to reach socketbox", errno);
		return;
	}
	if (evloop_timer_set(r->timer_fd, 0) < 0)
		fatal("unable to set the registration timer");
	r->fd = fd;
	r->state = REGISTER_ASKING;
	applet_register_watch(r);
}

static void applet_register_accepted(struct applet_register *r)
{
	log_info("registered%s for slot %u at %s", r->registrations ? " again" : "",
		 (unsigned)r->o->slot, r->o->path);
	r->registrations++;
	r->state = REGISTER_READY;
	r->down = false;
	r->backoff = REGISTER_BACKOFF_MIN;
}

/* The answer, if it has come: registered, or refused. */
static void applet_register_take_answer(struct applet_register *r)
{
	int rc = applet_register_answer(r->fd);

	if (rc > 0)
		applet_register_accepted(r);
	else if (rc < 0 && (errno == ECONNREFUSED || errno == ECONNRESET))
		applet_register_lost(r, "socketbox refused the registration", 0);
	else if (rc < 0)
		applet_register_lost(r, "unable to read socketbox's answer", errno);
}

void applet_register_settle(struct applet_register *r, int ms)
{
	struct pollfd p = {.fd = r->fd, .events = POLLIN};

	if (r->state == REGISTER_ASKING && poll(&p, 1, ms) > 0)
		applet_register_take_answer(r);
}

void applet_register_start(struct applet_register *r, const struct applet_register_options *o,
			   int epfd, void *ptr)
{
	*r = (struct applet_register){
		.o = o,
		.state = REGISTER_WAITING,
		.fd = -1,
		.epfd = epfd,
		.ptr = ptr,
		.receiving = true,
		.backoff = REGISTER_BACKOFF_MIN,
	};
	r->timer_fd = evloop_timer(epfd, ptr);
	applet_register_dial_now(r);
}

void applet_register_receiving(struct applet_register *r, bool on)
{
	if (r->receiving == on)
		return;
	r->receiving = on;
	/* Paused, a due timer would wake the owner for nothing, over and over. */
	if (evloop_mod(r->epfd, r->timer_fd, on ? EPOLLIN : 0, r->ptr) < 0)
		fatal("unable to %s the registration timer", on ? "resume" : "pause");
	/* Not a mask of 0 for the connection: epoll reports its hang-up regardless. */
	applet_register_watch(r);
}

int applet_register_receive(struct applet_register *r, int *fd, struct fdpass_addrs *addrs,
			    char why[FDPASS_WHY_MAX])
{
	uint64_t ticks;
	int rc;

	why[0] = '\0';
	if (r->state == REGISTER_WAITING) {
		if (read(r->timer_fd, &ticks, sizeof(ticks)) < 0)
			goto none; /* not due yet */
		applet_register_dial_now(r);
	}
	if (r->state == REGISTER_ASKING)
		applet_register_take_answer(r);
	if (r->state != REGISTER_READY)
		goto none;
	rc = fdpass_recv_addrs(r->fd, fd, FDPASS_REGISTERED, NULL, addrs, why);
	if (rc >= 0 || errno == EAGAIN)
		return rc;
	if (errno == ECONNRESET)
		applet_register_lost(r, "socketbox closed the registration", 0);
	else
		applet_register_lost(r, "unable to receive from socketbox", errno);
none:
	errno = EAGAIN;
	return -1;
}

void applet_register_stop(struct applet_register *r)
{
	/* Closed without epoll_ctl: the epoll set ends with us, and may be closed already. */
	if (r->fd >= 0)
		close(r->fd);
	close(r->timer_fd);
	r->fd = r->timer_fd = -1;
	r->fd_watched = false;
}
