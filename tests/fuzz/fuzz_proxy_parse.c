/* fuzz_proxy_parse.c - the PROXY protocol header reader, the one place socketbox reads
 * bytes of a connection.
 *
 * The input is what a peer sent, in a heap block of exactly its size (ASan sees any read
 * past it). Invariants: the result is -1, 0 or a length of at most the input and at most
 * PROXY_PARSE_MAX; 0 only while fewer than PROXY_PARSE_MAX bytes are there; a header's
 * length and addresses do not depend on the bytes after it (the header alone parses the
 * same, and with different bytes after it too); every proper prefix of a header asks for
 * more; and a header with addresses, written again by the relay's writer in either
 * version, reads back to the same addresses and ports. */
#include "proxy_header.h"
#include "proxy_parse.h"

#include "fuzz_util.h"

#include <arpa/inet.h>

static int parse_copy(const uint8_t *data, size_t len, struct proxy_info *info)
{
	uint8_t *buf = malloc(len ? len : 1);
	const char *why = NULL;
	int rc;

	memcpy(buf, data, len);
	memset(info, 0, sizeof(*info));
	rc = proxy_parse(buf, len, info, &why);
	FZ_CHECK(why != NULL);
	FZ_CHECK(rc >= 0 || why[0] != '\0');
	free(buf);
	return rc;
}

static bool same(const struct proxy_info *a, const struct proxy_info *b)
{
	if (a->version != b->version || a->local != b->local)
		return false;
	return a->local || (memcmp(&a->src, &b->src, 16) == 0 && memcmp(&a->dst, &b->dst, 16) == 0 &&
			    a->src_port == b->src_port && a->dst_port == b->dst_port);
}

static void rewrite(const struct proxy_info *info)
{
	struct sockaddr_in6 s = {.sin6_family = AF_INET6, .sin6_addr = info->src,
				 .sin6_port = htons(info->src_port)};
	struct sockaddr_in6 d = {.sin6_family = AF_INET6, .sin6_addr = info->dst,
				 .sin6_port = htons(info->dst_port)};
	char buf[PROXY_HEADER_MAX];

	for (int version = 1; version <= 2; version++) {
		size_t len = proxy_header(version, (struct sockaddr *)&s, (struct sockaddr *)&d, buf);
		struct proxy_info again;

		FZ_CHECK(parse_copy((const uint8_t *)buf, len, &again) == (int)len);
		FZ_CHECK(!again.local && again.version == version);
		again.version = info->version;
		FZ_CHECK(same(info, &again));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_info info, alone;
	int rc = parse_copy(data, size, &info);

	FZ_CHECK(rc >= -1 && rc <= (int)size && rc <= PROXY_PARSE_MAX);
	if (rc == 0)
		FZ_CHECK(size < PROXY_PARSE_MAX);
	if (rc <= 0)
		return 0;
	FZ_CHECK(info.version == 1 || info.version == 2);
	FZ_CHECK(parse_copy(data, (size_t)rc, &alone) == rc && same(&info, &alone));
	if ((size_t)rc < size) {
		uint8_t *other = malloc(size);

		memcpy(other, data, size);
		for (size_t i = (size_t)rc; i < size; i++)
			other[i] ^= 0xff;
		FZ_CHECK(parse_copy(other, size, &alone) == rc && same(&info, &alone));
		free(other);
	}
	for (int i = 0; i < rc; i++)
		FZ_CHECK(parse_copy(data, (size_t)i, &alone) == 0);
	if (!info.local)
		rewrite(&info);
	return 0;
}
