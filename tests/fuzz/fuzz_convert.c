/* fuzz_convert.c - socketbox --convert on arbitrary input in the original socketbox's format.
 *
 * Invariants: no crash, leak or undefined behaviour (ASan, LSan, UBSan); every message
 * starts with "NAME:" and is one line; a failed conversion reports at least one message and
 * a successful one none; the text of a successful conversion is a socketbox.conf that
 * config_load accepts (written to a temporary file, loaded as /proc/self/fd/N) - unless
 * the loader's only objection is its bound on the steps of one lookup, which the converter
 * cannot tell in advance and which `socketbox --convert` checks by loading the result;
 * lookups in the loaded configuration name real targets.
 *
 * The seed corpus (corpus/convert) holds tests/integration/data/convert/ and the
 * dictionary (fuzz_convert.dict) the tokens of the format. */
#include "config.h"
#include "convert.h"
#include "rules.h"

#include "fuzz_util.h"

#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#define NAME "fuzz.conf"

static char path[64];
static int file_fd = -1;

struct report_ctx {
	unsigned messages;
	bool steps_only; /* every loader message is the step bound's */
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char name[256];

	(void)argc;
	(void)argv;
	snprintf(name, sizeof(name), "%s/sbfuzz-convert-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	file_fd = mkstemp(name);
	if (file_fd < 0) {
		perror("mkstemp");
		exit(1);
	}
	unlink(name);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", file_fd);
	return 0;
}

static void convert_report(void *ctx, const char *msg)
{
	struct report_ctx *rc = ctx;

	rc->messages++;
	if (strncmp(msg, NAME ":", strlen(NAME ":")) != 0)
		FZ_FAIL("message does not start with \"" NAME ":\": \"%s\"", msg);
	if (strchr(msg, '\n') != NULL)
		FZ_FAIL("message of more than one line: \"%s\"", msg);
}

static void load_report(void *ctx, const char *msg)
{
	struct report_ctx *rc = ctx;

	/* A warning (socketbox -c's: a rule an earlier one shadows, as in the original) is no
	 * refusal. */
	if (fz_config_warning(msg, path))
		return;
	rc->messages++;
	if (strstr(msg, "steps (tries of rule sets and hash tables probed)") == NULL)
		rc->steps_only = false;
	fprintf(stderr, "loader: %s\n", msg);
}

static void lookups(const struct config *cfg, const uint8_t *data, size_t size)
{
	for (unsigned i = 0; i < 8; i++) {
		struct conn_key k;
		struct verdict v;

		memset(&k, 0, sizeof(k));
		for (unsigned b = 0; size > 0 && b < 16; b++) {
			k.local.s6_addr[b] = data[(i * 37 + b) % size];
			k.remote.s6_addr[b] = data[(i * 53 + b * 7) % size];
		}
		k.local_port = (uint16_t)(size ? data[i % size] % 8 : i);
		rules_lookup(cfg->rules, &k, &v);
		/* The converter never writes "reject": the original closed, it did not reset. */
		FZ_CHECK(v.action == RULE_TARGET || v.action == RULE_DROP);
		if (v.action == RULE_TARGET && v.target >= cfg->ntargets)
			FZ_FAIL("verdict names target %u of %u", v.target, cfg->ntargets);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct report_ctx rc = {0}, lc = {.steps_only = true};
	char *text = NULL;
	size_t len = 0;
	struct config *cfg;
	FILE *out = open_memstream(&text, &len);
	unsigned errors;

	FZ_CHECK(out != NULL);
	errors = convert_text(NAME, (const char *)data, size, out, convert_report, &rc);
	FZ_CHECK(fclose(out) == 0);
	if (errors > 0) {
		if (rc.messages == 0)
			FZ_FAIL("%u errors without a message", errors);
		free(text);
		return 0;
	}
	if (rc.messages != 0)
		FZ_FAIL("a conversion succeeded after %u messages", rc.messages);
	fz_write_file(file_fd, text, len);
	cfg = config_load(path, load_report, &lc);
	if (cfg == NULL && !(lc.messages > 0 && lc.steps_only))
		FZ_FAIL("the loader refuses the converted text:\n%s", text);
	if (cfg != NULL) {
		FZ_CHECK(lc.messages == 0);
		lookups(cfg, data, size);
		config_free(cfg);
	}
	free(text);
	return 0;
}

/* libconfig 1.5 (Debian 12) leaks when a parse fails; the converter's output should never
 * fail to parse, but a leak inside libconfig is not ours to report (see fuzz_config.c). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}
