#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "adt/directory_export.h"
#include "adt/directory_import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adt/directory.h"
#include "core/log.h"
#include "core/store.h"
#include "core/xmalloc.h"
#include "tests/lib/testlib.h"

struct fix {
	char *dir;
	struct store *s;
};

static struct store *
open_store(const char *dir, const char *name)
{
	struct store *s = NULL;
	struct err e = {0};
	char *path = xasprintf("%s/%s", dir, name);

	if (store_open(path, 0, &s, &e) != 0)
		fail_msg("store_open: %s", e.msg);
	free(path);
	return s;
}

static int
setup(void **state)
{
	struct fix *f = xcalloc(1, sizeof(*f));

	log_init("test", LOG_LEVEL_ERROR);
	unsetenv("DIRECTGATE_FAULT_STORE");
	f->dir = testlib_tmpdir();
	f->s = open_store(f->dir, "dir.db");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	store_free(&f->s);
	testlib_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Parses and applies text as table t; returns the report (caller frees). */
static struct directory_report *
import(struct store *s, enum directory_table t, const char *csv,
    unsigned flags)
{
	struct directory_rows *rows = directory_rows_new();
	struct directory_report *rep = directory_report_new();
	struct err e = {0};

	directory_import_csv(rows, t, csv, strlen(csv), "test.csv", rep);
	if (directory_import_apply(s, rows, flags, rep, &e) != 0)
		fail_msg("apply: %s", e.msg);
	directory_rows_free(&rows);
	return rep;
}

static struct directory_report *
import_file(struct store *s, enum directory_table t, const char *rel,
    unsigned flags)
{
	char *path = testlib_source_path(rel);
	char *text = testlib_read_file(path, NULL);
	struct directory_report *rep;

	if (text == NULL)
		fail_msg("cannot read %s", path);
	rep = import(s, t, text, flags);
	free(text);
	free(path);
	return rep;
}

static int64_t
count(struct store *s, const char *table)
{
	char sql[64];
	int64_t n = -1;
	struct err e = {0};

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if (store_query_int(s, &n, &e, sql, "") != 1)
		fail_msg("count %s: %s", table, e.msg);
	return n;
}

static void
load_data_dir(struct store *s)
{
	static const struct {
		enum directory_table t;
		const char *file;
	} files[] = {
		{DIRECTORY_ORGANIZATIONS,
		    "tests/data/directory/organizations.csv"},
		{DIRECTORY_PROVIDERS, "tests/data/directory/providers.csv"},
		{DIRECTORY_MEMBERSHIPS, "tests/data/directory/memberships.csv"},
		{DIRECTORY_ENDPOINTS, "tests/data/directory/endpoints.csv"},
		{DIRECTORY_PREFERENCES, "tests/data/directory/preferences.csv"},
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct directory_report *rep = import_file(s, files[i].t,
		    files[i].file, DIRECTORY_IMPORT_STRICT);

		if (rep->total != 0 || !rep->committed)
			fail_msg("%s: %s", files[i].file,
			    rep->nproblems ? rep->problems[0].message : "?");
		directory_report_free(&rep);
	}
}

struct want_problem {
	unsigned long row;
	const char *column;
	const char *code;
};

static void
expect_problems(const struct directory_report *rep,
    const struct want_problem *want, size_t n)
{
	for (size_t i = 0; i < n && i < rep->nproblems; i++) {
		const struct directory_problem *p = &rep->problems[i];

		if (p->row != want[i].row ||
		    strcmp(p->column, want[i].column) != 0 ||
		    strcmp(p->code, want[i].code) != 0)
			fail_msg("problem %zu: got row %lu column '%s' code %s "
			    "(%s), want row %lu column '%s' code %s", i,
			    p->row, p->column, p->code, p->message,
			    want[i].row, want[i].column, want[i].code);
	}
	if (rep->nproblems != n) {
		for (size_t i = 0; i < rep->nproblems; i++)
			print_message("  %lu %s %s %s\n",
			    rep->problems[i].row, rep->problems[i].column,
			    rep->problems[i].code, rep->problems[i].message);
		fail_msg("got %zu problems, want %zu", rep->nproblems, n);
	}
}

static void
test_import_loads_the_sample_directory(void **state)
{
	struct fix *f = *state;

	load_data_dir(f->s);
	assert_int_equal(count(f->s, "dir_organization"), 3);
	assert_int_equal(count(f->s, "dir_provider"), 7);
	assert_int_equal(count(f->s, "dir_membership"), 4);
	assert_int_equal(count(f->s, "dir_endpoint"), 7);
	assert_int_equal(count(f->s, "dir_preference"), 3);
}

static void
test_import_columns_are_case_insensitive_in_any_order(void **state)
{
	struct fix *f = *state;
	struct directory_provider p;
	struct directory_report *rep;
	struct err e = {0};

	rep = import(f->s, DIRECTORY_PROVIDERS,
	    "\xef\xbb\xbf" "Status, FIRST_NAME ,npi,Last_Name\r\n"
	    "inactive,Jane,1234567893,Smith\r\n", 0);
	assert_int_equal(rep->total, 0);
	assert_int_equal(rep->loaded[DIRECTORY_PROVIDERS], 1);
	assert_int_equal(directory_provider_get(f->s, "1234567893", &p, &e),
	    1);
	assert_string_equal(p.first_name, "Jane");
	assert_string_equal(p.last_name, "Smith");
	assert_false(p.active);
	directory_report_free(&rep);
}

static void
test_import_refuses_bad_headers_as_a_whole(void **state)
{
	static const struct {
		const char *csv;
		const char *code;
		const char *column;
	} cases[] = {
		{"npi,last_name,email\n1234567893,Smith,x@y.z\n",
		    "unknown_column", ""},
		{"npi,last_name,NPI\n1234567893,Smith,1234567893\n",
		    "duplicate_column", "npi"},
		{"npi,first_name\n1234567893,Jane\n", "missing_column",
		    "last_name"},
		{"", "empty", ""},
		{"\"npi,last_name\n", "csv_syntax", ""},
	};
	struct fix *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct directory_report *rep = import(f->s,
		    DIRECTORY_PROVIDERS, cases[i].csv, 0);

		if (!rep->fatal || rep->committed || rep->nproblems < 1 ||
		    strcmp(rep->problems[0].code, cases[i].code) != 0 ||
		    strcmp(rep->problems[0].column, cases[i].column) != 0)
			fail_msg("case %zu: got fatal %d code %s column '%s', "
			    "want fatal code %s column '%s'", i, rep->fatal,
			    rep->nproblems ? rep->problems[0].code : "-",
			    rep->nproblems ? rep->problems[0].column : "-",
			    cases[i].code, cases[i].column);
		directory_report_free(&rep);
	}
	assert_int_equal(count(f->s, "dir_provider"), 0);
}

static void
test_import_reports_every_bad_provider_row(void **state)
{
	static const struct want_problem want[] = {
		{2, "npi", "bad_npi"},
		{3, "npi", "bad_npi"},
		{4, "npi", "required"},
		{5, "last_name", "required"},
		{6, "status", "bad_value"},
		{8, "taxonomy", "bad_value"},
		{9, "", "field_count"},
	};
	struct fix *f = *state;
	struct directory_report *rep;
	struct directory_provider p;
	struct err e = {0};

	rep = import_file(f->s, DIRECTORY_PROVIDERS,
	    "tests/data/directory/bad/providers.csv", 0);
	/* The field count problem is found while reading, the others
	 * while applying: order by row. */
	for (size_t i = 0; i + 1 < rep->nproblems; i++)
		for (size_t k = i + 1; k < rep->nproblems; k++)
			if (rep->problems[k].row < rep->problems[i].row) {
				struct directory_problem t = rep->problems[i];

				rep->problems[i] = rep->problems[k];
				rep->problems[k] = t;
			}
	expect_problems(rep, want, sizeof(want) / sizeof(want[0]));
	/* Good rows load: row 7 only (Twice, Dee). */
	assert_true(rep->committed);
	assert_int_equal(rep->loaded[DIRECTORY_PROVIDERS], 1);
	assert_int_equal(rep->skipped[DIRECTORY_PROVIDERS], 7);
	assert_int_equal(directory_provider_get(f->s, "1000000004", &p, &e),
	    1);
	assert_string_equal(p.last_name, "Twice");
	directory_report_free(&rep);
}

static void
test_import_reports_bad_endpoint_rows(void **state)
{
	static const struct want_problem want[] = {
		{2, "kind", "bad_value"},
		{3, "address", "bad_address"},
		{4, "address", "bad_address"},
		{5, "rank", "bad_value"},
		{6, "owner_npi", "unknown_reference"},
		{7, "active", "bad_value"},
	};
	struct fix *f = *state;
	struct directory_report *rep;

	load_data_dir(f->s);
	rep = import_file(f->s, DIRECTORY_ENDPOINTS,
	    "tests/data/directory/bad/endpoints.csv", 0);
	expect_problems(rep, want, sizeof(want) / sizeof(want[0]));
	directory_report_free(&rep);
	/* Nothing valid named Smith: its endpoints stay as they were. */
	assert_int_equal(count(f->s, "dir_endpoint"), 7);
}

static void
test_import_reports_duplicates_and_unknown_references(void **state)
{
	static const struct want_problem want[] = {
		{3, "address", "duplicate"},
		{4, "owner_npi", "unknown_reference"},
	};
	static const struct want_problem want_m[] = {
		{2, "organization_npi", "unknown_reference"},
		{3, "provider_npi", "unknown_reference"},
	};
	struct fix *f = *state;
	struct directory_report *rep;

	load_data_dir(f->s);
	rep = import(f->s, DIRECTORY_ENDPOINTS,
	    "owner_npi,kind,address\n"
	    "1234567893,direct,a@b.test\n"
	    "1234567893,direct,A@B.TEST\n"
	    "1000000004,direct,c@b.test\n", 0);
	/* A@B.TEST and a@b.test differ in the local part: only the domain
	 * is folded, so both load... */
	directory_report_free(&rep);
	rep = import(f->s, DIRECTORY_ENDPOINTS,
	    "owner_npi,kind,address\n"
	    "1234567893,direct,a@b.test\n"
	    "1234567893,direct,a@B.test\n"
	    "1000000004,direct,c@b.test\n", 0);
	expect_problems(rep, want, sizeof(want) / sizeof(want[0]));
	directory_report_free(&rep);
	rep = import(f->s, DIRECTORY_MEMBERSHIPS,
	    "provider_npi,organization_npi\n"
	    "1234567893,1000000004\n"
	    "1000000004,1987654328\n", 0);
	expect_problems(rep, want_m, sizeof(want_m) / sizeof(want_m[0]));
	directory_report_free(&rep);
}

static void
test_import_type_1_and_type_2_npis_do_not_mix(void **state)
{
	struct fix *f = *state;
	struct directory_report *rep;

	load_data_dir(f->s);
	rep = import(f->s, DIRECTORY_ORGANIZATIONS, "npi,name\n"
	    "1234567893,Not A Clinic\n", 0);
	assert_int_equal(rep->nproblems, 1);
	assert_string_equal(rep->problems[0].code, "npi_conflict");
	directory_report_free(&rep);
}

static void
test_import_strict_loads_nothing_on_any_bad_row(void **state)
{
	struct fix *f = *state;
	struct directory_report *rep;

	rep = import(f->s, DIRECTORY_PROVIDERS,
	    "npi,last_name\n1234567893,Smith\n1234567890,Bad\n",
	    DIRECTORY_IMPORT_STRICT);
	assert_false(rep->committed);
	assert_int_equal(rep->total, 1);
	assert_int_equal(count(f->s, "dir_provider"), 0);
	directory_report_free(&rep);
}

static void
test_import_skips_a_broken_csv_row_and_goes_on(void **state)
{
	struct fix *f = *state;
	struct directory_report *rep;

	rep = import(f->s, DIRECTORY_PROVIDERS,
	    "npi,last_name\n1234567893,Smith\n1333333338,\"Jo\"nes\n"
	    "1444444446,Brown\n", 0);
	assert_int_equal(rep->nproblems, 1);
	assert_string_equal(rep->problems[0].code, "csv_syntax");
	assert_int_equal(rep->problems[0].row, 3);
	assert_int_equal(count(f->s, "dir_provider"), 2);
	directory_report_free(&rep);
}

static void
test_import_is_one_transaction_a_failed_commit_keeps_the_old(void **state)
{
	struct fix *f = *state;
	struct directory_rows *rows = directory_rows_new();
	struct directory_report *rep = directory_report_new();
	const char *csv = "owner_npi,kind,address\n"
	    "1234567893,direct,new@b.test\n";
	struct directory_route r;
	struct err e = {0};

	load_data_dir(f->s);
	assert_int_equal(directory_import_csv(rows, DIRECTORY_ENDPOINTS, csv,
	    strlen(csv), "x.csv", rep), 0);
	assert_int_equal(store_fault_inject(f->s, "ioerr", 1), 0);
	assert_int_equal(directory_import_apply(f->s, rows, 0, rep, &e), -1);
	assert_false(rep->committed);
	assert_true(e.msg[0] != '\0');
	/* Smith's two endpoints are still there, and route as before. */
	assert_int_equal(count(f->s, "dir_endpoint"), 7);
	assert_int_equal(directory_route(f->s, "1234567893", "A01", 'I', &r,
	    &e), 0);
	assert_string_equal(r.targets[0].address, "dr.smith@b.test");
	directory_rows_free(&rows);
	directory_report_free(&rep);
}

static void
test_import_replaces_the_rows_of_each_owner_it_names(void **state)
{
	struct fix *f = *state;
	struct directory_report *rep;
	struct directory_endpoint *eps;
	size_t n;
	struct err e = {0};

	load_data_dir(f->s);
	rep = import(f->s, DIRECTORY_ENDPOINTS, "owner_npi,kind,address\n"
	    "1234567893,direct,only@b.test\n", 0);
	assert_int_equal(rep->total, 0);
	directory_report_free(&rep);
	assert_int_equal(directory_endpoint_list(f->s, "1234567893", &eps, &n,
	    &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(eps[0].address, "only@b.test");
	free(eps);
	/* Other owners' endpoints are untouched: 7 - 2 + 1. */
	assert_int_equal(count(f->s, "dir_endpoint"), 6);
}

static char *
export_all(struct store *s)
{
	struct buf out;
	struct err e = {0};

	buf_init(&out, BUF_UNLIMITED);
	for (int t = 0; t < DIRECTORY_TABLE_COUNT; t++)
		if (directory_export_csv(s, t, &out, &e) != 0)
			fail_msg("export: %s", e.msg);
	return (char *)buf_steal(&out, NULL);
}

static void
test_export_then_import_round_trips(void **state)
{
	struct fix *f = *state;
	struct store *s2 = open_store(f->dir, "copy.db");
	char *first, *second;

	load_data_dir(f->s);
	for (int t = 0; t < DIRECTORY_TABLE_COUNT; t++) {
		struct buf out;
		struct directory_report *rep;
		struct err e = {0};

		buf_init(&out, BUF_UNLIMITED);
		assert_int_equal(directory_export_csv(f->s, t, &out, &e), 0);
		rep = import(s2, t, buf_cstr(&out), DIRECTORY_IMPORT_STRICT);
		if (rep->total != 0)
			fail_msg("%s: %s", directory_table_name(t),
			    rep->problems[0].message);
		directory_report_free(&rep);
		buf_release(&out);
	}
	first = export_all(f->s);
	second = export_all(s2);
	assert_string_equal(first, second);
	assert_non_null(strstr(first, "\"Lakeside Cardiology Group, LLC\""));
	/* Importing the export again changes nothing. */
	load_data_dir(s2);
	free(second);
	second = export_all(s2);
	assert_string_equal(first, second);
	free(first);
	free(second);
	store_free(&s2);
}

static void
test_report_renders_text_and_json(void **state)
{
	struct fix *f = *state;
	struct directory_report *rep;
	struct buf out;

	rep = import(f->s, DIRECTORY_PROVIDERS,
	    "npi,last_name\n1234567890,\"Quote \"\"x\"\"\"\n", 0);
	buf_init(&out, BUF_UNLIMITED);
	directory_report_text(rep, &out);
	assert_non_null(strstr(buf_cstr(&out),
	    "test.csv:2: column npi: bad_npi: "));
	assert_non_null(strstr(buf_cstr(&out), "providers 0 (1 skipped)"));
	buf_reset(&out);
	directory_report_json(rep, &out);
	assert_non_null(strstr(buf_cstr(&out),
	    "{\"file\":\"test.csv\",\"row\":2,\"column\":\"npi\","
	    "\"code\":\"bad_npi\",\"message\":"));
	assert_non_null(strstr(buf_cstr(&out), "\"ok\":false"));
	assert_non_null(strstr(buf_cstr(&out), "\"providers\":{\"rows\":1,"
	    "\"loaded\":0,\"skipped\":1}"));
	buf_release(&out);
	directory_report_free(&rep);
}

static void
test_preference_rules_are_checked_on_import(void **state)
{
	static const struct want_problem want[] = {
		{2, "events", "bad_value"},
		{3, "classes", "bad_value"},
		{4, "format", "bad_value"},
		{5, "timing", "bad_value"},
		{6, "timing", "bad_value"},
	};
	struct fix *f = *state;
	struct directory_report *rep;

	load_data_dir(f->s);
	rep = import(f->s, DIRECTORY_PREFERENCES,
	    "owner_npi,events,classes,format,timing\n"
	    "1234567893,A99,*,hl7+text,realtime\n"
	    "1234567893,*,X,hl7+text,realtime\n"
	    "1234567893,*,*,pdf,realtime\n"
	    "1234567893,*,*,hl7+text,weekly\n"
	    "1234567893,*,*,hl7,07:00\n"
	    "1234567893,A01,I,hl7,realtime\n", 0);
	expect_problems(rep, want, sizeof(want) / sizeof(want[0]));
	assert_int_equal(rep->loaded[DIRECTORY_PREFERENCES], 1);
	directory_report_free(&rep);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_import_loads_the_sample_directory),
		T(test_import_columns_are_case_insensitive_in_any_order),
		T(test_import_refuses_bad_headers_as_a_whole),
		T(test_import_reports_every_bad_provider_row),
		T(test_import_reports_bad_endpoint_rows),
		T(test_import_reports_duplicates_and_unknown_references),
		T(test_import_type_1_and_type_2_npis_do_not_mix),
		T(test_import_strict_loads_nothing_on_any_bad_row),
		T(test_import_skips_a_broken_csv_row_and_goes_on),
		T(test_import_is_one_transaction_a_failed_commit_keeps_the_old),
		T(test_import_replaces_the_rows_of_each_owner_it_names),
		T(test_export_then_import_round_trips),
		T(test_report_renders_text_and_json),
		T(test_preference_rules_are_checked_on_import),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
