/* fdclose.h - closing the descriptors of a batch in few system calls */
#ifndef SB_FDCLOSE_H
#define SB_FDCLOSE_H

#define FDCLOSE_MAX 128

/* Descriptors to close once a batch is done. accept4 gives the lowest free numbers, so the
 * connections of one batch are mostly consecutive: one close_range closes a run of them. */
struct fdclose {
	int fds[FDCLOSE_MAX];
	unsigned n;
};

/* Closes fd later; at once the ones waiting when there is no more room. */
void fdclose_add(struct fdclose *c, int fd);

/* Closes every descriptor waiting. */
void fdclose_flush(struct fdclose *c);

#endif
