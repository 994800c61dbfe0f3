/* config.c - loads socketbox.conf(5) with libconfig: the file, the identity and the
 * targets here, the listeners in config_listen.c, the rules in config_rules.c. Each error
 * names the file, the line and the setting; loading goes on after an error so that
 * `socketbox -c` reports them all at once. */
#include "config.h"
#include "config_loader.h"
#include "addr.h"
#include "ids.h"
#include "subst.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

static void config_load_identity(struct loader *ld, const config_setting_t *root)
{
	struct config *cfg = ld->cfg;
	const config_setting_t *s;
	uid_t uid;
	gid_t gid;

	if ((s = config_setting_get_member(root, "user")) != NULL &&
	    (cfg->user = config_strdup(ld, s, "user")) != NULL && ld->check_identity &&
	    ids_user(cfg->user, &uid, &gid) < 0)
		config_error(ld, s, "user", "no such user \"%s\"", cfg->user);
	if ((s = config_setting_get_member(root, "group")) != NULL &&
	    (cfg->group = config_strdup(ld, s, "group")) != NULL && ld->check_identity &&
	    ids_group(cfg->group, &gid) < 0)
		config_error(ld, s, "group", "no such group \"%s\"", cfg->group);
	if ((s = config_setting_get_member(root, "chroot")) != NULL &&
	    (cfg->chroot = config_strdup(ld, s, "chroot")) != NULL && cfg->chroot[0] != '/')
		config_error(ld, s, "chroot", "\"%s\" is not an absolute path", cfg->chroot);
	if ((s = config_setting_get_member(root, "groups")) != NULL) {
		int n = config_setting_length(s);

		if (!config_setting_is_aggregate(s) || config_setting_is_group(s)) {
			config_error(ld, s, "groups", "must be a list of group names");
			return;
		}
		cfg->groups_set = true;
		cfg->groups = calloc((size_t)n + 1, sizeof(char *));
		if (cfg->groups == NULL) {
			config_error(ld, s, "groups", "out of memory");
			return;
		}
		for (int i = 0; i < n; i++) {
			const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
			char *name = config_strdup(ld, e, "groups");

			if (name == NULL)
				continue;
			cfg->groups[cfg->ngroups++] = name;
			if (ld->check_identity && ids_group(name, &gid) < 0)
				config_error(ld, e, "groups", "no such group \"%s\"", name);
		}
	}
	if ((s = config_setting_get_member(root, "log")) != NULL) {
		const char *v = config_string(ld, s, "log");

		if (v && strcmp(v, "syslog") == 0)
			cfg->log_syslog = true;
		else if (v && strcmp(v, "stderr") != 0)
			config_error(ld, s, "log", "\"%s\" is not \"stderr\" or \"syslog\"", v);
	}
}

static void config_load_log_limit(struct loader *ld, const config_setting_t *g)
{
	static const char *const keys[] = {"burst", "interval", NULL};
	const config_setting_t *s;
	long long v;

	if (!config_setting_is_group(g)) {
		config_error(ld, g, "log_limit",
			     "must be a group { burst = N; interval = S; }, not %s",
			     config_type_name(g));
		return;
	}
	config_check_keys(ld, g, "log_limit", keys);
	if ((s = config_setting_get_member(g, "burst")) != NULL &&
	    config_int(ld, s, "log_limit.burst", 1, 1000000, &v))
		ld->cfg->log_burst = (unsigned)v;
	if ((s = config_setting_get_member(g, "interval")) != NULL &&
	    config_int(ld, s, "log_limit.interval", 0, 86400, &v))
		ld->cfg->log_interval = (unsigned)v;
}

/* A path template: checked for tokens and for length against a UNIX socket address. */
static void config_target_path(struct loader *ld, struct target_conf *t, const config_setting_t *s,
			       const char *setting)
{
	struct sockaddr_un sun;
	const char *p = config_string(ld, s, setting), *why;

	if (p == NULL)
		return;
	if (*p == '\0') {
		config_error(ld, s, setting, "is empty");
		return;
	}
	/* A relative path would depend on the working directory, and change meaning with
	 * chroot: the operator means a path from the root. */
	if (*p != '/' && *p != '@') {
		config_error(ld, s, setting, "\"%s\" is not an absolute path (or an @name)", p);
		return;
	}
	if ((why = subst_check(p)) != NULL) {
		config_error(ld, s, setting, "\"%s\": %s", p, why);
		return;
	}
	if (!subst_has_tokens(p) && strlen(p) >= sizeof(sun.sun_path)) {
		config_error(ld, s, setting, "\"%s\" is longer than a socket path can be (%zu)", p,
			     sizeof(sun.sun_path) - 1);
		return;
	}
	if (t->npaths == CONFIG_MAX_PATHS) {
		config_error(ld, s, setting, "more than %d paths", CONFIG_MAX_PATHS);
		return;
	}
	if ((t->paths[t->npaths] = strdup(p)) == NULL) {
		config_error(ld, s, setting, "out of memory");
		return;
	}
	t->npaths++;
}

static void config_load_target(struct loader *ld, struct target_conf *t, const config_setting_t *g,
			       const struct target_conf *defaults)
{
	static const char *const keys[] = {"path", "fd", "queue", "queue_timeout", "abstract_ok",
					   "slot", "allow", NULL};
	const config_setting_t *path, *fd, *queue, *timeout, *abstract_ok;
	bool risk_taken = false, has_slot;
	char where[256];
	long long v;

	t->fd = -1;
	t->queue = defaults->queue;
	t->queue_timeout = defaults->queue_timeout;
	snprintf(where, sizeof(where), "targets.%s", t->name);
	if (!config_setting_is_group(g)) {
		config_error(ld, g, where, "must be a group { path = ...; }, not %s",
			     config_type_name(g));
		return;
	}
	config_check_keys(ld, g, where, keys);
	path = config_setting_get_member(g, "path");
	fd = config_setting_get_member(g, "fd");
	queue = config_setting_get_member(g, "queue");
	has_slot = config_load_slot(ld, t, g);
	/* With a slot, a path or fd is the fallback while no applet is registered. */
	if ((path && fd) || (!path && !fd && !has_slot)) {
		config_error(ld, g, where, has_slot ? "takes at most one of \"path\" or \"fd\" "
			     "beside \"slot\"" : "needs exactly one of \"path\" or \"fd\"");
		return;
	}
	snprintf(where, sizeof(where), "targets.%s.%s", t->name, path ? "path" : "fd");
	if (fd && config_int(ld, fd, where, 0, 1 << 20, &v))
		t->fd = (int)v;
	if (path && config_setting_type(path) == CONFIG_TYPE_STRING) {
		config_target_path(ld, t, path, where);
	} else if (path && (config_setting_is_array(path) || config_setting_is_list(path))) {
		int n = config_setting_length(path);

		if (n == 0)
			config_error(ld, path, where, "is an empty list");
		for (int i = 0; i < n; i++)
			config_target_path(ld, t, config_setting_get_elem(path, (unsigned)i),
					   where);
	} else if (path) {
		config_error(ld, path, where, "must be a string or a list of strings, not %s",
			     config_type_name(path));
	}
	snprintf(where, sizeof(where), "targets.%s.queue", t->name);
	if (queue && config_int(ld, queue, where, 1, CONFIG_MAX_QUEUE, &v))
		t->queue = (unsigned)v;
	timeout = config_setting_get_member(g, "queue_timeout");
	snprintf(where, sizeof(where), "targets.%s.queue_timeout", t->name);
	if (timeout && config_int(ld, timeout, where, 0, CONFIG_MAX_QUEUE_TIMEOUT, &v))
		t->queue_timeout = (unsigned)v;
	abstract_ok = config_setting_get_member(g, "abstract_ok");
	snprintf(where, sizeof(where), "targets.%s.abstract_ok", t->name);
	if (abstract_ok)
		config_bool(ld, abstract_ok, where, &risk_taken);
	snprintf(where, sizeof(where), "targets.%s.path", t->name);
	for (unsigned i = 0; i < t->npaths && !risk_taken; i++)
		if (t->paths[i][0] == '@')
			config_error(ld, path, where,
				     "\"%s\" is an abstract socket: anyone in socketbox's network "
				     "namespace can bind that name while the applet is down and "
				     "receive this target's connections; use a socket file, or set "
				     "abstract_ok = true to accept that",
				     t->paths[i]);
}

static void config_load_targets(struct loader *ld, const config_setting_t *g,
				const struct target_conf *defaults)
{
	struct config *cfg = ld->cfg;
	int n = config_setting_length(g);

	if (!config_setting_is_group(g)) {
		config_error(ld, g, "targets", "must be a group { NAME = { path = ...; }; }");
		return;
	}
	cfg->targets = calloc((size_t)n + 1, sizeof(*cfg->targets));
	if (cfg->targets == NULL) {
		config_error(ld, g, "targets", "out of memory");
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *t = config_setting_get_elem(g, (unsigned)i);
		struct target_conf *tc = &cfg->targets[cfg->ntargets];

		tc->name = strdup(config_setting_name(t));
		if (tc->name == NULL) {
			config_error(ld, t, "targets", "out of memory");
			return;
		}
		if (strcmp(tc->name, "reject") == 0 || strcmp(tc->name, "drop") == 0)
			config_error(ld, t, "targets", "\"%s\" is reserved for the action of that name",
				     tc->name);
		cfg->ntargets++;
		config_load_target(ld, tc, t, defaults);
	}
}

static struct config *config_new(const char *file)
{
	struct config *cfg = calloc(1, sizeof(*cfg));

	if (cfg == NULL)
		return NULL;
	config_listen_defaults(&cfg->listen[0], 0);
	cfg->nlisten = 1;
	cfg->log_burst = CONFIG_DEFAULT_LOG_BURST;
	cfg->log_interval = CONFIG_DEFAULT_LOG_INTERVAL;
	cfg->stats_mode = CONFIG_DEFAULT_STATS_MODE;
	cfg->file = strdup(file);
	cfg->rules = rules_new();
	if (cfg->file == NULL || cfg->rules == NULL || rules_add_set(cfg->rules, "rules") < 0) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

static struct config *config_load_file(const char *file, bool check_identity,
				       config_report_fn *report, void *ctx)
{
	static const char *const keys[] = {"listen",   "user",	    "group", "groups",	"chroot",
					   "log",      "log_limit", "queue", "queue_timeout",
					   "register", "register_limit", "targets", "rules",
					   "rulesets", "default", "stats", NULL};
	struct loader ld = {
		.file = file, .check_identity = check_identity, .report = report, .ctx = ctx};
	const config_setting_t *root, *s;
	long long queue = CONFIG_DEFAULT_QUEUE, timeout = CONFIG_DEFAULT_QUEUE_TIMEOUT;
	config_t lc;
	char msg[1024];

	config_init(&lc);
	ld.cfg = config_new(file);
	if (ld.cfg == NULL) {
		snprintf(msg, sizeof(msg), "%s: out of memory", file);
		report(ctx, msg);
		config_destroy(&lc);
		return NULL;
	}
	if (access(file, R_OK) < 0) {
		snprintf(msg, sizeof(msg), "%s: unable to read the file: %s", file, strerror(errno));
		report(ctx, msg);
		ld.errors++;
		goto done;
	}
	if (config_read_file(&lc, file) != CONFIG_TRUE) {
		if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
			snprintf(msg, sizeof(msg), "%s: unable to read the file", file);
		else {
			const char *where = config_error_file(&lc) ? config_error_file(&lc) : file;
			char text[160];

			config_source_line(where, config_error_line(&lc), text, sizeof(text));
			snprintf(msg, sizeof(msg), "%s:%d: %s%s%s", where, config_error_line(&lc),
				 config_error_text(&lc), text[0] ? "; the line reads: " : "", text);
		}
		report(ctx, msg);
		ld.errors++;
		goto done;
	}
	root = config_root_setting(&lc);
	config_check_keys(&ld, root, "top level", keys);
	if ((s = config_setting_get_member(root, "listen")) != NULL)
		config_load_listen(&ld, s);
	config_load_identity(&ld, root);
	if ((s = config_setting_get_member(root, "log_limit")) != NULL)
		config_load_log_limit(&ld, s);
	if ((s = config_setting_get_member(root, "stats")) != NULL)
		config_load_stats(&ld, s);
	if ((s = config_setting_get_member(root, "queue")) != NULL)
		config_int(&ld, s, "queue", 1, CONFIG_MAX_QUEUE, &queue);
	if ((s = config_setting_get_member(root, "queue_timeout")) != NULL)
		config_int(&ld, s, "queue_timeout", 0, CONFIG_MAX_QUEUE_TIMEOUT, &timeout);
	config_load_register(&ld, root);
	if ((s = config_setting_get_member(root, "targets")) != NULL)
		config_load_targets(&ld, s,
				    &(struct target_conf){.queue = (unsigned)queue,
							  .queue_timeout = (unsigned)timeout});
	config_check_slots(&ld, root);
	config_check_workers(&ld, root);
	config_load_rules(&ld, root);
	if (ld.errors == 0 && ld.cfg->ntargets == 0 && rules_count(ld.cfg->rules) == 0 &&
	    config_setting_get_member(root, "default") == NULL) {
		snprintf(msg, sizeof(msg),
			 "%s: no targets, no rules and no default: every connection would be "
			 "reset, which is not what a configuration is for",
			 file);
		report(ctx, msg);
		ld.errors++;
	}
	if (ld.errors == 0)
		config_warn_unused(&ld, root);
done:
	config_report_all(&ld); /* before config_destroy: the messages point at its names */
	config_destroy(&lc);
	/* libconfig's parse tree of a large file is many times the compiled rules: return
	 * the freed heap to the system rather than keep it resident. */
	malloc_trim(0);
	if (ld.errors) {
		config_free(ld.cfg);
		return NULL;
	}
	return ld.cfg;
}

struct config *config_load(const char *file, config_report_fn *report, void *ctx)
{
	return config_load_file(file, true, report, ctx);
}

struct config *config_reload(const char *file, config_report_fn *report, void *ctx)
{
	return config_load_file(file, false, report, ctx);
}

unsigned config_check_fds(const struct config *cfg, config_report_fn *report, void *ctx)
{
	unsigned errors = 0;
	char msg[512];

	for (unsigned i = 0; i < cfg->ntargets; i++) {
		int fd = cfg->targets[i].fd, domain = 0;
		socklen_t len = sizeof(domain);

		if (fd < 0)
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_UNIX ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
			snprintf(msg, sizeof(msg), "%s: targets.%s.fd: descriptor %d is not an open "
				 "UNIX socket", cfg->file, cfg->targets[i].name, fd);
			report(ctx, msg);
			errors++;
		}
	}
	return errors;
}

/* A copy of from in *to, which stays NULL when from is. Returns 0, or -1 (out of memory). */
static int config_copy_string(char **to, const char *from)
{
	if (from == NULL)
		return 0;
	*to = strdup(from);
	return *to ? 0 : -1;
}

struct config *config_fixed_copy(const struct config *cfg)
{
	struct config *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	memcpy(f->listen, cfg->listen, sizeof(f->listen));
	f->nlisten = cfg->nlisten;
	f->groups_set = cfg->groups_set;
	f->log_syslog = cfg->log_syslog;
	if (config_copy_string(&f->user, cfg->user) < 0 ||
	    config_copy_string(&f->group, cfg->group) < 0 ||
	    config_copy_string(&f->chroot, cfg->chroot) < 0 ||
	    config_copy_string(&f->stats_path, cfg->stats_path) < 0 ||
	    config_copy_string(&f->stats_group, cfg->stats_group) < 0 ||
	    config_register_copy(f, cfg) < 0)
		goto bad;
	f->stats_mode = cfg->stats_mode;
	if (cfg->groups) {
		f->groups = calloc((size_t)cfg->ngroups + 1, sizeof(char *));
		if (f->groups == NULL)
			goto bad;
		for (; f->ngroups < cfg->ngroups; f->ngroups++)
			if ((f->groups[f->ngroups] = strdup(cfg->groups[f->ngroups])) == NULL)
				goto bad;
	}
	return f;
bad:
	config_free(f);
	return NULL;
}

/* A setting not given is the same as an empty one: neither changes anything at start-up. */
static bool config_same_string(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool config_same_groups(const struct config *a, const struct config *b)
{
	if (a->ngroups != b->ngroups)
		return false;
	for (unsigned i = 0; i < a->ngroups; i++)
		if (strcmp(a->groups[i], b->groups[i]) != 0)
			return false;
	return true;
}

const char *config_fixed_diff(const struct config *old, const struct config *new)
{
	if (old->nlisten != new->nlisten)
		return "listen";
	for (unsigned i = 0; i < old->nlisten; i++)
		if (!config_listen_same(&old->listen[i], &new->listen[i]))
			return "listen";
	if (!config_same_string(old->user, new->user))
		return "user";
	if (!config_same_string(old->group, new->group))
		return "group";
	if (!config_same_groups(old, new))
		return "groups";
	if (!config_same_string(old->chroot, new->chroot))
		return "chroot";
	if (old->log_syslog != new->log_syslog)
		return "log";
	if (!config_same_string(old->stats_path, new->stats_path) ||
	    !config_same_string(old->stats_group, new->stats_group) ||
	    old->stats_mode != new->stats_mode)
		return "stats";
	if (!config_register_same(old, new))
		return "register";
	return NULL;
}

struct config *config_quick(const char *path, int fd)
{
	struct config *cfg = config_new("(command line)");
	struct target_conf *t;

	if (cfg == NULL || (cfg->targets = calloc(1, sizeof(*t))) == NULL)
		goto bad;
	t = &cfg->targets[0];
	cfg->ntargets = 1;
	t->fd = fd;
	t->queue = CONFIG_DEFAULT_QUEUE;
	t->queue_timeout = 0; /* quick mode keeps connections until the applet takes them */
	if ((t->name = strdup(path ? path : "fd")) == NULL)
		goto bad;
	if (path) {
		if ((t->paths[0] = strdup(path)) == NULL)
			goto bad;
		t->npaths = 1;
	}
	rules_set_default(cfg->rules, RULE_TARGET, 0);
	if (rules_compile(cfg->rules, NULL, 0) < 0)
		goto bad;
	return cfg;
bad:
	config_free(cfg);
	return NULL;
}

void config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (unsigned i = 0; i < cfg->ntargets; i++) {
		free(cfg->targets[i].name);
		for (unsigned j = 0; j < cfg->targets[i].npaths; j++)
			free(cfg->targets[i].paths[j]);
	}
	for (unsigned i = 0; i < cfg->ngroups; i++)
		free(cfg->groups[i]);
	free(cfg->groups);
	free(cfg->targets);
	free(cfg->file);
	free(cfg->user);
	free(cfg->group);
	free(cfg->chroot);
	free(cfg->stats_path);
	free(cfg->stats_group);
	config_register_free(cfg);
	rules_free(cfg->rules);
	free(cfg);
}
