/* log.h - one-line log messages to stderr or syslog */
#ifndef SB_LOG_H
#define SB_LOG_H

#include <stdbool.h>

#define EXIT_USAGE 100 /* bad command line (skarnet convention) */
#define EXIT_SYSTEM 111 /* a system call or resource failed */

void log_init(const char *progname, bool use_syslog, int verbose);
void log_set_syslog(bool use_syslog);
/* The name standard error's lines begin with (syslog keeps the one it was opened with). */
void log_set_progname(const char *progname);
extern int log_verbose;

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
