/* ports.c - port numbers, ranges and lists */
#include "ports.h"
#include "num.h"

#include <string.h>

static int ports_parse_one(const char *s, size_t len, uint16_t *port)
{
	char buf[8];
	const char *errstr;
	long long v;

	if (len == 0 || len >= sizeof(buf) || s[0] == '-')
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (num_parse(buf, 0, 65535, &v, &errstr) < 0)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int ports_parse_span(const char *s, size_t len, struct port_range *r)
{
	const char *dash = memchr(s, '-', len);

	if (dash == NULL) {
		if (ports_parse_one(s, len, &r->lo) < 0)
			return -1;
		r->hi = r->lo;
		return 0;
	}
	if (ports_parse_one(s, (size_t)(dash - s), &r->lo) < 0 ||
	    ports_parse_one(dash + 1, len - (size_t)(dash - s) - 1, &r->hi) < 0 || r->lo > r->hi)
		return -1;
	return 0;
}

int ports_parse_range(const char *s, struct port_range *r)
{
	return ports_parse_span(s, strlen(s), r);
}

int ports_parse_list(const char *s, struct port_range *out, unsigned max)
{
	unsigned n = 0;

	if (strcmp(s, "*") == 0 && max > 0) {
		out[0] = (struct port_range){0, 65535};
		return 1;
	}
	for (;;) {
		size_t len = strcspn(s, ",");

		if (n == max || ports_parse_span(s, len, &out[n]) < 0)
			return -1;
		n++;
		if (s[len] == '\0')
			return (int)n;
		s += len + 1;
	}
}

bool ports_contain(const struct port_range *p, unsigned n, uint16_t port)
{
	if (n == 0)
		return true;
	for (unsigned i = 0; i < n; i++)
		if (port >= p[i].lo && port <= p[i].hi)
			return true;
	return false;
}
