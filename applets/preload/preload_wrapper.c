/* socketbox-preload - runs PROGRAM with libsocketbox-preload.so, so that its TCP listeners
 * on the chosen ports receive connections from socketbox instead. */
#include "applet.h"
#include "log.h"
#include "preload_env.h"

#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef PRELOAD_LIB
#define PRELOAD_LIB "/usr/local/lib/socketbox/libsocketbox-preload.so"
#endif

#define USAGE                                                                                      \
	"usage: socketbox-preload [-s PATH] [-p PORTS] [-m MODE] PROGRAM [ARG...]\n"               \
	"\n"                                                                                       \
	"  -s PATH   socket to receive connections on; %p becomes the port\n"                      \
	"            (default $SOCKETBOX_SOCKET, else /run/socketbox/PROGRAM-%p.sock)\n"           \
	"  -p PORTS  ports to take over: \"80,443\", \"8000-8099\" or \"*\"\n"                      \
	"            (default $SOCKETBOX_PORTS, else \"*\")\n"                                      \
	"  -m MODE   permissions of the socket files (default 0660)\n"                            \
	"  -h, --help  this text;  --version  the version\n"

/* The library next to this program (a build tree), else the installed one. */
static const char *preload_library(void)
{
	static char path[PATH_MAX];
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		snprintf(path, sizeof(path), "%s/libsocketbox-preload.so", dirname(self));
		if (access(path, R_OK) == 0)
			return path;
	}
	return PRELOAD_LIB;
}

static void wrapper_setenv(const char *name, const char *value)
{
	if (setenv(name, value, 1) < 0)
		fatal("unable to set %s", name);
}

int main(int argc, char **argv)
{
	const char *path = getenv("SOCKETBOX_SOCKET"), *ports = getenv("SOCKETBOX_PORTS");
	const char *mode = NULL, *lib, *old;
	char *preload, *tmpl = NULL, *copy;
	struct preload_env env;
	int c;

	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};

	applet_init("socketbox-preload", USAGE);
	while ((c = getopt_long(argc, argv, CLI_GETOPT_POSIX("s:p:m:h"), longopts, NULL)) != -1) {
		switch (c) {
		case 's': path = optarg; break;
		case 'p': ports = optarg; break;
		case 'm': mode = optarg; break;
		case 'h': cli_help();
		case 'V': cli_version();
		default: cli_option_error(c, argv);
		}
	}
	if (optind >= argc)
		cli_usage("missing PROGRAM", NULL);
	if (path == NULL || *path == '\0') {
		copy = strdup(argv[optind]);
		if (copy == NULL ||
		    asprintf(&tmpl, "/run/socketbox/%s-%%p.sock", basename(copy)) < 0)
			fatal("out of memory");
		path = tmpl;
		free(copy);
	}
	/* What the library would refuse when the daemon binds is refused now, before exec. */
	preload_env_parse(&env, path, ports ? ports : "*", mode, getenv("SOCKETBOX_ALLOW_UID"),
			  NULL);
	if (env.error)
		cli_usage(env.error, NULL);
	wrapper_setenv("SOCKETBOX_SOCKET", path);
	/* Unset means every port; an empty list is a mistake the library refuses. */
	wrapper_setenv("SOCKETBOX_PORTS", ports ? ports : "*");
	if (mode)
		wrapper_setenv("SOCKETBOX_MODE", mode);
	lib = preload_library();
	old = getenv("LD_PRELOAD");
	if (old && *old) {
		if (asprintf(&preload, "%s:%s", old, lib) < 0)
			fatal("out of memory");
	} else if ((preload = strdup(lib)) == NULL) {
		fatal("out of memory");
	}
	wrapper_setenv("LD_PRELOAD", preload);
	execvp(argv[optind], argv + optind);
	fatal("unable to run %s", argv[optind]);
}
