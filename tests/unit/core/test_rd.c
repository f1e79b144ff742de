#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/rd.h"

static void
test_rd_reads_big_endian_integers(void **state)
{
	static const uint8_t in[] = {1, 2, 3, 4, 5, 6, 7};
	struct rd r;
	uint8_t a;
	uint16_t b;
	uint32_t c;

	(void)state;
	rd_init(&r, in, sizeof(in));
	assert_int_equal(rd_u8(&r, &a), 0);
	assert_int_equal(rd_u16be(&r, &b), 0);
	assert_int_equal(rd_u32be(&r, &c), 0);
	assert_int_equal(a, 1);
	assert_int_equal(b, 0x0203);
	assert_int_equal(c, 0x04050607);
	assert_int_equal(rd_remaining(&r), 0);
	assert_false(rd_failed(&r));
}

static void
test_rd_error_is_sticky_and_zeroes_outputs(void **state)
{
	static const uint8_t in[] = {0xff, 0xee, 0xdd};
	struct rd r;
	uint32_t c = 99;
	uint8_t a = 99;

	(void)state;
	rd_init(&r, in, sizeof(in));
	assert_int_equal(rd_u32be(&r, &c), -1);
	assert_int_equal(c, 0);
	assert_true(rd_failed(&r));
	/* Even a read that would fit fails now. */
	assert_int_equal(rd_u8(&r, &a), -1);
	assert_int_equal(a, 0);
	assert_int_equal(rd_remaining(&r), 0);
	assert_int_equal(rd_peek(&r), -1);
}

static void
test_rd_bytes_and_skip_respect_bounds(void **state)
{
	static const uint8_t in[] = "abcdef";
	const uint8_t *p;
	struct rd r;

	(void)state;
	rd_init(&r, in, 6);
	assert_int_equal(rd_bytes(&r, 2, &p), 0);
	assert_memory_equal(p, "ab", 2);
	assert_int_equal(rd_skip(&r, 3), 0);
	assert_int_equal(rd_peek(&r), 'f');
	assert_int_equal(rd_skip(&r, 2), -1);
	assert_true(rd_failed(&r));
	rd_init(&r, in, 6);
	assert_int_equal(rd_bytes(&r, SIZE_MAX, &p), -1);
	assert_null(p);
}

static void
test_rd_until_splits_on_a_delimiter(void **state)
{
	static const char in[] = "MSH|x|y";
	const uint8_t *p;
	size_t n;
	struct rd r;

	(void)state;
	rd_init(&r, in, 7);
	assert_int_equal(rd_until(&r, '|', &p, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(p, "MSH", 3);
	assert_int_equal(rd_until(&r, '|', &p, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rd_until(&r, '|', &p, &n), -1);
	assert_true(rd_failed(&r));
}

static void
test_rd_seek_and_sub_readers(void **state)
{
	static const uint8_t in[] = {0, 3, 'a', 'b', 'c', 9};
	struct rd r, sub;
	uint16_t n;
	uint8_t v;

	(void)state;
	rd_init(&r, in, sizeof(in));
	rd_u16be(&r, &n);
	assert_int_equal(rd_sub(&r, n, &sub), 0);
	assert_int_equal(rd_remaining(&sub), 3);
	assert_int_equal(rd_u8(&r, &v), 0);
	assert_int_equal(v, 9);
	assert_int_equal(rd_seek(&r, 1), 0);
	assert_int_equal(rd_u8(&r, &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(rd_seek(&r, 7), -1);
	rd_init(&r, in, sizeof(in));
	assert_int_equal(rd_sub(&r, 7, &sub), -1);
	assert_true(rd_failed(&sub));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rd_reads_big_endian_integers),
		cmocka_unit_test(test_rd_error_is_sticky_and_zeroes_outputs),
		cmocka_unit_test(test_rd_bytes_and_skip_respect_bounds),
		cmocka_unit_test(test_rd_until_splits_on_a_delimiter),
		cmocka_unit_test(test_rd_seek_and_sub_readers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
