/* fuzz_rules.c - rule compilation and lookup against a naive linear reference.
 *
 * The input builds a few rule sets (random prefixes from a small address pool so that
 * rules and keys collide often, random port lists, every action, jumps between sets),
 * a default, and a list of connection keys. rules_compile must reject exactly the rule
 * sets whose jump graph has a cycle or whose worst-case lookup, counted as socketbox.conf(5)
 * says, takes more than RULES_MAX_STEPS steps; otherwise rules_lookup must give the same
 * verdict (action, target, line, set, index) as a first-match-wins linear scan in which a
 * jump whose set has no match falls through to the rule after the jump, and the steps that
 * scan counts must stay within the worst case.
 *
 * Preconditions of rules_add that config_rules.c guarantees and this target keeps too:
 * prefix lengths 0..128, host bits of a prefix cleared, jump arguments name a set. */
#include "rules.h"

#include "fuzz_util.h"

#include <stdbool.h>

#define MAX_SETS 5
#define MAX_RULES 48
#define MAX_PORTS 4
#define RULE_NONE UINT32_MAX

struct ref_rule {
	struct in6_addr local, remote;
	unsigned local_plen, remote_plen;
	struct port_range lports[MAX_PORTS], rports[MAX_PORTS];
	unsigned nlports, nrports;
	enum rule_action action;
	uint32_t arg;
	unsigned line;
};

struct ref_set {
	struct ref_rule rules[MAX_RULES];
	unsigned n;
};

struct model {
	struct ref_set sets[MAX_SETS];
	unsigned nsets;
	enum rule_action def_action;
	uint32_t def_target;
};

static struct model model; /* large: static, reset per input */

/* Bit b (0 = most significant) of an address. */
static int bit(const struct in6_addr *a, unsigned b)
{
	return (a->s6_addr[b / 8] >> (7 - b % 8)) & 1;
}

static void clear_host_bits(struct in6_addr *a, unsigned plen)
{
	for (unsigned b = plen; b < 128; b++)
		a->s6_addr[b / 8] &= (uint8_t)~(1u << (7 - b % 8));
}

static bool ref_prefix(const struct in6_addr *p, unsigned plen, const struct in6_addr *a)
{
	for (unsigned b = 0; b < plen; b++)
		if (bit(p, b) != bit(a, b))
			return false;
	return true;
}

static bool ref_ports(const struct port_range *r, unsigned n, uint16_t port)
{
	if (n == 0)
		return true;
	for (unsigned i = 0; i < n; i++)
		if (r[i].lo <= port && port <= r[i].hi)
			return true;
	return false;
}

static bool ref_match(const struct ref_rule *r, const struct conn_key *k)
{
	return ref_prefix(&r->local, r->local_plen, &k->local) &&
	       ref_prefix(&r->remote, r->remote_plen, &k->remote) &&
	       ref_ports(r->lports, r->nlports, k->local_port) &&
	       ref_ports(r->rports, r->nrports, k->remote_port);
}

/* The filing key of a rule, as rules.c files it: kind 0 local, 1 remote, 2 neither. */
static unsigned ref_kind(const struct ref_rule *r)
{
	return r->local_plen ? 0 : r->remote_plen ? 1 : 2;
}

static unsigned ref_plen(const struct ref_rule *r)
{
	return ref_kind(r) == 0 ? r->local_plen : r->remote_plen;
}

static const struct in6_addr *ref_key(const struct ref_rule *r)
{
	return ref_kind(r) == 0 ? &r->local : &r->remote;
}

/* Hash tables of a set: its distinct (kind, prefix length) pairs, the "neither" rules
 * aside. */
static unsigned ref_tables(const struct ref_set *s)
{
	unsigned n = 0;

	for (unsigned i = 0; i < s->n; i++) {
		bool seen = ref_kind(&s->rules[i]) == 2;

		for (unsigned j = 0; j < i && !seen; j++)
			seen = ref_kind(&s->rules[j]) == ref_kind(&s->rules[i]) &&
			       ref_plen(&s->rules[j]) == ref_plen(&s->rules[i]);
		n += !seen;
	}
	return n;
}

static uint64_t ref_steps; /* what the reference lookup counted */

static bool ref_lookup_set(uint32_t set, const struct conn_key *k, struct verdict *v, int depth)
{
	const struct ref_set *s = &model.sets[set];
	uint64_t try_steps = 1 + ref_tables(s);

	if (depth > MAX_SETS + 1)
		FZ_FAIL("reference: jump loop reached lookup");
	ref_steps += try_steps;
	for (unsigned i = 0; i < s->n; i++) {
		const struct ref_rule *r = &s->rules[i];

		if (!ref_match(r, k))
			continue;
		if (r->action == RULE_JUMP) {
			if (ref_lookup_set(r->arg, k, v, depth + 1))
				return true;
			ref_steps += try_steps; /* rules.c tries the set again after the jump */
			continue;
		}
		v->action = r->action;
		v->target = r->arg;
		v->line = r->line;
		v->set = set;
		v->index = i;
		return true;
	}
	return false;
}

static void ref_lookup(const struct conn_key *k, struct verdict *v)
{
	ref_steps = 0;
	if (model.nsets > 0 && ref_lookup_set(0, k, v, 0))
		return;
	v->action = model.def_action;
	v->target = model.def_target;
	v->line = 0;
	v->set = 0;
	v->index = RULE_NONE;
}

/* A cycle anywhere in the jump graph (rules_compile checks every set, reachable or not). */
static bool ref_cycle_from(unsigned set, uint8_t *state)
{
	state[set] = 1;
	for (unsigned i = 0; i < model.sets[set].n; i++) {
		const struct ref_rule *r = &model.sets[set].rules[i];

		if (r->action != RULE_JUMP)
			continue;
		if (state[r->arg] == 1)
			return true;
		if (state[r->arg] == 0 && ref_cycle_from(r->arg, state))
			return true;
	}
	state[set] = 2;
	return false;
}

static bool ref_has_cycle(void)
{
	uint8_t state[MAX_SETS] = {0};

	for (unsigned i = 0; i < model.nsets; i++)
		if (state[i] == 0 && ref_cycle_from(i, state))
			return true;
	return false;
}

static bool ref_same_table(const struct ref_rule *a, const struct ref_rule *b)
{
	return ref_kind(a) == ref_kind(b) && ref_plen(a) == ref_plen(b);
}

static bool ref_same_key(const struct ref_rule *a, const struct ref_rule *b)
{
	return ref_same_table(a, b) && memcmp(ref_key(a), ref_key(b), sizeof(struct in6_addr)) == 0;
}

static uint64_t ref_worst_steps[MAX_SETS];
static bool ref_worst_known[MAX_SETS];

/* The worst case of a lookup that enters set (no cycles): one step per try and per table,
 * a try for the end and one more after each jump that may match; only the jumps filed
 * under one key per table can match together. Written naively, from socketbox.conf(5). */
static uint64_t ref_worst(unsigned set)
{
	const struct ref_set *s = &model.sets[set];
	uint64_t try_steps = 1 + ref_tables(s), cost = try_steps, jump[MAX_RULES];

	if (ref_worst_known[set])
		return ref_worst_steps[set];
	for (unsigned i = 0; i < s->n; i++)
		jump[i] =
		    s->rules[i].action == RULE_JUMP ? try_steps + ref_worst(s->rules[i].arg) : 0;
	for (unsigned i = 0; i < s->n; i++) {
		uint64_t max = 0;
		bool first = true;

		if (ref_kind(&s->rules[i]) == 2) {
			cost += jump[i];
			continue;
		}
		for (unsigned j = 0; j < i; j++)
			first = first && !ref_same_table(&s->rules[j], &s->rules[i]);
		if (!first)
			continue;
		/* rule i opens a table: add its heaviest key */
		for (unsigned j = i; j < s->n; j++) {
			uint64_t sum = 0;

			if (!ref_same_table(&s->rules[j], &s->rules[i]))
				continue;
			for (unsigned m = 0; m < s->n; m++)
				if (ref_same_key(&s->rules[m], &s->rules[j]))
					sum += jump[m];
			max = sum > max ? sum : max;
		}
		cost += max;
	}
	ref_worst_known[set] = true;
	ref_worst_steps[set] = cost;
	return cost;
}

/* Addresses: a pool of a few bases, so that prefixes and keys overlap. */
struct pool {
	struct in6_addr base[4];
};

static void pick_addr(struct fz *f, const struct pool *pool, struct in6_addr *a)
{
	uint8_t how = fz_u8(f);

	*a = pool->base[how & 3];
	switch ((how >> 2) & 3) {
	case 0: /* the base itself */
		break;
	case 1: /* flip one bit */
	{
		unsigned b = fz_u8(f) % 128;

		a->s6_addr[b / 8] ^= (uint8_t)(1u << (7 - b % 8));
		break;
	}
	case 2: /* change the last byte */
		a->s6_addr[15] = fz_u8(f);
		break;
	default: /* anything */
		fz_bytes(f, a, sizeof(*a));
		break;
	}
}

static unsigned pick_plen(struct fz *f)
{
	static const uint8_t common[] = {0, 0, 8, 16, 32, 48, 64, 96, 104, 112, 120, 127, 128, 128};
	uint8_t b = fz_u8(f);

	if (b & 0x80)
		return (b & 0x7f) + (b & 1); /* 0..128 */
	return common[b % sizeof(common)];
}

static uint16_t pick_port(struct fz *f)
{
	static const uint16_t common[] = {0, 1, 22, 79, 80, 81, 443, 1023, 1024, 8080, 65534, 65535};
	uint8_t b = fz_u8(f);

	if (b & 0x80)
		return fz_u16(f);
	return common[b % (sizeof(common) / sizeof(common[0]))];
}

static unsigned pick_ports(struct fz *f, struct port_range *r)
{
	unsigned n = fz_u8(f) % (MAX_PORTS + 2); /* 0 (any) is common */

	if (n > MAX_PORTS)
		n = 0;
	for (unsigned i = 0; i < n; i++) {
		r[i].lo = pick_port(f);
		r[i].hi = (fz_u8(f) & 1) ? r[i].lo : pick_port(f); /* may be an empty range */
	}
	return n;
}

static void pick_key(struct fz *f, const struct pool *pool, struct conn_key *k)
{
	pick_addr(f, pool, &k->local);
	pick_addr(f, pool, &k->remote);
	k->local_port = pick_port(f);
	k->remote_port = pick_port(f);
	k->listener = 0; /* the rules here name no listener */
}

static void check_lookup(const struct rules *rs, const struct conn_key *k)
{
	struct verdict got, want;

	memset(&got, 0xa5, sizeof(got));
	memset(&want, 0, sizeof(want));
	rules_lookup(rs, k, &got);
	ref_lookup(k, &want);
	if (model.nsets > 0 && ref_steps > ref_worst(0))
		FZ_FAIL("a lookup took %llu steps, more than the worst case %llu",
			(unsigned long long)ref_steps, (unsigned long long)ref_worst(0));
	if (got.action != want.action || got.target != want.target || got.line != want.line ||
	    got.set != want.set || got.index != want.index)
		FZ_FAIL("rules_lookup gave action %d target %u line %u set %u index %u; "
			"the reference gives action %d target %u line %u set %u index %u",
			(int)got.action, got.target, got.line, got.set, got.index, (int)want.action,
			want.target, want.line, want.set, want.index);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = {data, size};
	struct pool pool;
	struct rules *rs;
	char err[256], name[16];
	unsigned line = 1, nkeys;
	bool cycle, over = false;
	int rc;

	memset(&model, 0, sizeof(model));
	for (int i = 0; i < 4; i++)
		fz_bytes(&f, &pool.base[i], sizeof(pool.base[i]));
	if (fz_u8(&f) & 1) /* an IPv4-mapped base, as config.c makes of IPv4 */
		memcpy(pool.base[1].s6_addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);

	rs = rules_new();
	if (rs == NULL)
		return 0;
	model.nsets = 1 + fz_u8(&f) % MAX_SETS;
	for (unsigned s = 0; s < model.nsets; s++) {
		snprintf(name, sizeof(name), s ? "set%u" : "rules", s);
		if (rules_add_set(rs, name) != (int)s)
			FZ_FAIL("rules_add_set did not return %u", s);
	}
	for (unsigned s = 0; s < model.nsets; s++) {
		struct ref_set *set = &model.sets[s];

		set->n = fz_u8(&f) % (s == 0 ? MAX_RULES + 1 : 13);
		for (unsigned i = 0; i < set->n; i++) {
			struct ref_rule *r = &set->rules[i];
			struct rule_match m;
			uint8_t act = fz_u8(&f);

			r->local_plen = pick_plen(&f);
			pick_addr(&f, &pool, &r->local);
			clear_host_bits(&r->local, r->local_plen);
			r->remote_plen = (act & 0x10) ? pick_plen(&f) : 0;
			pick_addr(&f, &pool, &r->remote);
			clear_host_bits(&r->remote, r->remote_plen);
			if (act & 0x20)
				r->local_plen = 0, memset(&r->local, 0, sizeof(r->local));
			r->nlports = pick_ports(&f, r->lports);
			r->nrports = (act & 0x40) ? pick_ports(&f, r->rports) : 0;
			switch (act & 3) {
			case 0:
				r->action = RULE_TARGET;
				r->arg = fz_u8(&f);
				break;
			case 1:
				r->action = RULE_REJECT;
				break;
			case 2:
				r->action = RULE_DROP;
				break;
			default:
				r->action = RULE_JUMP;
				r->arg = fz_u8(&f) % model.nsets;
				break;
			}
			r->line = line++;

			memset(&m, 0, sizeof(m));
			m.local = r->local;
			m.remote = r->remote;
			m.local_plen = (uint8_t)r->local_plen;
			m.remote_plen = (uint8_t)r->remote_plen;
			m.local_ports = r->lports;
			m.nlocal_ports = r->nlports;
			m.remote_ports = r->rports;
			m.nremote_ports = r->nrports;
			if (rules_add(rs, s, &m, r->action, r->arg, r->line) < 0)
				FZ_FAIL("rules_add failed");
		}
	}
	switch (fz_u8(&f) % 3) {
	case 0:
		model.def_action = RULE_REJECT;
		break;
	case 1:
		model.def_action = RULE_DROP;
		break;
	default:
		model.def_action = RULE_TARGET;
		break;
	}
	model.def_target = fz_u8(&f);
	rules_set_default(rs, model.def_action, model.def_target);
	if (rules_count(rs) != line - 1)
		FZ_FAIL("rules_count %zu, added %u", rules_count(rs), line - 1);

	cycle = ref_has_cycle();
	memset(ref_worst_known, 0, sizeof(ref_worst_known));
	for (unsigned s = 0; s < model.nsets && !cycle; s++)
		over = over || ref_worst(s) > RULES_MAX_STEPS;
	err[0] = '\0';
	rc = rules_compile(rs, err, sizeof(err));
	if ((cycle || over) != (rc < 0))
		FZ_FAIL("rules_compile returned %d (\"%s\"); the reference finds %s cycle, %s the "
			"limit",
			rc, err, cycle ? "a" : "no", over ? "over" : "within");
	/* with a cycle either error may come first; without one it must be the limit */
	if (rc < 0 && !cycle && strstr(err, "more than") == NULL)
		FZ_FAIL("rules_compile said \"%s\" of a graph over the limit", err);
	if (rc < 0) {
		FZ_CHECK(err[0] != '\0');
		rules_free(rs);
		return 0;
	}

	nkeys = 1 + fz_u8(&f) % 32;
	for (unsigned i = 0; i < nkeys; i++) {
		struct conn_key k;

		pick_key(&f, &pool, &k);
		check_lookup(rs, &k);
	}
	/* Every rule's own prefixes as a key: a guaranteed match for many rules. */
	for (unsigned s = 0; s < model.nsets; s++) {
		for (unsigned i = 0; i < model.sets[s].n; i++) {
			const struct ref_rule *r = &model.sets[s].rules[i];
			struct conn_key k = {
				.local = r->local,
				.remote = r->remote,
				.local_port = r->nlports ? r->lports[0].lo : 80,
				.remote_port = r->nrports ? r->rports[0].hi : 40000,
			};

			check_lookup(rs, &k);
		}
	}
	/* Compiling again (as a reload might) gives the same answers. */
	if (fz_u8(&f) & 1) {
		struct conn_key k;

		FZ_CHECK(rules_compile(rs, err, sizeof(err)) == 0);
		pick_key(&f, &pool, &k);
		check_lookup(rs, &k);
	}
	rules_free(rs);
	return 0;
}
