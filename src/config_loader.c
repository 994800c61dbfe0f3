/* config_loader.c - the checked readers every part of the configuration loader uses: each
 * error names the file, the line and the setting, and is counted so that the load fails
 * but goes on, and `socketbox -c` reports every error at once. */
#include "config_loader.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keeps "FILE:LINE: setting: [warning: ]message"; said at once if there is no memory to
 * keep it. */
static void config_keep(struct loader *ld, const config_setting_t *s, const char *setting,
			bool warning, const char *fmt, va_list ap)
{
	char msg[768], line[1024];
	const char *file = s ? config_setting_source_file(s) : NULL;
	unsigned lineno = s ? config_setting_source_line(s) : 0;
	struct config_msg *m;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	snprintf(line, sizeof(line), "%s:%u: %s: %s%s", file ? file : ld->file, lineno, setting,
		 warning ? "warning: " : "", msg);
	if (ld->nmsgs == ld->msgs_cap) {
		size_t cap = ld->msgs_cap ? 2 * ld->msgs_cap : 16;

		m = realloc(ld->msgs, cap * sizeof(*m));
		if (m == NULL) {
			ld->report(ld->ctx, line);
			return;
		}
		ld->msgs = m;
		ld->msgs_cap = cap;
	}
	m = &ld->msgs[ld->nmsgs];
	*m = (struct config_msg){.file = file ? file : ld->file,
				 .line = lineno,
				 .seq = (unsigned)ld->nmsgs,
				 .warning = warning,
				 .text = strdup(line)};
	if (m->text == NULL)
		ld->report(ld->ctx, line);
	else
		ld->nmsgs++;
}

void config_error(struct loader *ld, const config_setting_t *s, const char *setting,
		  const char *fmt, ...)
{
	va_list ap;

	ld->errors++;
	va_start(ap, fmt);
	config_keep(ld, s, setting, false, fmt, ap);
	va_end(ap);
}

void config_warning(struct loader *ld, const config_setting_t *s, const char *setting,
		    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	config_keep(ld, s, setting, true, fmt, ap);
	va_end(ap);
}

static int config_msg_cmp(const void *a, const void *b)
{
	const struct config_msg *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void config_report_all(struct loader *ld)
{
	unsigned hidden_errors = 0, hidden_warnings = 0;
	char line[1024];

	/* The main file first, then included files in the order they first came up. */
	for (size_t i = 0; i < ld->nmsgs; i++) {
		struct config_msg *m = &ld->msgs[i];
		size_t first = 0;

		while (strcmp(ld->msgs[first].file, m->file) != 0)
			first++;
		m->rank = strcmp(m->file, ld->file) == 0 ? 0 : (unsigned)first + 1;
	}
	if (ld->nmsgs > 1) /* qsort must not see the NULL of an empty list */
		qsort(ld->msgs, ld->nmsgs, sizeof(*ld->msgs), config_msg_cmp);
	for (size_t i = 0; i < ld->nmsgs; i++) {
		if (i < CONFIG_MAX_REPORTED)
			ld->report(ld->ctx, ld->msgs[i].text);
		else if (ld->msgs[i].warning)
			hidden_warnings++;
		else
			hidden_errors++;
		free(ld->msgs[i].text);
	}
	if (hidden_errors || hidden_warnings) {
		if (hidden_warnings)
			snprintf(line, sizeof(line), "%s: %u more errors and %u warnings not shown",
				 ld->file, hidden_errors, hidden_warnings);
		else
			snprintf(line, sizeof(line), "%s: %u more errors not shown", ld->file,
				 hidden_errors);
		ld->report(ld->ctx, line);
	}
	free(ld->msgs);
	ld->msgs = NULL;
	ld->nmsgs = ld->msgs_cap = 0;
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

/* The context of a message of libconfig's parser, which names only a line: that line of
 * file, trimmed and cut at 100 characters, or "" when it cannot be read. */
const char *config_source_line(const char *file, int lineno, char *buf, size_t len)
{
	FILE *f = fopen(file, "re");
	char *line = NULL, *p;
	size_t cap = 0, n;
	int i = 0;

	buf[0] = '\0';
	if (f == NULL)
		return buf;
	while (getline(&line, &cap, f) >= 0)
		if (++i == lineno)
			break;
	if (i == lineno && line) {
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		n = strcspn(p, "\r\n");
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		snprintf(buf, len, "%.*s%s", n > 100 ? 100 : (int)n, p, n > 100 ? "..." : "");
	}
	free(line);
	fclose(f);
	return buf;
}
