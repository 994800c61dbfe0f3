/* test_subst.c - path templates filled from the local address and port */
#include "addr.h"
#include "subst.h"

#include <check.h>
#include <string.h>

static const char *fill(const char *tmpl, const char *addr, uint16_t port)
{
	static char out[108];
	struct in6_addr a;

	ck_assert_int_eq(addr_parse(addr, &a), 0);
	if (subst_fill(tmpl, &a, port, out, sizeof(out)) < 0)
		return NULL;
	return out;
}

START_TEST(test_tokens)
{
	ck_assert_str_eq(fill("/run/t-%l4.sock", "2001:db8::1:2a", 80), "/run/t-002a.sock");
	ck_assert_str_eq(fill("/run/t-%l8-%p.sock", "192.0.2.1", 443), "/run/t-c0000201-443.sock");
	ck_assert_str_eq(fill("/run/%l32", "2001:db8::1", 1),
			 "/run/20010db8000000000000000000000001");
	ck_assert_str_eq(fill("/run/%l1%%p", "::f", 7), "/run/f%p");
	ck_assert_str_eq(fill("/plain.sock", "::1", 9), "/plain.sock");
}
END_TEST

START_TEST(test_only_digits_from_the_network)
{
	const char *out = fill("%l32%p", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);

	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(strspn(out, "0123456789abcdef"), strlen(out));
}
END_TEST

START_TEST(test_check_and_overflow)
{
	char small[8];
	struct in6_addr a = IN6ADDR_LOOPBACK_INIT;

	ck_assert_ptr_null(subst_check("/run/%l4-%p-%%.sock"));
	ck_assert_ptr_nonnull(subst_check("/run/%x.sock"));
	ck_assert_ptr_nonnull(subst_check("/run/%l0.sock"));
	ck_assert_ptr_nonnull(subst_check("/run/%l33.sock"));
	ck_assert_ptr_nonnull(subst_check("/run/%"));
	ck_assert(subst_has_tokens("/a/%p"));
	ck_assert(!subst_has_tokens("/a/b"));
	ck_assert_int_eq(subst_fill("/run/%l32", &a, 1, small, sizeof(small)), -1);
	ck_assert_int_eq(subst_fill("/run/xy", &a, 1, small, sizeof(small)), 0);
	ck_assert_int_eq(subst_fill("/run/xyz", &a, 1, small, sizeof(small)), -1);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("subst");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_tokens);
	tcase_add_test(tc, test_only_digits_from_the_network);
	tcase_add_test(tc, test_check_and_overflow);
	suite_add_tcase(s, tc);
	return s;
}
