/* applet_socket.h - the datagram socket an applet receives connections on: inherited by
 * socket activation, or bound at a path (or abstract name) it owns and removes at exit */
#ifndef SB_APPLET_SOCKET_H
#define SB_APPLET_SOCKET_H

#include "fdpass.h"

#include <getopt.h>

#include <sys/stat.h>

#include <stdbool.h>

/* The options every applet takes for its socket: -s PATH, -m MODE, -g GROUP and
 * --allow-uid USER (repeatable). Put APPLET_SOCKET_OPTSTRING into the getopt string and
 * APPLET_SOCKET_LONGOPTS into the long options, and hand every option to
 * applet_socket_option first. */
#define APPLET_SOCKET_OPTSTRING "s:m:g:"
#define APPLET_SOCKET_LONGOPTS {"allow-uid", required_argument, NULL, 'A'}

struct applet_socket_options {
	const char *path;  /* -s; NULL: the applet's default */
	const char *group; /* -g */
	unsigned mode;	   /* -m */
	struct fdpass_senders senders; /* who may hand us connections; empty: anyone */
};

#define APPLET_SOCKET_OPTIONS_INIT {.mode = 0660}

/* Takes option opt with its argument if it is one of the socket's (a bad value is a
 * usage error). Returns false for any other option. */
bool applet_socket_option(struct applet_socket_options *o, int opt, const char *arg);

struct applet_socket {
	int fd;
	const char *path; /* NULL when socket-activated */
	struct stat st;	  /* the file we bound, to recognise it at exit */
	const struct fdpass_senders *senders;
	unsigned long long received, dropped; /* connections taken, messages dropped */
};

/* Takes the socket-activated datagram socket if there is one, else binds o->path (its
 * directory is created if missing) with o->mode and, when o->group is set, gives the file
 * to that group. With senders, asks for the senders' credentials. Exits with a message on
 * failure. o must outlive s. */
void applet_socket_open(struct applet_socket *s, const struct applet_socket_options *o);

/* Creates the directory of path (mode 0755) if it is missing; nothing for an @name. Exits
 * with a message on failure. */
void applet_socket_make_dir(const char *path);

/* Closes the socket and removes its file, but only while it is still ours (not rebound
 * by a successor). */
void applet_socket_close(struct applet_socket *s);

/* Receives the next acceptable connection: 1 with *fd set; 0 when nothing (more) is
 * waiting or receiving failed (logged). Messages that are not acceptable are dropped with
 * a log line, and the next one is tried. */
int applet_socket_receive(struct applet_socket *s, int *fd);

#endif
