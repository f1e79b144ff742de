/* A store loaded for the notification tests (test_notify, test_notify_plan,
 * test_notify_fallback): an ACRS file of submitter CLINIC and Health
 * Directory tables, each test with its own data. Include after cmocka.h. */
#ifndef TESTS_UNIT_ADT_NOTIFY_FIXTURE_H
#define TESTS_UNIT_ADT_NOTIFY_FIXTURE_H

#include <string.h>

#include "adt/acrs_import.h"
#include "adt/directory_import.h"
#include "core/store.h"
#include "core/str.h"
#include "tests/lib/testlib.h"

struct notify_fixture_table {
	enum directory_table t;
	const char *csv;
};

/* Opens the store dir/db (its path into path_r, size bytes), imports
 * acrs_csv as of today and the n directory tables; fails the test on any
 * error. */
static inline struct store *
notify_fixture_open(const char *dir, char *path_r, size_t size,
    const char *acrs_csv, int32_t today,
    const struct notify_fixture_table *tables, size_t n)
{
	struct acrs_import_file_opts o = {0};
	struct acrs_import_result r;
	struct directory_rows *rows = directory_rows_new();
	struct directory_report *rep = directory_report_new();
	struct store *s;
	char path[512];
	struct err e;

	str_fmt(path_r, size, "%s/db", dir);
	if (store_open(path_r, 0, &s, &e) != 0)
		fail_msg("store_open: %s", e.msg);
	str_fmt(path, sizeof(path), "%s/acrs.csv", dir);
	testlib_write_file(path, acrs_csv, strlen(acrs_csv));
	o.submitter = "CLINIC";
	o.today = today;
	if (acrs_import_file(s, path, &o, &r, &e) != 0 || !r.committed ||
	    r.file.bad != 0)
		fail_msg("acrs import: %s bad=%llu", e.msg,
		    (unsigned long long)r.file.bad);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(directory_import_csv(rows, tables[i].t,
		    tables[i].csv, strlen(tables[i].csv), "t", rep), 0);
	if (directory_import_apply(s, rows, DIRECTORY_IMPORT_STRICT, rep,
	    &e) != 0)
		fail_msg("directory import: %s", e.msg);
	directory_rows_free(&rows);
	directory_report_free(&rep);
	return s;
}

#endif
