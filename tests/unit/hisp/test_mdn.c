#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hisp/dsn.h"
#include "hisp/mdn.h"
#include "tests/lib/testlib.h"

static void
build(struct buf *out, enum mdn_disposition d, bool ext)
{
	struct mdn_params p = {0};

	p.reporting_ua = "mx.b.test";
	p.from = "bob@b.test";
	p.to = "alice@a.test";
	p.orig_message_id = "<Orig.1 @a.test>";
	p.final_recipient = "bob@b.test";
	p.disposition = d;
	p.final_delivery_ext = ext;
	p.failure = d == MDN_FAILED ? "mailbox full" : NULL;
	p.now = 1795000000;
	buf_init(out, BUF_UNLIMITED);
	assert_int_equal(mdn_build(out, &p), 0);
}

static void
test_mdn_disposition_strings_are_exact(void **state)
{
	static const struct {
		enum mdn_disposition d;
		const char *want;
	} cases[] = {
		{MDN_PROCESSED, "\r\nDisposition: automatic-action/"
		    "MDN-sent-automatically; processed\r\n"},
		{MDN_DISPATCHED, "\r\nDisposition: automatic-action/"
		    "MDN-sent-automatically; dispatched\r\n"},
		{MDN_FAILED, "\r\nDisposition: automatic-action/"
		    "MDN-sent-automatically; failed\r\n"},
	};
	struct buf out;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		build(&out, cases[i].d, false);
		if (strstr(buf_cstr(&out), cases[i].want) == NULL)
			fail_msg("got:\n%s\nwant: %s", buf_cstr(&out),
			    cases[i].want);
		assert_non_null(strstr(buf_cstr(&out),
		    "\r\nOriginal-Message-ID: <Orig.1 @a.test>\r\n"));
		assert_non_null(strstr(buf_cstr(&out),
		    "report-type=disposition-notification"));
		assert_null(strstr(buf_cstr(&out),
		    "X-DIRECT-FINAL-DESTINATION-DELIVERY"));
		buf_release(&out);
	}
}

static void
test_mdn_round_trips_through_the_parser(void **state)
{
	struct mdn_report r;
	struct buf out;
	struct err e;

	(void)state;
	build(&out, MDN_DISPATCHED, true);
	assert_int_equal(mdn_parse(out.data, out.len, &r, &e), 1);
	assert_false(r.is_dsn);
	assert_int_equal(r.disposition, MDN_DISPATCHED);
	assert_string_equal(r.orig_message_id, "<Orig.1 @a.test>");
	assert_string_equal(r.final_recipient, "bob@b.test");
	assert_true(r.final_delivery_ext);
	buf_release(&out);
	build(&out, MDN_FAILED, false);
	assert_int_equal(mdn_parse(out.data, out.len, &r, &e), 1);
	assert_int_equal(r.disposition, MDN_FAILED);
	assert_string_equal(r.detail, "mailbox full");
	buf_release(&out);
}

static void
test_mdn_reads_dsns_with_x_original_message_id(void **state)
{
	struct dsn_rcpt rc = {"bob@b.test", "5.1.1", "550 no such user"};
	struct dsn_params p = {0};
	struct mdn_report r;
	struct buf out;
	struct err e;

	(void)state;
	p.reporting_mta = "mx.a.test";
	p.from = "mailer-daemon@a.test";
	p.to = "alice@a.test";
	p.orig_message_id = "<m2@a.test>";
	p.rcpts = &rc;
	p.nrcpt = 1;
	buf_init(&out, BUF_UNLIMITED);
	assert_int_equal(dsn_build(&out, &p), 0);
	assert_int_equal(mdn_parse(out.data, out.len, &r, &e), 1);
	assert_true(r.is_dsn);
	assert_int_equal(r.disposition, MDN_FAILED);
	assert_string_equal(r.orig_message_id, "<m2@a.test>");
	assert_string_equal(r.final_recipient, "bob@b.test");
	assert_string_equal(r.status, "5.1.1");
	buf_release(&out);
}

static void
test_mdn_parser_tells_reports_from_other_mail_and_garbage(void **state)
{
	static const char plain[] = "Subject: hi\r\nContent-Type: text/plain"
	    "\r\n\r\nhello\r\n";
	static const char noboundary[] = "Content-Type: multipart/report; "
	    "report-type=disposition-notification\r\n\r\nx\r\n";
	static const char nopart[] = "Content-Type: multipart/report; "
	    "report-type=disposition-notification; boundary=b\r\n\r\n--b\r\n"
	    "Content-Type: text/plain\r\n\r\nx\r\n--b--\r\n";
	static const char nodisp[] = "Content-Type: multipart/report; "
	    "report-type=disposition-notification; boundary=b\r\n\r\n--b\r\n"
	    "Content-Type: message/disposition-notification\r\n\r\n"
	    "Final-Recipient: rfc822; x@y.test\r\n--b--\r\n";
	struct mdn_report r;
	struct err e;

	(void)state;
	assert_int_equal(mdn_parse((const uint8_t *)plain, sizeof(plain) - 1,
	    &r, &e), 0);
	assert_int_equal(mdn_parse((const uint8_t *)noboundary,
	    sizeof(noboundary) - 1, &r, &e), -1);
	assert_int_equal(mdn_parse((const uint8_t *)nopart,
	    sizeof(nopart) - 1, &r, &e), -1);
	assert_non_null(strstr(e.msg, "disposition-notification part"));
	assert_int_equal(mdn_parse((const uint8_t *)nodisp,
	    sizeof(nodisp) - 1, &r, &e), -1);
	assert_non_null(strstr(e.msg, "disposition"));
	/* Every truncation of a valid MDN is read or refused, never more. */
	{
		struct buf out;

		build(&out, MDN_PROCESSED, false);
		for (size_t n = 0; n < out.len; n++) {
			int rc = mdn_parse(out.data, n, &r, &e);

			assert_true(rc >= -1 && rc <= 1);
		}
		buf_release(&out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mdn_disposition_strings_are_exact),
		cmocka_unit_test(test_mdn_round_trips_through_the_parser),
		cmocka_unit_test(test_mdn_reads_dsns_with_x_original_message_id),
		cmocka_unit_test(
		    test_mdn_parser_tells_reports_from_other_mail_and_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
