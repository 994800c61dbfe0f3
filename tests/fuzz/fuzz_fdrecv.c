/* fuzz_fdrecv.c - the applets' receive path: fdpass_recv_from.
 *
 * The input decides one datagram: its payload, its control messages (SCM_RIGHTS with 0 to
 * 255 descriptors of various kinds, in one or two messages; possibly an SCM_CREDENTIALS
 * with a made-up uid, which root may send), and the receiving socket's options
 * (SO_PASSCRED, SO_TIMESTAMP); then fdpass_recv_from with a random sender list, or
 * fdpass_recv_from without senders, with or without FDPASS_ANY_FD / FDPASS_WAIT.
 *
 * The descriptors sent come from a pool opened once (sending does not consume them):
 * pipe ends, connected AF_UNIX stream, seqpacket and datagram ends, an unconnected AF_UNIX
 * stream socket, UDP, connected and listening TCP over loopback (IPv4 and IPv6), an
 * eventfd, /dev/null and the receiving socket itself.
 *
 * Invariants: the number of open descriptors after the call (and after closing a returned
 * descriptor) equals the number before; exactly the one datagram is consumed; the result
 * is 1 exactly when the datagram is well formed (payload one NUL byte, one descriptor,
 * the sender allowed, the descriptor acceptable unless FDPASS_ANY_FD), 0 with a reason
 * otherwise, and -1/EAGAIN when the send failed; a returned descriptor is close-on-exec,
 * refers to the file that was sent, and passes fdpass_check_socket (without
 * FDPASS_ANY_FD). */
#include "fdpass.h"

#include "fuzz_util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SEND_FDS 255 /* past the kernel's 253: sendmsg then fails */

enum kind {
	K_PIPE_R,
	K_PIPE_W,
	K_UNIX_STREAM,
	K_UNIX_STREAM_PEER,
	K_UNIX_SEQPACKET,
	K_UNIX_DGRAM,
	K_UNIX_UNCONNECTED,
	K_UDP,
	K_TCP4_CLIENT,
	K_TCP4_SERVER,
	K_TCP4_LISTEN,
	K_TCP6_CLIENT,
	K_TCP6_SERVER,
	K_EVENTFD,
	K_DEVNULL,
	K_RECEIVER, /* the socket the datagram arrives on */
	K_SENDER,
	NKINDS
};

static int pool[NKINDS];
static bool acceptable[NKINDS]; /* a connected stream socket of AF_INET6, AF_INET, AF_UNIX */
static int tx = -1, rx = -1;
static bool verbose; /* FUZZ_VERBOSE=1: one line per input */

static int tcp_pair(int family, int *client, int *server, int *listener)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int l = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), c = -1, s = -1;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof(*sin6);
	}
	if (l < 0 || bind(l, (struct sockaddr *)&ss, len) < 0 || listen(l, 4) < 0 ||
	    getsockname(l, (struct sockaddr *)&ss, &len) < 0)
		goto bad;
	c = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&ss, len) < 0)
		goto bad;
	s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0)
		goto bad;
	*client = c;
	*server = s;
	if (listener)
		*listener = l;
	else
		close(l);
	return 0;
bad:
	if (l >= 0)
		close(l);
	if (c >= 0)
		close(c);
	return -1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int p[2], sp[2];

	(void)argc;
	(void)argv;
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	for (int i = 0; i < NKINDS; i++)
		pool[i] = -1;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp) < 0 ||
	    fcntl(sp[0], F_SETFL, O_NONBLOCK) < 0 || fcntl(sp[1], F_SETFL, O_NONBLOCK) < 0) {
		perror("socketpair");
		exit(1);
	}
	tx = sp[0];
	rx = sp[1];
	if (pipe2(p, O_CLOEXEC) == 0) {
		pool[K_PIPE_R] = p[0];
		pool[K_PIPE_W] = p[1];
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0) {
		pool[K_UNIX_STREAM] = sp[0];
		pool[K_UNIX_STREAM_PEER] = sp[1];
		acceptable[K_UNIX_STREAM] = acceptable[K_UNIX_STREAM_PEER] = true;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == 0) {
		pool[K_UNIX_SEQPACKET] = sp[0];
		close(sp[1]);
	}
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp) == 0) {
		pool[K_UNIX_DGRAM] = sp[0];
		close(sp[1]);
	}
	pool[K_UNIX_UNCONNECTED] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pool[K_UDP] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (tcp_pair(AF_INET, &pool[K_TCP4_CLIENT], &pool[K_TCP4_SERVER], &pool[K_TCP4_LISTEN]) ==
	    0)
		acceptable[K_TCP4_CLIENT] = acceptable[K_TCP4_SERVER] = true;
	if (tcp_pair(AF_INET6, &pool[K_TCP6_CLIENT], &pool[K_TCP6_SERVER], NULL) == 0)
		acceptable[K_TCP6_CLIENT] = acceptable[K_TCP6_SERVER] = true;
	pool[K_EVENTFD] = eventfd(0, EFD_CLOEXEC);
	pool[K_DEVNULL] = open("/dev/null", O_RDWR | O_CLOEXEC);
	pool[K_RECEIVER] = rx;
	pool[K_SENDER] = tx;
	/* Whatever could not be made (no loopback, say) is a pipe end instead. */
	for (int i = 0; i < NKINDS; i++) {
		if (pool[i] < 0) {
			pool[i] = pool[K_PIPE_R];
			acceptable[i] = false;
		}
		if (pool[i] < 0) {
			fprintf(stderr, "fuzz_fdrecv: cannot make descriptor kind %d\n", i);
			exit(1);
		}
	}
	for (int i = 0; i < NKINDS; i++) /* the classification this target relies on */
		if ((fdpass_check_socket(pool[i]) == NULL) != acceptable[i]) {
			fprintf(stderr, "fuzz_fdrecv: kind %d classified unexpectedly\n", i);
			exit(1);
		}
	return 0;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL) {
		perror("/proc/self/fd");
		abort();
	}
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

static bool same_file(int a, int b)
{
	struct stat x, y;

	return fstat(a, &x) == 0 && fstat(b, &y) == 0 && x.st_dev == y.st_dev &&
	       x.st_ino == y.st_ino;
}

/* Takes anything still queued on rx (there must be nothing) and closes its fds. */
static bool drain(void)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 253) + 256];
		struct cmsghdr align;
	} control;
	char payload[256];
	bool any = false;

	for (;;) {
		struct iovec iov = {payload, sizeof(payload)};
		struct msghdr msg = {.msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = control.buf,
				     .msg_controllen = sizeof(control.buf)};
		struct cmsghdr *c;

		if (recvmsg(rx, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0)
			return any;
		any = true;
		for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
				for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				     i++) {
					int fd;

					memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
					close(fd);
				}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static union {
		char buf[2 * CMSG_SPACE(sizeof(int) * MAX_SEND_FDS) + CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} control;
	static const uid_t uid_pool[] = {0, 1, 33, 65534, 1000, 0x7fffffff};
	struct fz f = {data, size};
	uint8_t flags = fz_u8(&f), more = fz_u8(&f);
	bool passcred = flags & 0x01, send_cred = flags & 0x02, any_fd = flags & 0x04,
	     use_senders = flags & 0x08, timestamp = flags & 0x10, wait = flags & 0x20,
	     split = flags & 0x40, plain_recv = flags & 0x80;
	unsigned nfds = fz_u8(&f) % (MAX_SEND_FDS + 1);
	uint8_t kinds[MAX_SEND_FDS];
	int fds[MAX_SEND_FDS];
	struct ucred cred;
	struct fdpass_senders senders;
	uint8_t payload[64];
	size_t plen;
	struct iovec iov;
	struct msghdr msg;
	struct cmsghdr *c;
	size_t clen = 0;
	bool sent, sender_ok, want_accept;
	int before, after, rc, fd = -12345, one = 1, zero = 0;
	char why[FDPASS_WHY_MAX] = "";
	uid_t seen_uid;

	/* Mostly few descriptors: 0, 1, 2 are the interesting counts. */
	if (!(more & 0x80))
		nfds %= 4;
	for (unsigned i = 0; i < nfds; i++) {
		kinds[i] = fz_u8(&f) % NKINDS;
		fds[i] = pool[kinds[i]];
	}
	memset(&cred, 0, sizeof(cred));
	cred.pid = (more & 0x01) ? (pid_t)fz_u32(&f) : getpid(); /* a made-up pid: ESRCH */
	cred.uid = (more & 0x02) ? fz_u32(&f) : uid_pool[fz_u8(&f) % 6];
	cred.gid = (more & 0x04) ? fz_u32(&f) : getgid();
	memset(&senders, 0, sizeof(senders));
	senders.n = fz_u8(&f) % (FDPASS_MAX_SENDERS + 1);
	for (unsigned i = 0; i < senders.n; i++)
		senders.uids[i] = uid_pool[fz_u8(&f) % 6];
	plen = fz_u8(&f);
	if (plen >= 64) /* often a right size: one byte, or the addresses extension */
		plen = plen >= 224 ? FDPASS_ADDRS_LEN : plen >= 192 ? 1 : 0;
	fz_bytes(&f, payload, plen);
	if (plen >= 1 && (more & 0x08))
		payload[0] = '\0';
	if (plen == FDPASS_ADDRS_LEN && (more & 0x10))
		memcpy(payload + 1, FDPASS_ADDRS_MAGIC, 4);

	if (setsockopt(rx, SOL_SOCKET, SO_PASSCRED, passcred ? &one : &zero, sizeof(int)) < 0 ||
	    setsockopt(rx, SOL_SOCKET, SO_TIMESTAMP, timestamp ? &one : &zero, sizeof(int)) < 0)
		FZ_FAIL("setsockopt: %s", strerror(errno));

	/* The datagram. */
	memset(&control, 0, sizeof(control));
	iov.iov_base = payload;
	iov.iov_len = plen;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control.buf;
	msg.msg_controllen = sizeof(control.buf);
	c = CMSG_FIRSTHDR(&msg);
	if (send_cred) {
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(cred));
		memcpy(CMSG_DATA(c), &cred, sizeof(cred));
		clen += CMSG_SPACE(sizeof(cred));
		c = (struct cmsghdr *)(control.buf + clen);
	}
	if (nfds > 0) {
		unsigned first = split ? nfds / 2 : nfds;

		if (first > 0) {
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * first);
			memcpy(CMSG_DATA(c), fds, sizeof(int) * first);
			clen += CMSG_SPACE(sizeof(int) * first);
			c = (struct cmsghdr *)(control.buf + clen);
		}
		if (nfds - first > 0) {
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * (nfds - first));
			memcpy(CMSG_DATA(c), fds + first, sizeof(int) * (nfds - first));
			clen += CMSG_SPACE(sizeof(int) * (nfds - first));
		}
	}
	msg.msg_controllen = clen;
	if (clen == 0)
		msg.msg_control = NULL;

	before = count_fds();
	sent = sendmsg(tx, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0;

	seen_uid = send_cred ? cred.uid : getuid();
	sender_ok = plain_recv || !use_senders || senders.n == 0;
	for (unsigned i = 0; !sender_ok && passcred && i < senders.n; i++)
		sender_ok = senders.uids[i] == seen_uid;
	want_accept = sent && sender_ok && nfds == 1 && plen >= 1 && payload[0] == '\0' &&
		      (plen == 1 || (plen == FDPASS_ADDRS_LEN &&
				     memcmp(payload + 1, FDPASS_ADDRS_MAGIC, 4) == 0)) &&
		      (any_fd || acceptable[kinds[0]]);

	errno = 0;
	if (plain_recv)
		rc = fdpass_recv_from(rx, &fd, (any_fd ? FDPASS_ANY_FD : 0) |
						  (wait && sent ? FDPASS_WAIT : 0), NULL, why);
	else
		rc = fdpass_recv_from(rx, &fd,
				      (any_fd ? FDPASS_ANY_FD : 0) | (wait && sent ? FDPASS_WAIT : 0),
				      use_senders ? &senders : NULL, why);

	if (verbose)
		fprintf(stderr, "fuzz_fdrecv: %u fds, sent %d, passcred %d, rc %d, why %s\n", nfds,
			sent, passcred, rc, why[0] ? why : "-");
	if (!sent) {
		if (rc != -1 || errno != EAGAIN)
			FZ_FAIL("nothing was sent, yet fdpass_recv_from returned %d (errno %d)", rc,
				errno);
	} else if (rc == 1) {
		int fl = fcntl(fd, F_GETFD);

		if (!want_accept)
			FZ_FAIL("fdpass_recv_from accepted a datagram it should refuse");
		FZ_CHECK(why[0] == '\0');
		FZ_CHECK(fd >= 0 && fl >= 0 && (fl & FD_CLOEXEC));
		FZ_CHECK(same_file(fd, fds[0]));
		if (!any_fd && fdpass_check_socket(fd) != NULL)
			FZ_FAIL("returned fd fails fdpass_check_socket: %s",
				fdpass_check_socket(fd));
		if (count_fds() != before + 1)
			FZ_FAIL("accepted: %d fds open, expected %d + 1", count_fds(), before);
		close(fd);
	} else if (rc == 0) {
		if (want_accept)
			FZ_FAIL("fdpass_recv_from refused a good datagram: %s", why[0] ? why : "(no reason)");
		FZ_CHECK(why[0] != '\0');
	} else {
		FZ_FAIL("fdpass_recv returned %d (errno %d) for a datagram that was sent", rc,
			errno);
	}
	if (drain())
		FZ_FAIL("fdpass_recv left a datagram in the queue");
	after = count_fds();
	if (after != before)
		FZ_FAIL("%d fds open before, %d after (sent %u, rc %d, why %s)", before, after,
			nfds, rc, why[0] ? why : "-");
	return 0;
}
