/* convert_read.c - reads the original socketbox's configuration format: one entry per line,
 * tokens NAME or NAME:VALUE separated by spaces, "#" in the first column for a comment.
 * The state machine follows the original's: rule-set:N or map-set:N selects a set, each
 * later line adds an entry to it (or, after "default", sets its default action), and
 * max-rules, max-maps and size bound everything. Where the original silently accepted
 * something by accident (atoi's "12abc", a token abbreviated by its binary search, a
 * relative socket path), this reader says so and stops: the operator decides. */
#include "convert_model.h"
#include "num.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

enum rd_state { RD_GLOBAL, RD_SET, RD_DEFAULT };

struct reader {
	struct osb_config *c;
	unsigned line;
	enum rd_state state;
	enum osb_kind kind;
	unsigned set;
	bool entry_open; /* the entry of this line exists */
};

typedef int rd_handler(struct reader *r, const char *tok, const char *val);

struct rd_token {
	const char *name;
	rd_handler *handler;
	bool needs_value;
};

static struct osb_set *rd_set(struct reader *r)
{
	return &r->c->sets[r->kind][r->set];
}

static int rd_number(struct reader *r, const char *tok, const char *val, long long min,
		     long long max, long long *out)
{
	const char *errstr;

	if (num_parse(val, min, max, out, &errstr) == 0)
		return 0;
	convert_error(r->c, r->line, "\"%s\": \"%s\" is not a number from %lld to %lld", tok, val,
		      min, max);
	return -1;
}

/* max-rules:N, max-maps:N: how many sets of that kind exist, numbered from 0. */
static int rd_max_sets(struct reader *r, const char *tok, enum osb_kind kind, const char *val)
{
	struct osb_config *c = r->c;
	long long n;

	if (c->nsets[kind]) {
		convert_error(c, r->line, "\"%s\": given twice (first on line %u)", tok,
			      c->nsets_line[kind]);
		return -1;
	}
	if (rd_number(r, tok, val, 1, OSB_MAX_SETS, &n) < 0)
		return -1;
	if ((c->sets[kind] = calloc((size_t)n, sizeof(struct osb_set))) == NULL) {
		convert_error(c, r->line, "\"%s\": out of memory", tok);
		return -1;
	}
	c->nsets[kind] = (unsigned)n;
	c->nsets_line[kind] = r->line;
	return 0;
}

static int rd_max_rules(struct reader *r, const char *tok, const char *val)
{
	return rd_max_sets(r, tok, OSB_RULE, val);
}

static int rd_max_maps(struct reader *r, const char *tok, const char *val)
{
	return rd_max_sets(r, tok, OSB_MAP, val);
}

/* rule-set:N, map-set:N: the entries of the following lines go to that set. */
static int rd_select(struct reader *r, const char *tok, enum osb_kind kind, const char *val)
{
	struct osb_config *c = r->c;
	long long n;

	if (r->entry_open) {
		convert_error(c, r->line, "\"%s\" must come before the entry of its line", tok);
		return -1;
	}
	if (rd_number(r, tok, val, 0, OSB_MAX_SETS - 1, &n) < 0)
		return -1;
	if ((unsigned)n >= c->nsets[kind]) {
		if (c->nsets[kind] == 0)
			convert_error(c, r->line, "\"%s\": no %s before it", tok,
				      kind == OSB_RULE ? "max-rules:N" : "max-maps:N");
		else
			convert_error(c, r->line, "\"%s\": %s:%u allows %ss 0 to %u only", tok,
				      kind == OSB_RULE ? "max-rules" : "max-maps", c->nsets[kind],
				      convert_kind_name(kind), c->nsets[kind] - 1);
		return -1;
	}
	r->state = RD_SET;
	r->kind = kind;
	r->set = (unsigned)n;
	if (rd_set(r)->line == 0)
		rd_set(r)->line = r->line;
	return 0;
}

static int rd_rule_set(struct reader *r, const char *tok, const char *val)
{
	return rd_select(r, tok, OSB_RULE, val);
}

static int rd_map_set(struct reader *r, const char *tok, const char *val)
{
	return rd_select(r, tok, OSB_MAP, val);
}

static int rd_need_set(struct reader *r, const char *tok)
{
	if (r->state == RD_SET)
		return 0;
	convert_error(r->c, r->line, "\"%s\" %s", tok,
		      r->state == RD_GLOBAL ? "outside a rule-set or map-set"
					    : "after \"default\" (which ends the entries of a set "
					      "until the next rule-set:N or map-set:N)");
	return -1;
}

static int rd_size(struct reader *r, const char *tok, const char *val)
{
	struct osb_set *s;
	long long n;

	if (rd_need_set(r, tok) < 0)
		return -1;
	s = rd_set(r);
	if (s->size) {
		convert_error(r->c, r->line, "\"%s\": %s:%u has its size already (line %u)", tok,
			      convert_kind_name(r->kind), r->set, s->size_line);
		return -1;
	}
	if (rd_number(r, tok, val, 1, OSB_MAX_SETS, &n) < 0)
		return -1;
	if ((s->entries = calloc((size_t)n, sizeof(*s->entries))) == NULL) {
		convert_error(r->c, r->line, "\"%s\": out of memory", tok);
		return -1;
	}
	s->size = (unsigned)n;
	s->size_line = r->line;
	return 0;
}

/* The entry of this line: the first token that needs one makes it. */
static struct osb_entry *rd_entry(struct reader *r, const char *tok)
{
	struct osb_set *s;
	struct osb_entry *e;

	if (rd_need_set(r, tok) < 0)
		return NULL;
	s = rd_set(r);
	if (r->entry_open)
		return &s->entries[s->n - 1];
	if (s->size == 0 || s->n == s->size) {
		if (s->size == 0)
			convert_error(r->c, r->line,
				      "\"%s\": %s:%u has no size:N before its first entry", tok,
				      convert_kind_name(r->kind), r->set);
		else
			convert_error(r->c, r->line,
				      "\"%s\": %s:%u has more entries than its size:%u (line %u)",
				      tok, convert_kind_name(r->kind), r->set, s->size,
				      s->size_line);
		return NULL;
	}
	e = &s->entries[s->n++];
	e->line = r->line;
	r->entry_open = true;
	return e;
}

static int rd_address(struct reader *r, const char *tok, const char *s, struct in6_addr *a)
{
	if (inet_pton(AF_INET6, s, a) == 1)
		return 0;
	convert_error(r->c, r->line,
		      "\"%s\": \"%s\" is not an IPv6 address (the original reads IPv4 only as "
		      "::ffff:a.b.c.d)",
		      tok, s);
	return -1;
}

/* The length of a contiguous mask, or -1. */
static int rd_mask_length(const struct in6_addr *m)
{
	int len = 0, i = 0;

	while (len < 128 && (m->s6_addr[len / 8] & (0x80 >> (len % 8))))
		len++;
	for (i = len; i < 128; i++)
		if (m->s6_addr[i / 8] & (0x80 >> (i % 8)))
			return -1;
	return len;
}

/* ADDR, ADDR/LEN or ADDR/MASK (an IPv6 mask); socketbox matches prefixes only. */
static int rd_prefix(struct reader *r, const char *tok, const char *val, struct in6_addr *a,
		     uint8_t *plen)
{
	const char *slash = strchr(val, '/');
	char addr[INET6_ADDRSTRLEN + 1];
	size_t alen = slash ? (size_t)(slash - val) : strlen(val);
	struct in6_addr mask;
	long long n;
	int len;

	if (alen >= sizeof(addr)) {
		convert_error(r->c, r->line, "\"%s\": \"%s\" is not an IPv6 address", tok, val);
		return -1;
	}
	memcpy(addr, val, alen);
	addr[alen] = '\0';
	if (rd_address(r, tok, addr, a) < 0)
		return -1;
	*plen = 128;
	if (slash == NULL)
		return 0;
	if (strchr(slash + 1, ':') == NULL) {
		if (rd_number(r, tok, slash + 1, 0, 128, &n) < 0)
			return -1;
		*plen = (uint8_t)n;
		return 0;
	}
	if (inet_pton(AF_INET6, slash + 1, &mask) != 1 || (len = rd_mask_length(&mask)) < 0) {
		convert_error(r->c, r->line,
			      "\"%s\": \"%s\" is not a prefix mask (socketbox matches address "
			      "prefixes only)",
			      tok, slash + 1);
		return -1;
	}
	*plen = (uint8_t)len;
	return 0;
}

/* ip:, rip:: in a rule-set a prefix, in a map-set an address (its map's key says which
 * bits count). */
static int rd_ip(struct reader *r, const char *tok, const char *val, bool remote)
{
	struct osb_entry *e = rd_entry(r, tok);

	if (e == NULL)
		return -1;
	if (r->kind == OSB_MAP)
		return rd_address(r, tok, val, remote ? &e->remote : &e->local);
	if (remote)
		return rd_prefix(r, tok, val, &e->remote, &e->remote_plen);
	return rd_prefix(r, tok, val, &e->local, &e->local_plen);
}

static int rd_local_ip(struct reader *r, const char *tok, const char *val)
{
	return rd_ip(r, tok, val, false);
}

static int rd_remote_ip(struct reader *r, const char *tok, const char *val)
{
	return rd_ip(r, tok, val, true);
}

static int rd_port(struct reader *r, const char *tok, const char *val, bool remote)
{
	struct osb_entry *e = rd_entry(r, tok);
	long long n;

	if (e == NULL || rd_number(r, tok, val, 0, 65535, &n) < 0)
		return -1;
	if (remote)
		e->has_rport = true, e->rport = (uint16_t)n;
	else
		e->has_lport = true, e->lport = (uint16_t)n;
	return 0;
}

static int rd_local_port(struct reader *r, const char *tok, const char *val)
{
	return rd_port(r, tok, val, false);
}

static int rd_remote_port(struct reader *r, const char *tok, const char *val)
{
	return rd_port(r, tok, val, true);
}

/* The action an action token sets: the entry's, or after "default" the set's. */
static struct osb_action *rd_action(struct reader *r, const char *tok)
{
	struct osb_entry *e;

	if (r->state == RD_DEFAULT)
		return &rd_set(r)->def;
	if (r->state == RD_GLOBAL) {
		convert_error(r->c, r->line, "\"%s\" outside a rule-set or map-set", tok);
		return NULL;
	}
	e = rd_entry(r, tok);
	return e ? &e->action : NULL;
}

/* A socket path as the original used it: sent to as it is, cut at 107 bytes. */
static int rd_path(struct reader *r, const char *tok, const char *val)
{
	struct sockaddr_un sun;

	if (*val == '\0') {
		convert_error(r->c, r->line, "\"%s\": the path is empty", tok);
		return -1;
	}
	if (strlen(val) >= sizeof(sun.sun_path)) {
		convert_error(r->c, r->line,
			      "\"%s\": the path is longer than %zu bytes, and the original cut it "
			      "short",
			      tok, sizeof(sun.sun_path) - 1);
		return -1;
	}
	/* Relative to the original's working directory, which the file does not say. */
	if (*val != '/') {
		convert_error(r->c, r->line,
			      "\"%s\": \"%s\" is a relative path (the original resolved it from "
			      "its working directory, \"/\" under -x); write it in full",
			      tok, val);
		return -1;
	}
	return 0;
}

static int rd_set_action(struct reader *r, const char *tok, const char *val, enum osb_act type)
{
	struct osb_action *a = rd_action(r, tok);
	long long n = 0;
	char *path = NULL;

	if (a == NULL)
		return -1;
	if (type == OSB_UNIX && rd_path(r, tok, val) < 0)
		return -1;
	if (type == OSB_UNIX && (path = strdup(val)) == NULL) {
		convert_error(r->c, r->line, "\"%s\": out of memory", tok);
		return -1;
	}
	if (type == OSB_FD && rd_number(r, tok, val, 0, 1 << 20, &n) < 0)
		return -1;
	if ((type == OSB_JUMP_MAP || type == OSB_JUMP_RULE) &&
	    rd_number(r, tok, val, 0, UINT32_MAX, &n) < 0)
		return -1;
	free(a->path); /* the last action of a line wins, as in the original */
	a->type = type;
	a->arg = (uint32_t)n;
	a->path = path;
	a->line = r->line;
	return 0;
}

static int rd_jump_fd(struct reader *r, const char *tok, const char *val)
{
	return rd_set_action(r, tok, val, OSB_FD);
}

static int rd_jump_unix(struct reader *r, const char *tok, const char *val)
{
	return rd_set_action(r, tok, val, OSB_UNIX);
}

static int rd_jump_map(struct reader *r, const char *tok, const char *val)
{
	return rd_set_action(r, tok, val, OSB_JUMP_MAP);
}

static int rd_jump_rule(struct reader *r, const char *tok, const char *val)
{
	return rd_set_action(r, tok, val, OSB_JUMP_RULE);
}

static int rd_fail(struct reader *r, const char *tok, const char *val)
{
	return rd_set_action(r, tok, val, OSB_FAIL);
}

static int rd_default(struct reader *r, const char *tok, const char *val)
{
	(void)val;
	if (r->entry_open || r->state != RD_SET) {
		convert_error(r->c, r->line, "\"%s\" must begin a line in a rule-set or map-set",
			      tok);
		return -1;
	}
	r->state = RD_DEFAULT;
	return 0;
}

/* match-lip:LEN, match-rip:LEN, match-lport, match-rport: the key of a map-set. */
static int rd_need_map(struct reader *r, const char *tok)
{
	if (r->state == RD_SET && r->kind == OSB_MAP)
		return 0;
	convert_error(r->c, r->line, "\"%s\" outside a map-set", tok);
	return -1;
}

static int rd_match_ip(struct reader *r, const char *tok, const char *val, bool remote)
{
	long long n;

	if (rd_need_map(r, tok) < 0 || rd_number(r, tok, val, 0, 128, &n) < 0)
		return -1;
	if (remote)
		rd_set(r)->remote_plen = (uint8_t)n;
	else
		rd_set(r)->local_plen = (uint8_t)n;
	return 0;
}

static int rd_match_lip(struct reader *r, const char *tok, const char *val)
{
	return rd_match_ip(r, tok, val, false);
}

static int rd_match_rip(struct reader *r, const char *tok, const char *val)
{
	return rd_match_ip(r, tok, val, true);
}

static int rd_match_lport(struct reader *r, const char *tok, const char *val)
{
	(void)val;
	if (rd_need_map(r, tok) < 0)
		return -1;
	rd_set(r)->match_lport = true;
	return 0;
}

static int rd_match_rport(struct reader *r, const char *tok, const char *val)
{
	(void)val;
	if (rd_need_map(r, tok) < 0)
		return -1;
	rd_set(r)->match_rport = true;
	return 0;
}

/* In the order of the original's table, which its binary search depends on. */
static const struct rd_token rd_tokens[] = {
    {"default", rd_default, false},    {"fail", rd_fail, false},
    {"ip", rd_local_ip, true},	       {"jump-fd", rd_jump_fd, true},
    {"jump-map", rd_jump_map, true},   {"jump-rule", rd_jump_rule, true},
    {"jump-unix", rd_jump_unix, true}, {"map-set", rd_map_set, true},
    {"match-lip", rd_match_lip, true}, {"match-lport", rd_match_lport, false},
    {"match-rip", rd_match_rip, true}, {"match-rport", rd_match_rport, false},
    {"max-maps", rd_max_maps, true},   {"max-rules", rd_max_rules, true},
    {"port", rd_local_port, true},     {"rip", rd_remote_ip, true},
    {"rport", rd_remote_port, true},   {"rule-set", rd_rule_set, true},
    {"size", rd_size, true},
};
#define RD_NTOKENS (sizeof(rd_tokens) / sizeof(rd_tokens[0]))

/* The original compares a token with a name only up to the token's colon, so that "j:1"
 * finds whichever jump-* its binary search meets first. Which one, for the message. */
static const char *rd_token_by_accident(const char *tok)
{
	const char *colon = strchr(tok, ':');
	size_t lo = 0, hi = RD_NTOKENS;

	while (colon && lo < hi) {
		size_t mid = (lo + hi) / 2;
		int cmp = strncmp(tok, rd_tokens[mid].name, (size_t)(colon - tok));

		if (cmp == 0)
			return rd_tokens[mid].name;
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int rd_token(struct reader *r, const char *tok)
{
	const char *colon = strchr(tok, ':'), *guess;
	size_t n = colon ? (size_t)(colon - tok) : strlen(tok);

	for (size_t i = 0; i < RD_NTOKENS; i++) {
		const struct rd_token *t = &rd_tokens[i];

		if (strlen(t->name) != n || strncmp(t->name, tok, n) != 0)
			continue;
		if (t->needs_value && colon == NULL) {
			convert_error(r->c, r->line, "\"%s\" needs a value (%s:VALUE)", tok,
				      t->name);
			return -1;
		}
		return t->handler(r, tok, colon ? colon + 1 : NULL);
	}
	if ((guess = rd_token_by_accident(tok)) != NULL)
		convert_error(r->c, r->line,
			      "\"%s\" is not a token; the original read it as \"%s\" by accident: "
			      "write that in full",
			      tok, guess);
	else
		convert_error(r->c, r->line, "unknown token \"%s\"", tok);
	return -1;
}

/* One line, without its '\n'. The original splits the first token at spaces and tabs, the
 * others at spaces only, so a later tab would be part of a token: refused with any other
 * control character. The first error ends the line. */
static void rd_line(struct reader *r, char *line, size_t len)
{
	char *p = line, *end = line + len;
	bool first = true;

	if (memchr(line, '\0', len) != NULL) {
		convert_error(r->c, r->line, "the line holds a NUL byte");
		return;
	}
	if (len == 0 || line[0] == '#')
		return;
	r->entry_open = false;
	while (p < end) {
		char *tok;

		while (p < end && (*p == ' ' || (first && *p == '\t')))
			p++;
		if (p == end)
			break;
		tok = p;
		while (p < end && *p != ' ' && !(first && *p == '\t'))
			p++;
		*p++ = '\0';
		first = false;
		for (const char *q = tok; *q; q++) {
			if ((unsigned char)*q < 0x20 || *q == 0x7f) {
				convert_error(r->c, r->line,
					      *q == '\r'
						  ? "\"%.*s\": the line ends in a carriage "
						    "return (a DOS line end)"
						  : "\"%.*s\": a tab or other control character "
						    "inside a token",
					      (int)(q - tok), tok);
				return;
			}
		}
		if (rd_token(r, tok) < 0)
			return;
	}
}

void convert_read(struct osb_config *c, const char *text, size_t len)
{
	struct reader r = {.c = c};
	size_t pos = 0;
	char *line = NULL;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char *grown = realloc(line, n + 1);

		if (grown == NULL) {
			convert_error(c, r.line + 1, "out of memory");
			break;
		}
		line = grown;
		memcpy(line, text + pos, n);
		line[n] = '\0';
		r.line++;
		rd_line(&r, line, n);
		pos += n + 1;
	}
	free(line);
}
