/* sockd_config.c - loads socketbox-sockd's configuration with the readers of
 * socketbox.conf(5) (config_loader.h): each error names the file, the line and the
 * setting, and every error is reported before the load fails. */
#include "sockd_config.h"
#include "config_loader.h"
#include "ids.h"
#include "num.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

void sockd_uid_addr(uid_t uid, struct in6_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->s6_addr[12] = (uint8_t)(uid >> 24);
	a->s6_addr[13] = (uint8_t)(uid >> 16);
	a->s6_addr[14] = (uint8_t)(uid >> 8);
	a->s6_addr[15] = (uint8_t)uid;
}

/* One uid into the list of a rule's clients. */
static void sockd_add_uid(struct loader *ld, const config_setting_t *e, const char *key,
			  uid_t uid, struct prefix_list *out)
{
	if (out->n == RULE_MAX_PREFIXES) {
		config_error(ld, e, key, "more than %d users in one rule", RULE_MAX_PREFIXES);
		return;
	}
	sockd_uid_addr(uid, &out->addr[out->n]);
	out->plen[out->n++] = 128;
}

/* "uid" (numbers) and "user" (names or numbers) of rule g: the clients it is for. Neither
 * means every client: one entry with prefix length 0. */
static void sockd_load_users(struct loader *ld, const config_setting_t *g, const char *where,
			     struct prefix_list *out)
{
	static const char *const names[] = {"uid", "user"};
	char key[400];

	memset(out, 0, sizeof(*out));
	for (int k = 0; k < 2; k++) {
		const config_setting_t *s = config_setting_get_member(g, names[k]);
		int n;

		snprintf(key, sizeof(key), "%s.%s", where, names[k]);
		n = s ? config_values(ld, s, key, RULE_MAX_PREFIXES, "users") : 0;
		for (int i = 0; i < n; i++) {
			const config_setting_t *e = config_value(s, i);
			const char *name;
			long long v;
			uid_t uid;

			if (k == 0) {
				if (config_int(ld, e, key, 0, 0xfffffffe, &v))
					sockd_add_uid(ld, e, key, (uid_t)v, out);
			} else if ((name = config_string(ld, e, key)) != NULL) {
				if (ids_user(name, &uid, NULL) < 0)
					config_error(ld, e, key, "no such user \"%s\"", name);
				else
					sockd_add_uid(ld, e, key, uid, out);
			}
		}
	}
	if (out->n == 0 && !config_setting_get_member(g, "uid") &&
	    !config_setting_get_member(g, "user"))
		out->n = 1;
}

/* "protocol": "tcp" or "udp", or both when not given (as a local port range). */
static void sockd_load_protocol(struct loader *ld, const config_setting_t *g, const char *where,
				struct port_range *r)
{
	const config_setting_t *s = config_setting_get_member(g, "protocol");
	const char *p;
	char key[400];

	r->lo = SOCKD_TCP;
	r->hi = SOCKD_UDP;
	if (s == NULL)
		return;
	snprintf(key, sizeof(key), "%s.protocol", where);
	if ((p = config_string(ld, s, key)) == NULL)
		return;
	if (strcmp(p, "tcp") == 0)
		r->lo = r->hi = SOCKD_TCP;
	else if (strcmp(p, "udp") == 0)
		r->lo = r->hi = SOCKD_UDP;
	else
		config_error(ld, s, key, "\"%s\" is not \"tcp\" or \"udp\"", p);
}

static enum rule_action sockd_load_action(struct loader *ld, const config_setting_t *g,
					  const char *where)
{
	const config_setting_t *s = config_setting_get_member(g, "action");
	const char *a;
	char key[400];

	snprintf(key, sizeof(key), "%s.action", where);
	if (s == NULL) {
		config_error(ld, g, where, "needs an action (\"allow\" or \"deny\")");
		return RULE_REJECT;
	}
	if ((a = config_string(ld, s, key)) == NULL)
		return RULE_REJECT;
	if (strcmp(a, "allow") == 0)
		return RULE_TARGET;
	if (strcmp(a, "deny") != 0)
		config_error(ld, s, key, "\"%s\" is not \"allow\" or \"deny\"", a);
	return RULE_REJECT;
}

/* One rule: the same rule once per pair of client and address, in order. addr and port
 * name its address keys: "remote"/"remote_port" for connect, "local"/"local_port" for
 * bind. */
static void sockd_load_rule(struct loader *ld, struct rules *rs, const config_setting_t *g,
			    const char *where, const char *addr, const char *port)
{
	const char *const keys[] = {addr, port, "uid", "user", "protocol", "action", NULL};
	unsigned errors = ld->errors, line = config_setting_source_line(g);
	struct prefix_list users, dst;
	struct port_range proto;
	struct rule_match m = {.local_ports = &proto, .nlocal_ports = 1};
	enum rule_action action;

	if (!config_setting_is_group(g)) {
		config_error(ld, g, where, "must be a group { ... }, not %s", config_type_name(g));
		return;
	}
	config_check_keys(ld, g, where, keys);
	sockd_load_users(ld, g, where, &users);
	config_prefixes(ld, g, where, addr, &dst);
	m.remote_ports = config_ports(ld, g, where, port, &m.nremote_ports);
	sockd_load_protocol(ld, g, where, &proto);
	action = sockd_load_action(ld, g, where);
	for (unsigned i = 0; i < users.n && ld->errors == errors; i++) {
		for (unsigned j = 0; j < dst.n; j++) {
			m.local = users.addr[i];
			m.local_plen = users.plen[i];
			m.remote = dst.addr[j];
			m.remote_plen = dst.plen[j];
			if (rules_add(rs, 0, &m, action, 0, line) < 0) {
				config_error(ld, g, where, "out of memory");
				break;
			}
		}
	}
	free((void *)m.remote_ports);
}

static struct rules *sockd_load_rules(struct loader *ld, const config_setting_t *root,
				      const char *name, const char *addr, const char *port)
{
	const config_setting_t *list = config_setting_get_member(root, name);
	struct rules *rs = rules_new();
	char where[300], err[512];

	if (rs == NULL || rules_add_set(rs, name) < 0) {
		config_error(ld, list, name, "out of memory");
		return rs;
	}
	rules_set_default(rs, RULE_REJECT, 0); /* default deny */
	if (list && !config_setting_is_list(list)) {
		config_error(ld, list, name, "must be a list ( { ... }, ... ), not %s",
			     config_type_name(list));
		return rs;
	}
	for (int i = 0; list && i < config_setting_length(list); i++) {
		snprintf(where, sizeof(where), "%s[%d]", name, i);
		sockd_load_rule(ld, rs, config_setting_get_elem(list, (unsigned)i), where, addr,
				port);
	}
	if (ld->errors == 0 && rules_compile(rs, err, sizeof(err)) < 0)
		config_error(ld, list, name, "%s", err);
	return rs;
}

static void sockd_load_settings(struct loader *ld, struct sockd_config *cfg,
				const config_setting_t *root)
{
	const config_setting_t *s;
	struct sockaddr_un sun;
	const char *v;
	long long n;

	if ((s = config_setting_get_member(root, "socket")) != NULL &&
	    (cfg->socket = config_strdup(ld, s, "socket")) != NULL &&
	    (cfg->socket[0] != '/' || strlen(cfg->socket) >= sizeof(sun.sun_path)))
		config_error(ld, s, "socket", "\"%s\" is not an absolute path shorter than %zu",
			     cfg->socket, sizeof(sun.sun_path));
	if ((s = config_setting_get_member(root, "socket_mode")) != NULL &&
	    (v = config_string(ld, s, "socket_mode")) != NULL &&
	    num_parse_mode(v, &cfg->socket_mode) < 0)
		config_error(ld, s, "socket_mode", "\"%s\" is not an octal mode such as \"0660\"", v);
	if ((s = config_setting_get_member(root, "max_clients")) != NULL &&
	    config_int(ld, s, "max_clients", 1, 1 << 20, &n))
		cfg->max_clients = (unsigned)n;
	if ((s = config_setting_get_member(root, "client_timeout")) != NULL &&
	    config_int(ld, s, "client_timeout", 0, 86400, &n))
		cfg->client_timeout = (unsigned)n;
}

struct sockd_config *sockd_config_load(const char *file, config_report_fn *report, void *ctx)
{
	static const char *const keys[] = {"socket",	     "socket_mode", "max_clients",
					   "client_timeout", "connect",	    "bind",
					   NULL};
	struct sockd_config *cfg = calloc(1, sizeof(*cfg));
	struct loader ld = {.file = file, .check_identity = true, .report = report, .ctx = ctx};
	const config_setting_t *root;
	config_t lc;
	char msg[1024];

	config_init(&lc);
	if (cfg == NULL || (cfg->file = strdup(file)) == NULL) {
		snprintf(msg, sizeof(msg), "%s: out of memory", file);
		report(ctx, msg);
		ld.errors++;
		goto done;
	}
	cfg->socket_mode = 0666; /* who may use it is the rules' business, by uid */
	cfg->max_clients = SOCKD_DEFAULT_MAX_CLIENTS;
	cfg->client_timeout = SOCKD_DEFAULT_CLIENT_TIMEOUT;
	if (access(file, R_OK) < 0)
		snprintf(msg, sizeof(msg), "%s: unable to read the file: %s", file, strerror(errno));
	else if (config_read_file(&lc, file) != CONFIG_TRUE)
		snprintf(msg, sizeof(msg), "%s:%d: %s",
			 config_error_file(&lc) ? config_error_file(&lc) : file,
			 config_error_line(&lc), config_error_text(&lc));
	else
		msg[0] = '\0';
	if (msg[0]) {
		report(ctx, msg);
		ld.errors++;
		goto done;
	}
	root = config_root_setting(&lc);
	config_check_keys(&ld, root, "top level", keys);
	sockd_load_settings(&ld, cfg, root);
	cfg->connect = sockd_load_rules(&ld, root, "connect", "remote", "remote_port");
	cfg->bind = sockd_load_rules(&ld, root, "bind", "local", "local_port");
done:
	config_report_all(&ld); /* before config_destroy: the messages point at its names */
	config_destroy(&lc);
	malloc_trim(0);
	if (ld.errors) {
		sockd_config_free(cfg);
		return NULL;
	}
	return cfg;
}

void sockd_config_free(struct sockd_config *cfg)
{
	if (cfg == NULL)
		return;
	rules_free(cfg->connect);
	rules_free(cfg->bind);
	free(cfg->socket);
	free(cfg->file);
	free(cfg);
}
