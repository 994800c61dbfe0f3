/* applet.c - what every applet does alike: its name, usage and options */
#include "applet.h"
#include "log.h"
#include "num.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *applet_name = "socketbox-applet";
static const char *applet_usage_text = "";

void applet_init(const char *name, const char *usage)
{
	int fd;

	applet_name = name;
	applet_usage_text = usage;
	log_init(name, false, 0);
	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

void applet_usage(const char *msg, const char *arg)
{
	fprintf(stderr, "%s: %s%s%s\n%s", applet_name, msg, arg ? ": " : "", arg ? arg : "",
		applet_usage_text);
	exit(EXIT_USAGE);
}

void applet_help(void)
{
	fputs(applet_usage_text, stdout);
	exit(0);
}

long long applet_number(const char *what, const char *s, long long min, long long max)
{
	const char *errstr;
	long long v;

	if (num_parse(s, min, max, &v, &errstr) < 0) {
		fprintf(stderr, "%s: %s \"%s\" is %s (%lld to %lld)\n%s", applet_name, what, s,
			errstr, min, max, applet_usage_text);
		exit(EXIT_USAGE);
	}
	return v;
}
