/* preload_env.h - the environment of libsocketbox-preload.so, parsed (kept out of the
 * library so that tests and fuzzers can call it; the library interposes libc). */
#ifndef SB_PRELOAD_ENV_H
#define SB_PRELOAD_ENV_H

#include "applet_register.h"
#include "fdpass.h"
#include "ports.h"

#include <stdbool.h>

#define PRELOAD_MAX_PORTS 64

struct preload_env {
	bool active;	   /* the environment asks for anything */
	const char *error; /* the environment is unusable (fail closed), or NULL */
	const char *tmpl;  /* SOCKETBOX_SOCKET */
	unsigned mode;
	struct port_range ports[PRELOAD_MAX_PORTS];
	unsigned nports;
	struct fdpass_senders senders;
	struct applet_register_options reg; /* SOCKETBOX_REGISTER; reg.path "": unset */
	char error_buf[192]; /* room for an error that names a variable */
};

/* Parses the values of SOCKETBOX_SOCKET, SOCKETBOX_PORTS, SOCKETBOX_MODE and
 * SOCKETBOX_ALLOW_UID (each NULL when unset). legacy is the name of an SKBOX_ variable of
 * the original socketbox's library when one is set, else NULL: without SOCKETBOX_SOCKET and
 * SOCKETBOX_PORTS it makes the environment an error (the daemon was started the old way
 * and must not bind real ports unnoticed). e->error names the variable at fault. */
void preload_env_parse(struct preload_env *e, const char *sock, const char *ports,
		       const char *mode, const char *allow, const char *legacy);

/* SOCKETBOX_REGISTER=PATH:SLOT (reg, not NULL) instead of SOCKETBOX_SOCKET: each selected
 * listener registers for SLOT on socketbox's registration socket PATH. exit is the value of
 * SOCKETBOX_EXIT_ON_DISCONNECT ("1": exit when refused or disconnected). SOCKETBOX_PORTS is
 * needed as with SOCKETBOX_SOCKET; SOCKETBOX_SOCKET, SOCKETBOX_MODE and SOCKETBOX_ALLOW_UID
 * (which concern a socket file) are errors beside it. e->error names the variable at fault. */
void preload_env_parse_register(struct preload_env *e, const char *reg, const char *exit,
				const char *sock, const char *ports, const char *mode,
				const char *allow);

#endif
