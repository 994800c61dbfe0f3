/* test_convert.c - the converter from the original socketbox's format (src/convert*.c):
 * what it writes for each construct, and the messages of what it refuses */
#include "convert.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

struct result {
	char *text;	/* the converted file */
	char msgs[2048]; /* the messages, one per line */
	unsigned errors;
};

static void collect(void *ctx, const char *msg)
{
	struct result *r = ctx;

	strncat(r->msgs, msg, sizeof(r->msgs) - strlen(r->msgs) - 2);
	strcat(r->msgs, "\n");
}

static struct result *convert(const char *input)
{
	static struct result r;
	size_t len = 0;
	FILE *out;

	free(r.text);
	memset(&r, 0, sizeof(r));
	out = open_memstream(&r.text, &len);
	ck_assert_ptr_nonnull(out);
	r.errors = convert_text("old.conf", input, strlen(input), out, collect, &r);
	ck_assert_int_eq(fclose(out), 0);
	return &r;
}

/* The converted text holds needle. */
#define ck_has(r, needle)                                                                          \
	ck_assert_msg(strstr((r)->text, needle) != NULL, "no \"%s\" in:\n%s", needle, (r)->text)

START_TEST(test_rule_set_zero_is_the_main_list)
{
	struct result *r = convert("max-rules:1\n"
				   "rule-set:0 size:3\n"
				   "ip:2001:db8::1 jump-unix:/run/a.sock\n"
				   "ip:2001:db8::/ffff:ffff:: rip:::ffff:192.0.2.0/120 port:80 rport:9 "
				   "jump-fd:5\n"
				   "default fail\n");

	ck_assert_uint_eq(r->errors, 0);
	ck_has(r, "t2_a_sock = { path = \"/run/a.sock\"; };");
	ck_has(r, "fd5 = { fd = 5; };");
	ck_has(r, "{ local = \"2001:db8::1\"; target = \"t2_a_sock\"; },  # line 3\n");
	ck_has(r, "{ local = \"2001:db8::/32\"; remote = \"::ffff:192.0.2.0/120\"; local_port = "
		  "80; remote_port = 9; target = \"fd5\"; }  # line 4\n);");
	ck_has(r, "default = \"drop\";  # rule-set:0: default, line 5");
}
END_TEST

/* A jump of the original ends the lookup: each set ends with its default as a catch-all. */
START_TEST(test_sets_end_with_their_default)
{
	struct result *r = convert("max-rules:3\nmax-maps:1\n"
				   "rule-set:0 size:1\nport:22 jump-rule:1\ndefault jump-map:0\n"
				   "rule-set:1 size:1\nrip:::1 jump-unix:/run/s.sock\n"
				   "map-set:0 size:2 match-lip:64 match-lport\n"
				   "ip:2001:db8::5 port:80 jump-rule:2\n"
				   "ip:2001:db8::6 port:80 fail\n");

	ck_assert_uint_eq(r->errors, 0);
	ck_has(r, "{ local_port = 22; jump = \"rule_1\"; },  # line 4\n"
		  "    { jump = \"map_0\"; }  # default, line 5\n);\n"
		  "default = \"drop\";  # never used");
	ck_has(r, "  rule_1 = (  # rule-set:1, line 6\n"
		  "    { remote = \"::1\"; target = \"t1_s_sock\"; },  # line 7\n"
		  "    { action = \"drop\"; }  # no default: the original closed the connection\n");
	ck_has(r, "  rule_2 = (  # rule-set:2 is never filled in");
	ck_has(r, "{ local = \"2001:db8::/64\"; local_port = 80; jump = \"rule_2\"; },  # line 9");
	ck_has(r, "# line 10: left out, it has the key of line 9");
}
END_TEST

START_TEST(test_paths_are_quoted)
{
	struct result *r = convert("max-rules:1\nrule-set:0 size:1\n"
				   "jump-unix:/run/100%\"a\\b#//7_.sock\n");

	ck_assert_uint_eq(r->errors, 0);
	ck_has(r, "{ path = \"/run/100%%\\\"a\\\\b#//7_.sock\"; };");
	ck_has(r, "With -U, the original filled #//0_ to #//7_");
}
END_TEST

START_TEST(test_no_rule_sets)
{
	struct result *r = convert("# nothing\n\n");

	ck_assert_uint_eq(r->errors, 0);
	ck_has(r, "rules = ();  # no max-rules: the original closed every connection\n"
		  "default = \"drop\";");
}
END_TEST

START_TEST(test_refusals_name_the_line)
{
	static const struct {
		const char *input, *msg;
	} cases[] = {
		{"max-rules:1\nrule-set:0 size:1\nport:1 jump-rule:0\n",
		 "old.conf:3: the jump to rule-set:0 from rule-set:0 closes a loop of jumps"},
		{"max-rules:1\nrule-set:0 size:1\nip:2001:db8::/ff00:ff00:: fail\n",
		 "old.conf:3: \"ip:2001:db8::/ff00:ff00::\": \"ff00:ff00::\" is not a prefix mask"},
		{"max-rules:1\nrule-set:0 size:1\nrp:1\n",
		 "old.conf:3: \"rp:1\" is not a token; the original read it as \"rport\" by accident"},
		{"max-rules:1\nrule-set:0 size:1\njump-unix:x.sock\n",
		 "old.conf:3: \"jump-unix:x.sock\": \"x.sock\" is a relative path"},
		{"max-rules:0\n", "old.conf:1: \"max-rules:0\": \"0\" is not a number from 1 to 1000"},
		{"size:1\n", "old.conf:1: \"size:1\" outside a rule-set or map-set"},
		{"max-rules:1\nrule-set:0 size:1\nip\n", "old.conf:3: \"ip\" needs a value (ip:VALUE)"},
		{"max-maps:1\nmap-set:0 size:1\nip:2001:db8::/64\n",
		 "old.conf:3: \"ip:2001:db8::/64\": \"2001:db8::/64\" is not an IPv6 address"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct result *r = convert(cases[i].input);

		ck_assert_uint_eq(r->errors, 1);
		ck_assert_msg(strncmp(r->msgs, cases[i].msg, strlen(cases[i].msg)) == 0,
			      "expected \"%s\", got \"%s\"", cases[i].msg, r->msgs);
	}
}
END_TEST

/* Every error line is reported and counted, the first error of a line ends it. */
START_TEST(test_errors_go_on_with_the_next_line)
{
	struct result *r = convert("max-rules:1\nrule-set:0 size:3\nport:x port:y\nbogus\nfail\n");

	ck_assert_uint_eq(r->errors, 2);
	ck_assert_ptr_nonnull(strstr(r->msgs, "old.conf:3: \"port:x\""));
	ck_assert_ptr_null(strstr(r->msgs, "port:y"));
	ck_assert_ptr_nonnull(strstr(r->msgs, "old.conf:4: unknown token \"bogus\""));
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("convert");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_rule_set_zero_is_the_main_list);
	tcase_add_test(tc, test_sets_end_with_their_default);
	tcase_add_test(tc, test_paths_are_quoted);
	tcase_add_test(tc, test_no_rule_sets);
	tcase_add_test(tc, test_refusals_name_the_line);
	tcase_add_test(tc, test_errors_go_on_with_the_next_line);
	suite_add_tcase(s, tc);
	return s;
}
