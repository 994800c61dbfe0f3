/* helpers.h - what several unit tests share (linked into every unit test binary) */
#ifndef SB_TEST_HELPERS_H
#define SB_TEST_HELPERS_H

/* The number of descriptors open in this process (entries of /proc/self/fd). */
int open_fds(void);

#endif
