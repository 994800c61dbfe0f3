/* subst.c - target path templates filled from the local address and port */
#include "subst.h"

#include <stdio.h>
#include <string.h>

/* Reads the N of "%lN" at s (just past the 'l'); returns the digits used, 0 if invalid. */
static size_t subst_nibbles(const char *s, unsigned *n)
{
	size_t used = 0;

	*n = 0;
	while (s[used] >= '0' && s[used] <= '9' && used < 2)
		*n = *n * 10 + (unsigned)(s[used++] - '0');
	if (used == 0 || *n < 1 || *n > 32)
		return 0;
	return used;
}

const char *subst_check(const char *tmpl)
{
	unsigned n;

	for (const char *s = tmpl; *s; s++) {
		if (*s != '%')
			continue;
		s++;
		if (*s == '%' || *s == 'p')
			continue;
		if (*s == 'l' && subst_nibbles(s + 1, &n) > 0) {
			s += subst_nibbles(s + 1, &n);
			continue;
		}
		return "unknown token (use %p, %l1 to %l32, or %%)";
	}
	return NULL;
}

bool subst_has_tokens(const char *tmpl)
{
	return strchr(tmpl, '%') != NULL;
}

int subst_fill(const char *tmpl, const struct in6_addr *local, uint16_t local_port, char *out,
	       size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	unsigned n;

#define PUT(c)                                                                                     \
	do {                                                                                       \
		if (o + 1 >= outlen)                                                               \
			return -1;                                                                 \
		out[o++] = (c);                                                                    \
	} while (0)

	for (const char *s = tmpl; *s; s++) {
		if (*s != '%') {
			PUT(*s);
		} else if (s[1] == '%') {
			PUT('%');
			s++;
		} else if (s[1] == 'p') {
			char port[8];

			snprintf(port, sizeof(port), "%u", local_port);
			for (const char *d = port; *d; d++)
				PUT(*d);
			s++;
		} else if (s[1] == 'l' && subst_nibbles(s + 2, &n) > 0) {
			s += 1 + subst_nibbles(s + 2, &n);
			for (unsigned i = 32 - n; i < 32; i++) {
				uint8_t byte = local->s6_addr[i / 2];

				PUT(hex[i % 2 ? byte & 0xf : byte >> 4]);
			}
		} else {
			return -1;
		}
	}
#undef PUT
	if (outlen == 0)
		return -1;
	out[o] = '\0';
	return 0;
}
