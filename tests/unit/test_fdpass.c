/* test_fdpass.c - the wire protocol (src/fdpass.c) over socketpair(AF_UNIX, SOCK_DGRAM): a good
 * descriptor arrives; every malformed datagram is dropped with every descriptor that came
 * with it closed (counted in /proc/self/fd before and after). */
#include "fdpass.h"
#include "helpers.h"
#include "unixsock.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The most descriptors Linux carries in one message (SCM_MAX_FD). */
#define MAX_FDS 253

static void dgram_pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
}

/* One datagram with payload (len bytes) and, unless nfds is 0, one SCM_RIGHTS per group:
 * groups[i] descriptors from fds, in order. */
static void send_raw(int sock, const void *payload, size_t len, const int *fds,
		     const unsigned *groups, unsigned ngroups)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_FDS) * 2];
		struct cmsghdr align;
	} control;
	struct iovec iov = {.iov_base = (void *)payload, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *cmsg;
	size_t total = 0;

	memset(&control, 0, sizeof(control));
	for (unsigned g = 0; g < ngroups; g++)
		total += CMSG_SPACE(sizeof(int) * groups[g]);
	if (ngroups) {
		msg.msg_control = control.buf;
		msg.msg_controllen = total;
	}
	cmsg = ngroups ? CMSG_FIRSTHDR(&msg) : NULL;
	for (unsigned g = 0; g < ngroups; g++) {
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * groups[g]);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * groups[g]);
		fds += groups[g];
		cmsg = CMSG_NXTHDR(&msg, cmsg);
	}
	ck_assert_msg(sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)len, "sendmsg: %s",
		      strerror(errno));
}

/* A connected TCP pair over loopback: *server is the accepted end. */
static void tcp_pair(int family, int *client, int *server)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int l = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(l, 0);
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*s4);
	}
	ck_assert_int_eq(bind(l, (struct sockaddr *)&ss, len), 0);
	ck_assert_int_eq(listen(l, 4), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&ss, &len), 0);
	*client = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(*client, 0);
	ck_assert_int_eq(connect(*client, (struct sockaddr *)&ss, len), 0);
	*server = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(*server, 0);
	close(l);
}

/* The received fd is a new descriptor, close-on-exec, and the same socket: data written
 * on it reaches peer. */
static void check_same_stream(int got, int original, int peer)
{
	char buf[8];

	ck_assert_int_ge(got, 0);
	ck_assert_int_ne(got, original);
	ck_assert_int_eq(fcntl(got, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(original);
	ck_assert_int_eq(write(got, "hi", 2), 2);
	ck_assert_int_eq(read(peer, buf, sizeof(buf)), 2);
	ck_assert_int_eq(memcmp(buf, "hi", 2), 0);
}

/* Sends what the caller prepared with send_raw, then expects fdpass_recv_from to drop it with
 * reason and to leave exactly as many descriptors open as before the send. */
#define EXPECT_DROPPED(sock, opts, reason, before)                                                 \
	do {                                                                                       \
		int fd_ = -12345;                                                                  \
		char why_[FDPASS_WHY_MAX] = "unset";                                               \
		ck_assert_int_eq(fdpass_recv_from(sock, &fd_, opts, NULL, why_), 0);                   \
		ck_assert_str_eq(why_, reason);                                                    \
		ck_assert_int_eq(fd_, -12345);                                                     \
		ck_assert_int_eq(open_fds(), before);                                              \
	} while (0)

START_TEST(test_tcp_socket_received)
{
	int sv[2], client, server, got = -1, before;
	char why[FDPASS_WHY_MAX] = "unset";

	dgram_pair(sv);
	tcp_pair(_i ? AF_INET6 : AF_INET, &client, &server);
	before = open_fds();
	ck_assert_int_eq(fdpass_send(sv[0], server, 0), 0);
	ck_assert_int_eq(fdpass_recv_from(sv[1], &got, 0, NULL, why), 1);
	ck_assert_str_eq(why, "");
	ck_assert_int_eq(open_fds(), before + 1);
	check_same_stream(got, server, client);
	close(got);
	close(client);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_unix_stream_received)
{
	int sv[2], sp[2], got = -1;
	char why[FDPASS_WHY_MAX] = "unset";

	dgram_pair(sv);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	ck_assert_int_eq(fdpass_send(sv[0], sp[0], MSG_DONTWAIT), 0);
	ck_assert_int_eq(fdpass_recv_from(sv[1], &got, 0, NULL, why), 1);
	ck_assert_str_eq(why, "");
	check_same_stream(got, sp[0], sp[1]);
	/* and the datagram was consumed: nothing more is waiting */
	ck_assert_int_eq(fdpass_recv_from(sv[1], &got, 0, NULL, why), -1);
	ck_assert_int_eq(errno, EAGAIN);
	close(got);
	close(sp[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* --allow-uid: only listed senders; their credentials come from SO_PASSCRED. */
START_TEST(test_senders_checked)
{
	struct fdpass_senders me = {{getuid()}, 1}, other = {{getuid() + 1}, 1};
	int sv[2], sp[2], got = -1, before;
	char why[FDPASS_WHY_MAX] = "unset";
	char expect[64];

	dgram_pair(sv);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	before = open_fds();

	/* Without SO_PASSCRED nothing says who sent it: dropped. */
	ck_assert_int_eq(fdpass_send(sv[0], sp[0], MSG_DONTWAIT), 0);
	ck_assert_int_eq(fdpass_recv_from(sv[1], &got, 0, &me, why), 0);
	ck_assert_str_eq(why, "sender credentials missing");
	ck_assert_int_eq(open_fds(), before);

	ck_assert_int_eq(unixsock_passcred(sv[1]), 0);
	ck_assert_int_eq(fdpass_send(sv[0], sp[0], MSG_DONTWAIT), 0);
	ck_assert_int_eq(fdpass_recv_from(sv[1], &got, 0, &other, why), 0);
	snprintf(expect, sizeof(expect), "sender uid %u is not allowed", (unsigned)getuid());
	ck_assert_str_eq(why, expect);
	ck_assert_int_eq(open_fds(), before);

	ck_assert_int_eq(fdpass_send(sv[0], sp[0], MSG_DONTWAIT), 0);
	ck_assert_int_eq(fdpass_recv_from(sv[1], &got, 0, &me, why), 1);
	ck_assert_str_eq(why, "");
	check_same_stream(got, sp[0], sp[1]);
	close(got);
	close(sp[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_senders_add)
{
	struct fdpass_senders s = {{0}, 0};

	ck_assert_int_eq(fdpass_senders_add(&s, "root"), 0);
	ck_assert_int_eq(fdpass_senders_add(&s, "1234"), 0);
	ck_assert_int_eq(fdpass_senders_add(&s, "no-such-user-here"), -1);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_uint_eq(s.uids[0], 0);
	ck_assert_uint_eq(s.uids[1], 1234);
	for (unsigned i = 2; i < FDPASS_MAX_SENDERS; i++)
		ck_assert_int_eq(fdpass_senders_add(&s, "7"), 0);
	ck_assert_int_eq(fdpass_senders_add(&s, "7"), -1);
}
END_TEST

START_TEST(test_nothing_queued_is_eagain)
{
	int sv[2], fd = -7;
	char why[FDPASS_WHY_MAX] = "unset";

	dgram_pair(sv);
	/* a blocking socket: fdpass_recv_from must not block */
	errno = 0;
	ck_assert_int_eq(fdpass_recv_from(sv[1], &fd, 0, NULL, why), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(fd, -7);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_no_fd)
{
	int sv[2], before;

	dgram_pair(sv);
	before = open_fds();
	send_raw(sv[0], "", 1, NULL, NULL, 0);
	EXPECT_DROPPED(sv[1], 0, "no descriptor", before);
	/* FDPASS_ANY_FD does not make a descriptor out of nothing */
	send_raw(sv[0], "", 1, NULL, NULL, 0);
	EXPECT_DROPPED(sv[1], FDPASS_ANY_FD, "no descriptor", before);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_two_fds_in_one_cmsg)
{
	int sv[2], a[2], b[2], before, fds[2];
	unsigned groups[] = {2};

	dgram_pair(sv);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b), 0);
	fds[0] = a[0];
	fds[1] = b[0];
	before = open_fds();
	send_raw(sv[0], "", 1, fds, groups, 1);
	EXPECT_DROPPED(sv[1], 0, "more than one descriptor", before);
	/* both copies were closed: with ours gone too, the peers see EOF */
	close(a[0]);
	close(b[0]);
	{
		char c;

		ck_assert_int_eq(read(a[1], &c, 1), 0);
		ck_assert_int_eq(read(b[1], &c, 1), 0);
	}
	close(a[1]);
	close(b[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_two_scm_rights_cmsgs)
{
	/* Two SCM_RIGHTS control messages of one fd each. (Linux merges them into one on the
	 * way, so the receiver sees one cmsg with two fds; either way both must be closed.) */
	int sv[2], a[2], b[2], before, fds[2];
	unsigned groups[] = {1, 1};
	char c;

	dgram_pair(sv);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b), 0);
	fds[0] = a[0];
	fds[1] = b[0];
	before = open_fds();
	send_raw(sv[0], "", 1, fds, groups, 2);
	EXPECT_DROPPED(sv[1], FDPASS_ANY_FD, "more than one descriptor", before);
	close(a[0]);
	close(b[0]);
	ck_assert_int_eq(read(a[1], &c, 1), 0);
	ck_assert_int_eq(read(b[1], &c, 1), 0);
	close(a[1]);
	close(b[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_ctrunc)
{
	/* fdpass_recv_from's control buffer holds SCM_MAX_FD (253) descriptors, the most the kernel
	 * passes in one message, plus the sender's credentials, so these alone cannot
	 * overflow it. With SO_TIMESTAMPNS and SO_PASSCRED on the receiver the kernel adds a
	 * timestamp too: 253 descriptors then arrive with MSG_CTRUNC, the kernel installs
	 * the ones that fit, and fdpass_recv_from must close all of those. */
	int sv[2], sp[2], on = 1, before, fds[MAX_FDS];
	unsigned groups[] = {MAX_FDS};
	char c;

	dgram_pair(sv);
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)), 0);
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	for (int i = 0; i < MAX_FDS; i++)
		fds[i] = sp[0];
	before = open_fds();
	send_raw(sv[0], "", 1, fds, groups, 1);
	EXPECT_DROPPED(sv[1], 0, "control data truncated", before);
	close(sp[0]);
	ck_assert_int_eq(read(sp[1], &c, 1), 0);
	close(sp[1]);

	/* and with SO_PASSCRED, one descriptor still arrives normally */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	{
		int got = -1;
		char why[FDPASS_WHY_MAX] = "unset";

		ck_assert_int_eq(fdpass_send(sv[0], sp[0], 0), 0);
		ck_assert_int_eq(fdpass_recv_from(sv[1], &got, 0, NULL, why), 1);
		ck_assert_str_eq(why, "");
		check_same_stream(got, sp[0], sp[1]);
		close(got);
	}
	close(sp[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* The addresses of a PROXY header travel after the NUL byte; a receiver that does not ask
 * for them takes the connection all the same. */
START_TEST(test_addresses_extension)
{
	struct fdpass_addrs sent = {.set = true, .local_port = 443, .remote_port = 65535}, got;
	char why[FDPASS_WHY_MAX];
	int sv[2], sp[2], fd = -1;

	dgram_pair(sv);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::1", &sent.local), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:192.0.2.7", &sent.remote), 1);
	ck_assert_int_eq(fdpass_send_addrs(sv[0], sp[0], 0, &sent), 0);
	ck_assert_int_eq(fdpass_recv_addrs(sv[1], &fd, 0, NULL, &got, why), 1);
	ck_assert(got.set);
	ck_assert_mem_eq(&got.local, &sent.local, 16);
	ck_assert_mem_eq(&got.remote, &sent.remote, 16);
	ck_assert_uint_eq(got.local_port, 443);
	ck_assert_uint_eq(got.remote_port, 65535);
	close(fd);
	ck_assert_int_eq(fdpass_send_addrs(sv[0], sp[0], 0, &sent), 0);
	ck_assert_int_eq(fdpass_recv_from(sv[1], &fd, 0, NULL, why), 1);
	close(fd);
	ck_assert_int_eq(fdpass_send(sv[0], sp[0], 0), 0);
	ck_assert_int_eq(fdpass_recv_addrs(sv[1], &fd, 0, NULL, &got, why), 1);
	ck_assert(!got.set);
	close(fd);
	close(sp[0]);
	close(sp[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* A batch is one datagram per descriptor, in order, each as fdpass_send_addrs sends it;
 * a receiver whose queue fills takes the first ones and the count says how many. */
START_TEST(test_send_batch)
{
	struct fdpass_addrs addrs[FDPASS_BATCH_MAX] = {{0}}, got;
	int fds[FDPASS_BATCH_MAX], sp[2], rx, tx, n = 0, fd;
	char name[64], why[FDPASS_WHY_MAX];

	snprintf(name, sizeof(name), "@sb-test-fdpass-batch-%d", (int)getpid());
	ck_assert_int_ge(rx = unixsock_bind_dgram(name, 0600), 0);
	ck_assert_int_ge(tx = unixsock_connect_dgram(name), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	for (int i = 0; i < FDPASS_BATCH_MAX; i++) {
		fds[i] = sp[0];
		addrs[i].set = i % 2 == 1;
		addrs[i].remote_port = (uint16_t)i;
	}
	ck_assert_int_eq(fdpass_send_batch(tx, fds, addrs, 3, MSG_DONTWAIT), 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(fdpass_recv_addrs(rx, &fd, 0, NULL, &got, why), 1);
		ck_assert(got.set == (i == 1));
		ck_assert(!got.set || got.remote_port == 1);
		close(fd);
	}
	/* more than net.unix.max_dgram_qlen (10 unless raised) */
	n = fdpass_send_batch(tx, fds, addrs, FDPASS_BATCH_MAX, MSG_DONTWAIT);
	ck_assert_int_gt(n, 0);
	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(fdpass_recv_addrs(rx, &fd, 0, NULL, &got, why), 1);
		ck_assert(got.set == (i % 2 == 1));
		ck_assert(!got.set || got.remote_port == i);
		close(fd);
	}
	ck_assert_int_eq(fdpass_recv_from(rx, &fd, 0, NULL, why), -1);
	ck_assert_int_eq(errno, EAGAIN);
	if (n < FDPASS_BATCH_MAX) {
		/* full: nothing sent at all is -1 with EAGAIN */
		int again = fdpass_send_batch(tx, fds, addrs, FDPASS_BATCH_MAX, MSG_DONTWAIT);

		ck_assert_int_eq(again, n);
		ck_assert_int_eq(fdpass_send_batch(tx, fds, addrs, 1, MSG_DONTWAIT), -1);
		ck_assert_int_eq(errno, EAGAIN);
	}
	close(sp[0]);
	close(sp[1]);
	close(tx);
	close(rx);
}
END_TEST

START_TEST(test_bad_payload)
{
	int sv[2], sp[2], before;
	unsigned groups[] = {1};
	char c;

	dgram_pair(sv);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	before = open_fds();
	send_raw(sv[0], "x", 1, &sp[0], groups, 1);
	EXPECT_DROPPED(sv[1], 0, "payload is not one NUL byte", before);
	send_raw(sv[0], "\0\0", 2, &sp[0], groups, 1);
	EXPECT_DROPPED(sv[1], 0, "payload is not one NUL byte", before);
	send_raw(sv[0], "", 0, &sp[0], groups, 1);
	EXPECT_DROPPED(sv[1], 0, "payload is not one NUL byte", before);
	/* longer than fdpass_recv_from's buffer (MSG_TRUNC) */
	send_raw(sv[0], "\0bcdefghijklmnopqrstuvwxyz", 26, &sp[0], groups, 1);
	EXPECT_DROPPED(sv[1], 0, "payload is not one NUL byte", before);
	/* the addresses extension: a wrong magic or length is junk too */
	send_raw(sv[0], "\0SBa2" "0123456789abcdef01" "0123456789abcdef01", 41, &sp[0], groups, 1);
	EXPECT_DROPPED(sv[1], 0, "payload is not one NUL byte", before);
	send_raw(sv[0], "\0SBa1" "0123456789abcdef01" "0123456789abcdef0", 40, &sp[0], groups, 1);
	EXPECT_DROPPED(sv[1], 0, "payload is not one NUL byte", before);
	/* FDPASS_ANY_FD does not relax the payload check */
	send_raw(sv[0], "x", 1, &sp[0], groups, 1);
	EXPECT_DROPPED(sv[1], FDPASS_ANY_FD, "payload is not one NUL byte", before);
	close(sp[0]);
	ck_assert_int_eq(read(sp[1], &c, 1), 0);
	close(sp[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_pipe_rejected_and_closed)
{
	int sv[2], p[2], before;
	unsigned groups[] = {1};

	signal(SIGPIPE, SIG_IGN);
	dgram_pair(sv);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	before = open_fds();
	send_raw(sv[0], "", 1, &p[0], groups, 1);
	EXPECT_DROPPED(sv[1], 0, "descriptor is not a socket", before);
	/* the received copy of the read end was closed: with ours closed, no reader is left */
	close(p[0]);
	ck_assert_int_eq(write(p[1], "x", 1), -1);
	ck_assert_int_eq(errno, EPIPE);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_any_fd_accepts_a_pipe)
{
	int sv[2], p[2], got = -1, before;
	char why[FDPASS_WHY_MAX] = "unset";
	char buf[4];

	dgram_pair(sv);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	before = open_fds();
	ck_assert_int_eq(fdpass_send(sv[0], p[0], 0), 0);
	ck_assert_int_eq(fdpass_recv_from(sv[1], &got, FDPASS_ANY_FD, NULL, why), 1);
	ck_assert_str_eq(why, "");
	ck_assert_int_eq(open_fds(), before + 1);
	ck_assert_int_ne(got, p[0]);
	ck_assert_int_eq(fcntl(got, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(p[0]);
	ck_assert_int_eq(write(p[1], "abc", 3), 3);
	ck_assert_int_eq(read(got, buf, sizeof(buf)), 3);
	ck_assert_int_eq(memcmp(buf, "abc", 3), 0);
	close(got);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static void expect_socket_dropped(int fd, const char *reason)
{
	int sv[2], before;
	unsigned groups[] = {1};

	dgram_pair(sv);
	before = open_fds();
	send_raw(sv[0], "", 1, &fd, groups, 1);
	EXPECT_DROPPED(sv[1], 0, reason, before);
	ck_assert_str_eq(fdpass_check_socket(fd), reason);
	close(sv[0]);
	close(sv[1]);
}

START_TEST(test_udp_socket_rejected)
{
	int u = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = htons(9)};

	ck_assert_int_ge(u, 0);
	expect_socket_dropped(u, "socket is not a stream socket");
	/* connected or not */
	to.sin6_addr = in6addr_loopback;
	ck_assert_int_eq(connect(u, (struct sockaddr *)&to, sizeof(to)), 0);
	expect_socket_dropped(u, "socket is not a stream socket");
	close(u);
}
END_TEST

START_TEST(test_listening_tcp_socket_rejected)
{
	int l = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in6 a = {.sin6_family = AF_INET6};

	ck_assert_int_ge(l, 0);
	a.sin6_addr = in6addr_loopback;
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	expect_socket_dropped(l, "socket is not connected");
	close(l);
}
END_TEST

START_TEST(test_unconnected_tcp_socket_rejected)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(s, 0);
	expect_socket_dropped(s, "socket is not connected");
	close(s);
}
END_TEST

START_TEST(test_other_sockets_rejected)
{
	int sp[2], nl;

	/* AF_UNIX, but datagram and seqpacket */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp), 0);
	expect_socket_dropped(sp[0], "socket is not a stream socket");
	close(sp[0]);
	close(sp[1]);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	expect_socket_dropped(sp[0], "socket is not a stream socket");
	close(sp[0]);
	close(sp[1]);
	/* another family: its type is looked at first */
	nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (nl >= 0) {
		expect_socket_dropped(nl, "socket is not a stream socket");
		close(nl);
	}
}
END_TEST

START_TEST(test_check_socket)
{
	int client, server, p[2];

	tcp_pair(AF_INET, &client, &server);
	ck_assert_ptr_null(fdpass_check_socket(server));
	ck_assert_ptr_null(fdpass_check_socket(client));
	close(client);
	close(server);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_str_eq(fdpass_check_socket(p[0]), "descriptor is not a socket");
	close(p[0]);
	close(p[1]);
	/* a closed descriptor is not a socket either way, and says so */
	ck_assert_ptr_nonnull(fdpass_check_socket(p[0]));
}
END_TEST

START_TEST(test_send_errors)
{
	int sv[2];

	dgram_pair(sv);
	close(sv[1]);
	/* the receiver is gone */
	ck_assert_int_eq(fdpass_send(sv[0], 0, MSG_DONTWAIT), -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	close(sv[0]);
	/* not a socket */
	ck_assert_int_eq(fdpass_send(0, 0, MSG_DONTWAIT), -1);
	ck_assert(errno == ENOTSOCK || errno == EBADF);
}
END_TEST

START_TEST(test_fill_and_drain_in_order)
{
	/* several descriptors queued, then received one at a time in order */
	int sv[2], sp[4][2], got;
	char why[FDPASS_WHY_MAX];

	dgram_pair(sv);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp[i]), 0);
		ck_assert_int_eq(fdpass_send(sv[0], sp[i][0], MSG_DONTWAIT), 0);
	}
	for (int i = 0; i < 4; i++) {
		char buf[2];

		ck_assert_int_eq(fdpass_recv_from(sv[1], &got, 0, NULL, why), 1);
		ck_assert_int_eq(write(got, "q", 1), 1);
		ck_assert_int_eq(read(sp[i][1], buf, sizeof(buf)), 1);
		close(got);
		close(sp[i][0]);
		close(sp[i][1]);
	}
	ck_assert_int_eq(fdpass_recv_from(sv[1], &got, 0, NULL, why), -1);
	ck_assert_int_eq(errno, EAGAIN);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* The registration protocol's message on a SEQPACKET connection: {3, 0, 0, 0} and one
 * descriptor; the datagram payload is refused there, and the end of the connection is
 * ECONNRESET, not a dropped message. */
START_TEST(test_registered_message)
{
	int sv[2], sp[2], got = -1, before;
	unsigned groups[] = {1};
	char why[FDPASS_WHY_MAX] = "unset";

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	before = open_fds();
	send_raw(sv[0], "\3\0\0\0", 4, &sp[0], groups, 1);
	ck_assert_int_eq(fdpass_recv_from(sv[1], &got, FDPASS_REGISTERED, NULL, why), 1);
	ck_assert_str_eq(why, "");
	ck_assert_int_eq(open_fds(), before + 1);
	close(got);
	send_raw(sv[0], "", 1, &sp[0], groups, 1);
	EXPECT_DROPPED(sv[1], FDPASS_REGISTERED, "payload is not {3, 0, 0, 0}", before);
	send_raw(sv[0], "\3\0\0\0\0", 5, &sp[0], groups, 1);
	EXPECT_DROPPED(sv[1], FDPASS_REGISTERED, "payload is not {3, 0, 0, 0}", before);
	send_raw(sv[0], "\3\0\0\0", 4, &sp[0], groups, 1);
	EXPECT_DROPPED(sv[1], 0, "payload is not one NUL byte", before);
	/* With the addresses of a PROXY header: {3, 0, 0} and the datagram's 41 bytes. */
	{
		struct fdpass_addrs sent = {.set = true, .local_port = 80, .remote_port = 4242};
		struct fdpass_addrs addrs;

		ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::7", &sent.remote), 1);
		ck_assert_int_eq(fdpass_send_registered(sv[0], sp[0], 0, &sent), 0);
		ck_assert_int_eq(fdpass_recv_addrs(sv[1], &got, FDPASS_REGISTERED, NULL, &addrs, why),
				 1);
		ck_assert(addrs.set);
		ck_assert_mem_eq(&addrs.remote, &sent.remote, 16);
		ck_assert_uint_eq(addrs.remote_port, 4242);
		ck_assert_uint_eq(addrs.local_port, 80);
		close(got);
		ck_assert_int_eq(fdpass_send_registered(sv[0], sp[0], 0, NULL), 0);
		ck_assert_int_eq(fdpass_recv_addrs(sv[1], &got, FDPASS_REGISTERED, NULL, &addrs, why),
				 1);
		ck_assert(!addrs.set);
		close(got);
	}
	errno = 0;
	ck_assert_int_eq(fdpass_recv_from(sv[1], &got, FDPASS_REGISTERED, NULL, why), -1);
	ck_assert_int_eq(errno, EAGAIN);
	close(sv[0]);
	ck_assert_int_eq(fdpass_recv_from(sv[1], &got, FDPASS_REGISTERED, NULL, why), -1);
	ck_assert_int_eq(errno, ECONNRESET);
	close(sv[1]);
	close(sp[0]);
	close(sp[1]);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("fdpass");
	TCase *good = tcase_create("good");
	TCase *bad = tcase_create("dropped");

	/* _i = 0: AF_INET, 1: AF_INET6 */
	tcase_add_loop_test(good, test_tcp_socket_received, 0, 2);
	tcase_add_test(good, test_addresses_extension);
	tcase_add_test(good, test_send_batch);
	tcase_add_test(good, test_unix_stream_received);
	tcase_add_test(good, test_nothing_queued_is_eagain);
	tcase_add_test(good, test_senders_checked);
	tcase_add_test(good, test_senders_add);
	tcase_add_test(good, test_any_fd_accepts_a_pipe);
	tcase_add_test(good, test_check_socket);
	tcase_add_test(good, test_send_errors);
	tcase_add_test(good, test_fill_and_drain_in_order);
	tcase_add_test(good, test_registered_message);
	suite_add_tcase(s, good);

	tcase_add_test(bad, test_no_fd);
	tcase_add_test(bad, test_two_fds_in_one_cmsg);
	tcase_add_test(bad, test_two_scm_rights_cmsgs);
	tcase_add_test(bad, test_ctrunc);
	tcase_add_test(bad, test_bad_payload);
	tcase_add_test(bad, test_pipe_rejected_and_closed);
	tcase_add_test(bad, test_udp_socket_rejected);
	tcase_add_test(bad, test_listening_tcp_socket_rejected);
	tcase_add_test(bad, test_unconnected_tcp_socket_rejected);
	tcase_add_test(bad, test_other_sockets_rejected);
	suite_add_tcase(s, bad);
	return s;
}
