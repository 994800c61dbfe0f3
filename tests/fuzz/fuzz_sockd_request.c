/* fuzz_sockd_request.c - the request and reply parsers of socketbox-sockd's wire protocol.
 *
 * The input is one message as it would arrive. Invariants: a refused request says why and
 * leaves nothing set; an accepted one is 24 bytes of version 1 with a known operation,
 * protocol and flags, a port for a connect, and encodes back to exactly the input; a reply
 * that parses encodes back to the input too. */
#include "sockd_proto.h"

#include "fuzz_util.h"

#define FZ_CHECK_ZERO(p, n)                                                                        \
	do {                                                                                       \
		for (size_t i_ = 0; i_ < (n); i_++)                                                \
			FZ_CHECK(((const uint8_t *)(p))[i_] == 0);                                 \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockd_request r;
	struct sockd_reply rep;
	uint8_t buf[SOCKD_REQ_LEN], rbuf[SOCKD_REP_LEN];
	const char *why = NULL;

	if (sockd_request_parse(data, size, &r, &why) < 0) {
		FZ_CHECK(why != NULL && why[0] != '\0');
		FZ_CHECK_ZERO(&r, sizeof(r));
	} else {
		FZ_CHECK(why == NULL && size == SOCKD_REQ_LEN);
		FZ_CHECK(r.op == SOCKD_CONNECT || r.op == SOCKD_BIND);
		FZ_CHECK(r.proto == SOCKD_TCP || r.proto == SOCKD_UDP);
		FZ_CHECK((r.flags & ~SOCKD_F_ALL) == 0);
		FZ_CHECK(r.op != SOCKD_CONNECT || r.port != 0);
		sockd_request_encode(&r, buf);
		FZ_CHECK(memcmp(buf, data, SOCKD_REQ_LEN) == 0);
	}
	if (sockd_reply_parse(data, size, &rep) == 0) {
		FZ_CHECK(size == SOCKD_REP_LEN && rep.status <= SOCKD_ESYSTEM);
		sockd_reply_encode(&rep, rbuf);
		/* bytes 2 and 3 are reserved: sent as 0, not looked at */
		FZ_CHECK(memcmp(rbuf, data, 2) == 0 && memcmp(rbuf + 4, data + 4, 4) == 0);
	}
	return 0;
}
