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
	smtp_listener_msg_init(&m, 10);
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
	smtp_listener_msg_init(&m, 4);
	assert_int_equal(smtp_listener_msg_append(&m, "12345", 5), -1);
	smtp_listener_msg_reset(&m); /* RSET, or a new DATA */
	assert_int_equal(smtp_listener_msg_append(&m, "1234", 4), 0);
	assert_int_equal(smtp_listener_msg_end(&m, &enh, &text), 0);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
