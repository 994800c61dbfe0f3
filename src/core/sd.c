/* sd.c - systemd socket activation and readiness notification */
#include "sd.h"
#include "num.h"
#include "unixsock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int sd_listen_fds(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS"), *errstr;
	long long p, n;
	int count = 0;

	if (pid && fds && num_parse(pid, 1, 1 << 30, &p, &errstr) == 0 && p == getpid() &&
	    num_parse(fds, 0, 1024, &n, &errstr) == 0) {
		count = (int)n;
		for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + count; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return count;
}

int sd_listen_fds_names(char *names, size_t len)
{
	const char *v = getenv("LISTEN_FDNAMES");

	if (len > 0)
		names[0] = '\0';
	if (v && strlen(v) < len)
		memcpy(names, v, strlen(v) + 1);
	return sd_listen_fds();
}

int sd_notify_state(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	int fd, rc;

	if (path == NULL || *path == '\0')
		return 0;
	if (unixsock_addr(path, &sun, &len) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	rc = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun, len) < 0
		     ? -1
		     : 0;
	close(fd);
	return rc;
}
