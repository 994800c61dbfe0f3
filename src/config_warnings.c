/* config_warnings.c - what a load warns about without refusing the file (`socketbox -c`
 * prints it, a start and a reload log it): targets no rule and no default sends anything
 * to, rule sets no rule jumps to, and rules that never match because an earlier rule of the
 * same set decides every connection they would match. */
#include "config_loader.h"
#include "addr.h"

#include <stdlib.h>
#include <string.h>

/* Rule pairs compared for shadowing, in all: the check is quadratic in the rules of a set,
 * and a generated file of 100,000 rules must still load in a blink. Past this, no more
 * warnings of that kind. */
#define SHADOW_MAX_PAIRS 2000000

/* Whether prefix a/alen contains b/blen. */
static bool prefix_covers(struct in6_addr a, unsigned alen, struct in6_addr b, unsigned blen)
{
	if (alen > blen)
		return false;
	addr_mask(&a, alen);
	addr_mask(&b, alen);
	return memcmp(&a, &b, sizeof(a)) == 0;
}

/* Whether the ranges a (none: any port) cover every port of b. */
static bool ports_cover(const struct port_range *a, unsigned na, const struct port_range *b,
			unsigned nb)
{
	if (na == 0)
		return true;
	if (nb == 0) {
		for (unsigned i = 0; i < na; i++)
			if (a[i].lo == 0 && a[i].hi == 65535)
				return true;
		return false;
	}
	for (unsigned j = 0; j < nb; j++) {
		unsigned i = 0;

		while (i < na && !(a[i].lo <= b[j].lo && b[j].hi <= a[i].hi))
			i++;
		if (i == na)
			return false;
	}
	return true;
}

static bool rule_covers(const struct rule_match *a, const struct rule_match *b)
{
	return prefix_covers(a->local, a->local_plen, b->local, b->local_plen) &&
	       prefix_covers(a->remote, a->remote_plen, b->remote, b->remote_plen) &&
	       ports_cover(a->local_ports, a->nlocal_ports, b->local_ports, b->nlocal_ports) &&
	       ports_cover(a->remote_ports, a->nremote_ports, b->remote_ports, b->nremote_ports);
}

/* The line of the first earlier rule (before index first) that decides every connection e
 * matches, or 0. */
static unsigned shadowed_by(const struct rules *rs, uint32_t set, size_t first,
			    const struct rule_entry *e, unsigned long *pairs)
{
	struct rule_entry d;

	for (size_t i = 0; i < first && *pairs < SHADOW_MAX_PAIRS; i++, (*pairs)++) {
		rules_entry(rs, set, i, &d);
		if (d.action != RULE_JUMP && rule_covers(&d.m, &e->m))
			return d.line;
	}
	return 0;
}

/* The rule of list at line, with its name ("rules[2]") in where. */
static const config_setting_t *rule_setting(const config_setting_t *list, const char *name,
					    unsigned line, char *where, size_t len)
{
	for (int k = 0; k < config_setting_length(list); k++) {
		const config_setting_t *r = config_setting_get_elem(list, (unsigned)k);

		if (config_setting_source_line(r) == line) {
			snprintf(where, len, "%s[%d]", name, k);
			return r;
		}
	}
	snprintf(where, len, "%s", name);
	return list;
}

/* A rule added once per pair of addresses is shadowed when each of its pairs is. */
static void config_warn_shadowed(struct loader *ld, const config_setting_t *list, const char *name,
				 uint32_t set, unsigned long *pairs)
{
	const struct rules *rs = ld->cfg->rules;
	size_t n = rules_set_size(rs, set);
	struct rule_entry e;
	char where[300];

	for (size_t g = 0, end; g < n; g = end) {
		unsigned line, by = 0;
		bool all = true;

		rules_entry(rs, set, g, &e);
		line = e.line;
		for (end = g; end < n; end++) {
			rules_entry(rs, set, end, &e);
			if (e.line != line)
				break;
			if (all) {
				unsigned b = shadowed_by(rs, set, g, &e, pairs);

				all = b != 0;
				by = by ? by : b;
			}
		}
		if (!all)
			continue;
		config_warning(ld, rule_setting(list, name, line, where, sizeof(where)), where,
			       "never matches: the rule at line %u matches every connection it "
			       "would, first",
			       by);
	}
}

void config_warn_unused(struct loader *ld, const config_setting_t *root)
{
	const config_setting_t *targets = config_setting_get_member(root, "targets");
	const config_setting_t *sets = config_setting_get_member(root, "rulesets");
	const config_setting_t *rules = config_setting_get_member(root, "rules");
	const struct rules *rs = ld->cfg->rules;
	size_t nsets = rules_nsets(rs);
	bool *used = calloc(ld->cfg->ntargets + 1, sizeof(bool));
	bool *jumped = calloc(nsets + 1, sizeof(bool));
	unsigned long pairs = 0;
	struct rule_entry e;
	uint32_t t;
	char where[300];

	if (used == NULL || jumped == NULL) {
		config_error(ld, rules, "rules", "out of memory");
		goto done;
	}
	if (rules_default(rs, &t) == RULE_TARGET)
		used[t] = true;
	for (uint32_t s = 0; s < nsets; s++) {
		for (size_t i = 0; i < rules_set_size(rs, s); i++) {
			rules_entry(rs, s, i, &e);
			if (e.action == RULE_TARGET)
				used[e.arg] = true;
			else if (e.action == RULE_JUMP)
				jumped[e.arg] = true;
		}
	}
	for (unsigned i = 0; targets && i < ld->cfg->ntargets; i++) {
		if (used[i])
			continue;
		snprintf(where, sizeof(where), "targets.%s", ld->cfg->targets[i].name);
		config_warning(ld, config_setting_get_member(targets, ld->cfg->targets[i].name),
			       where, "no rule and not the default sends connections here");
	}
	if (rules)
		config_warn_shadowed(ld, rules, "rules", 0, &pairs);
	for (uint32_t s = 1; sets && s < nsets; s++) {
		const config_setting_t *set =
		    config_setting_get_member(sets, rules_set_name(rs, s));

		snprintf(where, sizeof(where), "rulesets.%s", rules_set_name(rs, s));
		if (!jumped[s])
			config_warning(ld, set, where,
				       "no rule jumps to this set, so its rules never match");
		if (set)
			config_warn_shadowed(ld, set, where, s, &pairs);
	}
done:
	free(used);
	free(jumped);
}
