/* sockd_proto.c - requests and replies of socketbox-sockd's wire protocol, version 1.
 *
 * Request (24 bytes)                     Reply (8 bytes)
 *   0  version (1)                         0  version (1)
 *   1  op: 1 connect, 2 bind               1  status: 0 ok, 1 bad request, 2 denied,
 *   2  proto: 1 TCP, 2 UDP                                3 system error
 *   3  flags: 0x01 IPV6_V6ONLY (bind)      2  0, 0
 *      0x02 AF_INET6 for an IPv4-mapped address
 *   4  port (big-endian)                   4  errno (big-endian) for status 3, else 0
 *   6  0, 0
 *   8  address, 16 bytes (IPv4: ::ffff:a.b.c.d)
 */
#include "sockd_proto.h"

#include <arpa/inet.h>
#include <string.h>

int sockd_request_parse(const void *buf, size_t len, struct sockd_request *r, const char **why)
{
	const uint8_t *b = buf;

	memset(r, 0, sizeof(*r));
	if (len != SOCKD_REQ_LEN)
		*why = "a request is 24 bytes";
	else if (b[0] != SOCKD_VERSION)
		*why = "unknown protocol version";
	else if (b[1] != SOCKD_CONNECT && b[1] != SOCKD_BIND)
		*why = "unknown operation";
	else if (b[2] != SOCKD_TCP && b[2] != SOCKD_UDP)
		*why = "unknown protocol";
	else if ((b[3] & ~SOCKD_F_ALL) || b[6] || b[7])
		*why = "unknown flags or reserved bytes set";
	else if (b[1] == SOCKD_CONNECT && b[4] == 0 && b[5] == 0)
		*why = "connect to port 0";
	else
		*why = NULL;
	if (*why)
		return -1;
	r->op = b[1];
	r->proto = b[2];
	r->flags = b[3];
	r->port = (uint16_t)(b[4] << 8 | b[5]);
	memcpy(&r->addr, b + 8, sizeof(r->addr));
	return 0;
}

void sockd_request_encode(const struct sockd_request *r, uint8_t buf[SOCKD_REQ_LEN])
{
	memset(buf, 0, SOCKD_REQ_LEN);
	buf[0] = SOCKD_VERSION;
	buf[1] = r->op;
	buf[2] = r->proto;
	buf[3] = r->flags;
	buf[4] = (uint8_t)(r->port >> 8);
	buf[5] = (uint8_t)r->port;
	memcpy(buf + 8, &r->addr, sizeof(r->addr));
}

int sockd_reply_parse(const void *buf, size_t len, struct sockd_reply *r)
{
	const uint8_t *b = buf;
	uint32_t err;

	if (len != SOCKD_REP_LEN || b[0] != SOCKD_VERSION || b[1] > SOCKD_ESYSTEM)
		return -1;
	memcpy(&err, b + 4, sizeof(err));
	r->status = b[1];
	r->err = ntohl(err);
	return 0;
}

void sockd_reply_encode(const struct sockd_reply *r, uint8_t buf[SOCKD_REP_LEN])
{
	uint32_t err = htonl(r->err);

	memset(buf, 0, SOCKD_REP_LEN);
	buf[0] = SOCKD_VERSION;
	buf[1] = r->status;
	memcpy(buf + 4, &err, sizeof(err));
}
