/* sockd_serve.h - one request of socketbox-sockd: the policy's verdict, then the socket */
#ifndef SB_SOCKD_SERVE_H
#define SB_SOCKD_SERVE_H

#include "ratelimit.h"
#include "sockd_config.h"

#include <stddef.h>
#include <sys/types.h>

struct sockd_counters {
	unsigned long long clients, requests, connected, bound, denied, malformed, failed;
};

struct sockd_server {
	const struct sockd_config *cfg;
	struct sockd_counters count;
	struct ratelimit refused; /* log lines for refusals clients can cause */
};

/* Answers the request in buf (len bytes) of a client with uid: fills rep, and sets *fd
 * to the socket to pass back (the caller closes it after sending), or -1. defect, when
 * not NULL, is what the caller found wrong with the message around the bytes (a
 * descriptor came with it...): malformed whatever the bytes say. Every refusal is counted
 * and logged (rate-limited). Never blocks: connects are non-blocking. */
void sockd_serve(struct sockd_server *sv, uid_t uid, const void *buf, size_t len,
		 const char *defect, struct sockd_reply *rep, int *fd);

#endif
