/* sockd_proto.h - the wire protocol of socketbox-sockd(8), version 1: one request of
 * SOCKD_REQ_LEN bytes in a SOCK_SEQPACKET message, one reply of SOCKD_REP_LEN bytes, with
 * the socket in SCM_RIGHTS when the status is SOCKD_OK. Multi-byte fields are in network
 * byte order; the man page's WIRE PROTOCOL section is the reference for other languages. */
#ifndef SB_SOCKD_PROTO_H
#define SB_SOCKD_PROTO_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define SOCKD_VERSION 1
#define SOCKD_REQ_LEN 24
#define SOCKD_REP_LEN 8

enum sockd_op { SOCKD_CONNECT = 1, SOCKD_BIND = 2 };
enum sockd_proto { SOCKD_TCP = 1, SOCKD_UDP = 2 };
/* Request flags */
#define SOCKD_F_V6ONLY 0x01 /* bind: IPV6_V6ONLY on an IPv6 socket */
#define SOCKD_F_INET6 0x02  /* an AF_INET6 socket for an IPv4-mapped address too */
#define SOCKD_F_ALL (SOCKD_F_V6ONLY | SOCKD_F_INET6)

/* Reply statuses; the client API turns them into errno values. */
enum sockd_status {
	SOCKD_OK = 0,	   /* the socket follows */
	SOCKD_EBADREQ = 1, /* malformed or unsupported request: EINVAL */
	SOCKD_EDENIED = 2, /* the policy refuses it: EACCES */
	SOCKD_ESYSTEM = 3, /* socket(), bind() or connect() failed: the errno field says why */
};

struct sockd_request {
	uint8_t op;	   /* enum sockd_op */
	uint8_t proto;	   /* enum sockd_proto */
	uint8_t flags;	   /* SOCKD_F_* */
	uint16_t port;	   /* host byte order here */
	struct in6_addr addr; /* IPv4 as ::ffff:a.b.c.d (an AF_INET socket) */
};

struct sockd_reply {
	uint8_t status; /* enum sockd_status */
	uint32_t err;	/* a Linux errno value for SOCKD_ESYSTEM, else 0 */
};

/* Parses a request of len bytes. Returns 0, or -1 with *why saying what is wrong. */
int sockd_request_parse(const void *buf, size_t len, struct sockd_request *r, const char **why);
void sockd_request_encode(const struct sockd_request *r, uint8_t buf[SOCKD_REQ_LEN]);

/* Returns 0, or -1 when buf is not a reply of this version. */
int sockd_reply_parse(const void *buf, size_t len, struct sockd_reply *r);
void sockd_reply_encode(const struct sockd_reply *r, uint8_t buf[SOCKD_REP_LEN]);

#endif
