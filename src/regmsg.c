/* regmsg.c - the registration protocol's messages */
#include "regmsg.h"

const unsigned char regmsg_accepted[4] = {0x80, 0, 0, 0};

const char *regmsg_parse(const unsigned char *buf, size_t len, uint32_t *slot)
{
	if (len != REGMSG_REQUEST_LEN)
		return len < REGMSG_REQUEST_LEN ? "request too short" : "request too long";
	if (buf[0] != 0x01)
		return "not a registration request";
	if (buf[1] || buf[2] || buf[3])
		return "reserved bytes are not zero";
	*slot = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
	return NULL;
}
