/* metrics.h - counters served in the Prometheus text exposition format on a UNIX stream
 * socket, without ever blocking the program that serves them, and read back as a table.
 *
 * The protocol: a client that sends an HTTP request ("GET /metrics HTTP/1.1", as curl
 * --unix-socket does) gets an HTTP/1.0 response; a client that sends anything else ending in
 * a newline, or just shuts its sending side down, gets the bare text. Either way the server
 * closes after the answer. */
#ifndef SB_METRICS_H
#define SB_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Writes the exposition text of the program's counters to out. */
typedef void metrics_render_fn(void *ctx, FILE *out);

struct metrics;

/* A server on listen_fd (from unixsock_listen_stream), which it owns from now on, with its own
 * epoll set: the caller watches metrics_fd for EPOLLIN and calls metrics_run. NULL when out of
 * resources. */
struct metrics *metrics_new(int listen_fd, metrics_render_fn *render, void *ctx);
int metrics_fd(const struct metrics *m);

/* Accepts, reads requests, writes answers and drops clients whose time is up, as far as
 * that goes without blocking. */
void metrics_run(struct metrics *m);

/* Clients are dropped METRICS_CLIENT_TIMEOUT_MS after they connected (a timer of the
 * server's own epoll set sees to it). */
#define METRICS_CLIENT_TIMEOUT_MS 5000

void metrics_free(struct metrics *m);

/* For render functions: "# HELP" and "# TYPE" lines (type "counter" or "gauge"), then
 * samples, with one label (label NULL: none). */
void metrics_help(FILE *out, const char *name, const char *type, const char *help);
void metrics_sample(FILE *out, const char *name, const char *label, const char *value,
		    unsigned long long v);

/* Unlabelled values with their HELP and TYPE lines. */
struct metrics_value {
	const char *name, *type, *help;
	unsigned long long value;
};
void metrics_values(FILE *out, const struct metrics_value *v, size_t n);

/* --stats PATH: reads the text from the server at path and prints it to out as tables (one
 * per label, a row per label value, a column per metric). Returns 0, or -1 with errno. */
int metrics_print_table(const char *path, FILE *out);

#endif
