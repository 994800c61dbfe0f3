/* stats.c - what socketbox exposes (metrics.h serves it): names, types and help texts
 * follow the Prometheus conventions (counters end in _total, what is now is a gauge). */
#include "stats.h"
#include "metrics.h"
#include "version.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The label value of connections no rule decided. Set names are libconfig names, which
 * have no parentheses. */
#define STATS_DEFAULT_SET "(default)"

#define STATS_N(a) (sizeof(a) / sizeof((a)[0]))

struct stats_sets {
	char **names; /* nsets + 1: the last one counts the default */
	unsigned long long *decided;
	size_t n;
};

struct stats_field {
	const char *name, *type, *help;
	size_t offset; /* in struct handoff_counters (struct slot_counters) */
};

/* Per target. A counter more in struct handoff_counters is a line more here. */
static const struct stats_field stats_target_fields[] = {
    {"socketbox_connections_accepted_total", "counter", "Connections the rules gave to the target.",
     offsetof(struct handoff_counters, accepted)},
    {"socketbox_connections_handed_total", "counter",
     "Connections handed to an applet of the target.", offsetof(struct handoff_counters, handed)},
    {"socketbox_connections_queued_total", "counter",
     "Connections that had to wait in a queue for an applet.",
     offsetof(struct handoff_counters, queued)},
    {"socketbox_connections_waiting", "gauge", "Connections waiting in a queue now.",
     offsetof(struct handoff_counters, waiting)},
    {"socketbox_connections_waiting_max", "gauge",
     "The most connections that waited in queues at once (high-water mark).",
     offsetof(struct handoff_counters, waiting_max)},
    {"socketbox_connections_reset_queue_full_total", "counter",
     "Connections reset because every queue of the target was full.",
     offsetof(struct handoff_counters, refused_full)},
    {"socketbox_connections_reset_no_applet_total", "counter",
     "Connections reset because no applet of the target was reachable.",
     offsetof(struct handoff_counters, refused_dead)},
    {"socketbox_connections_expired_total", "counter",
     "Connections reset because they waited longer than queue_timeout.",
     offsetof(struct handoff_counters, expired)},
};

struct stats_sets *stats_sets_new(void)
{
	return calloc(1, sizeof(struct stats_sets));
}

static void stats_sets_clear(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

int stats_sets_configure(struct stats_sets *ss, const struct rules *rules)
{
	size_t n = rules_nsets(rules) + 1;
	char **names = calloc(n, sizeof(*names));
	unsigned long long *decided = calloc(n, sizeof(*decided));

	if (names == NULL || decided == NULL)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		const char *name =
		    i + 1 < n ? rules_set_name(rules, (uint32_t)i) : STATS_DEFAULT_SET;

		if ((names[i] = strdup(name)) == NULL)
			goto bad;
		for (size_t j = 0; j < ss->n; j++)
			if (strcmp(ss->names[j], name) == 0)
				decided[i] = ss->decided[j];
	}
	stats_sets_clear(ss->names, ss->n);
	free(ss->decided);
	ss->names = names;
	ss->decided = decided;
	ss->n = n;
	return 0;
bad:
	stats_sets_clear(names, n);
	free(decided);
	return -1;
}

void stats_sets_count(struct stats_sets *ss, const struct verdict *v)
{
	size_t i = v->line == 0 ? ss->n - 1 : v->set;

	if (i < ss->n)
		ss->decided[i]++;
}

void stats_sets_free(struct stats_sets *ss)
{
	if (ss == NULL)
		return;
	stats_sets_clear(ss->names, ss->n);
	free(ss->decided);
	free(ss);
}

/* Per target with a slot (struct slot_counters): its registered applets and what they lost. */
static const struct stats_field stats_slot_fields[] = {
    {"socketbox_slot_applets", "gauge", "Applets registered for the target's slot now.",
     offsetof(struct slot_counters, applets)},
    {"socketbox_slot_lost_total", "counter",
     "Connections sent to an applet of the slot that died before reading them (at most).",
     offsetof(struct slot_counters, lost)},
};

static const void *stats_of_target(const struct handoff *h, unsigned t)
{
	return handoff_target_counters(h, t);
}

static const void *stats_of_slot(const struct handoff *h, unsigned t)
{
	return handoff_target_slot(h, t);
}

/* n fields of the counters of(h, t) points to, labelled by target; none where it is NULL. */
static void stats_targets(FILE *out, const struct handoff *h, const struct stats_field *fields,
			  size_t n, const void *(*of)(const struct handoff *, unsigned))
{
	for (size_t f = 0; f < n; f++) {
		metrics_help(out, fields[f].name, fields[f].type, fields[f].help);
		for (unsigned t = 0; t < handoff_ntargets(h); t++) {
			const char *c = of(h, t);

			if (c)
				metrics_sample(out, fields[f].name, "target",
					       handoff_target_name(h, t),
					       *(const unsigned long long *)(c + fields[f].offset));
		}
	}
}

void stats_render(FILE *out, const struct stats_global *g, const struct handoff *h,
		  const struct stats_sets *ss)
{
	const struct metrics_value global[] = {
	    {"socketbox_uptime_seconds", "gauge", "Seconds since socketbox started.", g->uptime_s},
	    {"socketbox_connections_total", "counter", "Connections accepted on the listener.",
	     g->accepted},
	    {"socketbox_connections_rejected_total", "counter",
	     "Connections reset by a reject rule.", g->rejected},
	    {"socketbox_connections_dropped_total", "counter", "Connections closed by a drop rule.",
	     g->dropped},
	    {"socketbox_accept_errors_total", "counter",
	     "Connections lost between accept and the rules (the peer had gone).",
	     g->accept_errors},
	    {"socketbox_accept_pauses_total", "counter",
	     "Times accepting paused for lack of descriptors or memory.", g->accept_pauses},
	    {"socketbox_reloads_total", "counter", "Configuration reloads that took effect.",
	     g->reloads},
	};

	metrics_help(out, "socketbox_info", "gauge", "The version of socketbox running.");
	metrics_sample(out, "socketbox_info", "version", SOCKETBOX_VERSION, 1);
	metrics_values(out, global, sizeof(global) / sizeof(global[0]));
	stats_targets(out, h, stats_target_fields, STATS_N(stats_target_fields), stats_of_target);
	stats_targets(out, h, stats_slot_fields, STATS_N(stats_slot_fields), stats_of_slot);
	metrics_help(out, "socketbox_ruleset_decisions_total", "counter",
		     "Connections decided by a rule of the set (\"" STATS_DEFAULT_SET
		     "\": by the default).");
	for (size_t i = 0; i < ss->n; i++)
		metrics_sample(out, "socketbox_ruleset_decisions_total", "ruleset", ss->names[i],
			       ss->decided[i]);
}
