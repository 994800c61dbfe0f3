/* metrics_table.c - `--stats PATH`: the exposition text of a server read back and printed
 * as tables an operator reads at a glance. Any program's counters: nothing here knows
 * their names. */
#include "metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "unixsock.h"

#define TABLE_MAX_TEXT (64u << 20)

struct sample {
	char *name, *key, *label, *value; /* key and label NULL for a sample without one */
};

struct column {
	const char *name; /* the metric */
	size_t width;
};

static int table_fetch(const char *path, char **text)
{
	struct sockaddr_un sun;
	struct timeval tv = {.tv_sec = METRICS_CLIENT_TIMEOUT_MS / 1000};
	socklen_t len;
	size_t n = 0, cap = 0;
	char *buf = NULL;
	int fd = -1, saved;

	if (unixsock_addr(path, &sun, &len) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, len) < 0 || shutdown(fd, SHUT_WR) < 0)
		goto bad;
	for (;;) {
		ssize_t r;

		if (cap - n < 4096) {
			char *p = cap >= TABLE_MAX_TEXT ? NULL : realloc(buf, cap + 65536);

			if (p == NULL) {
				errno = cap >= TABLE_MAX_TEXT ? EFBIG : ENOMEM;
				goto bad;
			}
			buf = p;
			cap += 65536;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto bad;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	close(fd);
	*text = buf;
	return 0;
bad:
	saved = errno == EAGAIN ? ETIMEDOUT : errno;
	if (fd >= 0)
		close(fd);
	free(buf);
	errno = saved;
	return -1;
}

/* Splits one sample line in place: NAME[{KEY="LABEL"}] VALUE. */
static bool table_parse(char *line, struct sample *s)
{
	char *p = line + strcspn(line, "{ ");

	*s = (struct sample){.name = line};
	if (*p == '{') {
		char *w;

		*p++ = '\0';
		s->key = p;
		if ((p = strstr(p, "=\"")) == NULL)
			return false;
		*p = '\0';
		s->label = w = p + 2;
		for (p += 2; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1]) {
				p++;
				*w++ = *p == 'n' ? '\n' : *p;
			} else {
				*w++ = *p;
			}
		}
		if (*p != '"')
			return false;
		*w = '\0';
		p = strchr(p + 1, ' ');
		if (p == NULL)
			return false;
	}
	if (*p != ' ')
		return false;
	*p++ = '\0';
	s->value = p + strspn(p, " ");
	s->value[strcspn(s->value, " ")] = '\0';
	return true;
}

/* "socketbox_connections_handed_total" is "connections_handed" in a line of its own and
 * "handed" in a column head. */
static const char *table_short(const char *name, bool column)
{
	static char buf[128];
	const char *p = strchr(name, '_');
	size_t n;

	p = p ? p + 1 : name;
	n = strlen(p);
	if (n > 6 && strcmp(p + n - 6, "_total") == 0)
		n -= 6;
	if (column && n > 12 && strncmp(p, "connections_", 12) == 0)
		p += 12, n -= 12;
	snprintf(buf, sizeof(buf), "%.*s", (int)n, p);
	return buf;
}

static const char *table_value(const struct sample *s, size_t n, const char *name, const char *key,
			       const char *label)
{
	for (size_t i = 0; i < n; i++)
		if (s[i].key && strcmp(s[i].name, name) == 0 && strcmp(s[i].key, key) == 0 &&
		    strcmp(s[i].label, label) == 0)
			return s[i].value;
	return "-";
}

static bool table_seen(const struct sample *s, size_t upto, const char *key, const char *label)
{
	for (size_t i = 0; i < upto; i++)
		if (s[i].key && strcmp(s[i].key, key) == 0 &&
		    (label == NULL || strcmp(s[i].label, label) == 0))
			return true;
	return false;
}

/* One table for the samples labelled key: a row per label, a column per metric. */
static int table_print_key(FILE *out, const struct sample *s, size_t n, const char *key)
{
	struct column *cols = calloc(n, sizeof(*cols));
	size_t ncols = 0, lwidth = strlen(key);

	if (cols == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		size_t c;

		if (s[i].key == NULL || strcmp(s[i].key, key) != 0)
			continue;
		for (c = 0; c < ncols && strcmp(cols[c].name, s[i].name) != 0; c++)
			;
		if (c == ncols)
			cols[ncols++] =
			    (struct column){s[i].name, strlen(table_short(s[i].name, true))};
		if (strlen(s[i].value) > cols[c].width)
			cols[c].width = strlen(s[i].value);
		if (strlen(s[i].label) > lwidth)
			lwidth = strlen(s[i].label);
	}
	fprintf(out, "\n%-*s", (int)lwidth, key);
	for (size_t c = 0; c < ncols; c++)
		fprintf(out, "  %*s", (int)cols[c].width, table_short(cols[c].name, true));
	fputc('\n', out);
	for (size_t i = 0; i < n; i++) {
		if (s[i].key == NULL || strcmp(s[i].key, key) != 0 ||
		    table_seen(s, i, key, s[i].label))
			continue;
		fprintf(out, "%-*s", (int)lwidth, s[i].label);
		for (size_t c = 0; c < ncols; c++)
			fprintf(out, "  %*s", (int)cols[c].width,
				table_value(s, n, cols[c].name, key, s[i].label));
		fputc('\n', out);
	}
	free(cols);
	return 0;
}

static int table_print(FILE *out, const struct sample *s, size_t n)
{
	/* Unlabelled samples, and "_info" ones that carry a label such as the version. */
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(s[i].name);

		if (s[i].key == NULL)
			fprintf(out, "%-28s %s\n", table_short(s[i].name, false), s[i].value);
		else if (len > 5 && strcmp(s[i].name + len - 5, "_info") == 0)
			fprintf(out, "%-28s %s\n", s[i].key, s[i].label);
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(s[i].name);

		if (s[i].key == NULL || (len > 5 && strcmp(s[i].name + len - 5, "_info") == 0) ||
		    table_seen(s, i, s[i].key, NULL))
			continue;
		if (table_print_key(out, s, n, s[i].key) < 0)
			return -1;
	}
	return 0;
}

int metrics_print_table(const char *path, FILE *out)
{
	struct sample *s = NULL;
	size_t n = 0, cap = 0;
	char *text = NULL, *save = NULL;
	int rc = -1;

	if (table_fetch(path, &text) < 0)
		return -1;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		if (n == cap) {
			struct sample *p = realloc(s, (cap = cap ? 2 * cap : 64) * sizeof(*s));

			if (p == NULL)
				goto done;
			s = p;
		}
		if (table_parse(line, &s[n]))
			n++;
	}
	if (n == 0) {
		errno = EPROTO;
		goto done;
	}
	rc = table_print(out, s, n);
done:
	free(s);
	free(text);
	return rc;
}
