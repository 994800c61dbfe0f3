/* metrics_sum.h - exposition texts of several processes of one program added up into one:
 * the same sample (name and labels) in each is summed, so that N workers read as one. */
#ifndef SB_METRICS_SUM_H
#define SB_METRICS_SUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct metrics_sum;

struct metrics_sum *metrics_sum_new(void);

/* Adds the samples of text (len bytes): to the sample of the same name and labels, or as a
 * new one after the last of its name (or at the end, after its HELP and TYPE lines). Names
 * ending in "_info" or "uptime_seconds" keep the largest value instead of the sum. With
 * known_only, samples not already there are left out. Returns 0, or -1 when out of memory
 * (what was added stays). */
int metrics_sum_add(struct metrics_sum *s, const char *text, size_t len, bool known_only);

/* The sum of the samples called name, whatever their labels. */
unsigned long long metrics_sum_total(const struct metrics_sum *s, const char *name);

/* The added-up text: HELP and TYPE lines once, then the samples. */
void metrics_sum_write(const struct metrics_sum *s, FILE *out);

void metrics_sum_free(struct metrics_sum *s);

#endif
