#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "adt/acrs_match.h"
#include "adt/acrs_norm.h"
#include "core/str.h"

#define fabs(x) ((x) < 0 ? -(x) : (x))

static void
test_acrs_norm_npi_luhn_with_prefix_80840(void **state)
{
	static const struct {
		const char *npi;
		bool ok;
	} cases[] = {
		{"1234567893", true}, {"1245319599", true},
		{"1234567890", false}, {"1245319590", false},
		{"123456789", false}, {"12345678931", false},
		{"12345678a3", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = acrs_norm_npi_ok(cases[i].npi,
		    strlen(cases[i].npi));

		if (got != cases[i].ok)
			fail_msg("%s: got %d, want %d", cases[i].npi, got,
			    cases[i].ok);
	}
	assert_int_equal(acrs_norm_npi_check("123456789"), 3);
}

static void
test_acrs_norm_dates_are_strict_and_calendar_aware(void **state)
{
	int32_t d;

	(void)state;
	assert_int_equal(acrs_norm_date("2024-02-29", 10, &d), 0);
	assert_int_equal(d, 20240229);
	assert_int_equal(acrs_norm_date("2023-02-29", 10, &d), -1);
	assert_int_equal(acrs_norm_date("2023-2-28", 9, &d), -1);
	assert_int_equal(acrs_norm_date("2023-04-31", 10, &d), -1);
	assert_int_equal(acrs_norm_date("1799-12-31", 10, &d), -1);
	assert_int_equal(acrs_norm_date_any("19800101120000", &d), 0);
	assert_int_equal(d, 19800101);
	assert_int_equal(acrs_norm_date_any("1980-01-01", &d), 0);
	assert_int_equal(acrs_norm_date_any("1980", &d), -1);
	assert_int_equal(acrs_norm_add_months(20260331, -1), 20260228);
	assert_int_equal(acrs_norm_add_months(20261122, -24), 20241122);
	assert_int_equal(acrs_norm_add_months(20240229, 12), 20250228);
	assert_int_equal(acrs_norm_from_days(acrs_norm_days(20000301) - 1),
	    20000229);
	assert_int_equal(acrs_norm_today(0), 19700101);
	assert_int_equal(acrs_norm_today(1795305600), 20261122);
}

static void
test_acrs_norm_names_fold_titles_and_suffixes(void **state)
{
	static const struct {
		const char *in, *last, *suffix;
	} lasts[] = {
		{"O'Brien Jr.", "OBRIEN", "JR"},
		{"de la Cruz", "DELACRUZ", ""},
		{"Smith-Jones III", "SMITHJONES", "III"},
		{"M\xc3\xbcller", "MULLER", ""},
		{"N\xc3\xba\xc3\xb1" "ez", "NUNEZ", ""},
		{"  st. pierre ", "STPIERRE", ""},
	};
	static const struct {
		const char *in, *first, *middle;
	} firsts[] = {
		{"Mrs. Mary Ann", "MARY", "ANN"},
		{"Dr. Jos\xc3\xa9", "JOSE", ""},
		{"Zo\xc3\xab", "ZOE", ""},
		{"J.", "J", ""},
		{"\xe2\x98\x83 Bob", "BOB", ""},
	};
	char a[ACRS_NAME_MAX], b[ACRS_NAME_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(lasts) / sizeof(lasts[0]); i++) {
		acrs_norm_last(lasts[i].in, a, b);
		if (strcmp(a, lasts[i].last) != 0 ||
		    strcmp(b, lasts[i].suffix) != 0)
			fail_msg("%s: got %s/%s, want %s/%s", lasts[i].in, a, b,
			    lasts[i].last, lasts[i].suffix);
	}
	for (size_t i = 0; i < sizeof(firsts) / sizeof(firsts[0]); i++) {
		b[0] = '\0';
		acrs_norm_first(firsts[i].in, a, b);
		if (strcmp(a, firsts[i].first) != 0 ||
		    strcmp(b, firsts[i].middle) != 0)
			fail_msg("%s: got %s/%s, want %s/%s", firsts[i].in, a,
			    b, firsts[i].first, firsts[i].middle);
	}
}

static void
test_acrs_norm_street_uses_usps_publication_28(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"12 North Main Street", "12 N MAIN ST"},
		{"12 N. Main St.", "12 N MAIN ST"},
		{"500 Woodward Avenue, Apartment 4", "500 WOODWARD AVE APT 4"},
		{"9 Lakeview Boulevard Suite 200", "9 LAKEVIEW BLVD STE 200"},
		{"77 Sunset Parkway #3", "77 SUNSET PKWY 3"},
		{"1 Southwest Highway", "1 SW HWY"},
	};
	static const char *const words[] = {"ALLEE", "ALLEY", "AVENUE",
	    "BOULEVARD", "CIRCLE", "COURT", "DRIVE", "HIGHWAY", "LANE",
	    "PARKWAY", "PLACE", "ROAD", "SQUARE", "STREET", "TERRACE", "TRAIL",
	    "WEST", NULL};
	char out[ACRS_STREET_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		acrs_norm_street(cases[i].in, out, sizeof(out));
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("%s: got %s, want %s", cases[i].in, out,
			    cases[i].want);
	}
	/* The table is sorted (bsearch finds every word). */
	for (size_t i = 0; words[i] != NULL; i++)
		if (acrs_norm_usps_abbrev(words[i]) == NULL)
			fail_msg("%s not found", words[i]);
	assert_null(acrs_norm_usps_abbrev("MAIN"));
}

static void
test_acrs_norm_sex_zip_phone(void **state)
{
	char z[6], p[11];

	(void)state;
	assert_int_equal(acrs_norm_sex("Female"), 'F');
	assert_int_equal(acrs_norm_sex("m"), 'M');
	assert_int_equal(acrs_norm_sex("A"), 'O');
	assert_int_equal(acrs_norm_sex(""), 'U');
	assert_int_equal(acrs_norm_sex("X"), 0);
	assert_int_equal(acrs_norm_zip("48104-1234", z), 0);
	assert_string_equal(z, "48104");
	assert_int_equal(acrs_norm_zip("481041234", z), 0);
	assert_int_equal(acrs_norm_zip("4810", z), -1);
	assert_int_equal(acrs_norm_zip("", z), 1);
	assert_int_equal(acrs_norm_phone("+1 (734) 555-0100", p), 0);
	assert_string_equal(p, "7345550100");
	assert_int_equal(acrs_norm_phone("555-0100", p), -1);
	assert_int_equal(acrs_norm_phone("734 555 0100 x12", p), -1);
	assert_int_equal(acrs_norm_phone("", p), 1);
}

static void
test_acrs_norm_jaro_winkler_known_values(void **state)
{
	static const struct {
		const char *a, *b;
		double want;
	} cases[] = {
		{"MARTHA", "MARHTA", 0.9611}, {"DWAYNE", "DUANE", 0.84},
		{"DIXON", "DICKSONX", 0.8133}, {"JONES", "JONES", 1.0},
		{"ABC", "XYZ", 0.0}, {"", "A", 0.0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double got = acrs_norm_jw(cases[i].a, cases[i].b);

		if (fabs(got - cases[i].want) > 0.001)
			fail_msg("%s/%s: got %.4f, want %.4f", cases[i].a,
			    cases[i].b, got, cases[i].want);
	}
}

static void
test_acrs_norm_blocking_keys(void **state)
{
	(void)state;
	assert_true(acrs_norm_key_name("48104", "SMITH", "JOHN", 'M') > 0);
	assert_true(acrs_norm_key_name("48104", "SMITHSON", "JOHNNY", 'M') ==
	    acrs_norm_key_name("48104", "SMITH", "JOHN", 'M'));
	assert_true(acrs_norm_key_name("48104", "SMITH", "JOHN", 'F') !=
	    acrs_norm_key_name("48104", "SMITH", "JOHN", 'M'));
	assert_int_equal(acrs_norm_key_name("", "SMITH", "JOHN", 'M'), 0);
	assert_true(acrs_norm_key_phone("7345550100", 19800101) ==
	    (int64_t)100 * 100000000 + 19800101 + 1);
	assert_int_equal(acrs_norm_key_phone("", 19800101), 0);
}

static void
test_acrs_match_score_weights_and_conflicts(void **state)
{
	struct acrs_cand q, c;
	bool conflict;
	double s;

	(void)state;
	memset(&q, 0, sizeof(q));
	str_lcpy(q.last, "DOE", sizeof(q.last));
	str_lcpy(q.first, "JANE", sizeof(q.first));
	q.dob = 19800101;
	q.sex = 'F';
	str_lcpy(q.street, "1 MAIN ST", sizeof(q.street));
	str_lcpy(q.city, "LANSING", sizeof(q.city));
	str_lcpy(q.zip5, "48906", sizeof(q.zip5));
	c = q;
	s = acrs_match_score(&q, &c, 0.9, &conflict);
	assert_true(fabs(s - 39.85) < 1e-9);
	assert_false(conflict);
	/* Missing fields score half their weight. */
	c.street[0] = c.city[0] = c.zip5[0] = '\0';
	c.sex = 'U';
	s = acrs_match_score(&q, &c, 0.9, &conflict);
	assert_true(fabs(s - (10.1 + 6.8 + 6.4 + (8.4 + 5.0 + 2.4 + 0.75) /
	    2)) < 1e-9);
	/* Swapped names agree; a DOB typo (day and month) scores 0. */
	c = q;
	str_lcpy(c.last, "JANE", sizeof(c.last));
	str_lcpy(c.first, "DOE", sizeof(c.first));
	c.dob = 19800101;
	assert_true(fabs(acrs_match_score(&q, &c, 0.9, &conflict) - 39.85) <
	    1e-9);
	c = q;
	q.dob = 19800312;
	c.dob = 19801203;
	s = acrs_match_score(&q, &c, 0.9, &conflict);
	assert_true(fabs(s - 29.75) < 1e-9);
	assert_false(conflict);
	/* A twin: another first name is a conflict. */
	c = q;
	str_lcpy(c.first, "BEATRIX", sizeof(c.first));
	(void)acrs_match_score(&q, &c, 0.9, &conflict);
	assert_true(conflict);
	/* M against F is a conflict, U is not. */
	c = q;
	c.sex = 'M';
	(void)acrs_match_score(&q, &c, 0.9, &conflict);
	assert_true(conflict);
	assert_true(acrs_match_exact(&q, &q));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acrs_norm_npi_luhn_with_prefix_80840),
		cmocka_unit_test(
		    test_acrs_norm_dates_are_strict_and_calendar_aware),
		cmocka_unit_test(test_acrs_norm_names_fold_titles_and_suffixes),
		cmocka_unit_test(test_acrs_norm_street_uses_usps_publication_28),
		cmocka_unit_test(test_acrs_norm_sex_zip_phone),
		cmocka_unit_test(test_acrs_norm_jaro_winkler_known_values),
		cmocka_unit_test(test_acrs_norm_blocking_keys),
		cmocka_unit_test(test_acrs_match_score_weights_and_conflicts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
