/* convert.c - socketbox --convert FILE: reads a configuration of the original socketbox
 * (convert_read.c), writes it as socketbox.conf(5) (convert_write.c), and prints the result
 * only once socketbox's own loader has accepted it: a conversion either fails, naming the
 * line, or gives a file that `socketbox -c` accepts. */
#include "convert_model.h"
#include "config.h"
#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void convert_error(struct osb_config *c, unsigned line, const char *fmt, ...)
{
	char msg[768], full[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s:%u: %s", c->name, line, msg);
	if (++c->errors <= OSB_MAX_ERRORS)
		c->report(c->ctx, full);
}

const char *convert_kind_name(enum osb_kind kind)
{
	return kind == OSB_RULE ? "rule-set" : "map-set";
}

void convert_free(struct osb_config *c)
{
	for (unsigned k = 0; k < 2; k++) {
		for (unsigned id = 0; id < c->nsets[k]; id++) {
			struct osb_set *s = &c->sets[k][id];

			for (unsigned i = 0; i < s->n; i++)
				free(s->entries[i].action.path);
			free(s->entries);
			free(s->def.path);
		}
		free(c->sets[k]);
	}
}

unsigned convert_text(const char *name, const char *text, size_t len, FILE *out,
		      convert_report_fn *report, void *ctx)
{
	struct osb_config c = {.name = name, .report = report, .ctx = ctx};
	char msg[512];

	convert_read(&c, text, len);
	if (c.errors == 0)
		convert_write(&c, out);
	if (c.errors > OSB_MAX_ERRORS) {
		snprintf(msg, sizeof(msg), "%s: %u more errors not shown", name,
			 c.errors - OSB_MAX_ERRORS);
		report(ctx, msg);
	}
	convert_free(&c);
	return c.errors;
}

static void convert_report(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "socketbox: %s\n", msg);
}

struct verify {
	const char *file, *path;
	unsigned errors;
};

/* A message of the loader names the converted text as path: say it is the output. */
static void convert_verify_report(void *ctx, const char *msg)
{
	struct verify *v = ctx;
	size_t n = strlen(v->path);

	/* Warnings (a rule the original shadowed too) pass on; errors refuse. */
	bool warning = strstr(msg, ": warning: ") != NULL;

	v->errors += !warning;
	if (strncmp(msg, v->path, n) == 0 && msg[n] == ':')
		msg += n + 1;
	fprintf(stderr, "socketbox: %s: socketbox %s the converted file, at its line %s\n",
		v->file, warning ? "warns of" : "refuses", msg);
}

/* Loads the converted text as socketbox would: 0, 1 when it is refused, or EXIT_SYSTEM. */
static int convert_verify(const char *file, const char *conv, size_t len)
{
	char path[64];
	struct verify v = {.file = file, .path = path};
	struct config *cfg;
	int fd = memfd_create("socketbox-convert", MFD_CLOEXEC);

	if (fd < 0) {
		log_warn("unable to check the converted file");
		return EXIT_SYSTEM;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	for (size_t done = 0; done < len;) {
		ssize_t w = write(fd, conv + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			log_warn("unable to check the converted file");
			close(fd);
			return EXIT_SYSTEM;
		}
		done += (size_t)w;
	}
	cfg = config_load(path, convert_verify_report, &v);
	config_free(cfg);
	close(fd);
	return cfg ? 0 : 1;
}

static int convert_slurp(FILE *f, char **text, size_t *len)
{
	size_t cap = 0, n;

	*text = NULL;
	*len = 0;
	do {
		if (*len == cap) {
			char *grown = realloc(*text, cap = cap ? 2 * cap : 65536);

			if (grown == NULL)
				return -1;
			*text = grown;
		}
		n = fread(*text + *len, 1, cap - *len, f);
		*len += n;
	} while (n > 0);
	return ferror(f) ? -1 : 0;
}

int convert_main(const char *file)
{
	bool from_stdin = strcmp(file, "-") == 0;
	const char *name = from_stdin ? "(standard input)" : file;
	FILE *in = from_stdin ? stdin : fopen(file, "r"), *out = NULL;
	char *text = NULL, *conv = NULL;
	size_t len = 0, convlen = 0;
	int status = EXIT_SYSTEM;

	if (in == NULL || convert_slurp(in, &text, &len) < 0) {
		fprintf(stderr, "socketbox: %s: unable to read the file: %s\n", name,
			strerror(errno));
		goto done;
	}
	if ((out = open_memstream(&conv, &convlen)) == NULL) {
		log_warn("unable to convert %s", name);
		goto done;
	}
	status = 1;
	if (convert_text(name, text, len, out, convert_report, NULL) > 0)
		goto done;
	status = EXIT_SYSTEM;
	if (fclose(out) != 0) {
		out = NULL;
		log_warn("unable to convert %s", name);
		goto done;
	}
	out = NULL;
	if ((status = convert_verify(name, conv, convlen)) != 0)
		goto done;
	status = EXIT_SYSTEM;
	if (fwrite(conv, 1, convlen, stdout) != convlen || fflush(stdout) != 0) {
		log_warn("unable to write the converted file");
		goto done;
	}
	status = 0;
done:
	if (out)
		fclose(out);
	if (in && !from_stdin)
		fclose(in);
	free(conv);
	free(text);
	return status;
}
