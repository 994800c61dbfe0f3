/* applet_register.h - an applet dials in: it connects to socketbox's registration socket
 * (SOCK_SEQPACKET), asks for a slot, and receives connections on that connection; when
 * socketbox goes away or refuses, it dials again with backoff.
 *
 * The wire protocol (the Python socketbox's): request {0x01, 0, 0, 0, slot as big-endian
 * u32}; answer {0x80, 0, 0, 0} when accepted, else the connection is closed; then one
 * message {0x03, 0, 0, 0} with one descriptor in SCM_RIGHTS per connection. */
#ifndef SB_APPLET_REGISTER_H
#define SB_APPLET_REGISTER_H

#include "fdpass.h"

#include <stdbool.h>
#include <stdint.h>

#define APPLET_REGISTER_PATH_MAX 108 /* sun_path */

struct applet_register_options {
	char path[APPLET_REGISTER_PATH_MAX]; /* the registration socket (or @name); "": none */
	uint32_t slot;
	bool exit_on_disconnect; /* exit when refused or disconnected, instead of retrying */
};

/* Parses --register PATH:SLOT, or the original's -P SLOT:PATH when slot_first. Returns 0,
 * or -1 when arg is not of that form. */
int applet_register_parse(struct applet_register_options *o, const char *arg, bool slot_first);

/* Connects to path and sends the request for slot. Returns a non-blocking, close-on-exec
 * descriptor waiting for the answer, or -1 with errno. */
int applet_register_dial(const char *path, uint32_t slot);

/* Reads socketbox's answer on fd: 1 accepted, 0 not there yet (EAGAIN), -1 refused (the
 * connection closed or something else came; errno ECONNREFUSED) or failed (errno). */
int applet_register_answer(int fd);

/* The registration of a long-running applet, driven from its epoll loop. */
enum applet_register_state {
	REGISTER_WAITING, /* for the timer, to dial (again) */
	REGISTER_ASKING,  /* for the answer */
	REGISTER_READY,	  /* registered: connections arrive */
};

struct applet_register {
	const struct applet_register_options *o;
	enum applet_register_state state;
	int fd;	      /* the connection to socketbox, or -1 */
	int timer_fd; /* when to dial again */
	int epfd;     /* the owner's epoll set, and its pointer for our descriptors */
	void *ptr;
	bool receiving; /* the owner takes connections (not at its limit) */
	bool fd_watched;
	bool down;	   /* an outage is under way (logged once) */
	unsigned backoff;  /* milliseconds before the next attempt */
	unsigned long long registrations;
};

/* Starts registering: dials at once and watches its descriptors in epfd with ptr (events
 * for them come back as ptr: call applet_register_receive). Exits with a message on
 * failure to set up; not reaching socketbox is not a failure, it is retried. */
void applet_register_start(struct applet_register *r, const struct applet_register_options *o,
			   int epfd, void *ptr);

/* Waits up to ms milliseconds for the answer to a registration under way, and takes it
 * (nothing else). For the preload library: a daemon may fork right after bind(), and each
 * process then has its own copy of this state, which had better be settled. */
void applet_register_settle(struct applet_register *r, int ms);

/* Pauses (at the owner's limit: socketbox then sees a full socket and queues) or resumes
 * taking connections. */
void applet_register_receiving(struct applet_register *r, bool on);

/* Does what is due (dial again, read the answer) and receives the next connection: as
 * fdpass_recv_addrs, 1 with *fd (and the addresses of its PROXY header in *addrs), 0 for a
 * dropped message (why), -1 when nothing (more) is waiting. */
int applet_register_receive(struct applet_register *r, int *fd, struct fdpass_addrs *addrs,
			    char why[FDPASS_WHY_MAX]);

/* Ends the registration at exit (or when the preload's listener is closed): its
 * descriptors are closed, and the epoll set is left alone. */
void applet_register_stop(struct applet_register *r);

#endif
