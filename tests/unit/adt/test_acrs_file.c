#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "adt/acrs_file.h"
#include "core/buf.h"
#include "core/str.h"
#include "tests/lib/testlib.h"

#define TODAY 20261122

static const char *const cols[] = {"patient_id", "patient_id_type",
    "assigning_authority", "last_name", "first_name", "middle_name",
    "suffix", "dob", "sex", "address1", "address2", "city", "state", "zip",
    "phone", "ssn_last4", "provider_npi", "provider_name", "relationship",
    "organization", "last_seen", "start_date", "end_date", "consent", NULL};
static const char *const good[] = {"P1", "MR", "clinic-a", "O'Brien Jr.",
    "Mary Ann", "", "", "1970-02-28", "female", "12 North Main Street",
    "Apt 4", "Ann Arbor", "MI", "48104-1234", "(734) 555-0100", "1234",
    "1234567893", "Dr Who", "pcp", "Clinic A", "2026-01-15", "", "",
    "standard", NULL};

struct collect {
	struct buf out; /* "row:column:code\n" per issue */
};

static void
on_issue(void *arg, const struct acrs_issue *is)
{
	struct collect *c = arg;

	buf_printf(&c->out, "%llu:%s:%s\n", (unsigned long long)is->row,
	    is->column, is->code);
}

/* A CSV of the header and one row: good[] with column col set to val. */
static void
make_row(struct buf *b, const char *col, const char *val)
{
	for (size_t i = 0; cols[i] != NULL; i++)
		buf_printf(b, "%s%s", i ? "," : "", cols[i]);
	buf_putc(b, '\n');
	for (size_t i = 0; cols[i] != NULL; i++) {
		const char *v = col != NULL && strcmp(cols[i], col) == 0 ?
		    val : good[i];

		buf_printf(b, "%s\"%s\"", i ? "," : "", v);
	}
	buf_putc(b, '\n');
}

/* Reads text; returns the good rows; issues in c. */
static size_t
read_all(const char *text, size_t n, struct collect *c, struct acrs_rec *last,
    int *rc_r)
{
	struct acrs_file_opts o = {TODAY, NULL, on_issue, c};
	struct acrs_file *f = acrs_file_new(&o);
	const struct acrs_rec *rec;
	struct err e;
	size_t good_rows = 0;
	int rc;

	acrs_file_input(f, text, n);
	acrs_file_finish(f);
	while ((rc = acrs_file_next(f, &rec, &e)) == 1) {
		good_rows++;
		if (last != NULL)
			*last = *rec;
	}
	*rc_r = rc;
	acrs_file_free(&f);
	return good_rows;
}

static void
test_acrs_file_accepts_and_normalizes_a_good_row(void **state)
{
	struct collect c;
	struct buf b;
	struct acrs_rec r;
	int rc;

	(void)state;
	buf_init(&c.out, BUF_UNLIMITED);
	buf_init(&b, BUF_UNLIMITED);
	make_row(&b, NULL, NULL);
	assert_int_equal(read_all((char *)b.data, b.len, &c, &r, &rc), 1);
	assert_int_equal(rc, 0);
	assert_string_equal(buf_cstr(&c.out), "");
	assert_string_equal(r.last, "OBRIEN");
	assert_string_equal(r.suffix, "JR");
	assert_string_equal(r.first, "MARY");
	assert_string_equal(r.middle, "ANN");
	assert_int_equal(r.dob, 19700228);
	assert_int_equal(r.sex, 'F');
	assert_string_equal(r.street, "12 N MAIN ST");
	assert_string_equal(r.city, "ANN ARBOR");
	assert_string_equal(r.zip5, "48104");
	assert_string_equal(r.phone, "7345550100");
	assert_string_equal(r.authority, "CLINIC-A");
	assert_int_equal(r.rel, ACRS_REL_PCP);
	assert_int_equal(r.last_seen, 20260115);
	assert_true(r.patient_new);
	buf_release(&c.out);
	buf_release(&b);
}

struct bad_case {
	const char *col;
	const char *val;
	const char *want; /* issues */
};

static void
test_acrs_file_reports_every_kind_of_bad_value(void **state)
{
	static const struct bad_case cases[] = {
		{"patient_id", "", "2:patient_id:required\n"},
		{"patient_id_type", "XX", "2:patient_id_type:patient_id_type\n"},
		{"patient_id_type", "mr", ""},
		{"last_name", "", "2:last_name:required\n"},
		{"last_name", "...", "2:last_name:name\n"},
		{"first_name", "", "2:first_name:required\n"},
		{"dob", "1970-2-28", "2:dob:date_format\n"},
		{"dob", "19700228", "2:dob:date_format\n"},
		{"dob", "1970-02-30", "2:dob:date_format\n"},
		{"dob", "2027-01-01", "2:dob:dob_future\n"},
		{"dob", "1900-01-01", "2:dob:dob_too_old\n"},
		{"dob", "2000-02-29", ""},
		{"dob", "1900-02-29", "2:dob:date_format\n"},
		{"sex", "X", "2:sex:sex\n"},
		{"sex", "Male", ""},
		{"sex", "", "2:sex:required\n"},
		{"state", "ZZ", "2:state:state\n"},
		{"state", "mi", ""},
		{"state", "MIC", "2:state:too_long\n"},
		{"zip", "4810", "2:zip:zip\n"},
		{"zip", "48104-12", "2:zip:zip\n"},
		{"zip", "481041234", ""},
		{"phone", "555-0100", "2:phone:phone\n"},
		{"phone", "1-734-555-0100", ""},
		{"phone", "734-555-01OO", "2:phone:phone\n"},
		{"ssn_last4", "12a4", "2:ssn_last4:ssn_last4\n"},
		{"ssn_last4", "12345", "2:ssn_last4:too_long\n"},
		{"provider_npi", "123456789", "2:provider_npi:npi_format\n"},
		{"provider_npi", "12345678A3", "2:provider_npi:npi_format\n"},
		{"provider_npi", "1234567890", "2:provider_npi:npi_checksum\n"},
		{"provider_npi", "", "2:provider_npi:required\n"},
		{"relationship", "friend", "2:relationship:relationship\n"},
		{"relationship", "Behavioral_Health", ""},
		{"last_seen", "2030-01-01", "2:last_seen:date_future\n"},
		{"last_seen", "yesterday", "2:last_seen:date_format\n"},
		{"last_seen", "", "2:last_seen:required\n"},
		{"end_date", "2020-01-01", ""},
		{"consent", "maybe", "2:consent:consent\n"},
		{"consent", "RESTRICTED", ""},
		{"city", "Ann\x01" "Arbor", "2:city:encoding\n"},
		{"city", "Ann\xff" "Arbor", "2:city:encoding\n"},
		{"city", "S\xc3\xa3o Paulo", ""},
	};
	struct collect c;
	struct buf b;
	int rc;

	(void)state;
	buf_init(&c.out, BUF_UNLIMITED);
	buf_init(&b, BUF_UNLIMITED);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n;

		buf_reset(&c.out);
		buf_reset(&b);
		make_row(&b, cases[i].col, cases[i].val);
		n = read_all((char *)b.data, b.len, &c, NULL, &rc);
		if (strcmp(buf_cstr(&c.out), cases[i].want) != 0 ||
		    n != (cases[i].want[0] == '\0' ? 1u : 0u) || rc != 0)
			fail_msg("case %zu (%s): got \"%s\" (%zu good), want "
			    "\"%s\"", i, cases[i].col, buf_cstr(&c.out), n,
			    cases[i].want);
	}
	buf_release(&c.out);
	buf_release(&b);
}

static void
test_acrs_file_checks_dates_duplicates_and_patient_consistency(void **state)
{
	static const char text[] =
	    "patient_id,patient_id_type,last_name,first_name,dob,sex,"
	    "provider_npi,relationship,last_seen,start_date,end_date\n"
	    "P1,MR,Doe,Jane,1980-01-01,F,1234567893,pcp,2026-01-01,,\n"
	    "P1,MR,Doe,Jane,1980-01-01,F,1234567893,pcp,2026-02-01,,\n"
	    "P1,MR,Doe,Jane,1980-01-01,F,1234567893,specialist,2026-01-01,,\n"
	    "P1,MR,Doe,Janet,1980-01-01,F,1234567893,payer,,,\n"
	    "P2,MB,Roe,Rick,1981-01-01,M,1234567893,payer,,2024-05-01,"
	    "2024-04-30\n"
	    "P3,MB,Poe,Ed,1982-01-01,M,1234567893,payer,,,\n"
	    "P4,MR,Loe,Al,1983-01-01,M,1234567893,pcp\n";
	struct collect c;
	int rc;

	(void)state;
	buf_init(&c.out, BUF_UNLIMITED);
	assert_int_equal(read_all(text, sizeof(text) - 1, &c, NULL, &rc), 3);
	assert_int_equal(rc, 0);
	assert_string_equal(buf_cstr(&c.out), "3::duplicate\n"
	    "5:patient_id:patient_conflict\n"
	    "6:end_date:end_before_start\n"
	    "8::field_count\n");
	buf_release(&c.out);
}

/* Later rows of a patient: written as the first one (checked once),
 * written differently but the same patient, or with a new problem in a
 * patient column (reported as on any row). */
static void
test_acrs_file_later_rows_of_a_patient_keep_its_checks(void **state)
{
	static const char text[] =
	    "patient_id,patient_id_type,last_name,first_name,dob,sex,zip,"
	    "provider_npi,relationship,last_seen\n"
	    "P1,MR,Doe,Jane,1980-01-01,F,48104,1234567893,pcp,2026-01-01\n"
	    "P2,MR,Roe,Rick,1981-01-01,M,48104,1234567893,pcp,2026-01-01\n"
	    "P1,MR,Doe,Jane,1980-01-01,F,48104,1234567893,specialist,"
	    "2026-01-01\n"
	    "P1,mr, doe ,JANE,1980-01-01,female,48104-0001,1234567893,payer,"
	    "\n"
	    "P1,MR,Doe,Jane,1980-01-01,F,4810,1234567893,other,2026-01-01\n";
	struct acrs_file_opts o = {TODAY, NULL, on_issue, NULL};
	struct acrs_file *f;
	const struct acrs_rec *rec;
	struct collect c;
	struct err e;
	uint64_t ord[8];
	bool fresh[8];
	size_t n = 0;
	int rc;

	(void)state;
	buf_init(&c.out, BUF_UNLIMITED);
	o.arg = &c;
	f = acrs_file_new(&o);
	acrs_file_input(f, text, sizeof(text) - 1);
	acrs_file_finish(f);
	while ((rc = acrs_file_next(f, &rec, &e)) == 1 && n < 8) {
		ord[n] = rec->patient_ord;
		fresh[n++] = rec->patient_new;
	}
	assert_int_equal(rc, 0);
	acrs_file_free(&f);
	assert_int_equal(n, 4);
	assert_string_equal(buf_cstr(&c.out), "6:zip:zip\n");
	assert_true(fresh[0] && fresh[1] && !fresh[2] && !fresh[3]);
	if (ord[2] != ord[0] || ord[3] != ord[0] || ord[1] == ord[0])
		fail_msg("patient ordinals: got %llu %llu %llu %llu, want "
		    "a b a a", (unsigned long long)ord[0],
		    (unsigned long long)ord[1], (unsigned long long)ord[2],
		    (unsigned long long)ord[3]);
	buf_release(&c.out);
}

static void
test_acrs_file_header_is_case_insensitive_in_any_order_with_bom(void **state)
{
	static const char text[] = "\xef\xbb\xbf"
	    "RELATIONSHIP, Provider_NPI ,Sex,DOB,First_Name,Last_Name,"
	    "Patient_ID_Type,PATIENT_ID,payer_note\n";
	static const char ok[] = "\xef\xbb\xbf"
	    "RELATIONSHIP,Provider_NPI,Sex,DOB,First_Name,Last_Name,"
	    "Patient_ID_Type,PATIENT_ID\n"
	    "payer,1234567893,U,2001-01-01,A,B,MB,M1\n";
	static const char missing[] = "patient_id,sex,sex\n";
	struct collect c;
	int rc;

	(void)state;
	buf_init(&c.out, BUF_UNLIMITED);
	assert_int_equal(read_all(text, sizeof(text) - 1, &c, NULL, &rc), 0);
	assert_int_equal(rc, -1);
	assert_string_equal(buf_cstr(&c.out), "1:payer_note:unknown_column\n");
	buf_reset(&c.out);
	assert_int_equal(read_all(ok, sizeof(ok) - 1, &c, NULL, &rc), 1);
	assert_string_equal(buf_cstr(&c.out), "");
	buf_reset(&c.out);
	assert_int_equal(read_all(missing, sizeof(missing) - 1, &c, NULL,
	    &rc), 0);
	assert_int_equal(rc, -1);
	assert_string_equal(buf_cstr(&c.out), "1:sex:duplicate_column\n"
	    "1:patient_id_type:missing_column\n"
	    "1:last_name:missing_column\n"
	    "1:first_name:missing_column\n"
	    "1:dob:missing_column\n"
	    "1:provider_npi:missing_column\n"
	    "1:relationship:missing_column\n");
	buf_reset(&c.out);
	assert_int_equal(read_all("", 0, &c, NULL, &rc), 0);
	assert_int_equal(rc, -1);
	assert_string_equal(buf_cstr(&c.out), "1::missing_header\n");
	buf_release(&c.out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_acrs_file_accepts_and_normalizes_a_good_row),
		cmocka_unit_test(
		    test_acrs_file_reports_every_kind_of_bad_value),
		cmocka_unit_test(
		    test_acrs_file_checks_dates_duplicates_and_patient_consistency),
		cmocka_unit_test(
		    test_acrs_file_later_rows_of_a_patient_keep_its_checks),
		cmocka_unit_test(
		    test_acrs_file_header_is_case_insensitive_in_any_order_with_bom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
