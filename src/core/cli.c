/* cli.c - what every program does alike on its command line */
#include "cli.h"
#include "log.h"
#include "num.h"
#include "version.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static const char *cli_name = "socketbox";
static const char *cli_usage_text = "";

void cli_init(const char *name, const char *usage)
{
	cli_name = name;
	cli_usage_text = usage;
	log_init(name, false, 0);
	opterr = 0; /* cli_option_error says it once, under our name */
}

void cli_usage(const char *msg, const char *arg)
{
	fprintf(stderr, "%s: %s%s%s\n%s", cli_name, msg, arg ? ": " : "", arg ? arg : "",
		cli_usage_text);
	exit(EXIT_USAGE);
}

void cli_option_error(int c, char *const *argv)
{
	char shortopt[3] = {'-', (char)optopt, '\0'};
	const char *given = argv[optind - 1];
	/* A short option is named alone, also inside a cluster such as -vx. */
	const char *which = optopt && given[0] == '-' && given[1] != '-' ? shortopt : given;

	cli_usage(c == ':' ? "option needs an argument" : "unknown option", which);
}

void cli_help(void)
{
	fputs(cli_usage_text, stdout);
	exit(0);
}

void cli_version(void)
{
	printf("%s %s\n", cli_name, SOCKETBOX_VERSION);
	exit(0);
}

long long cli_number(const char *what, const char *s, long long min, long long max)
{
	const char *errstr;
	long long v;

	if (num_parse(s, min, max, &v, &errstr) < 0) {
		fprintf(stderr, "%s: %s \"%s\" is %s (%lld to %lld)\n%s", cli_name, what, s,
			errstr, min, max, cli_usage_text);
		exit(EXIT_USAGE);
	}
	return v;
}
