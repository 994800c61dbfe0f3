/* test_metrics_sum.c - adding up the exposition texts of several workers (metrics_sum.h) */
#include "metrics_sum.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const char worker1[] =
    "# HELP socketbox_uptime_seconds Seconds since socketbox started.\n"
    "# TYPE socketbox_uptime_seconds gauge\n"
    "socketbox_uptime_seconds 30\n"
    "# HELP socketbox_connections_total Connections accepted on the listener.\n"
    "# TYPE socketbox_connections_total counter\n"
    "socketbox_connections_total 6\n"
    "# HELP socketbox_connections_handed_total Handed.\n"
    "# TYPE socketbox_connections_handed_total counter\n"
    "socketbox_connections_handed_total{target=\"a\"} 4\n"
    "socketbox_connections_handed_total{target=\"b\"} 2\n";

/* Another worker that knows a target more (between two reloads) and started later. */
static const char worker2[] =
    "# HELP socketbox_uptime_seconds Seconds since socketbox started.\n"
    "# TYPE socketbox_uptime_seconds gauge\n"
    "socketbox_uptime_seconds 10\n"
    "# HELP socketbox_connections_total Connections accepted on the listener.\n"
    "# TYPE socketbox_connections_total counter\n"
    "socketbox_connections_total 5\n"
    "# HELP socketbox_connections_handed_total Handed.\n"
    "# TYPE socketbox_connections_handed_total counter\n"
    "socketbox_connections_handed_total{target=\"a\"} 1\n"
    "socketbox_connections_handed_total{target=\"c\"} 3\n"
    "socketbox_connections_handed_total{target=\"b\"} 1\n"
    "# HELP socketbox_new_total New.\n"
    "# TYPE socketbox_new_total counter\n"
    "socketbox_new_total 7\n";

static char *sum_text(struct metrics_sum *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	metrics_sum_write(s, f);
	ck_assert_int_eq(fclose(f), 0);
	return text;
}

START_TEST(test_metrics_sum_adds_by_name_and_labels)
{
	struct metrics_sum *s = metrics_sum_new();
	char *text;

	ck_assert_int_eq(metrics_sum_add(s, worker1, strlen(worker1), false), 0);
	ck_assert_int_eq(metrics_sum_add(s, worker2, strlen(worker2), false), 0);
	text = sum_text(s);
	ck_assert_str_eq(
	    text, "# HELP socketbox_uptime_seconds Seconds since socketbox started.\n"
		  "# TYPE socketbox_uptime_seconds gauge\n"
		  "socketbox_uptime_seconds 30\n"
		  "# HELP socketbox_connections_total Connections accepted on the listener.\n"
		  "# TYPE socketbox_connections_total counter\n"
		  "socketbox_connections_total 11\n"
		  "# HELP socketbox_connections_handed_total Handed.\n"
		  "# TYPE socketbox_connections_handed_total counter\n"
		  "socketbox_connections_handed_total{target=\"a\"} 5\n"
		  "socketbox_connections_handed_total{target=\"b\"} 3\n"
		  "socketbox_connections_handed_total{target=\"c\"} 3\n"
		  "# HELP socketbox_new_total New.\n"
		  "# TYPE socketbox_new_total counter\n"
		  "socketbox_new_total 7\n");
	ck_assert_uint_eq(metrics_sum_total(s, "socketbox_connections_handed_total"), 11);
	ck_assert_uint_eq(metrics_sum_total(s, "socketbox_connections_total"), 11);
	ck_assert_uint_eq(metrics_sum_total(s, "socketbox_missing"), 0);
	free(text);
	metrics_sum_free(s);
}
END_TEST

/* What a dead worker counted is added only where the live ones still have it. */
START_TEST(test_metrics_sum_known_only)
{
	struct metrics_sum *s = metrics_sum_new();
	static const char retired[] = "socketbox_connections_handed_total{target=\"a\"} 100\n"
				      "socketbox_connections_handed_total{target=\"gone\"} 9\n"
				      "no value line\n";

	ck_assert_int_eq(metrics_sum_add(s, worker1, strlen(worker1), false), 0);
	ck_assert_int_eq(metrics_sum_add(s, retired, strlen(retired), true), 0);
	ck_assert_uint_eq(metrics_sum_total(s, "socketbox_connections_handed_total"), 106);
	metrics_sum_free(s);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("metrics_sum");
	TCase *t = tcase_create("sum");

	tcase_add_test(t, test_metrics_sum_adds_by_name_and_labels);
	tcase_add_test(t, test_metrics_sum_known_only);
	suite_add_tcase(s, t);
	return s;
}
