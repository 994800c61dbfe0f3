/* regmsg.h - the registration protocol's messages (the Python socketbox's, see socketbox(8)
 * PROTOCOL): request {0x01, 0, 0, 0, slot as big-endian u32}, answer {0x80, 0, 0, 0}, then
 * one {0x03, 0, 0, 0} with one descriptor in SCM_RIGHTS per handed-off connection. */
#ifndef SB_REGMSG_H
#define SB_REGMSG_H

#include <stddef.h>
#include <stdint.h>

#define REGMSG_REQUEST_LEN 8

extern const unsigned char regmsg_accepted[4];

/* Parses a request of len bytes (its real length, also when more arrived than buf
 * holds). Returns NULL and sets *slot, or says what is wrong with it. */
const char *regmsg_parse(const unsigned char *buf, size_t len, uint32_t *slot);

#endif
