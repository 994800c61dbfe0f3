/* config_listen.c - the listeners of socketbox.conf(5): one group, or a list of groups, each
 * a socket with its own address, port and options, optionally in another network namespace
 * and optionally reading a PROXY protocol header first. */
#include "config_loader.h"
#include "addr.h"

#include <stdio.h>
#include <string.h>

#define CONFIG_MAX_PROXY_TIMEOUT 3600

void config_listen_defaults(struct listen_conf *l, unsigned index)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->name, sizeof(l->name), "listen[%u]", index);
	l->address = in6addr_any;
	l->reuseaddr = true;
	l->backlog = 4096;
	l->fd = -1;
	l->proxy_timeout = CONFIG_DEFAULT_PROXY_TIMEOUT;
}

/* A name travels in LISTEN_FDNAMES (colon-separated) and in log lines: keep it plain. */
static bool config_listen_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= CONFIG_LISTEN_NAME_MAX)
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
	       n;
}

static void config_listen_name(struct loader *ld, struct listen_conf *l, const config_setting_t *s,
			       const char *where)
{
	const char *name = config_string(ld, s, where);

	if (name == NULL)
		return;
	if (!config_listen_name_ok(name)) {
		config_error(ld, s, where,
			     "\"%s\" is not a name of 1 to %d letters, digits, '.', '_' or '-'",
			     name, CONFIG_LISTEN_NAME_MAX - 1);
		return;
	}
	if (config_listen_find(ld->cfg, name) >= 0) {
		config_error(ld, s, where, "another listener is already named \"%s\"", name);
		return;
	}
	snprintf(l->name, sizeof(l->name), "%s", name);
}

static void config_listen_netns(struct loader *ld, struct listen_conf *l, const config_setting_t *s,
				const char *where)
{
	const char *path = config_string(ld, s, where);

	if (path == NULL)
		return;
	if (path[0] != '/' || strlen(path) >= sizeof(l->netns))
		config_error(ld, s, where,
			     "\"%s\" is not an absolute path (such as /run/netns/NAME) shorter than "
			     "%zu characters",
			     path, sizeof(l->netns));
	else
		snprintf(l->netns, sizeof(l->netns), "%s", path);
}

/* proxy_from: an address or prefix, or a list of them. */
static void config_listen_proxy_from(struct loader *ld, struct listen_conf *l,
				     const config_setting_t *s, const char *where)
{
	int n = config_values(ld, s, where, CONFIG_MAX_PROXY_FROM, "addresses or prefixes");

	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_value(s, i);
		const char *text = config_string(ld, e, where);
		unsigned plen;

		if (text == NULL)
			continue;
		if (addr_parse_prefix(text, &l->proxy_from[l->nproxy_from], &plen) < 0) {
			config_error(ld, e, where, "\"%s\" is not an address or prefix", text);
			continue;
		}
		l->proxy_from_plen[l->nproxy_from++] = (uint8_t)plen;
	}
}

/* The settings that only say yes or no, by key. */
static bool *config_listen_flag(struct listen_conf *l, const char *key)
{
	if (strcmp(key, "transparent") == 0)
		return &l->transparent;
	if (strcmp(key, "freebind") == 0)
		return &l->freebind;
	if (strcmp(key, "reuseaddr") == 0)
		return &l->reuseaddr;
	if (strcmp(key, "reuseport") == 0)
		return &l->reuseport;
	if (strcmp(key, "v6only") == 0)
		return &l->v6only;
	if (strcmp(key, "proxy_protocol") == 0)
		return &l->proxy_protocol;
	return NULL;
}

/* "where.name" in buf, for a message. */
static const char *config_listen_key(char *buf, size_t len, const char *where, const char *name)
{
	snprintf(buf, len, "%s.%s", where, name);
	return buf;
}

/* One listener group; where is "listen" or "listen[N]". */
static void config_listen_one(struct loader *ld, struct listen_conf *l, const config_setting_t *g,
			      const char *where)
{
	static const char *const keys[] = {
		"name",	     "address", "port",	   "transparent",    "freebind",   "reuseaddr",
		"reuseport", "backlog", "v6only",  "fd",	     "netns",	   "proxy_protocol",
		"proxy_from", "proxy_timeout", "workers", NULL};
	const config_setting_t *s;
	char key[96];
	long long v;

	if (!config_setting_is_group(g)) {
		config_error(ld, g, where, "must be a group { ... }, not %s", config_type_name(g));
		return;
	}
	config_check_keys(ld, g, where, keys);
	if ((s = config_setting_get_member(g, "name")) != NULL)
		config_listen_name(ld, l, s, config_listen_key(key, sizeof(key), where, "name"));
	if ((s = config_setting_get_member(g, "address")) != NULL) {
		const char *a = config_string(ld, s, config_listen_key(key, sizeof(key), where, "address"));

		if (a && addr_parse(a, &l->address) < 0)
			config_error(ld, s, key, "\"%s\" is not an IPv6 or IPv4 address", a);
	}
	if ((s = config_setting_get_member(g, "port")) != NULL &&
	    config_int(ld, s, config_listen_key(key, sizeof(key), where, "port"), 1, 65535, &v))
		l->port = (unsigned)v;
	if ((s = config_setting_get_member(g, "backlog")) != NULL &&
	    config_int(ld, s, config_listen_key(key, sizeof(key), where, "backlog"), 1, 1 << 20,
		       &v))
		l->backlog = (int)v;
	if ((s = config_setting_get_member(g, "fd")) != NULL &&
	    config_int(ld, s, config_listen_key(key, sizeof(key), where, "fd"), 0, 1 << 20, &v))
		l->fd = (int)v;
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
		bool *flag = config_listen_flag(l, config_setting_name(e));

		if (flag)
			config_bool(ld, e, config_listen_key(key, sizeof(key), where,
							     config_setting_name(e)), flag);
	}
	if ((s = config_setting_get_member(g, "netns")) != NULL) {
		snprintf(key, sizeof(key), "%s.netns", where);
		config_listen_netns(ld, l, s, key);
		if (l->fd >= 0)
			config_error(ld, s, key, "an inherited listener (fd) is already in its "
				     "namespace: give fd or netns, not both");
	}
	if ((s = config_setting_get_member(g, "workers")) != NULL &&
	    config_int(ld, s, config_listen_key(key, sizeof(key), where, "workers"), 1,
		       CONFIG_MAX_WORKERS, &v))
		l->workers = (unsigned)v;
	if ((s = config_setting_get_member(g, "proxy_timeout")) != NULL &&
	    config_int(ld, s, config_listen_key(key, sizeof(key), where, "proxy_timeout"), 1,
		       CONFIG_MAX_PROXY_TIMEOUT, &v))
		l->proxy_timeout = (unsigned)v;
	snprintf(key, sizeof(key), "%s.proxy_from", where);
	if ((s = config_setting_get_member(g, "proxy_from")) != NULL) {
		config_listen_proxy_from(ld, l, s, key);
		if (!l->proxy_protocol)
			config_error(ld, s, key, "is only for a listener with proxy_protocol = true");
	} else if (l->proxy_protocol) {
		/* Whoever can connect could otherwise claim any address to the rules. */
		config_error(ld, g, key, "is required with proxy_protocol = true: the sources "
			     "allowed to send a PROXY header (your load balancers)");
	}
}

/* The listener groups of s: the group itself, or the groups of the list. */
static const config_setting_t *config_listen_group(const config_setting_t *s, unsigned i)
{
	if (config_setting_is_group(s))
		return i == 0 ? s : NULL;
	return config_setting_is_list(s) ? config_setting_get_elem(s, i) : NULL;
}

/* workers is one number for the whole process: the listener groups that give it agree, and
 * every listener carries it (0 where none gives it: one process). */
static void config_listen_workers(struct loader *ld, const config_setting_t *s)
{
	struct config *cfg = ld->cfg;
	const config_setting_t *g, *w;
	unsigned workers = 0;
	char key[96];

	for (unsigned i = 0; (g = config_listen_group(s, i)) != NULL; i++) {
		if (!config_setting_is_group(g) || (w = config_setting_get_member(g, "workers")) == NULL ||
		    i >= cfg->nlisten || cfg->listen[i].workers == 0)
			continue;
		snprintf(key, sizeof(key), "listen[%u].workers", i);
		if (workers && cfg->listen[i].workers != workers)
			config_error(ld, w, key,
				     "is %u here but %u in an earlier listener: the worker processes "
				     "share every listener, so give one number (or give it once)",
				     cfg->listen[i].workers, workers);
		workers = workers ? workers : cfg->listen[i].workers;
	}
	for (unsigned i = 0; i < cfg->nlisten; i++)
		cfg->listen[i].workers = workers;
}

void config_check_workers(struct loader *ld, const config_setting_t *root)
{
	const config_setting_t *s = config_setting_get_member(root, "listen"), *g, *w = NULL;
	bool registration = ld->cfg->nregisters > 0;

	for (unsigned t = 0; t < ld->cfg->ntargets; t++)
		registration |= ld->cfg->targets[t].has_slot;
	if (ld->cfg->listen[0].workers <= 1 || !registration)
		return;
	for (unsigned i = 0; s && w == NULL && (g = config_listen_group(s, i)) != NULL; i++)
		if (config_setting_is_group(g))
			w = config_setting_get_member(g, "workers");
	/* An applet registers with the one process it connects to: the other workers would
	 * never hand it a connection, and its slot would look empty to them. */
	config_error(ld, w, "listen.workers",
		     "%u worker processes cannot serve registered applets (register, slot): "
		     "use workers = 1 with registration",
		     ld->cfg->listen[0].workers);
}

void config_load_listen(struct loader *ld, const config_setting_t *s)
{
	struct config *cfg = ld->cfg;
	char where[32];
	int n;

	if (config_setting_is_group(s)) {
		config_listen_one(ld, &cfg->listen[0], s, "listen");
		config_listen_workers(ld, s);
		return;
	}
	if (!config_setting_is_list(s)) {
		config_error(ld, s, "listen",
			     "must be a group { ... } or a list of groups ( { ... }, ... ), not %s",
			     config_type_name(s));
		return;
	}
	n = config_setting_length(s);
	if (n == 0 || n > CONFIG_MAX_LISTEN) {
		config_error(ld, s, "listen", "needs 1 to %d listeners, not %d", CONFIG_MAX_LISTEN,
			     n);
		return;
	}
	/* Each listener is counted before its name is read: names are checked against the
	 * earlier ones only. */
	cfg->nlisten = 0;
	for (int i = 0; i < n; i++) {
		snprintf(where, sizeof(where), "listen[%d]", i);
		config_listen_defaults(&cfg->listen[i], (unsigned)i);
		config_listen_one(ld, &cfg->listen[i], config_setting_get_elem(s, (unsigned)i),
				  where);
		cfg->nlisten++;
	}
	config_listen_workers(ld, s);
}

int config_listen_find(const struct config *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->nlisten; i++)
		if (strcmp(cfg->listen[i].name, name) == 0)
			return (int)i;
	return -1;
}

bool config_listen_same(const struct listen_conf *a, const struct listen_conf *b)
{
	return strcmp(a->name, b->name) == 0 && strcmp(a->netns, b->netns) == 0 &&
	       IN6_ARE_ADDR_EQUAL(&a->address, &b->address) && a->port == b->port &&
	       a->transparent == b->transparent && a->freebind == b->freebind &&
	       a->reuseaddr == b->reuseaddr && a->reuseport == b->reuseport &&
	       a->v6only == b->v6only && a->backlog == b->backlog && a->fd == b->fd &&
	       a->proxy_protocol == b->proxy_protocol && a->proxy_timeout == b->proxy_timeout &&
	       a->nproxy_from == b->nproxy_from && a->workers == b->workers &&
	       memcmp(a->proxy_from, b->proxy_from, sizeof(a->proxy_from)) == 0 &&
	       memcmp(a->proxy_from_plen, b->proxy_from_plen, sizeof(a->proxy_from_plen)) == 0;
}
