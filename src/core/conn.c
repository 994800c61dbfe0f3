/* conn.c - small operations on an accepted TCP connection */
#include "conn.h"

#include <sys/socket.h>
#include <unistd.h>

void conn_reset(int fd)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	/* Fails only for a non-socket, which close() still handles. */
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}
