/* The notification runner on a real loop, worker pool and group-commit
 * writer: with small batches the next batch is listed and planned while
 * the last is recorded; a retraction still waits until what it cancels is
 * recorded, and every ADT is recorded once. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "adt/acrs_config.h"
#include "adt/acrs_import.h"
#include "adt/directory_import.h"
#include "adt/notify.h"
#include "adt/notify_config.h"
#include "core/config.h"
#include "core/loop.h"
#include "core/store.h"
#include "core/str.h"
#include "hisp/queue_config.h"
#include "tests/lib/testlib.h"
#include "tests/unit/adt/notify_fixture.h"

#define TODAY 20261120
#define NOW_MS INT64_C(1795650000000) /* 2026-11-20 */
#define VISITS 96

static const char acrs_csv[] =
    "patient_id,patient_id_type,assigning_authority,last_name,first_name,"
    "dob,sex,address1,city,state,zip,phone,provider_npi,provider_name,"
    "relationship,organization,last_seen,consent\n"
    "G1,MR,CLINIC,Doe,Jane,1980-01-01,F,12 Main Street,Lansing,MI,48906,"
    "517-555-0101,1234567893,Dr Smith,pcp,Clinic A,2026-06-15,standard\n"
    "G1,MR,CLINIC,Doe,Jane,1980-01-01,F,12 Main Street,Lansing,MI,48906,"
    "517-555-0101,1333333338,Dr Jones,specialist,Heart,2026-06-15,standard\n";

static const struct notify_fixture_table dir_csv[] = {
	{DIRECTORY_PROVIDERS, "npi,last_name,first_name,status\n"
	    "1234567893,Smith,Jane,active\n1333333338,Jones,Robert,active\n"},
	{DIRECTORY_ENDPOINTS, "owner_npi,kind,address,rank,active\n"
	    "1234567893,direct,dr.smith@b.example,1,yes\n"
	    "1333333338,direct,dr.jones@b.example,1,yes\n"},
};

struct fx {
	char *dir;
	char path[512];
	struct store *s;
	struct store *rd;      /* the watcher's connection */
	struct loop *loop;
	uv_timer_t watch;
	int ticks;
	int64_t left;
};

static void
add_adt(struct fx *f, unsigned n, const char *event, unsigned visit)
{
	char cid[32], v[32];

	str_fmt(cid, sizeof(cid), "C%u", n);
	str_fmt(v, sizeof(v), "V%u", visit);
	notify_fixture_add_adt(f->s, NOW_MS, cid, event, "P", v, "");
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->dir = testlib_tmpdir();
	f->s = notify_fixture_open(f->dir, f->path, sizeof(f->path), acrs_csv,
	    TODAY, dir_csv, sizeof(dir_csv) / sizeof(dir_csv[0]));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_free(&f->rd);
	store_free(&f->s);
	testlib_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static int64_t
count(struct store *s, const char *sql)
{
	int64_t v = -1;
	struct err e;

	if (store_query_int(s, &v, &e, sql, "") < 0)
		fail_msg("%s: %s", sql, e.msg);
	return v;
}

/* Stops the loop once no ADT is left 'received' (or after 30 s). */
static void
watch(uv_timer_t *t)
{
	struct fx *f = t->data;

	f->left = count(f->rd, "SELECT count(*) FROM adt_event WHERE"
	    " state = 'received'");
	if (f->left == 0 || ++f->ticks > 1500) {
		uv_close((uv_handle_t *)t, NULL);
		loop_stop(f->loop);
	}
}

/* Runs the daemon's runner with [notify] batch until every ADT is done. */
static void
run(struct fx *f, int batch)
{
	struct config *cfg = config_new(f->dir);
	struct store_writer_opts wo = {0};
	struct store_writer *w = NULL;
	struct notify_params np = {0};
	struct notify *nt = NULL;
	char text[128];
	struct err e;

	config_add_defs(cfg, notify_config_defs);
	config_add_defs(cfg, acrs_config_defs);
	config_add_defs(cfg, queue_config_defs);
	str_fmt(text, sizeof(text), "[notify]\nbatch = %d\npoll = 10ms\n",
	    batch);
	if (config_load_string(cfg, text, "test", &e) != 0)
		fail_msg("config: %s", e.msg);
	if (store_open(f->path, STORE_READONLY, &f->rd, &e) != 0)
		fail_msg("store_open: %s", e.msg);
	assert_int_equal(loop_new(&f->loop, &e), 0);
	wo.loop = f->loop;
	if (store_writer_new(f->path, &wo, &w, &e) != 0)
		fail_msg("writer: %s", e.msg);
	np.loop = f->loop;
	np.writer = w;
	np.cfg = cfg;
	np.store_path = f->path;
	if (notify_start(&np, &nt, &e) != 0)
		fail_msg("notify: %s", e.msg);
	assert_non_null(nt);
	uv_timer_init(loop_uv(f->loop), &f->watch);
	f->watch.data = f;
	uv_timer_start(&f->watch, watch, 20, 20);
	loop_run(f->loop);
	store_writer_free(&w);
	loop_free(&f->loop);
	notify_free(&nt);
	config_free(&cfg);
	assert_int_equal(f->left, 0);
}

static void
test_notify_runner_keeps_retractions_after_what_they_cancel(void **state)
{
	struct fx *f = *state;
	unsigned n = 0;

	/* A01 for every visit; after each 6, an A11 cancelling one of
	 * them, so that retractions come while earlier batches record. */
	for (unsigned v = 1; v <= VISITS; v++) {
		add_adt(f, ++n, "A01", v);
		if (v % 6 == 0)
			add_adt(f, ++n, "A11", v - 2);
	}
	run(f, 4);
	assert_int_equal(count(f->s, "SELECT count(*) FROM adt_event WHERE"
	    " state = 'done'"), n);
	/* Each A01 once to each of the two members, each A11 retracting
	 * both. */
	assert_int_equal(count(f->s, "SELECT count(*) FROM notify_sent WHERE"
	    " event = 'A01'"), 2 * VISITS);
	assert_int_equal(count(f->s, "SELECT count(*) FROM notify_sent WHERE"
	    " event = 'A11' AND retracts IS NOT NULL"), 2 * (VISITS / 6));
	assert_int_equal(count(f->s, "SELECT count(*) FROM notify_sent s JOIN"
	    " notify_sent r ON r.retracts = s.id WHERE s.event = 'A01'"),
	    2 * (VISITS / 6));
	assert_int_equal(count(f->s, "SELECT count(*) FROM notify_audit WHERE"
	    " step = 'retract' AND instr(detail, 'nothing_sent') > 0"), 0);
	/* One policy and one match record per ADT: none planned twice. */
	assert_int_equal(count(f->s, "SELECT count(*) FROM notify_audit WHERE"
	    " step = 'policy'"), n);
	assert_int_equal(count(f->s, "SELECT count(*) FROM notify_audit WHERE"
	    " step = 'duplicate'"), 0);
}

static void
test_notify_runner_records_a_large_batch_in_chunks(void **state)
{
	struct fx *f = *state;
	const unsigned n = 150; /* chunks of 64, 64 and 22 */

	for (unsigned v = 1; v <= n; v++)
		add_adt(f, v, "A01", v);
	run(f, 1000);
	assert_int_equal(count(f->s, "SELECT count(*) FROM adt_event WHERE"
	    " state = 'done'"), n);
	assert_int_equal(count(f->s, "SELECT count(*) FROM notify_sent WHERE"
	    " event = 'A01'"), 2 * n);
	assert_int_equal(count(f->s, "SELECT count(*) FROM notify_audit WHERE"
	    " step = 'policy'"), n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_notify_runner_keeps_retractions_after_what_they_cancel,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_notify_runner_records_a_large_batch_in_chunks, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
