/* socketbox-relay - receives connections from socketbox and relays each one to a TCP or
 * UNIX address, optionally inside another network namespace. */
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
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define USAGE                                                                                      \
	"usage: socketbox-relay [-s PATH] [-m MODE] [-g GROUP] [--allow-uid USER]...\n"          \
	"                       [--netns FILE] [--proxy-protocol v1|v2] [--connect-timeout S]\n"   \
	"                       [--idle-timeout S] [--max-conns N] [-v] TARGET\n"                  \
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
	"  --idle-timeout S      close connections idle for S seconds (default 0: never)\n"        \
	"  --max-conns N         relay at most N connections at once (default 4096)\n"             \
	"  -v                    log more\n"

static void relay_usage(const char *msg, const char *arg)
{
	fprintf(stderr, "socketbox-relay: %s%s%s\n%s", msg, arg ? ": " : "", arg ? arg : "", USAGE);
	exit(EXIT_USAGE);
}

static int relay_number(const char *what, const char *s, long long min, long long max)
{
	const char *errstr;
	long long v;

	if (num_parse(s, min, max, &v, &errstr) < 0) {
		fprintf(stderr, "socketbox-relay: %s \"%s\" is %s (%lld to %lld)\n", what, s, errstr,
			min, max);
		exit(EXIT_USAGE);
	}
	return (int)v;
}

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
			relay_usage("not a usable UNIX socket path", text);
		return;
	}
	colon = strrchr(text, ':');
	if (colon == NULL || colon == text)
		relay_usage("TARGET must be HOST:PORT, [IPV6]:PORT or unix:PATH", text);
	port = colon + 1;
	relay_number("port", port, 1, 65535);
	if (text[0] == '[') {
		if (colon[-1] != ']')
			relay_usage("TARGET must be HOST:PORT, [IPV6]:PORT or unix:PATH", text);
		hlen = (size_t)(colon - text) - 2;
		text++;
	} else {
		hlen = (size_t)(colon - text);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		relay_usage("bad host in TARGET", text);
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
		{"max-conns", required_argument, NULL, 'M'},
		{"allow-uid", required_argument, NULL, 'A'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct relay_options o = {.netns_fd = -1, .connect_timeout = 10, .max_conns = 4096};
	const char *path = getenv("SOCKETBOX_SOCKET"), *group = NULL;
	unsigned mode = 0660;
	struct stat st = {0}, now;
	struct rlimit rl;
	int c, sock, rc, verbose = 0;

	log_init("socketbox-relay", false, 0);
	while ((c = getopt_long(argc, argv, "+s:m:g:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 's': path = optarg; break;
		case 'g': group = optarg; break;
		case 'A':
			if (fdpass_senders_add(&o.senders, optarg) < 0)
				relay_usage("--allow-uid needs a user name or uid (at most 16)", optarg);
			break;
		case 'm':
			if (num_parse_mode(optarg, &mode) < 0)
				relay_usage("-m needs an octal mode such as 0660", optarg);
			break;
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
				relay_usage("--proxy-protocol is v1 or v2", optarg);
			break;
		case 'C': o.connect_timeout = relay_number("--connect-timeout", optarg, 1, 3600); break;
		case 'I': o.idle_timeout = relay_number("--idle-timeout", optarg, 0, 86400 * 7); break;
		case 'M': o.max_conns = (unsigned)relay_number("--max-conns", optarg, 1, 1 << 20); break;
		case 'v': verbose++; break;
		case 'h': fputs(USAGE, stdout); return 0;
		default: relay_usage("unknown option", NULL);
		}
	}
	if (optind != argc - 1)
		relay_usage(optind >= argc ? "missing TARGET" : "too many arguments", NULL);
	log_init("socketbox-relay", false, verbose);
	o.target_text = argv[optind];
	relay_target(argv[optind], &o);

	/* Six descriptors per connection: two sockets and two pipes. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (o.netns_fd >= 0)
		relay_check_netns(o.netns_fd);
	if (sd_listen_fds() > 0) {
		int type = 0;
		socklen_t len = sizeof(type);

		sock = SD_LISTEN_FDS_START;
		if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_DGRAM)
			fatalx("socket-activated descriptor %d is not a datagram socket", sock);
		path = NULL;
	} else {
		if (path == NULL || *path == '\0')
			path = "/run/socketbox/relay.sock";
		sock = unixsock_bind_dgram(path, mode);
		if (sock < 0)
			fatal("unable to bind %s", path);
		if (group && path[0] != '@' && unixsock_set_group(path, group) < 0)
			fatal("unable to give %s to group %s", path, group);
		if (path[0] != '@')
			stat(path, &st);
		log_info("receiving on %s for %s", path, o.target_text);
	}
	if (o.senders.n > 0 && unixsock_passcred(sock) < 0)
		fatal("unable to set SO_PASSCRED");
	sd_notify_state("READY=1");
	rc = relay_run(sock, &o);
	/* Remove the socket file only while it is still ours (not rebound by a successor). */
	if (path && path[0] != '@' && stat(path, &now) == 0 && now.st_ino == st.st_ino &&
	    now.st_dev == st.st_dev)
		unlink(path);
	return rc;
}
