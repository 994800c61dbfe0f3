/* config_loader.c - the checked readers every part of the configuration loader uses: each
 * error names the file, the line and the setting, and is counted so that the load fails
 * but goes on, and `socketbox -c` reports every error at once. */
#include "config_loader.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void config_error(struct loader *ld, const config_setting_t *s, const char *setting,
		  const char *fmt, ...)
{
	char msg[768], line[1024];
	const char *file = s ? config_setting_source_file(s) : NULL;
	unsigned lineno = s ? config_setting_source_line(s) : 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "%s:%u: %s: %s", file ? file : ld->file, lineno, setting, msg);
	if (++ld->errors <= CONFIG_MAX_REPORTED)
		ld->report(ld->ctx, line);
}

const char *config_type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "a number";
	case CONFIG_TYPE_FLOAT:
		return "a decimal number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	case CONFIG_TYPE_GROUP:
		return "a group";
	default:
		return "something else";
	}
}

void config_check_keys(struct loader *ld, const config_setting_t *group, const char *where,
		       const char *const *allowed)
{
	int n = config_setting_length(group);

	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(m);
		bool ok = false;

		for (const char *const *a = allowed; *a && !ok; a++)
			ok = strcmp(*a, name) == 0;
		if (!ok)
			config_error(ld, m, where, "unknown setting \"%s\"", name);
	}
}

bool config_is_int(const config_setting_t *s)
{
	int t = config_setting_type(s);

	return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
}

bool config_int(struct loader *ld, const config_setting_t *s, const char *setting, long long min,
		long long max, long long *out)
{
	long long v;

	if (!config_is_int(s)) {
		config_error(ld, s, setting, "must be a number, not %s", config_type_name(s));
		return false;
	}
	v = config_setting_get_int64(s);
	if (v < min || v > max) {
		config_error(ld, s, setting, "%lld is out of range (%lld to %lld)", v, min, max);
		return false;
	}
	*out = v;
	return true;
}

bool config_bool(struct loader *ld, const config_setting_t *s, const char *setting, bool *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		config_error(ld, s, setting, "must be true or false, not %s", config_type_name(s));
		return false;
	}
	*out = config_setting_get_bool(s);
	return true;
}

const char *config_string(struct loader *ld, const config_setting_t *s, const char *setting)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		config_error(ld, s, setting, "must be a string, not %s", config_type_name(s));
		return NULL;
	}
	return config_setting_get_string(s);
}

char *config_strdup(struct loader *ld, const config_setting_t *s, const char *setting)
{
	const char *v = config_string(ld, s, setting);
	char *copy;

	if (v == NULL)
		return NULL;
	copy = strdup(v);
	if (copy == NULL)
		config_error(ld, s, setting, "out of memory");
	return copy;
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
