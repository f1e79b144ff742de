#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adt/mllp.h"
#include "core/buf.h"
#include "tests/lib/testlib.h"

/* Feeds everything; collects frames joined by '|' into out. Returns the
 * last feed status (-1 on error). */
static int
feed_all(struct mllp_framer *f, const char *p, size_t n, struct buf *out)
{
	struct err e = {0};

	while (n > 0) {
		size_t used, fn;
		int rc = mllp_framer_feed(f, p, n, &used, &e);
		const uint8_t *fp;

		if (rc < 0)
			return -1;
		assert_true(used <= n);
		if (rc == 1) {
			fp = mllp_framer_frame(f, &fn);
			buf_append(out, fp, fn);
			buf_putc(out, '|');
		}
		p += used;
		n -= used;
	}
	return 0;
}

static void
test_mllp_framer_table(void **state)
{
	static const struct {
		const char *in;
		size_t max;
		int rc;
		const char *frames;
		unsigned ignored;
	} cases[] = {
	    {"\x0bMSH|a\r\x1c\r", 100, 0, "MSH|a\r|", 0},
	    {"\x0b" "A\x1c\r\x0b" "B\x1c\r", 100, 0, "A|B|", 0},
	    {"junk\r\n\x0b" "A\x1c\r", 100, 0, "A|", 6},
	    {"\x0b" "A\x1c\x0b" "B\x1c", 100, 0, "A|B|", 0},
	    {"\x0b" "A\x1c\rX\x0b" "B\x1c\r", 100, 0, "A|B|", 1},
	    {"\x0b" "AB\x0b" "C\x1c\r", 100, 0, "C|", 0},
	    {"\x0b" "0123456789\x1c\r", 10, 0, "0123456789|", 0},
	    {"\x0b" "0123456789A\x1c\r", 10, -1, "", 0},
	    {"\x0b\x06\x1c\r", 10, 0, "\x06|", 0},
	    {"\x0b\x1c\r", 10, 0, "|", 0},
	    {"\x0b" "partial", 100, 0, "", 0},
	    {NULL, 0, 0, NULL, 0},
	};

	(void)state;
	for (int i = 0; cases[i].in; i++) {
		struct mllp_framer *f = mllp_framer_new(cases[i].max);
		struct buf out;
		int rc;

		buf_init(&out, 1000);
		rc = feed_all(f, cases[i].in, strlen(cases[i].in), &out);
		if (rc != cases[i].rc)
			fail_msg("case %d: got rc %d, want %d", i, rc,
			    cases[i].rc);
		if (strcmp(buf_cstr(&out), cases[i].frames) != 0)
			fail_msg("case %d: got frames \"%s\", want \"%s\"", i,
			    buf_cstr(&out), cases[i].frames);
		if (mllp_framer_ignored(f) != cases[i].ignored)
			fail_msg("case %d: got ignored %llu, want %u", i,
			    (unsigned long long)mllp_framer_ignored(f),
			    cases[i].ignored);
		buf_release(&out);
		mllp_framer_free(&f);
		mllp_framer_free(&f);
	}
}

static void
test_mllp_framer_stays_failed_after_oversize(void **state)
{
	struct mllp_framer *f = mllp_framer_new(4);
	struct err e = {0};
	size_t used;

	(void)state;
	assert_int_equal(mllp_framer_feed(f, "\x0b" "12345", 6, &used, &e),
	    -1);
	assert_int_equal(e.kind, ERR_PROTO);
	assert_int_equal(mllp_framer_feed(f, "\x0b" "1\x1c\r", 4, &used, &e),
	    -1);
	mllp_framer_free(&f);
}

static void
test_mllp_wrap_and_commit_acks(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 100);
	assert_int_equal(mllp_wrap(&b, "MSH|x", 5), 0);
	assert_memory_equal(b.data, "\x0bMSH|x\x1c\r", 8);
	buf_reset(&b);
	assert_int_equal(mllp_commit_ack(&b, true), 0);
	assert_memory_equal(b.data, "\x0b\x06\x1c\r", 4);
	buf_reset(&b);
	assert_int_equal(mllp_commit_ack(&b, false), 0);
	assert_memory_equal(b.data, "\x0b\x15\x1c\r", 4);
	assert_int_equal(mllp_is_commit_ack("\x06", 1), 1);
	assert_int_equal(mllp_is_commit_ack("\x15", 1), 0);
	assert_int_equal(mllp_is_commit_ack("MSH", 3), -1);
	buf_release(&b);
	buf_init(&b, 3);
	assert_int_equal(mllp_wrap(&b, "MSH|x", 5), -1);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

struct trickle_ctx {
	struct mllp_framer *f;
	uint64_t h;
	unsigned frames;
	unsigned oversized;
	size_t max;        /* 0: 64 KiB */
	bool discard;
};

static void
tr_begin(void *vctx)
{
	struct trickle_ctx *c = vctx;

	mllp_framer_free(&c->f);
	c->f = mllp_framer_new(c->max ? c->max : 1 << 16);
	mllp_framer_set_discard(c->f, c->discard);
	c->h = TESTLIB_FNV_INIT;
	c->frames = 0;
	c->oversized = 0;
}

static int
tr_feed(void *vctx, const uint8_t *p, size_t n)
{
	struct trickle_ctx *c = vctx;
	struct err e = {0};

	while (n > 0) {
		size_t used, fn;
		uint64_t size;
		int rc = mllp_framer_feed(c->f, p, n, &used, &e);

		if (rc < 0)
			return -1;
		if (rc == 1) {
			const uint8_t *fp = mllp_framer_frame(c->f, &fn);

			c->h = testlib_fnv(c->h, fp, fn);
			c->h = testlib_fnv(c->h, "#", 1);
			c->frames++;
			if (mllp_framer_oversized(c->f, &size)) {
				c->h = testlib_fnv(c->h, &size, sizeof(size));
				c->oversized++;
			}
		}
		p += used;
		n -= used;
	}
	return 0;
}

static uint64_t
tr_end(void *vctx)
{
	struct trickle_ctx *c = vctx;

	return c->h ^ ((uint64_t)c->frames << 48) ^
	    (mllp_framer_ignored(c->f) << 32) ^ mllp_framer_partial(c->f);
}

static void
test_mllp_framer_trickles(void **state)
{
	static const struct trickle_ops ops = {tr_begin, tr_feed, tr_end};
	struct trickle_ctx c = {0};
	struct buf in;
	uint64_t h;

	(void)state;
	buf_init(&in, BUF_UNLIMITED);
	buf_append_str(&in, "noise before\n");
	for (int i = 0; i < 20; i++) {
		char msg[64];

		snprintf(msg, sizeof(msg), "MSH|^~\\&|A|B|||||ADT^A01|C%d|P|2.5"
		    "\rPID|1\r", i);
		mllp_wrap(&in, msg, strlen(msg));
		if (i % 5 == 0)
			buf_append_str(&in, "\r\n");
	}
	buf_append_str(&in, "\x0bunterminated");
	h = testlib_trickle(&ops, &c, in.data, in.len, 30);
	assert_int_equal(c.frames, 20);
	assert_true(h != 0);
	mllp_framer_free(&c.f);
	buf_release(&in);
}

static void
test_mllp_framer_discard_mode_cuts_oversized_frame_and_goes_on(void **state)
{
	static const char in[] = "\x0b" "MSH|0123456789\x1c\r\x0b" "AB\x1c\r";
	struct mllp_framer *f = mllp_framer_new(4);
	struct err e = {0};
	const uint8_t *fp;
	size_t used, fn, off = 0;
	uint64_t size = 99;

	(void)state;
	mllp_framer_set_discard(f, true);
	assert_int_equal(mllp_framer_feed(f, in, 6, &used, &e), 0);
	assert_int_equal(used, 6);
	assert_true(mllp_framer_partial(f));
	off = used;
	assert_int_equal(mllp_framer_feed(f, in + off, sizeof(in) - 1 - off,
	    &used, &e), 1);
	off += used;
	fp = mllp_framer_frame(f, &fn);
	if (fn != 4 || memcmp(fp, "MSH|", 4) != 0)
		fail_msg("head: got %zu bytes \"%.*s\", want \"MSH|\"", fn,
		    (int)fn, (const char *)fp);
	assert_true(mllp_framer_oversized(f, &size));
	if (size != 14)
		fail_msg("size: got %llu, want 14", (unsigned long long)size);
	assert_false(mllp_framer_partial(f));
	/* The next frame on the same framer is normal again. */
	assert_int_equal(mllp_framer_feed(f, in + off, sizeof(in) - 1 - off,
	    &used, &e), 1);
	fp = mllp_framer_frame(f, &fn);
	assert_int_equal(fn, 2);
	assert_memory_equal(fp, "AB", 2);
	assert_false(mllp_framer_oversized(f, &size));
	assert_int_equal(size, 2);
	assert_int_equal(e.kind, 0);
	mllp_framer_free(&f);
}

static void
test_mllp_framer_discard_mode_restarts_on_start_block(void **state)
{
	static const char in[] = "\x0b" "0123456789\x0b" "AB\x1c\r";
	struct mllp_framer *f = mllp_framer_new(4);
	struct buf out;

	(void)state;
	mllp_framer_set_discard(f, true);
	buf_init(&out, 100);
	assert_int_equal(feed_all(f, in, sizeof(in) - 1, &out), 0);
	if (strcmp(buf_cstr(&out), "AB|") != 0)
		fail_msg("got frames \"%s\", want \"AB|\"", buf_cstr(&out));
	assert_false(mllp_framer_oversized(f, NULL));
	assert_int_equal(mllp_framer_restarts(f), 1);
	buf_release(&out);
	mllp_framer_free(&f);
}

static void
test_mllp_framer_discard_mode_trickles(void **state)
{
	static const struct trickle_ops ops = {tr_begin, tr_feed, tr_end};
	struct trickle_ctx c = {0};
	struct buf in;

	(void)state;
	c.max = 64;
	c.discard = true;
	buf_init(&in, BUF_UNLIMITED);
	for (int i = 0; i < 12; i++) {
		char msg[300];
		int len = snprintf(msg, sizeof(msg), "MSH|^~\\&|A|B|||||ADT^A01"
		    "|C%d|P|2.5\rPID|1|%0*d\r", i, i % 3 == 0 ? 200 : 1, i);

		mllp_wrap(&in, msg, (size_t)len);
	}
	(void)testlib_trickle(&ops, &c, in.data, in.len, 30);
	if (c.frames != 12 || c.oversized != 4)
		fail_msg("got %u frames, %u oversized, want 12, 4", c.frames,
		    c.oversized);
	mllp_framer_free(&c.f);
	buf_release(&in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mllp_framer_table),
		cmocka_unit_test(test_mllp_framer_stays_failed_after_oversize),
		cmocka_unit_test(test_mllp_wrap_and_commit_acks),
		cmocka_unit_test(test_mllp_framer_trickles),
		cmocka_unit_test(
		    test_mllp_framer_discard_mode_cuts_oversized_frame_and_goes_on),
		cmocka_unit_test(
		    test_mllp_framer_discard_mode_restarts_on_start_block),
		cmocka_unit_test(test_mllp_framer_discard_mode_trickles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
