/* socketbox-relay - receives connections from socketbox and relays each one to a TCP or
 * UNIX address, optionally inside another network namespace. */
#include "applet.h"
#include "applet_socket.h"
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
	"usage: socketbox-relay [-s PATH] [-m MODE] [-g GROUP] [--allow-uid USER]...\n"          \
	"                       [--netns FILE] [--proxy-protocol v1|v2] [--connect-timeout S]\n"   \
	"                       [--idle-timeout S] [--half-close-timeout S] [--max-conns N]\n"    \
	"                       [-v] TARGET\n"                                                    \
	"\n"                                                                                       \
	"  TARGET                HOST:PORT, [IPV6]:PORT or unix:PATH\n"                            \
	"  -s PATH               socket to receive connections on (default $SOCKETBOX_SOCKET,\n"   \
	"                        else /run/socketbox/relay.sock)\n"                                \
	"  -m MODE               permissions of the socket file (default 0660)\n"                  \
	"  -g GROUP              group of the socket file\n"                                      \
	"  --allow-uid USER      accept connections only from this sender (repeatable)\n"          \
	"  --netns FILE          connect from this network namespace (/run/netns/NAME,\n"          \
	"                        /proc/PID/ns/net)\n"                                              \
	"  --proxy-protocol V    send a PROXY protocol header, v1 (text) or v2 (binary)\n"         \
	"  --connect-timeout S   give up connecting after S seconds (default 10)\n"                \
	"  --idle-timeout S      close connections idle for S seconds (default 600; 0: never)\n"  \
	"  --half-close-timeout S  close a connection S seconds after one direction ended\n"    \
	"                        if the other stays quiet (default 60; 0: never)\n"             \
	"  --max-conns N         relay at most N connections at once (default 4096)\n"             \
	"  -v                    log more\n"                                                      \
	"  -h, --help            this text;  --version  the version\n"

/* TARGET: unix:PATH, [V6]:PORT, or HOST:PORT (resolved once, now). */
static void relay_target(const char *text, struct relay_options *o)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	char host[256];
	const char *port, *colon;
	size_t hlen;
	int rc;

	if (strncmp(text, "unix:", 5) == 0) {
		if (unixsock_addr(text + 5, (struct sockaddr_un *)&o->target, &o->target_len) < 0)
			cli_usage("not a usable UNIX socket path", text);
		return;
	}
	colon = strrchr(text, ':');
	if (colon == NULL || colon == text)
		cli_usage("TARGET must be HOST:PORT, [IPV6]:PORT or unix:PATH", text);
	port = colon + 1;
	cli_number("the port of TARGET", port, 1, 65535);
	if (text[0] == '[') {
		if (colon[-1] != ']')
			cli_usage("TARGET must be HOST:PORT, [IPV6]:PORT or unix:PATH", text);
		hlen = (size_t)(colon - text) - 2;
		text++;
	} else {
		hlen = (size_t)(colon - text);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		cli_usage("bad host in TARGET", text);
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0)
		fatalx("unable to resolve %s: %s", host, gai_strerror(rc));
	memcpy(&o->target, res->ai_addr, res->ai_addrlen);
	o->target_len = res->ai_addrlen;
	freeaddrinfo(res);
}

/* Enter the namespace once now, so that missing privileges (CAP_SYS_ADMIN) stop us at
 * start instead of at the first connection. */
static void relay_check_netns(int netns_fd)
{
	int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	if (home < 0)
		fatal("unable to open /proc/self/ns/net");
	if (setns(netns_fd, CLONE_NEWNET) < 0)
		fatal("unable to enter the network namespace of --netns");
	if (setns(home, CLONE_NEWNET) < 0)
		fatal("unable to return to the original network namespace");
	close(home);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"netns", required_argument, NULL, 'n'},
		{"proxy-protocol", required_argument, NULL, 'P'},
		{"connect-timeout", required_argument, NULL, 'C'},
		{"idle-timeout", required_argument, NULL, 'I'},
		{"half-close-timeout", required_argument, NULL, 'H'},
		{"max-conns", required_argument, NULL, 'M'},
		APPLET_SOCKET_LONGOPTS,
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
	};
	struct applet_socket_options so = APPLET_SOCKET_OPTIONS_INIT;
	struct applet_socket sock;
	int c, rc, verbose = 0;

	applet_init("socketbox-relay", USAGE);
	so.path = getenv("SOCKETBOX_SOCKET");
	while ((c = getopt_long(argc, argv, CLI_GETOPT_POSIX(APPLET_SOCKET_OPTSTRING "vh"), longopts,
				NULL)) != -1) {
		if (applet_socket_option(&so, c, optarg))
			continue;
		switch (c) {
		case 'n':
			o.netns_fd = open(optarg, O_RDONLY | O_CLOEXEC);
			if (o.netns_fd < 0)
				fatal("unable to open network namespace %s", optarg);
			break;
		case 'P':
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
		case 'M': o.max_conns = (unsigned)cli_number("--max-conns", optarg, 1, 1 << 20); break;
		case 'v': verbose++; break;
		case 'h': cli_help();
		case 'V': cli_version();
		default: cli_option_error(c, argv);
		}
	}
	if (optind != argc - 1)
		cli_usage(optind >= argc ? "missing TARGET" : "too many arguments", NULL);
	log_init("socketbox-relay", false, verbose);
	o.target_text = argv[optind];
	relay_target(argv[optind], &o);

	/* Six descriptors per connection: two sockets and two pipes. */
	fdlimit_raise();
	if (o.netns_fd >= 0)
		relay_check_netns(o.netns_fd);
	if (so.path == NULL || *so.path == '\0')
		so.path = "/run/socketbox/relay.sock";
	applet_socket_open(&sock, &so);
	if (sock.path)
		log_info("receiving on %s for %s", sock.path, o.target_text);
	log_info("timeouts: connect %d s, idle %d s, half-closed %d s (0: never)",
		 o.connect_timeout, o.idle_timeout, o.half_close_timeout);
	sd_notify_state("READY=1");
	rc = relay_run(&sock, &o);
	applet_socket_close(&sock);
	return rc;
}
