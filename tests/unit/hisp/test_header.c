/* hisp/header.c: reading a few header fields of messages the transport
 * routes. A Message-ID written on the line after its name (Exchange folds
 * long ids so) is still the message's id: without it no MDN is sent and
 * the sender's HISP reports a failure for mail that was delivered. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hisp/header.h"
#include "tests/lib/testlib.h"

static void
test_header_message_id_reads_folded_and_plain_ids(void **state)
{
	static const struct {
		const char *msg;
		const char *want; /* NULL: none */
	} cases[] = {
		{"Message-ID: <a@b.test>\r\n\r\nbody\r\n", "<a@b.test>"},
		{"Subject: x\r\nMessage-ID:\r\n <BN6PR11MB0001@BN6PR11MB0001.prod"
		    ".outlook.com>\r\nTo: <x@y.test>\r\n\r\n",
		    "<BN6PR11MB0001@BN6PR11MB0001.prod.outlook.com>"},
		{"message-id:\t<tab@b.test>  \r\n\r\n", "<tab@b.test>"},
		{"Message-ID:\n\t<lf@b.test>\n\n", "<lf@b.test>"},
		{"Message-ID:   \r\n\r\n", NULL},
		{"Subject: x\r\n\r\nMessage-ID: <in-body@b.test>\r\n", NULL},
		{"Message-IDx: <no@b.test>\r\n\r\n", NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = header_message_id((const uint8_t *)cases[i].msg,
		    strlen(cases[i].msg));

		if ((got == NULL) != (cases[i].want == NULL) ||
		    (got != NULL && strcmp(got, cases[i].want) != 0))
			fail_msg("case %zu: got %s, want %s", i,
			    got != NULL ? got : "(none)",
			    cases[i].want != NULL ? cases[i].want : "(none)");
		free(got);
	}
}

static void
test_header_message_id_refuses_an_overlong_id(void **state)
{
	char msg[1200];
	char *got;

	(void)state;
	memset(msg, 'a', sizeof(msg));
	memcpy(msg, "Message-ID: <", 13);
	memcpy(msg + sizeof(msg) - 6, ">\r\n\r\n", 5);
	msg[sizeof(msg) - 1] = '\0';
	got = header_message_id((const uint8_t *)msg, strlen(msg));
	assert_null(got);
}

static void
test_header_message_id_refuses_an_id_with_a_nul_byte(void **state)
{
	static const char msg[] = "Message-ID: <a\0b@c.test>\r\n\r\n";
	static const char empty[] = "Message-ID:\0\n\n";

	(void)state;
	assert_null(header_message_id((const uint8_t *)msg, sizeof(msg) - 1));
	assert_null(header_message_id((const uint8_t *)empty,
	    sizeof(empty) - 1));
}

static void
test_header_get_unfolds_and_stops_at_the_body(void **state)
{
	static const char msg[] = "Content-Type: multipart/report;\r\n"
	    "\treport-type=delivery-status;\r\n boundary=\"x\"\r\n"
	    "Subject: y\r\n\r\nContent-Type: text/plain\r\n";
	struct buf v;

	(void)state;
	buf_init(&v, 4096);
	assert_int_equal(header_get((const uint8_t *)msg, sizeof(msg) - 1,
	    "content-type", &v), 1);
	assert_string_equal(buf_cstr(&v), "multipart/report;\t"
	    "report-type=delivery-status; boundary=\"x\"");
	buf_reset(&v);
	assert_int_equal(header_get((const uint8_t *)msg, sizeof(msg) - 1,
	    "X-None", &v), 0);
	buf_release(&v);
	/* A value larger than the buffer's maximum is refused, not cut. */
	buf_init(&v, 8);
	assert_int_equal(header_get((const uint8_t *)msg, sizeof(msg) - 1,
	    "Content-Type", &v), -1);
	buf_release(&v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_header_message_id_reads_folded_and_plain_ids),
		cmocka_unit_test(test_header_message_id_refuses_an_overlong_id),
		cmocka_unit_test(
		    test_header_message_id_refuses_an_id_with_a_nul_byte),
		cmocka_unit_test(test_header_get_unfolds_and_stops_at_the_body),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
