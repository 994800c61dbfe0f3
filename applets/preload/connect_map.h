/* connect_map.h - SOCKETBOX_CONNECT: which TCP destinations go to which UNIX stream socket
 * instead ("127.0.0.1:5432=/run/pg/.s.PGSQL.5432,[::1]:6379=/run/redis.sock,
 * 10.0.0.0/8:443=@egress"). Kept out of the library so that tests and fuzzers can call it. */
#ifndef SB_CONNECT_MAP_H
#define SB_CONNECT_MAP_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/un.h>

#define CONNECT_MAP_MAX 32

struct connect_rule {
	struct in6_addr prefix; /* IPv4 as ::ffff:a.b.c.d */
	unsigned plen;
	uint16_t port; /* 0: any port ("*") */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1]; /* a path or @name */
};

struct connect_map {
	struct connect_rule rules[CONNECT_MAP_MAX];
	unsigned n;
};

/* Parses the comma-separated DEST=SOCKET entries, DEST being ADDR:PORT, PREFIX:PORT,
 * [IPV6]:PORT or [IPV6PREFIX]:PORT with PORT a number or "*". Returns 0, or -1 (nothing
 * of the text is used then). */
int connect_map_parse(struct connect_map *m, const char *text);

/* The first rule for address a and port, or NULL. */
const struct connect_rule *connect_map_find(const struct connect_map *m, const struct in6_addr *a,
					    uint16_t port);

#endif
