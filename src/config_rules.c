/* config_rules.c - the rules of socketbox.conf(5): the main list, the rule sets a rule may
 * jump to, and the default. Each rule is read into a struct rule_conf (match keys and
 * verdict), then added to the rule set once per pair of local and remote address. */
#include "config_loader.h"
#include "addr.h"
#include "ports.h"
#include "rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RULE_MAX_PORTS 4096

/* What one rule says: its match keys, and what happens to a connection it matches. */
struct rule_conf {
	struct prefix_list local, remote;
	struct port_range *local_ports, *remote_ports; /* NULL: any port */
	unsigned nlocal_ports, nremote_ports;
	enum rule_action action;
	uint32_t arg; /* the target (RULE_TARGET) or the rule set (RULE_JUMP) */
};

/* The target number of name, or -1. */
static int config_find_target(const struct config *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->ntargets; i++)
		if (strcmp(cfg->targets[i].name, name) == 0)
			return (int)i;
	return -1;
}

int config_values(struct loader *ld, const config_setting_t *s, const char *key, int max,
		  const char *what)
{
	int n;

	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return 1;
	n = config_setting_length(s);
	if (n == 0 || n > max) {
		config_error(ld, s, key, "needs 1 to %d %s, not %d", max, what, n);
		return -1;
	}
	return n;
}

const config_setting_t *config_value(const config_setting_t *s, int i)
{
	if (config_setting_is_array(s) || config_setting_is_list(s))
		return config_setting_get_elem(s, (unsigned)i);
	return s;
}

void config_prefixes(struct loader *ld, const config_setting_t *g, const char *where,
		     const char *name, struct prefix_list *out)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	char key[400];
	int n;

	memset(out, 0, sizeof(*out));
	if (s == NULL) {
		out->n = 1;
		return;
	}
	snprintf(key, sizeof(key), "%s.%s", where, name);
	n = config_values(ld, s, key, RULE_MAX_PREFIXES, "addresses");
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_value(s, i);
		const char *text = config_string(ld, e, key);
		unsigned plen;

		if (text == NULL)
			continue;
		if (addr_parse_prefix(text, &out->addr[out->n], &plen) < 0) {
			config_error(ld, e, key, "\"%s\" is not an address or prefix", text);
			continue;
		}
		out->plen[out->n++] = (uint8_t)plen;
	}
}

/* One port: a number, or a string "N" or "A-B". */
static bool config_port_range(struct loader *ld, const config_setting_t *e, const char *key,
			      struct port_range *r)
{
	long long v;

	if (config_is_int(e)) {
		if (!config_int(ld, e, key, 0, 65535, &v))
			return false;
		r->lo = r->hi = (uint16_t)v;
		return true;
	}
	if (config_setting_type(e) == CONFIG_TYPE_STRING) {
		const char *text = config_setting_get_string(e);

		if (ports_parse_range(text, r) == 0)
			return true;
		config_error(ld, e, key,
			     "\"%s\" is not a port or a range \"LOW-HIGH\" within 0-65535", text);
		return false;
	}
	config_error(ld, e, key, "must be a port number, a \"LOW-HIGH\" range or a list, not %s",
		     config_type_name(e));
	return false;
}

struct port_range *config_ports(struct loader *ld, const config_setting_t *g, const char *where,
				const char *name, unsigned *count)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	struct port_range *ports;
	char key[400];
	int n;

	*count = 0;
	if (s == NULL)
		return NULL;
	snprintf(key, sizeof(key), "%s.%s", where, name);
	n = config_values(ld, s, key, RULE_MAX_PORTS, "ports");
	if (n < 0)
		return NULL;
	ports = calloc((size_t)n, sizeof(*ports));
	if (ports == NULL) {
		config_error(ld, s, key, "out of memory");
		return NULL;
	}
	for (int i = 0; i < n; i++)
		if (config_port_range(ld, config_value(s, i), key, &ports[*count]))
			(*count)++;
	return ports;
}

static void config_rule_target(struct loader *ld, const config_setting_t *s, const char *key,
			       struct rule_conf *rc)
{
	const char *name = config_string(ld, s, key);
	int t = name ? config_find_target(ld->cfg, name) : -1;

	if (name && t < 0)
		config_error(ld, s, key, "no target named \"%s\" in targets", name);
	rc->action = RULE_TARGET;
	rc->arg = t < 0 ? 0 : (uint32_t)t;
}

static void config_rule_action(struct loader *ld, const config_setting_t *s, const char *key,
			       struct rule_conf *rc)
{
	const char *name = config_string(ld, s, key);

	if (name && strcmp(name, "reject") == 0)
		rc->action = RULE_REJECT;
	else if (name && strcmp(name, "drop") == 0)
		rc->action = RULE_DROP;
	else if (name)
		config_error(ld, s, key, "\"%s\" is not \"reject\" or \"drop\"", name);
}

static void config_rule_jump(struct loader *ld, const config_setting_t *s, const char *key,
			     struct rule_conf *rc)
{
	const char *name = config_string(ld, s, key);
	int j = name ? rules_find_set(ld->cfg->rules, name) : -1;

	/* Set 0 is the main list: a rule set cannot jump back to it. */
	if (name && j <= 0)
		config_error(ld, s, key, "no rule set named \"%s\" in rulesets", name);
	rc->action = RULE_JUMP;
	rc->arg = j < 0 ? 0 : (uint32_t)j;
}

/* Exactly one of "target", "action" or "jump" says what happens on a match. */
static void config_rule_verdict(struct loader *ld, const config_setting_t *g, const char *where,
				struct rule_conf *rc)
{
	const config_setting_t *target = config_setting_get_member(g, "target");
	const config_setting_t *action = config_setting_get_member(g, "action");
	const config_setting_t *jump = config_setting_get_member(g, "jump");
	char key[400];

	if ((target != NULL) + (action != NULL) + (jump != NULL) != 1) {
		config_error(ld, g, where,
			     "needs exactly one of \"target\", \"action\" or \"jump\"");
		return;
	}
	snprintf(key, sizeof(key), "%s.%s", where, target ? "target" : action ? "action" : "jump");
	if (target)
		config_rule_target(ld, target, key, rc);
	else if (action)
		config_rule_action(ld, action, key, rc);
	else
		config_rule_jump(ld, jump, key, rc);
}

/* A list of addresses is the same rule once per address, in order. */
static void config_rule_add(struct loader *ld, uint32_t set, const config_setting_t *g,
			    const char *where, const struct rule_conf *rc)
{
	unsigned line = config_setting_source_line(g);
	struct rule_match m;

	memset(&m, 0, sizeof(m));
	m.local_ports = rc->local_ports;
	m.nlocal_ports = rc->nlocal_ports;
	m.remote_ports = rc->remote_ports;
	m.nremote_ports = rc->nremote_ports;
	for (unsigned i = 0; i < rc->local.n; i++) {
		for (unsigned j = 0; j < rc->remote.n; j++) {
			m.local = rc->local.addr[i];
			m.local_plen = rc->local.plen[i];
			m.remote = rc->remote.addr[j];
			m.remote_plen = rc->remote.plen[j];
			if (rules_add(ld->cfg->rules, set, &m, rc->action, rc->arg, line) < 0) {
				config_error(ld, g, where, "out of memory");
				return;
			}
		}
	}
}

static void config_load_rule(struct loader *ld, uint32_t set, const config_setting_t *g,
			     const char *where)
{
	static const char *const keys[] = {"local",  "remote", "local_port", "remote_port",
					   "target", "action", "jump",	     NULL};
	unsigned errors = ld->errors;
	struct rule_conf rc;

	if (!config_setting_is_group(g)) {
		config_error(ld, g, where, "must be a group { ... }, not %s", config_type_name(g));
		return;
	}
	memset(&rc, 0, sizeof(rc));
	config_check_keys(ld, g, where, keys);
	config_prefixes(ld, g, where, "local", &rc.local);
	config_prefixes(ld, g, where, "remote", &rc.remote);
	rc.local_ports = config_ports(ld, g, where, "local_port", &rc.nlocal_ports);
	rc.remote_ports = config_ports(ld, g, where, "remote_port", &rc.nremote_ports);
	config_rule_verdict(ld, g, where, &rc);
	if (ld->errors == errors)
		config_rule_add(ld, set, g, where, &rc);
	free(rc.local_ports);
	free(rc.remote_ports);
}

static void config_load_rule_list(struct loader *ld, uint32_t set, const config_setting_t *list,
				  const char *name)
{
	int n = config_setting_length(list);
	char where[300];

	if (!config_setting_is_list(list)) {
		config_error(ld, list, name, "must be a list ( { ... }, ... ), not %s",
			     config_type_name(list));
		return;
	}
	for (int i = 0; i < n; i++) {
		snprintf(where, sizeof(where), "%s[%d]", name, i);
		config_load_rule(ld, set, config_setting_get_elem(list, (unsigned)i), where);
	}
}

void config_load_rules(struct loader *ld, const config_setting_t *root)
{
	const config_setting_t *rules = config_setting_get_member(root, "rules");
	const config_setting_t *sets = config_setting_get_member(root, "rulesets");
	const config_setting_t *def = config_setting_get_member(root, "default");
	struct rules *rs = ld->cfg->rules;
	char where[300], err[512];

	if (sets && !config_setting_is_group(sets)) {
		config_error(ld, sets, "rulesets", "must be a group { NAME = ( ... ); }");
		sets = NULL;
	}
	/* All sets exist before any rule is read, so a jump may name a later set. */
	for (int i = 0; sets && i < config_setting_length(sets); i++) {
		const config_setting_t *set = config_setting_get_elem(sets, (unsigned)i);

		if (strcmp(config_setting_name(set), "rules") == 0)
			config_error(ld, set, "rulesets.rules",
				     "the name \"rules\" belongs to the main list; choose another");
		if (rules_add_set(rs, config_setting_name(set)) < 0) {
			/* The sets that follow would be numbered wrong: read no rule. */
			config_error(ld, set, "rulesets", "out of memory");
			return;
		}
	}
	if (rules)
		config_load_rule_list(ld, 0, rules, "rules");
	for (int i = 0; sets && i < config_setting_length(sets); i++) {
		const config_setting_t *set = config_setting_get_elem(sets, (unsigned)i);

		snprintf(where, sizeof(where), "rulesets.%s", config_setting_name(set));
		config_load_rule_list(ld, (uint32_t)i + 1, set, where);
	}
	if (def) {
		const char *name = config_string(ld, def, "default");
		int t;

		if (name && strcmp(name, "reject") == 0)
			rules_set_default(rs, RULE_REJECT, 0);
		else if (name && strcmp(name, "drop") == 0)
			rules_set_default(rs, RULE_DROP, 0);
		else if (name && (t = config_find_target(ld->cfg, name)) >= 0)
			rules_set_default(rs, RULE_TARGET, (uint32_t)t);
		else if (name)
			config_error(ld, def, "default",
				     "\"%s\" is not \"reject\", \"drop\" or a target name", name);
	}
	if (ld->errors == 0 && rules_compile(rs, err, sizeof(err)) < 0)
		config_error(ld, sets ? sets : rules, "rulesets", "%s", err);
}
