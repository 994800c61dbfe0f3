/* proxy_parse.h - reads the PROXY protocol header (haproxy's proxy-protocol.txt, v1 text
 * and v2 binary, told apart by the first bytes) that a load balancer sends before the
 * client's bytes. */
#ifndef SB_PROXY_PARSE_H
#define SB_PROXY_PARSE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest v1 header, "PROXY TCP6 " and two full addresses and ports, with CRLF. */
#define PROXY_V1_MAX 107
/* v2: the 16-byte fixed part and at most this many bytes of addresses and TLVs (the
 * protocol allows 65535; balancers send a few dozen). Longer headers are refused. */
#define PROXY_V2_MAX_LEN 512
/* Enough to look at to find any acceptable header. */
#define PROXY_PARSE_MAX (16 + PROXY_V2_MAX_LEN)

/* What a header says. With local (v2 LOCAL, v1 UNKNOWN, or an address family other than
 * TCP over IPv4 or IPv6) it carries no client: the connection's own addresses stand.
 * IPv4 addresses are IPv4-mapped. */
struct proxy_info {
	int version; /* 1 or 2 */
	bool local;
	struct in6_addr src, dst;
	uint16_t src_port, dst_port;
};

/* Looks at the first len bytes of a connection. Returns the header's length when they
 * begin with a complete, valid header (and fills *info); 0 when they are a valid start
 * of one and more bytes are needed; -1 when they are not a header, or one this reader
 * refuses (then *why says what is wrong). Never reads past buf[len - 1]. */
int proxy_parse(const void *buf, size_t len, struct proxy_info *info, const char **why);

#endif
