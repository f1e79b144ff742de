#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adt/acrs_config.h"
#include "adt/acrs_import.h"
#include "adt/acrs_match.h"
#include "adt/acrs_store.h"
#include "core/log.h"
#include "core/store.h"
#include "core/str.h"
#include "tests/lib/testlib.h"

#define TODAY 20261122
#define HDR "patient_id,patient_id_type,assigning_authority,last_name," \
	"first_name,dob,sex,address1,city,state,zip,phone,provider_npi," \
	"relationship,organization,last_seen,start_date,end_date,consent\n"

struct fx {
	char *dir;
	struct store *s;
	struct acrs_settings set;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char path[512];
	struct err e;

	log_init("test_acrs_store", LOG_LEVEL_WARN);
	f->dir = testlib_tmpdir();
	str_fmt(path, sizeof(path), "%s/s.db", f->dir);
	if (store_open(path, 0, &f->s, &e) == -1)
		fail_msg("store: %s", e.msg);
	acrs_config_defaults(&f->set);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_free(&f->s);
	testlib_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Imports text as submitter; returns the result (rc in *rc_r). */
static struct acrs_import_result
import(struct fx *f, const char *sub, const char *text, enum acrs_mode mode,
    bool strict, int *rc_r)
{
	struct acrs_import_file_opts o;
	struct acrs_import_result r;
	char path[512];
	struct err e;

	str_fmt(path, sizeof(path), "%s/in.csv", f->dir);
	testlib_write_file(path, text, strlen(text));
	memset(&o, 0, sizeof(o));
	o.submitter = sub;
	o.mode = mode;
	o.strict = strict;
	o.today = TODAY;
	*rc_r = acrs_import_file(f->s, path, &o, &r, &e);
	return r;
}

static int64_t
count(struct fx *f, const char *sql)
{
	int64_t v = -1;
	struct err e;

	if (store_query_int(f->s, &v, &e, sql, "") != 1)
		fail_msg("%s: %s", sql, e.msg);
	return v;
}

static const char roster_a[] = HDR
    "A1,MR,CLINIC,Doe,Jane,1980-01-01,F,1 Main St,Lansing,MI,48906,"
    "5175550101,1234567893,pcp,Clinic,2026-01-01,,,standard\n"
    "A1,MR,CLINIC,Doe,Jane,1980-01-01,F,1 Main St,Lansing,MI,48906,"
    "5175550101,1245319599,behavioral_health,Clinic,2026-01-01,,,"
    "restricted\n"
    "A2,MR,CLINIC,Roe,Rick,1975-05-05,M,2 Oak Ave,Flint,MI,48502,"
    "8105550102,1234567893,pcp,Clinic,2023-01-01,,,standard\n";

static void
test_acrs_store_replace_supersedes_the_submitters_previous_file(void **state)
{
	struct fx *f = *state;
	struct acrs_import_result r;
	int rc;

	r = import(f, "CLINIC", roster_a, ACRS_MODE_REPLACE, false, &rc);
	assert_int_equal(rc, 0);
	assert_true(r.committed);
	assert_int_equal(r.file.good, 3);
	assert_int_equal(count(f, "SELECT count(*) FROM acrs_patient"), 2);
	assert_int_equal(count(f, "SELECT count(*) FROM acrs_rel"), 3);
	r = import(f, "OTHER", roster_a, ACRS_MODE_REPLACE, false, &rc);
	assert_int_equal(count(f, "SELECT count(*) FROM acrs_patient"), 4);
	r = import(f, "CLINIC", HDR "A9,MR,CLINIC,Poe,Ed,1990-01-01,M,,,,,,"
	    "1234567893,pcp,Clinic,2026-01-01,,,\n", ACRS_MODE_REPLACE, false,
	    &rc);
	assert_true(r.committed);
	assert_int_equal(count(f, "SELECT count(*) FROM acrs_patient"), 3);
	assert_int_equal(count(f, "SELECT count(*) FROM acrs_rel"), 4);
	assert_int_equal(count(f, "SELECT patients FROM acrs_submitter WHERE "
	    "name = 'CLINIC'"), 1);
}

static void
test_acrs_store_delta_adds_updates_and_terminates(void **state)
{
	struct fx *f = *state;
	struct acrs_member *team = NULL;
	size_t n = 0;
	int64_t id;
	struct err e;
	int rc;

	import(f, "CLINIC", roster_a, ACRS_MODE_REPLACE, false, &rc);
	import(f, "CLINIC", HDR
	    "A1,MR,CLINIC,Doe,Jane,1980-01-01,F,1 Main St,Lansing,MI,48906,"
	    "5175550101,1234567893,pcp,Clinic,2026-01-01,2020-01-01,"
	    "2026-11-01,\n"
	    "A3,MR,CLINIC,New,Ned,2001-01-01,M,,,,,,1234567893,pcp,Clinic,"
	    "2026-03-01,,,\n", ACRS_MODE_DELTA, false, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(count(f, "SELECT count(*) FROM acrs_patient"), 3);
	assert_int_equal(count(f, "SELECT count(*) FROM acrs_rel"), 4);
	assert_int_equal(store_query_int(f->s, &id, &e, "SELECT id FROM "
	    "acrs_patient WHERE patient_id = 'A1'", ""), 1);
	assert_int_equal(acrs_store_team(f->s, id, TODAY, 24, true, &team, &n,
	    &e), 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		if (team[i].rel == ACRS_REL_PCP)
			assert_false(team[i].active); /* ended 2026-11-01 */
		else
			assert_true(team[i].restricted);
	}
	free(team);
}

static void
test_acrs_store_strict_bad_header_and_store_fault_keep_the_roster(
    void **state)
{
	struct fx *f = *state;
	struct acrs_import_result r;
	char big[8192];
	int rc;

	import(f, "CLINIC", roster_a, ACRS_MODE_REPLACE, false, &rc);
	/* --strict with one bad row: nothing written. */
	r = import(f, "CLINIC", HDR "A9,MR,CLINIC,Poe,Ed,1990-01-01,M,,,,,,"
	    "1234567893,pcp,Clinic,2026-01-01,,,\n"
	    "A8,MR,CLINIC,Poe,Al,1990-13-01,M,,,,,,1234567893,pcp,Clinic,"
	    "2026-01-01,,,\n", ACRS_MODE_REPLACE, true, &rc);
	assert_int_equal(rc, 0);
	assert_true(r.rejected);
	assert_false(r.committed);
	assert_int_equal(count(f, "SELECT count(*) FROM acrs_patient"), 2);
	/* Without --strict the good row replaces the roster. A bad header
	 * loads nothing. */
	r = import(f, "CLINIC", "patient_id,bogus\nA1,x\n", ACRS_MODE_REPLACE,
	    false, &rc);
	assert_false(r.header_ok);
	assert_false(r.committed);
	assert_int_equal(count(f, "SELECT count(*) FROM acrs_patient"), 2);
	/* A store fault at commit: the previous roster stands. */
	str_fmt(big, sizeof(big), "%s", HDR);
	for (int i = 0; i < 20; i++) {
		size_t n = strlen(big);

		str_fmt(big + n, sizeof(big) - n, "Z%d,MR,CLINIC,Zed,Zoe,"
		    "1990-01-01,F,,,,,,1234567893,pcp,Clinic,2026-01-01,,,\n",
		    i);
	}
	assert_int_equal(store_fault_inject(f->s, "ioerr", 1), 0);
	r = import(f, "CLINIC", big, ACRS_MODE_REPLACE, false, &rc);
	assert_int_equal(rc, -1);
	assert_false(r.committed);
	assert_int_equal(count(f, "SELECT count(*) FROM acrs_patient"), 2);
	assert_int_equal(count(f, "SELECT count(*) FROM acrs_rel"), 3);
	assert_int_equal(count(f, "SELECT count(*) FROM acrs_patient WHERE "
	    "patient_id LIKE 'Z%'"), 0);
	/* The indexes dropped by the bulk path came back with the
	 * rollback. */
	assert_int_equal(count(f, "SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'index' AND tbl_name = 'acrs_patient'"), 4);
}

struct active_case {
	int rel;
	int32_t last_seen, start, end;
	bool want;
};

static void
test_acrs_store_active_rule(void **state)
{
	static const struct active_case cases[] = {
		{ACRS_REL_PCP, 20260101, 0, 0, true},
		{ACRS_REL_PCP, 20241123, 0, 0, true},   /* 24 months */
		{ACRS_REL_PCP, 20241121, 0, 0, false},
		{ACRS_REL_PCP, 20200101, 20190101, 0, true}, /* current */
		{ACRS_REL_PCP, 20260101, 0, 20261122, false}, /* ended */
		{ACRS_REL_PCP, 20260101, 0, 20261123, true},
		{ACRS_REL_PCP, 0, 20270101, 0, false},  /* not started */
		{ACRS_REL_PAYER, 0, 20200101, 0, true},
		{ACRS_REL_PAYER, 0, 0, 0, true},
		{ACRS_REL_PAYER, 0, 20200101, 20260101, false},
		{ACRS_REL_SPECIALIST, 0, 0, 0, false},
	};
	int32_t cutoff = acrs_norm_add_months(TODAY, -24);

	(void)state;
	assert_int_equal(cutoff, 20241122);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = acrs_store_active(cases[i].rel, cases[i].last_seen,
		    cases[i].start, cases[i].end, TODAY, cutoff);

		if (got != cases[i].want)
			fail_msg("case %zu: got %d, want %d", i, got,
			    cases[i].want);
	}
}

static void
test_acrs_match_by_identifier_member_id_and_demographics(void **state)
{
	struct fx *f = *state;
	struct acrs_matcher *m;
	struct acrs_match_result r;
	struct acrs_person p;
	struct err e;
	int rc;

	import(f, "CLINIC", roster_a, ACRS_MODE_REPLACE, false, &rc);
	import(f, "PAYER1", HDR "M77,MB,,Doe,Jane,1980-01-01,F,,,,,,"
	    "1234567893,payer,Plan,,2020-01-01,,\n", ACRS_MODE_REPLACE, false,
	    &rc);
	m = acrs_matcher_new(f->s, &f->set);
	/* Identifier (authority case-insensitive). */
	memset(&p, 0, sizeof(p));
	str_lcpy(p.ids[0].id, "A1", sizeof(p.ids[0].id));
	str_lcpy(p.ids[0].authority, "clinic", sizeof(p.ids[0].authority));
	p.n_ids = 1;
	assert_int_equal(acrs_match(m, &p, TODAY, "t1", &r, &e), 0);
	assert_int_equal(r.decision, ACRS_MATCH);
	assert_true(r.hits[0].by_ident);
	assert_int_equal(r.n_team, 2);
	acrs_match_result_clear(&r);
	/* Member id of a payer without authority: the submitter. */
	memset(&p, 0, sizeof(p));
	str_lcpy(p.members[0].member_id, "M77", sizeof(p.members[0].member_id));
	str_lcpy(p.members[0].payer, "PAYER1", sizeof(p.members[0].payer));
	p.n_members = 1;
	assert_int_equal(acrs_match(m, &p, TODAY, "t2", &r, &e), 0);
	assert_int_equal(r.decision, ACRS_MATCH);
	assert_int_equal(r.n_team, 1);
	assert_int_equal(r.team[0].rel, ACRS_REL_PAYER);
	acrs_match_result_clear(&r);
	/* Demographics with a typo, a title and the ZIP+4: both rows of
	 * Jane (clinic and payer). */
	memset(&p, 0, sizeof(p));
	str_lcpy(p.last, "DOE", sizeof(p.last));
	str_lcpy(p.first, "Mrs. Jnae", sizeof(p.first));
	str_lcpy(p.dob, "19800101", sizeof(p.dob));
	str_lcpy(p.sex, "F", sizeof(p.sex));
	str_lcpy(p.address1, "1 MAIN STREET", sizeof(p.address1));
	str_lcpy(p.city, "Lansing", sizeof(p.city));
	str_lcpy(p.zip, "48906-1111", sizeof(p.zip));
	assert_int_equal(acrs_match(m, &p, TODAY, "t3", &r, &e), 0);
	assert_int_equal(r.decision, ACRS_MATCH);
	assert_int_equal(r.n_hits, 2);
	assert_int_equal(r.n_team, 3);
	acrs_match_result_clear(&r);
	/* A twin (same everything, another first name): possible only. */
	str_lcpy(p.first, "Beatrix", sizeof(p.first));
	assert_int_equal(acrs_match(m, &p, TODAY, "t4", &r, &e), 0);
	assert_int_equal(r.decision, ACRS_POSSIBLE);
	assert_int_equal(r.n_team, 0);
	acrs_match_result_clear(&r);
	/* Nobody. */
	str_lcpy(p.last, "Zzyzx", sizeof(p.last));
	str_lcpy(p.dob, "19010101", sizeof(p.dob));
	assert_int_equal(acrs_match(m, &p, TODAY, "t5", &r, &e), 0);
	assert_int_equal(r.decision, ACRS_NONE);
	acrs_match_result_clear(&r);
	acrs_matcher_free(&m);
}

/* Identifiers first; demographics only for the submitters no identifier
 * matched: a lookalike in the identified submitter's roster (here the
 * same person registered twice, on another provider) adds nothing, the
 * payer's row of the same person is found; with every submitter
 * identified nothing else is read. */
static void
test_acrs_match_identifier_wins_its_submitter_demographics_the_others(
    void **state)
{
	struct fx *f = *state;
	struct acrs_matcher *m;
	struct acrs_match_result r;
	struct acrs_person p;
	struct err e;
	int rc;

	import(f, "CLINIC", HDR
	    "A1,MR,CLINIC,Doe,Jane,1980-01-01,F,1 Main St,Lansing,MI,48906,"
	    "5175550101,1234567893,pcp,Clinic,2026-01-01,,,standard\n"
	    "A3,MR,CLINIC,Doe,Jane,1980-01-01,F,1 Main St,Lansing,MI,48906,"
	    "5175550101,1245319599,specialist,Clinic,2026-01-01,,,standard\n",
	    ACRS_MODE_REPLACE, false, &rc);
	import(f, "PAYER1", HDR "M77,MB,,Doe,Jane,1980-01-01,F,1 Main St,"
	    "Lansing,MI,48906,,1234567893,payer,Plan,,2020-01-01,,\n",
	    ACRS_MODE_REPLACE, false, &rc);
	m = acrs_matcher_new(f->s, &f->set);
	memset(&p, 0, sizeof(p));
	str_lcpy(p.ids[0].id, "A1", sizeof(p.ids[0].id));
	str_lcpy(p.ids[0].authority, "CLINIC", sizeof(p.ids[0].authority));
	p.n_ids = 1;
	str_lcpy(p.last, "Doe", sizeof(p.last));
	str_lcpy(p.first, "Jane", sizeof(p.first));
	str_lcpy(p.dob, "19800101", sizeof(p.dob));
	str_lcpy(p.sex, "F", sizeof(p.sex));
	str_lcpy(p.address1, "1 Main St", sizeof(p.address1));
	str_lcpy(p.city, "Lansing", sizeof(p.city));
	str_lcpy(p.zip, "48906", sizeof(p.zip));
	assert_int_equal(acrs_match(m, &p, TODAY, "t1", &r, &e), 0);
	assert_int_equal(r.decision, ACRS_MATCH);
	assert_int_equal(r.n_hits, 2);
	for (size_t i = 0; i < r.n_team; i++)
		if (strcmp(r.team[i].patient_id, "A3") == 0)
			fail_msg("team: got A3's, want A1's and M77's only");
	assert_int_equal(r.n_team, 2);
	acrs_match_result_clear(&r);
	/* Both submitters identified: no demographic candidates. */
	str_lcpy(p.members[0].member_id, "M77", sizeof(p.members[0].member_id));
	str_lcpy(p.members[0].payer, "PAYER1", sizeof(p.members[0].payer));
	p.n_members = 1;
	assert_int_equal(acrs_match(m, &p, TODAY, "t2", &r, &e), 0);
	assert_int_equal(r.decision, ACRS_MATCH);
	assert_int_equal(r.candidates, 0);
	assert_int_equal(r.n_team, 2);
	acrs_match_result_clear(&r);
	acrs_matcher_free(&m);
}

struct seen {
	int n;
	int64_t id;
	char state[16];
};

static void
on_review(void *arg, const struct acrs_review_item *it)
{
	struct seen *s = arg;

	s->n++;
	s->id = it->id;
	str_lcpy(s->state, it->state, sizeof(s->state));
	assert_string_equal(it->patient_id, "A2");
	assert_string_equal(it->submitter, "CLINIC");
}

static void
test_acrs_review_accept_links_the_adt_identifier(void **state)
{
	struct fx *f = *state;
	struct acrs_matcher *m;
	struct acrs_match_result r;
	struct acrs_person p;
	struct seen seen = {0, 0, ""};
	int64_t pid, rid;
	struct err e;
	int rc;

	import(f, "CLINIC", roster_a, ACRS_MODE_REPLACE, false, &rc);
	assert_int_equal(store_query_int(f->s, &pid, &e, "SELECT id FROM "
	    "acrs_patient WHERE patient_id = 'A2'", ""), 1);
	assert_int_equal(acrs_store_review_add(f->s, "MSG1", "H55", "HOSPX",
	    pid, 9.5, &rid, &e), 0);
	assert_int_equal(acrs_store_review_list(f->s, "pending", on_review,
	    &seen, &e), 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(acrs_store_review_decide(f->s, rid, true, &e), 0);
	assert_int_equal(acrs_store_review_decide(f->s, rid, false, &e), -1);
	m = acrs_matcher_new(f->s, &f->set);
	memset(&p, 0, sizeof(p));
	str_lcpy(p.ids[0].id, "H55", sizeof(p.ids[0].id));
	str_lcpy(p.ids[0].authority, "HOSPX", sizeof(p.ids[0].authority));
	p.n_ids = 1;
	assert_int_equal(acrs_match(m, &p, TODAY, "t6", &r, &e), 0);
	assert_int_equal(r.decision, ACRS_MATCH);
	assert_int_equal(r.hits[0].patient, pid);
	/* A2's PCP was last seen 2023-01-01: not active. */
	assert_int_equal(r.n_team, 0);
	acrs_match_result_clear(&r);
	acrs_matcher_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_acrs_store_replace_supersedes_the_submitters_previous_file,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_acrs_store_delta_adds_updates_and_terminates, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_acrs_store_strict_bad_header_and_store_fault_keep_the_roster,
		    setup, teardown),
		cmocka_unit_test(test_acrs_store_active_rule),
		cmocka_unit_test_setup_teardown(
		    test_acrs_match_by_identifier_member_id_and_demographics,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_acrs_match_identifier_wins_its_submitter_demographics_the_others,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_acrs_review_accept_links_the_adt_identifier, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
