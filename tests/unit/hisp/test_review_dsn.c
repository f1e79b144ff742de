/* Review regressions for hisp/dsn.c: a recipient that failed after
 * temporary errors (the queue gave up: 4.4.7) keeps its status detail in
 * the failure DSN (class 5, as Action: failed requires), and text from a
 * remote server never breaks out of its Diagnostic-Code line. */
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
build(struct buf *out, const struct dsn_rcpt *rc, size_t n)
{
	struct dsn_params p = {0};

	p.reporting_mta = "mx.a.test";
	p.from = "mailer-daemon@a.test";
	p.to = "alice@a.test";
	p.orig_message_id = "<m1@a.test>";
	p.rcpts = rc;
	p.nrcpt = n;
	p.now = 1795000000;
	p.arrival = 1794990000;
	buf_init(out, BUF_UNLIMITED);
	assert_int_equal(dsn_build(out, &p), 0);
}

static void
test_dsn_failed_status_keeps_its_detail_in_class_5(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"4.4.7", "\r\nStatus: 5.4.7\r\n"},
		{"4.4.1", "\r\nStatus: 5.4.1\r\n"},
		{"5.1.1", "\r\nStatus: 5.1.1\r\n"},
		{"", "\r\nStatus: 5.0.0\r\n"},
		{"garbage", "\r\nStatus: 5.0.0\r\n"},
		{"4.", "\r\nStatus: 5.0.0\r\n"},
	};
	struct buf out;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dsn_rcpt rc = {"bob@b.test", cases[i].in, "gave up"};
		const char *st;

		build(&out, &rc, 1);
		if (strstr(buf_cstr(&out), cases[i].want) == NULL) {
			st = strstr(buf_cstr(&out), "\r\nStatus: ");
			fail_msg("status %s: got %.16s, want %s", cases[i].in,
			    st != NULL ? st + 2 : "(none)", cases[i].want + 2);
		}
		buf_release(&out);
	}
}

static void
test_dsn_diagnostic_from_a_remote_server_stays_on_its_line(void **state)
{
	struct dsn_rcpt rc = {"bob@b.test", "5.1.1",
	    "550 no\rFinal-Recipient: rfc822; eve@evil.test\nAction: delivered"};
	struct mdn_report r;
	struct buf out;
	struct err e;

	(void)state;
	build(&out, &rc, 1);
	if (strstr(buf_cstr(&out), "\nAction: delivered") != NULL ||
	    strstr(buf_cstr(&out), "\rFinal-Recipient: rfc822; eve") != NULL)
		fail_msg("got a field injected through the diagnostic:\n%s",
		    buf_cstr(&out));
	assert_int_equal(mdn_parse(out.data, out.len, &r, &e), 1);
	assert_int_equal(r.disposition, MDN_FAILED);
	assert_string_equal(r.final_recipient, "bob@b.test");
	buf_release(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_dsn_failed_status_keeps_its_detail_in_class_5),
		cmocka_unit_test(
		    test_dsn_diagnostic_from_a_remote_server_stays_on_its_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
