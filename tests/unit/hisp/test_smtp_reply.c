#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/testlib.h"

#include "core/buf.h"
#include "hisp/smtp_reply.h"

/* Parses input into a transcript: "code|enhanced|nlines|text;" per reply,
 * "ERR" on error, "+" if input is left incomplete at the end. */
struct reply_run {
	struct smtp_reply_parser *p;
	struct buf got;
	bool failed;
};

static void
rr_begin(void *ctx)
{
	struct reply_run *r = ctx;

	smtp_reply_parser_free(&r->p);
	r->p = smtp_reply_parser_new();
	buf_release(&r->got);
	buf_init(&r->got, BUF_UNLIMITED);
	r->failed = false;
}

static int
rr_feed(void *ctx, const uint8_t *p, size_t n)
{
	struct reply_run *r = ctx;

	while (n > 0) {
		size_t used = 0;
		struct err e;
		int rc = smtp_reply_parser_parse(r->p, p, n, &used, &e);

		p += used;
		n -= used;
		if (rc < 0) {
			buf_append_str(&r->got, "ERR;");
			r->failed = true;
			return -1;
		}
		if (rc == 1) {
			const struct smtp_reply *rep =
			    smtp_reply_parser_get0_reply(r->p);

			buf_printf(&r->got, "%d|%s|%zu|%s;", rep->code,
			    rep->enhanced, rep->nlines, buf_cstr(&rep->text));
		}
		if (rc == 0)
			break;
	}
	return 0;
}

static uint64_t
rr_end(void *ctx)
{
	struct reply_run *r = ctx;

	return testlib_fnv(TESTLIB_FNV_INIT, r->got.data, r->got.len);
}

static const struct trickle_ops rr_ops = {rr_begin, rr_feed, rr_end};

static const struct {
	const char *name;
	const char *input;
	const char *want;
} cases[] = {
	{"single line", "220 mx.test ESMTP\r\n", "220||1|mx.test ESMTP;"},
	{"enhanced code", "250 2.1.0 Ok\r\n", "250|2.1.0|1|2.1.0 Ok;"},
	{"enhanced class must match", "250 5.1.0 Ok\r\n", "250||1|5.1.0 Ok;"},
	{"enhanced code alone", "550 5.7.1\r\n", "550|5.7.1|1|5.7.1;"},
	{"not an enhanced code", "250 2.1 x\r\n", "250||1|2.1 x;"},
	{"multiline ehlo", "250-mx.test\r\n250-PIPELINING\r\n250 SIZE 100\r\n",
	    "250||3|mx.test\nPIPELINING\nSIZE 100;"},
	{"two replies in one read", "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n",
	    "250|2.1.0|1|2.1.0 Ok;250|2.1.5|1|2.1.5 Ok;"},
	{"code only", "354\r\n", "354||1|;"},
	{"bare LF line ends", "221 bye\n", "221||1|bye;"},
	{"incomplete reply", "250-a\r\n250 b", ""},
	{"mixed codes", "250-a\r\n251 b\r\n", "ERR;"},
	{"not digits", "2x0 hi\r\n", "ERR;"},
	{"code out of range", "600 hi\r\n", "ERR;"},
	{"bad separator", "250_hi\r\n", "ERR;"},
	{"too short", "25\r\n", "ERR;"},
	{"empty line", "\r\n", "ERR;"},
};

static void
test_smtp_reply_table_cases(void **state)
{
	struct reply_run r = {0};
	int failures = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		testlib_trickle(&rr_ops, &r, cases[i].input,
		    strlen(cases[i].input), 8);
		if (strcmp(buf_cstr(&r.got), cases[i].want) != 0) {
			print_error("%s: got \"%s\", want \"%s\"\n",
			    cases[i].name, buf_cstr(&r.got), cases[i].want);
			failures++;
		}
	}
	smtp_reply_parser_free(&r.p);
	buf_release(&r.got);
	assert_int_equal(failures, 0);
}

static void
test_smtp_reply_rejects_line_longer_than_limit(void **state)
{
	struct reply_run r = {0};
	struct buf in;

	buf_init(&in, BUF_UNLIMITED);
	buf_append_str(&in, "250 ");
	for (int i = 0; i < SMTP_REPLY_LINE_MAX; i++)
		buf_putc(&in, 'x');
	buf_append_str(&in, "\r\n");
	testlib_trickle(&rr_ops, &r, in.data, in.len, 4);
	assert_string_equal(buf_cstr(&r.got), "ERR;");
	smtp_reply_parser_free(&r.p);
	buf_release(&r.got);
	buf_release(&in);
}

static void
test_smtp_reply_rejects_too_many_lines(void **state)
{
	struct reply_run r = {0};
	struct buf in;

	buf_init(&in, BUF_UNLIMITED);
	for (int i = 0; i <= SMTP_REPLY_LINES_MAX; i++)
		buf_append_str(&in, "250-x\r\n");
	buf_append_str(&in, "250 end\r\n");
	testlib_trickle(&rr_ops, &r, in.data, in.len, 4);
	assert_string_equal(buf_cstr(&r.got), "ERR;");
	smtp_reply_parser_free(&r.p);
	buf_release(&r.got);
	buf_release(&in);
}

static void
test_smtp_reply_ehlo_keywords(void **state)
{
	static const char in[] = "250-mx.test greets you\r\n250-PIPELINING\r\n"
	    "250-SIZE 1000\r\n250-AUTH PLAIN LOGIN\r\n250-auth=LOGIN\r\n"
	    "250 8BITMIME\r\n";
	struct smtp_reply_parser *p = smtp_reply_parser_new();
	const struct smtp_reply *r;
	const char *params;
	size_t used, plen, n;
	struct err e;

	assert_int_equal(smtp_reply_parser_parse(p, (const uint8_t *)in,
	    sizeof(in) - 1, &used, &e), 1);
	assert_int_equal(used, sizeof(in) - 1);
	r = smtp_reply_parser_get0_reply(p);
	assert_true(smtp_reply_ehlo_has(r, "pipelining", NULL, NULL));
	assert_true(smtp_reply_ehlo_has(r, "SIZE", &params, &plen));
	assert_int_equal(plen, 4);
	assert_memory_equal(params, "1000", 4);
	assert_true(smtp_reply_ehlo_has(r, "AUTH", &params, &plen));
	assert_int_equal(plen, 11);
	assert_true(smtp_reply_ehlo_has(r, "8BITMIME", NULL, NULL));
	/* The greeting line is not a keyword; prefixes do not match. */
	assert_false(smtp_reply_ehlo_has(r, "mx.test", NULL, NULL));
	assert_false(smtp_reply_ehlo_has(r, "PIPE", NULL, NULL));
	assert_false(smtp_reply_ehlo_has(r, "STARTTLS", NULL, NULL));
	assert_non_null(smtp_reply_line(r, 5, &n));
	assert_int_equal(n, 8);
	assert_null(smtp_reply_line(r, 6, &n));
	assert_int_equal(smtp_reply_class(250), SMTP_REPLY_POSITIVE);
	assert_int_equal(smtp_reply_class(354), SMTP_REPLY_POSITIVE);
	assert_int_equal(smtp_reply_class(451), SMTP_REPLY_TEMP);
	assert_int_equal(smtp_reply_class(554), SMTP_REPLY_PERM);
	smtp_reply_parser_free(&p);
	smtp_reply_parser_free(&p);
	assert_null(p);
}

static void
test_smtp_reply_stays_failed_after_an_error(void **state)
{
	struct smtp_reply_parser *p = smtp_reply_parser_new();
	size_t used;
	struct err e;

	assert_int_equal(smtp_reply_parser_parse(p, (const uint8_t *)"xyz\r\n",
	    5, &used, &e), -1);
	assert_int_equal(e.kind, ERR_PROTO);
	assert_int_equal(smtp_reply_parser_parse(p, (const uint8_t *)"250 ok\r\n",
	    8, &used, &e), -1);
	smtp_reply_parser_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smtp_reply_table_cases),
		cmocka_unit_test(test_smtp_reply_rejects_line_longer_than_limit),
		cmocka_unit_test(test_smtp_reply_rejects_too_many_lines),
		cmocka_unit_test(test_smtp_reply_ehlo_keywords),
		cmocka_unit_test(test_smtp_reply_stays_failed_after_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
