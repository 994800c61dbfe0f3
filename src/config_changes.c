/* config_changes.c - what a reload changed, for its log line: the targets added and
 * removed, by name. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Names listed per kind of change; a reload of a generated file may change thousands. */
#define CHANGES_MAX_NAMES 10

static bool config_has_target(const struct config *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->ntargets; i++)
		if (strcmp(cfg->targets[i].name, name) == 0)
			return true;
	return false;
}

/* Appends "; WHAT: a, b" with the targets of from that to lacks, if there are any.
 * Quadratic in the number of targets, which is fine for the hundreds a file has. */
static size_t config_list_missing(const struct config *from, const struct config *to,
				  const char *what, char *buf, size_t len, size_t off)
{
	unsigned n = 0;

	for (unsigned i = 0; i < from->ntargets; i++) {
		const char *name = from->targets[i].name;

		if (config_has_target(to, name))
			continue;
		if (n < CHANGES_MAX_NAMES && off < len)
			off +=
			    (size_t)snprintf(buf + off, len - off, "%s%s", n ? ", " : what, name);
		n++;
	}
	if (n > CHANGES_MAX_NAMES && off < len)
		off +=
		    (size_t)snprintf(buf + off, len - off, " and %u more", n - CHANGES_MAX_NAMES);
	return off;
}

void config_target_changes(const struct config *old, const struct config *new, char *buf,
			   size_t len)
{
	size_t off;

	buf[0] = '\0';
	off = config_list_missing(new, old, "; targets added: ", buf, len, 0);
	off = config_list_missing(old, new, "; targets removed: ", buf, len, off);
	if (off == 0)
		snprintf(buf, len, "; the same targets");
}
