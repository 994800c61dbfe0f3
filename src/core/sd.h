/* sd.h - the two halves of systemd's sd-daemon protocol we need, without libsystemd */
#ifndef SB_SD_H
#define SB_SD_H

#define SD_LISTEN_FDS_START 3

/* Number of descriptors passed by socket activation (LISTEN_FDS for this LISTEN_PID),
 * starting at fd 3; 0 when none. Unsets the variables so children do not see them. */
int sd_listen_fds(void);

/* Sends state (e.g. "READY=1") to $NOTIFY_SOCKET if set. Returns 0 also when unset. */
int sd_notify_state(const char *state);

#endif
