/* test_register.c - the registration protocol's request parser (src/regmsg.c) and the
 * configuration of registration (src/config_register.c): register, register_limit, slot
 * and allow, each error with its file, line and setting. */
#include "config.h"
#include "regmsg.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

START_TEST(test_request_parse)
{
	static const unsigned char good[] = {1, 0, 0, 0, 0x01, 0x02, 0x03, 0x04};
	unsigned char bad[8];
	uint32_t slot = 0;

	ck_assert_ptr_null(regmsg_parse(good, sizeof(good), &slot));
	ck_assert_uint_eq(slot, 0x01020304);
	ck_assert_str_eq(regmsg_parse(good, 7, &slot), "request too short");
	ck_assert_str_eq(regmsg_parse(good, 0, &slot), "request too short");
	ck_assert_str_eq(regmsg_parse(good, 9, &slot), "request too long");
	memcpy(bad, good, 8);
	bad[0] = 0x03;
	ck_assert_str_eq(regmsg_parse(bad, 8, &slot), "not a registration request");
	memcpy(bad, good, 8);
	bad[2] = 1;
	ck_assert_str_eq(regmsg_parse(bad, 8, &slot), "reserved bytes are not zero");
	ck_assert_int_eq(regmsg_accepted[0], 0x80);
}
END_TEST

static char path[64], said[4096];

static void said_add(void *ctx, const char *msg)
{
	size_t n = strlen(said);
	const char *rel = strncmp(msg, path, strlen(path)) == 0 ? msg + strlen(path) : msg;

	(void)ctx;
	snprintf(said + n, sizeof(said) - n, "%s\n", rel);
}

/* Loads text; returns the configuration (NULL on errors), what was said in said. */
static struct config *try_load(const char *text)
{
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/tmp/sb-test-register-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	said[0] = '\0';
	struct config *cfg = config_load(path, said_add, NULL);
	unlink(path);
	return cfg;
}

#define REG "register = { path = \"/run/sb/register.sock\"; };\n"

START_TEST(test_config_loads)
{
	struct config *cfg = try_load(
		"register = ( { path = \"/run/a.sock\"; mode = \"0660\"; }, { path = \"/run/b.sock\"; } );\n"
		"register_limit = { per_uid = 2; per_slot = 3; };\n"
		"targets = { ssh = { slot = 22; allow = ( \"root\", 100000, \"100001\" ); };\n"
		"  web = { slot = 80; allow = [ 0 ]; path = \"/run/web.sock\"; };\n"
		"  old = { path = \"/run/old.sock\"; }; };\n"
		"default = \"ssh\";\n");

	ck_assert_msg(cfg != NULL, "did not load:\n%s", said);
	ck_assert_uint_eq(cfg->nregisters, 2);
	ck_assert_str_eq(cfg->registers[0].path, "/run/a.sock");
	ck_assert_uint_eq(cfg->registers[0].mode, 0660);
	ck_assert_uint_eq(cfg->registers[1].mode, 0666);
	ck_assert_uint_eq(cfg->reg_per_uid, 2);
	ck_assert_uint_eq(cfg->reg_per_slot, 3);
	ck_assert(cfg->targets[0].has_slot);
	ck_assert_uint_eq(cfg->targets[0].slot, 22);
	ck_assert_uint_eq(cfg->targets[0].nallow, 3);
	ck_assert_uint_eq(cfg->targets[0].allow[0], 0);
	ck_assert_uint_eq(cfg->targets[0].allow[1], 100000);
	ck_assert_uint_eq(cfg->targets[0].allow[2], 100001);
	ck_assert_uint_eq(cfg->targets[1].npaths, 1);
	ck_assert(!cfg->targets[2].has_slot);
	config_free(cfg);

	cfg = try_load(REG "targets = { t = { slot = 4294967295L; allow = [ 1 ]; }; };\n"
			   "default = \"t\";\n");
	ck_assert_msg(cfg != NULL, "did not load:\n%s", said);
	ck_assert_uint_eq(cfg->targets[0].slot, 4294967295u);
	ck_assert_uint_eq(cfg->reg_per_uid, CONFIG_DEFAULT_REG_PER_UID);
	ck_assert_uint_eq(cfg->reg_per_slot, CONFIG_DEFAULT_REG_PER_SLOT);
	config_free(cfg);
}
END_TEST

static void expect(const char *text, const char *want)
{
	struct config *cfg = try_load(text);

	ck_assert_msg(cfg == NULL, "loaded, expected:\n%s", want);
	ck_assert_msg(strcmp(said, want) == 0, "got:\n%swant:\n%s", said, want);
}

START_TEST(test_config_errors)
{
	expect("targets = { t = { slot = 1; allow = [ 0 ]; }; };\ndefault = \"t\";\n",
	       ":1: targets.t.slot: no applet can register: set register = { path = "
	       "\"/run/socketbox/register.sock\"; }\n");
	expect(REG "targets = { t = { slot = 1; }; };\ndefault = \"t\";\n",
	       ":2: targets.t.allow: a slot needs allow = [ \"user\", uid, ... ]: who may "
	       "register for it\n");
	expect(REG "targets = { t = { slot = 1; allow = [ ]; }; };\ndefault = \"t\";\n",
	       ":2: targets.t.allow: a slot needs allow = [ \"user\", uid, ... ]: who may "
	       "register for it\n");
	expect(REG "targets = { t = { slot = 1; allow = ( \"no-such-user-here\", -1 ); };\n"
		   "};\ndefault = \"t\";\n",
	       ":2: targets.t.allow: no such user \"no-such-user-here\"\n"
	       ":2: targets.t.allow: -1 is out of range (0 to 2147483647)\n");
	expect(REG "targets = { t = { slot = -1; allow = [ 0 ]; }; };\ndefault = \"t\";\n",
	       ":2: targets.t.slot: -1 is out of range (0 to 4294967295)\n");
	expect(REG "targets = {\n a = { slot = 1; allow = [ 0 ]; };\n b = { slot = 1; allow = [ 0 ]; "
		   "};\n};\ndefault = \"a\";\n",
	       ":4: targets.b.slot: slot 1 is also target a's\n");
	expect(REG "targets = { t = { path = \"/run/t.sock\"; allow = [ 0 ]; }; };\n"
		   "default = \"t\";\n",
	       ":2: targets.t.allow: is only for a target with a slot\n");
	expect(REG "targets = { t = { slot = 1; allow = [ 0 ]; path = \"/run/t.sock\"; fd = 3; "
		   "}; };\ndefault = \"t\";\n",
	       ":2: targets.t: takes at most one of \"path\" or \"fd\" beside \"slot\"\n");
	expect("register = { path = \"@reg\"; mode = 438; };\ndefault = \"drop\";\n",
	       ":1: register.mode: must be a string, not a number\n"
	       ":1: register.path: \"@reg\" is not an absolute path\n");
	expect("register = { path = \"/run/r.sock\"; mode = \"0999\"; kind = 1; };\n"
	       "default = \"drop\";\n",
	       ":1: register: unknown setting \"kind\"\n"
	       ":1: register.mode: \"0999\" is not an octal mode such as \"0666\"\n");
	expect("register = { mode = \"0666\"; };\ndefault = \"drop\";\n",
	       ":1: register: needs a path\n");
	expect("register = [ 1 ];\ndefault = \"drop\";\n",
	       ":1: register: must be a group or a list of groups\n");
	expect("register_limit = { per_uid = 0; per_slot = 5000; };\ndefault = \"drop\";\n",
	       ":1: register_limit.per_uid: 0 is out of range (1 to 4096)\n"
	       ":1: register_limit.per_slot: 5000 is out of range (1 to 4096)\n");
}
END_TEST

START_TEST(test_reload_needs_restart_for_register)
{
	struct config *a = try_load(REG "default = \"drop\";\n");
	struct config *b = try_load("register = { path = \"/run/other.sock\"; };\ndefault = \"drop\";\n");
	struct config *fixed;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	fixed = config_fixed_copy(a);
	ck_assert_ptr_nonnull(fixed);
	ck_assert_ptr_null(config_fixed_diff(fixed, a));
	ck_assert_str_eq(config_fixed_diff(fixed, b), "register");
	config_free(fixed);
	config_free(a);
	config_free(b);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("register");
	TCase *tc = tcase_create("register");

	tcase_add_test(tc, test_request_parse);
	tcase_add_test(tc, test_config_loads);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_reload_needs_restart_for_register);
	suite_add_tcase(s, tc);
	return s;
}
