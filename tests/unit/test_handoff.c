/* test_handoff.c - hand-off (src/handoff.c) through real datagram sockets: connections
 * reach the applet of their target, and a reconfiguration that runs out of memory fails
 * with the configuration in force left exactly as it was (the same sockets open, every old
 * target still delivering), whichever allocation fails. */
#include "alloc_fault.h"
#include "config.h"
#include "fdpass.h"
#include "handoff.h"
#include "helpers.h"
#include "unixsock.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* Abstract names, so no file is left behind; the pid keeps parallel runs apart. */
enum { APP_A, APP_B, APP_C, APPS };
static char app_name[APPS][64];
static char tmpl_name[64]; /* a template nobody listens at once filled */
static char filled_7[64];  /* tmpl_name filled for local port 7 */
static int app[APPS];	   /* the applets' sockets */
static int inherited[2];   /* [0] an inherited target descriptor, [1] its applet end */
static int epfd;

static void sockets_setup(void)
{
	static const char letter[APPS] = {'a', 'b', 'c'};

	for (int i = 0; i < APPS; i++) {
		snprintf(app_name[i], sizeof(app_name[i]), "@sb-test-handoff-%d-%c", (int)getpid(),
			 letter[i]);
		app[i] = unixsock_bind_dgram(app_name[i], 0600);
		ck_assert_msg(app[i] >= 0, "bind %s: %s", app_name[i], strerror(errno));
	}
	snprintf(tmpl_name, sizeof(tmpl_name), "@sb-test-handoff-%d-t%%p", (int)getpid());
	snprintf(filled_7, sizeof(filled_7), "@sb-test-handoff-%d-t7", (int)getpid());
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, inherited), 0);
	ck_assert_int_ge(epfd = epoll_create1(EPOLL_CLOEXEC), 0);
}

/* Hands a fresh connection (one end of a stream socketpair) to target t, for local port
 * port, and checks that exactly that connection arrives at the socket applet. */
static void expect_delivery(struct handoff *h, unsigned t, uint16_t port, int applet,
			    const char *what)
{
	struct conn_key key = {.local_port = port, .remote_port = 40000};
	char why[FDPASS_WHY_MAX], c = 0;
	int conn[2], got = -1;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, conn), 0);
	handoff_dispatch(h, t, conn[0], &key);
	handoff_flush(h); /* as the acceptor does after each batch */
	ck_assert_msg(fdpass_recv_from(applet, &got, 0, NULL, why) == 1,
		      "%s: nothing arrived at the applet: %s %s", what, strerror(errno), why);
	ck_assert_int_eq(write(conn[1], "x", 1), 1);
	ck_assert_msg(read(got, &c, 1) == 1 && c == 'x', "%s: another connection arrived", what);
	close(got);
	close(conn[1]);
}

/* Target t has no reachable applet: the connection is reset (closed: EOF on a socketpair). */
static void expect_reset(struct handoff *h, unsigned t, uint16_t port, const char *what)
{
	struct conn_key key = {.local_port = port, .remote_port = 40000};
	unsigned long long before = handoff_counters(h)->refused_dead;
	int conn[2];
	char c;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, conn), 0);
	handoff_dispatch(h, t, conn[0], &key);
	handoff_flush(h); /* as the acceptor does after each batch */
	ck_assert_msg(read(conn[1], &c, 1) == 0, "%s: the connection was not closed", what);
	ck_assert_uint_eq(handoff_counters(h)->refused_dead, before + 1);
	close(conn[1]);
}

/* The configuration in force: "one" at A, "tmpl" at a template with A behind it, "inh"
 * over an inherited descriptor. */
enum { OLD_ONE, OLD_TMPL, OLD_INH, OLD_TARGETS };
/* The next one: every kind of change at once. "one" gains B in front of A, "two" is a new
 * path C, "tmpl" falls back to C now, "seven" names the filled template as a static path. */
enum { NEW_ONE, NEW_TWO, NEW_TMPL, NEW_INH, NEW_SEVEN, NEW_TARGETS };

static struct target_conf old_targets[OLD_TARGETS], new_targets[NEW_TARGETS];
static struct config old_cfg = {.targets = old_targets, .ntargets = OLD_TARGETS};
static struct config new_cfg = {.targets = new_targets, .ntargets = NEW_TARGETS};

static void target(struct target_conf *t, char *name, unsigned queue, char *path0, char *path1)
{
	*t = (struct target_conf){.name = name, .fd = -1, .queue = queue};
	t->paths[t->npaths++] = path0;
	if (path1)
		t->paths[t->npaths++] = path1;
}

static void configs_setup(void)
{
	sockets_setup();
	target(&old_targets[OLD_ONE], "one", 4, app_name[APP_A], NULL);
	target(&old_targets[OLD_TMPL], "tmpl", 4, tmpl_name, app_name[APP_A]);
	old_targets[OLD_INH] = (struct target_conf){.name = "inh", .fd = inherited[0], .queue = 4};
	target(&new_targets[NEW_ONE], "one", 8, app_name[APP_B], app_name[APP_A]);
	target(&new_targets[NEW_TWO], "two", 8, app_name[APP_C], NULL);
	target(&new_targets[NEW_TMPL], "tmpl", 8, tmpl_name, app_name[APP_C]);
	new_targets[NEW_INH] = old_targets[OLD_INH];
	target(&new_targets[NEW_SEVEN], "seven", 8, filled_7, NULL);
}

static void expect_old_targets(struct handoff *h, const char *when)
{
	expect_delivery(h, OLD_ONE, 80, app[APP_A], when);
	expect_delivery(h, OLD_TMPL, 7, app[APP_A], when); /* nobody at the filled path */
	expect_delivery(h, OLD_INH, 80, inherited[1], when);
}

static void expect_new_targets(struct handoff *h, const char *when)
{
	expect_delivery(h, NEW_ONE, 80, app[APP_B], when);
	expect_delivery(h, NEW_TWO, 80, app[APP_C], when);
	expect_delivery(h, NEW_TMPL, 7, app[APP_C], when);
	expect_delivery(h, NEW_INH, 80, inherited[1], when);
	expect_reset(h, NEW_SEVEN, 80, when);
}

START_TEST(test_dispatch_and_reconfigure)
{
	struct handoff *h = handoff_new(epfd);

	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(handoff_configure(h, &old_cfg), 0);
	expect_old_targets(h, "first configuration");
	ck_assert_int_eq(handoff_configure(h, &new_cfg), 0);
	handoff_collect(h);
	expect_new_targets(h, "second configuration");
	ck_assert_uint_eq(handoff_counters(h)->handed, 3 + 4);
	ck_assert_uint_eq(handoff_counters(h)->refused_dead, 1);
	/* Per target, in the new order; a target of the same name keeps its counters. */
	ck_assert_uint_eq(handoff_ntargets(h), NEW_TARGETS);
	ck_assert_str_eq(handoff_target_name(h, NEW_ONE), "one");
	ck_assert_uint_eq(handoff_target_counters(h, NEW_ONE)->accepted, 2);
	ck_assert_uint_eq(handoff_target_counters(h, NEW_ONE)->handed, 2);
	ck_assert_uint_eq(handoff_target_counters(h, NEW_TMPL)->handed, 2);
	ck_assert_uint_eq(handoff_target_counters(h, NEW_TWO)->handed, 1);
	ck_assert_str_eq(handoff_target_name(h, NEW_SEVEN), "seven");
	ck_assert_uint_eq(handoff_target_counters(h, NEW_SEVEN)->accepted, 1);
	ck_assert_uint_eq(handoff_target_counters(h, NEW_SEVEN)->handed, 0);
	ck_assert_uint_eq(handoff_target_counters(h, NEW_SEVEN)->refused_dead, 1);
	handoff_free(h);
}
END_TEST

/* Each allocation of the reconfiguration fails in turn. The collection that follows is the
 * one still due from the first configuration, as when SIGHUP comes in the first batch of
 * events after start-up: it frees every idle socket the configuration does not pin, so old
 * targets left pointing at unpinned sockets would use freed memory. */
START_TEST(test_failed_reconfigure_keeps_the_old_targets)
{
	long failed;

	for (failed = 0;; failed++) {
		struct handoff *h = handoff_new(epfd);
		char when[64];
		int fds, rc;
		bool reached;

		ck_assert_ptr_nonnull(h);
		ck_assert_int_eq(handoff_configure(h, &old_cfg), 0);
		expect_old_targets(h, "before"); /* also makes the instance of the filled path */
		fds = open_fds();
		alloc_countdown = failed;
		rc = handoff_configure(h, &new_cfg);
		reached = alloc_countdown < 0;
		alloc_countdown = -1;
		if (!reached) {
			/* fewer allocations than that: this time it succeeded */
			ck_assert_int_eq(rc, 0);
			handoff_collect(h);
			expect_new_targets(h, "after the last attempt");
			handoff_free(h);
			break;
		}
		snprintf(when, sizeof(when), "allocation %ld failed", failed);
		ck_assert_msg(rc == -1, "%s, yet the reconfiguration succeeded", when);
		handoff_collect(h);
		ck_assert_msg(open_fds() == fds, "%s: %d descriptors open instead of %d", when,
			      open_fds(), fds);
		expect_old_targets(h, when);
		/* nothing of the failed attempt is in the way of the next one */
		ck_assert_int_eq(handoff_configure(h, &new_cfg), 0);
		handoff_collect(h);
		expect_new_targets(h, when);
		handoff_free(h);
	}
	/* targets, names, each name, and the sockets of the new paths */
	ck_assert_int_ge(failed, 2 + NEW_TARGETS + 3);
}
END_TEST

/* More connections in one batch than the applet's socket queues (net.unix.max_dgram_qlen):
 * one sendmmsg hands what fits, the rest waits in the queue in order, and a drain
 * (handoff_tick, as on EPOLLOUT) hands it on; nothing is lost or reordered. */
#define BATCH 40

/* BATCH fresh connections to target 0 in one batch; conn[i][1] are the clients' ends. */
static void dispatch_batch(struct handoff *h, int conn[BATCH][2])
{
	for (int i = 0; i < BATCH; i++) {
		struct conn_key key = {.local_port = 80, .remote_port = (uint16_t)(1000 + i)};

		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, conn[i]), 0);
		handoff_dispatch(h, 0, conn[i][0], &key);
	}
	handoff_flush(h);
}
START_TEST(test_batch_beyond_the_applet_queue)
{
	static char name[] = "batch";
	struct target_conf tc;
	struct config cfg = {.targets = &tc, .ntargets = 1};
	struct handoff *h = handoff_new(epfd);
	int conn[BATCH][2], got = 0;
	char why[FDPASS_WHY_MAX];

	target(&tc, name, BATCH, app_name[APP_A], NULL);
	ck_assert_int_eq(handoff_configure(h, &cfg), 0);
	dispatch_batch(h, conn);
	ck_assert_uint_lt(handoff_counters(h)->handed, BATCH); /* the queue was full */
	ck_assert_uint_eq(handoff_counters(h)->handed + handoff_pending(h), BATCH);
	ck_assert_uint_eq(handoff_counters(h)->queued, handoff_pending(h));
	while (got < BATCH) {
		int fd;
		char c = 0;

		if (fdpass_recv_from(app[APP_A], &fd, 0, NULL, why) != 1) {
			ck_assert_int_eq(errno, EAGAIN);
			ck_assert_uint_gt(handoff_pending(h), 0);
			handoff_tick(h);
			handoff_flush(h);
			continue;
		}
		ck_assert_int_eq(write(conn[got][1], "x", 1), 1);
		ck_assert_msg(read(fd, &c, 1) == 1 && c == 'x',
			      "connection %d arrived out of order", got);
		close(fd);
		close(conn[got][1]);
		got++;
	}
	ck_assert_uint_eq(handoff_counters(h)->handed, BATCH);
	ck_assert_uint_eq(handoff_pending(h), 0);
	handoff_free(h);
}
END_TEST

/* A path whose queue is full passes the rest of the batch to the next path. */
START_TEST(test_batch_falls_back_to_the_next_path)
{
	static char name[] = "two";
	struct target_conf tc;
	struct config cfg = {.targets = &tc, .ntargets = 1};
	struct handoff *h = handoff_new(epfd);
	int conn[BATCH][2], at_a = 0, at_b = 0, fd;
	char why[FDPASS_WHY_MAX];

	target(&tc, name, 1, app_name[APP_A], app_name[APP_B]); /* queues of one */
	ck_assert_int_eq(handoff_configure(h, &cfg), 0);
	dispatch_batch(h, conn);
	while (fdpass_recv_from(app[APP_A], &fd, 0, NULL, why) == 1 && ++at_a)
		close(fd);
	while (fdpass_recv_from(app[APP_B], &fd, 0, NULL, why) == 1 && ++at_b)
		close(fd);
	ck_assert_int_gt(at_a, 0);
	ck_assert_int_gt(at_b, 0);
	ck_assert_uint_eq(handoff_counters(h)->handed, (unsigned)(at_a + at_b));
	ck_assert_uint_eq(handoff_counters(h)->handed + handoff_pending(h) +
				  handoff_counters(h)->refused_full,
			  BATCH);
	for (int i = 0; i < BATCH; i++)
		close(conn[i][1]);
	handoff_free(h);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("handoff");
	TCase *tc = tcase_create("configure");

	tcase_add_checked_fixture(tc, configs_setup, NULL);
	tcase_add_test(tc, test_dispatch_and_reconfigure);
	tcase_add_test(tc, test_failed_reconfigure_keeps_the_old_targets);
	tcase_add_test(tc, test_batch_beyond_the_applet_queue);
	tcase_add_test(tc, test_batch_falls_back_to_the_next_path);
	suite_add_tcase(s, tc);
	return s;
}
