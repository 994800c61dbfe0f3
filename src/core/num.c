/* num.c - checked integer parsing */
#include "num.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

int num_parse(const char *s, long long min, long long max, long long *out, const char **errstr)
{
	char *end;
	long long v;

	/* strtoll accepts leading blanks and a sign; we accept an optional '-' only. */
	if (s == NULL || *s == '\0' || !(isdigit((unsigned char)*s) || *s == '-')) {
		*errstr = "invalid";
		return -1;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || end == s || (*s == '-' && !isdigit((unsigned char)s[1]))) {
		*errstr = "invalid";
		return -1;
	}
	if ((errno == ERANGE && v == LLONG_MIN) || v < min) {
		*errstr = "too small";
		return -1;
	}
	if ((errno == ERANGE && v == LLONG_MAX) || v > max) {
		*errstr = "too large";
		return -1;
	}
	*out = v;
	return 0;
}

int num_parse_mode(const char *s, unsigned *mode)
{
	unsigned long v;
	char *end;

	if (s == NULL || *s < '0' || *s > '7')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 8);
	if (*end != '\0' || errno != 0 || v > 07777)
		return -1;
	*mode = (unsigned)v;
	return 0;
}
