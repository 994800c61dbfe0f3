/* unixsock.c - UNIX datagram (seqpacket, listening stream) sockets by path or abstract
 * name */
#include "unixsock.h"
#include "ids.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int unixsock_addr(const char *path, struct sockaddr_un *sun, socklen_t *len)
{
	size_t n = strlen(path);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (n == 0 || (path[0] == '@' && n == 1)) {
		errno = EINVAL;
		return -1;
	}
	/* A path needs its NUL; an abstract name ("@" becomes the leading NUL) does not. */
	if (n > sizeof(sun->sun_path) || (path[0] != '@' && n == sizeof(sun->sun_path))) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun->sun_path, path, n);
	if (path[0] == '@') {
		/* Abstract: the name is the bytes after the NUL, no terminator. */
		sun->sun_path[0] = '\0';
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	}
	return 0;
}

int unixsock_connect(const char *path, int type)
{
	struct sockaddr_un sun;
	socklen_t len;
	int fd, saved;

	if (unixsock_addr(path, &sun, &len) < 0)
		return -1;
	fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, len) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int unixsock_connect_dgram(const char *path)
{
	return unixsock_connect(path, SOCK_DGRAM);
}

/* A socket file nobody receives on is stale: connecting to it is refused. */
static int unixsock_remove_stale(const char *path)
{
	struct stat st, now;
	int fd;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	fd = unixsock_connect_dgram(path);
	if (fd >= 0) {
		close(fd);
		errno = EADDRINUSE;
		return -1;
	}
	/* EPROTOTYPE: a live stream socket of some other program. Not ours to remove. */
	if (errno == EPROTOTYPE)
		errno = EADDRINUSE;
	if (errno != ECONNREFUSED && errno != ENOENT)
		return -1;
	/* Only the socket we looked at: not a file swapped in since. */
	if (lstat(path, &now) < 0)
		return errno == ENOENT ? 0 : -1;
	if (now.st_ino != st.st_ino || now.st_dev != st.st_dev) {
		errno = EADDRINUSE;
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

int unixsock_bind(const char *path, int type, unsigned mode)
{
	struct sockaddr_un sun;
	socklen_t len;
	mode_t old_umask;
	int fd, rc, saved;

	if (unixsock_addr(path, &sun, &len) < 0)
		return -1;
	if (path[0] != '@' && unixsock_remove_stale(path) < 0)
		return -1;
	fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* The file is born with mode: no chmod(path) afterwards, which would follow a
	 * symlink swapped in by anyone who can write the directory. */
	old_umask = umask(~mode & 0777);
	rc = bind(fd, (struct sockaddr *)&sun, len);
	umask(old_umask);
	if (rc < 0)
		goto bad;
	return fd;
bad:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int unixsock_bind_dgram(const char *path, unsigned mode)
{
	return unixsock_bind(path, SOCK_DGRAM, mode);
}

/* A stale stream socket file is refused by the datagram connect of unixsock_remove_stale
 * like a datagram one (ECONNREFUSED); a live one says EPROTOTYPE, and stays. */
int unixsock_listen_stream(const char *path, unsigned mode)
{
	int fd = unixsock_bind(path, SOCK_STREAM, mode);
	int saved;

	if (fd < 0 || listen(fd, SOMAXCONN) == 0)
		return fd;
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int unixsock_passcred(int fd)
{
	int on = 1;

	return setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));
}

int unixsock_set_group(const char *path, const char *group)
{
	gid_t gid;

	if (ids_group(group, &gid) < 0)
		return -1;
	/* Never through a symlink swapped in for the socket file. */
	return fchownat(AT_FDCWD, path, (uid_t)-1, gid, AT_SYMLINK_NOFOLLOW);
}
