/* fuzz_util.h - a tiny byte reader for the libFuzzer targets (after LLVM's
 * FuzzedDataProvider): every read succeeds, yielding zeros once the input runs out. */
#ifndef SB_FUZZ_UTIL_H
#define SB_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz_u8(struct fz *f)
{
	uint8_t v = 0;

	if (f->n) {
		v = *f->p++;
		f->n--;
	}
	return v;
}

static inline uint16_t fz_u16(struct fz *f)
{
	return (uint16_t)(fz_u8(f) | fz_u8(f) << 8);
}

static inline uint32_t fz_u32(struct fz *f)
{
	return (uint32_t)fz_u16(f) | (uint32_t)fz_u16(f) << 16;
}

static inline void fz_bytes(struct fz *f, void *out, size_t len)
{
	size_t k = len < f->n ? len : f->n;

	memcpy(out, f->p, k);
	memset((uint8_t *)out + k, 0, len - k);
	f->p += k;
	f->n -= k;
}

/* A number in [0, n) (n > 0). */
static inline unsigned fz_below(struct fz *f, unsigned n)
{
	return n <= 256 ? fz_u8(f) % n : fz_u32(f) % n;
}

/* Fails the run: libFuzzer saves the input as a crash artifact. */
#define FZ_FAIL(...)                                                                               \
	do {                                                                                       \
		fprintf(stderr, "FUZZ INVARIANT BROKEN (%s:%d): ", __FILE__, __LINE__);            \
		fprintf(stderr, __VA_ARGS__);                                                      \
		fprintf(stderr, "\n");                                                             \
		abort();                                                                           \
	} while (0)

#define FZ_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond))                                                                       \
			FZ_FAIL("%s", #cond);                                                      \
	} while (0)

/* Whether msg, a report of the configuration loader on file, is a warning: the loader writes
 * "FILE:LINE: SETTING: warning: ...", and SETTING has no space. An error that quotes a line
 * of the file ("FILE:LINE: syntax error; the line reads: ...") cannot pass for one, whatever
 * the line says. */
static inline int fz_config_warning(const char *msg, const char *file)
{
	size_t n = strlen(file), k;

	if (strncmp(msg, file, n) != 0 || msg[n] != ':')
		return 0;
	msg += n + 1;
	msg += strspn(msg, "0123456789");
	if (strncmp(msg, ": ", 2) != 0)
		return 0;
	msg += 2;
	k = strcspn(msg, " :");
	return k > 0 && strncmp(msg + k, ": warning: ", 11) == 0;
}

/* Replaces the content of the file open on fd with size bytes of data (a run's input). */
static inline void fz_write_file(int fd, const void *data, size_t size)
{
	const char *p = data;
	off_t off = 0;

	if (ftruncate(fd, 0) < 0) {
		perror("ftruncate");
		abort();
	}
	while (size > 0) {
		ssize_t w = pwrite(fd, p, size, off);

		if (w <= 0) {
			perror("pwrite");
			abort();
		}
		p += w;
		off += w;
		size -= (size_t)w;
	}
}

#endif
