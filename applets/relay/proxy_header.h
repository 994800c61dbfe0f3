/* proxy_header.h - the HAProxy PROXY protocol header (v1 text, v2 binary) that tells a
 * backend who the client was and which address it dialled. */
#ifndef SB_PROXY_HEADER_H
#define SB_PROXY_HEADER_H

#include <stddef.h>
#include <sys/socket.h>

/* v1 is at most 107 bytes, v2 with IPv6 addresses 52: this holds either. */
#define PROXY_HEADER_MAX 108

/* Writes the header for a connection from src to dst into buf (at least
 * PROXY_HEADER_MAX bytes). version is 1 or 2. IPv4-mapped IPv6 addresses are sent as TCP4;
 * anything but two AF_INET/AF_INET6 addresses gives "UNKNOWN" (v1) or LOCAL (v2).
 * Returns the header's length, or 0 for a bad version. */
size_t proxy_header(int version, const struct sockaddr *src, const struct sockaddr *dst,
		    char *buf);

#endif
