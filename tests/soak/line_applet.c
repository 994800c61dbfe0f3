/* line_applet.c - the smallest useful applet: receives handed-off connections with the
 * core's fdpass_recv_from(), writes one line on each and closes it. No fork, no allocation
 * per connection, so a million connections cost it nothing that could grow: the soak test
 * (tests/soak/soak.sh) and the fault tests use it where socketbox-inetd (fork/exec per
 * connection) would be the bottleneck.
 *
 *   line_applet [-m MODE] PATH [TEXT]
 *
 * Binds the datagram socket PATH (or @NAME) with unixsock_bind_dgram() (mode default 0666),
 * prints "ready" on stdout, then for every connection sends TEXT (default "ok") and a
 * newline and closes. Malformed datagrams are dropped by fdpass_recv_from() (every descriptor
 * that came with them closed) and logged on stderr as "line_applet: dropped: WHY".
 * SIGUSR1 prints "line_applet: served N, dropped M" on stderr; SIGTERM/SIGINT end it.
 *
 * Built by the tests against the core library:
 *   cc -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc/core -o line_applet line_applet.c build/libsbcore.a
 */
#include "fdpass.h"
#include "num.h"
#include "unixsock.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t line_report, line_stop;

static void line_signal(int sig)
{
	if (sig == SIGUSR1)
		line_report = 1;
	else
		line_stop = 1;
}

static void line_usage(void)
{
	fputs("usage: line_applet [-m MODE] PATH [TEXT]\n", stderr);
	exit(100);
}

int main(int argc, char **argv)
{
	unsigned long long served = 0, dropped = 0;
	unsigned mode = 0666;
	char text[256];
	size_t len;
	struct sigaction sa;
	struct pollfd p;
	int c, sock;

	while ((c = getopt(argc, argv, "m:")) != -1) {
		if (c != 'm' || num_parse_mode(optarg, &mode) < 0)
			line_usage();
	}
	if (argc - optind < 1 || argc - optind > 2)
		line_usage();
	len = (size_t)snprintf(text, sizeof(text), "%s\n", argc - optind == 2 ? argv[optind + 1]
									   : "ok");
	if (len >= sizeof(text))
		line_usage();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = line_signal; /* no SA_RESTART: poll() returns EINTR */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0 ||
	    sigaction(SIGINT, &sa, NULL) < 0)
		return 111;
	signal(SIGPIPE, SIG_IGN);

	sock = unixsock_bind_dgram(argv[optind], mode);
	if (sock < 0) {
		fprintf(stderr, "line_applet: unable to bind %s: %s\n", argv[optind],
			strerror(errno));
		return 111;
	}
	printf("ready\n");
	fflush(stdout);

	p.fd = sock;
	p.events = POLLIN;
	while (!line_stop) {
		if (line_report) {
			line_report = 0;
			fprintf(stderr, "line_applet: served %llu, dropped %llu\n", served, dropped);
		}
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("line_applet: poll");
			return 111;
		}
		for (;;) {
			char why[FDPASS_WHY_MAX];
			int fd, rc = fdpass_recv_from(sock, &fd, 0, NULL, why);

			if (rc > 0) {
				/* A fresh connection's send buffer takes a short line at once. */
				(void)send(fd, text, len, MSG_DONTWAIT | MSG_NOSIGNAL);
				close(fd);
				served++;
			} else if (rc == 0) {
				dropped++;
				fprintf(stderr, "line_applet: dropped: %s\n", why);
			} else {
				if (errno != EAGAIN && errno != EINTR)
					perror("line_applet: receive");
				break;
			}
		}
	}
	fprintf(stderr, "line_applet: served %llu, dropped %llu\n", served, dropped);
	if (argv[optind][0] != '@')
		unlink(argv[optind]);
	return 0;
}
