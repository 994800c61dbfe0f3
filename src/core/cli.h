/* cli.h - what every program does alike on its command line: its name, its usage, its
 * options, its version, and the exit statuses (0, 1 a bad configuration, 100 a usage
 * error, 111 a system error) */
#ifndef SB_CLI_H
#define SB_CLI_H

/* Starts a program: the log under name, the usage text for cli_usage and cli_help. */
void cli_init(const char *name, const char *usage);

/* The getopt string for these programs: with a leading ':' (after '+' when given), getopt
 * tells a missing argument (':') from an unknown option ('?') and prints nothing itself. */
#define CLI_GETOPT(s) ":" s
#define CLI_GETOPT_POSIX(s) "+:" s

/* Prints "NAME: MSG[: ARG]" and the usage text on stderr, exits 100. */
void cli_usage(const char *msg, const char *arg) __attribute__((noreturn));

/* For getopt's ':' or '?': one line naming the option, then the usage; exits 100. */
void cli_option_error(int c, char *const *argv) __attribute__((noreturn));

/* --help: the usage text on stdout, exit 0. --version: "NAME VERSION", exit 0. */
void cli_help(void) __attribute__((noreturn));
void cli_version(void) __attribute__((noreturn));

/* The value of option what ("-c", "--max-conns") as a decimal number in [min, max], or a
 * usage error that says so. */
long long cli_number(const char *what, const char *s, long long min, long long max);

#endif
