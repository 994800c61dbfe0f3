/* socketbox-relay - receives connections from socketbox and relays each one to a TCP or
 * UNIX address, optionally inside another network namespace. */
#include "applet.h"
#include "addr.h"
#include "applet_socket.h"
#include "applet_stats.h"
#include "fdlimit.h"
#include "log.h"
#include "num.h"
#include "relay.h"
#include "sd.h"
#include "unixsock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <unistd.h>

#define USAGE                                                                                      \
	"usage: socketbox-relay [-s PATH [-m MODE] [-g GROUP] [--allow-uid USER]...\n"           \
	"                        | --register PATH:SLOT [--exit-on-disconnect]\n"                 \
	"                        | --listen ADDR:PORT [--listen-netns FILE]]\n"                   \
	"                       [--netns FILE | --egress PATH] [--proxy-protocol v1|v2]\n"       \
	"                       [--connect-timeout S] [--idle-timeout S]\n"                        \
	"                       [--half-close-timeout S] [--max-conns N]\n"                      \
	"                       [--stats PATH] [-v] TARGET | --to-original[=PREFIX]\n"                            \
	"\n"                                                                                       \
	"  TARGET                HOST:PORT, [IPV6]:PORT or unix:PATH\n"                            \
	"  --to-original[=PREFIX]  instead of TARGET: where the client connected to, its\n"     \
	"                        first bits replaced by PREFIX if given (e.g. 64:ff9b::/96)\n"  \
	"  --listen ADDR:PORT    accept connections here instead of from socketbox\n"             \
	"  --listen-netns FILE   ... in this network namespace\n"                                 \
	"  -s PATH               socket to receive connections on (default $SOCKETBOX_SOCKET,\n"   \
	"                        else /run/socketbox/relay.sock)\n"                                \
	"  -m MODE               permissions of the socket file (default 0660)\n"                  \
	"  -g GROUP              group of the socket file\n"                                      \
	"  --allow-uid USER      accept connections only from this sender (repeatable)\n"          \
	"  --register PATH:SLOT  register for SLOT on socketbox's registration socket PATH\n"     \
	"                        instead of -s (-P SLOT:PATH is the same)\n"                      \
	"  --exit-on-disconnect  exit when socketbox refuses or goes away, instead of\n"          \
	"                        registering again with backoff\n"                                \
	"  --netns FILE          connect from this network namespace (/run/netns/NAME,\n"          \
	"                        /proc/PID/ns/net)\n"                                              \
	"  --egress PATH         have socketbox-sockd at PATH connect for us (TCP targets)\n"   \
	"  --proxy-protocol V    send a PROXY protocol header, v1 (text) or v2 (binary)\n"         \
	"  --connect-timeout S   give up connecting after S seconds (default 10)\n"                \
	"  --idle-timeout S      close connections idle for S seconds (default 600; 0: never)\n"  \
	"  --half-close-timeout S  close a connection S seconds after one direction ended\n"    \
	"                        if the other stays quiet (default 60; 0: never)\n"             \
	"  --max-conns N         relay at most N connections at once (default 4096)\n"             \
	"  --stats PATH          serve the counters on the stream socket PATH (mode of -m)\n"     \
	"  -v                    log more\n"                                                      \
	"  -h, --help            this text;  --version  the version\n"

/* what ("TARGET", "--listen"): unix:PATH (when unix_ok), [V6]:PORT, or HOST:PORT (a name
 * resolved once, now; with numeric, only an address). */
static void relay_parse_addr(const char *what, const char *text, bool unix_ok, bool numeric,
			     struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	char host[256], msg[96];
	const char *port, *colon, *start = text;
	size_t hlen;
	int rc;

	if (unix_ok && strncmp(text, "unix:", 5) == 0) {
		if (unixsock_addr(text + 5, (struct sockaddr_un *)ss, len) < 0)
			cli_usage("not a usable UNIX socket path", text);
		return;
	}
	snprintf(msg, sizeof(msg), "%s must be %s[IPV6]:PORT%s", what,
		 numeric ? "ADDRESS:PORT, " : "HOST:PORT, ", unix_ok ? " or unix:PATH" : "");
	colon = strrchr(text, ':');
	if (colon == NULL || colon == text)
		cli_usage(msg, text);
	port = colon + 1;
	cli_number("the port", port, 1, 65535);
	if (text[0] == '[') {
		if (colon[-1] != ']')
			cli_usage(msg, text);
		hlen = (size_t)(colon - text) - 2;
		start++;
	} else {
		hlen = (size_t)(colon - text);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		cli_usage(msg, text);
	memcpy(host, start, hlen);
	host[hlen] = '\0';
	if (numeric)
		hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0 && numeric)
		cli_usage(msg, text);
	if (rc != 0)
		fatalx("unable to resolve %s: %s", host, gai_strerror(rc));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
}

/* Runs in the namespace netns_fd (when >= 0) for a moment: setns there, or fatal. Returns
 * the descriptor of the namespace to return to. */
static int relay_enter(int netns_fd, const char *option)
{
	int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	if (home < 0)
		fatal("unable to open /proc/self/ns/net");
	if (setns(netns_fd, CLONE_NEWNET) < 0)
		fatal("unable to enter the network namespace of %s", option);
	return home;
}

static void relay_return(int home)
{
	if (setns(home, CLONE_NEWNET) < 0)
		fatal("unable to return to the original network namespace");
	close(home);
}

/* --listen ADDR:PORT, opened inside --listen-netns if given. */
static int relay_listen(const char *text, int netns_fd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, on = 1, home = -1;

	relay_parse_addr("--listen", text, false, true, &ss, &len);
	if (netns_fd >= 0)
		home = relay_enter(netns_fd, "--listen-netns");
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 4096) < 0)
		fatal("unable to listen on %s", text);
	if (home >= 0)
		relay_return(home);
	return fd;
}

/* A network namespace by file, for --netns and --listen-netns. */
static int relay_netns(const char *file)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		fatal("unable to open network namespace %s", file);
	return fd;
}

/* --to-original[=PREFIX] */
static void relay_to_original(const char *prefix, struct relay_options *o)
{
	o->to_original = true;
	if (prefix && addr_parse_prefix(prefix, &o->original_prefix, &o->original_plen) < 0)
		cli_usage("--to-original takes an address prefix such as 64:ff9b::/96", prefix);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"netns", required_argument, NULL, 'n'},
		{"egress", required_argument, NULL, 'G'},
		{"listen", required_argument, NULL, 'L'},
		{"listen-netns", required_argument, NULL, 'N'},
		{"to-original", optional_argument, NULL, 'O'},
		{"proxy-protocol", required_argument, NULL, 'X'},
		{"connect-timeout", required_argument, NULL, 'C'},
		{"idle-timeout", required_argument, NULL, 'I'},
		{"half-close-timeout", required_argument, NULL, 'H'},
		{"max-conns", required_argument, NULL, 'M'},
		APPLET_SOCKET_LONGOPTS,
		APPLET_STATS_LONGOPTS,
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct relay_options o = {
		.netns_fd = -1,
		.connect_timeout = 10,
		.idle_timeout = 600,
		.half_close_timeout = 60,
		.max_conns = 4096,
		.stats_fd = -1,
	};
	struct applet_socket_options so = APPLET_SOCKET_OPTIONS_INIT;
	struct applet_socket sock, *from = NULL;
	const char *listen_addr = NULL, *stats_path = NULL;
	int c, rc, verbose = 0, listen_netns = -1, listen_fd = -1;

	applet_init("socketbox-relay", USAGE);
	while ((c = getopt_long(argc, argv, CLI_GETOPT_POSIX(APPLET_SOCKET_OPTSTRING "vh"), longopts,
				NULL)) != -1) {
		if (applet_socket_option(&so, c, optarg))
			continue;
		switch (c) {
		case 'n': o.netns_fd = relay_netns(optarg); break;
		case 'G': o.egress = optarg; break;
		case 'L': listen_addr = optarg; break;
		case 'N': listen_netns = relay_netns(optarg); break;
		case 'O': relay_to_original(optarg, &o); break;
		case 'X':
			if (strcmp(optarg, "v1") == 0)
				o.proxy = 1;
			else if (strcmp(optarg, "v2") == 0)
				o.proxy = 2;
			else
				cli_usage("--proxy-protocol is v1 or v2", optarg);
			break;
		case 'C':
			o.connect_timeout = (int)cli_number("--connect-timeout", optarg, 1, 3600);
			break;
		case 'I':
			o.idle_timeout = (int)cli_number("--idle-timeout", optarg, 0, 86400 * 7);
			break;
		case 'H':
			o.half_close_timeout =
				(int)cli_number("--half-close-timeout", optarg, 0, 86400 * 7);
			break;
		case 'T': stats_path = optarg; break;
		case 'M': o.max_conns = (unsigned)cli_number("--max-conns", optarg, 1, 1 << 20); break;
		case 'v': verbose++; break;
		case 'h': cli_help();
		case 'V': cli_version();
		default: cli_option_error(c, argv);
		}
	}
	/* TARGET, or --to-original instead of it. */
	if (argc - optind != (o.to_original ? 0 : 1))
		cli_usage(o.to_original	   ? "--to-original takes no TARGET"
			  : optind >= argc ? "missing TARGET"
					   : "too many arguments",
			  NULL);
	if (o.egress && o.netns_fd >= 0)
		cli_usage("--egress excludes --netns: socketbox-sockd connects in its own namespace",
			  NULL);
	if (o.to_original && o.netns_fd < 0 && !o.egress && o.original_plen == 0)
		cli_usage("--to-original needs --netns, --egress or a prefix: the original destination "
			  "here is the relay's own",
			  NULL);
	if (listen_netns >= 0 && listen_addr == NULL)
		cli_usage("--listen-netns needs --listen", NULL);
	if (listen_addr && (so.path || applet_socket_registering(&so)))
		cli_usage("--listen excludes -s and --register: connections come from one", NULL);
	log_init("socketbox-relay", false, verbose);
	o.target_text = o.to_original ? "the original destination" : argv[optind];
	if (!o.to_original)
		relay_parse_addr("TARGET", argv[optind], true, false, &o.target, &o.target_len);
	if (o.egress && o.target.ss_family == AF_UNIX)
		cli_usage("--egress takes a TCP TARGET, not unix:PATH", argv[optind]);

	/* Six descriptors per connection: two sockets and two pipes. */
	fdlimit_raise();
	/* Entered once now, so that missing privileges stop us at start. */
	if (o.netns_fd >= 0)
		relay_return(relay_enter(o.netns_fd, "--netns"));
	if (listen_addr) {
		listen_fd = relay_listen(listen_addr, listen_netns);
		log_info("listening on %s for %s", listen_addr, o.target_text);
	} else {
		if (so.path == NULL && !applet_socket_registering(&so))
			so.path = getenv("SOCKETBOX_SOCKET");
		if (!applet_socket_registering(&so) && (so.path == NULL || *so.path == '\0'))
			so.path = "/run/socketbox/relay.sock";
		applet_socket_open(&sock, &so);
		from = &sock;
		if (sock.path)
			log_info("receiving on %s for %s", sock.path, o.target_text);
	}
	if (stats_path)
		o.stats_fd = applet_stats_listen(stats_path, so.mode);
	log_info("timeouts: connect %d s, idle %d s, half-closed %d s (0: never)",
		 o.connect_timeout, o.idle_timeout, o.half_close_timeout);
	sd_notify_state("READY=1");
	rc = relay_run(from, listen_fd, &o);
	if (from)
		applet_socket_close(from);
	return rc;
}
