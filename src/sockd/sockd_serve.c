/* sockd_serve.c - a request of socketbox-sockd checked against the rules of its kind
 * (connect or bind) for the client's uid, then carried out: a non-blocking connect, or a
 * bind (and listen, for TCP). Nothing here waits on the network or on a client. */
#include "sockd_serve.h"
#include "addr.h"
#include "log.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *sockd_op_name(const struct sockd_request *r)
{
	return r->op == SOCKD_CONNECT ? "connect" : "bind";
}

/* The request's address as a sockaddr of its family (IPv4 when mapped, unless the client
 * asks for an IPv6 socket). */
static socklen_t sockd_sockaddr(const struct sockd_request *r, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (IN6_IS_ADDR_V4MAPPED(&r->addr) && !(r->flags & SOCKD_F_INET6)) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(r->port);
		memcpy(&in->sin_addr, &r->addr.s6_addr[12], 4);
		return sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(r->port);
		in6->sin6_addr = r->addr;
		return sizeof(*in6);
	}
}

/* Makes the socket. Returns it, or -1 with errno. */
static int sockd_make(const struct sockd_request *r)
{
	struct sockaddr_storage ss;
	socklen_t len = sockd_sockaddr(r, &ss);
	int type = r->proto == SOCKD_TCP ? SOCK_STREAM : SOCK_DGRAM, on = 1, fd, saved;

	fd = socket(ss.ss_family, type | SOCK_CLOEXEC | (r->op == SOCKD_CONNECT ? SOCK_NONBLOCK : 0),
		    0);
	if (fd < 0)
		return -1;
	if (r->op == SOCKD_CONNECT) {
		if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS)
			goto bad;
		return fd;
	}
	/* A restarted server rebinds its port at once, as it would outside the namespace. */
	if ((type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0) ||
	    (ss.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){!!(r->flags & SOCKD_F_V6ONLY)},
			sizeof(int)) < 0) ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    (type == SOCK_STREAM && listen(fd, SOMAXCONN) < 0))
		goto bad;
	return fd;
bad:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

void sockd_serve(struct sockd_server *sv, uid_t uid, const void *buf, size_t len,
		 const char *defect, struct sockd_reply *rep, int *fd)
{
	struct sockd_request r;
	struct conn_key key = {0};
	struct verdict v;
	const char *why;
	char where[64], a[ADDR_STRLEN];

	*fd = -1;
	memset(rep, 0, sizeof(*rep));
	sv->count.requests++;
	if (sockd_request_parse(buf, len, &r, &why) < 0 || (why = defect) != NULL) {
		sv->count.malformed++;
		rep->status = SOCKD_EBADREQ;
		if (ratelimit_allow(&sv->refused, ratelimit_now()))
			log_warnx("malformed request from uid %u (%zu bytes): %s", (unsigned)uid, len,
				  why);
		return;
	}
	sockd_uid_addr(uid, &key.local);
	key.local_port = r.proto;
	key.remote = r.addr;
	key.remote_port = r.port;
	rules_lookup(r.op == SOCKD_CONNECT ? sv->cfg->connect : sv->cfg->bind, &key, &v);
	addr_ntop(&r.addr, a, sizeof(a));
	/* The line names the rule: a rule with several users or addresses is several. */
	if (v.line)
		snprintf(where, sizeof(where), "%s rule at line %u", sockd_op_name(&r), v.line);
	else
		snprintf(where, sizeof(where), "no %s rule: default deny", sockd_op_name(&r));
	if (v.action != RULE_TARGET) {
		sv->count.denied++;
		rep->status = SOCKD_EDENIED;
		if (ratelimit_allow(&sv->refused, ratelimit_now()))
			log_warnx("denied %s %s [%s]:%u for uid %u (%s)", sockd_op_name(&r),
				  r.proto == SOCKD_TCP ? "tcp" : "udp", a, r.port, (unsigned)uid,
				  where);
		return;
	}
	*fd = sockd_make(&r);
	if (*fd < 0) {
		sv->count.failed++;
		rep->status = SOCKD_ESYSTEM;
		rep->err = (uint32_t)errno;
		if (ratelimit_allow(&sv->refused, ratelimit_now()))
			log_warnx("unable to %s %s [%s]:%u for uid %u: %s", sockd_op_name(&r),
				  r.proto == SOCKD_TCP ? "tcp" : "udp", a, r.port, (unsigned)uid,
				  strerror((int)rep->err));
		return;
	}
	if (r.op == SOCKD_CONNECT)
		sv->count.connected++;
	else
		sv->count.bound++;
	if (log_verbose)
		log_info("%s %s [%s]:%u for uid %u (%s)", sockd_op_name(&r),
			 r.proto == SOCKD_TCP ? "tcp" : "udp", a, r.port, (unsigned)uid, where);
}
