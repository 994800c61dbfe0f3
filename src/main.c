/* main.c - socketbox: command line, start-up order, privilege drop, then the loop */
#include "acceptor.h"
#include "addr.h"
#include "cli.h"
#include "config.h"
#include "convert.h"
#include "fdlimit.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "num.h"
#include "privs.h"
#include "subst.h"
#include "unixsock.h"
#include "version.h"
#include "workers.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE                                                                                      \
	"usage: socketbox [-f FILE] [-c] [-d] [-v] [LISTENER AND IDENTITY OPTIONS]\n"              \
	"       socketbox -S PATH | -i FD [-l ADDR] [-p PORT] [OPTIONS]   (quick mode, no file)\n"  \
	"\n"                                                                                       \
	"  -f FILE    configuration file (default " CONFIG_DEFAULT_FILE ")\n"                       \
	"  -c         check the configuration, print every error as FILE:LINE: message, exit\n"   \
	"  -d         run in the background and log to syslog\n"                                   \
	"  -v         log every connection (twice: debug messages too)\n"                          \
	"  -S PATH    quick mode: hand every connection to the applet socket PATH\n"               \
	"  -i FD      quick mode: hand every connection over the inherited socket FD\n"            \
	"  -l ADDR    listen address (default ::)\n"                                               \
	"  -p PORT    listen port (quick mode and -e: default 80)\n"                             \
	"  -b N       listen backlog                 -z   clear IPV6_TRANSPARENT on connections\n"  \
	"  -e PROGRAM [ARG...]  open the listener, drop privileges, then run PROGRAM with\n"      \
	"             the listener's descriptor in SKBOX_LISTEN_FD (no accepting)\n"              \
	"  -t         IPV6_TRANSPARENT (TPROXY)      -F   IPV6_FREEBIND\n"                          \
	"  -R         clear SO_REUSEADDR             -r   set SO_REUSEPORT\n"                       \
	"  -s FD      use the inherited listening socket FD\n"                                     \
	"  -u USER    run as USER                    -g GROUP  run as GROUP\n"                     \
	"  -G GROUPS  supplementary groups (comma-separated)\n"                                    \
	"  -k         keep the supplementary groups  -x DIR    chroot to DIR\n"                     \
	"  --match LOCAL_ADDR LOCAL_PORT [REMOTE_ADDR REMOTE_PORT]\n"                           \
	"             with -f: print where such a connection would go, and by which rule\n"     \
	"  --match -  the same for each line of standard input\n"                                \
	"  --listener NAME  with --match: the connection came in on listen group NAME\n"     \
	"  --convert FILE  the original socketbox's configuration FILE as socketbox.conf\n"    \
	"  --stats PATH  print the counters served at PATH (stats.path, or an applet's\n"   \
	"             --stats) as tables\n"                                                     \
	"  -h, --help this text                      --version the version\n"

struct options {
	const char *file, *quick_path, *listen_addr, *port, *inherit_fd, *quick_fd, *backlog;
	const char *user, *group, *groups, *chroot;
	const char *stats; /* --stats PATH */
	bool check, daemon, transparent, freebind, no_reuseaddr, reuseport, keep_groups;
	bool clear_transparent; /* -z */
	char **exec;		/* -e: PROGRAM [ARG...] to run with the listener, or NULL */
	const char *convert; /* --convert FILE */
	char **match; /* --match: LOCAL_ADDR LOCAL_PORT [REMOTE_ADDR REMOTE_PORT], or NULL */
	int nmatch;
	const char *listener; /* --listener: --match on this listen group, not the first */
	int verbose;
};

static void options_parse(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"match", no_argument, NULL, 'M'},
		{"convert", required_argument, NULL, 'C'},
		{"stats", required_argument, NULL, 'T'},
		{"listener", required_argument, NULL, 'N'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, CLI_GETOPT_POSIX("f:cdvS:i:l:p:tFRrs:u:g:G:kx:b:zeh"), longopts,
				NULL)) != -1) {
		switch (c) {
		case 'f': o->file = optarg; break;
		case 'c': o->check = true; break;
		case 'd': o->daemon = true; break;
		case 'v': o->verbose++; break;
		case 'S': o->quick_path = optarg; break;
		case 'i': o->quick_fd = optarg; break;
		case 'l': o->listen_addr = optarg; break;
		case 'p': o->port = optarg; break;
		case 'b': o->backlog = optarg; break;
		case 'z': o->clear_transparent = true; break;
		case 'e': o->exec = argv; break;
		case 't': o->transparent = true; break;
		case 'F': o->freebind = true; break;
		case 'R': o->no_reuseaddr = true; break;
		case 'r': o->reuseport = true; break;
		case 's': o->inherit_fd = optarg; break;
		case 'u': o->user = optarg; break;
		case 'g': o->group = optarg; break;
		case 'G': o->groups = optarg; break;
		case 'k': o->keep_groups = true; break;
		case 'x': o->chroot = optarg; break;
		case 'h': cli_help();
		case 'V': cli_version();
		case 'M': o->check = true, o->match = argv; break;
		case 'C': o->convert = optarg; break;
		case 'T': o->stats = optarg; break;
		case 'N': o->listener = optarg; break;
		default: cli_option_error(c, argv);
		}
	}
	if (o->stats && (optind < argc || o->exec || o->match || o->check || o->quick_path ||
			 o->quick_fd || o->file))
		cli_usage("--stats PATH reads counters and does nothing else", NULL);
	if (o->exec) {
		o->exec = argv + optind;
		if (optind >= argc)
			cli_usage("-e needs a PROGRAM to run with the listener", NULL);
		if (o->quick_path || o->quick_fd || o->file || o->check)
			cli_usage("-e runs PROGRAM instead of accepting: no -S, -i, -f or -c", NULL);
	} else if (o->match) {
		o->match = argv + optind;
		o->nmatch = argc - optind;
		if (o->nmatch != 2 && o->nmatch != 4 && !(o->nmatch == 1 && !strcmp(o->match[0], "-")))
			cli_usage("--match takes LOCAL_ADDR LOCAL_PORT [REMOTE_ADDR REMOTE_PORT]", NULL);
	} else if (optind < argc) {
		cli_usage("unexpected argument", argv[optind]);
	}
	if (o->listener && !o->match)
		cli_usage("--listener NAME goes with --match", NULL);
	if (o->quick_path && o->quick_fd)
		cli_usage("-S and -i exclude each other", NULL);
	if ((o->quick_path || o->quick_fd) && (o->file || o->check))
		cli_usage("-S and -i replace the configuration file; drop -f and -c", NULL);
}

static void check_report(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "socketbox: %s\n", msg);
}

/* Command-line settings win over the file, as in the original socketbox: the listener
 * options over the first listener's, -z for every listener. */
static void options_apply(const struct options *o, struct config *cfg)
{
	struct listen_conf *l = &cfg->listen[0];

	if (o->listen_addr && addr_parse(o->listen_addr, &l->address) < 0)
		cli_usage("-l is not an IPv6 or IPv4 address", o->listen_addr);
	if (o->port)
		l->port = (unsigned)cli_number("-p port", o->port, 1, 65535);
	if (o->backlog)
		l->backlog = (int)cli_number("-b backlog", o->backlog, 1, 1 << 20);
	for (unsigned i = 0; i < cfg->nlisten; i++)
		cfg->listen[i].clear_transparent |= o->clear_transparent;
	if (o->inherit_fd)
		l->fd = (int)cli_number("-s descriptor", o->inherit_fd, 0, 1 << 20);
	l->transparent |= o->transparent;
	l->freebind |= o->freebind;
	l->reuseport |= o->reuseport;
	if (o->no_reuseaddr)
		l->reuseaddr = false;
	if (o->user && (free(cfg->user), cfg->user = strdup(o->user)) == NULL)
		fatal("out of memory");
	if (o->group && (free(cfg->group), cfg->group = strdup(o->group)) == NULL)
		fatal("out of memory");
	if (o->chroot && (free(cfg->chroot), cfg->chroot = strdup(o->chroot)) == NULL)
		fatal("out of memory");
	if (o->groups) {
		char *list = strdup(o->groups), *save = NULL;

		for (unsigned i = 0; i < cfg->ngroups; i++)
			free(cfg->groups[i]);
		free(cfg->groups);
		cfg->ngroups = 0;
		cfg->groups = calloc(strlen(o->groups) / 2 + 2, sizeof(char *));
		if (list == NULL || cfg->groups == NULL)
			fatal("out of memory");
		for (char *g = strtok_r(list, ",", &save); g; g = strtok_r(NULL, ",", &save))
			if ((cfg->groups[cfg->ngroups++] = strdup(g)) == NULL)
				fatal("out of memory");
		cfg->groups_set = true;
		free(list);
	}
}

/* Queued connections hold descriptors: allow as many as the hard limit permits. */
/* Without a user, socketbox stays uid 0: no capabilities, but owner access to every
 * root-owned file. Said at every start and every check. */
static void warn_identity(const struct config *cfg, const char *where)
{
	if (cfg->user == NULL && geteuid() == 0)
		log_warnx("%s sets no user, so socketbox keeps running as root (without "
			  "capabilities, but able to read and write every file root owns); set "
			  "user = \"socketbox\" (or -u)", where);
}

static struct privs privs_of(const struct config *cfg, bool keep_groups)
{
	return (struct privs){
		.user = cfg->user,
		.group = cfg->group,
		.chroot = cfg->chroot,
		.groups = cfg->groups,
		.ngroups = cfg->ngroups,
		.groups_set = cfg->groups_set,
		.keep_groups = keep_groups,
	};
}

/* An identity this process cannot take (no CAP_SETGID for groups under a service manager
 * that already dropped root) would end start-up half-way, after the listener is open: -c
 * and start-up refuse it first. */
static bool identity_applicable(const struct privs *p, const char *where)
{
	char why[512];
	const char *setting = privs_check(p, why, sizeof(why));

	if (setting)
		fprintf(stderr, "socketbox: %s: %s: %s\n", where, setting, why);
	return setting == NULL;
}

/* -e, as the original socketbox: PROGRAM gets the listener as SKBOX_LISTEN_FD, after
 * every privilege is gone; socketbox itself accepts nothing. */
static void exec_with_listener(int listen_fd, const struct privs *p, char **argv)
{
	char fd[16];

	privs_drop(p);
	snprintf(fd, sizeof(fd), "%d", listen_fd);
	/* As a program expects a socket it is given: blocking, and kept across exec. */
	if (setenv("SKBOX_LISTEN_FD", fd, 1) < 0 || fcntl(listen_fd, F_SETFD, 0) < 0 ||
	    fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) & ~O_NONBLOCK) < 0)
		fatal("unable to pass the listener on");
	execvp(argv[0], argv);
	fatal("unable to run %s", argv[0]);
}

/* One listener for the start line: "[::]:1 (transparent)", "descriptor 3", with its name
 * when there are several. */
static void log_listener(const struct config *cfg, unsigned i, int fd, char *buf, size_t len)
{
	const struct listen_conf *l = &cfg->listen[i];
	char addr[ADDR_STRLEN];
	int n = 0;

	if (cfg->nlisten > 1)
		n = snprintf(buf, len, "%s%s ", i ? ", " : "", l->name);
	if (n < 0 || (size_t)n >= len)
		return;
	if (l->port == 0 || l->fd >= 0)
		snprintf(buf + n, len - (size_t)n, "descriptor %d", fd);
	else
		snprintf(buf + n, len - (size_t)n, "[%s]:%u%s%s%s%s",
			 addr_ntop(&l->address, addr, sizeof(addr)), l->port,
			 l->netns[0] ? " in " : "", l->netns,
			 l->transparent ? " (transparent)" : "",
			 l->proxy_protocol ? " (PROXY protocol)" : "");
}

/* The start line says what runs. It begins "ready: N targets, M rules" as it always did. */
static void log_ready(const struct config *cfg, const int *fds)
{
	char listener[4096];
	size_t n = 0;

	listener[0] = '\0';
	for (unsigned i = 0; i < cfg->nlisten && n < sizeof(listener); i++) {
		log_listener(cfg, i, fds[i], listener + n, sizeof(listener) - n);
		n += strlen(listener + n);
	}
	log_info("ready: %u targets, %zu rules; socketbox %s on %s, as %s%s (uid %u)%s%s",
		 cfg->ntargets, rules_count(cfg->rules), SOCKETBOX_VERSION, listener,
		 cfg->user ? "user " : "no user set", cfg->user ? cfg->user : "",
		 (unsigned)geteuid(), cfg->chroot ? ", chroot " : "", cfg->chroot ? cfg->chroot : "");
}

/* --match: where a connection would go, like `ip route get`. */
static void match_print(const struct config *cfg, uint32_t listener, char **w, int n)
{
	struct conn_key key = {.listener = listener};
	struct verdict v;
	char where[96];

	if (addr_parse(w[0], &key.local) < 0)
		cli_usage("--match: LOCAL_ADDR is not an address", w[0]);
	key.local_port = (uint16_t)cli_number("--match: LOCAL_PORT", w[1], 0, 65535);
	if (n == 4) {
		if (addr_parse(w[2], &key.remote) < 0)
			cli_usage("--match: REMOTE_ADDR is not an address", w[2]);
		key.remote_port = (uint16_t)cli_number("--match: REMOTE_PORT", w[3], 0, 65535);
	}
	rules_lookup(cfg->rules, &key, &v);
	rules_where(cfg->rules, &v, where, sizeof(where));
	printf("%s%s%s (%s", v.action == RULE_TARGET ? "target" : v.action == RULE_REJECT ? "reject" : "drop",
	       v.action == RULE_TARGET ? " " : "", v.action == RULE_TARGET ? cfg->targets[v.target].name : "",
	       where);
	if (v.line)
		printf(", %s:%u", cfg->file, v.line);
	printf(")\n");
}

/* --match -: one connection per line of standard input, one verdict line each. */
static int match_main(struct config *cfg, const struct options *o)
{
	char *line = NULL, *w[5], *save;
	size_t size = 0;
	uint32_t listener = 0; /* as socketbox numbers them: the order of the file */
	int n;

	while (o->listener && strcmp(cfg->listen[listener].name, o->listener) != 0)
		if (++listener == cfg->nlisten)
			cli_usage("--listener: the configuration has no listen group of that name",
				  o->listener);
	if (o->nmatch != 1)
		match_print(cfg, listener, o->match, o->nmatch);
	while (o->nmatch == 1 && getline(&line, &size, stdin) > 0) {
		n = 0;
		while (n < 5 && (w[n] = strtok_r(n ? NULL : line, " \t\n", &save)) != NULL)
			n++;
		if (n == 0)
			continue; /* an empty line */
		if (n != 2 && n != 4)
			cli_usage("--match -: a line is not LOCAL_ADDR LOCAL_PORT [REMOTE_ADDR REMOTE_PORT]", NULL);
		match_print(cfg, listener, w, n);
	}
	free(line);
	config_free(cfg);
	return fflush(stdout) == 0 ? 0 : EXIT_SYSTEM;
}

/* The stats socket, made before privileges are dropped, like the listener. */
static int stats_open(const struct config *cfg)
{
	int fd = unixsock_listen_stream(cfg->stats_path, cfg->stats_mode);

	if (fd < 0)
		fatal("unable to create the stats socket %s", cfg->stats_path);
	if (cfg->stats_group && unixsock_set_group(cfg->stats_path, cfg->stats_group) < 0)
		fatal("unable to give the stats socket %s to group %s", cfg->stats_path,
		      cfg->stats_group);
	return fd;
}

static void daemonize(void)
{
	int fd;

	switch (fork()) {
	case -1:
		fatal("unable to fork");
	case 0:
		break;
	default:
		_exit(0);
	}
	if (setsid() < 0)
		fatal("unable to start a new session");
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		fatal("unable to redirect to /dev/null");
	if (fd > 2)
		close(fd);
}

int main(int argc, char **argv)
{
	struct options o = {0};
	struct config *cfg, *fixed;
	struct privs p;
	const char *where;
	int listen_fds[CONFIG_MAX_LISTEN];
	long long quick_fd = -1;

	cli_init("socketbox", USAGE);
	options_parse(argc, argv, &o);
	if (o.convert && argc > 3)
		cli_usage("--convert FILE takes no other options or arguments", NULL);
	if (o.convert)
		return convert_main(o.convert);
	log_init("socketbox", false, o.verbose);
	if (o.stats) {
		if (metrics_print_table(o.stats, stdout) < 0 || fflush(stdout) != 0)
			fatal("unable to read the counters from %s", o.stats);
		return 0;
	}
	if (!o.file)
		o.file = CONFIG_DEFAULT_FILE;

	if (o.quick_fd)
		quick_fd = cli_number("-i descriptor", o.quick_fd, 0, 1 << 20);
	if (o.quick_path && (subst_check(o.quick_path) != NULL ||
			     (!subst_has_tokens(o.quick_path) && strlen(o.quick_path) > 107)))
		cli_usage("-S is not a usable socket path (too long, or a bad %-token)",
			    o.quick_path);
	/* Named on the command line, an abstract socket is the operator's explicit choice. */
	if (o.quick_path && o.quick_path[0] == '@')
		log_warnx("-S %s is an abstract socket: anyone in this network namespace can bind "
			  "that name while its applet is down and receive the connections",
			  o.quick_path);
	if (o.quick_path || o.quick_fd || o.exec) {
		cfg = config_quick(o.quick_path, (int)quick_fd);
		if (cfg == NULL)
			fatal("out of memory");
		/* as the original socketbox: port 80 unless told otherwise */
		if (!o.port && !o.inherit_fd)
			cfg->listen[0].port = 80;
	} else {
		cfg = config_load(o.file, check_report, NULL);
		if (cfg == NULL) {
			if (!o.check)
				fprintf(stderr, "socketbox: %s: configuration has errors; not starting\n",
					o.file);
			return 1;
		}
		if (o.check) {
			/* What the command line adds is checked too: a start would apply it. */
			options_apply(&o, cfg);
			if (o.match)
				return match_main(cfg, &o);
			warn_identity(cfg, o.file);
			p = privs_of(cfg, o.keep_groups);
			if (!identity_applicable(&p, o.file)) {
				config_free(cfg);
				return 1;
			}
			printf("socketbox: %s: configuration OK (%u targets, %zu rules)\n", o.file,
			       cfg->ntargets, rules_count(cfg->rules));
			config_free(cfg);
			return 0;
		}
	}
	fixed = config_fixed_copy(cfg); /* as the file says, before the command line */
	if (fixed == NULL)
		fatal("out of memory");
	options_apply(&o, cfg);
	where = o.quick_path || o.quick_fd || o.exec ? "the command line" : o.file;
	warn_identity(cfg, where);
	p = privs_of(cfg, o.keep_groups);
	if (!identity_applicable(&p, where)) {
		fprintf(stderr, "socketbox: %s: identity cannot be applied; not starting\n", where);
		return 1;
	}

	if (config_check_fds(cfg, check_report, NULL) > 0)
		return 1;
	fdlimit_raise();
	listener_open_all(cfg, listen_fds);
	if (o.exec)
		exec_with_listener(listen_fds[0], &p, o.exec);
	if (o.daemon)
		daemonize();
	log_set_syslog(o.daemon || cfg->log_syslog);
	if (cfg->listen[0].workers > 1) {
		int stats_fd = cfg->stats_path ? stats_open(cfg) : -1;

		privs_drop(&p);
		log_ready(cfg, listen_fds);
		return workers_run(listen_fds, cfg, o.file, fixed, stats_fd);
	}

	struct acceptor *a = acceptor_new(listen_fds, cfg,
					  o.quick_path || o.quick_fd ? NULL : o.file, fixed);
	if (cfg->stats_path)
		acceptor_serve_stats(a, stats_open(cfg));
	privs_drop(&p);
	log_ready(cfg, listen_fds);
	return acceptor_run(a);
}
