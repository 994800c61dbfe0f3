/* test_config.c - socketbox.conf(5) loading (src/config*.c): the DESIGN example loads as
 * written, and every error path reports "FILE:LINE: setting: message" with the exact text.
 * The "regressions" case pins bugs these tests once found. */
#include "addr.h"
#include "alloc_fault.h"
#include "config.h"
#include "rules.h"

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static char conf[128];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Once per test case, in the parent: a directory for the configuration files. */
static void dir_setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/sb-test-config-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	snprintf(conf, sizeof(conf), "%s/socketbox.conf", dir);
}

static void dir_teardown(void)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#define MAX_MSGS 64

struct msgs {
	char *m[MAX_MSGS];
	unsigned n;
};

static void collect(void *ctx, const char *msg)
{
	struct msgs *ms = ctx;

	if (ms->n < MAX_MSGS)
		ms->m[ms->n++] = strdup(msg);
}

static void msgs_free(struct msgs *ms)
{
	for (unsigned i = 0; i < ms->n; i++)
		free(ms->m[i]);
	ms->n = 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "fopen %s: %s", path, strerror(errno));
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

static struct config *load(const char *text, struct msgs *ms)
{
	write_file(conf, text);
	memset(ms, 0, sizeof(*ms));
	return config_load(conf, collect, ms);
}

/* All the messages, one a line, for a failure report. */
static const char *msgs_dump(const struct msgs *ms)
{
	static char buf[8192];
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < ms->n && o < sizeof(buf); i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\n  %s", ms->m[i]);
	return buf;
}

/* Loads text, which must fail with exactly these messages in this order; each expected
 * message is the configuration file's name followed by the given suffix (":LINE: ..."). */
static void check_errors(const char *text, unsigned n, const char *const *want)
{
	struct msgs ms;
	struct config *cfg = load(text, &ms);
	char full[1024];

	ck_assert_msg(cfg == NULL, "loaded, expected %u error(s) for:\n%s", n, text);
	ck_assert_msg(ms.n == n, "%u message(s), expected %u:%s", ms.n, n, msgs_dump(&ms));
	for (unsigned i = 0; i < n; i++) {
		snprintf(full, sizeof(full), "%s%s", conf, want[i]);
		ck_assert_msg(strcmp(ms.m[i], full) == 0, "message %u:\n  got  %s\n  want %s", i,
			      ms.m[i], full);
	}
	msgs_free(&ms);
}

#define EXPECT_ERRORS(text, ...)                                                                   \
	do {                                                                                       \
		const char *const want_[] = {__VA_ARGS__};                                         \
		check_errors(text, sizeof(want_) / sizeof(want_[0]), want_);                       \
	} while (0)

/* Loads text, which must succeed without an error message (warnings are checked by the
 * tests of warnings). */
static struct config *load_ok(const char *text)
{
	struct msgs ms;
	struct config *cfg = load(text, &ms);
	bool errors = false;

	for (unsigned i = 0; i < ms.n; i++)
		errors |= strstr(ms.m[i], ": warning: ") == NULL;
	ck_assert_msg(cfg != NULL && !errors, "did not load:%s", msgs_dump(&ms));
	msgs_free(&ms);
	return cfg;
}

static void lookup(const struct config *cfg, const char *local, unsigned lport, const char *remote,
		   struct verdict *v)
{
	struct conn_key k;

	memset(&k, 0, sizeof(k));
	ck_assert_int_eq(addr_parse(local, &k.local), 0);
	ck_assert_int_eq(addr_parse(remote, &k.remote), 0);
	k.local_port = (uint16_t)lport;
	k.remote_port = 40000;
	rules_lookup(cfg->rules, &k, v);
}

/* DESIGN.md section 5, verbatim, except the user and group lines: the design's "socketbox"
 * user and group need not exist on the test machine (config_load checks them with getpwnam
 * and getgrnam), so they are replaced by "nobody" and "nogroup". */
static const char design_example[] =
    "listen = {\n"
    "  address = \"::\";\n"
    "  port = 1;                # with TPROXY, the port the nftables rule redirects to\n"
    "  transparent = true;\n"
    "  backlog = 4096;\n"
    "};\n"
    "\n"
    "user  = \"nobody\";\n"
    "group = \"nogroup\";\n"
    "# chroot = \"/var/empty\";\n"
    "\n"
    "targets = {\n"
    "  web  = { path = \"/run/socketbox/web.sock\"; };\n"
    "  ssh  = { path = [ \"/run/socketbox/ssh-a.sock\", \"/run/socketbox/ssh-b.sock\" ]; };  "
    "# fallback / balance\n"
    "  tenant = { path = \"/run/socketbox/tenant-%l4.sock\"; };   # substitution from the local "
    "address\n"
    "  supervisor = { fd = 5; };                                 # an inherited descriptor\n"
    "};\n"
    "\n"
    "rules = (\n"
    "  { local = \"2001:db8::1\";                 target = \"web\"; },\n"
    "  { local = \"2001:db8::2\"; local_port = 22; target = \"ssh\"; },\n"
    "  { remote = \"2001:db8:bad::/48\";          action = \"reject\"; },\n"
    "  { local = \"2001:db8:100::/64\"; local_port = [ 80, 443 ]; target = \"tenant\"; },\n"
    "  { local = \"::ffff:192.0.2.0/120\";        target = \"web\"; }      # IPv4 via mapped "
    "addresses\n"
    ");\n"
    "\n"
    "default = \"reject\";        # what happens when no rule matches: reject (RST) or drop "
    "(close)\n";

START_TEST(test_design_example)
{
	struct config *cfg = load_ok(design_example);
	struct verdict v;

	ck_assert_str_eq(cfg->file, conf);
	ck_assert(IN6_IS_ADDR_UNSPECIFIED(&cfg->listen[0].address));
	ck_assert_uint_eq(cfg->listen[0].port, 1);
	ck_assert(cfg->listen[0].transparent);
	ck_assert_int_eq(cfg->listen[0].backlog, 4096);
	ck_assert(cfg->listen[0].reuseaddr); /* the defaults */
	ck_assert(!cfg->listen[0].reuseport);
	ck_assert(!cfg->listen[0].freebind);
	ck_assert(!cfg->listen[0].v6only);
	ck_assert_int_eq(cfg->listen[0].fd, -1);
	ck_assert_str_eq(cfg->user, "nobody");
	ck_assert_str_eq(cfg->group, "nogroup");
	ck_assert_ptr_null(cfg->chroot);
	ck_assert(!cfg->groups_set);
	ck_assert(!cfg->log_syslog);

	ck_assert_uint_eq(cfg->ntargets, 4);
	ck_assert_str_eq(cfg->targets[0].name, "web");
	ck_assert_uint_eq(cfg->targets[0].npaths, 1);
	ck_assert_str_eq(cfg->targets[0].paths[0], "/run/socketbox/web.sock");
	ck_assert_int_eq(cfg->targets[0].fd, -1);
	ck_assert_uint_eq(cfg->targets[0].queue, CONFIG_DEFAULT_QUEUE);
	ck_assert_uint_eq(cfg->targets[0].queue_timeout, CONFIG_DEFAULT_QUEUE_TIMEOUT);
	ck_assert_str_eq(cfg->targets[1].name, "ssh");
	ck_assert_uint_eq(cfg->targets[1].npaths, 2);
	ck_assert_str_eq(cfg->targets[1].paths[0], "/run/socketbox/ssh-a.sock");
	ck_assert_str_eq(cfg->targets[1].paths[1], "/run/socketbox/ssh-b.sock");
	ck_assert_str_eq(cfg->targets[2].name, "tenant");
	ck_assert_uint_eq(cfg->targets[2].npaths, 1);
	ck_assert_str_eq(cfg->targets[2].paths[0], "/run/socketbox/tenant-%l4.sock");
	ck_assert_str_eq(cfg->targets[3].name, "supervisor");
	ck_assert_uint_eq(cfg->targets[3].npaths, 0);
	ck_assert_int_eq(cfg->targets[3].fd, 5);

	ck_assert_uint_eq(rules_count(cfg->rules), 5);
	/* rule 0, line 20 */
	lookup(cfg, "2001:db8::1", 443, "2001:db8:bad::1", &v);
	ck_assert_int_eq(v.action, RULE_TARGET);
	ck_assert_uint_eq(v.target, 0);
	ck_assert_uint_eq(v.line, 20);
	ck_assert_uint_eq(v.index, 0);
	/* rule 1, line 21: only port 22 */
	lookup(cfg, "2001:db8::2", 22, "2001:db8:1::1", &v);
	ck_assert_int_eq(v.action, RULE_TARGET);
	ck_assert_uint_eq(v.target, 1);
	ck_assert_uint_eq(v.line, 21);
	lookup(cfg, "2001:db8::2", 23, "2001:db8:1::1", &v);
	ck_assert_int_eq(v.action, RULE_REJECT);
	ck_assert_uint_eq(v.line, 0);
	/* rule 2, line 22 */
	lookup(cfg, "2001:db8::2", 23, "2001:db8:bad:ff::1", &v);
	ck_assert_int_eq(v.action, RULE_REJECT);
	ck_assert_uint_eq(v.line, 22);
	ck_assert_uint_eq(v.index, 2);
	/* rule 3, line 23 */
	lookup(cfg, "2001:db8:100::abcd", 443, "2001:db8:1::1", &v);
	ck_assert_int_eq(v.action, RULE_TARGET);
	ck_assert_uint_eq(v.target, 2);
	ck_assert_uint_eq(v.line, 23);
	lookup(cfg, "2001:db8:100::abcd", 80, "2001:db8:1::1", &v);
	ck_assert_uint_eq(v.line, 23);
	lookup(cfg, "2001:db8:100::abcd", 8080, "2001:db8:1::1", &v);
	ck_assert_int_eq(v.action, RULE_REJECT);
	ck_assert_uint_eq(v.line, 0);
	/* rule 4, line 24: IPv4 as mapped addresses */
	lookup(cfg, "192.0.2.77", 25, "198.51.100.1", &v);
	ck_assert_int_eq(v.action, RULE_TARGET);
	ck_assert_uint_eq(v.target, 0);
	ck_assert_uint_eq(v.line, 24);
	lookup(cfg, "192.0.3.77", 25, "198.51.100.1", &v);
	ck_assert_int_eq(v.action, RULE_REJECT);
	ck_assert_uint_eq(v.line, 0);
	config_free(cfg);
}
END_TEST

/* A target named in a rule or as the default is that target's number, in the order of the
 * file (a name that is no target: test_rule_unknown_names). */
START_TEST(test_target_names)
{
	struct config *cfg =
	    load_ok("targets = { a = { fd = 3; }; b = { fd = 4; }; c = { fd = 5; }; };\n"
		    "rules = ( { local = \"2001:db8::3\"; target = \"c\"; },\n"
		    "          { local = \"2001:db8::1\"; target = \"a\"; } );\n"
		    "default = \"b\";\n");
	static const struct {
		const char *local;
		uint32_t target;
		unsigned line;
	} want[] = {{"2001:db8::3", 2, 2}, {"2001:db8::1", 0, 3}, {"2001:db8::2", 1, 0}};
	struct verdict v;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		lookup(cfg, want[i].local, 1, "::1", &v);
		ck_assert_int_eq(v.action, RULE_TARGET);
		ck_assert_uint_eq(v.target, want[i].target);
		ck_assert_uint_eq(v.line, want[i].line);
	}
	config_free(cfg);
}
END_TEST

/* listen as a list: names (given or "listen[N]"), namespaces, PROXY settings, and rules
 * that match by listener. */
START_TEST(test_several_listeners)
{
	struct config *cfg =
	    load_ok("listen = ( { port = 1; transparent = true; },\n"
		    "  { name = \"public\"; address = \"::1\"; port = 8080;\n"
		    "    netns = \"/run/netns/outside\"; },\n"
		    "  { name = \"lb\"; port = 8443; proxy_protocol = true;\n"
		    "    proxy_from = [ \"10.0.0.0/8\", \"::1\" ]; proxy_timeout = 7; } );\n"
		    "targets = { a = { path = \"/run/a.sock\"; }; b = { path = \"/run/b.sock\"; }; };\n"
		    "rules = ( { listener = \"public\"; target = \"a\"; },\n"
		    "          { listener = [ \"lb\", \"listen[0]\" ]; local_port = 22; target = \"b\"; } );\n");
	struct conn_key k;
	struct verdict v;

	ck_assert_uint_eq(cfg->nlisten, 3);
	ck_assert_str_eq(cfg->listen[0].name, "listen[0]");
	ck_assert(cfg->listen[0].transparent);
	ck_assert_str_eq(cfg->listen[1].name, "public");
	ck_assert_str_eq(cfg->listen[1].netns, "/run/netns/outside");
	ck_assert_uint_eq(cfg->listen[1].port, 8080);
	ck_assert(!cfg->listen[1].transparent);
	ck_assert(cfg->listen[2].proxy_protocol);
	ck_assert_uint_eq(cfg->listen[2].nproxy_from, 2);
	ck_assert_uint_eq(cfg->listen[2].proxy_from_plen[0], 104); /* mapped IPv4 /8 */
	ck_assert_uint_eq(cfg->listen[2].proxy_from_plen[1], 128);
	ck_assert_uint_eq(cfg->listen[2].proxy_timeout, 7);
	ck_assert_uint_eq(cfg->listen[0].proxy_timeout, CONFIG_DEFAULT_PROXY_TIMEOUT);
	ck_assert_int_eq(config_listen_find(cfg, "lb"), 2);
	ck_assert_int_eq(config_listen_find(cfg, "nope"), -1);

	memset(&k, 0, sizeof(k));
	k.local_port = 22;
	k.listener = 1;
	rules_lookup(cfg->rules, &k, &v);
	ck_assert_int_eq(v.action, RULE_TARGET);
	ck_assert_uint_eq(v.target, 0);
	k.listener = 2;
	rules_lookup(cfg->rules, &k, &v);
	ck_assert_int_eq(v.action, RULE_TARGET);
	ck_assert_uint_eq(v.target, 1);
	k.listener = 0;
	rules_lookup(cfg->rules, &k, &v);
	ck_assert_uint_eq(v.target, 1);
	k.local_port = 80;
	rules_lookup(cfg->rules, &k, &v);
	ck_assert_int_eq(v.action, RULE_REJECT);
	k.listener = RULES_LISTENER_UNNAMED;
	k.local_port = 22;
	rules_lookup(cfg->rules, &k, &v);
	ck_assert_int_eq(v.action, RULE_REJECT);
	config_free(cfg);
}
END_TEST

START_TEST(test_listener_errors)
{
	EXPECT_ERRORS("listen = ( { port = 1; name = \"a\"; },\n  { port = 2; name = \"a\"; } );\n"
		      "default = \"drop\";\n",
		      ":2: listen[1].name: another listener is already named \"a\"");
	EXPECT_ERRORS("listen = ( { port = 1; name = \"a:b\"; } );\ndefault = \"drop\";\n",
		      ":1: listen[0].name: \"a:b\" is not a name of 1 to 63 letters, digits, '.', "
		      "'_' or '-'");
	EXPECT_ERRORS("listen = ( );\ndefault = \"drop\";\n",
		      ":1: listen: needs 1 to 31 listeners, not 0");
	EXPECT_ERRORS("listen = { port = 1; netns = \"run/netns/x\"; };\ndefault = \"drop\";\n",
		      ":1: listen.netns: \"run/netns/x\" is not an absolute path (such as "
		      "/run/netns/NAME) shorter than 256 characters");
	EXPECT_ERRORS("listen = { fd = 3; netns = \"/run/netns/x\"; };\ndefault = \"drop\";\n",
		      ":1: listen.netns: an inherited listener (fd) is already in its namespace: "
		      "give fd or netns, not both");
	EXPECT_ERRORS("listen = {\n  port = 1;\n  proxy_protocol = true;\n};\ndefault = \"drop\";\n",
		      ":1: listen.proxy_from: is required with proxy_protocol = true: the sources "
		      "allowed to send a PROXY header (your load balancers)");
	EXPECT_ERRORS("listen = { port = 1;\n proxy_from = \"::1\"; };\ndefault = \"drop\";\n",
		      ":2: listen.proxy_from: is only for a listener with proxy_protocol = true");
	EXPECT_ERRORS("listen = ( { port = 1; proxy_protocol = true;\n"
		      "  proxy_from = [ \"10.0.0.0/33\" ]; proxy_timeout = 0; } );\n"
		      "default = \"drop\";\n",
		      ":2: listen[0].proxy_timeout: 0 is out of range (1 to 3600)",
		      ":2: listen[0].proxy_from: \"10.0.0.0/33\" is not an address or prefix");
	EXPECT_ERRORS("listen = ( { port = 1; name = \"x\"; } );\n"
		      "targets = { a = { path = \"/run/a.sock\"; }; };\n"
		      "rules = ( { listener = \"y\"; target = \"a\"; } );\n",
		      ":3: rules[0].listener: no listener named \"y\" in listen");
}
END_TEST

START_TEST(test_other_settings_load)
{
	struct config *cfg =
	    load_ok("listen = { address = \"192.0.2.1\"; port = 65535; fd = 3;\n"
		    "  freebind = true; reuseaddr = false; reuseport = true;\n"
		    "  v6only = true; transparent = false; backlog = 1; };\n"
		    "user = \"12345\";\n"
		    "group = \"54321\";\n"
		    "groups = [ \"nogroup\", \"4242\" ];\n"
		    "chroot = \"/var/empty\";\n"
		    "log = \"syslog\";\n"
		    "log_limit = { burst = 3; interval = 60; };\n"
		    "queue = 100; queue_timeout = 0;\n"
		    "targets = { a = { path = (\"/run/a.sock\", \"@abstract-%p\");\n"
		    "                  queue = 7; queue_timeout = 30; abstract_ok = true; };\n"
		    "            b = { fd = 0; }; };\n"
		    "rules = ( { local = [ \"2001:db8::1\", \"2001:db8::2\" ];\n"
		    "            remote = ( \"10.0.0.0/8\", \"2001:db8:9::/48\" );\n"
		    "            local_port = ( \"1000-2000\", 22, \"3000\" );\n"
		    "            remote_port = \"0-65535\"; target = \"b\"; },\n"
		    "          { jump = \"more\"; } );\n"
		    "rulesets = { more = ( { local_port = 7; action = \"drop\"; } );\n"
		    "             empty = ( ); };\n"
		    "default = \"a\";\n");
	struct in6_addr want;
	struct verdict v;

	ck_assert_int_eq(addr_parse("::ffff:192.0.2.1", &want), 0);
	ck_assert_mem_eq(&cfg->listen[0].address, &want, sizeof(want));
	ck_assert_uint_eq(cfg->listen[0].port, 65535);
	ck_assert_int_eq(cfg->listen[0].fd, 3);
	ck_assert(cfg->listen[0].freebind);
	ck_assert(!cfg->listen[0].reuseaddr);
	ck_assert(cfg->listen[0].reuseport);
	ck_assert(cfg->listen[0].v6only);
	ck_assert(!cfg->listen[0].transparent);
	ck_assert_int_eq(cfg->listen[0].backlog, 1);
	ck_assert_str_eq(cfg->user, "12345");
	ck_assert_str_eq(cfg->group, "54321");
	ck_assert(cfg->groups_set);
	ck_assert_uint_eq(cfg->ngroups, 2);
	ck_assert_str_eq(cfg->groups[0], "nogroup");
	ck_assert_str_eq(cfg->groups[1], "4242");
	ck_assert_str_eq(cfg->chroot, "/var/empty");
	ck_assert(cfg->log_syslog);
	ck_assert_uint_eq(cfg->log_burst, 3);
	ck_assert_uint_eq(cfg->log_interval, 60);
	ck_assert_uint_eq(cfg->ntargets, 2);
	ck_assert_uint_eq(cfg->targets[0].npaths, 2);
	ck_assert_str_eq(cfg->targets[0].paths[1], "@abstract-%p");
	ck_assert_uint_eq(cfg->targets[0].queue, 7);
	ck_assert_uint_eq(cfg->targets[1].queue, 100); /* the top-level queue */
	ck_assert_uint_eq(cfg->targets[0].queue_timeout, 30);
	ck_assert_uint_eq(cfg->targets[1].queue_timeout, 0); /* the top-level one: no limit */
	ck_assert_int_eq(cfg->targets[1].fd, 0);
	/* 2 local x 2 remote addresses: four rules, then the jump, then one in "more" */
	ck_assert_uint_eq(rules_count(cfg->rules), 6);
	ck_assert_int_eq(rules_find_set(cfg->rules, "more"), 1);
	ck_assert_int_eq(rules_find_set(cfg->rules, "empty"), 2);

	lookup(cfg, "2001:db8::2", 1500, "10.1.2.3", &v);
	ck_assert_int_eq(v.action, RULE_TARGET);
	ck_assert_uint_eq(v.target, 1);
	ck_assert_uint_eq(v.line, 14);
	ck_assert_uint_eq(v.index, 2);
	lookup(cfg, "2001:db8::1", 3000, "2001:db8:9:1::1", &v);
	ck_assert_uint_eq(v.index, 1);
	ck_assert_uint_eq(v.line, 14);
	/* through the jump */
	lookup(cfg, "2001:db8::1", 7, "2001:db8:9:1::1", &v);
	ck_assert_int_eq(v.action, RULE_DROP);
	ck_assert_uint_eq(v.set, 1);
	ck_assert_uint_eq(v.line, 19);
	/* nothing: the default target */
	lookup(cfg, "2001:db8::3", 1500, "10.1.2.3", &v);
	ck_assert_int_eq(v.action, RULE_TARGET);
	ck_assert_uint_eq(v.target, 0);
	ck_assert_uint_eq(v.line, 0);
	config_free(cfg);

	/* an empty file is no configuration (/dev/null said "OK" before) */
	EXPECT_ERRORS("", ": no targets, no rules and no default: every connection would be "
			  "reset, which is not what a configuration is for");
	/* nearly empty: every default */
	cfg = load_ok("default = \"reject\";\n");
	ck_assert_uint_eq(cfg->listen[0].port, 0);
	ck_assert_int_eq(cfg->listen[0].fd, -1);
	ck_assert_uint_eq(cfg->ntargets, 0);
	ck_assert_ptr_null(cfg->user);
	ck_assert_uint_eq(cfg->log_burst, CONFIG_DEFAULT_LOG_BURST);
	ck_assert_uint_eq(cfg->log_interval, CONFIG_DEFAULT_LOG_INTERVAL);
	lookup(cfg, "::1", 1, "::1", &v);
	ck_assert_int_eq(v.action, RULE_REJECT);
	config_free(cfg);

	cfg = load_ok("default = \"drop\";\nlog = \"stderr\";\nlog_limit = { interval = 0; };\n");
	ck_assert(!cfg->log_syslog);
	ck_assert_uint_eq(cfg->log_burst, CONFIG_DEFAULT_LOG_BURST);
	ck_assert_uint_eq(cfg->log_interval, 0);
	lookup(cfg, "::1", 1, "::1", &v);
	ck_assert_int_eq(v.action, RULE_DROP);
	config_free(cfg);
}
END_TEST

START_TEST(test_syntax_error)
{
	/* libconfig names the line only: the message quotes it */
	EXPECT_ERRORS("listen = {\n  port = ;\n};\n", ":2: syntax error; the line reads: port = ;");
	EXPECT_ERRORS("user = \"nobody\";\n\nrules = ( { local = ; action = \"drop\"; } );\n",
		      ":3: syntax error; the line reads: rules = ( { local = ; action = \"drop\"; } );");
	EXPECT_ERRORS("targets = { web = { fd = 3; }; };\nrules = (\n  { local = \"::1\"; }\n"
		      "  { action = \"drop\"; }\n);\n",
		      ":4: syntax error; the line reads: { action = \"drop\"; }");
	/* a libconfig array holds one type only */
	EXPECT_ERRORS("rules = ( { local_port = [ 22, \"80\" ]; action = \"drop\"; } );\n",
		      ":1: mismatched element type in array; the line reads: rules = ( { local_port "
		      "= [ 22, \"80\" ]; action = \"drop\"; } );");
	EXPECT_ERRORS("queue = 1;\nqueue = 2;\n",
		      ":2: duplicate setting name; the line reads: queue = 2;");
}
END_TEST

START_TEST(test_unreadable_file)
{
	struct msgs ms;
	char path[160], want[320];

	memset(&ms, 0, sizeof(ms));
	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	ck_assert_ptr_null(config_load(path, collect, &ms));
	ck_assert_uint_eq(ms.n, 1);
	snprintf(want, sizeof(want), "%s: unable to read the file: No such file or directory",
		 path);
	ck_assert_str_eq(ms.m[0], want);
	msgs_free(&ms);

	/* a directory: access() allows it, libconfig cannot read it (no reason given) */
	ck_assert_ptr_null(config_load(dir, collect, &ms));
	ck_assert_uint_eq(ms.n, 1);
	snprintf(want, sizeof(want), "%s: unable to read the file", dir);
	ck_assert_str_eq(ms.m[0], want);
	msgs_free(&ms);

	/* mode 000: root reads it anyway, so this part only runs as another user */
	if (geteuid() != 0) {
		write_file(conf, "user = \"nobody\";\n");
		ck_assert_int_eq(chmod(conf, 0), 0);
		ck_assert_ptr_null(config_load(conf, collect, &ms));
		ck_assert_uint_eq(ms.n, 1);
		snprintf(want, sizeof(want), "%s: unable to read the file: Permission denied",
			 conf);
		ck_assert_str_eq(ms.m[0], want);
		msgs_free(&ms);
		ck_assert_int_eq(chmod(conf, 0600), 0);
	}
}
END_TEST

START_TEST(test_errors_in_an_included_file)
{
	char inc[160], text[256], want[256];
	struct msgs ms;

	snprintf(inc, sizeof(inc), "%s/included.conf", dir);
	write_file(inc, "\n\nfoo = 1;\n");
	snprintf(text, sizeof(text), "user = \"nobody\";\n@include \"%s\"\n", inc);
	ck_assert_ptr_null(load(text, &ms));
	ck_assert_uint_eq(ms.n, 1);
	/* the file the setting is in, not the one named on the command line */
	snprintf(want, sizeof(want), "%s:3: top level: unknown setting \"foo\"", inc);
	ck_assert_str_eq(ms.m[0], want);
	msgs_free(&ms);
}
END_TEST

START_TEST(test_unknown_keys)
{
	EXPECT_ERRORS("user = \"nobody\";\nlisten_port = 1;\n",
		      ":2: top level: unknown setting \"listen_port\"");
	EXPECT_ERRORS("listen = {\n  port = 1;\n  adress = \"::\";\n};\n",
		      ":3: listen: unknown setting \"adress\"");
	EXPECT_ERRORS("log_limit = { bust = 1; };\n", ":1: log_limit: unknown setting \"bust\"");
	EXPECT_ERRORS("targets = {\n  web = { path = \"/run/web.sock\";\n    pth = 1; };\n};\n",
		      ":3: targets.web: unknown setting \"pth\"");
	EXPECT_ERRORS(
	    "rules = (\n  { action = \"drop\"; },\n  { loacl = \"::1\"; action = \"drop\"; }\n);\n",
	    ":3: rules[1]: unknown setting \"loacl\"");
	EXPECT_ERRORS(
	    "rulesets = {\n  inner = (\n    { action = \"drop\"; targte = \"x\"; }\n  );\n};\n",
	    ":3: rulesets.inner[0]: unknown setting \"targte\"");
}
END_TEST

START_TEST(test_wrong_types)
{
	EXPECT_ERRORS("listen = { port = \"80\"; };\n",
		      ":1: listen.port: must be a number, not a string");
	EXPECT_ERRORS("listen = {\n  transparent = 1;\n};\n",
		      ":2: listen.transparent: must be true or false, not a number");
	EXPECT_ERRORS("listen = { reuseport = \"yes\"; };\n",
		      ":1: listen.reuseport: must be true or false, not a string");
	EXPECT_ERRORS("listen = { backlog = 1.5; };\n",
		      ":1: listen.backlog: must be a number, not a decimal number");
	EXPECT_ERRORS("listen = { address = 0; };\n",
		      ":1: listen.address: must be a string, not a number");
	EXPECT_ERRORS("listen = 5;\n", ":1: listen: must be a group { ... } or a list of groups "
					 "( { ... }, ... ), not a number");
	EXPECT_ERRORS("listen = ( 5 );\n", ":1: listen[0]: must be a group { ... }, not a number");
	EXPECT_ERRORS("user = 5;\n", ":1: user: must be a string, not a number");
	EXPECT_ERRORS("chroot = true;\n", ":1: chroot: must be a string, not a boolean");
	EXPECT_ERRORS("log = [ \"syslog\" ];\n", ":1: log: must be a string, not an array");
	EXPECT_ERRORS("log_limit = 10;\n",
		      ":1: log_limit: must be a group { burst = N; interval = S; }, not a number");
	EXPECT_ERRORS("log_limit = { burst = \"10\"; };\n",
		      ":1: log_limit.burst: must be a number, not a string");
	EXPECT_ERRORS("groups = \"nogroup\";\n", ":1: groups: must be a list of group names");
	EXPECT_ERRORS("groups = [ 5 ];\n", ":1: groups: must be a string, not a number");
	EXPECT_ERRORS("queue = \"1\";\n", ":1: queue: must be a number, not a string");
	EXPECT_ERRORS("targets = 5;\n", ":1: targets: must be a group { NAME = { path = ...; }; }");
	EXPECT_ERRORS("targets = { web = \"/run/web.sock\"; };\n",
		      ":1: targets.web: must be a group { path = ...; }, not a string");
	EXPECT_ERRORS("targets = { web = { path = 5; }; };\n",
		      ":1: targets.web.path: must be a string or a list of strings, not a number");
	EXPECT_ERRORS("targets = { web = { path = ( \"/a\", 5 ); }; };\n",
		      ":1: targets.web.path: must be a string, not a number");
	EXPECT_ERRORS("targets = { web = { fd = \"3\"; }; };\n",
		      ":1: targets.web.fd: must be a number, not a string");
	EXPECT_ERRORS("targets = { web = { fd = 3; queue = true; }; };\n",
		      ":1: targets.web.queue: must be a number, not a boolean");
	EXPECT_ERRORS("rules = { };\n", ":1: rules: must be a list ( { ... }, ... ), not a group");
	EXPECT_ERRORS("rules = [ 1 ];\n",
		      ":1: rules: must be a list ( { ... }, ... ), not an array");
	EXPECT_ERRORS("rules = ( 5 );\n", ":1: rules[0]: must be a group { ... }, not a number");
	EXPECT_ERRORS("rules = ( { local = ( \"::1\", 5 ); action = \"drop\"; } );\n",
		      ":1: rules[0].local: must be a string, not a number");
	EXPECT_ERRORS("rules = ( { local_port = true; action = \"drop\"; } );\n",
		      ":1: rules[0].local_port: must be a port number, a \"LOW-HIGH\" range or a "
		      "list, not a boolean");
	EXPECT_ERRORS("rules = ( { remote_port = [ 1.5 ]; action = \"drop\"; } );\n",
		      ":1: rules[0].remote_port: must be a port number, a \"LOW-HIGH\" range or a "
		      "list, not a decimal number");
	EXPECT_ERRORS("rulesets = 5;\n", ":1: rulesets: must be a group { NAME = ( ... ); }");
	EXPECT_ERRORS("rulesets = { a = [ ]; };\n",
		      ":1: rulesets.a: must be a list ( { ... }, ... ), not an array");
	EXPECT_ERRORS("default = 0;\n", ":1: default: must be a string, not a number");
}
END_TEST

START_TEST(test_out_of_range)
{
	EXPECT_ERRORS("listen = { port = 0; };\n",
		      ":1: listen.port: 0 is out of range (1 to 65535)");
	EXPECT_ERRORS("listen = {\n  port = 65536;\n};\n",
		      ":2: listen.port: 65536 is out of range (1 to 65535)");
	EXPECT_ERRORS("listen = { port = -1; };\n",
		      ":1: listen.port: -1 is out of range (1 to 65535)");
	EXPECT_ERRORS("listen = { port = 10000000000L; };\n",
		      ":1: listen.port: 10000000000 is out of range (1 to 65535)");
	EXPECT_ERRORS("listen = { backlog = 0; };\n",
		      ":1: listen.backlog: 0 is out of range (1 to 1048576)");
	EXPECT_ERRORS("listen = { fd = -1; };\n",
		      ":1: listen.fd: -1 is out of range (0 to 1048576)");
	EXPECT_ERRORS("queue = 0;\n", ":1: queue: 0 is out of range (1 to 1048576)");
	EXPECT_ERRORS("queue_timeout = -1;\n", ":1: queue_timeout: -1 is out of range (0 to 86400)");
	EXPECT_ERRORS("targets = { web = { fd = 3; queue_timeout = 86401; }; };\n",
		      ":1: targets.web.queue_timeout: 86401 is out of range (0 to 86400)");
	EXPECT_ERRORS("log_limit = { burst = 0; };\n",
		      ":1: log_limit.burst: 0 is out of range (1 to 1000000)");
	EXPECT_ERRORS("log_limit = { interval = 86401; };\n",
		      ":1: log_limit.interval: 86401 is out of range (0 to 86400)");
	EXPECT_ERRORS("targets = { web = { fd = 3; queue = 1048577; }; };\n",
		      ":1: targets.web.queue: 1048577 is out of range (1 to 1048576)");
	EXPECT_ERRORS("targets = { web = { fd = 1048577; }; };\n",
		      ":1: targets.web.fd: 1048577 is out of range (0 to 1048576)");
	EXPECT_ERRORS("rules = ( { local_port = 65536; action = \"drop\"; } );\n",
		      ":1: rules[0].local_port: 65536 is out of range (0 to 65535)");
	EXPECT_ERRORS("rules = ( { remote_port = [ 1, -2 ]; action = \"drop\"; } );\n",
		      ":1: rules[0].remote_port: -2 is out of range (0 to 65535)");
}
END_TEST

START_TEST(test_target_path_or_fd)
{
	EXPECT_ERRORS("targets = {\n  web = { path = \"/run/web.sock\"; fd = 3; };\n};\n",
		      ":2: targets.web: needs exactly one of \"path\" or \"fd\"");
	EXPECT_ERRORS("targets = {\n  web = { queue = 3; };\n};\n",
		      ":2: targets.web: needs exactly one of \"path\" or \"fd\"");
	EXPECT_ERRORS("targets = { web = { }; };\n",
		      ":1: targets.web: needs exactly one of \"path\" or \"fd\"");
	EXPECT_ERRORS("targets = { reject = { fd = 3; }; };\n",
		      ":1: targets: \"reject\" is reserved for the action of that name");
	EXPECT_ERRORS("targets = { drop = { fd = 3; }; };\n",
		      ":1: targets: \"drop\" is reserved for the action of that name");
}
END_TEST

START_TEST(test_target_paths)
{
	char text[512], want[512], path[200];
	struct config *cfg;

	EXPECT_ERRORS("targets = { web = { path = [ ]; }; };\n",
		      ":1: targets.web.path: is an empty list");
	EXPECT_ERRORS("targets = { web = { path = ( ); }; };\n",
		      ":1: targets.web.path: is an empty list");
	EXPECT_ERRORS("targets = { web = { path = \"\"; }; };\n", ":1: targets.web.path: is empty");
	EXPECT_ERRORS("targets = { web = { path = \"run/web.sock\"; }; };\n",
		      ":1: targets.web.path: \"run/web.sock\" is not an absolute path (or an @name)");
	EXPECT_ERRORS("targets = { web = { path = \"/run/%x.sock\"; }; };\n",
		      ":1: targets.web.path: \"/run/%x.sock\": unknown token (use %p, %l1 to %l32, "
		      "or %%)");
	EXPECT_ERRORS(
	    "targets = {\n  web = { path = [ \"/run/ok-%p.sock\", \"/run/%l33.sock\" ]; };\n};\n",
	    ":2: targets.web.path: \"/run/%l33.sock\": unknown token (use %p, %l1 to "
	    "%l32, or %%)");
	EXPECT_ERRORS("targets = { web = { path = \"/run/100%\"; }; };\n",
		      ":1: targets.web.path: \"/run/100%\": unknown token (use %p, %l1 to %l32, "
		      "or %%)");

	/* 107 characters fit in sun_path with its NUL; 108 do not */
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[107] = '\0';
	snprintf(text, sizeof(text), "targets = { web = { path = \"%s\"; }; };\n", path);
	cfg = load_ok(text);
	ck_assert_str_eq(cfg->targets[0].paths[0], path);
	config_free(cfg);
	path[107] = 'a';
	path[108] = '\0';
	snprintf(text, sizeof(text), "targets = { web = { path = \"%s\"; }; };\n", path);
	snprintf(want, sizeof(want),
		 ":1: targets.web.path: \"%s\" is longer than a socket path can be (107)", path);
	EXPECT_ERRORS(text, want);

	/* 16 paths are the most */
	EXPECT_ERRORS(
	    "targets = { web = { path = [ \"/1\", \"/2\", \"/3\", \"/4\", \"/5\", \"/6\",\n"
	    "  \"/7\", \"/8\", \"/9\", \"/10\", \"/11\", \"/12\", \"/13\", \"/14\", \"/15\",\n"
	    "  \"/16\", \"/17\" ]; }; };\n",
	    ":3: targets.web.path: more than 16 paths");
}
END_TEST

START_TEST(test_rule_needs_one_verdict)
{
	EXPECT_ERRORS("rules = (\n  { local = \"::1\"; }\n);\n",
		      ":2: rules[0]: needs exactly one of \"target\", \"action\" or \"jump\"");
	EXPECT_ERRORS("targets = { web = { fd = 3; }; };\n"
		      "rules = (\n  { action = \"drop\"; },\n"
		      "  { local = \"::1\"; target = \"web\"; action = \"drop\"; }\n);\n",
		      ":4: rules[1]: needs exactly one of \"target\", \"action\" or \"jump\"");
	EXPECT_ERRORS("rulesets = { a = ( ); };\n"
		      "rules = ( { jump = \"a\"; action = \"reject\"; } );\n",
		      ":2: rules[0]: needs exactly one of \"target\", \"action\" or \"jump\"");
	EXPECT_ERRORS("rulesets = { a = ( { action = \"drop\"; } );\n"
		      "  b = (\n    {\n      local_port = 1;\n    }\n  );\n};\n",
		      ":3: rulesets.b[0]: needs exactly one of \"target\", \"action\" or \"jump\"");
}
END_TEST

START_TEST(test_rule_unknown_names)
{
	EXPECT_ERRORS("targets = { web = { fd = 3; }; };\n"
		      "rules = (\n  { target = \"wbe\"; }\n);\n",
		      ":3: rules[0].target: no target named \"wbe\" in targets");
	EXPECT_ERRORS("rules = ( { target = \"web\"; } );\n",
		      ":1: rules[0].target: no target named \"web\" in targets");
	EXPECT_ERRORS("rules = (\n  { action = \"accept\"; }\n);\n",
		      ":2: rules[0].action: \"accept\" is not \"reject\" or \"drop\"");
	EXPECT_ERRORS("rulesets = { a = ( ); };\n"
		      "rules = (\n  { jump = \"b\"; }\n);\n",
		      ":3: rules[0].jump: no rule set named \"b\" in rulesets");
	EXPECT_ERRORS("rules = ( { jump = \"b\"; } );\n",
		      ":1: rules[0].jump: no rule set named \"b\" in rulesets");
	/* a set may name a later set */
	EXPECT_ERRORS("rulesets = {\n  a = ( { jump = \"c\"; } );\n  b = ( );\n};\n",
		      ":2: rulesets.a[0].jump: no rule set named \"c\" in rulesets");
}
END_TEST

START_TEST(test_jump_to_later_set_loads)
{
	struct config *cfg = load_ok("rulesets = {\n  a = ( { jump = \"b\"; } );\n"
				     "  b = ( { local_port = 9; action = \"drop\"; } );\n};\n"
				     "rules = ( { jump = \"a\"; } );\n");
	struct verdict v;

	lookup(cfg, "::1", 9, "::1", &v);
	ck_assert_int_eq(v.action, RULE_DROP);
	ck_assert_uint_eq(v.set, 2);
	ck_assert_uint_eq(v.line, 3);
	config_free(cfg);
}
END_TEST

/* A configuration file too large for a literal, written line by line. */
struct text {
	char *buf;
	size_t len, cap;
};

static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt,
			      ap);
		va_end(ap);
		ck_assert_int_ge(n, 0);
		if (t->buf && t->len + (size_t)n < t->cap)
			break;
		t->cap = (t->cap + (size_t)n + 1) * 2;
		t->buf = realloc(t->buf, t->cap);
		ck_assert_ptr_nonnull(t->buf);
	}
	t->len += (size_t)n;
}

#define OVER_LIMIT                                                                                 \
	"lets one lookup take more than 10000 steps (tries of rule sets and hash tables probed)"

START_TEST(test_jump_map_loads)
{
	struct text t = {0};
	struct config *cfg;
	struct verdict v;

	/* 3,000 jumps, each under its own /48 to a set of its own, then one by port: a key picks
	 * one /48, so a lookup takes a few steps, although every jump counted would be 12,000 */
	text_add(&t, "targets = { web = { path = \"/run/web.sock\"; }; ssh = { fd = 5; }; };\n");
	text_add(&t, "rules = (\n");
	for (unsigned i = 0; i < 3000; i++)
		text_add(&t, "  { local = \"2001:db8:%x::/48\"; jump = \"t%u\"; },\n", i, i);
	text_add(&t, "  { local_port = 80; jump = \"web\"; }\n);\nrulesets = {\n");
	for (unsigned i = 0; i < 3000; i++)
		text_add(&t,
			 "  t%u = ( { local_port = 22; target = \"ssh\"; },\n"
			 "         { remote = \"2001:db8:bad::/48\"; action = \"reject\"; } );\n",
			 i);
	text_add(&t, "  web = ( { local = \"2001:db8::/32\"; target = \"web\"; } );\n};\n");
	cfg = load_ok(t.buf);
	lookup(cfg, "2001:db8:bb7::1", 22, "::1", &v); /* t2999, its first rule */
	ck_assert_int_eq(v.action, RULE_TARGET);
	ck_assert_uint_eq(v.target, 1);
	ck_assert_uint_eq(v.set, 3000);
	ck_assert_uint_eq(v.line, 3006 + 2 * 2999);
	lookup(cfg, "2001:db8:7::1", 80, "2001:db8:bad::1", &v);
	ck_assert_int_eq(v.action, RULE_REJECT);
	ck_assert_uint_eq(v.set, 8);
	lookup(cfg, "2001:db8:7::1", 80, "::1", &v); /* t7 falls through to the port jump */
	ck_assert_int_eq(v.action, RULE_TARGET);
	ck_assert_uint_eq(v.target, 0);
	ck_assert_uint_eq(v.set, 3001);
	config_free(cfg);
	free(t.buf);
}
END_TEST

START_TEST(test_jump_loops)
{
	/* A -> B -> A: reported at the rulesets setting, with the jump's own line */
	EXPECT_ERRORS("rulesets = {\n"
		      "  A = ( { jump = \"B\"; } );\n"
		      "  B = (\n"
		      "    { local_port = 22; jump = \"A\"; }\n"
		      "  );\n"
		      "};\n"
		      "rules = ( { jump = \"A\"; } );\n",
		      ":1: rulesets: line 4: jump from \"B\" to \"A\" makes a loop");
	/* A -> A */
	EXPECT_ERRORS("user = \"nobody\";\n"
		      "rulesets = {\n"
		      "  A = ( { local_port = 1; action = \"drop\"; },\n"
		      "        { jump = \"A\"; } );\n"
		      "};\n",
		      ":2: rulesets: line 4: jump from \"A\" to \"A\" makes a loop");
	/* back into the main list: "rules" is not a set a rule may jump to */
	EXPECT_ERRORS("rulesets = { A = ( { jump = \"rules\"; } ); };\n"
		      "rules = ( { jump = \"A\"; } );\n",
		      ":1: rulesets.A[0].jump: no rule set named \"rules\" in rulesets");
}
END_TEST

START_TEST(test_jump_limit)
{
	struct text t = {0};

	/* 24 sets, each jumping twice to the next: 2^24 tries for a connection that matches
	 * nothing. s<23-m> costs 2^(m+2) - 3 steps; s11's second jump passes 10000. */
	text_add(&t, "rulesets = {\n");
	for (unsigned i = 0; i < 23; i++)
		text_add(&t, "  s%u = ( { jump = \"s%u\"; }, { jump = \"s%u\"; } );\n", i, i + 1,
			 i + 1);
	text_add(&t, "  s23 = ( { local_port = 1; action = \"drop\"; } );\n};\n");
	text_add(&t, "rules = ( { jump = \"s0\"; } );\n");
	EXPECT_ERRORS(t.buf, ":1: rulesets: line 13: jump from \"s11\" to \"s12\" " OVER_LIMIT);
	free(t.buf);
}
END_TEST

/* Loads the text in a thread with a 512 KiB stack, as a reload would in the acceptor. */
struct small_stack_load {
	const char *text;
	struct msgs ms;
	struct config *cfg;
};

static void *small_stack_load_run(void *arg)
{
	struct small_stack_load *l = arg;

	l->cfg = load(l->text, &l->ms);
	return NULL;
}

START_TEST(test_jump_chain_20000)
{
	struct small_stack_load l = {0};
	struct text t = {0};
	pthread_attr_t attr;
	pthread_t th;
	char want[512];

	/* c0 -> c1 -> ... -> c19999: a recursion per set overflows this stack. c<19999-m>
	 * costs 2m + 1 steps, so c14999's jump (line 15001) passes 10000. */
	text_add(&t, "rulesets = {\n");
	for (unsigned i = 0; i < 19999; i++)
		text_add(&t, "  c%u = ( { jump = \"c%u\"; } );\n", i, i + 1);
	text_add(&t, "  c19999 = ( { local_port = 1; action = \"drop\"; } );\n};\n");
	text_add(&t, "rules = ( { jump = \"c0\"; } );\n");
	l.text = t.buf;
	ck_assert_int_eq(pthread_attr_init(&attr), 0);
	ck_assert_int_eq(pthread_attr_setstacksize(&attr, 512 * 1024), 0);
	ck_assert_int_eq(pthread_create(&th, &attr, small_stack_load_run, &l), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	pthread_attr_destroy(&attr);
	snprintf(want, sizeof(want),
		 "%s:1: rulesets: line 15001: jump from \"c14999\" to \"c15000\" " OVER_LIMIT,
		 conf);
	ck_assert_ptr_null(l.cfg);
	ck_assert_msg(l.ms.n == 1 && strcmp(l.ms.m[0], want) == 0, "unexpected:%s",
		      msgs_dump(&l.ms));
	msgs_free(&l.ms);
	free(t.buf);
}
END_TEST

START_TEST(test_bad_addresses)
{
	EXPECT_ERRORS("rules = (\n  { action = \"drop\"; },\n  { action = \"drop\"; },\n"
		      "  { local = \"2001:db8::zz\"; action = \"drop\"; }\n);\n",
		      ":4: rules[2].local: \"2001:db8::zz\" is not an address or prefix");
	EXPECT_ERRORS("rules = ( { remote = \"2001:db8::/129\"; action = \"drop\"; } );\n",
		      ":1: rules[0].remote: \"2001:db8::/129\" is not an address or prefix");
	EXPECT_ERRORS("rules = ( { remote = \"192.0.2.0/33\"; action = \"drop\"; } );\n",
		      ":1: rules[0].remote: \"192.0.2.0/33\" is not an address or prefix");
	EXPECT_ERRORS("rules = ( { local = [ \"::1\", \"::2/\" ]; action = \"drop\"; } );\n",
		      ":1: rules[0].local: \"::2/\" is not an address or prefix");
	EXPECT_ERRORS("rules = ( { local = [ ]; action = \"drop\"; } );\n",
		      ":1: rules[0].local: needs 1 to 64 addresses, not 0");
	EXPECT_ERRORS("listen = { address = \"1.2.3\"; };\n",
		      ":1: listen.address: \"1.2.3\" is not an IPv6 or IPv4 address");
	EXPECT_ERRORS("listen = { address = \"::/0\"; };\n",
		      ":1: listen.address: \"::/0\" is not an IPv6 or IPv4 address");
}
END_TEST

START_TEST(test_bad_ports)
{
	struct config *cfg;
	struct verdict v;

	EXPECT_ERRORS(
	    "rules = (\n  { local_port = \"2000-1000\"; action = \"drop\"; }\n);\n",
	    ":2: rules[0].local_port: \"2000-1000\" is not a port or a range \"LOW-HIGH\" "
	    "within 0-65535");
	EXPECT_ERRORS("rules = ( { local_port = \"x\"; action = \"drop\"; } );\n",
		      ":1: rules[0].local_port: \"x\" is not a port or a range \"LOW-HIGH\" within "
		      "0-65535");
	EXPECT_ERRORS("rules = ( { remote_port = ( 22, \"1-70000\" ); action = \"drop\"; } );\n",
		      ":1: rules[0].remote_port: \"1-70000\" is not a port or a range \"LOW-HIGH\" "
		      "within 0-65535");
	EXPECT_ERRORS("rules = ( { local_port = \"65536\"; action = \"drop\"; } );\n",
		      ":1: rules[0].local_port: \"65536\" is not a port or a range \"LOW-HIGH\" "
		      "within 0-65535");
	EXPECT_ERRORS(
	    "rules = ( { local_port = \"-1\"; action = \"drop\"; } );\n",
	    ":1: rules[0].local_port: \"-1\" is not a port or a range \"LOW-HIGH\" within "
	    "0-65535");
	EXPECT_ERRORS(
	    "rules = ( { local_port = \"80 \"; action = \"drop\"; } );\n",
	    ":1: rules[0].local_port: \"80 \" is not a port or a range \"LOW-HIGH\" within "
	    "0-65535");
	EXPECT_ERRORS("rules = ( { local_port = \"\"; action = \"drop\"; } );\n",
		      ":1: rules[0].local_port: \"\" is not a port or a range \"LOW-HIGH\" within "
		      "0-65535");
	EXPECT_ERRORS("rules = ( { local_port = [ ]; action = \"drop\"; } );\n",
		      ":1: rules[0].local_port: needs 1 to 4096 ports, not 0");
	/* blanks and signs are not part of a port */
	EXPECT_ERRORS("rules = ( { local_port = \"1- 2\"; action = \"drop\"; } );\n",
		      ":1: rules[0].local_port: \"1- 2\" is not a port or a range \"LOW-HIGH\" "
		      "within 0-65535");
	EXPECT_ERRORS("rules = ( { local_port = \"1-+2\"; action = \"drop\"; } );\n",
		      ":1: rules[0].local_port: \"1-+2\" is not a port or a range \"LOW-HIGH\" "
		      "within 0-65535");
	EXPECT_ERRORS("rules = ( { local_port = \"+80\"; action = \"drop\"; } );\n",
		      ":1: rules[0].local_port: \"+80\" is not a port or a range \"LOW-HIGH\" "
		      "within 0-65535");
	EXPECT_ERRORS("rules = ( { local_port = \"80,443\"; action = \"drop\"; } );\n",
		      ":1: rules[0].local_port: \"80,443\" is not a port or a range \"LOW-HIGH\" "
		      "within 0-65535");

	/* the forms that are right */
	cfg = load_ok("rules = ( { local_port = ( \"1000-2000\", \"22\", 0, \"65535\" );\n"
		      "            action = \"drop\"; } );\n");
	lookup(cfg, "::1", 2000, "::1", &v);
	ck_assert_int_eq(v.action, RULE_DROP);
	ck_assert_uint_eq(v.line, 1);
	lookup(cfg, "::1", 22, "::1", &v);
	ck_assert_uint_eq(v.line, 1);
	lookup(cfg, "::1", 0, "::1", &v);
	ck_assert_uint_eq(v.line, 1);
	lookup(cfg, "::1", 65535, "::1", &v);
	ck_assert_uint_eq(v.line, 1);
	lookup(cfg, "::1", 2001, "::1", &v);
	ck_assert_int_eq(v.action, RULE_REJECT);
	ck_assert_uint_eq(v.line, 0);
	config_free(cfg);
}
END_TEST

/* An abstract name can be bound by anyone in the network namespace while the applet is
 * down: refused unless the target says the operator accepts that. */
START_TEST(test_abstract_target_needs_consent)
{
	struct config *cfg;

	EXPECT_ERRORS("targets = { m = { path = \"@metrics\"; }; };\n",
		      ":1: targets.m.path: \"@metrics\" is an abstract socket: anyone in "
		      "socketbox's network namespace can bind that name while the applet is "
		      "down and receive this target's connections; use a socket file, or set "
		      "abstract_ok = true to accept that");
	EXPECT_ERRORS("targets = { m = { path = [ \"/run/m.sock\", \"@m-%p\" ];\n"
		      "  abstract_ok = false; }; };\n",
		      ":1: targets.m.path: \"@m-%p\" is an abstract socket: anyone in "
		      "socketbox's network namespace can bind that name while the applet is "
		      "down and receive this target's connections; use a socket file, or set "
		      "abstract_ok = true to accept that");
	cfg = load_ok("targets = { m = { path = \"@metrics\"; abstract_ok = true; }; };\n");
	ck_assert_str_eq(cfg->targets[0].paths[0], "@metrics");
	config_free(cfg);
}
END_TEST

START_TEST(test_identity_errors)
{
	EXPECT_ERRORS("\nuser = \"sb-no-such-user\";\n",
		      ":2: user: no such user \"sb-no-such-user\"");
	EXPECT_ERRORS("group = \"sb-no-such-group\";\n",
		      ":1: group: no such group \"sb-no-such-group\"");
	EXPECT_ERRORS("groups = [ \"nogroup\", \"sb-no-such-group\" ];\n",
		      ":1: groups: no such group \"sb-no-such-group\"");
	EXPECT_ERRORS("user = \"12x\";\n", ":1: user: no such user \"12x\"");
	/* One resolver for -c and start-up: a number past 2^31-1 or with a sign is no uid. */
	EXPECT_ERRORS("user = \"99999999999\";\n", ":1: user: no such user \"99999999999\"");
	EXPECT_ERRORS("user = \"-0\";\n", ":1: user: no such user \"-0\"");
	EXPECT_ERRORS("group = \"+5\";\n", ":1: group: no such group \"+5\"");
	EXPECT_ERRORS("chroot = \"var/empty\";\n",
		      ":1: chroot: \"var/empty\" is not an absolute path");
	EXPECT_ERRORS("chroot = \"\";\n", ":1: chroot: \"\" is not an absolute path");
	EXPECT_ERRORS("log = \"file\";\n", ":1: log: \"file\" is not \"stderr\" or \"syslog\"");
	EXPECT_ERRORS("log = \"Syslog\";\n", ":1: log: \"Syslog\" is not \"stderr\" or \"syslog\"");
}
END_TEST

START_TEST(test_bad_default)
{
	EXPECT_ERRORS("targets = { web = { fd = 3; }; };\n\ndefault = \"accept\";\n",
		      ":3: default: \"accept\" is not \"reject\", \"drop\" or a target name");
	EXPECT_ERRORS("default = \"web\";\n",
		      ":1: default: \"web\" is not \"reject\", \"drop\" or a target name");
}
END_TEST

START_TEST(test_every_error_reported)
{
	/* ten errors in different places: all reported, in the order of their lines (the
	 * unknown top-level key, found first, last) */
	EXPECT_ERRORS(
	    "listen = {\n"					     /* 1 */
	    "  port = \"80\";\n"				     /* 2 */
	    "  transparent = 1;\n"				     /* 3 */
	    "};\n"						     /* 4 */
	    "user = \"sb-no-such-user\";\n"			     /* 5 */
	    "chroot = \"relative\";\n"				     /* 6 */
	    "targets = {\n"					     /* 7 */
	    "  web = { path = \"/run/%q\"; };\n"		     /* 8 */
	    "  ok = { fd = 4; };\n"				     /* 9 */
	    "};\n"						     /* 10 */
	    "rules = (\n"					     /* 11 */
	    "  { local = \"2001:db8::zz\"; target = \"ok\"; },\n"    /* 12 */
	    "  { local_port = \"2000-1000\"; target = \"nope\"; }\n" /* 13 */
	    ");\n"						     /* 14 */
	    "default = \"accept\";\n"				     /* 15 */
	    "bogus = 1;\n",					     /* 16 */
	    ":2: listen.port: must be a number, not a string",
	    ":3: listen.transparent: must be true or false, not a number",
	    ":5: user: no such user \"sb-no-such-user\"",
	    ":6: chroot: \"relative\" is not an absolute path",
	    ":8: targets.web.path: \"/run/%q\": unknown token (use %p, %l1 to %l32, or %%)",
	    ":12: rules[0].local: \"2001:db8::zz\" is not an address or prefix",
	    ":13: rules[1].local_port: \"2000-1000\" is not a port or a range \"LOW-HIGH\" "
	    "within 0-65535",
	    ":13: rules[1].target: no target named \"nope\" in targets",
	    ":15: default: \"accept\" is not \"reject\", \"drop\" or a target name",
	    ":16: top level: unknown setting \"bogus\"");
}
END_TEST

/* Warnings: the file loads, and each says where and why. */
START_TEST(test_warnings)
{
	struct msgs ms;
	struct config *cfg = load("targets = {\n"						    /* 1 */
				  "  a = { path = \"/a\"; };\n"				    /* 2 */
				  "  unused = { path = \"/u\"; };\n"			    /* 3 */
				  "};\n"							    /* 4 */
				  "rules = (\n"						    /* 5 */
				  "  { local = \"2001:db8::/32\"; local_port = \"1-1000\"; jump = \"s\"; },\n"
				  "  { local = \"2001:db8::/32\"; local_port = \"1-1000\"; target = \"a\"; },\n"
				  "  { local = [ \"2001:db8::1\", \"2001:db8:1::/48\" ]; local_port = 22;\n"
				  "    action = \"drop\"; },\n"				    /* 9 */
				  "  { local = [ \"2001:db8::1\", \"2001:db9::1\" ]; target = \"a\"; },\n"
				  "  { local = \"2001:db8::2\"; local_port = [ \"22\", \"1001-1002\" ];\n"
				  "    target = \"a\"; }\n"					    /* 12 */
				  ");\n"							    /* 13 */
				  "rulesets = {\n"						    /* 14 */
				  "  s = ( { action = \"reject\"; },\n"			    /* 15 */
				  "        { local_port = 80; action = \"drop\"; } );\n"	    /* 16 */
				  "  lonely = ( { action = \"drop\"; } );\n"		    /* 17 */
				  "};\n"							    /* 18 */
				  "default = \"reject\";\n",
				  &ms);
	const char *const want[] = {
	    ":3: targets.unused: warning: no rule and not the default sends connections here",
	    ":8: rules[2]: warning: never matches: the rule at line 7 matches every connection it "
	    "would, first",
	    ":16: rulesets.s[1]: warning: never matches: the rule at line 15 matches every "
	    "connection it would, first",
	    ":17: rulesets.lonely: warning: no rule jumps to this set, so its rules never match",
	};
	char full[512];

	ck_assert_msg(cfg != NULL, "did not load:%s", msgs_dump(&ms));
	ck_assert_msg(ms.n == 4, "%u messages:%s", ms.n, msgs_dump(&ms));
	for (unsigned i = 0; i < 4; i++) {
		snprintf(full, sizeof(full), "%s%s", conf, want[i]);
		ck_assert_msg(strcmp(ms.m[i], full) == 0, "message %u:\n  got  %s\n  want %s", i,
			      ms.m[i], full);
	}
	msgs_free(&ms);
	config_free(cfg);
}
END_TEST

START_TEST(test_error_flood_is_capped)
{
	char text[4096], want[256];
	size_t o = 0;
	struct msgs ms;

	/* 60 unknown settings, one a line: the first 50 are shown, then a count of the rest */
	for (int i = 1; i <= 60; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "bogus%d = %d;\n", i, i);
	ck_assert_ptr_null(load(text, &ms));
	ck_assert_uint_eq(ms.n, 51);
	snprintf(want, sizeof(want), "%s:1: top level: unknown setting \"bogus1\"", conf);
	ck_assert_str_eq(ms.m[0], want);
	snprintf(want, sizeof(want), "%s:50: top level: unknown setting \"bogus50\"", conf);
	ck_assert_str_eq(ms.m[49], want);
	snprintf(want, sizeof(want), "%s: 10 more errors not shown", conf);
	ck_assert_str_eq(ms.m[50], want);
	msgs_free(&ms);
}
END_TEST

/* ---- what a reload may not change ---- */

static struct config *reload_ok(const char *text)
{
	struct msgs ms;
	struct config *cfg;

	write_file(conf, text);
	memset(&ms, 0, sizeof(ms));
	cfg = config_reload(conf, collect, &ms);
	for (unsigned i = 0; i < ms.n; i++)
		ck_assert_msg(strstr(ms.m[i], ": warning: "), "did not load:%s", msgs_dump(&ms));
	ck_assert_msg(cfg != NULL, "did not load:%s", msgs_dump(&ms));
	msgs_free(&ms);
	return cfg;
}

/* The first start-up setting that differs between two files, or NULL. The acceptor
 * compares with a copy (config_fixed_copy) of the first: the copy must answer the same. */
static const char *fixed_diff(const char *old_text, const char *new_text)
{
	struct config *old = reload_ok(old_text), *new = reload_ok(new_text);
	struct config *kept = config_fixed_copy(old);
	const char *diff = config_fixed_diff(old, new);

	ck_assert_ptr_nonnull(kept);
	ck_assert_ptr_null(kept->rules);
	ck_assert_uint_eq(kept->ntargets, 0);
	ck_assert_ptr_null(config_fixed_diff(kept, old));
	ck_assert_pstr_eq(config_fixed_diff(kept, new), diff);
	config_free(kept);
	config_free(old);
	config_free(new);
	return diff;
}

static const char fixed_base[] = "listen = { port = 80; backlog = 10; };\n"
				 "user = \"u\";\n"
				 "group = \"g\";\n"
				 "groups = [ \"a\", \"b\" ];\n"
				 "chroot = \"/c\";\n"
				 "log = \"stderr\";\n"
				 "targets = { t = { path = \"/run/t.sock\"; }; };\n"
				 "default = \"t\";\n";

/* fixed_base with the line of setting key replaced by line (NULL: left out). */
static const char *fixed_variant(char *buf, size_t len, const char *key, const char *line)
{
	size_t o = 0, klen = strlen(key);

	for (const char *l = fixed_base; *l;) {
		const char *end = strchr(l, '\n') + 1;

		if (strncmp(l, key, klen) == 0 && l[klen] == ' ') {
			if (line)
				o += (size_t)snprintf(buf + o, len - o, "%s\n", line);
		} else {
			o += (size_t)snprintf(buf + o, len - o, "%.*s", (int)(end - l), l);
		}
		ck_assert_uint_lt(o, len);
		l = end;
	}
	return buf;
}

START_TEST(test_fixed_settings)
{
	static const struct {
		const char *key, *line, *want;
	} cases[] = {
	    {"listen", "listen = { port = 81; backlog = 10; };", "listen"},
	    {"listen", "listen = { port = 80; backlog = 11; };", "listen"},
	    {"listen", "listen = { port = 80; backlog = 10; address = \"::1\"; };", "listen"},
	    {"listen", "listen = { port = 80; backlog = 10; v6only = true; };", "listen"},
	    {"user", "user = \"v\";", "user"},
	    {"user", NULL, "user"},
	    {"user", "user = \"\";", "user"},
	    {"group", "group = \"h\";", "group"},
	    {"groups", "groups = [ \"a\" ];", "groups"},
	    {"groups", "groups = [ \"a\", \"c\" ];", "groups"},
	    {"groups", "groups = [ \"a,b\" ];", "groups"},
	    {"chroot", "chroot = \"/d\";", "chroot"},
	    {"log", "log = \"syslog\";", "log"},
	    /* the same, said otherwise */
	    {"log", NULL, NULL},
	    /* what a reload applies */
	    {"targets", "targets = { t = { path = \"/run/u.sock\"; }; x = { fd = 3; }; };", NULL},
	    {"default", "default = \"drop\";", NULL},
	};
	char text[512];

	ck_assert_ptr_null(fixed_diff(fixed_base, fixed_base));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fixed_variant(text, sizeof(text), cases[i].key, cases[i].line);
		ck_assert_pstr_eq(fixed_diff(fixed_base, text), cases[i].want);
	}
}
END_TEST

/* Was cut at 1 KiB when the settings were copied into fixed-size buffers: two lists that
 * differ only after that compared equal, and a reload did not warn. */
START_TEST(test_fixed_long_groups_list)
{
	char line[4096], old_text[4608], new_text[4608];
	size_t o = 0;

	o += (size_t)snprintf(line, sizeof(line), "groups = [ ");
	for (int i = 0; i < 200; i++)
		o += (size_t)snprintf(line + o, sizeof(line) - o, "\"group-%03d\", ", i);
	o += (size_t)snprintf(line + o, sizeof(line) - o, "\"last\" ];");
	ck_assert_uint_gt(o, 2048);
	ck_assert_uint_lt(o, sizeof(line));
	fixed_variant(old_text, sizeof(old_text), "groups", line);
	ck_assert_ptr_null(fixed_diff(old_text, old_text));
	line[o - 5] = 'X'; /* "lasX" */
	fixed_variant(new_text, sizeof(new_text), "groups", line);
	ck_assert_pstr_eq(fixed_diff(old_text, new_text), "groups");
}
END_TEST

/* ---- allocation failures ---- */

/* Every setting that allocates, loaded once per allocation with that one failing: each
 * time the load fails and says "out of memory" first (nothing starts, a reload keeps the
 * old configuration), never a configuration with a part missing. */
START_TEST(test_out_of_memory_fails_the_load)
{
	static const char text[] =
	    "listen = { port = 1; };\n"
	    "user = \"nobody\";\n"
	    "group = \"nogroup\";\n"
	    "groups = [ \"nogroup\", \"4242\" ];\n"
	    "chroot = \"/var/empty\";\n"
	    "targets = {\n"
	    "  web = { path = [ \"/run/a.sock\", \"/run/b-%l4.sock\" ]; };\n"
	    "  fd = { fd = 5; };\n"
	    "};\n"
	    "rulesets = { inner = ( { remote_port = \"1000-2000\"; action = \"drop\"; } ); };\n"
	    "rules = (\n"
	    "  { local = [ \"2001:db8::1\", \"10.0.0.0/8\" ]; local_port = [ 22, 80 ];\n"
	    "    target = \"web\"; },\n"
	    "  { remote = \"2001:db8:bad::/48\"; jump = \"inner\"; }\n"
	    ");\n"
	    "default = \"fd\";\n";
	long failed;

	write_file(conf, text);
	for (failed = 0;; failed++) {
		struct msgs ms = {0};
		struct config *cfg;

		alloc_countdown = failed;
		cfg = config_load(conf, collect, &ms);
		if (alloc_countdown >= 0) {
			/* fewer allocations than that: this time the whole file loaded */
			alloc_countdown = -1;
			ck_assert_msg(cfg != NULL && ms.n == 0, "did not load:%s", msgs_dump(&ms));
			ck_assert_uint_eq(cfg->ngroups, 2);
			ck_assert_uint_eq(cfg->ntargets, 2);
			ck_assert_uint_eq(cfg->targets[0].npaths, 2);
			ck_assert_uint_eq(rules_count(cfg->rules), 4);
			config_free(cfg);
			break;
		}
		ck_assert_msg(cfg == NULL, "allocation %ld failed, yet the file loaded", failed);
		ck_assert_msg(ms.n > 0 && strstr(ms.m[0], "out of memory") != NULL,
			      "allocation %ld failed:%s", failed, msgs_dump(&ms));
		msgs_free(&ms);
	}
	/* the loop did fail allocations in every part */
	ck_assert_int_gt(failed, 20);
}
END_TEST

START_TEST(test_quick_config)
{
	struct config *cfg = config_quick("/run/x.sock", -1);
	struct verdict v;

	ck_assert_ptr_nonnull(cfg);
	ck_assert_str_eq(cfg->file, "(command line)");
	ck_assert_uint_eq(cfg->ntargets, 1);
	ck_assert_uint_eq(cfg->targets[0].npaths, 1);
	ck_assert_str_eq(cfg->targets[0].paths[0], "/run/x.sock");
	ck_assert_int_eq(cfg->targets[0].fd, -1);
	ck_assert_uint_eq(cfg->targets[0].queue, CONFIG_DEFAULT_QUEUE);
	lookup(cfg, "2001:db8::1", 1, "::1", &v);
	ck_assert_int_eq(v.action, RULE_TARGET);
	ck_assert_uint_eq(v.target, 0);
	config_free(cfg);

	cfg = config_quick(NULL, 7);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_str_eq(cfg->targets[0].name, "fd");
	ck_assert_uint_eq(cfg->targets[0].npaths, 0);
	ck_assert_int_eq(cfg->targets[0].fd, 7);
	config_free(cfg);
	config_free(NULL);
}
END_TEST

/* ---- regressions: bugs found by these tests, now fixed ---- */

/* Was a bug (src/config_rules.c, config_prefixes): a match key that is a scalar other than a
 * string (`local = 5;`, `remote = true;`) is neither a string nor an array/list, so the loop
 * takes config_setting_get_elem(s, 0), which is NULL for a scalar, and config_string() then
 * dereferences NULL: the loader crashes (SIGSEGV) instead of reporting the error. */
START_TEST(test_regression_scalar_match_key_crashes)
{
	EXPECT_ERRORS("rules = ( { local = 5; action = \"drop\"; } );\n",
		      ":1: rules[0].local: must be a string, not a number");
	EXPECT_ERRORS("rules = ( { remote = true; action = \"drop\"; } );\n",
		      ":1: rules[0].remote: must be a string, not a boolean");
	/* found by fuzz_config: an empty group was taken for a list of one */
	EXPECT_ERRORS("rules = ( { local = { }; action = \"drop\"; } );\n",
		      ":1: rules[0].local: must be a string, not a group");
}
END_TEST

/* Was a bug (src/config_rules.c, config_load_rule): a target/action/jump that is not a string
 * is reported under the bare key ("action") instead of the rule's setting path
 * ("rules[0].action"), unlike every other message. */
START_TEST(test_regression_verdict_type_error_names_setting)
{
	EXPECT_ERRORS("rules = ( { action = 5; } );\n",
		      ":1: rules[0].action: must be a string, not a number");
	EXPECT_ERRORS("rules = ( { target = true; } );\n",
		      ":1: rules[0].target: must be a string, not a boolean");
	EXPECT_ERRORS("rulesets = { a = ( ); };\nrules = ( { jump = 1; } );\n",
		      ":2: rules[0].jump: must be a string, not a number");
}
END_TEST

/* Was a bug (src/config_rules.c, config_load_rules/config_load_rule): a rule set named
 * "rules" is created (a second set of that name), but a jump to it finds the main list
 * (set 0) and reports "no rule set named "rules" in rulesets", which is false. Either the
 * name should be refused where the set is defined, or the jump should reach the set. */
START_TEST(test_regression_ruleset_named_rules)
{
	struct msgs ms;
	struct config *cfg = load("rulesets = { rules = ( { action = \"drop\"; } ); };\n"
				  "rules = ( { action = \"drop\"; } );\n",
				  &ms);
	char want[256];

	snprintf(want, sizeof(want),
		 "%s:1: rulesets.rules: the name \"rules\" belongs to the main list; choose another",
		 conf);
	ck_assert_ptr_null(cfg);
	ck_assert_msg(ms.n == 1 && strcmp(ms.m[0], want) == 0, "unexpected:%s", msgs_dump(&ms));
	msgs_free(&ms);
}
END_TEST

/* stats = { path; mode; group; }: libconfig reads 0640 as 640, which means octal here. */
START_TEST(test_stats_setting)
{
	struct config *cfg = load_ok("default = \"reject\";\n"
				     "stats = { path = \"/run/sb/stats.sock\"; mode = 0640; "
				     "group = \"nogroup\"; };\n");

	ck_assert_str_eq(cfg->stats_path, "/run/sb/stats.sock");
	ck_assert_uint_eq(cfg->stats_mode, 0640);
	ck_assert_str_eq(cfg->stats_group, "nogroup");
	config_free(cfg);
	cfg = load_ok("default = \"reject\";\nstats = { path = \"/s\"; mode = \"0600\"; };\n");
	ck_assert_uint_eq(cfg->stats_mode, 0600);
	config_free(cfg);
	cfg = load_ok("default = \"reject\";\n");
	ck_assert_ptr_null(cfg->stats_path);
	config_free(cfg);
	EXPECT_ERRORS("default = \"reject\";\nstats = { path = \"run/s\"; mode = 0690; "
		      "group = \"no-such-group-here\"; sped = 1; };\n",
		      ":2: stats: unknown setting \"sped\"",
		      ":2: stats.path: \"run/s\" is not an absolute path",
		      ":2: stats.mode: must be a file mode in octal, such as 0660",
		      ":2: stats.group: no such group \"no-such-group-here\"");
	EXPECT_ERRORS("default = \"reject\";\nstats = { mode = 0x1a0; };\n",
		      ":2: stats: needs a path",
		      ":2: stats.mode: must be a file mode in octal, such as 0660");
	EXPECT_ERRORS("default = \"reject\";\nstats = \"/s\";\n",
		      ":2: stats: must be a group { path = \"...\"; mode = 0660; }, not a string");
}
END_TEST

/* The reload line names the targets a reload adds and removes, ten of each at most. */
START_TEST(test_target_changes)
{
	struct config *a = load_ok("targets = { one = { path = \"/a\"; }; two = { path = \"/b\"; }; };\n"
				   "default = \"one\";\n");
	struct config *b = load_ok("targets = { two = { path = \"/c\"; }; three = { path = \"/b\"; }; };\n"
				   "default = \"two\";\n");
	char text[4096] = "targets = {", line[64], buf[512];
	struct config *many;

	config_target_changes(a, b, buf, sizeof(buf));
	ck_assert_str_eq(buf, "; targets added: three; targets removed: one");
	config_target_changes(a, a, buf, sizeof(buf));
	ck_assert_str_eq(buf, "; the same targets");
	for (int i = 0; i < 12; i++) {
		snprintf(line, sizeof(line), " t%d = { path = \"/t\"; };", i);
		strcat(text, line);
	}
	strcat(text, " };\ndefault = \"reject\";\n");
	many = load_ok(text);
	config_target_changes(b, many, buf, sizeof(buf));
	ck_assert_str_eq(buf, "; targets added: t0, t1, t2, t3, t4, t5, t6, t7, t8, t9 and 2 more; "
			      "targets removed: two, three");
	config_free(many);
	config_free(a);
	config_free(b);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("config");
	TCase *ok = tcase_create("loads");
	TCase *err = tcase_create("errors");

	tcase_add_unchecked_fixture(ok, dir_setup, dir_teardown);
	tcase_add_test(ok, test_design_example);
	tcase_add_test(ok, test_target_names);
	tcase_add_test(ok, test_other_settings_load);
	tcase_add_test(ok, test_several_listeners);
	tcase_add_test(ok, test_jump_to_later_set_loads);
	tcase_add_test(ok, test_jump_map_loads);
	tcase_add_test(ok, test_quick_config);
	tcase_add_test(ok, test_fixed_settings);
	tcase_add_test(ok, test_fixed_long_groups_list);
	tcase_add_test(ok, test_stats_setting);
	tcase_add_test(ok, test_target_changes);
	suite_add_tcase(s, ok);

	tcase_add_unchecked_fixture(err, dir_setup, dir_teardown);
	tcase_add_test(err, test_syntax_error);
	tcase_add_test(err, test_unreadable_file);
	tcase_add_test(err, test_errors_in_an_included_file);
	tcase_add_test(err, test_unknown_keys);
	tcase_add_test(err, test_wrong_types);
	tcase_add_test(err, test_out_of_range);
	tcase_add_test(err, test_target_path_or_fd);
	tcase_add_test(err, test_target_paths);
	tcase_add_test(err, test_rule_needs_one_verdict);
	tcase_add_test(err, test_rule_unknown_names);
	tcase_add_test(err, test_jump_loops);
	tcase_add_test(err, test_jump_limit);
	tcase_add_test(err, test_bad_addresses);
	tcase_add_test(err, test_bad_ports);
	tcase_add_test(err, test_listener_errors);
	tcase_add_test(err, test_identity_errors);
	tcase_add_test(err, test_abstract_target_needs_consent);
	tcase_add_test(err, test_bad_default);
	tcase_add_test(err, test_every_error_reported);
	tcase_add_test(err, test_warnings);
	tcase_add_test(err, test_error_flood_is_capped);
	tcase_add_test(err, test_out_of_memory_fails_the_load);
	suite_add_tcase(s, err);

	{
		TCase *bugs = tcase_create("regressions");

		tcase_add_unchecked_fixture(bugs, dir_setup, dir_teardown);
		tcase_add_test(bugs, test_regression_scalar_match_key_crashes);
		tcase_add_test(bugs, test_regression_verdict_type_error_names_setting);
		tcase_add_test(bugs, test_regression_ruleset_named_rules);
		suite_add_tcase(s, bugs);
	}
	{
		TCase *large = tcase_create("large");

		/* libconfig takes seconds to read a group of 20,000 members (Check's default
		 * timeout is 4 s) */
		tcase_set_timeout(large, 120);
		tcase_add_unchecked_fixture(large, dir_setup, dir_teardown);
		tcase_add_test(large, test_jump_chain_20000);
		suite_add_tcase(s, large);
	}
	return s;
}
