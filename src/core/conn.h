/* conn.h - small operations on an accepted TCP connection */
#ifndef SB_CONN_H
#define SB_CONN_H

/* Closes fd so that the peer sees a reset (SO_LINGER with a zero timeout). */
void conn_reset(int fd);

#endif
