/* addr.h - IPv6 addresses and prefixes; IPv4 is carried as ::ffff:a.b.c.d */
#ifndef SB_ADDR_H
#define SB_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* "[ffff:...:ffff]:65535" plus NUL */
#define ADDR_STRLEN (INET6_ADDRSTRLEN + 8)

/* Parses "ADDR" or "ADDR/LEN", IPv6 or IPv4 (mapped into ::ffff:0:0/96). The host bits
 * are cleared. Returns 0, or -1 when s is not an address or prefix. */
int addr_parse_prefix(const char *s, struct in6_addr *addr, unsigned *plen);

/* Parses a plain IPv6 or IPv4 address (mapped); no prefix length. */
int addr_parse(const char *s, struct in6_addr *addr);

/* Clears every bit past the first plen. */
void addr_mask(struct in6_addr *addr, unsigned plen);

/* Address and port of an AF_INET6 or AF_INET sockaddr; AF_INET becomes mapped.
 * Returns -1 for any other family. */
int addr_from_sockaddr(const struct sockaddr *sa, struct in6_addr *addr, uint16_t *port);

/* The address as text ("2001:db8::1", "::ffff:192.0.2.1"). */
const char *addr_ntop(const struct in6_addr *addr, char *buf, size_t len);

/* "[ADDR]:PORT" for AF_INET6, "A.B.C.D:PORT" for AF_INET, "unix:PATH" for AF_UNIX, "?"
 * otherwise. */
const char *addr_format(const struct sockaddr *sa, socklen_t salen, char *buf, size_t len);

#endif
