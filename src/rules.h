/* rules.h - the compiled rule sets: first matching rule wins, lookup cost flat in the
 * number of rules (a hash table per prefix length on the masked address). */
#ifndef SB_RULES_H
#define SB_RULES_H

#include "ports.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rule_action { RULE_TARGET, RULE_REJECT, RULE_DROP, RULE_JUMP };

/* What a rule matches. A prefix length of 0 matches any address; no port ranges match
 * any port. */
struct rule_match {
	struct in6_addr local, remote;
	uint8_t local_plen, remote_plen;
	const struct port_range *local_ports, *remote_ports;
	unsigned nlocal_ports, nremote_ports;
	uint32_t listeners; /* bit i: listener i (conn_key.listener); 0: any listener */
};

/* The listener is a number from 0 to 31, as the loaded configuration numbers them: bit
 * `listener` of a rule's listener mask. 31 is a running listener that a reloaded file no
 * longer names, which only rules without listener match. */
#define RULES_LISTENER_UNNAMED 31

struct conn_key {
	struct in6_addr local, remote;
	uint16_t local_port, remote_port;
	uint32_t listener;
	/* The addresses came from a PROXY header, not from the socket: the hand-off tells the
	 * applet them (fdpass.h). Not matched on. */
	bool proxied;
};

struct verdict {
	enum rule_action action; /* RULE_TARGET, RULE_REJECT or RULE_DROP */
	uint32_t target;	 /* for RULE_TARGET */
	unsigned line;		 /* config line of the matching rule, 0 for the default */
	uint32_t set, index;	 /* which rule matched (set and position), for logging */
};

struct rules;

struct rules *rules_new(void);
void rules_free(struct rules *rs);

/* Adds a rule set; set 0 is the main list. Returns its number, or -1 (out of memory). */
int rules_add_set(struct rules *rs, const char *name);
/* Looks a set up by name; -1 when there is none. */
int rules_find_set(const struct rules *rs, const char *name);
const char *rules_set_name(const struct rules *rs, uint32_t set);
/* How many sets there are, the main list included. */
size_t rules_nsets(const struct rules *rs);

/* Which rule decided v, for a log line: "rules[2]", "rulesets.NAME[0]" or "default". */
const char *rules_where(const struct rules *rs, const struct verdict *v, char *buf, size_t len);

/* Appends a rule to a set. arg is the target number (RULE_TARGET) or the set number
 * (RULE_JUMP). The port ranges are copied. Returns 0, or -1 (out of memory). */
int rules_add(struct rules *rs, uint32_t set, const struct rule_match *m, enum rule_action action,
	      uint32_t arg, unsigned line);

/* What happens when no rule matches. */
void rules_set_default(struct rules *rs, enum rule_action action, uint32_t target);

/* The most steps one lookup may take, whatever set it starts in and whichever jumps match
 * and fall through: a step is one try of a set (the first, and one more after each jump out
 * of it that does not decide) or one hash table probed by a try. It bounds a lookup to about
 * a tenth of a millisecond; two jumps per set to the next set would otherwise double the work
 * with every set. socketbox.conf(5) documents it. */
#define RULES_MAX_STEPS 10000

/* Builds the lookup tables. Fails (-1) when jumps form a loop or could make a lookup take
 * more than RULES_MAX_STEPS steps; err then names the jump (its line and sets). */
int rules_compile(struct rules *rs, char *err, size_t errlen);

/* The verdict for a connection. Never fails: the default applies when nothing matches. */
void rules_lookup(const struct rules *rs, const struct conn_key *key, struct verdict *v);

size_t rules_count(const struct rules *rs);

/* A rule as it was added, for the checks of config_warnings.c. The port ranges point into
 * the rules, valid until they change. */
struct rule_entry {
	struct rule_match m;
	enum rule_action action;
	uint32_t arg;
	unsigned line;
};

size_t rules_set_size(const struct rules *rs, uint32_t set);
void rules_entry(const struct rules *rs, uint32_t set, size_t i, struct rule_entry *e);
/* The default action, and its target for RULE_TARGET. */
enum rule_action rules_default(const struct rules *rs, uint32_t *target);

#endif
