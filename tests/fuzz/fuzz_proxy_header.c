/* fuzz_proxy_header.c - the PROXY protocol header writer.
 *
 * Random source and destination addresses (AF_INET, AF_INET6 including IPv4-mapped,
 * AF_UNIX, a garbage family), each in a heap block of exactly its family's size, and a
 * version (mostly 1 or 2). Invariants: the length is at most PROXY_HEADER_MAX (the buffer
 * is exactly that big on the heap, so ASan sees any overrun); v1 starts "PROXY ", ends
 * "\r\n", and parses back to the same addresses and ports (TCP4 when both are IPv4 or
 * IPv4-mapped, TCP6 otherwise, UNKNOWN for anything else); v2 has the signature, a length
 * field matching the bytes written, and decodes back to the same addresses and ports
 * (LOCAL with AF_UNSPEC for anything else); other versions give 0. */
#include "proxy_header.h"

#include "fuzz_util.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <sys/un.h>

static const char v2sig[12] = "\r\n\r\n\0\r\nQUIT\n";

struct endpoint {
	struct sockaddr *sa;
	bool inet;	       /* AF_INET or AF_INET6 */
	struct in6_addr addr; /* as the writer should see it: IPv4 mapped */
	uint16_t port;
};

static void make_endpoint(struct fz *f, struct endpoint *e)
{
	uint8_t kind = fz_u8(f) % 6;

	memset(e, 0, sizeof(*e));
	switch (kind) {
	case 0: /* AF_INET */
	{
		struct sockaddr_in *sin = malloc(sizeof(*sin));

		memset(sin, 0, sizeof(*sin));
		sin->sin_family = AF_INET;
		fz_bytes(f, &sin->sin_addr, 4);
		sin->sin_port = htons(fz_u16(f));
		e->sa = (struct sockaddr *)sin;
		e->inet = true;
		e->addr.s6_addr[10] = e->addr.s6_addr[11] = 0xff;
		memcpy(&e->addr.s6_addr[12], &sin->sin_addr, 4);
		e->port = ntohs(sin->sin_port);
		break;
	}
	case 1: /* AF_INET6 */
	case 2: /* AF_INET6, IPv4-mapped */
	case 3: /* AF_INET6, an edge case: ::, ::1, ::ffff:0:0, v4-compatible, all ones */
	{
		struct sockaddr_in6 *sin6 = malloc(sizeof(*sin6));

		memset(sin6, 0, sizeof(*sin6));
		sin6->sin6_family = AF_INET6;
		fz_bytes(f, &sin6->sin6_addr, 16);
		if (kind == 2)
			memcpy(sin6->sin6_addr.s6_addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
		if (kind == 3) {
			uint8_t which = fz_u8(f) % 5;

			memset(&sin6->sin6_addr, which == 4 ? 0xff : 0, 16);
			if (which == 1)
				sin6->sin6_addr.s6_addr[15] = 1;
			if (which == 2)
				sin6->sin6_addr.s6_addr[10] = sin6->sin6_addr.s6_addr[11] = 0xff;
			if (which == 3)
				fz_bytes(f, &sin6->sin6_addr.s6_addr[12], 4);
		}
		sin6->sin6_port = htons(fz_u16(f));
		sin6->sin6_flowinfo = fz_u32(f);
		sin6->sin6_scope_id = fz_u32(f);
		e->sa = (struct sockaddr *)sin6;
		e->inet = true;
		e->addr = sin6->sin6_addr;
		e->port = ntohs(sin6->sin6_port);
		break;
	}
	case 4: /* AF_UNIX */
	{
		struct sockaddr_un *sun = malloc(sizeof(*sun));

		memset(sun, 0, sizeof(*sun));
		sun->sun_family = AF_UNIX;
		fz_bytes(f, sun->sun_path, fz_u8(f) % sizeof(sun->sun_path));
		e->sa = (struct sockaddr *)sun;
		break;
	}
	default: /* garbage family: only the family field is valid */
	{
		sa_family_t fam = fz_u16(f);
		struct sockaddr *sa;

		if (fam == AF_INET || fam == AF_INET6)
			fam = AF_UNSPEC;
		sa = malloc(sizeof(sa_family_t));
		memcpy(sa, &fam, sizeof(fam));
		e->sa = sa;
		break;
	}
	}
}

static bool is_mapped(const struct in6_addr *a)
{
	return IN6_IS_ADDR_V4MAPPED(a);
}

/* A decimal port as the writer prints it: no sign, no leading zero. */
static bool parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 65535)
			return false;
	}
	*port = (uint16_t)v;
	return true;
}

static void check_v1(const char *buf, size_t len, const struct endpoint *src,
		     const struct endpoint *dst)
{
	char copy[PROXY_HEADER_MAX + 1], *field[7], *save = NULL, *tok;
	unsigned n = 0;
	bool v4;

	FZ_CHECK(len >= 8 && len <= 107); /* the spec's maximum for v1 */
	FZ_CHECK(strlen(buf) == len);
	FZ_CHECK(memcmp(buf, "PROXY ", 6) == 0);
	FZ_CHECK(buf[len - 2] == '\r' && buf[len - 1] == '\n');
	FZ_CHECK(memchr(buf, '\r', len) == buf + len - 2); /* one line */
	if (!(src->inet && dst->inet)) {
		FZ_CHECK(strcmp(buf, "PROXY UNKNOWN\r\n") == 0);
		return;
	}
	memcpy(copy, buf, len - 2);
	copy[len - 2] = '\0';
	FZ_CHECK(strstr(copy, "  ") == NULL);
	for (tok = strtok_r(copy, " ", &save); tok && n < 7; tok = strtok_r(NULL, " ", &save))
		field[n++] = tok;
	FZ_CHECK(n == 6 && tok == NULL);
	v4 = is_mapped(&src->addr) && is_mapped(&dst->addr);
	FZ_CHECK(strcmp(field[1], v4 ? "TCP4" : "TCP6") == 0);
	for (int i = 0; i < 2; i++) {
		const struct endpoint *e = i ? dst : src;
		struct in6_addr a;
		uint16_t port;

		memset(&a, 0, sizeof(a));
		if (v4) {
			a.s6_addr[10] = a.s6_addr[11] = 0xff;
			FZ_CHECK(inet_pton(AF_INET, field[2 + i], &a.s6_addr[12]) == 1);
		} else {
			FZ_CHECK(strchr(field[2 + i], ':') != NULL);
			FZ_CHECK(inet_pton(AF_INET6, field[2 + i], &a) == 1);
		}
		if (memcmp(&a, &e->addr, sizeof(a)) != 0)
			FZ_FAIL("v1 address %s does not give back the %s address", field[2 + i],
				i ? "destination" : "source");
		FZ_CHECK(parse_port(field[4 + i], &port));
		FZ_CHECK(port == e->port);
	}
}

static void check_v2(const unsigned char *p, size_t len, const struct endpoint *src,
		     const struct endpoint *dst)
{
	bool v4;
	size_t alen;

	FZ_CHECK(len >= 16);
	FZ_CHECK(memcmp(p, v2sig, sizeof(v2sig)) == 0);
	alen = (size_t)p[14] << 8 | p[15];
	FZ_CHECK(len == 16 + alen);
	if (!(src->inet && dst->inet)) {
		FZ_CHECK(p[12] == 0x20); /* version 2, LOCAL */
		FZ_CHECK(p[13] == 0x00); /* AF_UNSPEC */
		FZ_CHECK(alen == 0);
		return;
	}
	FZ_CHECK(p[12] == 0x21); /* version 2, PROXY */
	v4 = is_mapped(&src->addr) && is_mapped(&dst->addr);
	if (v4) {
		FZ_CHECK(p[13] == 0x11 && alen == 12);
		FZ_CHECK(memcmp(p + 16, &src->addr.s6_addr[12], 4) == 0);
		FZ_CHECK(memcmp(p + 20, &dst->addr.s6_addr[12], 4) == 0);
		p += 24;
	} else {
		FZ_CHECK(p[13] == 0x21 && alen == 36);
		FZ_CHECK(memcmp(p + 16, &src->addr, 16) == 0);
		FZ_CHECK(memcmp(p + 32, &dst->addr, 16) == 0);
		p += 48;
	}
	FZ_CHECK((uint16_t)(p[0] << 8 | p[1]) == src->port);
	FZ_CHECK((uint16_t)(p[2] << 8 | p[3]) == dst->port);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = {data, size};
	struct endpoint src, dst;
	uint8_t vb = fz_u8(&f);
	int version = vb < 250 ? 1 + vb % 2 : (int)(int8_t)fz_u8(&f);
	char *buf = malloc(PROXY_HEADER_MAX);
	size_t len;

	make_endpoint(&f, &src);
	make_endpoint(&f, &dst);
	memset(buf, 0x5a, PROXY_HEADER_MAX);
	len = proxy_header(version, src.sa, dst.sa, buf);
	FZ_CHECK(len <= PROXY_HEADER_MAX);
	if (version == 1)
		check_v1(buf, len, &src, &dst);
	else if (version == 2)
		check_v2((const unsigned char *)buf, len, &src, &dst);
	else
		FZ_CHECK(len == 0);
	free(buf);
	free(src.sa);
	free(dst.sa);
	return 0;
}
