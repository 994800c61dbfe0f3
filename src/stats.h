/* stats.h - socketbox's counters in the Prometheus text format: the listener's, each
 * target's (handoff.h) and how many connections each rule set decided */
#ifndef SB_STATS_H
#define SB_STATS_H

#include "handoff.h"
#include "rules.h"

#include <stdint.h>
#include <stdio.h>

/* The acceptor's own counters, for one rendering. */
struct stats_global {
	unsigned long long accepted, rejected, dropped, accept_errors, accept_pauses, reloads;
	uint64_t uptime_s;
};

/* Decisions per rule set, kept by set name across reloads. */
struct stats_sets;

struct stats_sets *stats_sets_new(void);
/* Takes the sets of rules; a set of the same name keeps its count. Returns 0, or -1 when
 * out of memory (the old sets stay). */
int stats_sets_configure(struct stats_sets *ss, const struct rules *rules);
/* Counts v, a verdict of the rules last configured. */
void stats_sets_count(struct stats_sets *ss, const struct verdict *v);
void stats_sets_free(struct stats_sets *ss);

void stats_render(FILE *out, const struct stats_global *g, const struct handoff *h,
		  const struct stats_sets *ss);

#endif
