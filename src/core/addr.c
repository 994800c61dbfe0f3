/* addr.c - IPv6 addresses and prefixes; IPv4 is carried as ::ffff:a.b.c.d */
#include "addr.h"
#include "num.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

void addr_mask(struct in6_addr *addr, unsigned plen)
{
	for (unsigned i = 0; i < 16; i++) {
		if (plen >= 8 * (i + 1))
			continue;
		if (plen <= 8 * i)
			addr->s6_addr[i] = 0;
		else
			addr->s6_addr[i] &= (uint8_t)(0xff << (8 - (plen - 8 * i)));
	}
}

static void addr_map_v4(const struct in_addr *v4, struct in6_addr *addr)
{
	memset(addr, 0, sizeof(*addr));
	addr->s6_addr[10] = 0xff;
	addr->s6_addr[11] = 0xff;
	memcpy(&addr->s6_addr[12], v4, 4);
}

/* Returns the family parsed (AF_INET6 or AF_INET), or -1. */
static int addr_parse_family(const char *s, struct in6_addr *addr)
{
	struct in_addr v4;

	if (inet_pton(AF_INET6, s, addr) == 1)
		return AF_INET6;
	if (inet_pton(AF_INET, s, &v4) == 1) {
		addr_map_v4(&v4, addr);
		return AF_INET;
	}
	return -1;
}

int addr_parse(const char *s, struct in6_addr *addr)
{
	return addr_parse_family(s, addr) < 0 ? -1 : 0;
}

int addr_parse_prefix(const char *s, struct in6_addr *addr, unsigned *plen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/'), *errstr;
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	long long len = -1;
	int family;

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	family = addr_parse_family(buf, addr);
	if (family < 0)
		return -1;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9' ||
		    num_parse(slash + 1, 0, family == AF_INET ? 32 : 128, &len, &errstr) < 0)
			return -1;
		if (family == AF_INET)
			len += 96;
	} else {
		len = 128;
	}
	*plen = (unsigned)len;
	addr_mask(addr, *plen);
	return 0;
}

int addr_from_sockaddr(const struct sockaddr *sa, struct in6_addr *addr, uint16_t *port)
{
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		*addr = sin6->sin6_addr;
		*port = ntohs(sin6->sin6_port);
		return 0;
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		addr_map_v4(&sin->sin_addr, addr);
		*port = ntohs(sin->sin_port);
		return 0;
	}
	return -1;
}

const char *addr_ntop(const struct in6_addr *addr, char *buf, size_t len)
{
	if (inet_ntop(AF_INET6, addr, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

const char *addr_format(const struct sockaddr *sa, socklen_t salen, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	struct in6_addr a;
	uint16_t port;

	if (sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *sun = (const struct sockaddr_un *)sa;
		size_t plen = salen > offsetof(struct sockaddr_un, sun_path)
				      ? salen - offsetof(struct sockaddr_un, sun_path)
				      : 0;

		if (plen == 0)
			snprintf(buf, len, "unix:(unnamed)");
		else if (sun->sun_path[0] == '\0')
			snprintf(buf, len, "unix:@%.*s", (int)plen - 1, sun->sun_path + 1);
		else
			snprintf(buf, len, "unix:%.*s", (int)strnlen(sun->sun_path, plen),
				 sun->sun_path);
		return buf;
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(sin->sin_port));
		return buf;
	}
	if (addr_from_sockaddr(sa, &a, &port) < 0) {
		snprintf(buf, len, "?");
		return buf;
	}
	snprintf(buf, len, "[%s]:%u", addr_ntop(&a, ip, sizeof(ip)), port);
	return buf;
}
