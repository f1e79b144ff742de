#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "adt/acrs_csv.h"
#include "core/buf.h"
#include "tests/lib/testlib.h"

/* A transcript of what the reader gives: "L<line>[a|b]" per row and
 * "L<line>!<error>" per broken row, each on its own line. */
struct csv_run {
	struct acrs_csv *c;
	struct buf out;
	struct acrs_csv_limits lim;
};

static void
csv_drain(struct csv_run *r)
{
	struct err e;
	int rc;

	while ((rc = acrs_csv_next(r->c, &e)) != 0) {
		buf_printf(&r->out, "L%llu", (unsigned long long)
		    acrs_csv_row(r->c));
		if (rc == -1) {
			buf_printf(&r->out, "!%s\n", e.msg);
			continue;
		}
		buf_putc(&r->out, '[');
		for (size_t i = 0; i < acrs_csv_nfields(r->c); i++) {
			size_t n;
			const char *f = acrs_csv_field(r->c, i, &n);

			if (i > 0)
				buf_putc(&r->out, '|');
			buf_append(&r->out, f, n);
		}
		buf_append_str(&r->out, "]\n");
	}
}

static void
csv_begin(void *ctx)
{
	struct csv_run *r = ctx;

	acrs_csv_free(&r->c);
	r->c = acrs_csv_new(&r->lim);
	buf_reset(&r->out);
}

static int
csv_feed(void *ctx, const uint8_t *p, size_t n)
{
	struct csv_run *r = ctx;

	acrs_csv_input(r->c, p, n);
	csv_drain(r);
	return 0;
}

static uint64_t
csv_end(void *ctx)
{
	struct csv_run *r = ctx;

	acrs_csv_finish(r->c);
	csv_drain(r);
	return testlib_fnv(TESTLIB_FNV_INIT, r->out.data, r->out.len);
}

static const struct trickle_ops csv_ops = {csv_begin, csv_feed, csv_end};

struct csv_case {
	const char *in;
	const char *want;
};

static void
run_cases(const struct csv_case *cases, size_t n,
    const struct acrs_csv_limits *lim)
{
	struct csv_run r;

	memset(&r, 0, sizeof(r));
	if (lim != NULL)
		r.lim = *lim;
	buf_init(&r.out, BUF_UNLIMITED);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(cases[i].in);

		csv_begin(&r);
		csv_feed(&r, (const uint8_t *)cases[i].in, len);
		csv_end(&r);
		if (strcmp(buf_cstr(&r.out), cases[i].want) != 0)
			fail_msg("case %zu: got\n%s\nwant\n%s", i,
			    buf_cstr(&r.out), cases[i].want);
		testlib_trickle(&csv_ops, &r, cases[i].in, len, 16);
	}
	acrs_csv_free(&r.c);
	buf_release(&r.out);
}

static void
test_acrs_csv_reads_rfc4180_rows_whole_and_trickled(void **state)
{
	static const struct csv_case cases[] = {
		{"a,b,c\n1,2,3\n", "L1[a|b|c]\nL2[1|2|3]\n"},
		{"a,b\r\n1,2\r\n", "L1[a|b]\nL2[1|2]\n"},
		{"a,b\r1,2\r", "L1[a|b]\nL2[1|2]\n"},
		{"a,b\n1,2", "L1[a|b]\nL2[1|2]\n"},
		{"a,,\n", "L1[a||]\n"},
		{",\n", "L1[|]\n"},
		{"\"x,y\",\"say \"\"hi\"\"\"\n", "L1[x,y|say \"hi\"]\n"},
		{"\"two\nlines\",b\nc,d\n", "L1[two\nlines|b]\nL3[c|d]\n"},
		{"\"crlf\r\ninside\",b\r\nc,d\r\n",
		    "L1[crlf\r\ninside|b]\nL3[c|d]\n"},
		{"\"\"\n", "L1[]\n"},
		{"a\n\n\nb\n", "L1[a]\nL4[b]\n"},
		{"\r\n\r\na\r\n", "L3[a]\n"},
		{"\xef\xbb\xbf" "a,b\n", "L1[a|b]\n"},
		{"\xef\xbb\xbf\"a\",b\n", "L1[a|b]\n"},
		{"\xef\xbbX,b\n", "L1[\xef\xbbX|b]\n"},
		{"", ""},
		{"\n", ""},
	};

	(void)state;
	run_cases(cases, sizeof(cases) / sizeof(cases[0]), NULL);
}

static void
test_acrs_csv_reports_broken_rows_and_goes_on(void **state)
{
	static const struct csv_case cases[] = {
		{"a,b\"c\nd,e\n",
		    "L1!quote inside an unquoted field\nL2[d|e]\n"},
		{"\"a\"x,b\nd,e\n", "L1!text after a closing quote\nL2[d|e]\n"},
		{"a,b\n\"open,c\n",
		    "L1[a|b]\nL2!quoted field not closed at the end of the "
		    "file\n"},
		{"a\"\r\nb\r\n", "L1!quote inside an unquoted field\nL2[b]\n"},
	};

	(void)state;
	run_cases(cases, sizeof(cases) / sizeof(cases[0]), NULL);
}

static void
test_acrs_csv_enforces_field_row_and_count_limits(void **state)
{
	static const struct acrs_csv_limits lim = {8, 16, 3};
	static const struct csv_case cases[] = {
		{"12345678,b\nok\n", "L1[12345678|b]\nL2[ok]\n"},
		{"123456789,b\nok\n",
		    "L1!field longer than 8 bytes\nL2[ok]\n"},
		{"\"123456789\",b\nok\n",
		    "L1!field longer than 8 bytes\nL2[ok]\n"},
		{"a,b,c\n", "L1[a|b|c]\n"},
		{"a,b,c,d\nok\n", "L1!more than 3 fields\nL2[ok]\n"},
		{"a,b,c,\nok\n", "L1!more than 3 fields\nL2[ok]\n"},
		{"aaaaaaa,bbbbbbb,ccc\nok\n",
		    "L1!row longer than 16 bytes\nL2[ok]\n"},
	};

	(void)state;
	run_cases(cases, sizeof(cases) / sizeof(cases[0]), &lim);
}

static void
test_acrs_csv_reads_a_large_file_in_any_split(void **state)
{
	struct buf in;
	struct csv_run r;
	uint64_t h;
	size_t rows = 0;

	(void)state;
	buf_init(&in, BUF_UNLIMITED);
	for (int i = 0; i < 2000; i++)
		buf_printf(&in, "P%d,\"Name, %d\",\"q\"\"%d\",x\r\n", i, i,
		    i);
	memset(&r, 0, sizeof(r));
	buf_init(&r.out, BUF_UNLIMITED);
	h = testlib_trickle(&csv_ops, &r, in.data, in.len, 4);
	assert_true(h != 0);
	for (size_t i = 0; i < r.out.len; i++)
		rows += r.out.data[i] == '\n';
	assert_int_equal(rows, 2000);
	assert_non_null(strstr(buf_cstr(&r.out), "L1999[P1998|Name, 1998|"
	    "q\"1998|x]"));
	acrs_csv_free(&r.c);
	buf_release(&r.out);
	buf_release(&in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_acrs_csv_reads_rfc4180_rows_whole_and_trickled),
		cmocka_unit_test(test_acrs_csv_reports_broken_rows_and_goes_on),
		cmocka_unit_test(
		    test_acrs_csv_enforces_field_row_and_count_limits),
		cmocka_unit_test(test_acrs_csv_reads_a_large_file_in_any_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
