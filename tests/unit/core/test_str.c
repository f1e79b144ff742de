#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/str.h"

static void
test_str_lcpy_truncates_and_terminates(void **state)
{
	char d[4];

	(void)state;
	assert_int_equal(str_lcpy(d, "abcdef", sizeof(d)), 6);
	assert_string_equal(d, "abc");
	assert_int_equal(str_lcpy(d, "ab", sizeof(d)), 2);
	assert_string_equal(d, "ab");
	assert_int_equal(str_fmt(d, sizeof(d), "%s", "abcd"), -1);
	assert_string_equal(d, "abc");
	assert_int_equal(str_fmt(d, sizeof(d), "%d", 12), 0);
}

struct num_case {
	const char *in;
	int64_t min, max;
	int rc;
	int64_t want;
};

static void
test_str_to_i64_checks_the_whole_string_and_range(void **state)
{
	static const struct num_case cases[] = {
		{"0", 0, 10, 0, 0},
		{"10", 0, 10, 0, 10},
		{"11", 0, 10, -1, 0},
		{"-5", -10, 10, 0, -5},
		{"+7", 0, 10, 0, 7},
		{"", 0, 10, -1, 0},
		{"-", -10, 10, -1, 0},
		{"12a", 0, 100, -1, 0},
		{" 1", 0, 100, -1, 0},
		{"9223372036854775807", 0, INT64_MAX, 0, INT64_MAX},
		{"9223372036854775808", 0, INT64_MAX, -1, 0},
		{"-9223372036854775808", INT64_MIN, 0, 0, INT64_MIN},
		{"-9223372036854775809", INT64_MIN, 0, -1, 0},
		{"99999999999999999999999", 0, INT64_MAX, -1, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t v;
		int rc = str_to_i64(cases[i].in, cases[i].min, cases[i].max,
		    &v);

		if (rc != cases[i].rc || v != cases[i].want)
			fail_msg("'%s': got rc %d v %lld, want rc %d v %lld",
			    cases[i].in, rc, (long long)v, cases[i].rc,
			    (long long)cases[i].want);
	}
}

static void
test_str_parses_durations_sizes_and_booleans(void **state)
{
	int64_t ms;
	uint64_t sz;
	bool b;

	(void)state;
	assert_int_equal(str_to_duration_ms("30", &ms), 0);
	assert_int_equal(ms, 30000);
	assert_int_equal(str_to_duration_ms("250ms", &ms), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(str_to_duration_ms("5m", &ms), 0);
	assert_int_equal(ms, 300000);
	assert_int_equal(str_to_duration_ms("5d", &ms), 0);
	assert_int_equal(ms, 432000000);
	assert_int_equal(str_to_duration_ms("5x", &ms), -1);
	assert_int_equal(str_to_duration_ms("s", &ms), -1);
	assert_int_equal(str_to_duration_ms("99999999999999999d", &ms), -1);
	assert_int_equal(str_to_size("4k", &sz), 0);
	assert_int_equal(sz, 4096);
	assert_int_equal(str_to_size("10M", &sz), 0);
	assert_int_equal(sz, 10 * 1024 * 1024);
	assert_int_equal(str_to_size("1.5M", &sz), -1);
	assert_int_equal(str_to_bool("Yes", &b), 0);
	assert_true(b);
	assert_int_equal(str_to_bool("off", &b), 0);
	assert_false(b);
	assert_int_equal(str_to_bool("maybe", &b), -1);
}

static void
test_str_helpers_trim_lower_and_compare(void **state)
{
	char s[] = "  Hello World \r\n";
	char hex[9];

	(void)state;
	assert_string_equal(str_trim(s), "Hello World");
	assert_string_equal(str_lower(str_trim(s)), "hello world");
	assert_true(str_begins("MSH|^~", "MSH"));
	assert_true(str_casebegins("ehlo x", "EHLO"));
	assert_true(str_ends("a.p7m", ".p7m"));
	assert_false(str_ends("m", ".p7m"));
	assert_true(str_span_caseeq("DATAxx", 4, "data"));
	assert_false(str_span_caseeq("DATAxx", 5, "data"));
	str_hex(hex, "\x01\xab\xff\x00", 4);
	assert_string_equal(hex, "01abff00");
}

static void
test_str_utf8_valid_takes_well_formed_text_only(void **state)
{
	static const struct {
		const char *in;
		bool want;
	} cases[] = {
		{"plain ASCII", true}, {"", true}, {"caf\xc3\xa9", true},
		{"\xe2\x82\xac", true}, {"\xf0\x9f\x98\x80", true},
		{"\xc3", false},                 /* cut short */
		{"\xc0\xaf", false},            /* overlong */
		{"\xe0\x80\xaf", false},        /* overlong, 3 bytes */
		{"\xed\xa0\x80", false},        /* surrogate */
		{"\xf4\x90\x80\x80", false},    /* past U+10FFFF */
		{"\xe9t\xe9", false},           /* Windows-1252 */
		{"\x80", false},                 /* a lone continuation */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (str_utf8_valid(cases[i].in, strlen(cases[i].in)) !=
		    cases[i].want)
			fail_msg("case %zu: got %d, want %d", i,
			    !cases[i].want, cases[i].want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_str_lcpy_truncates_and_terminates),
		cmocka_unit_test(
		    test_str_to_i64_checks_the_whole_string_and_range),
		cmocka_unit_test(test_str_parses_durations_sizes_and_booleans),
		cmocka_unit_test(test_str_helpers_trim_lower_and_compare),
		cmocka_unit_test(test_str_utf8_valid_takes_well_formed_text_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
