/* applet.c - how every applet starts */
#include "applet.h"

#include <fcntl.h>
#include <unistd.h>

void applet_init(const char *name, const char *usage)
{
	int fd;

	cli_init(name, usage);
	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}
