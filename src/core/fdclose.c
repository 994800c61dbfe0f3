/* fdclose.c - closing the descriptors of a batch in few system calls */
#include "fdclose.h"

#include <unistd.h>

/* Closes first..last; one by one where close_range is missing (Linux before 5.9). */
static void fdclose_run(int first, int last)
{
	if (first == last || close_range((unsigned)first, (unsigned)last, 0) < 0)
		for (int fd = first; fd <= last; fd++)
			close(fd);
}

void fdclose_add(struct fdclose *c, int fd)
{
	if (c->n == FDCLOSE_MAX)
		fdclose_flush(c);
	c->fds[c->n++] = fd;
}

void fdclose_flush(struct fdclose *c)
{
	unsigned i, j;

	/* Insertion sort: the numbers mostly arrive in order already. */
	for (i = 1; i < c->n; i++) {
		int fd = c->fds[i];

		for (j = i; j > 0 && c->fds[j - 1] > fd; j--)
			c->fds[j] = c->fds[j - 1];
		c->fds[j] = fd;
	}
	for (i = 0; i < c->n; i = j) {
		for (j = i + 1; j < c->n && c->fds[j] == c->fds[j - 1] + 1; j++)
			;
		fdclose_run(c->fds[i], c->fds[j - 1]);
	}
	c->n = 0;
}
