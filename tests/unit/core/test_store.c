#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/loop.h"
#include "core/xmalloc.h"
#include "tests/lib/testlib.h"

struct fix {
	char *dir;
	char *path;
};

static int
setup(void **state)
{
	struct fix *f = xcalloc(1, sizeof *f);

	unsetenv("DIRECTGATE_FAULT_STORE");
	f->dir = testlib_tmpdir();
	f->path = xasprintf("%s/test.db", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	unsetenv("DIRECTGATE_FAULT_STORE");
	testlib_rmtree(f->dir);
	free(f->dir);
	free(f->path);
	free(f);
	return 0;
}

static struct store *
open_ok(const char *path, const struct store_migration *m)
{
	struct store *s = NULL;
	struct err e = {0};

	if (store_open_with(path, 0, m, &s, &e) == -1)
		fail_msg("store_open_with: %s", e.msg);
	return s;
}

static int64_t
query(struct store *s, const char *sql)
{
	int64_t v = -1;
	struct err e = {0};

	if (store_query_int(s, &v, &e, sql, "") != 1)
		fail_msg("%s: %s", sql, e.msg);
	return v;
}

static const struct store_migration mig_two[] = {
    {1, "one", "CREATE TABLE a (x INTEGER);"},
    {2, "two", "INSERT INTO a (x) VALUES (7);"},
    {0, NULL, NULL},
};

static const struct store_migration mig_one[] = {
    {1, "one", "CREATE TABLE a (x INTEGER);"},
    {0, NULL, NULL},
};

static const struct store_migration mig_bad_second[] = {
    {1, "one", "CREATE TABLE a (x INTEGER);"},
    {2, "bad",
     "CREATE TABLE b (y INTEGER); INSERT INTO a (x) VALUES (1);"
     "INSERT INTO nosuch VALUES (1);"},
    {0, NULL, NULL},
};

static const struct store_migration mig_test[] = {
    {1, "test",
     "CREATE TABLE t (k INTEGER PRIMARY KEY, grp INTEGER,"
     " v BLOB, name TEXT UNIQUE);"},
    {0, NULL, NULL},
};

/* Migrations. */

static void
test_store_migrations_apply_once_in_order(void **state)
{
	struct fix *f = *state;
	struct store *s = open_ok(f->path, mig_two);

	assert_int_equal(store_user_version(s), 2);
	assert_int_equal(query(s, "SELECT count(*) FROM a"), 1);
	store_free(&s);
	assert_null(s);
	s = open_ok(f->path, mig_two);
	assert_int_equal(store_user_version(s), 2);
	/* Migration 2 did not run again. */
	assert_int_equal(query(s, "SELECT count(*) FROM a"), 1);
	store_free(&s);
}

static void
test_store_migrations_move_forward_from_an_older_version(void **state)
{
	struct fix *f = *state;
	struct store *s = open_ok(f->path, mig_one);

	assert_int_equal(store_user_version(s), 1);
	assert_int_equal(query(s, "SELECT count(*) FROM a"), 0);
	store_free(&s);
	s = open_ok(f->path, mig_two);
	assert_int_equal(store_user_version(s), 2);
	assert_int_equal(query(s, "SELECT count(*) FROM a"), 1);
	store_free(&s);
}

static void
test_store_failed_migration_leaves_the_previous_version(void **state)
{
	struct fix *f = *state;
	struct store *s = NULL;
	struct err e = {0};

	assert_int_equal(store_open_with(f->path, 0, mig_bad_second, &s, &e),
	                 -1);
	assert_null(s);
	assert_int_equal(e.kind, ERR_INTERNAL);
	assert_non_null(strstr(e.msg, "migration 2"));
	assert_non_null(strstr(e.msg, "nosuch"));
	s = open_ok(f->path, mig_one);
	assert_int_equal(store_user_version(s), 1);
	/* Nothing of migration 2 stands. */
	assert_int_equal(query(s, "SELECT count(*) FROM a"), 0);
	assert_int_equal(query(s, "SELECT count(*) FROM sqlite_master"
	                          " WHERE name = 'b'"),
	                 0);
	store_free(&s);
}

static void
test_store_database_newer_than_the_code_is_a_config_error(void **state)
{
	struct fix *f = *state;
	struct store *s = open_ok(f->path, mig_two);
	struct err e = {0};

	store_free(&s);
	assert_int_equal(store_open_with(f->path, 0, mig_one, &s, &e), -1);
	assert_null(s);
	assert_int_equal(e.kind, ERR_CONFIG);
	assert_non_null(strstr(e.msg, "newer"));
	e.kind = ERR_NONE;
	assert_int_equal(
	    store_open_with(f->path, STORE_READONLY, mig_one, &s, &e), -1);
	assert_int_equal(e.kind, ERR_CONFIG);
}

static void
test_store_readonly_open_does_not_migrate(void **state)
{
	struct fix *f = *state;
	struct store *s = open_ok(f->path, mig_one);
	struct err e = {0};

	store_free(&s);
	assert_int_equal(
	    store_open_with(f->path, STORE_READONLY, mig_two, &s, &e), 0);
	assert_int_equal(store_user_version(s), 1);
	assert_int_equal(store_run(s, &e, "INSERT INTO a (x) VALUES (1)", ""),
	                 -1);
	store_free(&s);
}

static void
test_store_open_of_missing_directory_is_temp(void **state)
{
	struct fix *f = *state;
	struct store *s = NULL;
	struct err e = {0};
	char *path = xasprintf("%s/no/such/dir.db", f->dir);

	assert_int_equal(store_open(path, 0, &s, &e), -1);
	assert_null(s);
	assert_int_equal(e.kind, ERR_TEMP);
	free(path);
}

static void
test_store_open_uses_wal_full_sync_foreign_keys_and_busy_timeout(void **state)
{
	struct fix *f = *state;
	struct store *s = open_ok(f->path, mig_one);
	struct err e = {0};
	struct store_stmt *st = store_prepare(s, "PRAGMA journal_mode", &e);

	assert_non_null(st);
	assert_int_equal(store_step(st, &e), 1);
	assert_string_equal(store_col_text(st, 0), "wal");
	store_stmt_done(st);
	assert_int_equal(query(s, "PRAGMA synchronous"), 2); /* FULL */
	assert_int_equal(query(s, "PRAGMA foreign_keys"), 1);
	assert_int_equal(query(s, "PRAGMA busy_timeout"), 5000);
	store_free(&s);
}

static void
test_store_default_migrations_open(void **state)
{
	struct fix *f = *state;
	struct store *s = NULL;
	struct err e = {0};
	int n = 0;

	if (store_open(f->path, 0, &s, &e) == -1)
		fail_msg("store_open: %s", e.msg);
	while (store_migrations[n].version != 0)
		n++;
	assert_int_equal(store_user_version(s), n);
	store_free(&s);
	store_free(&s); /* accepts NULL */
}

/* Statements. */

static void
test_store_bindv_binds_each_type(void **state)
{
	struct fix *f = *state;
	struct store *s = open_ok(f->path, mig_one);
	struct err e = {0};
	struct store_stmt *st;
	size_t n = 0;
	const uint8_t blob[4] = {0, 1, 0xfe, 0};

	assert_int_equal(store_exec(s, "CREATE TABLE v (a, b, c, d, e, g)", &e),
	                 0);
	assert_int_equal(store_run(s, &e, "INSERT INTO v VALUES (?,?,?,?,?,?)",
	                           "iIsbns", -5, (int64_t)1 << 40, "text", blob,
	                           sizeof blob, (const char *)NULL),
	                 0);
	st =
	    store_prepare(s,
	                  "SELECT typeof(a), typeof(b), typeof(c),"
	                  " typeof(d), typeof(e), typeof(g), a, b, c, d FROM v",
	                  &e);
	assert_non_null(st);
	assert_int_equal(store_step(st, &e), 1);
	const char *want[] = {"integer", "integer", "text",
	                      "blob",    "null",    "null"};
	for (int i = 0; i < 6; i++) {
		const char *got = store_col_text(st, i);

		if (strcmp(got, want[i]) != 0)
			fail_msg("column %d: got %s, want %s", i, got, want[i]);
	}
	assert_int_equal(store_col_int(st, 6), -5);
	assert_true(store_col_int(st, 7) == (int64_t)1 << 40);
	assert_string_equal(store_col_text(st, 8), "text");
	const void *p = store_col_blob(st, 9, &n);
	assert_int_equal(n, sizeof blob);
	assert_memory_equal(p, blob, sizeof blob);
	assert_int_equal(store_step(st, &e), 0);
	store_stmt_done(st);

	/* Too few or too many values, or an unknown letter, fail. */
	assert_int_equal(store_run(s, &e, "INSERT INTO v (a) VALUES (?)", ""),
	                 -1);
	assert_int_equal(e.kind, ERR_INTERNAL);
	assert_int_equal(
	    store_run(s, &e, "INSERT INTO v (a) VALUES (?)", "ii", 1, 2), -1);
	assert_int_equal(
	    store_run(s, &e, "INSERT INTO v (a) VALUES (?)", "x", 1), -1);
	assert_int_equal(query(s, "SELECT count(*) FROM v"), 1);

	/* An empty blob stays a blob; text with a length. */
	assert_int_equal(store_run(s, &e, "DELETE FROM v", ""), 0);
	assert_int_equal(store_changes(s), 1);
	st = store_prepare(s, "INSERT INTO v (a, b) VALUES (?, ?)", &e);
	assert_int_equal(store_bind_blob(st, 1, NULL, 0), 0);
	assert_int_equal(store_bind_textn(st, 2, "abcdef", 3), 0);
	assert_int_equal(store_bind_int(st, 3, 1), -1); /* out of range */
	assert_int_equal(store_step(st, &e), 0);
	store_stmt_done(st);
	assert_int_equal(
	    query(s, "SELECT count(*) FROM v WHERE"
	             " typeof(a) = 'blob' AND length(a) = 0 AND b = 'abc'"),
	    1);
	store_free(&s);
}

static void
test_store_step_and_columns_read_rows(void **state)
{
	struct fix *f = *state;
	struct store *s = open_ok(f->path, mig_test);
	struct err e = {0};
	struct store_stmt *st;
	int rows = 0, rc;

	for (int i = 1; i <= 3; i++) {
		char name[16];

		snprintf(name, sizeof name, "n%d", i);
		assert_int_equal(store_run(s, &e,
		                           "INSERT INTO t (grp, v, name)"
		                           " VALUES (?, ?, ?)",
		                           "ins", i, name),
		                 0);
		assert_int_equal(store_last_rowid(s), i);
	}
	st = store_prepare(s,
	                   "SELECT k, grp, v, name FROM t WHERE grp >= ?"
	                   " ORDER BY k",
	                   &e);
	assert_non_null(st);
	assert_int_equal(store_bindv(st, "i", 2), 0);
	while ((rc = store_step(st, &e)) == 1) {
		rows++;
		assert_int_equal(store_col_int(st, 0), rows + 1);
		assert_int_equal(store_col_int(st, 1), rows + 1);
		assert_true(store_col_null(st, 2));
		assert_null(store_col_text(st, 2));
		assert_false(store_col_null(st, 3));
	}
	assert_int_equal(rc, 0);
	assert_int_equal(rows, 2);
	store_stmt_done(st);
	int64_t v = 0;
	assert_int_equal(store_query_int(s, &v, &e,
	                                 "SELECT k FROM t WHERE"
	                                 " name = ?",
	                                 "s", "n9"),
	                 0);
	assert_int_equal(store_query_int(s, &v, &e,
	                                 "SELECT k FROM t WHERE"
	                                 " name = ?",
	                                 "s", "n3"),
	                 1);
	assert_int_equal(v, 3);
	store_free(&s);
}

/* A bulk load's binding without a copy reads the caller's buffer at the
 * step. */
static void
test_store_bind_text_static_reads_the_buffer_at_step(void **state)
{
	struct fix *f = *state;
	struct store *s = open_ok(f->path, mig_test);
	struct err e = {0};
	struct store_stmt *st;
	char name[8] = "first";

	st = store_prepare(s, "INSERT INTO t (grp, name) VALUES (1, ?)", &e);
	assert_non_null(st);
	assert_int_equal(store_bind_text_static(st, 1, name), 0);
	memcpy(name, "later", 6); /* still the caller's until the step */
	assert_int_equal(store_step(st, &e), 0);
	store_stmt_done(st);
	assert_int_equal(query(s, "SELECT count(*) FROM t WHERE "
	                          "name = 'later'"),
	                 1);
	st = store_prepare(s, "INSERT INTO t (grp, name) VALUES (2, ?)", &e);
	assert_non_null(st);
	assert_int_equal(store_bind_text_static(st, 1, NULL), 0);
	assert_int_equal(store_step(st, &e), 0);
	store_stmt_done(st);
	assert_int_equal(query(s, "SELECT count(*) FROM t WHERE grp = 2 "
	                          "AND name IS NULL"),
	                 1);
	store_free(&s);
}

static int64_t
file_size(const char *path)
{
	FILE *fp = fopen(path, "rb");
	long n;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	fclose(fp);
	return n;
}

/* 3,000 pages in one transaction: with checkpoints deferred the commit
 * leaves them in the WAL (the database file stays small) and they are
 * all there for a new connection; by default the commit copies them. */
static void
load_pages(struct store *s)
{
	struct err e = {0};
	static char blob[4000];

	assert_int_equal(store_begin(s, &e), 0);
	for (int i = 0; i < 3000; i++) {
		blob[0] = (char)i;
		assert_int_equal(store_run(s, &e, "INSERT INTO t (grp, v) "
		                                  "VALUES (?, ?)",
		                           "ib", i, blob, sizeof blob),
		                 0);
	}
	assert_int_equal(store_commit(s, &e), 0);
}

static void
test_store_defer_checkpoints_leaves_a_bulk_commit_in_the_wal(void **state)
{
	struct fix *f = *state;
	struct store *s = open_ok(f->path, mig_test), *r;
	int64_t deferred, by_default;

	store_defer_checkpoints(s, true);
	load_pages(s);
	deferred = file_size(f->path);
	r = open_ok(f->path, mig_test);
	assert_int_equal(query(r, "SELECT count(*) FROM t"), 3000);
	store_free(&r);
	store_defer_checkpoints(s, false);
	load_pages(s);
	by_default = file_size(f->path);
	store_free(&s);
	if (deferred > 1000000 || by_default < 20000000)
		fail_msg("database file: got %lld bytes deferred and %lld by "
		         "default, want under 1 MB and over 20 MB",
		         (long long)deferred, (long long)by_default);
}

static void
test_store_prepare_caches_statements_by_text(void **state)
{
	struct fix *f = *state;
	struct store *s = open_ok(f->path, mig_two);
	struct err e = {0};
	struct store_stmt *a, *b, *c, *inner;

	a = store_prepare(s, "SELECT x FROM a", &e);
	assert_non_null(a);
	store_stmt_done(a);
	b = store_prepare(s, "SELECT x FROM a", &e);
	assert_ptr_equal(a, b);
	c = store_prepare(s, "SELECT x + 1 FROM a", &e);
	assert_non_null(c);
	assert_ptr_not_equal(b, c);
	store_stmt_done(c);

	/* Nested use of the same text while its rows are read. */
	assert_int_equal(store_step(b, &e), 1);
	inner = store_prepare(s, "SELECT x FROM a", &e);
	assert_non_null(inner);
	assert_ptr_not_equal(inner, b);
	assert_int_equal(store_step(inner, &e), 1);
	assert_int_equal(store_col_int(inner, 0), 7);
	store_stmt_done(inner);
	assert_int_equal(store_col_int(b, 0), 7);
	assert_int_equal(store_step(b, &e), 0);
	store_stmt_done(b);
	assert_ptr_equal(store_prepare(s, "SELECT x FROM a", &e), a);
	store_stmt_done(a);
	store_stmt_done(NULL);

	/* Many texts: the cache grows and still finds each. */
	struct store_stmt *first[100];
	for (int i = 0; i < 100; i++) {
		char *sql = xasprintf("SELECT %d", i);

		first[i] = store_prepare(s, sql, &e);
		assert_non_null(first[i]);
		store_stmt_done(first[i]);
		free(sql);
	}
	for (int i = 0; i < 100; i++) {
		char *sql = xasprintf("SELECT %d", i);
		struct store_stmt *st = store_prepare(s, sql, &e);

		assert_ptr_equal(st, first[i]);
		assert_int_equal(store_step(st, &e), 1);
		assert_int_equal(store_col_int(st, 0), i);
		store_stmt_done(st);
		free(sql);
	}

	/* Bad SQL and several statements are refused. */
	assert_null(store_prepare(s, "SELEC 1", &e));
	assert_int_equal(e.kind, ERR_INTERNAL);
	assert_null(store_prepare(s, "SELECT 1; SELECT 2", &e));
	assert_int_equal(e.kind, ERR_INTERNAL);
	store_free(&s);
}

static void
test_store_constraint_violation_is_perm_without_the_value(void **state)
{
	struct fix *f = *state;
	struct store *s = open_ok(f->path, mig_test);
	struct err e = {0};
	const char *secret = "Doe^Jane^19700101";

	assert_int_equal(
	    store_run(s, &e, "INSERT INTO t (name) VALUES (?)", "s", secret),
	    0);
	assert_int_equal(
	    store_run(s, &e, "INSERT INTO t (name) VALUES (?)", "s", secret),
	    -1);
	assert_int_equal(e.kind, ERR_PERM);
	assert_non_null(strstr(e.msg, "UNIQUE"));
	assert_null(strstr(e.msg, "Doe"));
	/* Foreign keys are enforced. */
	assert_int_equal(
	    store_exec(s,
	               "CREATE TABLE p (id INTEGER PRIMARY KEY);"
	               "CREATE TABLE c (p INTEGER REFERENCES p(id));",
	               &e),
	    0);
	assert_int_equal(store_run(s, &e, "INSERT INTO c VALUES (?)", "i", 5),
	                 -1);
	assert_int_equal(e.kind, ERR_PERM);
	store_free(&s);
}

static void
test_store_busy_lock_is_temp(void **state)
{
	struct fix *f = *state;
	struct store *a = open_ok(f->path, mig_test);
	struct store *b = open_ok(f->path, mig_test);
	struct err e = {0};

	assert_int_equal(store_exec(b, "PRAGMA busy_timeout = 10", &e), 0);
	assert_int_equal(store_begin(a, &e), 0);
	assert_int_equal(store_begin(b, &e), -1);
	assert_int_equal(e.kind, ERR_TEMP);
	assert_int_equal(store_commit(a, &e), 0);
	/* Commit without a transaction is a mistake, not a retry. */
	assert_int_equal(store_commit(b, &e), -1);
	assert_int_equal(e.kind, ERR_INTERNAL);
	store_free(&a);
	store_free(&b);
}

static void
test_store_commit_fault_is_temp_and_rolls_back(void **state)
{
	struct fix *f = *state;
	struct store *s = open_ok(f->path, mig_test);
	struct err e = {0};
	const char *kinds[] = {"busy", "ioerr", "full"};

	assert_int_equal(store_fault_inject(s, "nosuch", 1), -1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(store_fault_inject(s, kinds[i], 1), 0);
		assert_int_equal(store_begin(s, &e), 0);
		assert_int_equal(store_run(s, &e,
		                           "INSERT INTO t (grp) VALUES"
		                           " (?)",
		                           "i", i),
		                 0);
		assert_int_equal(store_commit(s, &e), -1);
		if (e.kind != ERR_TEMP)
			fail_msg("%s: got kind %d, want TEMP", kinds[i],
			         e.kind);
		assert_int_equal(query(s, "SELECT count(*) FROM t"), 0);
		/* The next commit goes through. */
		assert_int_equal(store_begin(s, &e), 0);
		assert_int_equal(store_run(s, &e,
		                           "INSERT INTO t (grp) VALUES"
		                           " (?)",
		                           "i", i),
		                 0);
		assert_int_equal(store_commit(s, &e), 0);
		assert_int_equal(query(s, "SELECT count(*) FROM t"), 1);
		assert_int_equal(store_run(s, &e, "DELETE FROM t", ""), 0);
	}
	store_free(&s);
}

static void
test_store_fault_env_arms_every_connection(void **state)
{
	struct fix *f = *state;
	struct store *s = open_ok(f->path, mig_test), *s2;
	struct err e = {0};

	store_free(&s);
	setenv("DIRECTGATE_FAULT_STORE", "ioerr:2", 1);
	s = open_ok(f->path, mig_test);
	s2 = open_ok(f->path, mig_test);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(store_begin(s, &e), 0);
		assert_int_equal(store_run(s, &e,
		                           "INSERT INTO t (grp) VALUES"
		                           " (1)",
		                           ""),
		                 0);
		assert_int_equal(store_commit(s, &e), i < 2 ? -1 : 0);
	}
	assert_int_equal(store_begin(s2, &e), 0);
	assert_int_equal(store_commit(s2, &e), -1);
	assert_int_equal(e.kind, ERR_TEMP);
	assert_non_null(strstr(e.msg, "disk I/O error"));
	assert_int_equal(query(s, "SELECT count(*) FROM t"), 1);
	store_free(&s);
	store_free(&s2);
	setenv("DIRECTGATE_FAULT_STORE", "bogus", 1);
	assert_int_equal(store_open_with(f->path, 0, mig_test, &s, &e), -1);
	assert_int_equal(e.kind, ERR_CONFIG);
}

/* The group-commit writer. */

static int
writer_setup(void **state)
{
	struct fix *f;
	struct store *s = NULL;
	struct err e = {0};

	setup(state);
	f = *state;
	if (store_open(f->path, 0, &s, &e) == -1 ||
	    store_exec(s,
	               "CREATE TABLE t (k INTEGER PRIMARY KEY,"
	               " grp INTEGER, v BLOB, name TEXT UNIQUE)",
	               &e) == -1)
		fail_msg("setup: %s", e.msg);
	store_free(&s);
	return 0;
}

struct row {
	int grp;
	int k;
	bool fail; /* insert, then fail */
};

static int
insert_row(struct store *s, void *arg, struct err *e)
{
	struct row *r = arg;
	uint8_t v[64];

	memset(v, r->k & 0xff, sizeof v);
	if (store_run(s, e, "INSERT INTO t (k, grp, v) VALUES (?, ?, ?)", "iib",
	              r->k, r->grp, v, sizeof v) == -1)
		return -1;
	if (r->fail)
		return err_set(e, ERR_PERM, "job %d refuses", r->k);
	return 0;
}

struct thread_arg {
	struct store_writer *w;
	int grp;
	int failures;
};

static void *
writer_thread(void *arg)
{
	struct thread_arg *ta = arg;

	for (int i = 0; i < 200; i++) {
		struct row r = {ta->grp, ta->grp * 1000 + i, false};
		struct err e = {0};

		if (store_writer_run(ta->w, insert_row, &r, &e) != 0) {
			if (ta->failures++ == 0)
				print_error("writer: %s\n", e.msg);
		}
	}
	return NULL;
}

static struct store *
reopen(struct fix *f)
{
	struct store *s = NULL;
	struct err e = {0};

	if (store_open(f->path, 0, &s, &e) == -1)
		fail_msg("reopen: %s", e.msg);
	return s;
}

static void
test_store_writer_16_threads_x_200_jobs_are_durable(void **state)
{
	struct fix *f = *state;
	struct store_writer *w = NULL;
	struct err e = {0};
	pthread_t th[16];
	struct thread_arg ta[16];

	assert_int_equal(store_writer_new(f->path, NULL, &w, &e), 0);
	for (int i = 0; i < 16; i++) {
		ta[i] = (struct thread_arg){w, i + 1, 0};
		assert_int_equal(
		    pthread_create(&th[i], NULL, writer_thread, &ta[i]), 0);
	}
	for (int i = 0; i < 16; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(ta[i].failures, 0);
	}
	uint64_t batches, jobs, failed;
	store_writer_stats(w, &batches, &jobs, &failed);
	assert_int_equal(jobs, 16 * 200);
	assert_int_equal(failed, 0);
	/* Concurrent jobs shared transactions. */
	assert_true(batches < jobs);
	store_writer_free(&w);
	assert_null(w);
	store_writer_free(&w);

	struct store *s = reopen(f);
	assert_int_equal(query(s, "SELECT count(*) FROM t"), 16 * 200);
	assert_int_equal(query(s, "SELECT count(DISTINCT grp) FROM t"), 16);
	assert_int_equal(query(s, "SELECT count(*) FROM t WHERE"
	                          " k % 1000 >= 200 OR length(v) != 64"),
	                 0);
	store_free(&s);
}

struct big_arg {
	struct store_writer *w;
	int grp;
	int n;
	int failures;
};

static int
insert_big(struct store *s, void *arg, struct err *e)
{
	struct row *r = arg;
	uint8_t v[4096];

	memset(v, r->k & 0xff, sizeof v);
	return store_run(s, e, "INSERT INTO t (k, grp, v) VALUES (?, ?, ?)",
	                 "iib", r->k, r->grp, v, sizeof v);
}

static void *
big_thread(void *arg)
{
	struct big_arg *ba = arg;

	for (int i = 0; i < ba->n; i++) {
		struct row r = {ba->grp, ba->grp * 10000 + i, false};
		struct err e = {0};

		if (store_writer_run(ba->w, insert_big, &r, &e) != 0)
			ba->failures++;
	}
	return NULL;
}

static void
test_store_writer_checkpoints_keep_the_wal_bounded(void **state)
{
	struct fix *f = *state;
	struct store_writer *w = NULL;
	struct err e = {0};
	pthread_t th[8];
	struct big_arg ba[8];
	char *wal = xasprintf("%s-wal", f->path);
	size_t wal_size = 0;

	/* 8 x 1200 records of 4 KiB: about 20000 WAL frames of 4 KiB. */
	assert_int_equal(store_writer_new(f->path, NULL, &w, &e), 0);
	for (int i = 0; i < 8; i++) {
		ba[i] = (struct big_arg){w, i + 1, 1200, 0};
		assert_int_equal(
		    pthread_create(&th[i], NULL, big_thread, &ba[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(ba[i].failures, 0);
	}
	free(testlib_read_file(wal, &wal_size));
	/* The WAL started over: the writer checkpoints past 8000 frames, and
	 * a batch here is at most 8 jobs (a few pages each). */
	if (wal_size > 32 + (size_t)(8000 + 100) * (4096 + 24))
		fail_msg("WAL of %zu bytes", wal_size);
	store_writer_free(&w);

	struct store *s = reopen(f);
	assert_int_equal(query(s, "SELECT count(*) FROM t"), 8 * 1200);
	struct store_stmt *st = store_prepare(s, "PRAGMA integrity_check", &e);
	assert_int_equal(store_step(st, &e), 1);
	assert_string_equal(store_col_text(st, 0), "ok");
	store_stmt_done(st);
	store_free(&s);
	free(wal);
}

/* A job that holds the writer thread until released, so that the next
 * jobs queue up and share one batch. */
struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool entered, open;
};

static void
gate_init(struct gate *g)
{
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->entered = g->open = false;
}

static int
gate_job(struct store *s, void *arg, struct err *e)
{
	struct gate *g = arg;

	pthread_mutex_lock(&g->mu);
	g->entered = true;
	pthread_cond_broadcast(&g->cv);
	while (!g->open)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
	return 0;
}

static void
gate_wait_entered(struct gate *g)
{
	pthread_mutex_lock(&g->mu);
	while (!g->entered)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
}

static void
gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->open = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

struct tally {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int n, ok, temp, perm, other;
	int status[64];
	struct err err[64];
	int calls[64];
	pthread_t thread[64];
};

struct tjob {
	struct tally *t;
	int slot;
	struct row row;
	struct gate *gate; /* set: hold the writer until opened */
	void *ctx;
};

static int
tjob_fn(struct store *s, void *arg, struct err *e)
{
	struct tjob *tj = arg;

	if (tj->gate != NULL)
		return gate_job(s, tj->gate, e);
	return insert_row(s, &tj->row, e);
}

static void
tally_init(struct tally *t)
{
	memset(t, 0, sizeof *t);
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
}

static void
tally_done(void *arg, int status, const struct err *e)
{
	struct tjob *j = arg;
	struct tally *t = j->t;

	pthread_mutex_lock(&t->mu);
	t->n++;
	t->calls[j->slot]++;
	t->status[j->slot] = status;
	t->err[j->slot] = *e;
	t->thread[j->slot] = pthread_self();
	if (status == 0)
		t->ok++;
	else if (e->kind == ERR_TEMP)
		t->temp++;
	else if (e->kind == ERR_PERM)
		t->perm++;
	else
		t->other++;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

static void
tally_wait(struct tally *t, int n)
{
	pthread_mutex_lock(&t->mu);
	while (t->n < n)
		pthread_cond_wait(&t->cv, &t->mu);
	pthread_mutex_unlock(&t->mu);
}

/* Job 0 holds the writer; rows 1..n queue behind it and share a batch. */
struct batch {
	struct gate gate;
	struct tally tally;
	struct tjob tj[64];
};

static void
batch_submit(struct batch *b, struct store_writer *w, int n, int base,
             int fail_slot, store_done_fn *done, void *ctx)
{
	gate_init(&b->gate);
	tally_init(&b->tally);
	for (int i = 0; i <= n; i++) {
		b->tj[i] = (struct tjob){&b->tally,
		                         i,
		                         {base, base + i, i == fail_slot},
		                         i == 0 ? &b->gate : NULL,
		                         ctx};
		store_writer_submit(w, tjob_fn, done, &b->tj[i]);
		if (i == 0)
			gate_wait_entered(&b->gate);
	}
}

static void
test_store_writer_failing_job_rolls_back_only_itself(void **state)
{
	struct fix *f = *state;
	struct store_writer *w = NULL;
	struct err e = {0};
	struct batch *b = xcalloc(1, sizeof *b);

	assert_int_equal(store_writer_new(f->path, NULL, &w, &e), 0);
	batch_submit(b, w, 8, 100, 4, tally_done, NULL);
	gate_open(&b->gate);
	tally_wait(&b->tally, 9);
	assert_int_equal(b->tally.ok, 8);
	assert_int_equal(b->tally.perm, 1);
	assert_int_equal(b->tally.status[4], -1);
	assert_string_equal(b->tally.err[4].msg, "job 104 refuses");
	for (int i = 0; i <= 8; i++)
		assert_int_equal(b->tally.calls[i], 1);
	store_writer_free(&w);

	struct store *s = reopen(f);
	/* Rows 101..108 but 104 (job 0 writes nothing). */
	assert_int_equal(query(s, "SELECT count(*) FROM t"), 7);
	assert_int_equal(query(s, "SELECT count(*) FROM t WHERE k = 104"), 0);
	store_free(&s);
	free(b);
}

static void
test_store_writer_commit_fault_fails_every_job_of_the_batch(void **state)
{
	struct fix *f = *state;
	const char *kinds[] = {"busy", "ioerr", "full"};

	for (int k = 0; k < 3; k++) {
		struct store_writer *w = NULL;
		struct err e = {0};
		struct batch *b = xcalloc(1, sizeof *b);

		assert_int_equal(store_writer_new(f->path, NULL, &w, &e), 0);
		batch_submit(b, w, 10, 1000 * (k + 1), -1, tally_done, NULL);
		/* The batch of job 0 and the batch of the ten behind it. */
		assert_int_equal(
		    store_fault_inject(store_writer_store(w), kinds[k], 2), 0);
		gate_open(&b->gate);
		tally_wait(&b->tally, 11);
		if (b->tally.temp != 11)
			fail_msg("%s: got %d TEMP, want 11", kinds[k],
			         b->tally.temp);
		for (int i = 0; i <= 10; i++)
			assert_int_equal(b->tally.calls[i], 1);
		assert_non_null(strstr(b->tally.err[3].msg, "injected"));

		/* Nothing half-written, and the next batch goes through. */
		struct store *s = reopen(f);
		assert_int_equal(query(s, "SELECT count(*) FROM t"), 0);
		struct row r = {k, 1000 * (k + 1) + 50, false};
		assert_int_equal(store_writer_run(w, insert_row, &r, &e), 0);
		store_writer_free(&w);
		assert_int_equal(query(s, "SELECT count(*) FROM t"), 1);
		assert_int_equal(store_run(s, &e, "DELETE FROM t", ""), 0);
		store_free(&s);
		free(b);
	}
}

/* A connection locked out fails TEMP once its busy timeout has passed: a
 * short one on a loop thread's connection costs one temporary error, not
 * the default 5 s of stall. */
static void
test_store_busy_timeout_bounds_a_locked_out_connection(void **state)
{
	struct fix *f = *state;
	struct store *a = reopen(f), *b = reopen(f);
	struct err e = {0};
	struct timespec t0, t1;
	double ms;

	store_set_busy_timeout(b, 50);
	assert_int_equal(store_begin(a, &e), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(store_begin(b, &e), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	assert_int_equal(e.kind, ERR_TEMP);
	if (ms < 40 || ms > 1000)
		fail_msg("locked out for %.0f ms, want about 50", ms);
	assert_int_equal(store_commit(a, &e), 0);
	assert_int_equal(store_begin(b, &e), 0);
	store_rollback(b);
	store_free(&a);
	store_free(&b);
}

static void
test_store_writer_run_returns_the_job_error(void **state)
{
	struct fix *f = *state;
	struct store_writer *w = NULL;
	struct err e = {0};
	struct row r = {1, 5, true};

	assert_int_equal(store_writer_new(f->path, NULL, &w, &e), 0);
	assert_int_equal(store_writer_run(w, insert_row, &r, &e), -1);
	assert_int_equal(e.kind, ERR_PERM);
	r.fail = false;
	assert_int_equal(store_writer_run(w, insert_row, &r, &e), 0);
	/* A duplicate key: the job's own constraint error. */
	assert_int_equal(store_writer_run(w, insert_row, &r, &e), -1);
	assert_int_equal(e.kind, ERR_PERM);
	store_writer_free(&w);
}

struct drain {
	struct batch b;
	struct store_writer *w;
	struct tally late;
	struct tjob late_job;
	struct tally probe_tally;
	struct tjob probes[64];
	int n_probes;
};

static int
noop_job(struct store *s, void *arg, struct err *e)
{
	return 0;
}

/* Opens the gate once store_writer_free has begun: a probe submitted from
 * then on is turned away at once. */
static void *
open_gate_later(void *arg)
{
	struct drain *d = arg;
	struct timespec ts = {0, 1000 * 1000};

	for (;;) {
		struct tjob *probe = &d->probes[d->n_probes];

		*probe = (struct tjob){
		    &d->probe_tally, d->n_probes, {0, 0, false}, NULL, d};
		if (++d->n_probes == 64)
			abort();
		store_writer_submit(d->w, noop_job, tally_done, probe);
		pthread_mutex_lock(&d->probe_tally.mu);
		bool turned_away = d->probe_tally.temp > 0;
		pthread_mutex_unlock(&d->probe_tally.mu);
		if (turned_away)
			break;
		nanosleep(&ts, NULL);
		if (ts.tv_nsec < 100 * 1000 * 1000)
			ts.tv_nsec *= 2;
	}
	gate_open(&d->b.gate);
	return NULL;
}

static void
drain_done(void *arg, int status, const struct err *e)
{
	struct tjob *tj = arg;
	struct drain *d = tj->ctx;

	tally_done(arg, status, e);
	/* Submitted after store_writer_free began: told at once. */
	if (tj->slot == 30)
		store_writer_submit(d->w, tjob_fn, tally_done, &d->late_job);
}

static void
test_store_writer_free_drains_the_queue(void **state)
{
	struct fix *f = *state;
	struct err e = {0};
	struct drain *d = xcalloc(1, sizeof *d);
	pthread_t th;
	struct store_writer_opts o = {.batch_max = 7};

	assert_int_equal(store_writer_new(f->path, &o, &d->w, &e), 0);
	tally_init(&d->late);
	tally_init(&d->probe_tally);
	d->late_job = (struct tjob){&d->late, 0, {7, 799, false}, NULL, d};
	batch_submit(&d->b, d->w, 30, 700, -1, drain_done, d);
	assert_int_equal(pthread_create(&th, NULL, open_gate_later, d), 0);
	struct store_writer *w = d->w;
	store_writer_free(&w);
	pthread_join(th, NULL);
	assert_int_equal(d->b.tally.n, 31);
	assert_int_equal(d->b.tally.ok, 31);
	assert_int_equal(d->late.n, 1);
	assert_int_equal(d->late.temp, 1);
	assert_non_null(strstr(d->late.err[0].msg, "shutting down"));
	/* Probes queued before free began were run; the last was not. */
	assert_int_equal(d->probe_tally.n, d->n_probes);
	assert_int_equal(d->probe_tally.ok, d->n_probes - 1);

	struct store *s = reopen(f);
	assert_int_equal(query(s, "SELECT count(*) FROM t"), 30);
	store_free(&s);
	free(d);
}

struct loop_test {
	struct loop *loop;
	struct tally tally;
	struct tjob tj[20];
};

static void
loop_done(void *arg, int status, const struct err *e)
{
	struct tjob *tj = arg;
	struct loop_test *lt = tj->ctx;

	tally_done(arg, status, e);
	if (lt->tally.n == 20)
		loop_stop(lt->loop);
}

static void
test_store_writer_tells_done_on_the_loop_thread(void **state)
{
	struct fix *f = *state;
	struct err e = {0};
	struct loop_test *lt = xcalloc(1, sizeof *lt);
	struct store_writer *w = NULL;

	assert_int_equal(loop_new(&lt->loop, &e), 0);
	struct store_writer_opts o = {.loop = lt->loop};
	assert_int_equal(store_writer_new(f->path, &o, &w, &e), 0);
	tally_init(&lt->tally);
	for (int i = 0; i < 20; i++) {
		lt->tj[i] = (struct tjob){
		    &lt->tally, i, {3, 300 + i, i == 5}, NULL, lt};
		store_writer_submit(w, tjob_fn, loop_done, &lt->tj[i]);
	}
	assert_int_equal(loop_run(lt->loop), 0);
	assert_int_equal(lt->tally.n, 20);
	assert_int_equal(lt->tally.ok, 19);
	assert_int_equal(lt->tally.perm, 1);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(lt->tally.calls[i], 1);
		assert_true(pthread_equal(lt->tally.thread[i], pthread_self()));
	}
	store_writer_free(&w);
	loop_free(&lt->loop);

	struct store *s = reopen(f);
	assert_int_equal(query(s, "SELECT count(*) FROM t"), 19);
	store_free(&s);
	free(lt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_store_migrations_apply_once_in_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_store_migrations_move_forward_from_an_older_version, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(
	        test_store_failed_migration_leaves_the_previous_version, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(
	        test_store_database_newer_than_the_code_is_a_config_error,
	        setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_store_readonly_open_does_not_migrate, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_store_bind_text_static_reads_the_buffer_at_step, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(
	        test_store_defer_checkpoints_leaves_a_bulk_commit_in_the_wal,
	        setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_store_open_of_missing_directory_is_temp, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_store_open_uses_wal_full_sync_foreign_keys_and_busy_timeout,
	        setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_default_migrations_open,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_bindv_binds_each_type,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_store_step_and_columns_read_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_store_prepare_caches_statements_by_text, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_store_constraint_violation_is_perm_without_the_value,
	        setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_busy_lock_is_temp, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(
	        test_store_commit_fault_is_temp_and_rolls_back, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(
	        test_store_fault_env_arms_every_connection, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_store_writer_16_threads_x_200_jobs_are_durable,
	        writer_setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_store_writer_checkpoints_keep_the_wal_bounded,
	        writer_setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_store_writer_failing_job_rolls_back_only_itself,
	        writer_setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_store_writer_commit_fault_fails_every_job_of_the_batch,
	        writer_setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_store_writer_run_returns_the_job_error, writer_setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(
	        test_store_busy_timeout_bounds_a_locked_out_connection,
	        writer_setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_store_writer_free_drains_the_queue, writer_setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(
	        test_store_writer_tells_done_on_the_loop_thread, writer_setup,
	        teardown),
	};

	log_set_level(LOG_LEVEL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
