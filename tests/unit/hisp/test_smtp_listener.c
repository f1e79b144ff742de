#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "hisp/smtp_listener_private.h"
#include "tests/lib/testlib.h"

/* The session's message buffer, configured smaller than the message:
 * the message is refused at its end, never committed truncated. */
static void
test_smtp_listener_msg_refuses_message_larger_than_buffer_with_552(
    void **state)
{
	struct smtp_listener_msg m;
	const char *enh = NULL, *text = NULL;
	int code;

	(void)state;
	smtp_listener_msg_init(&m, 10, NULL);
	assert_int_equal(smtp_listener_msg_append(&m, "12345678", 8), 0);
	assert_int_equal(smtp_listener_msg_append(&m, "abcd", 4), -1);
	/* later chunks are dropped without another warning */
	assert_int_equal(smtp_listener_msg_append(&m, "x", 1), 0);
	code = smtp_listener_msg_end(&m, &enh, &text);
	if (code != 552 || enh == NULL || strcmp(enh, "5.3.4") != 0)
		fail_msg("got %d %s, want 552 5.3.4", code, enh ? enh : "-");
	assert_non_null(text);
	assert_int_equal(m.data.len, 0);
	/* the next message on the session fits and is committed */
	assert_int_equal(smtp_listener_msg_append(&m, "1234567890", 10), 0);
	assert_int_equal(smtp_listener_msg_end(&m, &enh, &text), 0);
	assert_int_equal(m.data.len, 10);
	assert_memory_equal(m.data.data, "1234567890", 10);
	smtp_listener_msg_release(&m);
}

static void
test_smtp_listener_msg_reset_clears_an_overflow(void **state)
{
	struct smtp_listener_msg m;
	const char *enh = NULL, *text = NULL;

	(void)state;
	smtp_listener_msg_init(&m, 4, NULL);
	assert_int_equal(smtp_listener_msg_append(&m, "12345", 5), -1);
	smtp_listener_msg_reset(&m); /* RSET, or a new DATA */
	assert_int_equal(smtp_listener_msg_append(&m, "1234", 4), 0);
	assert_int_equal(smtp_listener_msg_end(&m, &enh, &text), 0);
	smtp_listener_msg_release(&m);
}

/* Two sessions share a budget of 10 bytes: the message that would pass
 * it is refused for now (452 4.3.1, not 552), DATA is refused while it is
 * spent, and what a message held is given back at its end. */
static void
test_smtp_listener_budget_refuses_what_would_pass_it_with_452(void **state)
{
	struct smtp_listener_budget b = {0, 10};
	struct smtp_listener_msg m1, m2;
	const char *enh = NULL, *text = NULL;
	int code;

	(void)state;
	smtp_listener_msg_init(&m1, 100, &b);
	smtp_listener_msg_init(&m2, 100, &b);
	assert_int_equal(smtp_listener_msg_append(&m1, "12345678", 8), 0);
	assert_int_equal(b.used, 8);
	assert_false(smtp_listener_budget_spent(&b));
	assert_int_equal(smtp_listener_msg_append(&m2, "abcd", 4), -1);
	assert_int_equal(smtp_listener_msg_append(&m2, "x", 1), 0);
	code = smtp_listener_msg_end(&m2, &enh, &text);
	if (code != 452 || enh == NULL || strcmp(enh, "4.3.1") != 0)
		fail_msg("got %d %s, want 452 4.3.1", code, enh ? enh : "-");
	assert_int_equal(b.used, 8);
	assert_int_equal(smtp_listener_msg_append(&m1, "90", 2), 0);
	assert_true(smtp_listener_budget_spent(&b));
	/* m1 is committed (its bytes copied), then emptied: all given back. */
	assert_int_equal(smtp_listener_msg_end(&m1, &enh, &text), 0);
	smtp_listener_msg_reset(&m1);
	assert_int_equal(b.used, 0);
	assert_int_equal(smtp_listener_msg_append(&m2, "abcd", 4), 0);
	assert_int_equal(smtp_listener_msg_end(&m2, &enh, &text), 0);
	/* A session that goes away gives its bytes back too. */
	smtp_listener_msg_release(&m2);
	assert_int_equal(b.used, 0);
	smtp_listener_msg_release(&m1);
}

/* A message that will be refused (out of budget, or too large) gives its
 * bytes back at once, so that the one still being received fits. */
static void
test_smtp_listener_refused_message_gives_its_bytes_back_at_once(void **state)
{
	struct smtp_listener_budget b = {0, 10};
	struct smtp_listener_msg m1, m2, m3;
	const char *enh = NULL, *text = NULL;

	(void)state;
	smtp_listener_msg_init(&m1, 100, &b);
	smtp_listener_msg_init(&m2, 100, &b);
	smtp_listener_msg_init(&m3, 4, &b);
	assert_int_equal(smtp_listener_msg_append(&m1, "12345", 5), 0);
	assert_int_equal(smtp_listener_msg_append(&m2, "abcd", 4), 0);
	assert_int_equal(b.used, 9);
	/* m2 runs out: its 4 bytes are free now, not at its end. */
	assert_int_equal(smtp_listener_msg_append(&m2, "efg", 3), -1);
	assert_int_equal(b.used, 5);
	assert_int_equal(smtp_listener_msg_append(&m1, "67890", 5), 0);
	assert_int_equal(b.used, 10);
	assert_int_equal(smtp_listener_msg_end(&m2, &enh, &text), 452);
	assert_int_equal(smtp_listener_msg_end(&m1, &enh, &text), 0);
	smtp_listener_msg_reset(&m1);
	/* m3 grows past its own maximum: given back too. */
	assert_int_equal(smtp_listener_msg_append(&m3, "xyz", 3), 0);
	assert_int_equal(b.used, 3);
	assert_int_equal(smtp_listener_msg_append(&m3, "xy", 2), -1);
	assert_int_equal(b.used, 0);
	assert_int_equal(smtp_listener_msg_end(&m3, &enh, &text), 552);
	assert_int_equal(b.used, 0);
	smtp_listener_msg_release(&m1);
	smtp_listener_msg_release(&m2);
	smtp_listener_msg_release(&m3);
}

/* A session does not keep a large message's memory after it. */
static void
test_smtp_listener_msg_frees_a_large_buffer_after_the_message(void **state)
{
	static uint8_t big[1024 * 1024];
	struct smtp_listener_msg m;

	(void)state;
	smtp_listener_msg_init(&m, sizeof(big) + 10, NULL);
	assert_int_equal(smtp_listener_msg_append(&m, big, sizeof(big)), 0);
	smtp_listener_msg_reset(&m);
	assert_int_equal(m.data.cap, 0);
	assert_int_equal(smtp_listener_msg_append(&m, "abc", 3), 0);
	assert_int_equal(m.data.len, 3);
	smtp_listener_msg_release(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_smtp_listener_msg_refuses_message_larger_than_buffer_with_552),
		cmocka_unit_test(
		    test_smtp_listener_msg_reset_clears_an_overflow),
		cmocka_unit_test(
		    test_smtp_listener_budget_refuses_what_would_pass_it_with_452),
		cmocka_unit_test(
		    test_smtp_listener_msg_frees_a_large_buffer_after_the_message),
		cmocka_unit_test(
		    test_smtp_listener_refused_message_gives_its_bytes_back_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
