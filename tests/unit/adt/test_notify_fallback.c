/* Fallback to the next-ranked endpoint after a delivery failure, against a
 * real store: picking the next target, the triggers that mark failed
 * Direct notifications (queue failure, failed MDN, MDN timeout), MLLP
 * failures, exhaustion, and never a second fallback for one failure. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adt/acrs_import.h"
#include "adt/acrs_match.h"
#include "adt/directory_import.h"
#include "adt/notify_config.h"
#include "adt/notify_digest.h"
#include "adt/notify_fallback.h"
#include "adt/notify_plan.h"
#include "core/store.h"
#include "core/str.h"
#include "hisp/mdn.h"
#include "hisp/track.h"
#include "tests/lib/testlib.h"
#include "tests/unit/adt/notify_fixture.h"

#define TODAY 20261120
#define NOW_MS INT64_C(1795650000000) /* 2026-11-20 */

#define PCP "1234567893"
#define SPEC "1333333338"
#define BH "1444444446"

static const char acrs_csv[] =
    "patient_id,patient_id_type,assigning_authority,last_name,first_name,"
    "dob,sex,address1,city,state,zip,phone,provider_npi,provider_name,"
    "relationship,organization,last_seen,consent\n"
    "G1,MR,CLINIC,Doe,Jane,1980-01-01,F,12 Main Street,Lansing,MI,48906,"
    "517-555-0101," PCP ",Dr Smith,pcp,Clinic A,2026-06-15,standard\n"
    "G1,MR,CLINIC,Doe,Jane,1980-01-01,F,12 Main Street,Lansing,MI,48906,"
    "517-555-0101," SPEC ",Dr Jones,specialist,Heart,2026-06-15,standard\n"
    "G1,MR,CLINIC,Doe,Jane,1980-01-01,F,12 Main Street,Lansing,MI,48906,"
    "517-555-0101," BH ",Dr Brown,behavioral_health,Mind,2026-06-15,"
    "standard\n";

/* The PCP: two Direct addresses; the specialist: two MLLP listeners; the
 * third member: one address only. */
static const struct notify_fixture_table dir_csv[] = {
	{DIRECTORY_PROVIDERS, "npi,last_name,first_name,status\n"
	    PCP ",Smith,Jane,active\n" SPEC ",Jones,Robert,active\n"
	    BH ",Brown,Alice,active\n"},
	{DIRECTORY_ENDPOINTS, "owner_npi,kind,address,rank,active\n"
	    PCP ",direct,dr.gone@b.example,1,yes\n"
	    PCP ",direct,dr.smith@b.example,2,yes\n"
	    SPEC ",mllp,127.0.0.1:2576,1,yes\n"
	    SPEC ",mllp,127.0.0.1:2577,2,yes\n"
	    BH ",direct,dr.brown@b.example,1,yes\n"},
	{DIRECTORY_PREFERENCES, "owner_npi,events,classes,format,timing\n"
	    SPEC ",*,*,hl7,realtime\n"},
};

static int
setup(void **state)
{
	*state = notify_fx_new(acrs_csv, TODAY, dir_csv,
	    sizeof(dir_csv) / sizeof(dir_csv[0]));
	return 0;
}

static int
teardown(void **state)
{
	notify_fx_free(*state);
	return 0;
}

static void
add_adt(struct notify_fx *f, const char *cid, const char *event,
    const char *visit)
{
	notify_fixture_add_adt(f->s, NOW_MS, cid, event, "P", visit, "");
}

static int64_t
q(struct notify_fx *f, const char *sql, const char *arg)
{
	return notify_fixture_count(f->s, sql, arg);
}

static void
exec(struct notify_fx *f, const char *sql, const char *arg)
{
	struct err e;

	if (store_run(f->s, &e, sql, arg ? "s" : "", arg) != 0)
		fail_msg("%s: %s", sql, e.msg);
}

static void
plan_pending(struct notify_fx *f)
{
	struct notify_apply_stats st = {0};
	unsigned n = 0;
	struct err e;

	if (notify_run_pending(f->s, f->mt, &f->set, "notify@a.example",
	    NOW_MS, 100, &n, &st, &e) != 0)
		fail_msg("run: %s", e.msg);
	assert_int_equal(n, 1);
}

static unsigned
fallback(struct notify_fx *f, struct notify_apply_stats *st)
{
	unsigned n = 0;
	struct err e;

	memset(st, 0, sizeof(*st));
	if (notify_fallback_run(f->s, &f->set, "notify@a.example",
	    NOW_MS + 1000, 100, &n, st, &e) != 0)
		fail_msg("fallback: %s", e.msg);
	return n;
}

static int64_t
sent_id(struct notify_fx *f, const char *rcpt)
{
	return q(f, "SELECT id FROM notify_sent WHERE recipient = ?", rcpt);
}

/* The queue gives up on a recipient as hisp/queue.c records it. */
static void
queue_fails(struct notify_fx *f, const char *rcpt)
{
	exec(f, "UPDATE queue_rcpt SET state = 'failed', status = '5.1.1',"
	    " reason = 'User unknown' WHERE rcpt = ?", rcpt);
}

static void
test_notify_fallback_pick_skips_tried_targets(void **state)
{
	static const struct {
		const char *tried[3];
		size_t n;
		int want;
	} cases[] = {
		{{NULL}, 0, 0},
		{{"a@x.example"}, 1, 1},
		{{"A@X.EXAMPLE"}, 1, 1},
		{{"b@x.example"}, 1, 0},
		{{"a@x.example", "b@x.example"}, 2, 2},
		{{"a@x.example", "b@x.example", "127.0.0.1:9"}, 3, -1},
	};
	struct directory_route r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.status = DIRECTORY_ROUTED;
	r.ntargets = 3;
	str_lcpy(r.targets[0].address, "a@x.example", DIRECTORY_ADDRESS_MAX);
	str_lcpy(r.targets[1].address, "b@x.example", DIRECTORY_ADDRESS_MAX);
	str_lcpy(r.targets[2].address, "127.0.0.1:9", DIRECTORY_ADDRESS_MAX);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = notify_fallback_pick(&r, cases[i].tried, cases[i].n);

		if (got != cases[i].want)
			fail_msg("case %zu: got %d, want %d", i, got,
			    cases[i].want);
	}
	r.ntargets = 0;
	assert_int_equal(notify_fallback_pick(&r, NULL, 0), -1);
}

static void
test_notify_fallback_queue_failure_goes_to_rank_two_once(void **state)
{
	struct notify_fx *f = *state;
	struct notify_apply_stats st;
	int64_t failed;

	add_adt(f, "C1", "A01", "V100");
	plan_pending(f);
	failed = sent_id(f, "dr.gone@b.example");
	assert_true(failed > 0);
	/* Nothing is due while deliveries go well. */
	exec(f, "UPDATE queue_rcpt SET state = 'sent' WHERE rcpt = ?",
	    "dr.brown@b.example");
	assert_int_equal(fallback(f, &st), 0);
	assert_int_equal(q(f, "SELECT count(*) FROM notify_sent WHERE"
	    " fallback IS NOT NULL", NULL), 0);

	queue_fails(f, "dr.gone@b.example");
	assert_int_equal(q(f, "SELECT count(*) FROM notify_sent WHERE state ="
	    " 'failed' AND fallback = 'due' AND reason = ?",
	    "queue_failed status=5.1.1"), 1);
	assert_int_equal(fallback(f, &st), 1);
	assert_int_equal(st.direct, 1);
	assert_int_equal(q(f, "SELECT fallback_of FROM notify_sent WHERE"
	    " recipient = ? AND state = 'queued' AND npis = '" PCP "'",
	    "dr.smith@b.example"), failed);
	assert_int_equal(q(f, "SELECT count(*) FROM queue_rcpt WHERE rcpt = ?",
	    "dr.smith@b.example"), 1);
	assert_int_equal(q(f, "SELECT count(*) FROM queue_msg m JOIN"
	    " notify_sent n ON n.queue_id = m.id WHERE n.recipient = ? AND"
	    " m.message_id = n.message_id", "dr.smith@b.example"), 1);
	assert_int_equal(q(f, "SELECT fallback = 'done' FROM notify_sent"
	    " WHERE recipient = ?", "dr.gone@b.example"), 1);
	/* The trail: failed, fallback, routed to rank 2, queued. */
	assert_int_equal(q(f, "SELECT count(*) FROM notify_audit WHERE"
	    " step = 'failed' AND recipient = 'dr.gone@b.example' AND"
	    " instr(detail, ?) > 0", "cause=queue_failed status=5.1.1"), 1);
	assert_int_equal(q(f, "SELECT count(*) FROM notify_audit WHERE"
	    " step = 'fallback' AND npi = '" PCP "' AND recipient ="
	    " 'dr.smith@b.example' AND instr(detail, ?) > 0", "rank=2"), 1);
	assert_int_equal(q(f, "SELECT count(*) FROM notify_audit a1 JOIN"
	    " notify_audit a2 ON a2.adt = a1.adt AND a2.id > a1.id JOIN"
	    " notify_audit a3 ON a3.adt = a1.adt AND a3.id > a2.id"
	    " WHERE a1.step = 'failed' AND a2.step = 'fallback' AND"
	    " a3.step = 'routed' AND instr(a3.detail, ?) > 0",
	    "rank=2 fallback_of="), 1);

	/* Again: nothing more, ever. */
	assert_int_equal(fallback(f, &st), 0);
	assert_int_equal(q(f, "SELECT count(*) FROM notify_sent WHERE"
	    " recipient = ?", "dr.smith@b.example"), 1);
	/* The same failure recorded again does not make it due again. */
	exec(f, "UPDATE queue_rcpt SET state = 'failed' WHERE rcpt = ?",
	    "dr.gone@b.example");
	assert_int_equal(fallback(f, &st), 0);
}

static void
text_of(struct notify_fx *f, const char *sql, const char *arg, char *dst,
    size_t size)
{
	struct store_stmt *st;
	struct err e;

	st = store_prepare(f->s, sql, &e);
	if (st == NULL)
		fail_msg("%s: %s", sql, e.msg);
	store_bindv(st, "s", arg);
	if (store_step(st, &e) != 1)
		fail_msg("%s: no row", sql);
	str_lcpy(dst, store_col_text(st, 0), size);
	store_stmt_done(st);
}

/* hisp/track.c decides: a failed MDN, or no MDN before the deadline. */
static void
test_notify_fallback_failed_and_missing_mdns_fall_back(void **state)
{
	static const char *const causes[] = {"cause=mdn_failed",
	    "cause=mdn_timeout"};
	struct notify_fx *f = *state;
	struct track_opts o = {60, 60};

	for (int i = 0; i < 2; i++) {
		struct notify_apply_stats st;
		struct mdn_report r;
		enum track_verdict v;
		char visit[16], cid[16], mid[200];
		struct err e;
		int n = 0;

		str_fmt(visit, sizeof(visit), "V%d", i);
		str_fmt(cid, sizeof(cid), "T%d", i);
		add_adt(f, cid, "A01", visit);
		plan_pending(f);
		text_of(f, "SELECT message_id FROM notify_sent WHERE"
		    " recipient = ? AND state = 'queued' AND fallback_of IS"
		    " NULL",
		    "dr.gone@b.example", mid, sizeof(mid));
		exec(f, "DELETE FROM queue_msg", NULL);
		/* dr.gone's HISP accepted it (a 250), then reports. */
		assert_int_equal(track_sent(f->s, mid, "dr.gone@b.example",
		    "notify@a.example", "Q", true, 1000, &o, &e), 0);
		memset(&r, 0, sizeof(r));
		r.disposition = MDN_PROCESSED;
		str_lcpy(r.orig_message_id, mid, sizeof(r.orig_message_id));
		str_lcpy(r.final_recipient, "dr.gone@b.example",
		    sizeof(r.final_recipient));
		assert_int_equal(track_apply(f->s, &r, r.final_recipient, cid,
		    1001, &o, &v, &e), 0);
		assert_int_equal(v, TRACK_FORWARD);
		assert_int_equal(fallback(f, &st), 0);
		if (i == 0) {
			r.disposition = MDN_FAILED;
			assert_int_equal(track_apply(f->s, &r, r.final_recipient,
			    visit, 1002, &o, &v, &e), 0);
			assert_int_equal(v, TRACK_FORWARD);
		} else {
			assert_int_equal(track_expire(f->s, 1000 + 3600,
			    "mx.a.example", &n, &e), 0);
			assert_int_equal(n, 1);
		}
		assert_int_equal(fallback(f, &st), 1);
		if (st.direct != 1)
			fail_msg("%s: got %u direct, want 1", causes[i],
			    st.direct);
		assert_int_equal(q(f, "SELECT count(*) FROM notify_sent WHERE"
		    " recipient = 'dr.smith@b.example' AND fallback_of IS NOT"
		    " NULL AND instr(visit, ?) > 0", visit), 1);
		assert_int_equal(q(f, "SELECT count(*) FROM notify_audit WHERE"
		    " step = 'failed' AND instr(detail, ?) > 0", causes[i]), 1);
	}
}

static void
test_notify_fallback_mllp_failure_goes_to_next_listener(void **state)
{
	struct notify_fx *f = *state;
	struct notify_apply_stats st;

	add_adt(f, "M1", "A01", "V300");
	plan_pending(f);
	/* What the MLLP client records for an AE. */
	exec(f, "UPDATE notify_sent SET state = 'failed', fallback = 'due',"
	    " reason = 'kind=mllp notification=1 outcome=failed code=AE' WHERE"
	    " recipient = ?", "127.0.0.1:2576");
	assert_int_equal(fallback(f, &st), 1);
	assert_int_equal(st.mllp, 1);
	assert_int_equal(st.direct, 0);
	assert_int_equal(q(f, "SELECT count(*) FROM notify_sent WHERE kind ="
	    " 'mllp' AND state = 'pending' AND fallback_of IS NOT NULL AND"
	    " instr(payload, 'ZNP|ACRSNPI|" SPEC "') > 0 AND recipient = ?",
	    "127.0.0.1:2577"), 1);
	assert_int_equal(q(f, "SELECT count(*) FROM notify_audit WHERE"
	    " step = 'failed' AND instr(detail, ?) > 0",
	    "cause=mllp_failed code=AE"), 1);

	/* The second listener fails as well: no third, nothing sent. */
	exec(f, "UPDATE notify_sent SET state = 'failed', fallback = 'due'"
	    " WHERE recipient = ?", "127.0.0.1:2577");
	assert_int_equal(fallback(f, &st), 1);
	assert_int_equal(st.direct + st.mllp + st.digest, 0);
	assert_int_equal(q(f, "SELECT count(*) FROM notify_sent WHERE"
	    " fallback = 'exhausted' AND recipient = ?", "127.0.0.1:2577"), 1);
	assert_int_equal(q(f, "SELECT count(*) FROM notify_audit WHERE"
	    " step = 'exhausted' AND npi = ? AND instr(detail,"
	    " 'no_further_target') > 0", SPEC), 1);
	assert_int_equal(q(f, "SELECT count(*) FROM notify_sent", NULL), 4);
}

static void
test_notify_fallback_without_further_target_is_exhausted(void **state)
{
	struct notify_fx *f = *state;
	struct notify_apply_stats st;
	int64_t before;

	add_adt(f, "B1", "A01", "V400");
	plan_pending(f);
	before = q(f, "SELECT count(*) FROM queue_msg", NULL);
	queue_fails(f, "dr.brown@b.example");
	assert_int_equal(fallback(f, &st), 1);
	assert_int_equal(st.direct + st.mllp + st.digest, 0);
	assert_int_equal(q(f, "SELECT count(*) FROM queue_msg", NULL), before);
	assert_int_equal(q(f, "SELECT count(*) FROM notify_sent WHERE"
	    " fallback = 'exhausted' AND recipient = ?", "dr.brown@b.example"),
	    1);
	assert_int_equal(q(f, "SELECT count(*) FROM notify_audit WHERE"
	    " step = 'exhausted' AND npi = ?", BH), 1);
	/* No PHI in the trail. */
	assert_int_equal(q(f, "SELECT count(*) FROM notify_audit WHERE"
	    " instr(upper(coalesce(detail, '')), ?) > 0", "DOE"), 0);
}

/* The PCP asks for a daily digest at 07:00 at both its addresses. */
static const struct notify_fixture_table dir_digest_csv[] = {
	{DIRECTORY_PROVIDERS, "npi,last_name,first_name,status\n"
	    PCP ",Smith,Jane,active\n"},
	{DIRECTORY_ENDPOINTS, "owner_npi,kind,address,rank,active\n"
	    PCP ",direct,dr.gone@b.example,1,yes\n"
	    PCP ",direct,dr.smith@b.example,2,yes\n"},
	{DIRECTORY_PREFERENCES, "owner_npi,events,classes,format,timing\n"
	    PCP ",*,*,hl7+text,07:00\n"},
};

static int
setup_digest(void **state)
{
	*state = notify_fx_new(acrs_csv, TODAY, dir_digest_csv,
	    sizeof(dir_digest_csv) / sizeof(dir_digest_csv[0]));
	return 0;
}

/* A digest the queue gives up on fails each of its entries, and each
 * falls back to the next address (still as a digest entry) once. */
static void
test_notify_fallback_failed_digest_falls_back_per_entry(void **state)
{
	struct notify_fx *f = *state;
	struct notify_digest_set *set = NULL;
	struct notify_apply_stats st;
	struct err e;

	add_adt(f, "D1", "A01", "V700");
	plan_pending(f);
	add_adt(f, "D2", "A01", "V701");
	plan_pending(f);
	assert_int_equal(q(f, "SELECT count(*) FROM notify_sent WHERE"
	    " recipient = ? AND kind = 'digest' AND state = 'pending'",
	    "dr.gone@b.example"), 2);
	/* Two days on, the digest is due: one message for both. */
	if (notify_digest_gather(f->s, "notify@a.example", NOW_MS +
	    2 * 86400000LL, 100, &set, &e) != 0)
		fail_msg("gather: %s", e.msg);
	assert_int_equal(set->n, 1);
	exec(f, "BEGIN", NULL);
	if (notify_digest_apply(f->s, set, NOW_MS + 2 * 86400000LL, 86400,
	    &e) != 0)
		fail_msg("apply: %s", e.msg);
	exec(f, "COMMIT", NULL);
	notify_digest_set_free(&set);
	assert_int_equal(q(f, "SELECT count(*) FROM notify_sent WHERE"
	    " recipient = ? AND state = 'queued'", "dr.gone@b.example"), 2);
	assert_int_equal(fallback(f, &st), 0);

	queue_fails(f, "dr.gone@b.example");
	assert_int_equal(q(f, "SELECT count(*) FROM notify_sent WHERE"
	    " recipient = ? AND state = 'failed' AND fallback = 'due'",
	    "dr.gone@b.example"), 2);
	assert_int_equal(fallback(f, &st), 2);
	if (st.digest != 2)
		fail_msg("got %u digest entries, want 2", st.digest);
	assert_int_equal(q(f, "SELECT count(*) FROM notify_sent n JOIN"
	    " notify_sent o ON o.id = n.fallback_of WHERE n.recipient = ? AND"
	    " n.kind = 'digest' AND n.state = 'pending' AND"
	    " o.visit = n.visit", "dr.smith@b.example"), 2);
	/* Never twice. */
	assert_int_equal(fallback(f, &st), 0);
	assert_int_equal(q(f, "SELECT count(*) FROM notify_sent WHERE"
	    " recipient = ?", "dr.smith@b.example"), 2);
}

static void
test_notify_fallback_plan_applied_twice_sends_once(void **state)
{
	struct notify_fx *f = *state;
	struct notify_fallback_plan *p = NULL, *again = NULL;
	struct notify_apply_stats st = {0};
	int64_t failed;
	struct err e;

	add_adt(f, "D1", "A01", "V500");
	plan_pending(f);
	queue_fails(f, "dr.gone@b.example");
	failed = sent_id(f, "dr.gone@b.example");
	/* Two planners saw the same due row (a crash and a restart between
	 * planning and recording, or two rounds): one fallback. */
	assert_int_equal(notify_fallback_plan(f->s, &f->set,
	    "notify@a.example", failed, NOW_MS, &p, &e), 0);
	assert_int_equal(notify_fallback_plan(f->s, &f->set,
	    "notify@a.example", failed, NOW_MS, &again, &e), 0);
	assert_non_null(p);
	assert_non_null(again);
	assert_string_equal(p->outcome, "done");
	for (int i = 0; i < 2; i++) {
		assert_int_equal(store_begin(f->s, &e), 0);
		assert_int_equal(notify_fallback_apply(f->s, i ? again : p,
		    NOW_MS, 3600, &st, &e), 0);
		assert_int_equal(store_commit(f->s, &e), 0);
	}
	assert_int_equal(st.direct, 1);
	assert_int_equal(q(f, "SELECT count(*) FROM notify_sent WHERE"
	    " recipient = ?", "dr.smith@b.example"), 1);
	notify_fallback_plan_free(&p);
	notify_fallback_plan_free(&again);
	/* Planned once more now: not due. */
	assert_int_equal(notify_fallback_plan(f->s, &f->set,
	    "notify@a.example", failed, NOW_MS, &p, &e), 0);
	assert_null(p);
	notify_fallback_plan_free(NULL);
}

static void
test_notify_fallback_rank_two_failing_goes_nowhere_else(void **state)
{
	struct notify_fx *f = *state;
	struct notify_apply_stats st;

	add_adt(f, "E1", "A01", "V600");
	plan_pending(f);
	queue_fails(f, "dr.gone@b.example");
	assert_int_equal(fallback(f, &st), 1);
	queue_fails(f, "dr.smith@b.example");
	assert_int_equal(fallback(f, &st), 1);
	assert_int_equal(st.direct, 0);
	assert_int_equal(q(f, "SELECT count(*) FROM notify_sent WHERE npis ="
	    " '" PCP "'", NULL), 2);
	assert_int_equal(q(f, "SELECT count(*) FROM notify_sent WHERE"
	    " fallback = 'exhausted' AND recipient = ?", "dr.smith@b.example"),
	    1);
}

/* A retraction reaches the fallback recipient; a retraction that fails
 * at rank 1 does not reach rank 2 a second time. */
static void
test_notify_fallback_retraction_reaches_rank_two_once(void **state)
{
	struct notify_fx *f = *state;
	struct notify_apply_stats st;
	int64_t fb;

	add_adt(f, "R0", "A01", "V700");
	plan_pending(f);
	queue_fails(f, "dr.gone@b.example");
	assert_int_equal(fallback(f, &st), 1);
	fb = sent_id(f, "dr.smith@b.example");
	add_adt(f, "R1", "A11", "V700");
	plan_pending(f);
	assert_int_equal(q(f, "SELECT retracts FROM notify_sent WHERE event ="
	    " 'A11' AND recipient = ?", "dr.smith@b.example"), fb);
	queue_fails(f, "dr.gone@b.example");
	assert_int_equal(q(f, "SELECT count(*) FROM notify_sent WHERE"
	    " fallback = 'due' AND event = ?", "A11"), 1);
	assert_int_equal(fallback(f, &st), 1);
	assert_int_equal(st.direct + st.mllp + st.digest, 0);
	assert_int_equal(q(f, "SELECT count(*) FROM notify_sent WHERE"
	    " event = 'A11' AND recipient = ?", "dr.smith@b.example"), 1);
	assert_int_equal(q(f, "SELECT count(*) FROM notify_sent WHERE"
	    " fallback = 'exhausted' AND event = ?", "A11"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notify_fallback_pick_skips_tried_targets),
		cmocka_unit_test_setup_teardown(
		    test_notify_fallback_queue_failure_goes_to_rank_two_once,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_notify_fallback_failed_and_missing_mdns_fall_back,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_notify_fallback_mllp_failure_goes_to_next_listener,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_notify_fallback_without_further_target_is_exhausted,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_notify_fallback_plan_applied_twice_sends_once,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_notify_fallback_rank_two_failing_goes_nowhere_else,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_notify_fallback_retraction_reaches_rank_two_once,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_notify_fallback_failed_digest_falls_back_per_entry,
		    setup_digest, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
