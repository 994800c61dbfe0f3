/* fuzz_connect_map.c - the SOCKETBOX_CONNECT parser of the preload library.
 *
 * The input is split at the first NUL: the value to parse, then bytes for lookups.
 * Invariants: a refused value leaves an empty map; an accepted one has 1 to
 * CONNECT_MAP_MAX rules, each with a prefix whose host bits are clear, a length of at
 * most 128, a path usable as a socket address; and lookups agree with a plain reference
 * (the first rule whose port is 0 or equal and whose prefix covers the address). */
#include "addr.h"
#include "connect_map.h"
#include "unixsock.h"

#include "fuzz_util.h"

static bool ref_covers(const struct connect_rule *r, const struct in6_addr *a)
{
	for (unsigned bit = 0; bit < r->plen; bit++) {
		unsigned m = 0x80u >> (bit % 8);

		if ((a->s6_addr[bit / 8] & m) != (r->prefix.s6_addr[bit / 8] & m))
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t tlen = nul ? (size_t)(nul - data) : size;
	char *text = malloc(tlen + 1);
	struct connect_map m;
	struct fz f = {nul ? nul + 1 : data + size, nul ? size - tlen - 1 : 0};

	memcpy(text, data, tlen);
	text[tlen] = '\0';
	if (connect_map_parse(&m, text) < 0) {
		FZ_CHECK(m.n == 0);
		free(text);
		return 0;
	}
	FZ_CHECK(m.n >= 1 && m.n <= CONNECT_MAP_MAX);
	for (unsigned i = 0; i < m.n; i++) {
		struct in6_addr masked = m.rules[i].prefix;
		struct sockaddr_un sun;
		socklen_t len;

		FZ_CHECK(m.rules[i].plen <= 128);
		addr_mask(&masked, m.rules[i].plen);
		FZ_CHECK(memcmp(&masked, &m.rules[i].prefix, sizeof(masked)) == 0);
		FZ_CHECK(unixsock_addr(m.rules[i].path, &sun, &len) == 0);
	}
	for (int k = 0; k < 8; k++) {
		struct in6_addr a;
		uint16_t port = fz_u16(&f);
		const struct connect_rule *got, *want = NULL;
		unsigned pick = fz_below(&f, m.n);

		/* half the time an address near one of the rules, else random bytes */
		fz_bytes(&f, &a, sizeof(a));
		if (fz_u8(&f) & 1) {
			memcpy(&a, &m.rules[pick].prefix, m.rules[pick].plen / 8);
			if (fz_u8(&f) & 1)
				port = m.rules[pick].port;
		}
		for (unsigned i = 0; i < m.n && want == NULL; i++)
			if ((m.rules[i].port == 0 || m.rules[i].port == port) &&
			    ref_covers(&m.rules[i], &a))
				want = &m.rules[i];
		got = connect_map_find(&m, &a, port);
		FZ_CHECK(got == want);
	}
	free(text);
	return 0;
}
