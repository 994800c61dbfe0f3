/* config_loader.h - what the parts of the configuration loader share: the state of one
 * load and the checked readers of libconfig settings. Only config*.c include it; every
 * other module goes through config.h. */
#ifndef SB_CONFIG_LOADER_H
#define SB_CONFIG_LOADER_H

#include "config.h"

#include <libconfig.h>
#include <stdbool.h>

/* Past this many, errors are counted but not printed: one mistake repeated in a generated
 * file should not bury the first message. */
#define CONFIG_MAX_REPORTED 50

/* A message kept until the load ends, to be reported in the order of the file. */
struct config_msg {
	const char *file; /* as libconfig names it, valid until its config_destroy */
	unsigned line, seq; /* seq: the order kept in, for a stable sort */
	unsigned rank;	    /* of the file: 0 for the main file */
	bool warning;
	char *text;
};

struct loader {
	const char *file;
	bool check_identity; /* look user and group names up */
	config_report_fn *report;
	void *ctx;
	unsigned errors;
	struct config *cfg;
	struct config_msg *msgs;
	size_t nmsgs, msgs_cap;
};

/* Reports "FILE:LINE: setting: message" for s (the loaded file and line 0 when s is NULL),
 * and counts the error, which makes the load fail. Reported by config_report_all. */
void config_error(struct loader *ld, const config_setting_t *s, const char *setting,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The same for a warning: reported, but the load does not fail. */
void config_warning(struct loader *ld, const config_setting_t *s, const char *setting,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Reports the messages kept so far sorted by file (in the order the files first came up)
 * and line, errors and warnings alike; at most CONFIG_MAX_REPORTED, then a count of the
 * rest. Frees them. */
void config_report_all(struct loader *ld);

/* Line lineno of file, trimmed and shortened, in buf ("" when it cannot be read): the
 * context of libconfig's own messages ("syntax error"), which name only the line. */
const char *config_source_line(const char *file, int lineno, char *buf, size_t len);

/* "a number", "a string"...: what s is, for a message. */
const char *config_type_name(const config_setting_t *s);

/* Rejects members of group not in allowed, a NULL-terminated list (catches typos such as
 * "loacl"). where names the group in the messages. */
void config_check_keys(struct loader *ld, const config_setting_t *group, const char *where,
		       const char *const *allowed);

bool config_is_int(const config_setting_t *s);

/* The readers report what is wrong with s under the name setting, and then return false or
 * NULL. */

/* An integer setting in [min, max]. */
bool config_int(struct loader *ld, const config_setting_t *s, const char *setting, long long min,
		long long max, long long *out);
bool config_bool(struct loader *ld, const config_setting_t *s, const char *setting, bool *out);
/* The string, owned by libconfig's parse tree. */
const char *config_string(struct loader *ld, const config_setting_t *s, const char *setting);
/* A copy of the string for the configuration to own ("out of memory" is an error too). */
char *config_strdup(struct loader *ld, const config_setting_t *s, const char *setting);

/* A setting that holds one value or a list of 1 to max values: how many, or -1 after
 * reporting. what names the values in the message ("addresses"). */
int config_values(struct loader *ld, const config_setting_t *s, const char *setting, int max,
		  const char *what);
/* Value i of such a setting: element i of a list, or the one value itself. */
const config_setting_t *config_value(const config_setting_t *s, int i);

/* config_listen.c: the listener defaults (named "listen[index]"), and listen, a group or a
 * list of groups, read before the rules that name listeners. */
void config_listen_defaults(struct listen_conf *l, unsigned index);
void config_load_listen(struct loader *ld, const config_setting_t *s);

/* config_stats.c: the stats group. */
void config_load_stats(struct loader *ld, const config_setting_t *g);

/* config_warnings.c: targets and rule sets nothing uses, rules an earlier one shadows. */
void config_warn_unused(struct loader *ld, const config_setting_t *root);

/* config_rules.c: rules, rulesets and default, read after the targets they name. */
void config_load_rules(struct loader *ld, const config_setting_t *root);

/* config_listen.c: after register and the targets, workers > 1 without registration. */
void config_check_workers(struct loader *ld, const config_setting_t *root);
/* config_register.c: register and register_limit, read before the targets. */
void config_load_register(struct loader *ld, const config_setting_t *root);
/* A target's slot and allow; returns whether it has a slot. */
bool config_load_slot(struct loader *ld, struct target_conf *t, const config_setting_t *g);
/* After the targets: no slot twice, and a registration socket for every slot. */
void config_check_slots(struct loader *ld, const config_setting_t *root);
/* For config_fixed_copy, config_fixed_diff and config_free. */
int config_register_copy(struct config *to, const struct config *from);
bool config_register_same(const struct config *a, const struct config *b);
void config_register_free(struct config *cfg);

/* The match keys of a rule, for every configuration with rules (socketbox-sockd's too). */
#define RULE_MAX_PREFIXES 64

/* Addresses or prefixes of one match key. */
struct prefix_list {
	struct in6_addr addr[RULE_MAX_PREFIXES];
	uint8_t plen[RULE_MAX_PREFIXES];
	unsigned n;
};

/* The address match key name ("local", "remote") of rule g: a string or a list of strings,
 * each an address or a prefix. No key means any address: one entry with prefix length 0.
 * where names the rule in messages ("rules[3]"). */
void config_prefixes(struct loader *ld, const config_setting_t *g, const char *where,
		     const char *name, struct prefix_list *out);

/* The port match key name ("local_port", "remote_port") of rule g: a port or a list of
 * ports and ranges, in *count ranges (the caller frees them). NULL (and 0) when there is
 * no key: any port. */
struct port_range *config_ports(struct loader *ld, const config_setting_t *g, const char *where,
				const char *name, unsigned *count);

#endif
