/* Helpers shared by the unit tests. Include after cmocka.h. */
#ifndef TESTS_TESTLIB_H
#define TESTS_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

/* A fresh directory under $TMPDIR (or /tmp); the caller frees the path and
 * removes the tree with testlib_rmtree(). */
char *testlib_tmpdir(void);
/* Removes a directory tree; ignores errors. */
void testlib_rmtree(const char *path);
/* Writes a file; aborts the test on failure. */
void testlib_write_file(const char *path, const void *data, size_t n);
/* Reads a whole file (NUL-terminated); NULL on failure. */
char *testlib_read_file(const char *path, size_t *n_r);
/* $DG_SOURCE_DIR/rel (the repository root); the caller frees. */
char *testlib_source_path(const char *rel);

/* The trickle helper: feeds input to a parser three ways (whole, one byte
 * at a time, and in random splits from a fixed seed, `rounds` times) and
 * lets the test compare the outcome of each with the whole-input run.
 *
 * begin(ctx) resets the parser; feed(ctx, p, n) hands it a chunk and
 * returns -1 to stop early (error); end(ctx) finishes and returns a result
 * the test compares (an integer it derives: a status, a count, a digest).
 * testlib_trickle fails the test when a split run's result differs from the
 * whole run's and returns the whole run's result. */
struct trickle_ops {
	void (*begin)(void *ctx);
	int (*feed)(void *ctx, const uint8_t *p, size_t n);
	uint64_t (*end)(void *ctx);
};
uint64_t testlib_trickle(const struct trickle_ops *ops, void *ctx,
    const void *input, size_t n, int rounds);

/* FNV-1a, for results the trickle helper compares. */
uint64_t testlib_fnv(uint64_t h, const void *p, size_t n);
#define TESTLIB_FNV_INIT 14695981039346656037ULL

#endif
