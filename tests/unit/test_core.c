/* test_core.c - the shared core: num.c, ports.c, addr.c, unixsock.c, ratelimit.c, ucspi.c.
 * The "regressions" case pins bugs these tests once found. */
#include "addr.h"
#include "applet_register.h"
#include "connect_map.h"
#include "fdclose.h"
#include "helpers.h"
#include "num.h"
#include "preload_env.h"
#include "ports.h"
#include "ratelimit.h"
#include "ucspi.h"
#include "unixsock.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- num.c ---- */

#define NUM_OK(s, min, max, want)                                                                  \
	do {                                                                                       \
		long long v_ = 12345;                                                              \
		const char *e_ = "unset";                                                          \
		ck_assert_msg(num_parse(s, min, max, &v_, &e_) == 0, "num_parse(\"%s\"): %s", s,   \
			      e_);                                                                 \
		ck_assert_msg(v_ == (want), "num_parse(\"%s\") = %lld", s, v_);                    \
	} while (0)

#define NUM_BAD(s, min, max, why)                                                                  \
	do {                                                                                       \
		long long v_ = 12345;                                                              \
		const char *e_ = NULL;                                                             \
		ck_assert_msg(num_parse(s, min, max, &v_, &e_) == -1, "num_parse(\"%s\") passed",  \
			      s);                                                                  \
		ck_assert_ptr_nonnull(e_);                                                         \
		ck_assert_str_eq(e_, why);                                                         \
		ck_assert_int_eq(v_, 12345);                                                       \
	} while (0)

START_TEST(test_num_parse)
{
	NUM_OK("42", 0, 100, 42);
	NUM_OK("0", 0, 0, 0);
	NUM_OK("100", 0, 100, 100);
	NUM_OK("-5", -10, 10, -5);
	NUM_OK("-0", 0, 10, 0);
	NUM_OK("010", 0, 100, 10); /* decimal, never octal */
	NUM_OK("9223372036854775807", LLONG_MIN, LLONG_MAX, LLONG_MAX);
	NUM_OK("-9223372036854775808", LLONG_MIN, LLONG_MAX, LLONG_MIN);

	NUM_BAD("", 0, 100, "invalid");
	{
		long long v = 12345;
		const char *e = NULL;

		ck_assert_int_eq(num_parse(NULL, 0, 100, &v, &e), -1);
		ck_assert_str_eq(e, "invalid");
		ck_assert_int_eq(v, 12345);
	}
	NUM_BAD("-", -10, 100, "invalid");
	NUM_BAD("12x", 0, 100, "invalid");
	NUM_BAD("x12", 0, 100, "invalid");
	NUM_BAD(" 12", 0, 100, "invalid");
	NUM_BAD("12 ", 0, 100, "invalid");
	NUM_BAD("+12", 0, 100, "invalid");
	NUM_BAD("--1", -10, 100, "invalid");
	NUM_BAD("-+1", -10, 100, "invalid");
	NUM_BAD("- 1", -10, 100, "invalid");
	NUM_BAD("0x10", 0, 100, "invalid");
	NUM_BAD("1.5", 0, 100, "invalid");

	NUM_BAD("9", 10, 20, "too small");
	NUM_BAD("-1", 0, 20, "too small");
	NUM_BAD("21", 10, 20, "too large");
	NUM_BAD("65536", 0, 65535, "too large");
	/* past long long: the direction still decides the message */
	NUM_BAD("9223372036854775808", LLONG_MIN, LLONG_MAX, "too large");
	NUM_BAD("99999999999999999999999", 0, 10, "too large");
	NUM_BAD("-9223372036854775809", LLONG_MIN, LLONG_MAX, "too small");
	NUM_BAD("-99999999999999999999999", 0, 10, "too small");
}
END_TEST

START_TEST(test_num_parse_mode)
{
	unsigned m;

	m = 1;
	ck_assert_int_eq(num_parse_mode("0660", &m), 0);
	ck_assert_uint_eq(m, 0660);
	ck_assert_int_eq(num_parse_mode("660", &m), 0);
	ck_assert_uint_eq(m, 0660);
	ck_assert_int_eq(num_parse_mode("0", &m), 0);
	ck_assert_uint_eq(m, 0);
	ck_assert_int_eq(num_parse_mode("07777", &m), 0);
	ck_assert_uint_eq(m, 07777);
	ck_assert_int_eq(num_parse_mode("4755", &m), 0);
	ck_assert_uint_eq(m, 04755);

	m = 99;
	ck_assert_int_eq(num_parse_mode("10000", &m), -1);
	ck_assert_int_eq(num_parse_mode("0668", &m), -1);
	ck_assert_int_eq(num_parse_mode("8", &m), -1);
	ck_assert_int_eq(num_parse_mode("", &m), -1);
	ck_assert_int_eq(num_parse_mode(NULL, &m), -1);
	ck_assert_int_eq(num_parse_mode("-1", &m), -1);
	ck_assert_int_eq(num_parse_mode("+1", &m), -1);
	ck_assert_int_eq(num_parse_mode(" 0660", &m), -1);
	ck_assert_int_eq(num_parse_mode("0660 ", &m), -1);
	ck_assert_int_eq(num_parse_mode("0x1ff", &m), -1);
	ck_assert_int_eq(num_parse_mode("rw", &m), -1);
	ck_assert_int_eq(num_parse_mode("7777777777777777777777777", &m), -1);
	ck_assert_uint_eq(m, 99);
}
END_TEST

/* ---- ports.c ---- */

START_TEST(test_ports)
{
	struct port_range r = {1, 1}, list[4];

	ck_assert_int_eq(ports_parse_range("80", &r), 0);
	ck_assert_uint_eq(r.lo, 80);
	ck_assert_uint_eq(r.hi, 80);
	ck_assert_int_eq(ports_parse_range("1000-2000", &r), 0);
	ck_assert_uint_eq(r.lo, 1000);
	ck_assert_uint_eq(r.hi, 2000);
	ck_assert_int_eq(ports_parse_range("0-65535", &r), 0);
	ck_assert_uint_eq(r.lo, 0);
	ck_assert_uint_eq(r.hi, 65535);
	ck_assert_int_eq(ports_parse_range("7-7", &r), 0);
	ck_assert_uint_eq(r.lo, 7);
	ck_assert_uint_eq(r.hi, 7);
	ck_assert_int_eq(ports_parse_range("2000-1000", &r), -1);
	ck_assert_int_eq(ports_parse_range("65536", &r), -1);
	ck_assert_int_eq(ports_parse_range("1-65536", &r), -1);
	ck_assert_int_eq(ports_parse_range("-1", &r), -1);
	ck_assert_int_eq(ports_parse_range("1--1", &r), -1);
	ck_assert_int_eq(ports_parse_range("1-", &r), -1);
	ck_assert_int_eq(ports_parse_range("-", &r), -1);
	ck_assert_int_eq(ports_parse_range("", &r), -1);
	ck_assert_int_eq(ports_parse_range("x", &r), -1);
	ck_assert_int_eq(ports_parse_range(" 1", &r), -1);
	ck_assert_int_eq(ports_parse_range("1- 2", &r), -1);
	ck_assert_int_eq(ports_parse_range("1-+2", &r), -1);
	ck_assert_int_eq(ports_parse_range("1-2-3", &r), -1);
	ck_assert_int_eq(ports_parse_range("00000080", &r), -1); /* longer than any port */

	ck_assert_int_eq(ports_parse_list("80,443,8000-8099", list, 4), 3);
	ck_assert_uint_eq(list[0].lo, 80);
	ck_assert_uint_eq(list[1].hi, 443);
	ck_assert_uint_eq(list[2].lo, 8000);
	ck_assert_uint_eq(list[2].hi, 8099);
	ck_assert_int_eq(ports_parse_list("*", list, 4), 1);
	ck_assert_uint_eq(list[0].lo, 0);
	ck_assert_uint_eq(list[0].hi, 65535);
	ck_assert_int_eq(ports_parse_list("22", list, 1), 1);
	ck_assert_int_eq(ports_parse_list("1,2,3,4,5", list, 4), -1);
	ck_assert_int_eq(ports_parse_list("80,,443", list, 4), -1);
	ck_assert_int_eq(ports_parse_list("80,", list, 4), -1);
	ck_assert_int_eq(ports_parse_list(",80", list, 4), -1);
	ck_assert_int_eq(ports_parse_list("", list, 4), -1);
	ck_assert_int_eq(ports_parse_list("*,80", list, 4), -1);

	ck_assert_int_eq(ports_parse_list("80,443,8000-8099", list, 4), 3);
	ck_assert(ports_contain(list, 3, 80));
	ck_assert(ports_contain(list, 3, 8050));
	ck_assert(ports_contain(list, 3, 8099));
	ck_assert(!ports_contain(list, 3, 8100));
	ck_assert(!ports_contain(list, 3, 81));
	ck_assert(ports_contain(list, 0, 12345)); /* no ranges: any port */
}
END_TEST

/* ---- addr.c ---- */

static void expect_prefix(const char *s, const char *want_addr, unsigned want_plen)
{
	struct in6_addr a, want;
	unsigned plen = 999;
	char buf[INET6_ADDRSTRLEN];

	ck_assert_msg(addr_parse_prefix(s, &a, &plen) == 0, "addr_parse_prefix(\"%s\") failed", s);
	ck_assert_int_eq(inet_pton(AF_INET6, want_addr, &want), 1);
	ck_assert_msg(memcmp(&a, &want, sizeof(a)) == 0, "\"%s\" gave %s, want %s", s,
		      inet_ntop(AF_INET6, &a, buf, sizeof(buf)), want_addr);
	ck_assert_msg(plen == want_plen, "\"%s\": length %u, want %u", s, plen, want_plen);
}

static void expect_not_prefix(const char *s)
{
	struct in6_addr a;
	unsigned plen = 999;

	ck_assert_msg(addr_parse_prefix(s, &a, &plen) == -1, "\"%s\" was accepted", s);
	ck_assert_uint_eq(plen, 999);
}

START_TEST(test_addr_parse_prefix)
{
	char longer[128];

	expect_prefix("2001:db8::1", "2001:db8::1", 128);
	expect_prefix("2001:db8::1/128", "2001:db8::1", 128);
	expect_prefix("2001:db8:1:2:3:4:5:6/64", "2001:db8:1:2::", 64);
	expect_prefix("2001:db8:abcd:ffff::/48", "2001:db8:abcd::", 48);
	expect_prefix("2001:db8:ffff:ffff::/33", "2001:db8:8000::", 33);
	expect_prefix("2001:db8::ff/127", "2001:db8::fe", 127);
	expect_prefix("ffff::/1", "8000::", 1);
	expect_prefix("2001:db8::1/0", "::", 0);
	expect_prefix("::/0", "::", 0);
	expect_prefix("::ffff:192.0.2.0/120", "::ffff:192.0.2.0", 120);
	expect_prefix("::ffff:192.0.2.9/120", "::ffff:192.0.2.0", 120);
	/* IPv4: mapped, the length plus 96 */
	expect_prefix("192.0.2.1", "::ffff:192.0.2.1", 128);
	expect_prefix("192.0.2.77/24", "::ffff:192.0.2.0", 120);
	expect_prefix("192.0.2.77/32", "::ffff:192.0.2.77", 128);
	expect_prefix("10.200.3.4/8", "::ffff:10.0.0.0", 104);
	expect_prefix("192.0.2.255/25", "::ffff:192.0.2.128", 121);
	/* IPv4 /0 is all of IPv4 (::ffff:0:0/96), not all addresses */
	expect_prefix("1.2.3.4/0", "::ffff:0.0.0.0", 96);

	expect_not_prefix("2001:db8::/129");
	expect_not_prefix("192.0.2.0/33");
	expect_not_prefix("2001:db8::zz");
	expect_not_prefix("2001:db8::1/");
	expect_not_prefix("2001:db8::1/-1");
	expect_not_prefix("2001:db8::1/64x");
	expect_not_prefix("2001:db8::1/ 64");
	expect_not_prefix("2001:db8::1/+64");
	expect_not_prefix("2001:db8::1/64/1");
	expect_not_prefix("/64");
	expect_not_prefix("");
	expect_not_prefix("garbage");
	expect_not_prefix("1.2.3");
	expect_not_prefix("1.2.3.4.5");
	expect_not_prefix("256.0.0.1");
	expect_not_prefix(" ::1");
	expect_not_prefix("::1 ");
	expect_not_prefix("[::1]");
	expect_not_prefix("fe80::1%lo");
	/* longer than any address, with or without a length */
	memset(longer, '1', sizeof(longer));
	longer[100] = '\0';
	expect_not_prefix(longer);
	longer[60] = '/';
	expect_not_prefix(longer);
}
END_TEST

START_TEST(test_addr_parse_and_mask)
{
	struct in6_addr a, want;
	char buf[INET6_ADDRSTRLEN];

	ck_assert_int_eq(addr_parse("2001:db8::1", &a), 0);
	ck_assert_str_eq(addr_ntop(&a, buf, sizeof(buf)), "2001:db8::1");
	ck_assert_int_eq(addr_parse("192.0.2.1", &a), 0);
	ck_assert_str_eq(addr_ntop(&a, buf, sizeof(buf)), "::ffff:192.0.2.1");
	ck_assert_int_eq(addr_parse("2001:db8::/64", &a), -1);
	ck_assert_int_eq(addr_parse("", &a), -1);
	/* too small a buffer */
	ck_assert_str_eq(addr_ntop(&a, buf, 4), "?");

	ck_assert_int_eq(inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &a), 1);
	addr_mask(&a, 128);
	ck_assert_str_eq(addr_ntop(&a, buf, sizeof(buf)),
			 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	addr_mask(&a, 65);
	ck_assert_int_eq(inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:8000::", &want), 1);
	ck_assert_mem_eq(&a, &want, sizeof(a));
	addr_mask(&a, 12);
	ck_assert_str_eq(addr_ntop(&a, buf, sizeof(buf)), "fff0::");
	addr_mask(&a, 0);
	ck_assert_str_eq(addr_ntop(&a, buf, sizeof(buf)), "::");
}
END_TEST

START_TEST(test_addr_from_sockaddr)
{
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
	struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(80)};
	struct sockaddr_un su = {.sun_family = AF_UNIX};
	struct in6_addr a;
	uint16_t port = 0;
	char buf[INET6_ADDRSTRLEN];

	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::1", &s6.sin6_addr), 1);
	ck_assert_int_eq(addr_from_sockaddr((struct sockaddr *)&s6, &a, &port), 0);
	ck_assert_str_eq(addr_ntop(&a, buf, sizeof(buf)), "2001:db8::1");
	ck_assert_uint_eq(port, 443);
	ck_assert_int_eq(inet_pton(AF_INET, "192.0.2.1", &s4.sin_addr), 1);
	ck_assert_int_eq(addr_from_sockaddr((struct sockaddr *)&s4, &a, &port), 0);
	ck_assert_str_eq(addr_ntop(&a, buf, sizeof(buf)), "::ffff:192.0.2.1");
	ck_assert_uint_eq(port, 80);
	port = 7;
	ck_assert_int_eq(addr_from_sockaddr((struct sockaddr *)&su, &a, &port), -1);
	ck_assert_uint_eq(port, 7);
}
END_TEST

START_TEST(test_addr_format)
{
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
	struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(80)};
	struct sockaddr_un su = {.sun_family = AF_UNIX};
	struct sockaddr_storage other;
	char buf[ADDR_STRLEN], small[8];

	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::1", &s6.sin6_addr), 1);
	ck_assert_str_eq(addr_format((struct sockaddr *)&s6, sizeof(s6), buf, sizeof(buf)),
			 "[2001:db8::1]:443");
	ck_assert_int_eq(
	    inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &s6.sin6_addr), 1);
	s6.sin6_port = htons(65535);
	/* the longest there is fits in ADDR_STRLEN */
	ck_assert_str_eq(addr_format((struct sockaddr *)&s6, sizeof(s6), buf, sizeof(buf)),
			 "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	/* truncated, but terminated */
	ck_assert_str_eq(addr_format((struct sockaddr *)&s6, sizeof(s6), small, sizeof(small)),
			 "[ffff:f");

	ck_assert_int_eq(inet_pton(AF_INET, "192.0.2.1", &s4.sin_addr), 1);
	ck_assert_str_eq(addr_format((struct sockaddr *)&s4, sizeof(s4), buf, sizeof(buf)),
			 "192.0.2.1:80");

	strcpy(su.sun_path, "/run/socketbox/web.sock");
	ck_assert_str_eq(addr_format((struct sockaddr *)&su,
				     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 24), buf,
				     sizeof(buf)),
			 "unix:/run/socketbox/web.sock");
	/* a length without the NUL */
	ck_assert_str_eq(addr_format((struct sockaddr *)&su,
				     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 23), buf,
				     sizeof(buf)),
			 "unix:/run/socketbox/web.sock");
	/* abstract: the name is the bytes after the NUL, as many as the length says */
	memcpy(su.sun_path, "\0sb-name", 8);
	ck_assert_str_eq(addr_format((struct sockaddr *)&su,
				     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 8), buf,
				     sizeof(buf)),
			 "unix:@sb-name");
	ck_assert_str_eq(addr_format((struct sockaddr *)&su, sizeof(sa_family_t), buf, sizeof(buf)),
			 "unix:(unnamed)");

	memset(&other, 0, sizeof(other));
	other.ss_family = AF_PACKET;
	ck_assert_str_eq(addr_format((struct sockaddr *)&other, sizeof(other), buf, sizeof(buf)),
			 "?");
}
END_TEST

/* ---- unixsock.c ---- */

START_TEST(test_unixsock_addr)
{
	struct sockaddr_un sun;
	socklen_t len = 0;
	char path[200];
	const size_t base = offsetof(struct sockaddr_un, sun_path);

	ck_assert_int_eq(unixsock_addr("/run/x.sock", &sun, &len), 0);
	ck_assert_int_eq(sun.sun_family, AF_UNIX);
	ck_assert_str_eq(sun.sun_path, "/run/x.sock");
	ck_assert_uint_eq(len, base + 12);

	ck_assert_int_eq(unixsock_addr("@name", &sun, &len), 0);
	ck_assert_int_eq(sun.sun_path[0], '\0');
	ck_assert_int_eq(memcmp(sun.sun_path + 1, "name", 4), 0);
	/* no terminator: the length covers the NUL and the four bytes of the name */
	ck_assert_uint_eq(len, base + 5);

	/* 107 bytes and the NUL fill sun_path exactly */
	memset(path, 'p', sizeof(path));
	path[0] = '/';
	path[107] = '\0';
	ck_assert_int_eq(unixsock_addr(path, &sun, &len), 0);
	ck_assert_uint_eq(len, sizeof(struct sockaddr_un));
	path[107] = 'p';
	path[108] = '\0';
	errno = 0;
	ck_assert_int_eq(unixsock_addr(path, &sun, &len), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	path[150] = '\0';
	errno = 0;
	ck_assert_int_eq(unixsock_addr(path, &sun, &len), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);

	errno = 0;
	ck_assert_int_eq(unixsock_addr("", &sun, &len), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(unixsock_addr("@", &sun, &len), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

static char tmpdir[64];

static void tmpdir_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sb-test-core-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		abort();
	}
}

static void tmpdir_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

static void tmp_path(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", tmpdir, name);
}

static void send_and_receive(const char *path, int receiver)
{
	int c = unixsock_connect_dgram(path);
	char buf[8];

	ck_assert_msg(c >= 0, "connect %s: %s", path, strerror(errno));
	ck_assert_int_eq(send(c, "ping", 4, 0), 4);
	ck_assert_int_eq(recv(receiver, buf, sizeof(buf), 0), 4);
	ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
	close(c);
}

START_TEST(test_unixsock_bind_mode_and_flags)
{
	char path[128];
	struct stat st;
	mode_t old = umask(022);
	int fd;

	tmp_path(path, sizeof(path), "mode.sock");
	fd = unixsock_bind_dgram(path, 0660);
	ck_assert_msg(fd >= 0, "bind: %s", strerror(errno));
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	{
		int type = 0;
		socklen_t len = sizeof(type);

		ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len), 0);
		ck_assert_int_eq(type, SOCK_DGRAM);
	}
	send_and_receive(path, fd);
	close(fd);
	ck_assert_int_eq(unlink(path), 0);

	/* wider than the umask allows: the mode is set, not masked */
	fd = unixsock_bind_dgram(path, 0666);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0666);
	close(fd);
	ck_assert_int_eq(unlink(path), 0);

	fd = unixsock_bind_dgram(path, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	close(fd);
	/* the caller's umask is left as it was */
	ck_assert_uint_eq(umask(old), 022);
}
END_TEST

START_TEST(test_unixsock_stale_live_and_file)
{
	char path[128];
	struct stat st1, st2;
	int a, b, fd;

	/* stale: a socket file nobody receives on is replaced */
	tmp_path(path, sizeof(path), "stale.sock");
	a = unixsock_bind_dgram(path, 0600);
	ck_assert_int_ge(a, 0);
	close(a);
	ck_assert_int_eq(lstat(path, &st1), 0); /* the file outlives the socket */
	ck_assert(S_ISSOCK(st1.st_mode));
	b = unixsock_bind_dgram(path, 0640);
	ck_assert_msg(b >= 0, "rebind over a stale socket: %s", strerror(errno));
	/* (bind() itself fails with EADDRINUSE on an existing file: the old one was removed) */
	ck_assert_int_eq(lstat(path, &st2), 0);
	ck_assert(S_ISSOCK(st2.st_mode));
	ck_assert_uint_eq(st2.st_mode & 07777, 0640);
	send_and_receive(path, b);

	/* live: refused, and the live one keeps working */
	errno = 0;
	ck_assert_int_eq(unixsock_bind_dgram(path, 0600), -1);
	ck_assert_int_eq(errno, EADDRINUSE);
	send_and_receive(path, b);
	close(b);

	/* a regular file is never removed */
	tmp_path(path, sizeof(path), "regular");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "keep", 4), 4);
	close(fd);
	errno = 0;
	ck_assert_int_eq(unixsock_bind_dgram(path, 0600), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_int_eq(lstat(path, &st1), 0);
	ck_assert(S_ISREG(st1.st_mode));
	ck_assert_int_eq(st1.st_size, 4);

	/* nor a directory */
	tmp_path(path, sizeof(path), "dir");
	ck_assert_int_eq(mkdir(path, 0700), 0);
	errno = 0;
	ck_assert_int_eq(unixsock_bind_dgram(path, 0600), -1);
	ck_assert_int_eq(errno, EEXIST);

	/* nor a symlink to a socket */
	tmp_path(path, sizeof(path), "target.sock");
	a = unixsock_bind_dgram(path, 0600);
	ck_assert_int_ge(a, 0);
	close(a);
	{
		char link[128];

		tmp_path(link, sizeof(link), "link.sock");
		ck_assert_int_eq(symlink(path, link), 0);
		errno = 0;
		ck_assert_int_eq(unixsock_bind_dgram(link, 0600), -1);
		ck_assert_int_eq(errno, EEXIST);
		ck_assert_int_eq(lstat(link, &st1), 0);
		ck_assert(S_ISLNK(st1.st_mode));
	}

	/* too long, and in a directory that does not exist */
	{
		char longpath[200];

		memset(longpath, 'x', sizeof(longpath));
		longpath[0] = '/';
		longpath[150] = '\0';
		errno = 0;
		ck_assert_int_eq(unixsock_bind_dgram(longpath, 0600), -1);
		ck_assert_int_eq(errno, ENAMETOOLONG);
	}
	tmp_path(path, sizeof(path), "no/such/dir.sock");
	errno = 0;
	ck_assert_int_eq(unixsock_bind_dgram(path, 0600), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_unixsock_abstract)
{
	char name[64];
	int a, c;

	snprintf(name, sizeof(name), "@sb-test-core-%ld", (long)getpid());
	a = unixsock_bind_dgram(name, 0600);
	ck_assert_msg(a >= 0, "bind %s: %s", name, strerror(errno));
	send_and_receive(name, a);
	/* a second one of the same name is refused by bind */
	errno = 0;
	ck_assert_int_eq(unixsock_bind_dgram(name, 0600), -1);
	ck_assert_int_eq(errno, EADDRINUSE);
	close(a);
	errno = 0;
	ck_assert_int_eq(unixsock_connect_dgram(name), -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	/* and the name is free again */
	a = unixsock_bind_dgram(name, 0600);
	ck_assert_int_ge(a, 0);
	c = unixsock_connect_dgram(name);
	ck_assert_int_ge(c, 0);
	ck_assert_int_eq(fcntl(c, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	ck_assert_int_eq(fcntl(c, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(c);
	close(a);
}
END_TEST

START_TEST(test_unixsock_connect)
{
	char path[128];
	int a, c, sent = 0;

	tmp_path(path, sizeof(path), "nobody-here.sock");
	errno = 0;
	ck_assert_int_eq(unixsock_connect_dgram(path), -1);
	ck_assert_int_eq(errno, ENOENT);

	tmp_path(path, sizeof(path), "connect.sock");
	a = unixsock_bind_dgram(path, 0600);
	ck_assert_int_ge(a, 0);
	c = unixsock_connect_dgram(path);
	ck_assert_int_ge(c, 0);
	/* non-blocking: a full receive queue gives EAGAIN, never a wait */
	while (sent < 10000 && send(c, "", 1, 0) == 1)
		sent++;
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_gt(sent, 0);
	ck_assert_int_lt(sent, 10000);
	close(c);
	close(a);
	/* stale now */
	errno = 0;
	ck_assert_int_eq(unixsock_connect_dgram(path), -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	errno = 0;
	ck_assert_int_eq(unixsock_connect_dgram(""), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* ---- ucspi.c ---- */

static int tcp_listener(int family, const char *addr, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int l = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(l, 0);
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		int off = 0;

		ck_assert_int_eq(setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)), 0);
		s6->sin6_family = AF_INET6;
		ck_assert_int_eq(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
		len = sizeof(*s4);
	}
	ck_assert_int_eq(bind(l, (struct sockaddr *)&ss, len), 0);
	ck_assert_int_eq(listen(l, 4), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&ss, &len), 0);
	*port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					 : ((struct sockaddr_in *)&ss)->sin_port);
	return l;
}

/* Connects a client of family to addr:port and returns the accepted socket; *client_port
 * is the client's own port. */
static int tcp_accept_from(int l, int family, const char *addr, uint16_t port, int *client,
			   uint16_t *client_port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int s;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		ck_assert_int_eq(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		ck_assert_int_eq(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
		len = sizeof(*s4);
	}
	*client = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(*client, 0);
	ck_assert_int_eq(connect(*client, (struct sockaddr *)&ss, len), 0);
	len = sizeof(ss);
	ck_assert_int_eq(getsockname(*client, (struct sockaddr *)&ss, &len), 0);
	*client_port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						: ((struct sockaddr_in *)&ss)->sin_port);
	s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(s, 0);
	return s;
}

static void expect_var(const char *got, const char *name, unsigned value)
{
	char want[64];

	snprintf(want, sizeof(want), "%s=%u", name, value);
	ck_assert_str_eq(got, want);
}

START_TEST(test_ucspi_tcp6)
{
	struct ucspi_env env;
	uint16_t port, cport;
	int l = tcp_listener(AF_INET6, "::1", &port), c, s;

	s = tcp_accept_from(l, AF_INET6, "::1", port, &c, &cport);
	ck_assert_int_eq(ucspi_env_from_fd(s, &env), 0);
	ck_assert_str_eq(env.proto, "PROTO=TCP6");
	ck_assert_str_eq(env.localip, "TCPLOCALIP=::1");
	expect_var(env.localport, "TCPLOCALPORT", port);
	ck_assert_str_eq(env.remoteip, "TCPREMOTEIP=::1");
	expect_var(env.remoteport, "TCPREMOTEPORT", cport);
	/* the client's end: local and remote swap */
	ck_assert_int_eq(ucspi_env_from_fd(c, &env), 0);
	expect_var(env.localport, "TCPLOCALPORT", cport);
	expect_var(env.remoteport, "TCPREMOTEPORT", port);
	close(s);
	close(c);
	close(l);
}
END_TEST

START_TEST(test_ucspi_tcp4)
{
	struct ucspi_env env;
	uint16_t port, cport;
	int l = tcp_listener(AF_INET, "127.0.0.1", &port), c, s;

	s = tcp_accept_from(l, AF_INET, "127.0.0.1", port, &c, &cport);
	ck_assert_int_eq(ucspi_env_from_fd(s, &env), 0);
	ck_assert_str_eq(env.proto, "PROTO=TCP");
	ck_assert_str_eq(env.localip, "TCPLOCALIP=127.0.0.1");
	expect_var(env.localport, "TCPLOCALPORT", port);
	ck_assert_str_eq(env.remoteip, "TCPREMOTEIP=127.0.0.1");
	expect_var(env.remoteport, "TCPREMOTEPORT", cport);
	close(s);
	close(c);
	close(l);
}
END_TEST

START_TEST(test_ucspi_mapped)
{
	/* IPv4 into a dual-stack IPv6 listener: an AF_INET6 socket with mapped addresses */
	struct ucspi_env env;
	uint16_t port, cport;
	int l = tcp_listener(AF_INET6, "::", &port), c, s;

	s = tcp_accept_from(l, AF_INET, "127.0.0.1", port, &c, &cport);
	ck_assert_int_eq(ucspi_env_from_fd(s, &env), 0);
	ck_assert_str_eq(env.proto, "PROTO=TCP6");
	ck_assert_str_eq(env.localip, "TCPLOCALIP=::ffff:127.0.0.1");
	expect_var(env.localport, "TCPLOCALPORT", port);
	ck_assert_str_eq(env.remoteip, "TCPREMOTEIP=::ffff:127.0.0.1");
	expect_var(env.remoteport, "TCPREMOTEPORT", cport);
	close(s);
	close(c);
	close(l);
}
END_TEST

START_TEST(test_ucspi_unix_and_errors)
{
	struct ucspi_env env;
	int sp[2], u;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	ck_assert_int_eq(ucspi_env_from_fd(sp[0], &env), 0);
	ck_assert_str_eq(env.proto, "PROTO=IPC");
	ck_assert_str_eq(env.localip, "");
	ck_assert_str_eq(env.localport, "");
	ck_assert_str_eq(env.remoteip, "");
	ck_assert_str_eq(env.remoteport, "");
	close(sp[0]);
	close(sp[1]);

	u = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(u, 0);
	errno = 0;
	ck_assert_int_eq(ucspi_env_from_fd(u, &env), -1);
	ck_assert_int_eq(errno, ENOTCONN);
	close(u);
	errno = 0;
	ck_assert_int_eq(ucspi_env_from_fd(u, &env), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

/* The value of NAME in a NULL-terminated environment, or NULL. */
static const char *env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

START_TEST(test_ucspi_envp)
{
	char *base[] = {"PATH=/bin", "TCPREMOTEIP=1.2.3.4", "PROTO=OLD", "HOME=/root", NULL};
	char *out[sizeof(base) / sizeof(base[0]) + UCSPI_ENVP_EXTRA];
	struct ucspi_env tcp, ipc;
	uint16_t port, cport;
	int l = tcp_listener(AF_INET, "127.0.0.1", &port), c, s, sp[2];
	char want[32];

	s = tcp_accept_from(l, AF_INET, "127.0.0.1", port, &c, &cport);
	ck_assert_int_eq(ucspi_env_from_fd(s, &tcp), 0);
	ucspi_envp(&tcp, base, out);
	ck_assert_str_eq(env_get(out, "PATH"), "/bin");
	ck_assert_str_eq(env_get(out, "HOME"), "/root");
	ck_assert_str_eq(env_get(out, "PROTO"), "TCP");
	ck_assert_str_eq(env_get(out, "TCPLOCALIP"), "127.0.0.1");
	snprintf(want, sizeof(want), "%u", port);
	ck_assert_str_eq(env_get(out, "TCPLOCALPORT"), want);
	ck_assert_str_eq(env_get(out, "TCPREMOTEIP"), "127.0.0.1");
	snprintf(want, sizeof(want), "%u", cport);
	ck_assert_str_eq(env_get(out, "TCPREMOTEPORT"), want);
	ck_assert_ptr_null(out[7]);

	/* an AF_UNIX peer: inherited TCP variables must go */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	ck_assert_int_eq(ucspi_env_from_fd(sp[0], &ipc), 0);
	ucspi_envp(&ipc, base, out);
	ck_assert_str_eq(env_get(out, "PROTO"), "IPC");
	ck_assert_ptr_null(env_get(out, "TCPREMOTEIP"));
	ck_assert_ptr_null(env_get(out, "TCPLOCALIP"));
	ck_assert_str_eq(env_get(out, "PATH"), "/bin");
	ck_assert_ptr_null(out[3]);
	close(sp[0]);
	close(sp[1]);
	close(s);
	close(c);
	close(l);
}
END_TEST

START_TEST(test_preload_env)
{
	struct preload_env e;

	preload_env_parse(&e, NULL, NULL, NULL, NULL, NULL);
	ck_assert(!e.active);
	ck_assert_ptr_null(e.error);

	preload_env_parse(&e, "/run/web-%p.sock", "80,8000-8099", "0600", "root,1234", NULL);
	ck_assert(e.active);
	ck_assert_ptr_null(e.error);
	ck_assert_uint_eq(e.nports, 2);
	ck_assert_uint_eq(e.ports[1].lo, 8000);
	ck_assert_uint_eq(e.ports[1].hi, 8099);
	ck_assert_uint_eq(e.mode, 0600);
	ck_assert_uint_eq(e.senders.n, 2);
	ck_assert_uint_eq(e.senders.uids[1], 1234);

	/* each variable at fault is named; nothing is half-applied */
	preload_env_parse(&e, NULL, "80", NULL, NULL, NULL);
	ck_assert_str_eq(e.error, "SOCKETBOX_SOCKET is not set");
	preload_env_parse(&e, "/run/%x.sock", "80", NULL, NULL, NULL);
	ck_assert_ptr_nonnull(strstr(e.error, "SOCKETBOX_SOCKET"));
	preload_env_parse(&e, "/run/w.sock", "80,x", NULL, NULL, NULL);
	ck_assert_ptr_nonnull(strstr(e.error, "SOCKETBOX_PORTS"));
	ck_assert_uint_eq(e.nports, 0);
	preload_env_parse(&e, "/run/w.sock", NULL, NULL, NULL, NULL);
	ck_assert_ptr_nonnull(strstr(e.error, "SOCKETBOX_PORTS"));
	preload_env_parse(&e, "/run/w.sock", "*", "rw", NULL, NULL);
	ck_assert_ptr_nonnull(strstr(e.error, "SOCKETBOX_MODE"));
	preload_env_parse(&e, "/run/w.sock", "*", NULL, "root,,1", NULL);
	ck_assert_ptr_nonnull(strstr(e.error, "SOCKETBOX_ALLOW_UID"));

	/* started the original socketbox's way: fail closed, naming old and new variables */
	preload_env_parse(&e, NULL, NULL, NULL, NULL, "SKBOX_DIRECTORY_ROOT");
	ck_assert(e.active);
	ck_assert_str_eq(e.error, "SKBOX_DIRECTORY_ROOT is the original socketbox's, which this "
				  "library does not read; set SOCKETBOX_SOCKET and SOCKETBOX_PORTS "
				  "(socketbox-preload(8))");
	/* ... but with the new variables set, an old one left over changes nothing */
	preload_env_parse(&e, "/run/w.sock", "80", NULL, NULL, "SKBOX_DIRECTORY_ROOT");
	ck_assert_ptr_null(e.error);
}
END_TEST

/* ---- connect_map.c (SOCKETBOX_CONNECT) ---- */

START_TEST(test_connect_map)
{
	struct connect_map m;
	struct in6_addr a;

	ck_assert_int_eq(connect_map_parse(&m, "127.0.0.1:5432=/run/pg/.s.PGSQL.5432,"
					       "[::1]:6379=/run/redis.sock,10.0.0.0/8:443=@egress,"
					       "[2001:db8::/32]:*=/run/v6.sock"),
			 0);
	ck_assert_uint_eq(m.n, 4);
	ck_assert_int_eq(addr_parse("127.0.0.1", &a), 0);
	ck_assert_str_eq(connect_map_find(&m, &a, 5432)->path, "/run/pg/.s.PGSQL.5432");
	ck_assert_ptr_null(connect_map_find(&m, &a, 5433));
	ck_assert_int_eq(addr_parse("::1", &a), 0);
	ck_assert_str_eq(connect_map_find(&m, &a, 6379)->path, "/run/redis.sock");
	ck_assert_int_eq(addr_parse("10.200.3.4", &a), 0);
	ck_assert_str_eq(connect_map_find(&m, &a, 443)->path, "@egress");
	ck_assert_ptr_null(connect_map_find(&m, &a, 80));
	ck_assert_int_eq(addr_parse("11.0.0.1", &a), 0);
	ck_assert_ptr_null(connect_map_find(&m, &a, 443));
	ck_assert_int_eq(addr_parse("2001:db8:1::9", &a), 0);
	ck_assert_str_eq(connect_map_find(&m, &a, 1)->path, "/run/v6.sock");

	/* first match wins */
	ck_assert_int_eq(connect_map_parse(&m, "10.0.0.1:80=/a,10.0.0.0/8:80=/b"), 0);
	ck_assert_int_eq(addr_parse("10.0.0.1", &a), 0);
	ck_assert_str_eq(connect_map_find(&m, &a, 80)->path, "/a");

	/* anything wrong: the whole value is refused */
	static const char *const bad[] = {
		"", ",", "127.0.0.1:5432", "127.0.0.1:5432=", "=/run/x", "127.0.0.1=/run/x",
		"::1:80=/run/x", "[::1]80=/run/x", "[::1:80=/run/x", "127.0.0.1:0=/run/x",
		"127.0.0.1:65536=/run/x", "127.0.0.1:x=/run/x", "300.0.0.1:80=/run/x",
		"10.0.0.0/33:80=/run/x", "127.0.0.1:80=/run/x,", "127.0.0.1:80=@",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(connect_map_parse(&m, bad[i]) < 0, "accepted \"%s\"", bad[i]);
		ck_assert_uint_eq(m.n, 0);
	}
}
END_TEST

/* ---- ratelimit.c ---- */

/* What the code between capture_start and capture_end logs: stderr goes to a file meanwhile. */
static int capture_saved = -1;
static FILE *capture_file;

static void capture_start(void)
{
	capture_file = tmpfile();
	ck_assert_ptr_nonnull(capture_file);
	capture_saved = dup(STDERR_FILENO);
	ck_assert_int_ge(capture_saved, 0);
	ck_assert_int_eq(dup2(fileno(capture_file), STDERR_FILENO), STDERR_FILENO);
}

static const char *capture_end(void)
{
	static char text[4096];
	size_t n;

	fflush(stderr);
	ck_assert_int_eq(dup2(capture_saved, STDERR_FILENO), STDERR_FILENO);
	close(capture_saved);
	rewind(capture_file);
	n = fread(text, 1, sizeof(text) - 1, capture_file);
	text[n] = '\0';
	fclose(capture_file);
	return text;
}

/* How many of count messages at now_ms the limiter lets through, with what it logs. */
static unsigned allowed(struct ratelimit *rl, uint64_t now_ms, unsigned count, const char *logs)
{
	unsigned n = 0;

	capture_start();
	for (unsigned i = 0; i < count; i++)
		n += ratelimit_allow(rl, now_ms);
	ck_assert_str_eq(capture_end(), logs);
	return n;
}

static void expect_flush(struct ratelimit *rl, uint64_t now_ms, const char *logs)
{
	capture_start();
	ratelimit_flush(rl, now_ms);
	ck_assert_str_eq(capture_end(), logs);
}

START_TEST(test_ratelimit_windows)
{
	const uint64_t t = 1000000; /* any start: the monotonic clock is far from 0 */
	struct ratelimit rl;

	ratelimit_init(&rl, "tests", 3, 5);
	ck_assert_uint_eq(allowed(&rl, t, 10, ""), 3);
	ck_assert_uint_eq(allowed(&rl, t + 4999, 1, ""), 0);
	ck_assert_uint_eq(rl.suppressed, 8);
	expect_flush(&rl, t + 4999, ""); /* the window is not over */
	expect_flush(&rl, t + 5000, "socketbox: warning: 8 similar messages suppressed (tests)\n");
	ck_assert_uint_eq(rl.suppressed, 0);
	expect_flush(&rl, t + 20000, ""); /* nothing held back: nothing to say */
	/* The flush began a window at t + 5000. */
	ck_assert_uint_eq(allowed(&rl, t + 5001, 4, ""), 3);
	/* The next message after it ends comes after the summary. */
	ck_assert_uint_eq(allowed(&rl, t + 10000, 1,
				  "socketbox: warning: 1 similar message suppressed (tests)\n"),
			  1);
	ck_assert_uint_eq(allowed(&rl, t + 10001, 5, ""), 2);
	/* At exit, whatever was held back is said, window over or not. */
	capture_start();
	ratelimit_end(&rl);
	ck_assert_str_eq(capture_end(),
			 "socketbox: warning: 3 similar messages suppressed (tests)\n");
	capture_start();
	ratelimit_end(&rl);
	ck_assert_str_eq(capture_end(), "");
}
END_TEST

START_TEST(test_ratelimit_off_and_changed)
{
	const uint64_t t = 1000000;
	struct ratelimit rl;

	ratelimit_init(&rl, "tests", 1, 0); /* interval 0: no limit */
	ck_assert_uint_eq(allowed(&rl, t, 1000, ""), 1000);
	/* A limit applies to the window under way: the last message let through began it. */
	ratelimit_set(&rl, 2, 1);
	ck_assert_uint_eq(allowed(&rl, t + 1, 5, ""), 1);
	/* Lifting the limit says what the last window held back, with the next message. */
	ratelimit_set(&rl, 2, 0);
	ck_assert_uint_eq(
	    allowed(&rl, t + 2, 3, "socketbox: warning: 4 similar messages suppressed (tests)\n"),
	    3);
	ck_assert_uint_eq(rl.suppressed, 0);
}
END_TEST

/* A message every millisecond for a minute and a bit, against 10 per 5 s: at most 10 per
 * window of at least 5 s, and every message is either logged or counted in a summary. */
START_TEST(test_ratelimit_bound_and_count)
{
	const uint64_t t = 1000000, span = 61234;
	unsigned long long through = 0, summed = 0;
	struct ratelimit rl;
	const char *p;

	ratelimit_init(&rl, "flood", 10, 5);
	capture_start();
	for (uint64_t ms = 0; ms < span; ms++) {
		through += ratelimit_allow(&rl, t + ms);
		if (ms % 250 == 0)
			ratelimit_flush(&rl, t + ms);
	}
	ratelimit_end(&rl);
	p = capture_end();
	for (; (p = strstr(p, "warning: ")) != NULL; p++)
		summed += strtoull(p + strlen("warning: "), NULL, 10);
	ck_assert_uint_le(through, 10 * (span / 5000 + 1));
	ck_assert_uint_ge(through, 10 * (span / 5000));
	ck_assert_uint_eq(through + summed, span);
}
END_TEST

START_TEST(test_ratelimit_now)
{
	uint64_t a = ratelimit_now(), b;

	ck_assert_int_eq(usleep(20000), 0);
	b = ratelimit_now();
	ck_assert_uint_ge(b - a, 20);
	ck_assert_uint_lt(b - a, 10000);
}
END_TEST

/* ---- regressions: bugs found by these tests, now fixed ---- */

/* Was a bug (src/unixsock.c, unixsock_remove_stale): connecting a datagram socket to a path where
 * a socket of another type (stream, seqpacket) is bound fails with EPROTOTYPE, and that is
 * treated like "stale", so unixsock_bind_dgram unlinks the path of a live socket and takes
 * it over. EPROTOTYPE means someone is bound there: it should fail with EADDRINUSE, as
 * unixsock.h promises for "a live one". */
START_TEST(test_regression_live_stream_socket_is_unlinked)
{
	struct sockaddr_un sun;
	socklen_t len;
	char path[128];
	int st, fd;

	tmp_path(path, sizeof(path), "stream.sock");
	ck_assert_int_eq(unixsock_addr(path, &sun, &len), 0);
	st = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(st, 0);
	ck_assert_int_eq(bind(st, (struct sockaddr *)&sun, len), 0);
	ck_assert_int_eq(listen(st, 1), 0);
	errno = 0;
	fd = unixsock_bind_dgram(path, 0600);
	if (fd >= 0)
		close(fd);
	close(st);
	ck_assert_msg(fd == -1 && errno == EADDRINUSE,
		      "a live stream socket's path was taken over (fd %d, errno %d)", fd, errno);
}
END_TEST

/* Was a bug (src/addr.c, addr_parse_prefix): the length goes through num_parse, which accepts a
 * leading '-', so "::/-0" is taken as ::/0 (everything) and "192.0.2.0/-0" as ::ffff:0:0/96;
 * ports.c refuses the same spelling for ports. */
START_TEST(test_regression_prefix_minus_zero)
{
	expect_not_prefix("::/-0");
	expect_not_prefix("192.0.2.0/-0");
}
END_TEST

/* Was a bug (src/unixsock.c, unixsock_addr): an abstract name may use all of sun_path (its NUL
 * plus 107 bytes), but "@" + 107 bytes (strlen 108) is refused with ENAMETOOLONG. */
START_TEST(test_regression_longest_abstract_name)
{
	struct sockaddr_un sun;
	socklen_t len = 0;
	char name[120];

	memset(name, 'a', sizeof(name));
	name[0] = '@';
	name[108] = '\0';
	ck_assert_int_eq(unixsock_addr(name, &sun, &len), 0);
	ck_assert_uint_eq(len, sizeof(struct sockaddr_un));
}
END_TEST

/* ---- applet_register.c: --register PATH:SLOT, -P SLOT:PATH, SOCKETBOX_REGISTER ---- */

START_TEST(test_applet_register_parse)
{
	struct applet_register_options o;
	char longest[APPLET_REGISTER_PATH_MAX + 8];

	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(applet_register_parse(&o, "/run/socketbox/register.sock:22", false), 0);
	ck_assert_str_eq(o.path, "/run/socketbox/register.sock");
	ck_assert_uint_eq(o.slot, 22);
	/* the slot after the last colon; the path may have colons */
	ck_assert_int_eq(applet_register_parse(&o, "/run/a:b.sock:4294967295", false), 0);
	ck_assert_str_eq(o.path, "/run/a:b.sock");
	ck_assert_uint_eq(o.slot, 4294967295u);
	/* the original's -P SLOT:PATH: the slot before the first colon */
	ck_assert_int_eq(applet_register_parse(&o, "0:@reg:x", true), 0);
	ck_assert_str_eq(o.path, "@reg:x");
	ck_assert_uint_eq(o.slot, 0);
	ck_assert_int_eq(applet_register_parse(&o, "/run/r.sock", false), -1);
	ck_assert_int_eq(applet_register_parse(&o, "/run/r.sock:", false), -1);
	ck_assert_int_eq(applet_register_parse(&o, ":22", false), -1);
	ck_assert_int_eq(applet_register_parse(&o, "/run/r.sock:4294967296", false), -1);
	ck_assert_int_eq(applet_register_parse(&o, "/run/r.sock:-1", false), -1);
	ck_assert_int_eq(applet_register_parse(&o, "/run/r.sock:22", true), -1);
	memset(longest, 'a', sizeof(longest));
	longest[0] = '/';
	snprintf(longest + APPLET_REGISTER_PATH_MAX, 8, ":1");
	ck_assert_int_eq(applet_register_parse(&o, longest, false), -1);
}
END_TEST

START_TEST(test_preload_env_register)
{
	struct preload_env e;

	preload_env_parse_register(&e, "/run/r.sock:80", NULL, NULL, "80", NULL, NULL);
	ck_assert(e.active);
	ck_assert_ptr_null(e.error);
	ck_assert_str_eq(e.reg.path, "/run/r.sock");
	ck_assert_uint_eq(e.reg.slot, 80);
	ck_assert(!e.reg.exit_on_disconnect);
	ck_assert_uint_eq(e.nports, 1);
	preload_env_parse_register(&e, "/run/r.sock:80", "1", NULL, "*", NULL, NULL);
	ck_assert_ptr_null(e.error);
	ck_assert(e.reg.exit_on_disconnect);

	/* each variable at fault is named, and no registration is left to act on */
	preload_env_parse_register(&e, "/run/r.sock", NULL, NULL, "80", NULL, NULL);
	ck_assert_ptr_nonnull(strstr(e.error, "SOCKETBOX_REGISTER is not PATH:SLOT"));
	ck_assert_str_eq(e.reg.path, "");
	preload_env_parse_register(&e, "/run/r.sock:1", NULL, "/run/s.sock", "80", NULL, NULL);
	ck_assert_ptr_nonnull(strstr(e.error, "SOCKETBOX_SOCKET"));
	preload_env_parse_register(&e, "/run/r.sock:1", NULL, NULL, "80", "0666", NULL);
	ck_assert_ptr_nonnull(strstr(e.error, "SOCKETBOX_MODE"));
	preload_env_parse_register(&e, "/run/r.sock:1", NULL, NULL, "80", NULL, "root");
	ck_assert_ptr_nonnull(strstr(e.error, "SOCKETBOX_ALLOW_UID"));
	preload_env_parse_register(&e, "/run/r.sock:1", "yes", NULL, "80", NULL, NULL);
	ck_assert_ptr_nonnull(strstr(e.error, "SOCKETBOX_EXIT_ON_DISCONNECT"));
	preload_env_parse_register(&e, "/run/r.sock:1", NULL, NULL, NULL, NULL, NULL);
	ck_assert_ptr_nonnull(strstr(e.error, "SOCKETBOX_PORTS"));
	ck_assert_str_eq(e.reg.path, "");
}
END_TEST

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* fdclose closes exactly what it was given, in any order, in runs or alone, and on its
 * own when full; a descriptor it was not given stays open. */
START_TEST(test_fdclose)
{
	static struct fdclose c;
	int fds[8], keep, before = open_fds();

	for (int i = 0; i < 8; i++)
		ck_assert_int_ge(fds[i] = dup(0), 0);
	keep = fds[5];
	/* out of order, a gap at fds[5] */
	for (int i = 7; i >= 0; i--)
		if (i != 5)
			fdclose_add(&c, fds[i]);
	for (int i = 0; i < 8; i++)
		ck_assert(fd_open(fds[i]));
	fdclose_flush(&c);
	for (int i = 0; i < 8; i++)
		ck_assert_msg(fd_open(fds[i]) == (fds[i] == keep), "fd %d", fds[i]);
	close(keep);
	ck_assert_int_eq(open_fds(), before);
	/* more than it holds: the first ones are closed to make room */
	for (int i = 0; i < FDCLOSE_MAX + 3; i++) {
		int fd = dup(0);

		ck_assert_int_ge(fd, 0);
		fdclose_add(&c, fd);
	}
	ck_assert_uint_eq(c.n, 3);
	ck_assert_int_eq(open_fds(), before + 3);
	fdclose_flush(&c);
	ck_assert_uint_eq(c.n, 0);
	ck_assert_int_eq(open_fds(), before);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("core");
	TCase *parse = tcase_create("parse");
	TCase *unix_ = tcase_create("unixsock");
	TCase *ucspi = tcase_create("ucspi");
	TCase *limit = tcase_create("ratelimit");

	tcase_add_test(parse, test_num_parse);
	tcase_add_test(parse, test_num_parse_mode);
	tcase_add_test(parse, test_ports);
	tcase_add_test(parse, test_addr_parse_prefix);
	tcase_add_test(parse, test_addr_parse_and_mask);
	tcase_add_test(parse, test_addr_from_sockaddr);
	tcase_add_test(parse, test_addr_format);
	tcase_add_test(parse, test_unixsock_addr);
	suite_add_tcase(s, parse);

	tcase_add_unchecked_fixture(unix_, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(unix_, test_unixsock_bind_mode_and_flags);
	tcase_add_test(unix_, test_unixsock_stale_live_and_file);
	tcase_add_test(unix_, test_unixsock_abstract);
	tcase_add_test(unix_, test_unixsock_connect);
	tcase_add_test(unix_, test_fdclose);
	suite_add_tcase(s, unix_);
	tcase_add_test(limit, test_ratelimit_windows);
	tcase_add_test(limit, test_ratelimit_off_and_changed);
	tcase_add_test(limit, test_ratelimit_bound_and_count);
	tcase_add_test(limit, test_ratelimit_now);
	suite_add_tcase(s, limit);

	tcase_add_test(ucspi, test_ucspi_tcp6);
	tcase_add_test(ucspi, test_ucspi_tcp4);
	tcase_add_test(ucspi, test_ucspi_mapped);
	tcase_add_test(ucspi, test_ucspi_unix_and_errors);
	tcase_add_test(ucspi, test_ucspi_envp);
	tcase_add_test(ucspi, test_preload_env);
	tcase_add_test(ucspi, test_preload_env_register);
	tcase_add_test(ucspi, test_applet_register_parse);
	tcase_add_test(ucspi, test_connect_map);
	suite_add_tcase(s, ucspi);

	{
		TCase *bugs = tcase_create("regressions");

		tcase_add_unchecked_fixture(bugs, tmpdir_setup, tmpdir_teardown);
		tcase_add_test(bugs, test_regression_live_stream_socket_is_unlinked);
		tcase_add_test(bugs, test_regression_prefix_minus_zero);
		tcase_add_test(bugs, test_regression_longest_abstract_name);
		suite_add_tcase(s, bugs);
	}
	return s;
}
