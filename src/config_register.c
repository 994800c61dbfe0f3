/* config_register.c - socketbox.conf(5): the registration sockets applets dial in to
 * (register, register_limit) and the targets' slot and allow settings. */
#include "config_loader.h"
#include "ids.h"
#include "num.h"
#include "unixsock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void config_register_one(struct loader *ld, const config_setting_t *g, const char *where)
{
	static const char *const keys[] = {"path", "mode", NULL};
	struct register_conf *r = &ld->cfg->registers[ld->cfg->nregisters];
	const config_setting_t *s;
	struct sockaddr_un sun;
	socklen_t len;

	if (!config_setting_is_group(g)) {
		config_error(ld, g, where, "must be a group { path = \"/run/...\"; mode = \"0666\"; "
			     "}, "
			     "not %s", config_type_name(g));
		return;
	}
	config_check_keys(ld, g, where, keys);
	r->mode = 0666; /* who may register is decided by allow, not by the file's mode */
	/* libconfig has no octal numbers: "0666" is a string, as for -m of the applets. */
	if ((s = config_setting_get_member(g, "mode")) != NULL) {
		const char *m = config_string(ld, s, "register.mode");

		if (m && (num_parse_mode(m, &r->mode) < 0 || r->mode > 0777))
			config_error(ld, s, "register.mode", "\"%s\" is not an octal mode such "
				     "as \"0666\"", m);
	}
	if ((s = config_setting_get_member(g, "path")) == NULL) {
		config_error(ld, g, where, "needs a path");
		return;
	}
	if ((r->path = config_strdup(ld, s, "register.path")) == NULL)
		return;
	ld->cfg->nregisters++;
	/* An abstract name has no owner and no mode: anyone could take it first. */
	if (r->path[0] != '/')
		config_error(ld, s, "register.path", "\"%s\" is not an absolute path", r->path);
	else if (unixsock_addr(r->path, &sun, &len) < 0)
		config_error(ld, s, "register.path", "\"%s\" is longer than a socket path can be "
			     "(%zu)", r->path, sizeof(sun.sun_path) - 1);
}

static void config_register_limit(struct loader *ld, const config_setting_t *g)
{
	static const char *const keys[] = {"per_uid", "per_slot", NULL};
	const config_setting_t *s;
	long long v;

	if (!config_setting_is_group(g)) {
		config_error(ld, g, "register_limit",
			     "must be a group { per_uid = N; per_slot = N; }, not %s",
			     config_type_name(g));
		return;
	}
	config_check_keys(ld, g, "register_limit", keys);
	if ((s = config_setting_get_member(g, "per_uid")) != NULL &&
	    config_int(ld, s, "register_limit.per_uid", 1, CONFIG_MAX_REG, &v))
		ld->cfg->reg_per_uid = (unsigned)v;
	if ((s = config_setting_get_member(g, "per_slot")) != NULL &&
	    config_int(ld, s, "register_limit.per_slot", 1, CONFIG_MAX_REG, &v))
		ld->cfg->reg_per_slot = (unsigned)v;
}

void config_load_register(struct loader *ld, const config_setting_t *root)
{
	const config_setting_t *s = config_setting_get_member(root, "register");
	struct config *cfg = ld->cfg;
	int n;

	cfg->reg_per_uid = CONFIG_DEFAULT_REG_PER_UID;
	cfg->reg_per_slot = CONFIG_DEFAULT_REG_PER_SLOT;
	if ((root = config_setting_get_member(root, "register_limit")) != NULL)
		config_register_limit(ld, root);
	if (s == NULL)
		return;
	n = config_setting_is_group(s) ? 1 : config_setting_length(s);
	if (config_setting_is_array(s) || (!config_setting_is_group(s) && n == 0)) {
		config_error(ld, s, "register", "must be a group or a list of groups");
		return;
	}
	if ((cfg->registers = calloc((size_t)n, sizeof(*cfg->registers))) == NULL) {
		config_error(ld, s, "register", "out of memory");
		return;
	}
	if (config_setting_is_group(s)) {
		config_register_one(ld, s, "register");
		return;
	}
	for (int i = 0; i < n; i++)
		config_register_one(ld, config_setting_get_elem(s, (unsigned)i), "register");
}

/* One entry of allow: a user name (looked up now) or a uid as the host kernel reports it. */
static void config_allow_one(struct loader *ld, struct target_conf *t, const config_setting_t *e,
			     const char *where)
{
	char num[24];
	const char *user;
	long long v;
	uid_t uid;

	if (config_is_int(e)) {
		if (!config_int(ld, e, where, 0, 0x7fffffff, &v))
			return;
		snprintf(num, sizeof(num), "%lld", v);
		user = num;
	} else if ((user = config_string(ld, e, where)) == NULL) {
		return;
	}
	if (ids_user(user, &uid, NULL) < 0) {
		config_error(ld, e, where, "no such user \"%s\"", user);
		return;
	}
	if (t->nallow == CONFIG_MAX_ALLOW) {
		config_error(ld, e, where, "more than %d users", CONFIG_MAX_ALLOW);
		return;
	}
	t->allow[t->nallow++] = uid;
}

bool config_load_slot(struct loader *ld, struct target_conf *t, const config_setting_t *g)
{
	const config_setting_t *slot = config_setting_get_member(g, "slot");
	const config_setting_t *allow = config_setting_get_member(g, "allow");
	char where[256];
	long long v;

	snprintf(where, sizeof(where), "targets.%s.allow", t->name);
	if (slot == NULL) {
		if (allow)
			config_error(ld, allow, where, "is only for a target with a slot");
		return false;
	}
	t->has_slot = true;
	/* Without allow nobody could register: a slot open to every local user would hand
	 * them the clients, so an empty list is an error rather than "anyone". */
	if (allow == NULL || !config_setting_is_aggregate(allow) || config_setting_is_group(allow) ||
	    config_setting_length(allow) == 0)
		config_error(ld, allow ? allow : slot, where,
			     "a slot needs allow = [ \"user\", uid, ... ]: who may register for it");
	else
		for (int i = 0; i < config_setting_length(allow); i++)
			config_allow_one(ld, t, config_setting_get_elem(allow, (unsigned)i), where);
	snprintf(where, sizeof(where), "targets.%s.slot", t->name);
	if (config_int(ld, slot, where, 0, UINT32_MAX, &v))
		t->slot = (uint32_t)v;
	return true;
}

void config_check_slots(struct loader *ld, const config_setting_t *root)
{
	const config_setting_t *targets = config_setting_get_member(root, "targets");
	const struct config *cfg = ld->cfg;
	char where[256];

	for (unsigned i = 0; i < cfg->ntargets; i++) {
		const struct target_conf *t = &cfg->targets[i];
		const config_setting_t *g = targets ? config_setting_get_member(targets, t->name)
						    : NULL;

		if (!t->has_slot)
			continue;
		snprintf(where, sizeof(where), "targets.%s.slot", t->name);
		if (cfg->nregisters == 0)
			config_error(ld, g, where, "no applet can register: set register = { path "
				     "= \"/run/socketbox/register.sock\"; }");
		for (unsigned j = 0; j < i; j++)
			if (cfg->targets[j].has_slot && cfg->targets[j].slot == t->slot)
				config_error(ld, g, where, "slot %u is also target %s's",
					     (unsigned)t->slot, cfg->targets[j].name);
	}
}

int config_register_copy(struct config *to, const struct config *from)
{
	if (from->nregisters == 0)
		return 0;
	to->registers = calloc(from->nregisters, sizeof(*to->registers));
	if (to->registers == NULL)
		return -1;
	for (; to->nregisters < from->nregisters; to->nregisters++) {
		struct register_conf *r = &to->registers[to->nregisters];

		*r = from->registers[to->nregisters];
		if ((r->path = strdup(r->path)) == NULL)
			return -1;
	}
	return 0;
}

bool config_register_same(const struct config *a, const struct config *b)
{
	if (a->nregisters != b->nregisters)
		return false;
	for (unsigned i = 0; i < a->nregisters; i++)
		if (strcmp(a->registers[i].path, b->registers[i].path) != 0 ||
		    a->registers[i].mode != b->registers[i].mode)
			return false;
	return true;
}

void config_register_free(struct config *cfg)
{
	for (unsigned i = 0; i < cfg->nregisters; i++)
		free(cfg->registers[i].path);
	free(cfg->registers);
}
