/* alloc_fault.h - failing one allocation on demand, for the unit tests linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup (see the Makefile): every
 * allocation of ours goes through the wrappers in alloc_fault.c; those of shared libraries
 * (libconfig, Check) do not. */
#ifndef SB_TEST_ALLOC_FAULT_H
#define SB_TEST_ALLOC_FAULT_H

/* Counts allocations down: the one made when it is 0 fails, and it becomes -1. -1 (the
 * start): none fails. Still >= 0 after a call means the call made fewer allocations. */
extern long alloc_countdown;

#endif
