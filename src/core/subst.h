/* subst.h - target path templates filled from the connection's local address and port.
 *
 *   %p    the local port, decimal ("443")
 *   %lN   the last N hex digits of the local address, N = 1..32, lower case
 *         (%l8 of ::ffff:192.0.2.1 is "c0000201", %l4 of 2001:db8::1:2a is "002a")
 *   %%    a percent sign
 *
 * Only digits come from the network, so a filled path never gains '/' or "..". */
#ifndef SB_SUBST_H
#define SB_SUBST_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Checks a template. Returns NULL, or what is wrong with it. */
const char *subst_check(const char *tmpl);

/* True when tmpl contains a token (needs filling per connection). */
bool subst_has_tokens(const char *tmpl);

/* Fills tmpl into out. Returns 0, or -1 when the result does not fit in outlen. */
int subst_fill(const char *tmpl, const struct in6_addr *local, uint16_t local_port, char *out,
	       size_t outlen);

#endif
