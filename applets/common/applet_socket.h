/* applet_socket.h - where an applet receives connections: a datagram socket inherited by
 * socket activation or bound at a path (or abstract name) it owns and removes at exit, or
 * its registration on socketbox's registration socket (--register, applet_register.h) */
#ifndef SB_APPLET_SOCKET_H
#define SB_APPLET_SOCKET_H

#include "applet_register.h"
#include "fdpass.h"

#include <getopt.h>

#include <sys/stat.h>

#include <stdbool.h>

/* The options every applet takes for its socket: -s PATH, -m MODE, -g GROUP and
 * --allow-uid USER (repeatable), or instead --register PATH:SLOT (-P SLOT:PATH, the
 * original's spelling) and --exit-on-disconnect. Put APPLET_SOCKET_OPTSTRING into the
 * getopt string and APPLET_SOCKET_LONGOPTS into the long options, and hand every option
 * to applet_socket_option first. */
#define APPLET_SOCKET_OPTSTRING "s:m:g:P:"
#define APPLET_SOCKET_LONGOPTS                                                                     \
	{"allow-uid", required_argument, NULL, 'A'},                                               \
	{"register", required_argument, NULL, 'R'},                                                \
	{"exit-on-disconnect", no_argument, NULL, 'E'}

struct applet_socket_options {
	const char *path;  /* -s; NULL: the applet's default */
	const char *group; /* -g */
	unsigned mode;	   /* -m */
	struct fdpass_senders senders; /* who may hand us connections; empty: anyone */
	bool mode_set;
	struct applet_register_options reg; /* --register; reg.path "": not registering */
};

#define APPLET_SOCKET_OPTIONS_INIT {.mode = 0660}

/* Takes option opt with its argument if it is one of the socket's (a bad value is a
 * usage error). Returns false for any other option. */
bool applet_socket_option(struct applet_socket_options *o, int opt, const char *arg);

struct applet_socket {
	int fd;			/* the datagram socket; -1 when registering */
	const struct applet_socket_options *o;
	struct applet_register reg; /* with --register */
	const char *path; /* NULL when socket-activated */
	struct stat st;	  /* the file we bound, to recognise it at exit */
	const struct fdpass_senders *senders;
	int epfd;  /* where applet_socket_watch watches it */
	void *ptr;
	unsigned long long received, dropped; /* connections taken, messages dropped */
	/* The addresses the acceptor sent with the connection last received (a PROXY header
	 * named them: the socket's own are the balancer's); addrs.set false when none. */
	struct fdpass_addrs addrs;
};

/* Whether the options say --register: then there is no socket path to default. */
bool applet_socket_registering(const struct applet_socket_options *o);

/* Takes the socket-activated datagram socket if there is one, else binds o->path (its
 * directory is created if missing) with o->mode and, when o->group is set, gives the file
 * to that group. With senders, asks for the senders' credentials. With --register, only
 * checks the options (options that concern a socket file are a usage error): registering
 * starts in applet_socket_watch, after the applet has dropped privileges, as socketbox
 * authorises the uid that dials. Exits with a message on failure. o must outlive s. */
void applet_socket_open(struct applet_socket *s, const struct applet_socket_options *o);

/* Watches for connections in the epoll set epfd: events come back with ptr, and then
 * applet_socket_receive takes what is there. With --register, dials socketbox now. */
void applet_socket_watch(struct applet_socket *s, int epfd, void *ptr);

/* Pauses (at the applet's limit: socketbox then sees a full socket and queues the
 * connections itself) or resumes receiving. */
void applet_socket_receiving(struct applet_socket *s, bool on);

/* Creates the directory of path (mode 0755) if it is missing; nothing for an @name. Exits
 * with a message on failure. */
void applet_socket_make_dir(const char *path);

/* Closes the socket and removes its file, but only while it is still ours (not rebound
 * by a successor); or ends the registration. */
void applet_socket_close(struct applet_socket *s);

/* Receives the next acceptable connection: 1 with *fd set; 0 when nothing (more) is
 * waiting or receiving failed (logged). Messages that are not acceptable are dropped with
 * a log line, and the next one is tried. */
int applet_socket_receive(struct applet_socket *s, int *fd);

#endif
