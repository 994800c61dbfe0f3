/* convert_write.c - writes the original socketbox's configuration as socketbox.conf(5).
 *
 * The original starts every lookup in rule-set:0, and a jump there ENDS the lookup in the set
 * it jumps to: that set's entry, or its default, decides. A jump of socketbox falls through
 * to the rule after it when nothing in the set matches. So every set written here ends with
 * a rule that matches everything and does what the set's default did (a set without one
 * closed the connection: "drop"), and a jump never falls through. A map-set (one exact
 * lookup on the masked address and port bits) becomes a set with a rule per entry, whose
 * keys are disjoint, so their order does not matter. Loops of jumps, and chains of more
 * than OSB_MAX_LOOKUPS sets, after which the original gives up and closes the connection,
 * are refused: socketbox rejects the one and would follow the other. */
#include "convert_model.h"
#include "addr.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

enum { CW_NEW, CW_ACTIVE, CW_DONE };

struct writer {
	struct osb_config *c;
	FILE *out;
	struct osb_action **targets; /* the first action of each target, sorted */
	unsigned ntargets;
};

static struct osb_set *cw_jump_set(const struct osb_config *c, const struct osb_action *a)
{
	enum osb_kind k = a->type == OSB_JUMP_RULE ? OSB_RULE : OSB_MAP;

	if ((a->type != OSB_JUMP_RULE && a->type != OSB_JUMP_MAP) || a->arg >= c->nsets[k])
		return NULL;
	return &c->sets[k][a->arg];
}

/* The actions of a set, entries first, then the default: NULL after the last. */
static struct osb_action *cw_action_at(struct osb_set *s, unsigned i)
{
	if (i < s->n)
		return &s->entries[i].action;
	return i == s->n ? &s->def : NULL;
}

/* Marks the sets reachable from s, refuses loops, and sets each one's height (the most jumps
 * a lookup can still take from it). Recursion is bounded by the number of sets (2000). */
static int cw_walk(struct osb_config *c, struct osb_set *s, enum osb_kind kind, unsigned id)
{
	struct osb_action *a;

	s->mark = CW_ACTIVE;
	for (unsigned i = 0; (a = cw_action_at(s, i)) != NULL; i++) {
		struct osb_set *t = cw_jump_set(c, a);

		if (t == NULL)
			continue;
		if (t->mark == CW_ACTIVE) {
			convert_error(
			    c, a->line,
			    "the jump to %s:%u from %s:%u closes a loop of jumps: the "
			    "original gave up on such a lookup after %d sets and closed the "
			    "connection, socketbox refuses loops",
			    convert_kind_name(a->type == OSB_JUMP_RULE ? OSB_RULE : OSB_MAP),
			    a->arg, convert_kind_name(kind), id, OSB_MAX_LOOKUPS);
			return -1;
		}
		if (t->mark == CW_NEW &&
		    cw_walk(c, t, a->type == OSB_JUMP_RULE ? OSB_RULE : OSB_MAP, a->arg) < 0)
			return -1;
		if (t->height + 1 > s->height)
			s->height = t->height + 1;
	}
	s->mark = CW_DONE;
	return 0;
}

/* The original tries at most OSB_MAX_LOOKUPS sets: names the jump of the longest chain that
 * goes past them. */
static void cw_chain_too_long(struct osb_config *c, struct osb_set *s)
{
	unsigned depth = 1;
	struct osb_action *a;

	for (unsigned i = 0; (a = cw_action_at(s, i)) != NULL; i++) {
		struct osb_set *t = cw_jump_set(c, a);

		if (t == NULL || t->height + 1 != s->height)
			continue;
		if (++depth > OSB_MAX_LOOKUPS) {
			convert_error(
			    c, a->line,
			    "this jump can take a lookup past %d sets: the original gives "
			    "up there and closes the connection, socketbox would go on; make "
			    "the chain of jumps shorter",
			    OSB_MAX_LOOKUPS);
			return;
		}
		s = t;
		i = (unsigned)-1; /* on with the next set's actions */
	}
}

/* Map-set entries with the same key: the original's binary search finds either, depending
 * on the order its sort left them in. The first is kept, and the others are marked. */
static int cw_map_key_cmp(const void *a, const void *b, void *arg)
{
	const struct osb_entry *x = *(const struct osb_entry *const *)a;
	const struct osb_entry *y = *(const struct osb_entry *const *)b;
	const struct osb_set *s = arg;
	struct in6_addr xl = x->local, yl = y->local, xr = x->remote, yr = y->remote;
	int d;

	addr_mask(&xl, s->local_plen);
	addr_mask(&yl, s->local_plen);
	addr_mask(&xr, s->remote_plen);
	addr_mask(&yr, s->remote_plen);
	if ((d = memcmp(&xl, &yl, sizeof(xl))) != 0 || (d = memcmp(&xr, &yr, sizeof(xr))) != 0)
		return d;
	if (s->match_lport && x->lport != y->lport)
		return x->lport < y->lport ? -1 : 1;
	if (s->match_rport && x->rport != y->rport)
		return x->rport < y->rport ? -1 : 1;
	return 0;
}

static int cw_map_entry_cmp(const void *a, const void *b, void *arg)
{
	const struct osb_entry *x = *(const struct osb_entry *const *)a;
	const struct osb_entry *y = *(const struct osb_entry *const *)b;
	int d = cw_map_key_cmp(a, b, arg);

	return d ? d : x < y ? -1 : x > y;
}

static int cw_map_duplicates(struct osb_config *c, struct osb_set *s)
{
	struct osb_entry **sorted = calloc(s->n + 1, sizeof(*sorted));

	if (sorted == NULL) {
		convert_error(c, s->line, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < s->n; i++)
		sorted[i] = &s->entries[i];
	qsort_r(sorted, s->n, sizeof(*sorted), cw_map_entry_cmp, s);
	for (unsigned i = 1; i < s->n; i++)
		if (cw_map_key_cmp(&sorted[i - 1], &sorted[i], s) == 0)
			sorted[i]->same_as =
			    sorted[i - 1]->same_as ? sorted[i - 1]->same_as : sorted[i - 1]->line;
	free(sorted);
	return 0;
}

/* Targets: one per distinct socket path or descriptor, numbered in sorted order. */
static int cw_target_cmp(const void *a, const void *b)
{
	const struct osb_action *x = *(const struct osb_action *const *)a;
	const struct osb_action *y = *(const struct osb_action *const *)b;
	int d;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->type == OSB_UNIX && (d = strcmp(x->path, y->path)) != 0)
		return d;
	if (x->arg != y->arg)
		return x->arg < y->arg ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static bool cw_is_target(const struct osb_action *a)
{
	return a->type == OSB_FD || a->type == OSB_UNIX;
}

static int cw_targets(struct writer *w)
{
	struct osb_config *c = w->c;
	struct osb_action **all = NULL, *a;
	size_t n = 0, cap = 0;

	for (unsigned k = 0; k < 2; k++)
		for (unsigned id = 0; id < c->nsets[k]; id++) {
			struct osb_set *s = &c->sets[k][id];

			for (unsigned i = 0; s->mark && (a = cw_action_at(s, i)) != NULL; i++) {
				if (!cw_is_target(a) || (i < s->n && s->entries[i].same_as))
					continue;
				if (n == cap) {
					struct osb_action **grown;

					cap = cap ? 2 * cap : 64;
					if ((grown = realloc(all, cap * sizeof(*all))) == NULL) {
						free(all);
						convert_error(c, a->line, "out of memory");
						return -1;
					}
					all = grown;
				}
				all[n++] = a;
			}
		}
	if (n)
		qsort(all, n, sizeof(*all), cw_target_cmp);
	/* Each action points at its target; the list keeps the first of each. */
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || all[i]->type != all[w->ntargets - 1]->type ||
		    (all[i]->type == OSB_UNIX &&
		     strcmp(all[i]->path, all[w->ntargets - 1]->path)) ||
		    (all[i]->type == OSB_FD && all[i]->arg != all[w->ntargets - 1]->arg))
			all[w->ntargets++] = all[i];
		all[i]->target = w->ntargets - 1;
	}
	w->targets = all;
	return 0;
}

/* "t3_web_sock" for /run/web.sock, "fd5" for descriptor 5. */
static void cw_target_name(const struct writer *w, unsigned t, char *buf, size_t len)
{
	const struct osb_action *a = w->targets[t];
	const char *base;
	size_t k;

	if (a->type == OSB_FD) {
		snprintf(buf, len, "fd%u", a->arg);
		return;
	}
	base = strrchr(a->path, '/') + 1; /* convert_read makes every path absolute */
	k = (size_t)snprintf(buf, len, "t%u_", t + 1);
	for (; *base && k + 1 < len && k < 40; base++, k++)
		buf[k] = (*base >= 'a' && *base <= 'z') || (*base >= 'A' && *base <= 'Z') ||
				 (*base >= '0' && *base <= '9')
			     ? *base
			     : '_';
	buf[k] = '\0';
}

/* A libconfig string that our loader reads back as the same bytes: '%' starts a
 * substitution token in a socketbox path, '"' and '\' an escape. */
static void cw_path(FILE *out, const char *p)
{
	fputc('"', out);
	for (; *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', out);
		else if (*p == '%')
			fputc('%', out);
		fputc(*p, out);
	}
	fputc('"', out);
}

static void cw_prefix(FILE *out, const char *key, const struct in6_addr *addr, unsigned plen)
{
	struct in6_addr a = *addr;
	char text[INET6_ADDRSTRLEN];

	if (plen == 0)
		return;
	addr_mask(&a, plen);
	inet_ntop(AF_INET6, &a, text, sizeof(text));
	fprintf(out, "%s = \"%s", key, text);
	if (plen < 128)
		fprintf(out, "/%u", plen);
	fputs("\"; ", out);
}

/* target = ...; jump = ...; or action = "drop"; and the reason when it is not obvious. */
static void cw_action(const struct writer *w, const struct osb_action *a, char *note, size_t len)
{
	const struct osb_config *c = w->c;
	enum osb_kind k = a->type == OSB_JUMP_RULE ? OSB_RULE : OSB_MAP;
	char name[64];

	note[0] = '\0';
	switch (a->type) {
	case OSB_FAIL:
		fputs("action = \"drop\";", w->out);
		break;
	case OSB_FD:
	case OSB_UNIX:
		cw_target_name(w, a->target, name, sizeof(name));
		fprintf(w->out, "target = \"%s\";", name);
		break;
	case OSB_JUMP_MAP:
	case OSB_JUMP_RULE:
		if (cw_jump_set(c, a) != NULL) {
			fprintf(w->out, "jump = \"%s_%u\";", k == OSB_RULE ? "rule" : "map",
				a->arg);
			break;
		}
		fputs("action = \"drop\";", w->out);
		snprintf(note, len, ": there is no %s:%u, so the original closed the connection",
			 convert_kind_name(k), a->arg);
		break;
	}
}

static void cw_entry(const struct writer *w, const struct osb_set *s, enum osb_kind kind,
		     const struct osb_entry *e, bool more)
{
	FILE *out = w->out;
	char note[128];

	if (e->same_as) {
		fprintf(out,
			"    # line %u: left out, it has the key of line %u (the original "
			"picked either of the two, by the order of its sort)\n",
			e->line, e->same_as);
		return;
	}
	fputs("    { ", out);
	cw_prefix(out, "local", &e->local, kind == OSB_MAP ? s->local_plen : e->local_plen);
	cw_prefix(out, "remote", &e->remote, kind == OSB_MAP ? s->remote_plen : e->remote_plen);
	if (kind == OSB_MAP ? s->match_lport : e->has_lport)
		fprintf(out, "local_port = %u; ", e->lport);
	if (kind == OSB_MAP ? s->match_rport : e->has_rport)
		fprintf(out, "remote_port = %u; ", e->rport);
	cw_action(w, &e->action, note, sizeof(note));
	fprintf(out, " }%s  # line %u%s\n", more ? "," : "", e->line, note);
}

/* Where the default came from, for its comment. */
static void cw_default_note(const struct osb_action *def, const char *note, char *buf, size_t len)
{
	if (def->line)
		snprintf(buf, len, "default, line %u%s", def->line, note);
	else
		snprintf(buf, len, "no default: the original closed the connection");
}

/* The entries of a set, and for a rule set the rule that does what its default did. */
static void cw_set(const struct writer *w, struct osb_set *s, enum osb_kind kind, unsigned id)
{
	FILE *out = w->out;
	char note[128], why[192];
	unsigned last = 0;
	bool main_list = kind == OSB_RULE && id == 0;
	bool catch_all = !main_list || cw_jump_set(w->c, &s->def) != NULL;

	for (unsigned i = 0; i < s->n; i++)
		if (!s->entries[i].same_as)
			last = i + 1;
	if (main_list)
		fputs("rules = (", out);
	else
		fprintf(out, "  %s_%u = (", kind == OSB_RULE ? "rule" : "map", id);
	if (s->line == 0)
		fprintf(out, "  # %s:%u is never filled in: empty, as in the original\n",
			convert_kind_name(kind), id);
	else
		fprintf(out, "  # %s:%u, line %u\n", convert_kind_name(kind), id, s->line);
	if (kind == OSB_MAP && s->n)
		fprintf(out, "    # key: local /%u, remote /%u%s%s\n", s->local_plen,
			s->remote_plen, s->match_lport ? ", local port" : "",
			s->match_rport ? ", remote port" : "");
	for (unsigned i = 0; i < s->n; i++)
		cw_entry(w, s, kind, &s->entries[i], catch_all || i + 1 < last);
	if (catch_all) {
		fputs("    { ", out);
		cw_action(w, &s->def, note, sizeof(note));
		cw_default_note(&s->def, note, why, sizeof(why));
		fprintf(out, " }  # %s\n", why);
	}
	fputs(main_list ? ");\n" : "  );\n", out);
}

static void cw_header(const struct writer *w)
{
	fprintf(
	    w->out,
	    "# socketbox.conf(5) converted by `socketbox --convert` from %s,\n"
	    "# a configuration of the original socketbox. Where the two differ:\n"
	    "# - A jump of the original ends the lookup in the set it jumps to (its entry, or\n"
	    "#   its default, decides); a jump of socketbox falls through to the next rule when\n"
	    "#   nothing in the set matches. So each set below ends with a rule that matches\n"
	    "#   everything and does what the set's default did, and no jump falls through.\n"
	    "# - \"fail\", a set without a default, and a jump to a set that does not exist\n"
	    "#   closed the connection normally: \"drop\" here, not \"reject\" (a TCP RST).\n"
	    "# - A map-set (an exact lookup on the masked addresses and ports) is a rule set\n"
	    "#   here, one rule per entry with the map's prefix lengths; socketbox files such\n"
	    "#   rules in hash tables, so a large map stays fast.\n"
	    "# - When an applet's socket was missing or full, the original closed the\n"
	    "#   connection; socketbox waits in a bounded queue, tries the target's next path,\n"
	    "#   and then resets it (RST).\n"
	    "# - The original took its listener from the command line (-l, -p, -t, -F, -R, -r,\n"
	    "#   -b, -s): socketbox takes the same options, and they override \"listen\" below.\n",
	    w->c->name);
}

static void cw_targets_write(const struct writer *w)
{
	char name[64];

	if (w->ntargets == 0)
		return;
	fputs("targets = {\n", w->out);
	for (unsigned t = 0; t < w->ntargets; t++) {
		const struct osb_action *a = w->targets[t];

		cw_target_name(w, t, name, sizeof(name));
		if (a->type == OSB_FD) {
			fprintf(w->out, "  %s = { fd = %u; };  # jump-fd, line %u\n", name, a->arg,
				a->line);
			continue;
		}
		fprintf(w->out, "  %s = { path = ", name);
		cw_path(w->out, a->path);
		fprintf(w->out, "; };  # jump-unix, line %u\n", a->line);
		if (strstr(a->path, "#//"))
			fputs(
			    "  # With -U, the original filled #//0_ to #//7_ and #//P_ in with "
			    "five\n"
			    "  # decimal digits of the local address or port; socketbox fills %p\n"
			    "  # (the port) and %lN (hex digits of the address) instead. The path\n"
			    "  # above is kept as it is written.\n",
			    w->out);
	}
	fputs("};\n\n", w->out);
}

static void cw_default(const struct writer *w)
{
	const struct osb_config *c = w->c;
	const struct osb_action *def = &c->sets[OSB_RULE][0].def;
	char note[128], why[192];

	if (cw_jump_set(c, def) != NULL) {
		fputs("default = \"drop\";  # never used: the last rule of \"rules\" decides\n",
		      w->out);
		return;
	}
	fputs("default = ", w->out);
	if (cw_is_target(def)) {
		cw_target_name(w, def->target, note, sizeof(note));
		fprintf(w->out, "\"%s\";", note);
		note[0] = '\0';
	} else {
		fputs("\"drop\";", w->out);
		note[0] = '\0';
		if (def->type != OSB_FAIL)
			snprintf(note, sizeof(note),
				 ": there is no %s:%u, so the original closed the connection",
				 convert_kind_name(def->type == OSB_JUMP_RULE ? OSB_RULE : OSB_MAP),
				 def->arg);
	}
	cw_default_note(def, note, why, sizeof(why));
	fprintf(w->out, "  # rule-set:0: %s\n", why);
}

/* The sets the original never reaches are left out, and said so. */
static void cw_unreached(const struct writer *w)
{
	const struct osb_config *c = w->c;

	for (unsigned k = 0; k < 2; k++)
		for (unsigned id = 0; id < c->nsets[k]; id++) {
			const struct osb_set *s = &c->sets[k][id];

			if (!s->mark && s->line)
				fprintf(w->out,
					"# %s:%u (line %u) is left out: no lookup reaches it from "
					"rule-set:0, where the original starts\n",
					convert_kind_name((enum osb_kind)k), id, s->line);
		}
}

static void cw_rulesets(const struct writer *w)
{
	const struct osb_config *c = w->c;
	bool any = false;

	for (unsigned k = 0; k < 2; k++)
		for (unsigned id = k == OSB_RULE ? 1 : 0; id < c->nsets[k]; id++) {
			struct osb_set *s = &c->sets[k][id];

			if (!s->mark)
				continue;
			if (!any)
				fputs("\nrulesets = {\n", w->out);
			any = true;
			cw_set(w, s, (enum osb_kind)k, id);
		}
	if (any)
		fputs("};\n", w->out);
}

void convert_write(struct osb_config *c, FILE *out)
{
	struct writer w = {.c = c, .out = out};
	struct osb_set *root = c->nsets[OSB_RULE] ? &c->sets[OSB_RULE][0] : NULL;

	if (root && cw_walk(c, root, OSB_RULE, 0) < 0)
		return;
	if (root && root->height >= OSB_MAX_LOOKUPS) {
		cw_chain_too_long(c, root);
		return;
	}
	for (unsigned id = 0; id < c->nsets[OSB_MAP]; id++)
		if (c->sets[OSB_MAP][id].mark && cw_map_duplicates(c, &c->sets[OSB_MAP][id]) < 0)
			return;
	if (cw_targets(&w) < 0)
		return;
	cw_header(&w);
	cw_unreached(&w);
	fputs(
	    "\nlisten = { address = \"::\"; port = 80; };  # the original's -l and -p defaults\n\n",
	    out);
	cw_targets_write(&w);
	if (root == NULL) {
		fputs("rules = ();  # no max-rules: the original closed every connection\n"
		      "default = \"drop\";\n",
		      out);
	} else {
		cw_set(&w, root, OSB_RULE, 0);
		cw_default(&w);
		cw_rulesets(&w);
	}
	free(w.targets);
}
