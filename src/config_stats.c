/* config_stats.c - stats = { path = "..."; mode = 0660; group = "..."; }: where socketbox
 * serves its counters (metrics.h). */
#include "config_loader.h"
#include "ids.h"
#include "num.h"

#include <stdio.h>
#include <string.h>
#include <sys/un.h>

/* libconfig reads 0660 as the decimal number 660: its digits are what the operator wrote,
 * in octal as for chmod. A string ("0660") is read the same way. */
static void config_stats_mode(struct loader *ld, const config_setting_t *s)
{
	char digits[32];
	const char *text = digits;

	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		text = config_setting_get_string(s);
	else if (config_is_int(s) && config_setting_get_format(s) != CONFIG_FORMAT_HEX)
		snprintf(digits, sizeof(digits), "0%lld", config_setting_get_int64(s));
	else
		digits[0] = '\0';
	if (num_parse_mode(text, &ld->cfg->stats_mode) < 0 || ld->cfg->stats_mode > 0777)
		config_error(ld, s, "stats.mode", "must be a file mode in octal, such as 0660");
}

void config_load_stats(struct loader *ld, const config_setting_t *g)
{
	static const char *const keys[] = {"path", "mode", "group", NULL};
	struct config *cfg = ld->cfg;
	const config_setting_t *s;
	struct sockaddr_un sun;
	gid_t gid;

	if (!config_setting_is_group(g)) {
		config_error(ld, g, "stats",
			     "must be a group { path = \"...\"; mode = 0660; }, not %s",
			     config_type_name(g));
		return;
	}
	config_check_keys(ld, g, "stats", keys);
	if ((s = config_setting_get_member(g, "path")) == NULL)
		config_error(ld, g, "stats", "needs a path");
	else if ((cfg->stats_path = config_strdup(ld, s, "stats.path")) == NULL)
		;
	else if (cfg->stats_path[0] != '/')
		config_error(ld, s, "stats.path", "\"%s\" is not an absolute path",
			     cfg->stats_path);
	else if (strlen(cfg->stats_path) >= sizeof(sun.sun_path))
		config_error(ld, s, "stats.path",
			     "\"%s\" is longer than a socket path can be (%zu)", cfg->stats_path,
			     sizeof(sun.sun_path) - 1);
	if ((s = config_setting_get_member(g, "mode")) != NULL)
		config_stats_mode(ld, s);
	if ((s = config_setting_get_member(g, "group")) != NULL &&
	    (cfg->stats_group = config_strdup(ld, s, "stats.group")) != NULL &&
	    ld->check_identity && ids_group(cfg->stats_group, &gid) < 0)
		config_error(ld, s, "stats.group", "no such group \"%s\"", cfg->stats_group);
}
