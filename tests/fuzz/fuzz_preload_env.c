/* fuzz_preload_env.c - the environment parsing of libsocketbox-preload.so.
 *
 * preload_env_parse (applets/preload/preload_env.c, what the library calls) on the four values, and
 * the parsers it composes, each against an independent reference:
 *   SOCKETBOX_SOCKET     subst_check, then subst_fill with a random local address, port
 *                        and output size: the result is exactly the template with %p as
 *                        decimal digits, %lN as N lower-case hex digits and %% as '%'; in
 *                        particular no '/' that the template did not have
 *   SOCKETBOX_PORTS      ports_parse_list (at most 64 ranges, as the shim)
 *   SOCKETBOX_MODE       num_parse_mode
 *   SOCKETBOX_ALLOW_UID  split at commas as the shim does, fdpass_senders_add per piece
 *
 * Input: 16 bytes of address, 2 of port, 1 of output size, then the four values
 * separated by newlines (a value may hold any other byte; NUL ends it early, as in the
 * environment). */
#include "fdpass.h"
#include "num.h"
#include "preload_env.h"
#include "ports.h"
#include "subst.h"

#include "fuzz_util.h"

#include <pwd.h>
#include <stdbool.h>


/* --- SOCKETBOX_SOCKET ------------------------------------------------------------------ */

/* The expected fill of tmpl, or false when tmpl has a bad token. */
static bool ref_fill(const char *tmpl, const struct in6_addr *a, uint16_t port, char *out,
		     size_t cap, size_t *outlen, bool *token_at /* per output byte */)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

#define OUT(c, tok)                                                                                \
	do {                                                                                       \
		if (o >= cap)                                                                      \
			FZ_FAIL("reference buffer too small");                                     \
		token_at[o] = (tok);                                                       \
		out[o++] = (c);                                                                    \
	} while (0)

	for (size_t i = 0; tmpl[i];) {
		if (tmpl[i] != '%') {
			OUT(tmpl[i], false);
			i++;
			continue;
		}
		if (tmpl[i + 1] == '%') {
			OUT('%', false);
			i += 2;
		} else if (tmpl[i + 1] == 'p') {
			char d[8];
			int n = snprintf(d, sizeof(d), "%u", port);

			for (int k = 0; k < n; k++)
				OUT(d[k], true);
			i += 2;
		} else if (tmpl[i + 1] == 'l' && tmpl[i + 2] >= '0' && tmpl[i + 2] <= '9') {
			/* One or two digits, greedy: "%l100" is %l10 then "0". */
			unsigned n = (unsigned)(tmpl[i + 2] - '0');
			size_t used = 1;

			if (tmpl[i + 3] >= '0' && tmpl[i + 3] <= '9') {
				n = n * 10 + (unsigned)(tmpl[i + 3] - '0');
				used = 2;
			}
			if (n < 1 || n > 32)
				return false;
			for (unsigned nib = 32 - n; nib < 32; nib++) {
				unsigned byte = a->s6_addr[nib / 2];

				OUT(hex[nib % 2 ? byte & 15 : byte >> 4], true);
			}
			i += 2 + used;
		} else {
			return false;
		}
	}
#undef OUT
	*outlen = o;
	return true;
}

static void fuzz_socket(const char *tmpl, const struct in6_addr *a, uint16_t port, size_t outlen)
{
	static char want[1 << 16], got_buf[1 << 16];
	static bool token_at[1 << 16];
	size_t want_len = 0;
	bool ok = ref_fill(tmpl, a, port, want, sizeof(want), &want_len, token_at);
	const char *why = subst_check(tmpl);
	char *got;
	int rc;

	if ((why == NULL) != ok)
		FZ_FAIL("subst_check says %s, the reference %s", why ? why : "fine",
			ok ? "fine" : "a bad token");
	if (!ok)
		return;
	FZ_CHECK(subst_has_tokens(tmpl) == (strchr(tmpl, '%') != NULL));

	/* An exactly sized heap buffer, so that ASan sees any write past outlen. */
	got = malloc(outlen ? outlen : 1);
	rc = subst_fill(tmpl, a, port, got, outlen);
	if (want_len + 1 <= outlen) {
		if (rc != 0)
			FZ_FAIL("subst_fill failed with room for %zu + 1 bytes in %zu", want_len,
				outlen);
		if (strlen(got) != want_len || memcmp(got, want, want_len) != 0)
			FZ_FAIL("subst_fill gave \"%s\", expected \"%.*s\"", got, (int)want_len,
				want);
		/* The guarantee of subst.h, spelled out. */
		for (size_t i = 0; i < want_len; i++) {
			if (token_at[i])
				FZ_CHECK((got[i] >= '0' && got[i] <= '9') ||
					 (got[i] >= 'a' && got[i] <= 'f'));
		}
	} else if (rc != -1) {
		FZ_FAIL("subst_fill fitted %zu + 1 bytes into %zu", want_len, outlen);
	}
	free(got);

	/* The size the shim really uses. */
	rc = subst_fill(tmpl, a, port, got_buf, 108);
	FZ_CHECK(rc == (want_len < 108 ? 0 : -1));
	if (rc == 0) {
		size_t slashes_t = 0, slashes_o = 0;

		for (const char *s = tmpl; *s; s++)
			slashes_t += *s == '/';
		for (const char *s = got_buf; *s; s++)
			slashes_o += *s == '/';
		FZ_CHECK(slashes_o == slashes_t);
	}
}

/* --- SOCKETBOX_PORTS ------------------------------------------------------------------- */

/* "N" or "LO-HI": 1 to 7 decimal digits each (ports.c's limit), value <= 65535. */
static bool ref_port(const char *s, size_t len, uint16_t *port)
{
	unsigned long v = 0;

	if (len == 0 || len > 7)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

static int ref_ports(const char *s, struct port_range *out, unsigned max)
{
	unsigned n = 0;

	if (strcmp(s, "*") == 0)
		return max ? (out[0] = (struct port_range){0, 65535}, 1) : -1;
	for (;;) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		const char *dash = memchr(s, '-', len);
		struct port_range r;

		if (n == max)
			return -1;
		if (dash == NULL) {
			if (!ref_port(s, len, &r.lo))
				return -1;
			r.hi = r.lo;
		} else if (!ref_port(s, (size_t)(dash - s), &r.lo) ||
			   !ref_port(dash + 1, len - (size_t)(dash - s) - 1, &r.hi) || r.lo > r.hi) {
			return -1;
		}
		out[n++] = r;
		if (end == NULL)
			return (int)n;
		s = end + 1;
	}
}

static void fuzz_ports(const char *s, unsigned max)
{
	struct port_range *got = calloc(max ? max : 1, sizeof(*got)), want[PRELOAD_MAX_PORTS];
	int g = ports_parse_list(s, got, max), w = ref_ports(s, want, max);

	if (g != w)
		FZ_FAIL("ports_parse_list(\"%s\", max %u) = %d, reference %d", s, max, g, w);
	for (int i = 0; i < g; i++) {
		FZ_CHECK(got[i].lo == want[i].lo && got[i].hi == want[i].hi);
		FZ_CHECK(ports_contain(got, (unsigned)g, got[i].lo));
		FZ_CHECK(ports_contain(got, (unsigned)g, got[i].hi));
	}
	if (g == 0)
		FZ_FAIL("ports_parse_list returned an empty list");
	free(got);
}

/* --- SOCKETBOX_MODE -------------------------------------------------------------------- */

static int ref_mode(const char *s, unsigned *mode)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '7')
			return -1;
		v = v * 8 + (unsigned long)(*s - '0');
		if (v > 07777)
			return -1;
	}
	*mode = (unsigned)v;
	return 0;
}

static void fuzz_mode(const char *s)
{
	unsigned got = 0xdead, want = 0xbeef;
	int g = num_parse_mode(s, &got), w = ref_mode(s, &want);

	if (g != w)
		FZ_FAIL("num_parse_mode(\"%s\") = %d, reference %d", s, g, w);
	if (g == 0 && got != want)
		FZ_FAIL("num_parse_mode(\"%s\") gave %o, reference %o", s, got, want);
}

/* --- SOCKETBOX_ALLOW_UID --------------------------------------------------------------- */

/* A uid as fdpass_senders_add takes it when no user has that name (ids_user): decimal
 * digits only, at most 2147483647; no sign, so "-0" and "+1" are not uids. */
static bool ref_uid(const char *s, uid_t *uid)
{
	unsigned long long v = 0;

	if (*s == '\0')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned long long)(*s - '0');
		if (v > 0x7fffffff)
			v = 0x80000000ULL; /* sticky: too large */
	}
	if (v > 0x7fffffff)
		return false;
	*uid = (uid_t)v;
	return true;
}

/* As preload_parse_senders: pieces of 1..63 bytes, each a user or a uid. */
static void fuzz_senders(const char *list)
{
	struct fdpass_senders got;
	uid_t want[FDPASS_MAX_SENDERS];
	unsigned nwant = 0;
	char user[64];
	bool want_ok = true;

	memset(&got, 0, sizeof(got));
	for (;;) {
		size_t len = strcspn(list, ",");
		const struct passwd *pw;
		uid_t uid;
		bool ref;
		int rc;

		if (len == 0 || len >= sizeof(user)) {
			want_ok = false;
			break;
		}
		memcpy(user, list, len);
		user[len] = '\0';
		pw = getpwnam(user);
		ref = pw ? (uid = pw->pw_uid, true) : ref_uid(user, &uid);
		if (ref && nwant == FDPASS_MAX_SENDERS)
			ref = false;
		rc = fdpass_senders_add(&got, user);
		if ((rc == 0) != ref)
			FZ_FAIL("fdpass_senders_add(\"%s\") = %d, reference %s", user, rc,
				ref ? "accepts" : "rejects");
		if (!ref) {
			want_ok = false;
			break;
		}
		want[nwant++] = uid;
		if (list[len] == '\0')
			break;
		list += len + 1;
	}
	(void)want_ok;
	FZ_CHECK(got.n == nwant);
	for (unsigned i = 0; i < nwant; i++)
		FZ_CHECK(got.uids[i] == want[i]);
}

/* --- the whole environment ------------------------------------------------------------ */

/* preload_env_parse agrees with its parts: usable exactly when every given value is. */
static void fuzz_env(const char *sock, const char *ports, const char *mode, const char *allow)
{
	struct port_range pr[PRELOAD_MAX_PORTS];
	struct fdpass_senders snd;
	struct preload_env e;
	unsigned m;
	int n;
	bool ok;

	preload_env_parse(&e, sock, ports, mode, allow, NULL);
	if (sock == NULL && ports == NULL) {
		FZ_CHECK(!e.active && e.error == NULL);
		return;
	}
	FZ_CHECK(e.active);
	memset(&snd, 0, sizeof(snd));
	n = ports ? ports_parse_list(ports, pr, PRELOAD_MAX_PORTS) : -1;
	ok = sock && *sock && subst_check(sock) == NULL && n > 0 &&
	     (mode == NULL || num_parse_mode(mode, &m) == 0);
	if (ok && allow) {
		/* the same list through the same adder: the senders must come out equal */
		const char *p = allow;
		char user[64];

		for (;;) {
			size_t len = strcspn(p, ",");

			if (len == 0 || len >= sizeof(user)) {
				ok = false;
				break;
			}
			memcpy(user, p, len);
			user[len] = '\0';
			if (fdpass_senders_add(&snd, user) < 0) {
				ok = false;
				break;
			}
			if (p[len] == '\0')
				break;
			p += len + 1;
		}
	}
	FZ_CHECK(ok == (e.error == NULL));
	if (ok) {
		FZ_CHECK(e.nports == (unsigned)n && memcmp(e.ports, pr, n * sizeof(pr[0])) == 0);
		FZ_CHECK(e.senders.n == snd.n &&
			 memcmp(e.senders.uids, snd.uids, snd.n * sizeof(uid_t)) == 0);
		FZ_CHECK(e.tmpl == sock);
	}
}

/* --- the input ------------------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = {data, size};
	struct in6_addr a;
	uint16_t port;
	size_t outlen;
	char *rest, *field[4] = {NULL, NULL, NULL, NULL}, *p;

	fz_bytes(&f, &a, sizeof(a));
	port = fz_u16(&f);
	outlen = fz_u8(&f);
	if (outlen == 255)
		outlen = 108 + fz_u8(&f) * 4;
	/* The rest as one string, cut at newlines into the four values. */
	rest = malloc(f.n + 1);
	memcpy(rest, f.p, f.n);
	rest[f.n] = '\0';
	p = rest;
	for (int i = 0; i < 4 && p; i++) {
		field[i] = p;
		p = strchr(p, '\n');
		if (p)
			*p++ = '\0';
	}
	if (field[0])
		fuzz_socket(field[0], &a, port, outlen);
	if (field[1]) {
		fuzz_ports(field[1], PRELOAD_MAX_PORTS);
		fuzz_ports(field[1], 1 + port % 4); /* small lists fill up */
	}
	if (field[2])
		fuzz_mode(field[2]);
	if (field[3])
		fuzz_senders(field[3]);
	fuzz_env(field[0], field[1], field[2], field[3]);
	free(rest);
	return 0;
}
