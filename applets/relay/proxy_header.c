/* proxy_header.c - the PROXY protocol header, as haproxy's proxy-protocol.txt specifies */
#include "proxy_header.h"
#include "addr.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char proxy_v2_signature[12] = "\r\n\r\n\0\r\nQUIT\n";

/* Both addresses as IPv4 (when both are IPv4 or IPv4-mapped) or as IPv6. Returns false
 * when either is not an internet address. */
static bool proxy_addresses(const struct sockaddr *src, const struct sockaddr *dst,
			    struct in6_addr *s, struct in6_addr *d, uint16_t *sport,
			    uint16_t *dport, bool *v4)
{
	if (addr_from_sockaddr(src, s, sport) < 0 || addr_from_sockaddr(dst, d, dport) < 0)
		return false;
	*v4 = IN6_IS_ADDR_V4MAPPED(s) && IN6_IS_ADDR_V4MAPPED(d);
	return true;
}

static size_t proxy_v1(const struct sockaddr *src, const struct sockaddr *dst, char *buf)
{
	char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];
	struct in6_addr s, d;
	uint16_t sport, dport;
	bool v4;
	int n;

	if (!proxy_addresses(src, dst, &s, &d, &sport, &dport, &v4))
		return (size_t)snprintf(buf, PROXY_HEADER_MAX, "PROXY UNKNOWN\r\n");
	if (v4) {
		inet_ntop(AF_INET, &s.s6_addr[12], sa, sizeof(sa));
		inet_ntop(AF_INET, &d.s6_addr[12], da, sizeof(da));
	} else {
		inet_ntop(AF_INET6, &s, sa, sizeof(sa));
		inet_ntop(AF_INET6, &d, da, sizeof(da));
	}
	n = snprintf(buf, PROXY_HEADER_MAX, "PROXY %s %s %s %u %u\r\n", v4 ? "TCP4" : "TCP6", sa,
		     da, sport, dport);
	return n > 0 && n < PROXY_HEADER_MAX ? (size_t)n : 0;
}

static size_t proxy_v2(const struct sockaddr *src, const struct sockaddr *dst, char *buf)
{
	unsigned char *p = (unsigned char *)buf;
	struct in6_addr s, d;
	uint16_t sport, dport, len;
	bool v4;

	memcpy(p, proxy_v2_signature, sizeof(proxy_v2_signature));
	if (!proxy_addresses(src, dst, &s, &d, &sport, &dport, &v4)) {
		p[12] = 0x20; /* version 2, LOCAL */
		p[13] = 0x00; /* AF_UNSPEC */
		p[14] = p[15] = 0;
		return 16;
	}
	p[12] = 0x21; /* version 2, PROXY */
	p[13] = v4 ? 0x11 : 0x21; /* TCP over IPv4 / IPv6 */
	len = v4 ? 12 : 36;
	p[14] = (unsigned char)(len >> 8);
	p[15] = (unsigned char)len;
	p += 16;
	if (v4) {
		memcpy(p, &s.s6_addr[12], 4);
		memcpy(p + 4, &d.s6_addr[12], 4);
		p += 8;
	} else {
		memcpy(p, &s, 16);
		memcpy(p + 16, &d, 16);
		p += 32;
	}
	p[0] = (unsigned char)(sport >> 8);
	p[1] = (unsigned char)sport;
	p[2] = (unsigned char)(dport >> 8);
	p[3] = (unsigned char)dport;
	return 16 + len;
}

size_t proxy_header(int version, const struct sockaddr *src, const struct sockaddr *dst,
		    char *buf)
{
	if (version == 1)
		return proxy_v1(src, dst, buf);
	if (version == 2)
		return proxy_v2(src, dst, buf);
	return 0;
}
