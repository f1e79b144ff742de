#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

static void
test_buf_appends_and_stays_nul_terminated(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, BUF_UNLIMITED);
	assert_string_equal(buf_cstr(&b), "");
	assert_int_equal(buf_append_str(&b, "hello"), 0);
	assert_int_equal(buf_putc(&b, ' '), 0);
	assert_int_equal(buf_printf(&b, "%d-%s", 42, "x"), 0);
	assert_int_equal(b.len, 10);
	assert_string_equal(buf_cstr(&b), "hello 42-x");
	buf_release(&b);
}

static void
test_buf_refuses_growth_past_its_maximum(void **state)
{
	struct buf b;
	char big[100];

	(void)state;
	memset(big, 'a', sizeof(big));
	buf_init(&b, 64);
	assert_int_equal(buf_append(&b, big, 64), 0);
	assert_int_equal(buf_append(&b, "z", 1), -1);
	assert_int_equal(b.len, 64);
	assert_int_equal(buf_printf(&b, "%s", "more"), -1);
	assert_int_equal(b.len, 64);
	buf_reset(&b);
	assert_int_equal(buf_append(&b, big, 65), -1);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void
test_buf_printf_keeps_its_maximum_with_room_to_spare_and_grows(void **state)
{
	struct buf b;
	char big[200];

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_append_str(&b, "abcde"), 0);
	assert_true(b.cap > 10); /* room past the maximum */
	assert_int_equal(buf_printf(&b, "%s", "123456"), -1);
	assert_int_equal(b.len, 5);
	assert_string_equal(buf_cstr(&b), "abcde");
	assert_int_equal(buf_printf(&b, "%d", 12345), 0);
	assert_string_equal(buf_cstr(&b), "abcde12345");
	buf_release(&b);
	buf_init(&b, BUF_UNLIMITED);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(buf_append_str(&b, "<"), 0);
	assert_int_equal(buf_printf(&b, "%s>", big), 0); /* past the room */
	assert_int_equal(b.len, sizeof(big) + 1);
	assert_int_equal(buf_cstr(&b)[b.len - 1], '>');
	assert_int_equal(buf_cstr(&b)[b.len], '\0');
	buf_release(&b);
}

static void
test_buf_reserve_checks_for_overflow(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, BUF_UNLIMITED);
	buf_append(&b, "ab", 2);
	assert_int_equal(buf_reserve(&b, SIZE_MAX), -1);
	assert_int_equal(buf_reserve(&b, SIZE_MAX - 1), -1);
	assert_int_equal(b.len, 2);
	buf_release(&b);
}

static void
test_buf_reserve_leaves_text_even_before_a_write(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, BUF_UNLIMITED);
	assert_int_equal(buf_reserve(&b, 100), 0);
	assert_non_null(b.data);
	assert_string_equal(buf_cstr(&b), "");
	buf_release(&b);
}

static void
test_buf_consume_drops_from_the_front(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, BUF_UNLIMITED);
	buf_append_str(&b, "abcdef");
	buf_consume(&b, 2);
	assert_string_equal(buf_cstr(&b), "cdef");
	buf_consume(&b, 100);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_cstr(&b), "");
	buf_release(&b);
}

static void
test_buf_steal_hands_over_the_storage(void **state)
{
	struct buf *b = buf_new(16);
	size_t n;
	uint8_t *p;

	(void)state;
	buf_append_str(b, "key");
	p = buf_steal(b, &n);
	assert_int_equal(n, 3);
	assert_string_equal((char *)p, "key");
	assert_int_equal(b->len, 0);
	assert_null(b->data);
	free(p);
	p = buf_steal(b, &n);
	assert_int_equal(n, 0);
	assert_string_equal((char *)p, "");
	free(p);
	buf_append_str(b, "secret");
	buf_release_cleanse(b);
	buf_free(&b);
	assert_null(b);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_appends_and_stays_nul_terminated),
		cmocka_unit_test(test_buf_refuses_growth_past_its_maximum),
		cmocka_unit_test(
		    test_buf_printf_keeps_its_maximum_with_room_to_spare_and_grows),
		cmocka_unit_test(test_buf_reserve_checks_for_overflow),
		cmocka_unit_test(
		    test_buf_reserve_leaves_text_even_before_a_write),
		cmocka_unit_test(test_buf_consume_drops_from_the_front),
		cmocka_unit_test(test_buf_steal_hands_over_the_storage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
