/* nb_connect.c - connects to ADDR PORT the way event-driven clients do: a non-blocking
 * socket, connect() expected to say EINPROGRESS (or succeed at once), epoll for
 * writability, SO_ERROR read, then getpeername() compared with what was asked; then reads
 * until EOF and prints what arrived. Exit 0 when all of that held, 1 otherwise.
 *
 *     nb_connect ADDR PORT */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in6 want = {.sin6_family = AF_INET6}, got;
	struct sockaddr_in want4 = {.sin_family = AF_INET};
	struct sockaddr *sa = (struct sockaddr *)&want;
	socklen_t salen = sizeof(want), glen = sizeof(got), elen = sizeof(int);
	struct epoll_event e = {.events = EPOLLOUT}, out;
	int fd, ep, err = 0, one = 1, family = AF_INET6;
	char buf[4096];
	ssize_t n;

	if (argc != 3)
		return 2;
	if (inet_pton(AF_INET, argv[1], &want4.sin_addr) == 1) {
		family = AF_INET;
		want4.sin_port = htons((uint16_t)atoi(argv[2]));
		sa = (struct sockaddr *)&want4;
		salen = sizeof(want4);
	} else if (inet_pton(AF_INET6, argv[1], &want.sin6_addr) == 1) {
		want.sin6_port = htons((uint16_t)atoi(argv[2]));
	} else {
		return 2;
	}
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* an option set before connect, as many clients do */
	if (fd < 0 || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
		perror("nb_connect: socket");
		return 1;
	}
	if (connect(fd, sa, salen) < 0 && errno != EINPROGRESS) {
		perror("nb_connect: connect");
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0 || epoll_wait(ep, &out, 1, 10000) != 1) {
		fprintf(stderr, "nb_connect: never writable\n");
		return 1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0) {
		fprintf(stderr, "nb_connect: SO_ERROR %s\n", strerror(err));
		return 1;
	}
	if (getpeername(fd, (struct sockaddr *)&got, &glen) < 0 || glen != salen ||
	    memcmp(&got, sa, salen) != 0) {
		fprintf(stderr, "nb_connect: getpeername is not what was asked for\n");
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EAGAIN) {
			e.events = EPOLLIN;
			epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
			if (epoll_wait(ep, &out, 1, 10000) != 1)
				return 1;
			continue;
		}
		if (n < 0) {
			perror("nb_connect: read");
			return 1;
		}
		fwrite(buf, 1, (size_t)n, stdout);
	}
	return 0;
}
