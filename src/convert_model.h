/* convert_model.h - the original socketbox's configuration as convert_read.c reads it and
 * convert_write.c writes it out. Only convert*.c include it. */
#ifndef SB_CONVERT_MODEL_H
#define SB_CONVERT_MODEL_H

#include "convert.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#define OSB_MAX_SETS 1000   /* max-rules, max-maps and size: 1 to 1000 in the original */
#define OSB_MAX_LOOKUPS 100 /* sets one lookup of the original tries before it gives up */
#define OSB_MAX_ERRORS 50   /* reported; more are counted */

enum osb_kind { OSB_RULE, OSB_MAP };
enum osb_act { OSB_FAIL, OSB_FD, OSB_UNIX, OSB_JUMP_MAP, OSB_JUMP_RULE };

struct osb_action {
	enum osb_act type; /* OSB_FAIL (the zero value) closes the connection */
	uint32_t arg;	   /* the descriptor, or the set jumped to */
	char *path;	   /* OSB_UNIX */
	unsigned line;	   /* where it was given; 0 for a default never given */
	unsigned target;   /* convert_write: the target's number */
};

/* One line of a rule-set or map-set. In a rule-set each entry has its own prefix lengths and
 * ports; in a map-set the set's key (match-lip, ...) says which bits count. */
struct osb_entry {
	struct in6_addr local, remote;
	uint8_t local_plen, remote_plen;
	bool has_lport, has_rport;
	uint16_t lport, rport;
	struct osb_action action;
	unsigned line;
	unsigned same_as; /* map-set: the line of an earlier entry with the same key, or 0 */
};

struct osb_set {
	struct osb_entry *entries;
	unsigned n, size;      /* size stays 0 until size:N */
	struct osb_action def; /* default: OSB_FAIL unless given */
	unsigned line;	       /* the first rule-set:N or map-set:N line, 0 when none */
	unsigned size_line;
	uint8_t local_plen, remote_plen; /* map-set: match-lip, match-rip */
	bool match_lport, match_rport;	 /* map-set: match-lport, match-rport */
	uint8_t mark;			 /* convert_write: walk state */
	unsigned height;		 /* convert_write: the longest chain of jumps from here */
};

struct osb_config {
	const char *name;
	struct osb_set *sets[2]; /* by enum osb_kind */
	unsigned nsets[2];	 /* max-rules, max-maps: 0 when not given */
	unsigned nsets_line[2];
	convert_report_fn *report;
	void *ctx;
	unsigned errors;
};

/* Reports "NAME:LINE: message" and counts it. */
void convert_error(struct osb_config *c, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "rule-set" or "map-set". */
const char *convert_kind_name(enum osb_kind kind);

/* convert_read.c: reads text into c (nsets and sets zero). Errors are reported and
 * counted in c->errors. */
void convert_read(struct osb_config *c, const char *text, size_t len);

/* convert_write.c: checks the jumps of c and writes socketbox.conf to out; errors are
 * counted in c->errors. */
void convert_write(struct osb_config *c, FILE *out);

void convert_free(struct osb_config *c);

#endif
