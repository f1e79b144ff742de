#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/lib/testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/xmalloc.h"

char *
testlib_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *path = xasprintf("%s/dgtest.XXXXXX", base ? base : "/tmp");

	if (mkdtemp(path) == NULL)
		fail_msg("mkdtemp %s: %s", path, strerror(errno));
	return path;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void
testlib_rmtree(const char *path)
{
	if (path != NULL)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void
testlib_write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		fail_msg("open %s: %s", path, strerror(errno));
	if (n > 0 && fwrite(data, 1, n, f) != n)
		fail_msg("write %s", path);
	fclose(f);
}

char *
testlib_read_file(const char *path, size_t *n_r)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t len = 0, cap = 0, got;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			data = xreallocarray(data, cap, 1);
		}
		got = fread(data + len, 1, cap - len - 1, f);
		len += got;
		if (got == 0)
			break;
	}
	fclose(f);
	data[len] = '\0';
	if (n_r != NULL)
		*n_r = len;
	return data;
}

char *
testlib_source_path(const char *rel)
{
	const char *src = getenv("DG_SOURCE_DIR");

	return xasprintf("%s/%s", src ? src : ".", rel);
}

uint64_t
testlib_fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static uint64_t
run_split(const struct trickle_ops *ops, void *ctx, const uint8_t *in,
    size_t n, unsigned mode, unsigned *seed)
{
	size_t off = 0, chunk;

	ops->begin(ctx);
	while (off < n) {
		if (mode == 0)
			chunk = n - off;
		else if (mode == 1)
			chunk = 1;
		else
			chunk = 1 + (size_t)rand_r(seed) % (n - off < 64 ? n - off : 64);
		if (ops->feed(ctx, in + off, chunk) < 0)
			break;
		off += chunk;
	}
	return ops->end(ctx);
}

uint64_t
testlib_trickle(const struct trickle_ops *ops, void *ctx, const void *input,
    size_t n, int rounds)
{
	unsigned seed = 12345;
	uint64_t whole, got;

	whole = run_split(ops, ctx, input, n, 0, &seed);
	got = run_split(ops, ctx, input, n, 1, &seed);
	if (got != whole)
		fail_msg("byte-by-byte: got %llu, want %llu",
		    (unsigned long long)got, (unsigned long long)whole);
	for (int i = 0; i < rounds; i++) {
		got = run_split(ops, ctx, input, n, 2, &seed);
		if (got != whole)
			fail_msg("random split round %d: got %llu, want %llu",
			    i, (unsigned long long)got,
			    (unsigned long long)whole);
	}
	return whole;
}
