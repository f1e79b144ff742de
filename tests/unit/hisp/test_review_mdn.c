/* Review regressions for hisp/mdn.c: reports that name several
 * recipients (a relay's DSN lists every recipient it gave up on or
 * delayed) are read per recipient, each with its own Action and Status. */
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

/* The shape Postfix writes: per-message fields, then one group per
 * recipient; the first recipient failed, the second is only delayed. */
static const char two_rcpt_dsn[] =
    "From: MAILER-DAEMON@relay.test (Mail Delivery System)\r\n"
    "To: alice@a.test\r\n"
    "Subject: Undelivered Mail Returned to Sender\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/report; report-type=delivery-status;\r\n"
    "\tboundary=\"B1.relay.test\"\r\n"
    "\r\n"
    "This is a MIME-encapsulated message.\r\n"
    "\r\n"
    "--B1.relay.test\r\n"
    "Content-Description: Notification\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "I'm sorry to have to inform you...\r\n"
    "\r\n"
    "--B1.relay.test\r\n"
    "Content-Description: Delivery report\r\n"
    "Content-Type: message/delivery-status\r\n"
    "\r\n"
    "Reporting-MTA: dns; relay.test\r\n"
    "X-Postfix-Queue-ID: 4Q1\r\n"
    "X-Original-Message-ID: <m3@a.test>\r\n"
    "Arrival-Date: Sun, 22 Nov 2026 01:00:00 +0000 (UTC)\r\n"
    "\r\n"
    "Final-Recipient: rfc822; bob@b.test\r\n"
    "Original-Recipient: rfc822;bob@b.test\r\n"
    "Action: failed\r\n"
    "Status: 5.1.1\r\n"
    "Diagnostic-Code: smtp; 550 5.1.1 <bob@b.test>: user unknown\r\n"
    "\r\n"
    "Final-Recipient: rfc822; carol@b.test\r\n"
    "Original-Recipient: rfc822;carol@b.test\r\n"
    "Action: delayed\r\n"
    "Status: 4.4.1\r\n"
    "Diagnostic-Code: X-Postfix; connect to mx.b.test: timed out\r\n"
    "\r\n"
    "--B1.relay.test\r\n"
    "Content-Description: Undelivered Message Headers\r\n"
    "Content-Type: text/rfc822-headers\r\n"
    "\r\n"
    "Message-ID: <m3@a.test>\r\n"
    "\r\n"
    "--B1.relay.test--\r\n";

static void
test_mdn_dsn_first_recipient_keeps_its_own_action_and_status(void **state)
{
	struct mdn_report r;
	struct err e;

	(void)state;
	assert_int_equal(mdn_parse((const uint8_t *)two_rcpt_dsn,
	    sizeof(two_rcpt_dsn) - 1, &r, &e), 1);
	assert_true(r.is_dsn);
	assert_string_equal(r.final_recipient, "bob@b.test");
	if (r.disposition != MDN_FAILED)
		fail_msg("got disposition %s, want failed (the second "
		    "recipient's Action leaked into the first)",
		    mdn_disposition_name(r.disposition));
	assert_string_equal(r.status, "5.1.1");
	assert_non_null(strstr(r.detail, "550 5.1.1"));
	assert_string_equal(r.orig_message_id, "<m3@a.test>");
}

static void
test_mdn_dsn_every_recipient_is_read_in_turn(void **state)
{
	static const struct {
		const char *rcpt;
		enum mdn_disposition d;
		const char *status;
		const char *detail;
	} want[] = {
		{"bob@b.test", MDN_FAILED, "5.1.1", "user unknown"},
		{"carol@b.test", MDN_DELAYED, "4.4.1", "timed out"},
	};
	struct mdn_report r;
	struct err e;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(mdn_parse_rcpt((const uint8_t *)two_rcpt_dsn,
		    sizeof(two_rcpt_dsn) - 1, i, &r, &e), 1);
		if (strcmp(r.final_recipient, want[i].rcpt) != 0 ||
		    r.disposition != want[i].d ||
		    strcmp(r.status, want[i].status) != 0 ||
		    strstr(r.detail, want[i].detail) == NULL)
			fail_msg("recipient %zu: got %s %s %s \"%s\", want %s %s "
			    "%s \"%s\"", i, r.final_recipient,
			    mdn_disposition_name(r.disposition), r.status,
			    r.detail, want[i].rcpt,
			    mdn_disposition_name(want[i].d), want[i].status,
			    want[i].detail);
		assert_string_equal(r.orig_message_id, "<m3@a.test>");
		assert_true(r.is_dsn);
	}
	assert_int_equal(mdn_parse_rcpt((const uint8_t *)two_rcpt_dsn,
	    sizeof(two_rcpt_dsn) - 1, 2, &r, &e), 0);
}

static void
test_mdn_parse_rcpt_of_our_own_multi_recipient_dsn(void **state)
{
	struct dsn_rcpt rc[2] = {
		{"bob@b.test", "5.1.1", "550 no such user"},
		{"carol@b.test", "5.7.1", "no valid certificate"},
	};
	struct dsn_params p = {0};
	struct mdn_report r;
	struct buf out;
	struct err e;

	(void)state;
	p.reporting_mta = "mx.a.test";
	p.from = "mailer-daemon@a.test";
	p.to = "alice@a.test";
	p.orig_message_id = "<m4@a.test>";
	p.rcpts = rc;
	p.nrcpt = 2;
	buf_init(&out, BUF_UNLIMITED);
	assert_int_equal(dsn_build(&out, &p), 0);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(mdn_parse_rcpt(out.data, out.len, i, &r, &e),
		    1);
		assert_string_equal(r.final_recipient, rc[i].rcpt);
		assert_string_equal(r.status, rc[i].status);
		assert_int_equal(r.disposition, MDN_FAILED);
		assert_string_equal(r.orig_message_id, "<m4@a.test>");
	}
	assert_int_equal(mdn_parse_rcpt(out.data, out.len, 2, &r, &e), 0);
	buf_release(&out);
}

static void
test_mdn_parse_rcpt_past_the_only_recipient_of_an_mdn_is_none(void **state)
{
	struct mdn_params p = {0};
	struct mdn_report r;
	struct buf out;
	struct err e;

	(void)state;
	p.reporting_ua = "mx.b.test";
	p.from = "bob@b.test";
	p.to = "alice@a.test";
	p.orig_message_id = "<m5@a.test>";
	p.final_recipient = "bob@b.test";
	p.disposition = MDN_PROCESSED;
	p.now = 1795000000;
	buf_init(&out, BUF_UNLIMITED);
	assert_int_equal(mdn_build(&out, &p), 0);
	assert_int_equal(mdn_parse_rcpt(out.data, out.len, 0, &r, &e), 1);
	assert_int_equal(r.disposition, MDN_PROCESSED);
	assert_int_equal(mdn_parse_rcpt(out.data, out.len, 1, &r, &e), 0);
	buf_release(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_mdn_dsn_first_recipient_keeps_its_own_action_and_status),
		cmocka_unit_test(test_mdn_dsn_every_recipient_is_read_in_turn),
		cmocka_unit_test(
		    test_mdn_parse_rcpt_of_our_own_multi_recipient_dsn),
		cmocka_unit_test(
		    test_mdn_parse_rcpt_past_the_only_recipient_of_an_mdn_is_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
