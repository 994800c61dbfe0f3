/* test_rules.c - the rule engine (src/rules.c): prefixes, ports, ranges, first match, named
 * sets and jumps, jump loops, the bound on the work of one lookup through jumps (and no
 * recursion as deep as a chain of sets), IPv4-mapped prefixes, the default, and a
 * 100,000-rule set checked against a naive linear matcher. */
#include "addr.h"
#include "rules.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_RULE UINT32_MAX

/* "80", "80,443", "1000-2000", "22,7000-7099"; NULL or "" means any port. */
static unsigned parse_ports(const char *s, struct port_range *out, unsigned max)
{
	unsigned n = 0;

	while (s && *s) {
		char *end;
		unsigned long lo = strtoul(s, &end, 10), hi = lo;

		if (*end == '-')
			hi = strtoul(end + 1, &end, 10);
		ck_assert_uint_lt(n, max);
		ck_assert(lo <= hi && hi <= 65535);
		out[n].lo = (uint16_t)lo;
		out[n].hi = (uint16_t)hi;
		n++;
		s = *end == ',' ? end + 1 : end;
	}
	return n;
}

/* "2001:db8::/64", "::1"; NULL means any address (prefix length 0). */
static void parse_prefix(const char *s, struct in6_addr *a, uint8_t *plen)
{
	unsigned p = 0;

	memset(a, 0, sizeof(*a));
	*plen = 0;
	if (s == NULL)
		return;
	ck_assert_msg(addr_parse_prefix(s, a, &p) == 0, "bad prefix in test: %s", s);
	*plen = (uint8_t)p;
}

static void add_rule(struct rules *rs, uint32_t set, const char *local, const char *lports,
		     const char *remote, const char *rports, enum rule_action action, uint32_t arg,
		     unsigned line)
{
	struct port_range lp[16], rp[16];
	struct rule_match m;

	memset(&m, 0, sizeof(m));
	parse_prefix(local, &m.local, &m.local_plen);
	parse_prefix(remote, &m.remote, &m.remote_plen);
	m.nlocal_ports = parse_ports(lports, lp, 16);
	m.nremote_ports = parse_ports(rports, rp, 16);
	m.local_ports = lp;
	m.remote_ports = rp;
	ck_assert_int_eq(rules_add(rs, set, &m, action, arg, line), 0);
}

static struct conn_key make_key(const char *local, unsigned lport, const char *remote,
				unsigned rport)
{
	struct conn_key k;

	memset(&k, 0, sizeof(k));
	ck_assert_msg(addr_parse(local, &k.local) == 0, "bad address in test: %s", local);
	ck_assert_msg(addr_parse(remote, &k.remote) == 0, "bad address in test: %s", remote);
	k.local_port = (uint16_t)lport;
	k.remote_port = (uint16_t)rport;
	return k;
}

static void compile_ok(struct rules *rs)
{
	char err[256] = "";

	ck_assert_msg(rules_compile(rs, err, sizeof(err)) == 0, "rules_compile: %s", err);
}

/* Looks the connection up and checks every field of the verdict. For RULE_REJECT and
 * RULE_DROP the target is not compared (it carries no meaning). */
#define EXPECT(rs, local, lport, remote, rport, act, tgt, ln, st, idx)                             \
	do {                                                                                       \
		struct conn_key k_ = make_key(local, lport, remote, rport);                        \
		struct verdict v_;                                                                 \
		memset(&v_, 0xa5, sizeof(v_));                                                     \
		rules_lookup(rs, &k_, &v_);                                                        \
		ck_assert_msg(v_.action == (act), "[%s]:%u <- [%s]:%u: action %d, expected %d",    \
			      local, (unsigned)(lport), remote, (unsigned)(rport), (int)v_.action, \
			      (int)(act));                                                         \
		if ((act) == RULE_TARGET)                                                          \
			ck_assert_msg(v_.target == (uint32_t)(tgt),                                \
				      "[%s]:%u <- [%s]:%u: target %u, expected %u", local,         \
				      (unsigned)(lport), remote, (unsigned)(rport), v_.target,     \
				      (unsigned)(tgt));                                            \
		ck_assert_msg(v_.line == (unsigned)(ln), "[%s]:%u: line %u, expected %u", local,   \
			      (unsigned)(lport), v_.line, (unsigned)(ln));                         \
		ck_assert_msg(v_.set == (uint32_t)(st), "[%s]:%u: set %u, expected %u", local,     \
			      (unsigned)(lport), v_.set, (unsigned)(st));                          \
		ck_assert_msg(v_.index == (uint32_t)(idx), "[%s]:%u: index %u, expected %u",       \
			      local, (unsigned)(lport), v_.index, (unsigned)(idx));                \
	} while (0)

/* The default verdict: line 0, set 0, index "none". */
#define EXPECT_DEFAULT(rs, local, lport, remote, rport, act, tgt)                                  \
	EXPECT(rs, local, lport, remote, rport, act, tgt, 0, 0, NO_RULE)

static struct rules *new_rules(void)
{
	struct rules *rs = rules_new();

	ck_assert_ptr_nonnull(rs);
	ck_assert_int_eq(rules_add_set(rs, "rules"), 0);
	return rs;
}

START_TEST(test_exact_address)
{
	struct rules *rs = new_rules();

	add_rule(rs, 0, "2001:db8::1", NULL, NULL, NULL, RULE_TARGET, 3, 10);
	add_rule(rs, 0, "2001:db8::2", NULL, NULL, NULL, RULE_DROP, 0, 11);
	compile_ok(rs);
	ck_assert_uint_eq(rules_count(rs), 2);
	EXPECT(rs, "2001:db8::1", 80, "2001:db8:ffff::9", 40000, RULE_TARGET, 3, 10, 0, 0);
	EXPECT(rs, "2001:db8::2", 80, "::1", 1, RULE_DROP, 0, 11, 0, 1);
	EXPECT_DEFAULT(rs, "2001:db8::3", 80, "::1", 1, RULE_REJECT, 0);
	EXPECT_DEFAULT(rs, "2001:db8::1:1", 80, "::1", 1, RULE_REJECT, 0);
	/* the remote address is not the local one */
	EXPECT_DEFAULT(rs, "::1", 80, "2001:db8::1", 1, RULE_REJECT, 0);
	rules_free(rs);
}
END_TEST

START_TEST(test_prefixes)
{
	struct rules *rs = new_rules();

	add_rule(rs, 0, "2001:db8:1::/64", NULL, NULL, NULL, RULE_TARGET, 1, 1);
	add_rule(rs, 0, "2001:db8:2::/48", NULL, NULL, NULL, RULE_TARGET, 2, 2);
	add_rule(rs, 0, "2001:db8:3:4:5::/80", NULL, NULL, NULL, RULE_TARGET, 3, 3);
	compile_ok(rs);
	EXPECT(rs, "2001:db8:1::", 1, "::1", 1, RULE_TARGET, 1, 1, 0, 0);
	EXPECT(rs, "2001:db8:1::ffff", 1, "::1", 1, RULE_TARGET, 1, 1, 0, 0);
	EXPECT(rs, "2001:db8:1:0:ffff:ffff:ffff:ffff", 1, "::1", 1, RULE_TARGET, 1, 1, 0, 0);
	EXPECT_DEFAULT(rs, "2001:db8:1:1::", 1, "::1", 1, RULE_REJECT, 0);
	EXPECT_DEFAULT(rs, "2001:db8:0:ffff:ffff:ffff:ffff:ffff", 1, "::1", 1, RULE_REJECT, 0);
	EXPECT(rs, "2001:db8:2::", 1, "::1", 1, RULE_TARGET, 2, 2, 0, 1);
	EXPECT(rs, "2001:db8:2:ffff:ffff:ffff:ffff:ffff", 1, "::1", 1, RULE_TARGET, 2, 2, 0, 1);
	EXPECT_DEFAULT(rs, "2001:db8:3::", 1, "::1", 1, RULE_REJECT, 0);
	/* a prefix length that is not a multiple of 8 or 16 */
	EXPECT(rs, "2001:db8:3:4:5:ffff::1", 1, "::1", 1, RULE_TARGET, 3, 3, 0, 2);
	EXPECT_DEFAULT(rs, "2001:db8:3:4:6::1", 1, "::1", 1, RULE_REJECT, 0);
	rules_free(rs);
}
END_TEST

START_TEST(test_odd_prefix_lengths)
{
	struct rules *rs = new_rules();

	/* /1, /127 and /33: partial bytes at both ends */
	add_rule(rs, 0, "2001:db8::2/127", NULL, NULL, NULL, RULE_TARGET, 127, 1);
	add_rule(rs, 0, "2001:db8:8000::/33", NULL, NULL, NULL, RULE_TARGET, 33, 2);
	add_rule(rs, 0, "8000::/1", NULL, NULL, NULL, RULE_TARGET, 1, 3);
	compile_ok(rs);
	EXPECT(rs, "2001:db8::2", 1, "::", 1, RULE_TARGET, 127, 1, 0, 0);
	EXPECT(rs, "2001:db8::3", 1, "::", 1, RULE_TARGET, 127, 1, 0, 0);
	EXPECT_DEFAULT(rs, "2001:db8::4", 1, "::", 1, RULE_REJECT, 0);
	EXPECT(rs, "2001:db8:8000::1", 1, "::", 1, RULE_TARGET, 33, 2, 0, 1);
	EXPECT(rs, "2001:db8:ffff::1", 1, "::", 1, RULE_TARGET, 33, 2, 0, 1);
	EXPECT_DEFAULT(rs, "2001:db8:7fff::1", 1, "::", 1, RULE_REJECT, 0);
	EXPECT(rs, "8000::", 1, "::", 1, RULE_TARGET, 1, 3, 0, 2);
	EXPECT(rs, "ffff::1", 1, "::", 1, RULE_TARGET, 1, 3, 0, 2);
	EXPECT_DEFAULT(rs, "7fff::1", 1, "::", 1, RULE_REJECT, 0);
	rules_free(rs);
}
END_TEST

START_TEST(test_local_ports)
{
	struct rules *rs = new_rules();

	add_rule(rs, 0, "2001:db8::1", "22", NULL, NULL, RULE_TARGET, 1, 1);
	add_rule(rs, 0, "2001:db8::1", "80,443,8443", NULL, NULL, RULE_TARGET, 2, 2);
	add_rule(rs, 0, "2001:db8::1", "1000-2000", NULL, NULL, RULE_TARGET, 3, 3);
	add_rule(rs, 0, "2001:db8::1", "0,65535", NULL, NULL, RULE_TARGET, 4, 4);
	add_rule(rs, 0, NULL, "5000-5001,6000", NULL, NULL, RULE_DROP, 0, 5);
	compile_ok(rs);
	EXPECT(rs, "2001:db8::1", 22, "::1", 1, RULE_TARGET, 1, 1, 0, 0);
	EXPECT_DEFAULT(rs, "2001:db8::1", 21, "::1", 1, RULE_REJECT, 0);
	EXPECT_DEFAULT(rs, "2001:db8::1", 23, "::1", 1, RULE_REJECT, 0);
	EXPECT(rs, "2001:db8::1", 80, "::1", 1, RULE_TARGET, 2, 2, 0, 1);
	EXPECT(rs, "2001:db8::1", 443, "::1", 1, RULE_TARGET, 2, 2, 0, 1);
	EXPECT(rs, "2001:db8::1", 8443, "::1", 1, RULE_TARGET, 2, 2, 0, 1);
	EXPECT_DEFAULT(rs, "2001:db8::1", 81, "::1", 1, RULE_REJECT, 0);
	EXPECT_DEFAULT(rs, "2001:db8::1", 999, "::1", 1, RULE_REJECT, 0);
	EXPECT(rs, "2001:db8::1", 1000, "::1", 1, RULE_TARGET, 3, 3, 0, 2);
	EXPECT(rs, "2001:db8::1", 1500, "::1", 1, RULE_TARGET, 3, 3, 0, 2);
	EXPECT(rs, "2001:db8::1", 2000, "::1", 1, RULE_TARGET, 3, 3, 0, 2);
	EXPECT_DEFAULT(rs, "2001:db8::1", 2001, "::1", 1, RULE_REJECT, 0);
	EXPECT(rs, "2001:db8::1", 0, "::1", 1, RULE_TARGET, 4, 4, 0, 3);
	EXPECT(rs, "2001:db8::1", 65535, "::1", 1, RULE_TARGET, 4, 4, 0, 3);
	EXPECT_DEFAULT(rs, "2001:db8::1", 65534, "::1", 1, RULE_REJECT, 0);
	/* ports on a rule with no address: any address */
	EXPECT(rs, "2001:db8::77", 5000, "::1", 1, RULE_DROP, 0, 5, 0, 4);
	EXPECT(rs, "10.0.0.1", 5001, "::1", 1, RULE_DROP, 0, 5, 0, 4);
	EXPECT(rs, "::", 6000, "::1", 1, RULE_DROP, 0, 5, 0, 4);
	EXPECT_DEFAULT(rs, "2001:db8::77", 5002, "::1", 1, RULE_REJECT, 0);
	/* the remote port is not the local one */
	EXPECT_DEFAULT(rs, "2001:db8::1", 9, "::1", 22, RULE_REJECT, 0);
	rules_free(rs);
}
END_TEST

START_TEST(test_remote_prefix_and_port)
{
	struct rules *rs = new_rules();

	add_rule(rs, 0, NULL, NULL, "2001:db8:bad::/48", NULL, RULE_REJECT, 0, 1);
	add_rule(rs, 0, NULL, NULL, "2001:db8:c0::/64", "1024-65535", RULE_TARGET, 2, 2);
	add_rule(rs, 0, NULL, NULL, NULL, "7,9", RULE_TARGET, 3, 3);
	add_rule(rs, 0, "2001:db8::1", "443", "2001:db8:d0::/56", "5000-6000", RULE_TARGET, 4, 4);
	rules_set_default(rs, RULE_DROP, 0);
	compile_ok(rs);
	EXPECT(rs, "2001:db8::1", 80, "2001:db8:bad::1", 1, RULE_REJECT, 0, 1, 0, 0);
	EXPECT(rs, "::1", 80, "2001:db8:bad:ffff:1:2:3:4", 9, RULE_REJECT, 0, 1, 0, 0);
	EXPECT_DEFAULT(rs, "2001:db8::1", 80, "2001:db8:bae::1", 1, RULE_DROP, 0);
	/* a remote that equals the prefix as a local address does not match */
	EXPECT_DEFAULT(rs, "2001:db8:bad::1", 80, "::2", 1, RULE_DROP, 0);
	EXPECT(rs, "::1", 80, "2001:db8:c0::5", 1024, RULE_TARGET, 2, 2, 0, 1);
	EXPECT(rs, "::1", 80, "2001:db8:c0::5", 65535, RULE_TARGET, 2, 2, 0, 1);
	EXPECT_DEFAULT(rs, "::1", 80, "2001:db8:c0::5", 1023, RULE_DROP, 0);
	EXPECT(rs, "::1", 80, "2001:db8:c0:1::5", 7, RULE_TARGET, 3, 3, 0, 2);
	EXPECT(rs, "::1", 80, "2001:db8:c0::5", 9, RULE_TARGET, 3, 3, 0, 2);
	EXPECT_DEFAULT(rs, "::1", 80, "2001:db8:c0:1::5", 8, RULE_DROP, 0);
	/* all four keys must match */
	EXPECT(rs, "2001:db8::1", 443, "2001:db8:d0:ff::1", 5500, RULE_TARGET, 4, 4, 0, 3);
	EXPECT_DEFAULT(rs, "2001:db8::2", 443, "2001:db8:d0:ff::1", 5500, RULE_DROP, 0);
	EXPECT_DEFAULT(rs, "2001:db8::1", 444, "2001:db8:d0:ff::1", 5500, RULE_DROP, 0);
	EXPECT_DEFAULT(rs, "2001:db8::1", 443, "2001:db8:d0:100::1", 5500, RULE_DROP, 0);
	EXPECT_DEFAULT(rs, "2001:db8::1", 443, "2001:db8:d0:ff::1", 6001, RULE_DROP, 0);
	rules_free(rs);
}
END_TEST

START_TEST(test_first_match_broader_first)
{
	struct rules *rs = new_rules();

	add_rule(rs, 0, "2001:db8:1::/64", NULL, NULL, NULL, RULE_TARGET, 1, 1);
	add_rule(rs, 0, "2001:db8:1::5", NULL, NULL, NULL, RULE_TARGET, 2, 2);
	add_rule(rs, 0, "2001:db8:1::6", NULL, NULL, NULL, RULE_DROP, 0, 3);
	compile_ok(rs);
	/* the earlier /64 beats the later exact addresses */
	EXPECT(rs, "2001:db8:1::5", 1, "::1", 1, RULE_TARGET, 1, 1, 0, 0);
	EXPECT(rs, "2001:db8:1::6", 1, "::1", 1, RULE_TARGET, 1, 1, 0, 0);
	rules_free(rs);
}
END_TEST

START_TEST(test_first_match_exact_first)
{
	struct rules *rs = new_rules();

	add_rule(rs, 0, "2001:db8:1::5", NULL, NULL, NULL, RULE_TARGET, 2, 1);
	add_rule(rs, 0, "2001:db8:1::/64", NULL, NULL, NULL, RULE_TARGET, 1, 2);
	add_rule(rs, 0, "2001:db8:1::5", NULL, NULL, NULL, RULE_DROP, 0, 3);
	compile_ok(rs);
	EXPECT(rs, "2001:db8:1::5", 1, "::1", 1, RULE_TARGET, 2, 1, 0, 0);
	EXPECT(rs, "2001:db8:1::6", 1, "::1", 1, RULE_TARGET, 1, 2, 0, 1);
	rules_free(rs);
}
END_TEST

START_TEST(test_first_match_across_kinds)
{
	struct rules *rs = new_rules();

	/* 0: remote prefix, 1: no address (port only), 2: local exact, 3: local /48 */
	add_rule(rs, 0, NULL, NULL, "2001:db8:bad::/48", NULL, RULE_REJECT, 0, 1);
	add_rule(rs, 0, NULL, "22", NULL, NULL, RULE_DROP, 0, 2);
	add_rule(rs, 0, "2001:db8::1", NULL, NULL, NULL, RULE_TARGET, 5, 3);
	add_rule(rs, 0, "2001:db8::/48", NULL, NULL, NULL, RULE_TARGET, 6, 4);
	/* 4: an exact-address rule that only matches with port 80, before a broader one */
	add_rule(rs, 0, "2001:db8:1::1", "80", NULL, NULL, RULE_TARGET, 7, 5);
	add_rule(rs, 0, "2001:db8:1::/48", NULL, NULL, NULL, RULE_TARGET, 8, 6);
	compile_ok(rs);
	EXPECT(rs, "2001:db8::1", 22, "2001:db8:bad::9", 1, RULE_REJECT, 0, 1, 0, 0);
	EXPECT(rs, "2001:db8::1", 22, "2001:db8:900::9", 1, RULE_DROP, 0, 2, 0, 1);
	EXPECT(rs, "2001:db8::1", 80, "2001:db8:900::9", 1, RULE_TARGET, 5, 3, 0, 2);
	EXPECT(rs, "2001:db8::2", 80, "2001:db8:900::9", 1, RULE_TARGET, 6, 4, 0, 3);
	/* a rule whose address matches but port does not is passed over */
	EXPECT(rs, "2001:db8:1::1", 80, "::9", 1, RULE_TARGET, 7, 5, 0, 4);
	EXPECT(rs, "2001:db8:1::1", 81, "::9", 1, RULE_TARGET, 8, 6, 0, 5);
	rules_free(rs);
}
END_TEST

START_TEST(test_jump_and_fall_through)
{
	struct rules *rs = new_rules();
	int inner = rules_add_set(rs, "inner"), deeper = rules_add_set(rs, "deeper");

	ck_assert_int_eq(inner, 1);
	ck_assert_int_eq(deeper, 2);
	ck_assert_int_eq(rules_find_set(rs, "rules"), 0);
	ck_assert_int_eq(rules_find_set(rs, "inner"), 1);
	ck_assert_int_eq(rules_find_set(rs, "deeper"), 2);
	ck_assert_int_eq(rules_find_set(rs, "nope"), -1);
	ck_assert_str_eq(rules_set_name(rs, 1), "inner");
	ck_assert_str_eq(rules_set_name(rs, 3), "?");

	/* main: 0 an unrelated rule, 1 jump, 2 the rule after the jump (same prefix) */
	add_rule(rs, 0, "2001:db8:9::1", NULL, NULL, NULL, RULE_TARGET, 90, 10);
	add_rule(rs, 0, "2001:db8:1::/48", NULL, NULL, NULL, RULE_JUMP, (uint32_t)inner, 11);
	add_rule(rs, 0, "2001:db8:1::/48", NULL, NULL, NULL, RULE_TARGET, 9, 12);
	/* inner: 0 port 22 only, 1 jump deeper for a remote prefix, 2 drop port 25 */
	add_rule(rs, (uint32_t)inner, "2001:db8:1::5", "22", NULL, NULL, RULE_TARGET, 1, 20);
	add_rule(rs, (uint32_t)inner, NULL, NULL, "2001:db8:bad::/48", NULL, RULE_JUMP,
		 (uint32_t)deeper, 21);
	add_rule(rs, (uint32_t)inner, NULL, "25", NULL, NULL, RULE_DROP, 0, 22);
	/* deeper: reject only port 443 */
	add_rule(rs, (uint32_t)deeper, NULL, "443", NULL, NULL, RULE_REJECT, 0, 30);
	rules_set_default(rs, RULE_DROP, 0);
	compile_ok(rs);
	ck_assert_uint_eq(rules_count(rs), 7);

	EXPECT(rs, "2001:db8:9::1", 22, "::1", 1, RULE_TARGET, 90, 10, 0, 0);
	/* matched inside the set */
	EXPECT(rs, "2001:db8:1::5", 22, "::1", 1, RULE_TARGET, 1, 20, 1, 0);
	EXPECT(rs, "2001:db8:1::7", 25, "::1", 1, RULE_DROP, 0, 22, 1, 2);
	/* nested: main -> inner -> deeper */
	EXPECT(rs, "2001:db8:1::5", 443, "2001:db8:bad::1", 1, RULE_REJECT, 0, 30, 2, 0);
	/* deeper has no match: back to inner after its jump, then rule 2 there */
	EXPECT(rs, "2001:db8:1::5", 25, "2001:db8:bad::1", 1, RULE_DROP, 0, 22, 1, 2);
	/* no match in inner or deeper: back to main after the jump */
	EXPECT(rs, "2001:db8:1::5", 80, "::1", 1, RULE_TARGET, 9, 12, 0, 2);
	EXPECT(rs, "2001:db8:1::5", 444, "2001:db8:bad::1", 1, RULE_TARGET, 9, 12, 0, 2);
	/* outside the jump's prefix, the set is not consulted */
	EXPECT_DEFAULT(rs, "2001:db8:2::5", 22, "::1", 1, RULE_DROP, 0);
	EXPECT_DEFAULT(rs, "2001:db8:2::5", 25, "2001:db8:bad::1", 1, RULE_DROP, 0);
	rules_free(rs);
}
END_TEST

START_TEST(test_jump_set_without_match_falls_to_default)
{
	struct rules *rs = new_rules();
	int empty = rules_add_set(rs, "empty");

	add_rule(rs, 0, NULL, NULL, NULL, NULL, RULE_JUMP, (uint32_t)empty, 1);
	rules_set_default(rs, RULE_TARGET, 4);
	compile_ok(rs);
	EXPECT_DEFAULT(rs, "2001:db8::1", 1, "::1", 1, RULE_TARGET, 4);
	rules_free(rs);
}
END_TEST

START_TEST(test_jump_diamond_is_not_a_loop)
{
	struct rules *rs = new_rules();
	int a = rules_add_set(rs, "a"), b = rules_add_set(rs, "b");

	add_rule(rs, 0, NULL, "1", NULL, NULL, RULE_JUMP, (uint32_t)a, 1);
	add_rule(rs, 0, NULL, NULL, NULL, NULL, RULE_JUMP, (uint32_t)b, 2);
	add_rule(rs, (uint32_t)a, NULL, NULL, NULL, NULL, RULE_JUMP, (uint32_t)b, 3);
	add_rule(rs, (uint32_t)b, NULL, "1,2", NULL, NULL, RULE_TARGET, 6, 4);
	compile_ok(rs);
	EXPECT(rs, "::1", 1, "::1", 1, RULE_TARGET, 6, 4, 2, 0);
	EXPECT(rs, "::1", 2, "::1", 1, RULE_TARGET, 6, 4, 2, 0);
	EXPECT_DEFAULT(rs, "::1", 3, "::1", 1, RULE_REJECT, 0);
	rules_free(rs);
}
END_TEST

START_TEST(test_jump_loop_two_sets)
{
	struct rules *rs = new_rules();
	int a = rules_add_set(rs, "A"), b = rules_add_set(rs, "B");
	char err[256] = "";

	add_rule(rs, 0, NULL, NULL, NULL, NULL, RULE_JUMP, (uint32_t)a, 1);
	add_rule(rs, (uint32_t)a, "2001:db8::/32", NULL, NULL, NULL, RULE_JUMP, (uint32_t)b, 5);
	add_rule(rs, (uint32_t)b, NULL, "22", NULL, NULL, RULE_JUMP, (uint32_t)a, 9);
	ck_assert_int_eq(rules_compile(rs, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "line 9: jump from \"B\" to \"A\" makes a loop");
	rules_free(rs);
}
END_TEST

START_TEST(test_jump_loop_self)
{
	struct rules *rs = new_rules();
	int a = rules_add_set(rs, "A");
	char err[256] = "";

	add_rule(rs, 0, NULL, NULL, NULL, NULL, RULE_TARGET, 0, 1);
	add_rule(rs, (uint32_t)a, NULL, "80", NULL, NULL, RULE_TARGET, 0, 6);
	add_rule(rs, (uint32_t)a, NULL, NULL, NULL, NULL, RULE_JUMP, (uint32_t)a, 7);
	ck_assert_int_eq(rules_compile(rs, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "line 7: jump from \"A\" to \"A\" makes a loop");
	rules_free(rs);
}
END_TEST

START_TEST(test_jump_loop_unreachable_from_main)
{
	struct rules *rs = new_rules();
	int a = rules_add_set(rs, "a"), b = rules_add_set(rs, "b"), c = rules_add_set(rs, "c");
	char err[256] = "";

	/* main does not jump at all; a -> b -> c -> b is still a loop */
	add_rule(rs, 0, NULL, NULL, NULL, NULL, RULE_DROP, 0, 1);
	add_rule(rs, (uint32_t)a, NULL, NULL, NULL, NULL, RULE_JUMP, (uint32_t)b, 2);
	add_rule(rs, (uint32_t)b, NULL, NULL, NULL, NULL, RULE_JUMP, (uint32_t)c, 3);
	add_rule(rs, (uint32_t)c, NULL, NULL, NULL, NULL, RULE_JUMP, (uint32_t)b, 4);
	ck_assert_int_eq(rules_compile(rs, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "line 4: jump from \"c\" to \"b\" makes a loop");
	rules_free(rs);
}
END_TEST

/* Sets named PREFIX<i> for i = 0..n-1 after those there are; the number of the first. */
static uint32_t add_sets(struct rules *rs, const char *prefix, unsigned n)
{
	char name[32];
	int first = -1;

	for (unsigned i = 0; i < n; i++) {
		int set;

		snprintf(name, sizeof(name), "%s%u", prefix, i);
		set = rules_add_set(rs, name);
		ck_assert_int_ge(set, 0);
		if (i == 0)
			first = set;
	}
	return (uint32_t)first;
}

#define OVER_LIMIT                                                                                 \
	"lets one lookup take more than 10000 steps (tries of rule sets and hash tables probed)"

/* rules -> s0; each s<i> jumps twice to s<i+1>; the last set drops port 1 (line 99). A
 * connection that matches nothing tries every path: 2^n of them. */
static struct rules *doubling(unsigned n)
{
	struct rules *rs = new_rules();
	uint32_t s0 = add_sets(rs, "s", n);

	add_rule(rs, 0, NULL, NULL, NULL, NULL, RULE_JUMP, s0, 1);
	for (unsigned i = 0; i + 1 < n; i++) {
		add_rule(rs, s0 + i, NULL, NULL, NULL, NULL, RULE_JUMP, s0 + i + 1, 10 + 2 * i);
		add_rule(rs, s0 + i, NULL, NULL, NULL, NULL, RULE_JUMP, s0 + i + 1, 11 + 2 * i);
	}
	add_rule(rs, s0 + n - 1, NULL, "1", NULL, NULL, RULE_DROP, 0, 99);
	return rs;
}

START_TEST(test_jump_doubling_over_the_limit)
{
	struct rules *rs = doubling(24);
	char err[256] = "";

	/* s23 costs 1 step, s<23-m> 2^(m+2) - 3: s12 8189, and s11's second jump passes
	 * 10000 (before the limit, 0.3 s for every connection that matched nothing) */
	ck_assert_int_eq(rules_compile(rs, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "line 33: jump from \"s11\" to \"s12\" " OVER_LIMIT);
	rules_free(rs);

	/* 12 sets: 8191 steps from the main list, within the limit */
	rs = doubling(12);
	compile_ok(rs);
	EXPECT(rs, "2001:db8::1", 1, "::1", 1, RULE_DROP, 0, 99, 12, 0);
	EXPECT_DEFAULT(rs, "2001:db8::1", 2, "::1", 1, RULE_REJECT, 0);
	rules_free(rs);
}
END_TEST

/* A chain: rules -> c0 -> c1 -> ... -> c<n-1>, the jump of c<i> on line i + 2; the last set
 * drops port 1. Compiled, and when that works looked up to the end of the chain and back. */
struct chain {
	unsigned n;
	int rc;
	char err[256];
	struct verdict hit, miss;
};

static void *chain_run(void *arg)
{
	struct chain *c = arg;
	struct rules *rs = new_rules();
	uint32_t c0 = add_sets(rs, "c", c->n);
	struct conn_key k = make_key("2001:db8::1", 1, "::1", 1);

	add_rule(rs, 0, NULL, NULL, NULL, NULL, RULE_JUMP, c0, 1);
	for (unsigned i = 0; i + 1 < c->n; i++)
		add_rule(rs, c0 + i, NULL, NULL, NULL, NULL, RULE_JUMP, c0 + i + 1, i + 2);
	add_rule(rs, c0 + c->n - 1, NULL, "1", NULL, NULL, RULE_DROP, 0, c->n + 1);
	c->rc = rules_compile(rs, c->err, sizeof(c->err));
	if (c->rc == 0) {
		rules_lookup(rs, &k, &c->hit);
		k.local_port = 2;
		rules_lookup(rs, &k, &c->miss);
	}
	rules_free(rs);
	return NULL;
}

/* Runs the chain in a thread with a 512 KiB stack: a recursion one frame per set (80 bytes
 * at -O2, more under ASan) would overflow it long before 20,000 sets. */
static void chain_small_stack(struct chain *c)
{
	pthread_attr_t attr;
	pthread_t t;

	ck_assert_int_eq(pthread_attr_init(&attr), 0);
	ck_assert_int_eq(pthread_attr_setstacksize(&attr, 512 * 1024), 0);
	ck_assert_int_eq(pthread_create(&t, &attr, chain_run, c), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	pthread_attr_destroy(&attr);
}

START_TEST(test_jump_chain_depth)
{
	struct chain c = {.n = 20000};

	/* c<19999-m> costs 2m + 1 steps: c14999's jump is the one that passes 10000 */
	chain_small_stack(&c);
	ck_assert_int_eq(c.rc, -1);
	ck_assert_str_eq(c.err, "line 15001: jump from \"c14999\" to \"c15000\" " OVER_LIMIT);

	/* the longest chain within the limit: 2 + 2 * 4998 + 1 = 9999 steps from the main
	 * list, a lookup 4,999 jumps deep and back */
	memset(&c, 0, sizeof(c));
	c.n = 4999;
	chain_small_stack(&c);
	ck_assert_msg(c.rc == 0, "rules_compile: %s", c.err);
	ck_assert_int_eq(c.hit.action, RULE_DROP);
	ck_assert_uint_eq(c.hit.set, 4999);
	ck_assert_uint_eq(c.hit.line, 5000);
	ck_assert_int_eq(c.miss.action, RULE_REJECT);
	ck_assert_uint_eq(c.miss.line, 0);

	/* one set more: 10001 */
	memset(&c, 0, sizeof(c));
	c.n = 5000;
	chain_small_stack(&c);
	ck_assert_int_eq(c.rc, -1);
	ck_assert_str_eq(c.err, "line 1: jump from \"rules\" to \"c0\" " OVER_LIMIT);
}
END_TEST

START_TEST(test_jump_map_counts_one_key_per_table)
{
	struct rules *rs = new_rules();
	uint32_t t0 = add_sets(rs, "t", 5000), ports = add_sets(rs, "ports", 1);
	char local[64], err[256] = "";

	/* A jump map: 5,000 jumps, each under its own /48, to a set of its own (a port rule
	 * and a remote /48: 2 steps per try); then 20 jumps by port alone to a set of three
	 * tables. A key picks one /48, so the worst case is the 20 port jumps and one tenant:
	 * 2 + 20 * (2 + 4) + (2 + 2) = 126 steps, not 5,000 * 4. */
	for (unsigned i = 0; i < 5000; i++) {
		snprintf(local, sizeof(local), "2001:db8:%x::/48", i);
		add_rule(rs, 0, local, NULL, NULL, NULL, RULE_JUMP, t0 + i, 1 + i);
		add_rule(rs, t0 + i, NULL, "22", NULL, NULL, RULE_TARGET, i, 10000 + i);
		add_rule(rs, t0 + i, NULL, NULL, "2001:db8:bad::/48", NULL, RULE_REJECT, 0,
			 20000 + i);
	}
	for (unsigned i = 0; i < 20; i++) {
		char port[8];

		snprintf(port, sizeof(port), "%u", 1000 + i);
		add_rule(rs, 0, NULL, port, NULL, NULL, RULE_JUMP, ports, 6000 + i);
	}
	add_rule(rs, ports, "2001:db8::/32", NULL, NULL, NULL, RULE_TARGET, 7, 7001);
	add_rule(rs, ports, "2001:db8::/64", NULL, NULL, NULL, RULE_TARGET, 8, 7002);
	add_rule(rs, ports, NULL, NULL, "::1", NULL, RULE_TARGET, 9, 7003);
	compile_ok(rs);
	EXPECT(rs, "2001:db8:0::5", 22, "::1", 1, RULE_TARGET, 0, 10000, t0, 0);
	EXPECT(rs, "2001:db8:1387::5", 22, "::1", 1, RULE_TARGET, 4999, 14999, t0 + 4999, 0);
	EXPECT(rs, "2001:db8:99::5", 80, "2001:db8:bad::7", 1, RULE_REJECT, 0, 20153, t0 + 153, 1);
	/* the tenant falls through: on to the port jumps after the map */
	EXPECT(rs, "2001:db8:99::5", 1003, "::1", 1, RULE_TARGET, 7, 7001, ports, 0);
	EXPECT(rs, "2001:db9::5", 1019, "::1", 1, RULE_TARGET, 9, 7003, ports, 2);
	EXPECT_DEFAULT(rs, "2001:db9::5", 80, "::1", 1, RULE_REJECT, 0);
	rules_free(rs);

	/* The same 5,000 jumps under one key can all match: 2 + 5,000 * (2 + 1) steps. */
	rs = new_rules();
	t0 = add_sets(rs, "t", 1);
	for (unsigned i = 0; i < 5000; i++)
		add_rule(rs, 0, "2001:db8::/32", NULL, NULL, NULL, RULE_JUMP, t0, 1 + i);
	ck_assert_int_eq(rules_compile(rs, err, sizeof(err)), -1);
	/* 2 + 3332 * 3 = 9998, and the 3,333rd jump passes */
	ck_assert_str_eq(err, "line 3333: jump from \"rules\" to \"t0\" " OVER_LIMIT);
	rules_free(rs);
}
END_TEST

START_TEST(test_ipv4_mapped)
{
	struct rules *rs = new_rules();

	add_rule(rs, 0, "::ffff:192.0.2.0/120", NULL, NULL, NULL, RULE_TARGET, 1, 1);
	/* the same prefix written as IPv4: 198.51.100.0/24 is ::ffff:198.51.100.0/120 */
	add_rule(rs, 0, "198.51.100.0/24", NULL, "203.0.113.0/25", NULL, RULE_TARGET, 2, 2);
	add_rule(rs, 0, "10.1.2.3", NULL, NULL, NULL, RULE_TARGET, 3, 3);
	compile_ok(rs);
	EXPECT(rs, "::ffff:192.0.2.9", 80, "::ffff:10.0.0.1", 1, RULE_TARGET, 1, 1, 0, 0);
	EXPECT(rs, "192.0.2.0", 80, "10.0.0.1", 1, RULE_TARGET, 1, 1, 0, 0);
	EXPECT(rs, "192.0.2.255", 80, "10.0.0.1", 1, RULE_TARGET, 1, 1, 0, 0);
	EXPECT_DEFAULT(rs, "192.0.3.0", 80, "10.0.0.1", 1, RULE_REJECT, 0);
	EXPECT_DEFAULT(rs, "192.0.1.255", 80, "10.0.0.1", 1, RULE_REJECT, 0);
	/* not mapped: ::192.0.2.9 (the old compatible form) is a different address */
	EXPECT_DEFAULT(rs, "::192.0.2.9", 80, "10.0.0.1", 1, RULE_REJECT, 0);
	EXPECT(rs, "::ffff:198.51.100.77", 80, "203.0.113.127", 1, RULE_TARGET, 2, 2, 0, 1);
	EXPECT_DEFAULT(rs, "198.51.100.77", 80, "203.0.113.128", 1, RULE_REJECT, 0);
	EXPECT(rs, "::ffff:10.1.2.3", 80, "::1", 1, RULE_TARGET, 3, 3, 0, 2);
	EXPECT_DEFAULT(rs, "10.1.2.4", 80, "::1", 1, RULE_REJECT, 0);
	rules_free(rs);
}
END_TEST

START_TEST(test_default_actions)
{
	struct rules *rs = new_rules();

	compile_ok(rs);
	/* rules_new's default is reject */
	EXPECT_DEFAULT(rs, "2001:db8::1", 1, "::1", 1, RULE_REJECT, 0);
	rules_set_default(rs, RULE_DROP, 0);
	EXPECT_DEFAULT(rs, "2001:db8::1", 1, "::1", 1, RULE_DROP, 0);
	rules_set_default(rs, RULE_TARGET, 6);
	EXPECT_DEFAULT(rs, "2001:db8::1", 1, "::1", 1, RULE_TARGET, 6);
	rules_free(rs);

	/* rules that do not match leave the default */
	rs = new_rules();
	add_rule(rs, 0, "2001:db8::1", "80", NULL, NULL, RULE_TARGET, 1, 1);
	rules_set_default(rs, RULE_TARGET, 2);
	compile_ok(rs);
	EXPECT_DEFAULT(rs, "2001:db8::1", 81, "::1", 1, RULE_TARGET, 2);
	EXPECT(rs, "2001:db8::1", 80, "::1", 1, RULE_TARGET, 1, 1, 0, 0);
	rules_free(rs);

	/* no set at all */
	rs = rules_new();
	ck_assert_ptr_nonnull(rs);
	compile_ok(rs);
	ck_assert_uint_eq(rules_count(rs), 0);
	EXPECT_DEFAULT(rs, "2001:db8::1", 1, "::1", 1, RULE_REJECT, 0);
	rules_free(rs);
	rules_free(NULL);
}
END_TEST

/* A rule with listeners matches only connections from them, in whichever table it is
 * filed; the first match among the rest still wins. */
START_TEST(test_listeners)
{
	struct rules *rs = new_rules();
	struct rule_match m;
	struct conn_key k = make_key("2001:db8::1", 80, "::1", 1);
	struct verdict v;

	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(addr_parse("2001:db8::1", &m.local), 0);
	m.local_plen = 128;
	m.listeners = 1u << 2;
	ck_assert_int_eq(rules_add(rs, 0, &m, RULE_TARGET, 7, 1), 0);
	memset(&m, 0, sizeof(m));
	m.listeners = 1u << 0 | 1u << 30;
	ck_assert_int_eq(rules_add(rs, 0, &m, RULE_TARGET, 8, 2), 0);
	add_rule(rs, 0, "2001:db8::/32", NULL, NULL, NULL, RULE_DROP, 0, 3);
	compile_ok(rs);
	for (uint32_t l = 0; l <= RULES_LISTENER_UNNAMED; l++) {
		k.listener = l;
		rules_lookup(rs, &k, &v);
		if (l == 2)
			ck_assert_uint_eq(v.line, 1);
		else if (l == 0 || l == 30)
			ck_assert_uint_eq(v.line, 2);
		else
			ck_assert_uint_eq(v.line, 3);
	}
	rules_free(rs);
}
END_TEST

START_TEST(test_ports_are_copied)
{
	struct rules *rs = new_rules();
	struct port_range p = {80, 80};
	struct rule_match m;

	memset(&m, 0, sizeof(m));
	m.local_ports = &p;
	m.nlocal_ports = 1;
	ck_assert_int_eq(rules_add(rs, 0, &m, RULE_DROP, 0, 1), 0);
	p.lo = p.hi = 81; /* the caller's array changes after rules_add */
	compile_ok(rs);
	EXPECT(rs, "::1", 80, "::1", 1, RULE_DROP, 0, 1, 0, 0);
	EXPECT_DEFAULT(rs, "::1", 81, "::1", 1, RULE_REJECT, 0);
	rules_free(rs);
}
END_TEST

START_TEST(test_recompile)
{
	struct rules *rs = new_rules();

	add_rule(rs, 0, "2001:db8::1", NULL, NULL, NULL, RULE_TARGET, 1, 1);
	compile_ok(rs);
	EXPECT_DEFAULT(rs, "2001:db8::2", 1, "::1", 1, RULE_REJECT, 0);
	add_rule(rs, 0, "2001:db8::2", NULL, NULL, NULL, RULE_TARGET, 2, 2);
	compile_ok(rs);
	EXPECT(rs, "2001:db8::1", 1, "::1", 1, RULE_TARGET, 1, 1, 0, 0);
	EXPECT(rs, "2001:db8::2", 1, "::1", 1, RULE_TARGET, 2, 2, 0, 1);
	rules_free(rs);
}
END_TEST

/* Several rules under one key (a run of the bucket, not the bucket's single rule) among
 * thousands of keys of one table: each key finds its own rules only, in order, whichever
 * keys share its probe sequence or its tag. */
START_TEST(test_runs_among_many_keys)
{
	struct rules *rs = new_rules();
	char a[64];
	unsigned line = 1;

	for (unsigned i = 0; i < 5000; i++) {
		snprintf(a, sizeof(a), "2001:db8::%x:%x", i >> 8, i & 0xff);
		if (i % 97 == 0) { /* three rules under this key, the last without port */
			add_rule(rs, 0, a, "80", NULL, NULL, RULE_TARGET, 1, line++);
			add_rule(rs, 0, a, "443", NULL, NULL, RULE_TARGET, 2, line++);
		}
		add_rule(rs, 0, a, NULL, NULL, NULL, RULE_TARGET, 3 + i % 5, line++);
	}
	compile_ok(rs);
	line = 1;
	for (unsigned i = 0; i < 5000; i++) {
		snprintf(a, sizeof(a), "2001:db8::%x:%x", i >> 8, i & 0xff);
		if (i % 97 == 0) {
			EXPECT(rs, a, 80, "::1", 1, RULE_TARGET, 1, line, 0, line - 1);
			EXPECT(rs, a, 443, "::1", 1, RULE_TARGET, 2, line + 1, 0, line);
			line += 2;
		}
		EXPECT(rs, a, 22, "::1", 1, RULE_TARGET, 3 + i % 5, line, 0, line - 1);
		line++;
	}
	EXPECT_DEFAULT(rs, "2001:db8::1:0:0", 80, "::1", 1, RULE_REJECT, 0);
	rules_free(rs);
}
END_TEST

/* ---- 100,000 rules against a naive linear matcher ---- */

struct ref_rule {
	struct in6_addr local, remote;
	unsigned local_plen, remote_plen;
	uint16_t lport_lo, lport_hi; /* 0-65535: any */
	enum rule_action action;
	uint32_t target;
	/* the prefixes as two 64-bit halves and their masks, for a quick linear scan */
	uint64_t lw[2], lm[2], rw[2], rm[2];
};

static void ref_words(const struct in6_addr *a, uint64_t w[2])
{
	w[0] = w[1] = 0;
	for (unsigned i = 0; i < 8; i++) {
		w[0] = w[0] << 8 | a->s6_addr[i];
		w[1] = w[1] << 8 | a->s6_addr[8 + i];
	}
}

static void ref_mask(unsigned plen, uint64_t m[2])
{
	m[0] = plen == 0 ? 0 : plen >= 64 ? UINT64_MAX : UINT64_MAX << (64 - plen);
	m[1] = plen <= 64 ? 0 : plen == 128 ? UINT64_MAX : UINT64_MAX << (128 - plen);
}

static void ref_prepare(struct ref_rule *r)
{
	ref_words(&r->local, r->lw);
	ref_words(&r->remote, r->rw);
	ref_mask(r->local_plen, r->lm);
	ref_mask(r->remote_plen, r->rm);
}

/* The first rule that matches, trying every rule in order. */
static uint32_t ref_lookup(const struct ref_rule *r, size_t n, const struct conn_key *k)
{
	uint64_t l[2], rem[2];

	ref_words(&k->local, l);
	ref_words(&k->remote, rem);
	for (size_t i = 0; i < n; i++)
		if (((l[0] ^ r[i].lw[0]) & r[i].lm[0]) == 0 &&
		    ((l[1] ^ r[i].lw[1]) & r[i].lm[1]) == 0 &&
		    ((rem[0] ^ r[i].rw[0]) & r[i].rm[0]) == 0 &&
		    ((rem[1] ^ r[i].rw[1]) & r[i].rm[1]) == 0 && k->local_port >= r[i].lport_lo &&
		    k->local_port <= r[i].lport_hi)
			return (uint32_t)i;
	return NO_RULE;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rng(void)
{
	/* xorshift64*: a fixed sequence on every machine */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

/* 2001:db8:0:SUBNET::IID */
static void big_addr(struct in6_addr *a, unsigned subnet, uint32_t iid)
{
	memset(a, 0, sizeof(*a));
	a->s6_addr[0] = 0x20;
	a->s6_addr[1] = 0x01;
	a->s6_addr[2] = 0x0d;
	a->s6_addr[3] = 0xb8;
	a->s6_addr[6] = (uint8_t)(subnet >> 8);
	a->s6_addr[7] = (uint8_t)subnet;
	a->s6_addr[12] = (uint8_t)(iid >> 24);
	a->s6_addr[13] = (uint8_t)(iid >> 16);
	a->s6_addr[14] = (uint8_t)(iid >> 8);
	a->s6_addr[15] = (uint8_t)iid;
}

/* 2001:db8:bad:N::/64, the remote prefixes */
static void bad_prefix(struct in6_addr *a, unsigned n)
{
	memset(a, 0, sizeof(*a));
	a->s6_addr[0] = 0x20;
	a->s6_addr[1] = 0x01;
	a->s6_addr[2] = 0x0d;
	a->s6_addr[3] = 0xb8;
	a->s6_addr[4] = 0x0b;
	a->s6_addr[5] = 0xad;
	a->s6_addr[6] = (uint8_t)(n >> 8);
	a->s6_addr[7] = (uint8_t)n;
}

#define BIG_HOSTS 100000
#define BIG_SUBNETS 64
#define BIG_LOOKUPS 3000

START_TEST(test_100k_rules_against_linear_reference)
{
	size_t cap = BIG_HOSTS + BIG_HOSTS / 100 + 16, n = 0;
	struct ref_rule *ref = calloc(cap, sizeof(*ref));
	struct rules *rs = new_rules();
	unsigned matched_rule = 0, matched_default = 0, matched_kind[4] = {0};

	ck_assert_ptr_nonnull(ref);
	for (uint32_t i = 0; i < BIG_HOSTS; i++) {
		/* every 2,000th position: a /64 over one subnet of the hosts, so it shadows the
		 * host rules after it and is shadowed by the ones before it */
		if (i % 2000 == 1000) {
			struct ref_rule *r = &ref[n++];

			big_addr(&r->local, (i / 2000) % BIG_SUBNETS, 0);
			r->local_plen = 64;
			r->lport_hi = 65535;
			r->action = RULE_TARGET;
			r->target = 100 + i / 2000;
		}
		/* every 3,000th: a remote /64 with a port range */
		if (i % 3000 == 1500) {
			struct ref_rule *r = &ref[n++];

			bad_prefix(&r->remote, (i / 3000) % 16);
			r->remote_plen = 64;
			r->lport_lo = 7000;
			r->lport_hi = 7999;
			r->action = (i / 3000) % 2 ? RULE_REJECT : RULE_DROP;
		}
		/* every 25,000th: a port-only rule */
		if (i % 25000 == 24999) {
			struct ref_rule *r = &ref[n++];

			r->lport_lo = r->lport_hi = (uint16_t)(9000 + i / 25000);
			r->action = RULE_TARGET;
			r->target = 200 + i / 25000;
		}
		{
			struct ref_rule *r = &ref[n++];

			big_addr(&r->local, i % BIG_SUBNETS, i);
			r->local_plen = 128;
			r->lport_hi = 65535;
			r->action = RULE_TARGET;
			r->target = i % 7;
		}
	}
	ck_assert_uint_le(n, cap);
	for (size_t i = 0; i < n; i++)
		ref_prepare(&ref[i]);

	for (size_t i = 0; i < n; i++) {
		struct port_range p = {ref[i].lport_lo, ref[i].lport_hi};
		struct rule_match m;
		bool any_port = p.lo == 0 && p.hi == 65535;

		memset(&m, 0, sizeof(m));
		m.local = ref[i].local;
		m.local_plen = (uint8_t)ref[i].local_plen;
		m.remote = ref[i].remote;
		m.remote_plen = (uint8_t)ref[i].remote_plen;
		m.local_ports = any_port ? NULL : &p;
		m.nlocal_ports = any_port ? 0 : 1;
		ck_assert_int_eq(
		    rules_add(rs, 0, &m, ref[i].action, ref[i].target, (unsigned)i + 1), 0);
	}
	rules_set_default(rs, RULE_TARGET, 999);
	compile_ok(rs);
	ck_assert_uint_eq(rules_count(rs), n);

	for (unsigned q = 0; q < BIG_LOOKUPS; q++) {
		struct conn_key k;
		struct verdict v;
		uint32_t want, host = rng() % BIG_HOSTS, kind = rng() % 4;
		static const uint16_t ports[] = {22,   80,   443,  7000, 7500, 7999,
						 8000, 9000, 9001, 9002, 9003, 9004};

		memset(&k, 0, sizeof(k));
		if (kind == 0 || kind == 1)
			big_addr(&k.local, host % BIG_SUBNETS, host); /* a host rule's address */
		else if (kind == 2)
			big_addr(&k.local, rng() % BIG_SUBNETS, rng()); /* somewhere in a subnet */
		else
			big_addr(&k.local, BIG_SUBNETS + rng() % 64, host); /* outside them */
		if (rng() % 3 == 0)
			bad_prefix(&k.remote, rng() % 20);
		else
			big_addr(&k.remote, 0xffff, rng());
		k.remote.s6_addr[15] ^= (uint8_t)rng();
		k.local_port = rng() % 2 ? ports[rng() % 12] : (uint16_t)rng();
		k.remote_port = (uint16_t)rng();

		want = ref_lookup(ref, n, &k);
		memset(&v, 0xa5, sizeof(v));
		rules_lookup(rs, &k, &v);
		ck_assert_msg(v.index == want, "lookup %u: index %u, reference %u", q, v.index,
			      want);
		if (want == NO_RULE) {
			ck_assert_int_eq(v.action, RULE_TARGET);
			ck_assert_uint_eq(v.target, 999);
			ck_assert_uint_eq(v.line, 0);
			matched_default++;
			continue;
		}
		ck_assert_int_eq(v.action, ref[want].action);
		if (ref[want].action == RULE_TARGET)
			ck_assert_uint_eq(v.target, ref[want].target);
		ck_assert_uint_eq(v.line, want + 1);
		ck_assert_uint_eq(v.set, 0);
		matched_rule++;
		if (ref[want].local_plen == 128)
			matched_kind[0]++;
		else if (ref[want].local_plen == 64)
			matched_kind[1]++;
		else if (ref[want].remote_plen == 64)
			matched_kind[2]++;
		else
			matched_kind[3]++;
	}
	/* the sample exercised every kind of rule and the default */
	ck_assert_uint_gt(matched_default, 50);
	ck_assert_uint_gt(matched_kind[0], 50);
	ck_assert_uint_gt(matched_kind[1], 50);
	ck_assert_uint_gt(matched_kind[2], 50);
	ck_assert_uint_gt(matched_kind[3], 5);
	ck_assert_uint_eq(matched_rule + matched_default, BIG_LOOKUPS);

	/* every host rule before the first /64 of its subnet is found by its own address */
	for (uint32_t i = 0; i < 1000; i += 7) {
		struct conn_key k;
		struct verdict v;

		memset(&k, 0, sizeof(k));
		big_addr(&k.local, i % BIG_SUBNETS, i);
		k.local_port = 80;
		rules_lookup(rs, &k, &v);
		ck_assert_int_eq(v.action, RULE_TARGET);
		ck_assert_uint_eq(v.target, i % 7);
		ck_assert_uint_eq(v.index, i);
	}
	rules_free(rs);
	free(ref);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *tc = tcase_create("match");
	TCase *jumps = tcase_create("jumps");
	TCase *limits = tcase_create("limits");
	TCase *big = tcase_create("big");

	tcase_add_test(tc, test_exact_address);
	tcase_add_test(tc, test_prefixes);
	tcase_add_test(tc, test_odd_prefix_lengths);
	tcase_add_test(tc, test_local_ports);
	tcase_add_test(tc, test_remote_prefix_and_port);
	tcase_add_test(tc, test_first_match_broader_first);
	tcase_add_test(tc, test_first_match_exact_first);
	tcase_add_test(tc, test_first_match_across_kinds);
	tcase_add_test(tc, test_ipv4_mapped);
	tcase_add_test(tc, test_default_actions);
	tcase_add_test(tc, test_ports_are_copied);
	tcase_add_test(tc, test_listeners);
	tcase_add_test(tc, test_recompile);
	tcase_add_test(tc, test_runs_among_many_keys);
	suite_add_tcase(s, tc);

	tcase_add_test(jumps, test_jump_and_fall_through);
	tcase_add_test(jumps, test_jump_set_without_match_falls_to_default);
	tcase_add_test(jumps, test_jump_diamond_is_not_a_loop);
	tcase_add_test(jumps, test_jump_loop_two_sets);
	tcase_add_test(jumps, test_jump_loop_self);
	tcase_add_test(jumps, test_jump_loop_unreachable_from_main);
	suite_add_tcase(s, jumps);

	/* thousands of sets: seconds under ASan on a busy machine */
	tcase_set_timeout(limits, 60);
	tcase_add_test(limits, test_jump_doubling_over_the_limit);
	tcase_add_test(limits, test_jump_chain_depth);
	tcase_add_test(limits, test_jump_map_counts_one_key_per_table);
	suite_add_tcase(s, limits);

	/* generous: under valgrind the linear reference is slow (Check's default is 4 s) */
	tcase_set_timeout(big, 120);
	tcase_add_test(big, test_100k_rules_against_linear_reference);
	suite_add_tcase(s, big);
	return s;
}
