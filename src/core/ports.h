/* ports.h - port numbers, ranges "LO-HI" and lists "80,443,8000-8099" */
#ifndef SB_PORTS_H
#define SB_PORTS_H

#include <stdbool.h>
#include <stdint.h>

struct port_range {
	uint16_t lo, hi;
};

/* Parses "N" or "LO-HI" with 0 <= LO <= HI <= 65535. Returns 0, or -1. */
int ports_parse_range(const char *s, struct port_range *r);

/* Parses a comma-separated list of ports and ranges into out (at most max), or "*" for
 * every port (one range 0-65535). Returns the number of ranges, or -1. */
int ports_parse_list(const char *s, struct port_range *out, unsigned max);

/* True when port is in one of the n ranges; n == 0 means any port. */
bool ports_contain(const struct port_range *p, unsigned n, uint16_t port);

#endif
