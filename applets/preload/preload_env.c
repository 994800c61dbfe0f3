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
