/* connect_map.c - SOCKETBOX_CONNECT: which TCP destinations go to which UNIX stream socket */
#include "connect_map.h"
#include "addr.h"
#include "num.h"
#include "unixsock.h"

#include <string.h>

/* One DEST=SOCKET entry of len bytes at s. */
static int connect_map_entry(struct connect_rule *r, const char *s, size_t len)
{
	char dest[INET6_ADDRSTRLEN + 16], addr[INET6_ADDRSTRLEN + 8];
	const char *eq = memchr(s, '=', len), *colon, *errstr;
	size_t dlen, plen, alen;
	struct sockaddr_un sun;
	socklen_t sunlen;
	long long port;

	if (eq == NULL || (dlen = (size_t)(eq - s)) == 0 || dlen >= sizeof(dest))
		return -1;
	memcpy(dest, s, dlen);
	dest[dlen] = '\0';
	plen = len - dlen - 1;
	if (plen == 0 || plen >= sizeof(r->path))
		return -1;
	memcpy(r->path, eq + 1, plen);
	r->path[plen] = '\0';
	if (unixsock_addr(r->path, &sun, &sunlen) < 0)
		return -1;

	colon = strrchr(dest, ':');
	if (colon == NULL || colon == dest)
		return -1;
	if (strcmp(colon + 1, "*") == 0)
		port = 0;
	else if (num_parse(colon + 1, 1, 65535, &port, &errstr) < 0)
		return -1;
	r->port = (uint16_t)port;
	if (dest[0] == '[') {
		/* [V6]:PORT or [V6/LEN]:PORT */
		if (colon[-1] != ']' || (alen = (size_t)(colon - dest) - 2) == 0 ||
		    alen >= sizeof(addr))
			return -1;
		memcpy(addr, dest + 1, alen);
	} else {
		/* an IPv4 address or prefix; a bare IPv6 address would be ambiguous */
		alen = (size_t)(colon - dest);
		if (alen >= sizeof(addr) || memchr(dest, ':', alen) != NULL)
			return -1;
		memcpy(addr, dest, alen);
	}
	addr[alen] = '\0';
	return addr_parse_prefix(addr, &r->prefix, &r->plen);
}

int connect_map_parse(struct connect_map *m, const char *text)
{
	memset(m, 0, sizeof(*m));
	for (;;) {
		size_t len = strcspn(text, ",");

		if (m->n == CONNECT_MAP_MAX || connect_map_entry(&m->rules[m->n], text, len) < 0) {
			memset(m, 0, sizeof(*m));
			return -1;
		}
		m->n++;
		if (text[len] == '\0')
			return 0;
		text += len + 1;
	}
}

const struct connect_rule *connect_map_find(const struct connect_map *m, const struct in6_addr *a,
					    uint16_t port)
{
	for (unsigned i = 0; i < m->n; i++) {
		const struct connect_rule *r = &m->rules[i];
		struct in6_addr masked = *a;

		if (r->port != 0 && r->port != port)
			continue;
		addr_mask(&masked, r->plen);
		if (memcmp(&masked, &r->prefix, sizeof(masked)) == 0)
			return r;
	}
	return NULL;
}
