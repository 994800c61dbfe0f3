/* log.c - one-line log messages to stderr or syslog, OpenBSD style:
 * the *x variants do not append strerror(errno). */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

int log_verbose;
static const char *log_progname = "socketbox";
static bool log_to_syslog;

void log_init(const char *progname, bool use_syslog, int verbose)
{
	log_progname = progname;
	log_verbose = verbose;
	log_set_syslog(use_syslog);
}

void log_set_progname(const char *progname)
{
	log_progname = progname;
}

void log_set_syslog(bool use_syslog)
{
	if (use_syslog && !log_to_syslog)
		openlog(log_progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_to_syslog = use_syslog;
}

static void log_vwrite(int pri, const char *label, int errnum, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_to_syslog) {
		if (errnum)
			syslog(pri, "%s%s: %s", label, msg, strerror(errnum));
		else
			syslog(pri, "%s%s", label, msg);
		return;
	}
	/* One fprintf so concurrent writers do not interleave within a line. */
	if (errnum)
		fprintf(stderr, "%s: %s%s: %s\n", log_progname, label, msg, strerror(errnum));
	else
		fprintf(stderr, "%s: %s%s\n", log_progname, label, msg);
}

#define LOG_BODY(pri, label, errnum)                                                               \
	do {                                                                                       \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_vwrite(pri, label, errnum, fmt, ap);                                           \
		va_end(ap);                                                                        \
	} while (0)

void log_warn(const char *fmt, ...)
{
	int saved = errno;

	LOG_BODY(LOG_WARNING, "warning: ", saved);
	errno = saved;
}

void log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, "warning: ", 0);
}

void log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_INFO, "", 0);
}

void log_debug(const char *fmt, ...)
{
	if (log_verbose < 2)
		return;
	LOG_BODY(LOG_DEBUG, "debug: ", 0);
}

void fatal(const char *fmt, ...)
{
	int saved = errno;

	LOG_BODY(LOG_CRIT, "fatal: ", saved);
	exit(EXIT_SYSTEM);
}

void fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, "fatal: ", 0);
	exit(EXIT_SYSTEM);
}
