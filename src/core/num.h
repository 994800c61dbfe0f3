/* num.h - checked integer parsing (after OpenBSD's strtonum) */
#ifndef SB_NUM_H
#define SB_NUM_H

/* Parses all of s as a decimal integer in [min, max]. Returns 0 and sets *out,
 * or returns -1 and sets *errstr to "invalid", "too small" or "too large". */
int num_parse(const char *s, long long min, long long max, long long *out, const char **errstr);

/* Parses an octal file mode such as "0660" (at most 07777). */
int num_parse_mode(const char *s, unsigned *mode);

#endif
