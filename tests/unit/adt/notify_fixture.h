/* A store loaded for the notification tests (test_notify, test_notify_plan,
 * test_notify_fallback): an ACRS file of submitter CLINIC and Health
 * Directory tables, each test with its own data; ADTs of the patient G1
 * (CLINIC MR, Jane Doe); the store, matcher and settings the planning
 * tests share. Include after cmocka.h. */
#ifndef TESTS_UNIT_ADT_NOTIFY_FIXTURE_H
#define TESTS_UNIT_ADT_NOTIFY_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "adt/acrs_import.h"
#include "adt/acrs_match.h"
#include "adt/directory_import.h"
#include "adt/notify_config.h"
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

/* Stores an ADT^event of patient G1 as received over the CLI at now_ms:
 * control id cid, processing id proc, visit number (PV1-19) visit, extra
 * segments appended ("" for none). */
static inline void
notify_fixture_add_adt(struct store *s, int64_t now_ms, const char *cid,
    const char *event, const char *proc, const char *visit,
    const char *extra)
{
	char text[2048];
	struct err e;

	str_fmt(text, sizeof(text),
	    "MSH|^~\\&|EHR|HOSP|DG|DG|20261120120000||ADT^%s^ADT_A01|%s|%s|"
	    "2.5.1\rEVN|%s|20261120120000\r"
	    "PID|1||G1^^^CLINIC^MR||DOE^JANE||19800101|F|||12 MAIN ST^^"
	    "LANSING^MI^48906\r"
	    "PV1|1|I|ICU^1^2^HOSP||||1234567893^SMITH^JANE||||||||||||%s\r%s",
	    event, cid, proc, event, visit, extra);
	if (store_run(s, &e, "INSERT INTO adt_event (received, channel,"
	    " sender, facility, control_id, msg_type, event, processing_id,"
	    " size, raw, state_changed) VALUES (?, 'cli', 'test', 'HOSP', ?,"
	    " 'ADT', ?, ?, ?, ?, ?)", "IsssIbI", now_ms, cid, event, proc,
	    (int64_t)strlen(text), text, strlen(text), now_ms) != 0)
		fail_msg("insert: %s", e.msg);
}

/* The integer a query with at most one text parameter (arg, or NULL for
 * none) answers; fails the test on an error. */
static inline int64_t
notify_fixture_count(struct store *s, const char *sql, const char *arg)
{
	int64_t v = -1;
	struct err e;

	if (store_query_int(s, &v, &e, sql, arg ? "s" : "", arg) < 0)
		fail_msg("%s: %s", sql, e.msg);
	return v;
}

/* What the planning tests work on. */
struct notify_fx {
	char *dir;
	struct store *s;
	struct acrs_matcher *mt;
	struct notify_settings set;
};

/* A fresh store loaded as notify_fixture_open does, default settings and
 * a matcher over it. */
static inline struct notify_fx *
notify_fx_new(const char *acrs_csv, int32_t today,
    const struct notify_fixture_table *tables, size_t n)
{
	struct notify_fx *f = calloc(1, sizeof(*f));
	char path[512];

	f->dir = testlib_tmpdir();
	f->s = notify_fixture_open(f->dir, path, sizeof(path), acrs_csv,
	    today, tables, n);
	notify_config_defaults(&f->set);
	f->mt = acrs_matcher_new(f->s, &f->set.acrs);
	return f;
}

static inline void
notify_fx_free(struct notify_fx *f)
{
	acrs_matcher_free(&f->mt);
	store_free(&f->s);
	testlib_rmtree(f->dir);
	free(f->dir);
	free(f);
}

#endif
