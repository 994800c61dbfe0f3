/* convert.h - socketbox --convert: a configuration of the original socketbox (its
 * line-and-token format: rule-set:N, map-set:N, ip:, jump-unix:, default, fail...) read and
 * written out as an equivalent socketbox.conf(5), with comments where the two differ. */
#ifndef SB_CONVERT_H
#define SB_CONVERT_H

#include <stddef.h>
#include <stdio.h>

/* Called once per error with "NAME:LINE: message". */
typedef void convert_report_fn(void *ctx, const char *msg);

/* Converts text (len bytes, read from the file called name) and writes the socketbox.conf
 * to out. Returns the number of errors, each reported; after an error out holds an
 * unfinished text that must not be used. */
unsigned convert_text(const char *name, const char *text, size_t len, FILE *out,
		      convert_report_fn *report, void *ctx);

/* socketbox --convert FILE ("-": standard input): the converted file on stdout once
 * socketbox's own loader has accepted it. Returns the exit status: 0, 1 (the file has
 * errors, each printed as FILE:LINE: message) or 111 (a system error). */
int convert_main(const char *file);

#endif
