/* preload_env.c - the environment of libsocketbox-preload.so, parsed */
#include "preload_env.h"
#include "num.h"
#include "subst.h"

#include <stdio.h>
#include <string.h>

/* A comma-separated list of users or uids. */
static int preload_env_senders(struct fdpass_senders *s, const char *list)
{
	char user[64];

	for (;;) {
		size_t len = strcspn(list, ",");

		if (len == 0 || len >= sizeof(user))
			return -1;
		memcpy(user, list, len);
		user[len] = '\0';
		if (fdpass_senders_add(s, user) < 0)
			return -1;
		if (list[len] == '\0')
			return 0;
		list += len + 1;
	}
}

void preload_env_parse(struct preload_env *e, const char *sock, const char *ports,
		       const char *mode, const char *allow, const char *legacy)
{
	int n;

	memset(e, 0, sizeof(*e));
	e->mode = 0660;
	if (sock == NULL && ports == NULL && legacy != NULL) {
		e->active = true;
		snprintf(e->error_buf, sizeof(e->error_buf),
			 "%.40s is the original socketbox's, which this library does not read; "
			 "set SOCKETBOX_SOCKET and SOCKETBOX_PORTS (socketbox-preload(8))",
			 legacy);
		e->error = e->error_buf;
		return;
	}
	if (sock == NULL && ports == NULL)
		return;
	e->active = true;
	e->tmpl = sock;
	if (sock == NULL || *sock == '\0')
		e->error = "SOCKETBOX_SOCKET is not set";
	else if (subst_check(sock) != NULL)
		e->error = "SOCKETBOX_SOCKET has an unknown %-token (use %p for the port)";
	else if (ports == NULL || (n = ports_parse_list(ports, e->ports, PRELOAD_MAX_PORTS)) < 0)
		e->error = "SOCKETBOX_PORTS is not a list of ports such as \"80,443\", "
			   "\"8000-8099\" or \"*\"";
	else if (mode && num_parse_mode(mode, &e->mode) < 0)
		e->error = "SOCKETBOX_MODE is not an octal mode such as 0660";
	else if (allow && preload_env_senders(&e->senders, allow) < 0)
		e->error = "SOCKETBOX_ALLOW_UID is not a list of users or uids";
	else
		e->nports = (unsigned)n;
}

void preload_env_parse_register(struct preload_env *e, const char *reg, const char *exit,
				const char *sock, const char *ports, const char *mode,
				const char *allow)
{
	int n;

	memset(e, 0, sizeof(*e));
	e->active = true;
	if (applet_register_parse(&e->reg, reg, false) < 0)
		e->error = "SOCKETBOX_REGISTER is not PATH:SLOT (a socket path and a number)";
	else if (sock)
		e->error = "SOCKETBOX_REGISTER and SOCKETBOX_SOCKET exclude each other";
	else if (mode || allow)
		e->error = "SOCKETBOX_MODE and SOCKETBOX_ALLOW_UID concern a socket file, which "
			   "SOCKETBOX_REGISTER does not make";
	else if (exit && strcmp(exit, "0") != 0 && strcmp(exit, "1") != 0)
		e->error = "SOCKETBOX_EXIT_ON_DISCONNECT is not 0 or 1";
	else if (ports == NULL || (n = ports_parse_list(ports, e->ports, PRELOAD_MAX_PORTS)) < 0)
		e->error = "SOCKETBOX_PORTS is not a list of ports such as \"80,443\", "
			   "\"8000-8099\" or \"*\"";
	else
		e->nports = (unsigned)n;
	if (e->error)
		e->reg.path[0] = '\0';
	e->reg.exit_on_disconnect = exit && strcmp(exit, "1") == 0;
}
