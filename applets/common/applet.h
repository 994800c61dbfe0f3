/* applet.h - what every applet does alike: its name, usage and options */
#ifndef SB_APPLET_H
#define SB_APPLET_H

#include <stdbool.h>

/* Starts an applet: the log under name, the usage text for applet_usage, and descriptors
 * 0-2 kept taken (on /dev/null if closed), so that no received connection lands there. */
void applet_init(const char *name, const char *usage);

/* Prints "NAME: MSG[: ARG]" and the usage text on stderr, exits with EXIT_USAGE. */
void applet_usage(const char *msg, const char *arg) __attribute__((noreturn));

/* --help: the usage text on stdout, exit 0. */
void applet_help(void) __attribute__((noreturn));

/* The value of option what ("-c", "--max-conns") as a decimal number in [min, max], or a
 * usage error that says so. */
long long applet_number(const char *what, const char *s, long long min, long long max);

#endif
