/* rules.c - rule sets compiled for a first-match lookup whose cost does not grow with the
 * number of rules.
 *
 * Every rule is filed under one key: its local prefix if it has one, else its remote prefix,
 * else the set's "any" list. For each (key kind, prefix length) pair in use there is one hash
 * table from the masked address to the ascending list of rule numbers filed there. A lookup
 * probes each table once and scans the candidates in order, stopping at the first full
 * match or once a candidate is past the best match found so far. */
#include "rules.h"
#include "addr.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RULE_NONE UINT32_MAX

/* A rule is one cache line, at the start of one (rules_add): a lookup that reads it misses
 * the cache once. Unaligned, its 60 bytes straddled two lines in 7 rules of 8, and
 * rules_match reads both ends. */
struct rule {
	_Alignas(64) struct in6_addr local;
	struct in6_addr remote;
	uint8_t local_plen, remote_plen;
	uint8_t action;
	uint32_t arg;
	uint32_t local_ports, remote_ports; /* offsets into the set's port pool */
	uint16_t nlocal_ports, nremote_ports;
	uint32_t line;
	uint32_t listeners; /* bit per listener; all set when the rule names none */
};

/* A bucket is 8 bytes, eight to a cache line, and holds no key: the rules it leads to
 * have it (their filing address), and a lookup reads the first of them anyway to match it.
 * The tag (high hash bits) spares that read for the other keys of a probe sequence. */
struct bucket {
	uint32_t tag;
	/* The one rule filed under the key, or RULES_RUN | i: ids[i] is the number of rules,
	 * ids[i + 1...] the rules, ascending. RULE_NONE marks an empty bucket. */
	uint32_t ref;
};

#define RULES_RUN 0x80000000u

struct prefix_table {
	bool by_remote;
	uint8_t plen;
	uint32_t mask; /* buckets - 1, a power of two minus one */
	struct bucket *buckets;
	uint32_t *ids;
	/* A Bloom filter of the keys, two bits in one word per key (high hash bits): most
	 * lookups find nothing in most tables, and this small array answers that without
	 * touching the large bucket array (a cache miss per table at 100,000 rules). */
	uint64_t *filter;
	uint32_t filter_mask; /* words - 1 */
};

struct rule_set {
	char *name;
	struct rule *rules;
	size_t nrules, cap;
	struct port_range *ports;
	size_t nports, ports_cap;
	struct prefix_table *tables;
	size_t ntables;
	uint32_t *any; /* rules with neither local nor remote prefix */
	size_t nany;
};

struct rules {
	struct rule_set *sets;
	size_t nsets, sets_cap;
	enum rule_action default_action;
	uint32_t default_target;
};

/* The mask of each prefix length as two words in memory order: masking is then two ANDs. */
static uint64_t rules_mask[129][2];

static void rules_init_masks(void)
{
	for (unsigned plen = 0; plen <= 128; plen++) {
		struct in6_addr m;

		memset(&m, 0xff, sizeof(m));
		addr_mask(&m, plen);
		memcpy(rules_mask[plen], &m, sizeof(m));
	}
}

struct rules *rules_new(void)
{
	struct rules *rs = calloc(1, sizeof(*rs));

	if (rules_mask[128][1] == 0)
		rules_init_masks();
	if (rs)
		rs->default_action = RULE_REJECT;
	return rs;
}

static void rules_free_tables(struct rule_set *s)
{
	for (size_t i = 0; i < s->ntables; i++) {
		free(s->tables[i].buckets);
		free(s->tables[i].filter);
		free(s->tables[i].ids);
	}
	free(s->tables);
	free(s->any);
	s->tables = NULL;
	s->ntables = 0;
	s->any = NULL;
	s->nany = 0;
}

void rules_free(struct rules *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->nsets; i++) {
		rules_free_tables(&rs->sets[i]);
		free(rs->sets[i].name);
		free(rs->sets[i].rules);
		free(rs->sets[i].ports);
	}
	free(rs->sets);
	free(rs);
}

int rules_add_set(struct rules *rs, const char *name)
{
	struct rule_set *s;

	/* Doubling: thousands of sets must not cost a copy of all the others each. */
	if (rs->nsets == rs->sets_cap) {
		size_t cap = rs->sets_cap ? rs->sets_cap * 2 : 8;
		struct rule_set *sets = realloc(rs->sets, cap * sizeof(*sets));

		if (sets == NULL)
			return -1;
		rs->sets = sets;
		rs->sets_cap = cap;
	}
	s = &rs->sets[rs->nsets];
	memset(s, 0, sizeof(*s));
	s->name = strdup(name);
	if (s->name == NULL)
		return -1;
	return (int)rs->nsets++;
}

int rules_find_set(const struct rules *rs, const char *name)
{
	for (size_t i = 0; i < rs->nsets; i++)
		if (strcmp(rs->sets[i].name, name) == 0)
			return (int)i;
	return -1;
}

const char *rules_set_name(const struct rules *rs, uint32_t set)
{
	return set < rs->nsets ? rs->sets[set].name : "?";
}

size_t rules_set_size(const struct rules *rs, uint32_t set)
{
	return set < rs->nsets ? rs->sets[set].nrules : 0;
}

void rules_entry(const struct rules *rs, uint32_t set, size_t i, struct rule_entry *e)
{
	const struct rule_set *s = &rs->sets[set];
	const struct rule *r = &s->rules[i];

	e->m = (struct rule_match){
		.local = r->local,
		.remote = r->remote,
		.local_plen = r->local_plen,
		.remote_plen = r->remote_plen,
		.local_ports = s->ports ? s->ports + r->local_ports : NULL,
		.remote_ports = s->ports ? s->ports + r->remote_ports : NULL,
		.nlocal_ports = r->nlocal_ports,
		.nremote_ports = r->nremote_ports,
	};
	e->action = (enum rule_action)r->action;
	e->arg = r->arg;
	e->line = r->line;
}

enum rule_action rules_default(const struct rules *rs, uint32_t *target)
{
	*target = rs->default_target;
	return rs->default_action;
}

size_t rules_nsets(const struct rules *rs)
{
	return rs->nsets;
}

const char *rules_where(const struct rules *rs, const struct verdict *v, char *buf, size_t len)
{
	if (v->line == 0)
		snprintf(buf, len, "default");
	else if (v->set == 0)
		snprintf(buf, len, "rules[%u]", (unsigned)v->index);
	else
		snprintf(buf, len, "rulesets.%s[%u]", rules_set_name(rs, v->set), (unsigned)v->index);
	return buf;
}

size_t rules_count(const struct rules *rs)
{
	size_t n = 0;

	for (size_t i = 0; i < rs->nsets; i++)
		n += rs->sets[i].nrules;
	return n;
}

static int rules_add_ports(struct rule_set *s, const struct port_range *p, unsigned n,
			   uint32_t *off)
{
	if (s->nports + n > s->ports_cap) {
		size_t cap = s->ports_cap ? s->ports_cap * 2 : 16;
		struct port_range *ports;

		while (cap < s->nports + n)
			cap *= 2;
		ports = realloc(s->ports, cap * sizeof(*ports));
		if (ports == NULL)
			return -1;
		s->ports = ports;
		s->ports_cap = cap;
	}
	*off = (uint32_t)s->nports;
	if (n)
		memcpy(&s->ports[s->nports], p, n * sizeof(*p));
	s->nports += n;
	return 0;
}

int rules_add(struct rules *rs, uint32_t set, const struct rule_match *m, enum rule_action action,
	      uint32_t arg, unsigned line)
{
	struct rule_set *s = &rs->sets[set];
	struct rule *r;

	/* Rule numbers stay below RULES_RUN, the flag of a bucket's run. */
	if (m->nlocal_ports > UINT16_MAX || m->nremote_ports > UINT16_MAX ||
	    s->nrules >= RULES_RUN - 1)
		return -1;
	if (s->nrules == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		/* Not realloc: it keeps only malloc's alignment (16). */
		struct rule *rules = aligned_alloc(_Alignof(struct rule), cap * sizeof(*rules));

		if (rules == NULL)
			return -1;
		if (s->nrules)
			memcpy(rules, s->rules, s->nrules * sizeof(*rules));
		free(s->rules);
		s->rules = rules;
		s->cap = cap;
	}
	r = &s->rules[s->nrules];
	memset(r, 0, sizeof(*r));
	r->local = m->local;
	r->remote = m->remote;
	r->local_plen = m->local_plen;
	r->remote_plen = m->remote_plen;
	r->action = (uint8_t)action;
	r->arg = arg;
	r->line = line;
	r->listeners = m->listeners ? m->listeners : UINT32_MAX;
	r->nlocal_ports = (uint16_t)m->nlocal_ports;
	r->nremote_ports = (uint16_t)m->nremote_ports;
	if (rules_add_ports(s, m->local_ports, m->nlocal_ports, &r->local_ports) < 0 ||
	    rules_add_ports(s, m->remote_ports, m->nremote_ports, &r->remote_ports) < 0)
		return -1;
	s->nrules++;
	return 0;
}

void rules_set_default(struct rules *rs, enum rule_action action, uint32_t target)
{
	rs->default_action = action;
	rs->default_target = target;
}

/* Both halves through a full 64-bit finalizer (murmur3's fmix64): prefix keys have zero
 * low halves and share their first bytes (2001:db8:...), and a weak mix piled a 100,000
 * rule table into a few buckets (3.2 µs per lookup instead of ~0.2). */
static uint64_t rules_fmix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* Low 32 bits pick the bucket, high 32 bits the filter bit. One finalizer, not one per
 * half: a lookup hashes once per table, and this was a third of its instructions. The odd
 * multiplier is a bijection, so keys that share their first half (addresses of one /64) or
 * have a zero second half (prefixes up to /64) still never collide in the 64 bits. */
static inline __attribute__((always_inline)) uint64_t rules_hash(const uint64_t key[2])
{
	return rules_fmix64(key[0] ^ (key[1] * 0x9e3779b97f4a7c15ULL));
}

/* The two filter bits of a hash, in the word rules_filter_word picks: two bits cut the
 * false passes from about one in nine to one in twenty at the same size, and cost no
 * second cache line. */
static inline uint64_t rules_filter_bits(uint64_t hash)
{
	return (1ULL << ((hash >> 52) & 63)) | (1ULL << (hash >> 58));
}

static inline uint64_t *rules_filter_word(const struct prefix_table *t, uint64_t hash)
{
	return &t->filter[(uint32_t)(hash >> 32) & t->filter_mask];
}

/* The rules a bucket leads to, and how many. */
static inline const uint32_t *rules_bucket_ids(const struct prefix_table *t,
					       const struct bucket *b, size_t *n)
{
	if (b->ref & RULES_RUN) {
		const uint32_t *run = &t->ids[b->ref & ~RULES_RUN];

		*n = run[0];
		return run + 1;
	}
	*n = 1;
	return &b->ref;
}

/* a masked to plen bits, as two words. */
static void rules_masked(const struct in6_addr *a, unsigned plen, uint64_t out[2])
{
	memcpy(out, a, 16);
	out[0] &= rules_mask[plen][0];
	out[1] &= rules_mask[plen][1];
}

/* Candidate entry while building: the rule's filing key and its number. */
struct filing {
	struct in6_addr key;
	uint32_t id;
};

static int rules_filing_cmp(const void *a, const void *b)
{
	const struct filing *x = a, *y = b;
	int c = memcmp(&x->key, &y->key, sizeof(x->key));

	if (c)
		return c;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Builds the table of one (kind, plen) from the rules filed there, in ascending order. */
static int rules_build_table(struct rule_set *s, struct prefix_table *t)
{
	struct filing *f;
	size_t n = 0, nkeys = 0, size = 2, nids = 0;

	for (size_t i = 0; i < s->nrules; i++) {
		const struct rule *r = &s->rules[i];
		bool filed_remote = r->local_plen == 0;

		if (filed_remote == t->by_remote &&
		    (t->by_remote ? r->remote_plen : r->local_plen) == t->plen)
			n++;
	}
	f = malloc(n * sizeof(*f));
	/* Runs: a count and the rules per key of several, fewer than 2n entries. */
	t->ids = malloc(n * 2 * sizeof(*t->ids));
	if (f == NULL || t->ids == NULL)
		goto bad;
	n = 0;
	for (size_t i = 0; i < s->nrules; i++) {
		const struct rule *r = &s->rules[i];
		bool filed_remote = r->local_plen == 0;

		if (filed_remote != t->by_remote ||
		    (t->by_remote ? r->remote_plen : r->local_plen) != t->plen)
			continue;
		f[n].key = t->by_remote ? r->remote : r->local;
		f[n].id = (uint32_t)i;
		n++;
	}
	qsort(f, n, sizeof(*f), rules_filing_cmp);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || memcmp(&f[i].key, &f[i - 1].key, sizeof(f[i].key)) != 0)
			nkeys++;
	while (size < nkeys * 2)
		size *= 2;
	t->mask = (uint32_t)size - 1;
	t->buckets = malloc(size * sizeof(*t->buckets));
	/* 8 to 16 bits per key: about one lookup in twenty of an absent key passes. */
	t->filter_mask = (uint32_t)(size / 16 ? size / 16 : 1) - 1;
	t->filter = calloc(t->filter_mask + 1, sizeof(uint64_t));
	if (t->buckets == NULL || t->filter == NULL)
		goto bad;
	memset(t->buckets, 0xff, size * sizeof(*t->buckets)); /* RULE_NONE: empty */
	for (size_t i = 0; i < n;) {
		size_t j = i;
		uint64_t key[2], hash;
		uint32_t h;

		while (j < n && memcmp(&f[j].key, &f[i].key, sizeof(f[i].key)) == 0)
			j++;
		memcpy(key, &f[i].key, sizeof(key));
		hash = rules_hash(key);
		*rules_filter_word(t, hash) |= rules_filter_bits(hash);
		for (h = (uint32_t)hash & t->mask; t->buckets[h].ref != RULE_NONE;
		     h = (h + 1) & t->mask)
			;
		t->buckets[h].tag = (uint32_t)(hash >> 32);
		if (j - i == 1) {
			t->buckets[h].ref = f[i].id;
		} else {
			t->buckets[h].ref = RULES_RUN | (uint32_t)nids;
			t->ids[nids++] = (uint32_t)(j - i);
			for (size_t k = i; k < j; k++)
				t->ids[nids++] = f[k].id;
		}
		i = j;
	}
	free(f);
	return 0;
bad:
	free(f);
	return -1;
}

static int rules_compile_set(struct rule_set *s)
{
	/* Which (kind, plen) tables exist: bit plen of used[kind]. */
	bool used[2][129] = {{false}};

	rules_free_tables(s);
	for (size_t i = 0; i < s->nrules; i++) {
		const struct rule *r = &s->rules[i];

		if (r->local_plen)
			used[0][r->local_plen] = true;
		else if (r->remote_plen)
			used[1][r->remote_plen] = true;
		else
			s->nany++;
	}
	s->any = malloc((s->nany ? s->nany : 1) * sizeof(*s->any));
	if (s->any == NULL)
		return -1;
	s->nany = 0;
	for (size_t i = 0; i < s->nrules; i++)
		if (s->rules[i].local_plen == 0 && s->rules[i].remote_plen == 0)
			s->any[s->nany++] = (uint32_t)i;
	/* Longest prefixes first: the most specific tables are probed first. */
	for (int kind = 0; kind < 2; kind++) {
		for (int plen = 128; plen >= 1; plen--) {
			struct prefix_table *tables, *t;

			if (!used[kind][plen])
				continue;
			tables = realloc(s->tables, (s->ntables + 1) * sizeof(*tables));
			if (tables == NULL)
				return -1;
			s->tables = tables;
			t = &tables[s->ntables++];
			memset(t, 0, sizeof(*t));
			t->by_remote = kind == 1;
			t->plen = (uint8_t)plen;
			if (rules_build_table(s, t) < 0)
				return -1;
		}
	}
	return 0;
}

/* The worst-case steps (see RULES_MAX_STEPS) of the jump rules among ids[0..n): each may
 * match, enter its set and fall through, which costs that set's worst case and one more try
 * of this set. */
static uint64_t rules_jumps_steps(const struct rule_set *s, const uint32_t *ids, size_t n,
				  const uint32_t *steps)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		const struct rule *r = &s->rules[ids[i]];

		if (r->action == RULE_JUMP)
			sum += 1 + s->ntables + steps[r->arg];
	}
	return sum;
}

/* steps[set]: the most steps a lookup that enters set can take, from the compiled tables
 * and the worst cases of the sets it jumps to (all known: the walk is in post-order). A
 * connection's key picks one bucket per table, so only the jumps of the "any" list and of
 * one bucket per table can match: the worst bucket of each table counts, not all of them,
 * and a main list of thousands of jumps each under its own prefix stays cheap. */
static int rules_check_steps(const struct rules *rs, uint32_t set, uint32_t *steps, char *err,
			     size_t errlen)
{
	const struct rule_set *s = &rs->sets[set];
	uint64_t cost = 1 + s->ntables; /* the last try, which finds no more match */
	const uint32_t *worst = s->any;
	size_t nworst = s->nany, i;

	cost += rules_jumps_steps(s, s->any, s->nany, steps);
	for (i = 0; i < s->ntables && cost <= RULES_MAX_STEPS; i++) {
		const struct prefix_table *t = &s->tables[i];
		uint64_t max = 0;

		for (uint32_t h = 0; h <= t->mask; h++) {
			const uint32_t *ids;
			size_t n;
			uint64_t sum;

			if (t->buckets[h].ref == RULE_NONE)
				continue;
			ids = rules_bucket_ids(t, &t->buckets[h], &n);
			sum = rules_jumps_steps(s, ids, n, steps);
			if (sum > max) {
				max = sum;
				worst = ids;
				nworst = n;
			}
		}
		cost += max;
	}
	if (cost <= RULES_MAX_STEPS) {
		steps[set] = (uint32_t)cost;
		return 0;
	}
	/* Name the jump of the worst list at which the count passes the limit: there is one. */
	cost -= rules_jumps_steps(s, worst, nworst, steps);
	for (i = 0; i < nworst; i++) {
		const struct rule *r = &s->rules[worst[i]];

		if (r->action != RULE_JUMP)
			continue;
		cost += 1 + s->ntables + steps[r->arg];
		if (cost > RULES_MAX_STEPS)
			break;
	}
	snprintf(err, errlen,
		 "line %u: jump from \"%s\" to \"%s\" lets one lookup take more than %d steps "
		 "(tries of rule sets and hash tables probed)",
		 s->rules[worst[i]].line, s->name, rs->sets[s->rules[worst[i]].arg].name,
		 RULES_MAX_STEPS);
	return -1;
}

/* A set on the path of the walk below, and the next of its rules to look at. */
struct rules_walk {
	uint32_t set, next;
};

/* The jump graph, depth first but without recursion, so that a chain of 20,000 sets cannot
 * overflow the stack: a jump to a set still on the path makes a loop, and each set's worst
 * case is counted once all the sets it jumps to have theirs. Every set is checked, reachable
 * from the main list or not. */
static int rules_check_jumps(const struct rules *rs, char *err, size_t errlen)
{
	size_t n = rs->nsets ? rs->nsets : 1, depth;
	uint8_t *state = calloc(n, 1); /* 1 = on the path, 2 = done */
	uint32_t *steps = calloc(n, sizeof(*steps));
	/* A set is on the path at most once: nsets entries. */
	struct rules_walk *path = malloc(n * sizeof(*path));
	int rc = -1;

	if (state == NULL || steps == NULL || path == NULL) {
		snprintf(err, errlen, "out of memory");
		goto bad;
	}
	for (uint32_t root = 0; root < rs->nsets; root++) {
		if (state[root])
			continue;
		state[root] = 1;
		path[0] = (struct rules_walk){root, 0};
		depth = 1;
		while (depth > 0) {
			struct rules_walk *w = &path[depth - 1];
			const struct rule_set *s = &rs->sets[w->set];
			const struct rule *r;

			while (w->next < s->nrules && s->rules[w->next].action != RULE_JUMP)
				w->next++;
			if (w->next == s->nrules) {
				if (rules_check_steps(rs, w->set, steps, err, errlen) < 0)
					goto bad;
				state[w->set] = 2;
				depth--;
				continue;
			}
			r = &s->rules[w->next++];
			if (state[r->arg] == 1) {
				snprintf(err, errlen,
					 "line %u: jump from \"%s\" to \"%s\" makes a loop",
					 r->line, s->name, rs->sets[r->arg].name);
				goto bad;
			}
			if (state[r->arg] == 0) {
				state[r->arg] = 1;
				path[depth++] = (struct rules_walk){r->arg, 0};
			}
		}
	}
	rc = 0;
bad:
	free(path);
	free(steps);
	free(state);
	return rc;
}

int rules_compile(struct rules *rs, char *err, size_t errlen)
{
	/* The tables first: the worst case of a lookup depends on them. */
	for (size_t i = 0; i < rs->nsets; i++) {
		if (rules_compile_set(&rs->sets[i]) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return rules_check_jumps(rs, err, errlen);
}

static bool rules_prefix_has(const struct in6_addr *prefix, unsigned plen, const struct in6_addr *a)
{
	uint64_t x[2], p[2];

	memcpy(x, a, 16);
	memcpy(p, prefix, 16);
	return (((x[0] ^ p[0]) & rules_mask[plen][0]) | ((x[1] ^ p[1]) & rules_mask[plen][1])) == 0;
}

/* Whether rule id is filed in t under key. */
static inline bool rules_filed_under(const struct rule_set *s, const struct prefix_table *t,
				     uint32_t id, const uint64_t key[2])
{
	const struct rule *r = &s->rules[id];
	uint64_t a[2];

	memcpy(a, t->by_remote ? &r->remote : &r->local, 16);
	return a[0] == key[0] && a[1] == key[1];
}

/* No ranges: any port (and s->ports may be NULL, so no pointer into it is made). */
static bool rules_ports(const struct rule_set *s, uint32_t off, unsigned n, uint16_t port)
{
	return n == 0 || ports_contain(&s->ports[off], n, port);
}

/* The listener test is a shift and a mask on the candidates the tables found: it adds no
 * table and no probe, so the lookup cost stays flat in the number of rules. */
static bool rules_match(const struct rule_set *s, const struct rule *r, const struct conn_key *k)
{
	return ((r->listeners >> (k->listener & 31)) & 1) &&
	       rules_prefix_has(&r->local, r->local_plen, &k->local) &&
	       rules_prefix_has(&r->remote, r->remote_plen, &k->remote) &&
	       rules_ports(s, r->local_ports, r->nlocal_ports, k->local_port) &&
	       rules_ports(s, r->remote_ports, r->nremote_ports, k->remote_port);
}

/* The first full match in ids[0..n) that is >= from and < best; else best. */
static uint32_t rules_scan(const struct rule_set *s, const uint32_t *ids, size_t n, uint32_t from,
			   uint32_t best, const struct conn_key *k)
{
	size_t lo = 0, hi = from ? n : 0;

	while (lo < hi) { /* lower bound of from (none to find from the start) */
		size_t mid = lo + (hi - lo) / 2;

		if (ids[mid] < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < n && ids[i] < best; i++)
		if (rules_match(s, &s->rules[ids[i]], k))
			return ids[i];
	return best;
}

static uint32_t rules_first_match(const struct rule_set *s, const struct conn_key *k,
				  uint32_t from)
{
	/* Most sets have no rule without an address: no call for them. */
	uint32_t best = s->nany ? rules_scan(s, s->any, s->nany, from, RULE_NONE, k) : RULE_NONE;

	for (size_t i = 0; i < s->ntables; i++) {
		const struct prefix_table *t = &s->tables[i];
		uint64_t key[2], hash, bits;
		uint32_t tag;

		rules_masked(t->by_remote ? &k->remote : &k->local, t->plen, key);
		hash = rules_hash(key);
		bits = rules_filter_bits(hash);
		if ((*rules_filter_word(t, hash) & bits) != bits)
			continue;
		tag = (uint32_t)(hash >> 32);
		for (uint32_t h = (uint32_t)hash & t->mask; t->buckets[h].ref != RULE_NONE;
		     h = (h + 1) & t->mask) {
			const uint32_t *ids;
			size_t n;

			if (t->buckets[h].tag != tag)
				continue;
			ids = rules_bucket_ids(t, &t->buckets[h], &n);
			/* The tag may be another key's: the filing address of the first rule
			 * tells (all rules of a bucket share it). */
			if (rules_filed_under(s, t, ids[0], key)) {
				best = rules_scan(s, ids, n, from, best, k);
				break;
			}
		}
	}
	return best;
}

static void rules_verdict(struct verdict *v, const struct rule *r, uint32_t set, uint32_t id)
{
	v->action = (enum rule_action)r->action;
	v->target = r->arg;
	v->line = r->line;
	v->set = set;
	v->index = id;
}

/* A lookup that has taken n jumps from the main list is in a chain of n jumps; each set on
 * it counts at least two steps (the try that took the jump and the try after it) on top of
 * the set it jumps to, and the last set one step. So a lookup whose worst case is within
 * RULES_MAX_STEPS never nests deeper than this. */
#define RULES_MAX_DEPTH (RULES_MAX_STEPS / 2)

/* The lookup from the jump rule id of the main list on: the sets jumped out of are kept in
 * an array, not in recursion, and without allocation. Not inlined: the array is 40 KB of
 * stack, which lookups that jump nowhere need not set up (with stack clash protection that
 * is a probe per page). Returns false when nothing after the jump matches either. */
__attribute__((noinline)) static bool rules_lookup_jumps(const struct rules *rs,
							 const struct conn_key *key, uint32_t id,
							 struct verdict *v)
{
	struct {
		uint32_t set, from;
	} path[RULES_MAX_DEPTH];
	size_t depth = 0;
	uint32_t set = 0;

	for (;;) {
		const struct rule_set *s = &rs->sets[set];
		const struct rule *r;

		if (id == RULE_NONE) {
			if (depth == 0)
				return false;
			depth--;
			set = path[depth].set;
			id = rules_first_match(&rs->sets[set], key, path[depth].from);
			continue;
		}
		r = &s->rules[id];
		if (r->action != RULE_JUMP) {
			rules_verdict(v, r, set, id);
			return true;
		}
		/* Always room after a successful rules_compile (see RULES_MAX_DEPTH); were
		 * there none, the jump would be skipped rather than the array overrun. */
		if (depth < RULES_MAX_DEPTH) {
			path[depth].set = set;
			path[depth].from = id + 1;
			depth++;
			set = r->arg;
			id = rules_first_match(&rs->sets[set], key, 0);
		} else {
			id = rules_first_match(s, key, id + 1);
		}
	}
}

void rules_lookup(const struct rules *rs, const struct conn_key *key, struct verdict *v)
{
	uint32_t id = rs->nsets > 0 ? rules_first_match(&rs->sets[0], key, 0) : RULE_NONE;

	if (id != RULE_NONE) {
		const struct rule *r = &rs->sets[0].rules[id];

		if (r->action != RULE_JUMP) {
			rules_verdict(v, r, 0, id);
			return;
		}
		if (rules_lookup_jumps(rs, key, id, v))
			return;
	}
	v->action = rs->default_action;
	v->target = rs->default_target;
	v->line = 0;
	v->set = 0;
	v->index = RULE_NONE;
}
