/* metrics_sum.c - adding up exposition texts line by line. The texts of workers of one
 * configuration list the same samples in the same order, so each line is looked for first
 * where the previous one matched: adding N texts is linear in their length. */
#include "metrics_sum.h"

#include <stdlib.h>
#include <string.h>

struct metrics_line {
	char *key;	/* a comment line whole, or a sample's name and labels */
	size_t namelen; /* of the metric name the line is about */
	unsigned long long value;
	bool comment;
};

struct metrics_sum {
	struct metrics_line *lines;
	size_t n, cap;
};

struct metrics_sum *metrics_sum_new(void)
{
	return calloc(1, sizeof(struct metrics_sum));
}

/* The metric name a line is about: "# HELP name ...", "# TYPE name ...", "name{...} v". */
static size_t metrics_sum_name(const char *line, size_t len, bool comment, const char **name)
{
	*name = line;
	if (comment) {
		*name = len > 7 ? line + 7 : line + len; /* past "# HELP " or "# TYPE " */
		len -= (size_t)(*name - line);
	}
	return strcspn(*name, " {\n") < len ? strcspn(*name, " {\n") : len;
}

static bool metrics_sum_is(const struct metrics_line *l, const char *key, size_t len, bool comment)
{
	return l->comment == comment && strncmp(l->key, key, len) == 0 && l->key[len] == '\0';
}

/* The line with key, looked for from *hint on, then from the start; -1 when absent. */
static long metrics_sum_find(const struct metrics_sum *s, const char *key, size_t len, bool comment,
			     size_t *hint)
{
	for (size_t i = *hint; i < s->n; i++)
		if (metrics_sum_is(&s->lines[i], key, len, comment))
			return (long)i;
	for (size_t i = 0; i < *hint && i < s->n; i++)
		if (metrics_sum_is(&s->lines[i], key, len, comment))
			return (long)i;
	return -1;
}

/* Where a new sample of the metric goes: after the last line about it, or at the end. */
static size_t metrics_sum_place(const struct metrics_sum *s, const char *name, size_t namelen)
{
	for (size_t i = s->n; i > 0; i--) {
		const struct metrics_line *l = &s->lines[i - 1];
		const char *n;

		metrics_sum_name(l->key, strlen(l->key), l->comment, &n);
		if (l->namelen == namelen && strncmp(n, name, namelen) == 0)
			return i;
	}
	return s->n;
}

static int metrics_sum_insert(struct metrics_sum *s, size_t at, const char *key, size_t len,
			      size_t namelen, bool comment, unsigned long long v)
{
	struct metrics_line *l;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;

		if ((l = realloc(s->lines, cap * sizeof(*l))) == NULL)
			return -1;
		s->lines = l;
		s->cap = cap;
	}
	memmove(&s->lines[at + 1], &s->lines[at], (s->n - at) * sizeof(*l));
	l = &s->lines[at];
	if ((l->key = strndup(key, len)) == NULL) {
		memmove(&s->lines[at], &s->lines[at + 1], (s->n - at) * sizeof(*l));
		return -1;
	}
	l->namelen = namelen;
	l->comment = comment;
	l->value = v;
	s->n++;
	return 0;
}

static bool metrics_sum_keeps_max(const char *name, size_t len)
{
	return (len >= 5 && strncmp(name + len - 5, "_info", 5) == 0) ||
	       (len >= 14 && strncmp(name + len - 14, "uptime_seconds", 14) == 0);
}

/* One line of text (without its newline). */
static int metrics_sum_line(struct metrics_sum *s, const char *line, size_t len, bool known_only,
			    size_t *hint)
{
	bool comment = line[0] == '#';
	const char *name, *sp = comment ? NULL : memrchr(line, ' ', len);
	size_t namelen = metrics_sum_name(line, len, comment, &name),
	       keylen = sp ? (size_t)(sp - line) : len;
	unsigned long long v = sp ? strtoull(sp + 1, NULL, 10) : 0;
	long at;

	if (len == 0 || (!comment && sp == NULL))
		return 0;
	at = metrics_sum_find(s, line, keylen, comment, hint);
	if (at >= 0) {
		struct metrics_line *l = &s->lines[at];

		if (metrics_sum_keeps_max(name, namelen))
			l->value = v > l->value ? v : l->value;
		else
			l->value += v;
		*hint = (size_t)at + 1;
		return 0;
	}
	if (known_only)
		return 0;
	*hint = comment ? s->n : metrics_sum_place(s, name, namelen);
	if (metrics_sum_insert(s, *hint, line, keylen, namelen, comment, v) < 0)
		return -1;
	(*hint)++;
	return 0;
}

int metrics_sum_add(struct metrics_sum *s, const char *text, size_t len, bool known_only)
{
	const char *end = text + len;
	size_t hint = 0;

	while (text < end) {
		const char *nl = memchr(text, '\n', (size_t)(end - text));
		size_t n = nl ? (size_t)(nl - text) : (size_t)(end - text);

		if (metrics_sum_line(s, text, n, known_only, &hint) < 0)
			return -1;
		text += n + 1;
	}
	return 0;
}

unsigned long long metrics_sum_total(const struct metrics_sum *s, const char *name)
{
	size_t len = strlen(name);
	unsigned long long v = 0;

	for (size_t i = 0; i < s->n; i++)
		if (!s->lines[i].comment && s->lines[i].namelen == len &&
		    strncmp(s->lines[i].key, name, len) == 0)
			v += s->lines[i].value;
	return v;
}

void metrics_sum_write(const struct metrics_sum *s, FILE *out)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->lines[i].comment)
			fprintf(out, "%s\n", s->lines[i].key);
		else
			fprintf(out, "%s %llu\n", s->lines[i].key, s->lines[i].value);
	}
}

void metrics_sum_free(struct metrics_sum *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->lines[i].key);
	free(s->lines);
	free(s);
}
