/* sd.h - the two halves of systemd's sd-daemon protocol we need, without libsystemd */
#ifndef SB_SD_H
#define SB_SD_H

#include <stddef.h>

#define SD_LISTEN_FDS_START 3

/* Number of descriptors passed by socket activation (LISTEN_FDS for this LISTEN_PID),
 * starting at fd 3; 0 when none. Unsets the variables so children do not see them. */
int sd_listen_fds(void);

/* Like sd_listen_fds, and copies LISTEN_FDNAMES (names separated by ':', in the order of
 * the descriptors) into names, or "" when it is not set or does not fit. */
int sd_listen_fds_names(char *names, size_t len);

/* Sends state (e.g. "READY=1") to $NOTIFY_SOCKET if set. Returns 0 also when unset. */
int sd_notify_state(const char *state);

#endif
