/* fddrop.h - getting rid of descriptors we refuse, without ever blocking on them */
#ifndef SB_FDDROP_H
#define SB_FDDROP_H

/* Drops a descriptor that arrived from a peer and is refused. A socket is closed
 * abortively (SO_LINGER {1, 0}: a sender's own linger time or unsent data cannot hold us);
 * a pipe, an anonymous inode or a memory device (/dev/null) is closed at once; anything
 * else (a file, whose close may wait for a FUSE or NFS flush; a terminal, which may wait
 * to drain) is closed by a background thread, so the caller's loop never waits on it. */
void fddrop(int fd);

#endif
