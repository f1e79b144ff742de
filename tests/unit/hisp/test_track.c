#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "hisp/track.h"
#include "tests/lib/testlib.h"

/* Delivery tracking against a real store: who may report on a recipient. */

#define MID "<m1@a.test>"

struct fix {
	char *dir;
	struct store *s;
	struct track_opts o;
};

static int
setup(void **state)
{
	struct fix *f = xcalloc(1, sizeof(*f));
	struct err e = {0};
	char *path;

	log_init("test", LOG_LEVEL_ERROR);
	f->dir = testlib_tmpdir();
	path = xasprintf("%s/track.db", f->dir);
	if (store_open(path, 0, &f->s, &e) != 0)
		fail_msg("store_open: %s", e.msg);
	free(path);
	f->o.processed_timeout_s = 3600;
	f->o.dispatched_timeout_s = 3600;
	/* alice@a.test sent MID to bob and carol at b.test, asking for
	 * final delivery. */
	if (track_sent(f->s, MID, "bob@b.test", "alice@a.test", "Q1", true,
	    1000, &f->o, &e) != 0 || track_sent(f->s, MID, "carol@b.test",
	    "alice@a.test", "Q1", true, 1000, &f->o, &e) != 0)
		fail_msg("track_sent: %s", e.msg);
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

static void
state_of(struct fix *f, const char *rcpt, char *out, size_t n)
{
	struct store_stmt *st;
	struct err e;

	st = store_prepare(f->s, "SELECT state FROM track WHERE message_id ="
	    " ?1 AND rcpt = ?2", &e);
	assert_non_null(st);
	store_bindv(st, "ss", MID, rcpt);
	assert_int_equal(store_step(st, &e), 1);
	str_lcpy(out, store_col_text(st, 0), n);
	store_stmt_done(st);
}

static int64_t
events(struct fix *f)
{
	int64_t n = -1;
	struct err e;

	assert_int_equal(store_query_int(f->s, &n, &e, "SELECT count(*) FROM"
	    " track_event", ""), 1);
	return n;
}

static struct mdn_report
report(bool dsn, enum mdn_disposition d, const char *rcpt)
{
	struct mdn_report r;

	memset(&r, 0, sizeof(r));
	r.is_dsn = dsn;
	r.disposition = d;
	str_lcpy(r.orig_message_id, MID, sizeof(r.orig_message_id));
	str_lcpy(r.final_recipient, rcpt, sizeof(r.final_recipient));
	return r;
}

static void
test_track_sender_may_report_only_for_itself_or_its_own_domain(void **state)
{
	static const struct {
		bool dsn;
		const char *rcpt, *from;
		bool want;
	} cases[] = {
		{false, "bob@b.test", "bob@b.test", true},
		{false, "bob@b.test", "BOB@B.Test", true},
		{false, "Bob@B.test", "bob@b.test", true},
		{false, "bob@b.test", "carol@b.test", false},
		{false, "bob@b.test", "bob@c.test", false},
		{false, "bob@b.test", "mailer-daemon@b.test", false},
		{false, "bob@b.test", "", false},
		{false, "bob@b.test", NULL, false},
		{false, "", "bob@b.test", false},
		{true, "bob@b.test", "mailer-daemon@b.test", true},
		{true, "bob@b.test", "postmaster@B.TEST", true},
		{true, "bob@b.test", "bob@b.test", true},
		{true, "bob@b.test", "mailer-daemon@c.test", false},
		{true, "bob@b.test", "mailer-daemon@sub.b.test", false},
		{true, "bob@b.test", "mailer-daemon@", false},
		{true, "bob@b.test", "nodomain", false},
		{true, "bob", "mailer-daemon@b.test", false},
	};
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mdn_report r = report(cases[i].dsn, MDN_FAILED,
		    cases[i].rcpt);
		bool got = track_sender_may_report(&r, cases[i].from);

		if (got != cases[i].want) {
			print_error("%s about <%s> from <%s>: got %d, want %d\n",
			    cases[i].dsn ? "dsn" : "mdn", cases[i].rcpt,
			    cases[i].from != NULL ? cases[i].from : "(null)",
			    got, cases[i].want);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void
test_track_apply_rejects_dispatched_mdn_from_another_recipient(void **state)
{
	struct fix *f = *state;
	struct mdn_report r = report(false, MDN_DISPATCHED, "bob@b.test");
	enum track_verdict v;
	char st[16];
	struct err e;

	/* carol is a recipient of the same message, and trusted: she still
	 * cannot speak for bob. */
	assert_int_equal(track_apply(f->s, &r, "carol@b.test", "R1", 2000,
	    &f->o, &v, &e), 0);
	assert_int_equal(v, TRACK_REJECTED);
	state_of(f, "bob@b.test", st, sizeof(st));
	assert_string_equal(st, "sent");
	assert_int_equal(events(f), 0);
	/* Nor can another trusted HISP's user. */
	assert_int_equal(track_apply(f->s, &r, "mallory@evil.test", "R2", 2000,
	    &f->o, &v, &e), 0);
	assert_int_equal(v, TRACK_REJECTED);
	state_of(f, "bob@b.test", st, sizeof(st));
	assert_string_equal(st, "sent");
	assert_int_equal(events(f), 0);
}

static void
test_track_apply_takes_the_genuine_mdn_after_a_forged_one(void **state)
{
	struct fix *f = *state;
	struct mdn_report r = report(false, MDN_DISPATCHED, "bob@b.test");
	enum track_verdict v;
	char st[16];
	struct err e;

	assert_int_equal(track_apply(f->s, &r, "mallory@evil.test", "R1", 2000,
	    &f->o, &v, &e), 0);
	assert_int_equal(v, TRACK_REJECTED);
	assert_int_equal(track_apply(f->s, &r, "Bob@b.test", "R2", 2001,
	    &f->o, &v, &e), 0);
	assert_int_equal(v, TRACK_FORWARD);
	state_of(f, "bob@b.test", st, sizeof(st));
	assert_string_equal(st, "dispatched");
	state_of(f, "carol@b.test", st, sizeof(st));
	assert_string_equal(st, "sent");
	assert_int_equal(events(f), 1);
}

static void
test_track_apply_rejects_failed_dsn_from_another_domain(void **state)
{
	struct fix *f = *state;
	struct mdn_report r = report(true, MDN_FAILED, "carol@b.test");
	enum track_verdict v;
	char st[16];
	struct err e;

	assert_int_equal(track_apply(f->s, &r, "mailer-daemon@evil.test",
	    "R1", 2000, &f->o, &v, &e), 0);
	assert_int_equal(v, TRACK_REJECTED);
	state_of(f, "carol@b.test", st, sizeof(st));
	assert_string_equal(st, "sent");
	assert_int_equal(track_apply(f->s, &r, "mailer-daemon@b.test", "R2",
	    2000, &f->o, &v, &e), 0);
	assert_int_equal(v, TRACK_FORWARD);
	state_of(f, "carol@b.test", st, sizeof(st));
	assert_string_equal(st, "failed");
}

static void
test_track_apply_unknown_message_stays_unknown_whoever_sends(void **state)
{
	struct fix *f = *state;
	struct mdn_report r = report(false, MDN_PROCESSED, "dave@b.test");
	enum track_verdict v;
	struct err e;

	assert_int_equal(track_apply(f->s, &r, "mallory@evil.test", "R1", 2000,
	    &f->o, &v, &e), 0);
	assert_int_equal(v, TRACK_UNKNOWN);
	assert_int_equal(track_apply(f->s, &r, "dave@b.test", "R2", 2000,
	    &f->o, &v, &e), 0);
	assert_int_equal(v, TRACK_UNKNOWN);
	assert_string_equal(track_verdict_name(TRACK_REJECTED), "rejected");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_track_sender_may_report_only_for_itself_or_its_own_domain),
		cmocka_unit_test_setup_teardown(
		    test_track_apply_rejects_dispatched_mdn_from_another_recipient,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_track_apply_takes_the_genuine_mdn_after_a_forged_one,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_track_apply_rejects_failed_dsn_from_another_domain,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_track_apply_unknown_message_stays_unknown_whoever_sends,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
