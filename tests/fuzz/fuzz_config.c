/* fuzz_config.c - the configuration loader on arbitrary file contents.
 *
 * The input is written to one temporary file per process (unlinked, loaded as
 * /proc/self/fd/N) and loaded with config_load.
 * Invariants: no crash, leak or undefined behaviour (ASan, LSan, UBSan); every reported
 * message starts with "FILE:" where FILE is the loaded file (or, after an @include in
 * the input, the included file that libconfig names); a failed load reports at least one
 * error and a successful one none (warnings aside); a file that config_load accepts,
 * config_reload (which checks less) accepts too, with the same start-up settings; a loaded
 * configuration answers rules_lookup for a few keys and frees cleanly.
 *
 * libconfig itself is not instrumented (the system library is used), so the seed corpus
 * and the dictionary (fuzz_config.dict) carry most of the syntax. */
#include "config.h"
#include "rules.h"

#include "fuzz_util.h"

#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

/* The file is created and unlinked at once, and loaded through /proc/self/fd/N: one path
 * for the whole process, and nothing left behind however the process ends. */
static char path[64];
static int file_fd = -1;
static const uint8_t *cur_data;
static size_t cur_size;

struct report_ctx {
	unsigned messages;
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char name[256];

	(void)argc;
	(void)argv;
	snprintf(name, sizeof(name), "%s/sbfuzz-config-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	file_fd = mkstemp(name);
	if (file_fd < 0) {
		perror("mkstemp");
		exit(1);
	}
	unlink(name);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", file_fd);
	return 0;
}

/* Does the input @include a file whose name starts the message? */
static bool named_by_include(const char *msg)
{
	const char *colon = strchr(msg, ':');
	size_t n = colon ? (size_t)(colon - msg) : 0;

	if (n == 0 || memmem(cur_data, cur_size, "@include", 8) == NULL)
		return false;
	return memmem(cur_data, cur_size, msg, n) != NULL;
}

static void report(void *ctx, const char *msg)
{
	struct report_ctx *rc = ctx;
	size_t n = strlen(path);

	/* Warnings (socketbox -c's: a target nothing uses, a rule an earlier one shadows) come
	 * with a successful load too: only errors count. */
	if (!fz_config_warning(msg, path))
		rc->messages++;
	if (strlen(msg) == 0)
		FZ_FAIL("empty report");
	if ((strncmp(msg, path, n) != 0 || msg[n] != ':') && !named_by_include(msg))
		FZ_FAIL("report does not start with the file name \"%s\": \"%s\"", path, msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct report_ctx ctx = {0}, ctx2 = {0};
	struct config *cfg, *again;

	cur_data = data;
	cur_size = size;
	fz_write_file(file_fd, data, size);
	cfg = config_load(path, report, &ctx);
	if (cfg == NULL) {
		if (ctx.messages == 0)
			FZ_FAIL("config_load failed without a message");
		return 0;
	}
	if (ctx.messages != 0)
		FZ_FAIL("config_load succeeded after %u messages", ctx.messages);
	FZ_CHECK(cfg->file != NULL && strcmp(cfg->file, path) == 0);
	FZ_CHECK(cfg->rules != NULL);
	for (unsigned i = 0; i < cfg->ntargets; i++) {
		const struct target_conf *t = &cfg->targets[i];

		FZ_CHECK(t->name != NULL);
		FZ_CHECK((t->npaths > 0) != (t->fd >= 0));
		FZ_CHECK(t->npaths <= CONFIG_MAX_PATHS);
		FZ_CHECK(t->queue >= 1 && t->queue <= CONFIG_MAX_QUEUE);
	}

	/* A few lookups on the loaded rules: every verdict names a real target. */
	for (unsigned i = 0; i < 4; i++) {
		struct conn_key k;
		struct verdict v;

		memset(&k, 0, sizeof(k));
		if (size > 0) {
			for (unsigned b = 0; b < 16; b++) {
				k.local.s6_addr[b] = data[(i * 37 + b) % size];
				k.remote.s6_addr[b] = data[(i * 53 + b * 7) % size];
			}
			k.local_port = (uint16_t)(data[i % size] << 8 | data[(i + 1) % size]);
		}
		if (i & 1)
			memcpy(k.local.s6_addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
		rules_lookup(cfg->rules, &k, &v);
		FZ_CHECK(v.action == RULE_TARGET || v.action == RULE_REJECT ||
			 v.action == RULE_DROP);
		if (v.action == RULE_TARGET && v.target >= cfg->ntargets)
			FZ_FAIL("verdict names target %u of %u", v.target, cfg->ntargets);
	}

	/* A reload checks a subset of what a load does. */
	again = config_reload(path, report, &ctx2);
	if (again == NULL)
		FZ_FAIL("config_reload rejected a file config_load accepted");
	{
		struct config *fixed = config_fixed_copy(cfg);
		const char *diff;

		FZ_CHECK(fixed != NULL);
		if ((diff = config_fixed_diff(fixed, again)) != NULL)
			FZ_FAIL("reload of the same file differs in \"%s\"", diff);
		config_free(fixed);
	}
	config_free(again);
	config_free(cfg);
	return 0;
}

/* libconfig 1.5 (Debian 12) leaks the string being scanned when a parse fails inside or
 * after it (allocations in libconfig_yylex and strbuf_append; reproduced with libconfig
 * alone): not ours to fix, and it would stop every run within seconds. Only allocations
 * made inside libconfig are exempt: a leak of ours is still reported. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}
