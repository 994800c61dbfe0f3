/* proxy_parse.c - the PROXY protocol header reader. Strict where the specification is:
 * a v1 line is "PROXY" SP proto SP src SP dst SP sport SP dport CRLF with single spaces and
 * at most 107 bytes; a v2 header is the 12-byte signature, version 2, a command, a family
 * and a length that covers the addresses. */
#include "proxy_parse.h"

#include <arpa/inet.h>
#include <string.h>

static const unsigned char proxy_v2_sig[12] = "\r\n\r\n\0\r\nQUIT\n";

static bool proxy_starts(const unsigned char *p, size_t len, const void *prefix, size_t plen)
{
	return memcmp(p, prefix, len < plen ? len : plen) == 0;
}

/* A decimal port without sign, spaces or leading zeros. */
static bool proxy_v1_port(const char *s, uint16_t *port)
{
	size_t n = strlen(s);
	unsigned v = 0;

	if (n == 0 || n > 5 || (s[0] == '0' && n > 1) || strspn(s, "0123456789") != n)
		return false;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	if (v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

static bool proxy_v1_addr(const char *s, bool v4, struct in6_addr *a)
{
	struct in_addr in;

	if (!v4)
		return inet_pton(AF_INET6, s, a) == 1;
	if (inet_pton(AF_INET, s, &in) != 1)
		return false;
	memset(a, 0, sizeof(*a));
	a->s6_addr[10] = a->s6_addr[11] = 0xff;
	memcpy(&a->s6_addr[12], &in, 4);
	return true;
}

/* The fields of a v1 line without its CRLF, split at single spaces into f[0..n). */
static int proxy_v1_fields(char *line, char **f, int max)
{
	int n = 0;

	for (char *p = line;; p++) {
		if (n == max)
			return -1;
		f[n++] = p;
		p = strchr(p, ' ');
		if (p == NULL)
			return n;
		*p = '\0';
	}
}

static int proxy_v1(const unsigned char *p, size_t len, struct proxy_info *info,
		    const char **why)
{
	size_t look = len < PROXY_V1_MAX ? len : PROXY_V1_MAX, end;
	char line[PROXY_V1_MAX + 1], *f[7];
	int n;
	bool v4;

	/* The line ends at the first CR, which must be followed by LF. */
	for (end = 0; end < look && p[end] != '\r'; end++)
		if (p[end] == '\n' || p[end] == '\0') {
			*why = "v1 header has a stray control character";
			return -1;
		}
	if (end == look) {
		if (look == PROXY_V1_MAX) {
			*why = "v1 header longer than 107 bytes";
			return -1;
		}
		return 0;
	}
	if (end + 2 > PROXY_V1_MAX) {
		*why = "v1 header longer than 107 bytes";
		return -1;
	}
	if (end + 1 == len)
		return 0; /* the LF is still to come */
	if (p[end + 1] != '\n') {
		*why = "v1 header does not end with CRLF";
		return -1;
	}
	memcpy(line, p, end);
	line[end] = '\0';
	info->version = 1;
	/* Whatever follows UNKNOWN is ignored, as specified. */
	if (strncmp(line, "PROXY UNKNOWN", 13) == 0 && (line[13] == '\0' || line[13] == ' ')) {
		info->local = true;
		return (int)end + 2;
	}
	n = proxy_v1_fields(line, f, 7);
	if (n != 6 || strcmp(f[0], "PROXY") != 0 ||
	    (strcmp(f[1], "TCP4") != 0 && strcmp(f[1], "TCP6") != 0)) {
		*why = "v1 header is not PROXY TCP4|TCP6 SRC DST SPORT DPORT";
		return -1;
	}
	v4 = f[1][3] == '4';
	if (!proxy_v1_addr(f[2], v4, &info->src) || !proxy_v1_addr(f[3], v4, &info->dst) ||
	    !proxy_v1_port(f[4], &info->src_port) || !proxy_v1_port(f[5], &info->dst_port)) {
		*why = "v1 header has a bad address or port";
		return -1;
	}
	info->local = false;
	return (int)end + 2;
}

static int proxy_v2(const unsigned char *p, size_t len, struct proxy_info *info,
		    const char **why)
{
	size_t body;

	if (len < 16)
		return 0;
	body = (size_t)p[14] << 8 | p[15];
	if ((p[12] & 0xf0) != 0x20) {
		*why = "v2 header has a version other than 2";
		return -1;
	}
	if ((p[12] & 0x0f) > 1) {
		*why = "v2 header has a command other than LOCAL or PROXY";
		return -1;
	}
	if (body > PROXY_V2_MAX_LEN) {
		*why = "v2 header longer than socketbox reads";
		return -1;
	}
	if (len < 16 + body)
		return 0;
	info->version = 2;
	info->local = true;
	/* LOCAL (a balancer's own health check), or PROXY over a family we do not route by
	 * (UNSPEC, UNIX): the connection's addresses stand. Datagrams are not TCP. */
	if ((p[12] & 0x0f) == 0)
		return (int)(16 + body);
	switch (p[13]) {
	case 0x11: /* TCP over IPv4 */
		if (body < 12)
			break;
		memset(&info->src, 0, sizeof(info->src));
		memset(&info->dst, 0, sizeof(info->dst));
		info->src.s6_addr[10] = info->src.s6_addr[11] = 0xff;
		info->dst.s6_addr[10] = info->dst.s6_addr[11] = 0xff;
		memcpy(&info->src.s6_addr[12], p + 16, 4);
		memcpy(&info->dst.s6_addr[12], p + 20, 4);
		info->src_port = (uint16_t)(p[24] << 8 | p[25]);
		info->dst_port = (uint16_t)(p[26] << 8 | p[27]);
		info->local = false;
		return (int)(16 + body);
	case 0x21: /* TCP over IPv6 */
		if (body < 36)
			break;
		memcpy(&info->src, p + 16, 16);
		memcpy(&info->dst, p + 32, 16);
		info->src_port = (uint16_t)(p[48] << 8 | p[49]);
		info->dst_port = (uint16_t)(p[50] << 8 | p[51]);
		info->local = false;
		return (int)(16 + body);
	case 0x00: /* UNSPEC */
	case 0x31: /* UNIX stream */
		return (int)(16 + body);
	default:
		*why = "v2 header has an address family other than TCP, UNIX or UNSPEC";
		return -1;
	}
	*why = "v2 header is too short for its addresses";
	return -1;
}

int proxy_parse(const void *buf, size_t len, struct proxy_info *info, const char **why)
{
	const unsigned char *p = buf;

	*why = "";
	if (len == 0)
		return 0;
	if (p[0] == 'P') {
		if (!proxy_starts(p, len, "PROXY ", 6)) {
			*why = "not a PROXY protocol header";
			return -1;
		}
		return len < 6 ? 0 : proxy_v1(p, len, info, why);
	}
	if (!proxy_starts(p, len, proxy_v2_sig, sizeof(proxy_v2_sig))) {
		*why = "not a PROXY protocol header";
		return -1;
	}
	return proxy_v2(p, len, info, why);
}
