/* Fuzzing regression for hisp/dsn.c: the failure DSN copies only the
 * original's header block, whatever its empty line looks like ("\n\n",
 * "\r\n\r\n", "\n\r\n", or one at the very start): no byte of the body
 * (it may hold PHI) gets into the report. Found by tests/fuzz/hisp/
 * fuzz_header.c (corpus header/mixed_blank_line). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "hisp/dsn.h"
#include "tests/lib/testlib.h"

static void
build(struct buf *out, const char *orig)
{
	struct dsn_rcpt rc = {"bob@b.test", "5.1.1", "550 no such user"};
	struct dsn_params p = {0};

	p.reporting_mta = "mx.a.test";
	p.from = "mailer-daemon@a.test";
	p.to = "alice@a.test";
	p.orig_message_id = "<m1@a.test>";
	p.rcpts = &rc;
	p.nrcpt = 1;
	p.now = 1795000000;
	p.arrival = 1794990000;
	p.orig = orig;
	p.orig_len = strlen(orig);
	buf_init(out, BUF_UNLIMITED);
	assert_int_equal(dsn_build(out, &p), 0);
}

static void
test_dsn_copies_the_header_block_and_never_the_body(void **state)
{
	static const struct {
		const char *orig, *header; /* header: expected in the DSN */
	} cases[] = {
		{"Subject: x\r\nFrom: a@a.test\r\n\r\nSECRET\r\n",
		    "Subject: x\r\nFrom: a@a.test\r\n\r\n--"},
		{"Subject: x\nFrom: a@a.test\n\nSECRET\n",
		    "Subject: x\nFrom: a@a.test\n\r\n--"},
		{"Subject: x\nFrom: a@a.test\n\r\nSECRET\n",
		    "Subject: x\nFrom: a@a.test\n\r\n--"},
		{"Subject: x\r\nFrom: a@a.test\r\n\nSECRET\r\n",
		    "Subject: x\r\nFrom: a@a.test\r\n\r\n--"},
		{"\r\nSECRET: a header-like body line\r\n", NULL},
		{"\nSECRET\n", NULL},
	};
	struct buf out;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		build(&out, cases[i].orig);
		if (strstr(buf_cstr(&out), "SECRET") != NULL)
			fail_msg("case %zu: got the body in the DSN, want only "
			    "the header block", i);
		if (cases[i].header != NULL &&
		    strstr(buf_cstr(&out), cases[i].header) == NULL)
			fail_msg("case %zu: got no header block ending in a "
			    "boundary, want %s", i, cases[i].header);
		buf_release(&out);
	}
}

static void
test_dsn_keeps_a_header_without_an_empty_line_whole(void **state)
{
	struct buf out;

	(void)state;
	build(&out, "Subject: x\r\nX-Last: y");
	if (strstr(buf_cstr(&out), "Subject: x\r\nX-Last: y\r\n\r\n--") ==
	    NULL)
		fail_msg("got no whole header block:\n%s", buf_cstr(&out));
	buf_release(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_dsn_copies_the_header_block_and_never_the_body),
		cmocka_unit_test(
		    test_dsn_keeps_a_header_without_an_empty_line_whole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
