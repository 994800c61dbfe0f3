/* socketbox-preload - runs PROGRAM with libsocketbox-preload.so, so that its TCP listeners
 * on the chosen ports receive connections from socketbox instead. */
#include "applet.h"
#include "log.h"
#include "preload_env.h"

#include <getopt.h>
#include <stdbool.h>
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
	"       socketbox-preload --register PATH:SLOT [--exit-on-disconnect] [-p PORTS]\n"       \
	"                         PROGRAM [ARG...]\n"                                             \
	"\n"                                                                                       \
	"  -s PATH   socket to receive connections on; %p becomes the port\n"                      \
	"            (default $SOCKETBOX_SOCKET, else /run/socketbox/PROGRAM-%p.sock)\n"           \
	"  --register PATH:SLOT  instead, register for SLOT on socketbox's registration\n"       \
	"            socket PATH (sets SOCKETBOX_REGISTER)\n"                                      \
	"  --exit-on-disconnect  the program exits when socketbox refuses or goes away,\n"      \
	"            instead of registering again with backoff\n"                               \
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

static void wrapper_exec(char **argv) __attribute__((noreturn));

/* --register (or SOCKETBOX_REGISTER): the library registers instead of making a socket
 * file; SOCKETBOX_SOCKET from our environment would only contradict it. */
static void __attribute__((noreturn))
wrapper_register(const char *reg, const char *exit_env, const char *ports, const char *mode,
		 char **argv)
{
	struct preload_env env;

	preload_env_parse_register(&env, reg, exit_env, NULL, ports ? ports : "*", mode,
				   getenv("SOCKETBOX_ALLOW_UID"));
	if (env.error)
		cli_usage(env.error, NULL);
	if (unsetenv("SOCKETBOX_SOCKET") < 0)
		fatal("unable to unset SOCKETBOX_SOCKET");
	wrapper_setenv("SOCKETBOX_REGISTER", reg);
	wrapper_setenv("SOCKETBOX_PORTS", ports ? ports : "*");
	if (exit_env)
		wrapper_setenv("SOCKETBOX_EXIT_ON_DISCONNECT", exit_env);
	wrapper_exec(argv);
}

int main(int argc, char **argv)
{
	const char *path = getenv("SOCKETBOX_SOCKET"), *ports = getenv("SOCKETBOX_PORTS");
	const char *mode = NULL, *reg = getenv("SOCKETBOX_REGISTER");
	const char *exit_env = getenv("SOCKETBOX_EXIT_ON_DISCONNECT");
	bool reg_opt = false, sock_opt = false, exit_opt = false;
	char *tmpl = NULL, *copy;
	struct preload_env env;
	int c;

	static const struct option longopts[] = {
		{"register", required_argument, NULL, 'R'},
		{"exit-on-disconnect", no_argument, NULL, 'E'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};

	applet_init("socketbox-preload", USAGE);
	while ((c = getopt_long(argc, argv, CLI_GETOPT_POSIX("s:p:m:h"), longopts, NULL)) != -1) {
		switch (c) {
		case 's': path = optarg, sock_opt = true; break;
		case 'R': reg = optarg, reg_opt = true; break;
		case 'E': exit_env = "1", exit_opt = true; break;
		case 'p': ports = optarg; break;
		case 'm': mode = optarg; break;
		case 'h': cli_help();
		case 'V': cli_version();
		default: cli_option_error(c, argv);
		}
	}
	if (optind >= argc)
		cli_usage("missing PROGRAM", NULL);
	if (reg_opt && sock_opt)
		cli_usage("--register and -s exclude each other: connections come from one", NULL);
	/* An option beats the environment. */
	if (reg && *reg && !sock_opt)
		wrapper_register(reg, exit_env, ports, mode, argv + optind);
	if (exit_opt)
		cli_usage("--exit-on-disconnect needs --register", NULL);
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
	wrapper_exec(argv + optind);
}

/* Runs argv[0] with the library preloaded (after any already in LD_PRELOAD). */
static void wrapper_exec(char **argv)
{
	const char *lib = preload_library(), *old = getenv("LD_PRELOAD");
	char *preload;

	if (old && *old) {
		if (asprintf(&preload, "%s:%s", old, lib) < 0)
			fatal("out of memory");
	} else if ((preload = strdup(lib)) == NULL) {
		fatal("out of memory");
	}
	wrapper_setenv("LD_PRELOAD", preload);
	execvp(argv[0], argv);
	fatal("unable to run %s", argv[0]);
}
