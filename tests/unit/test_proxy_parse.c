/* test_proxy_parse.c - the PROXY protocol header reader: v1 and v2 as haproxy and our relay
 * write them, every byte boundary, and the headers it refuses. */
#include "addr.h"
#include "proxy_header.h"
#include "proxy_parse.h"

#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <string.h>

static int parse(const void *buf, size_t len, struct proxy_info *info)
{
	const char *why;

	memset(info, 0xa5, sizeof(*info));
	return proxy_parse(buf, len, info, &why);
}

static void check_addrs(const struct proxy_info *info, const char *src, unsigned sport,
			const char *dst, unsigned dport)
{
	struct in6_addr s, d;

	ck_assert_int_eq(addr_parse(src, &s), 0);
	ck_assert_int_eq(addr_parse(dst, &d), 0);
	ck_assert(!info->local);
	ck_assert_mem_eq(&info->src, &s, sizeof(s));
	ck_assert_mem_eq(&info->dst, &d, sizeof(d));
	ck_assert_uint_eq(info->src_port, sport);
	ck_assert_uint_eq(info->dst_port, dport);
}

/* Every shorter prefix of a valid header asks for more; the whole header (and anything
 * after it) gives its length. */
static void check_prefixes(const char *h, size_t len)
{
	char buf[PROXY_PARSE_MAX + 16];
	struct proxy_info info;

	for (size_t i = 0; i < len; i++)
		ck_assert_msg(parse(h, i, &info) == 0, "prefix of %zu bytes of %zu", i, len);
	memcpy(buf, h, len);
	memcpy(buf + len, "GET / HTTP/1.0\r\n", 16);
	ck_assert_int_eq(parse(buf, len, &info), (int)len);
	ck_assert_int_eq(parse(buf, len + 16, &info), (int)len);
}

START_TEST(test_v1)
{
	static const char tcp4[] = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n";
	static const char tcp6[] = "PROXY TCP6 2001:db8::7 2001:db8::1 1 65535\r\n";
	static const char unknown[] = "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n";
	struct proxy_info info;

	check_prefixes(tcp4, strlen(tcp4));
	parse(tcp4, strlen(tcp4), &info);
	ck_assert_int_eq(info.version, 1);
	check_addrs(&info, "::ffff:192.0.2.7", 56324, "::ffff:198.51.100.1", 443);
	check_prefixes(tcp6, strlen(tcp6));
	parse(tcp6, strlen(tcp6), &info);
	check_addrs(&info, "2001:db8::7", 1, "2001:db8::1", 65535);
	check_prefixes(unknown, strlen(unknown));
	ck_assert_int_eq(parse(unknown, strlen(unknown), &info), (int)strlen(unknown));
	ck_assert(info.local);
	ck_assert_int_eq(parse("PROXY UNKNOWN\r\n", 15, &info), 15);
	ck_assert(info.local);
}
END_TEST

START_TEST(test_v1_refused)
{
	static const char *const bad[] = {
		"PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\n",     /* LF without CR */
		"PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\rX",    /* CR without LF */
		"PROXY TCP4  192.0.2.7 198.51.100.1 56324 443\r\n",  /* two spaces */
		"PROXY TCP4 192.0.2.7 198.51.100.1 56324\r\n",	     /* a field short */
		"PROXY TCP4 192.0.2.7 198.51.100.1 56324 443 1\r\n", /* a field more */
		"PROXY TCP4 2001:db8::7 198.51.100.1 1 2\r\n",	     /* IPv6 in TCP4 */
		"PROXY TCP6 192.0.2.7 2001:db8::1 1 2\r\n",	     /* IPv4 in TCP6 */
		"PROXY TCP4 192.0.2.7 198.51.100.1 65536 443\r\n",   /* port out of range */
		"PROXY TCP4 192.0.2.7 198.51.100.1 0443 443\r\n",    /* leading zero */
		"PROXY TCP4 192.0.2.7 198.51.100.1 -1 443\r\n",	     /* sign */
		"PROXY UDP4 192.0.2.7 198.51.100.1 1 2\r\n",	     /* not TCP */
		"PROXY UNKNOWNX\r\n",
		"PROXY TCP4 192.0.2.7\0 198.51.100.1 1 2\r\n",
		"PROXX TCP4 192.0.2.7 198.51.100.1 1 2\r\n",
		"GET / HTTP/1.0\r\n",
		"SSH-2.0-OpenSSH_9.2\r\n",
	};
	char longer[200];
	struct proxy_info info;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = strlen(bad[i]);

		if (i == 12) /* the one with a NUL inside */
			len = 41;
		ck_assert_msg(parse(bad[i], len, &info) == -1, "accepted: %s", bad[i]);
	}
	/* 107 bytes without CRLF: refused without waiting for more. */
	memset(longer, 'x', sizeof(longer));
	memcpy(longer, "PROXY TCP6 ", 11);
	ck_assert_int_eq(parse(longer, 107, &info), -1);
	ck_assert_int_eq(parse(longer, 106, &info), 0);
	/* CRLF as bytes 107 and 108 is one byte too long; as 106 and 107 it fits (and is
	 * then refused for its fields, not its length). */
	memcpy(longer + 106, "\r\n", 2);
	ck_assert_int_eq(parse(longer, 108, &info), -1);
}
END_TEST

static size_t write_header(int version, const char *src, unsigned sport, const char *dst,
			   unsigned dport, char *buf)
{
	struct sockaddr_in6 s = {.sin6_family = AF_INET6}, d = {.sin6_family = AF_INET6};

	ck_assert_int_eq(addr_parse(src, &s.sin6_addr), 0);
	ck_assert_int_eq(addr_parse(dst, &d.sin6_addr), 0);
	s.sin6_port = htons((uint16_t)sport);
	d.sin6_port = htons((uint16_t)dport);
	return proxy_header(version, (struct sockaddr *)&s, (struct sockaddr *)&d, buf);
}

/* What our relay writes, we read: both versions, both families. */
START_TEST(test_round_trip_with_the_writer)
{
	static const char *const addrs[][2] = {{"192.0.2.7", "198.51.100.1"},
					       {"2001:db8::7", "2001:db8:1::1"}};
	char buf[PROXY_HEADER_MAX];
	struct proxy_info info;

	for (int version = 1; version <= 2; version++) {
		for (int a = 0; a < 2; a++) {
			size_t len = write_header(version, addrs[a][0], 40000, addrs[a][1], 22, buf);
			char src[64], dst[64];

			check_prefixes(buf, len);
			ck_assert_int_eq(parse(buf, len, &info), (int)len);
			ck_assert_int_eq(info.version, version);
			snprintf(src, sizeof(src), "%s%s", a ? "" : "::ffff:", addrs[a][0]);
			snprintf(dst, sizeof(dst), "%s%s", a ? "" : "::ffff:", addrs[a][1]);
			check_addrs(&info, src, 40000, dst, 22);
		}
	}
}
END_TEST

START_TEST(test_v2)
{
	unsigned char h[16 + PROXY_V2_MAX_LEN + 1] = "\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00";
	struct proxy_info info;

	/* LOCAL: the balancer's own connection, no addresses. */
	check_prefixes((char *)h, 16);
	ck_assert_int_eq(parse(h, 16, &info), 16);
	ck_assert(info.local);
	/* PROXY over IPv4 with a TLV after the addresses: all of it is the header. */
	memcpy(h + 12, "\x21\x11\x00\x13" "\xc0\x00\x02\x07" "\xc6\x33\x64\x01" "\x9c\x40\x01\xbb"
		       "\x04\x00\x03" "abc", 16 + 19 - 12);
	check_prefixes((char *)h, 16 + 19);
	parse(h, 16 + 19, &info);
	check_addrs(&info, "::ffff:192.0.2.7", 40000, "::ffff:198.51.100.1", 443);
	/* UNSPEC and UNIX: no addresses to match on. */
	h[13] = 0x00;
	ck_assert_int_eq(parse(h, 16 + 19, &info), 16 + 19);
	ck_assert(info.local);
	h[13] = 0x31;
	ck_assert_int_eq(parse(h, 16 + 19, &info), 16 + 19);
	ck_assert(info.local);
	/* Refused: UDP, an unknown family, too short for the family, version 1 or 3, a
	 * command other than LOCAL or PROXY, longer than socketbox reads. */
	h[13] = 0x12;
	ck_assert_int_eq(parse(h, 16 + 19, &info), -1);
	h[13] = 0x41;
	ck_assert_int_eq(parse(h, 16 + 19, &info), -1);
	h[13] = 0x21; /* IPv6 needs 36 bytes */
	ck_assert_int_eq(parse(h, 16 + 19, &info), -1);
	h[13] = 0x11;
	h[12] = 0x11;
	ck_assert_int_eq(parse(h, 16 + 19, &info), -1);
	h[12] = 0x31;
	ck_assert_int_eq(parse(h, 16 + 19, &info), -1);
	h[12] = 0x22;
	ck_assert_int_eq(parse(h, 16 + 19, &info), -1);
	h[12] = 0x21;
	h[14] = (PROXY_V2_MAX_LEN + 1) >> 8;
	h[15] = (PROXY_V2_MAX_LEN + 1) & 0xff;
	ck_assert_int_eq(parse(h, 16, &info), -1);
	h[14] = PROXY_V2_MAX_LEN >> 8;
	h[15] = PROXY_V2_MAX_LEN & 0xff;
	ck_assert_int_eq(parse(h, 16, &info), 0);
	ck_assert_int_eq(parse(h, 16 + PROXY_V2_MAX_LEN, &info), 16 + PROXY_V2_MAX_LEN);
	/* A broken signature, at any byte. */
	for (size_t i = 0; i < 12; i++) {
		h[i] ^= 0x40;
		ck_assert_int_eq(parse(h, 16 + 19, &info), -1);
		ck_assert_int_eq(parse(h, i + 1, &info), -1);
		h[i] ^= 0x40;
	}
	ck_assert_int_eq(parse(h, 0, &info), 0);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("proxy_parse");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_v1);
	tcase_add_test(tc, test_v1_refused);
	tcase_add_test(tc, test_round_trip_with_the_writer);
	tcase_add_test(tc, test_v2);
	suite_add_tcase(s, tc);
	return s;
}
