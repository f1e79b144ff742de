/* Matching quality on a generated, labelled set (adt/demo_data.h): 100,000
 * patients (DG_ACRS_QUALITY_PATIENTS overrides) with injected errors, their
 * ACRS files imported into a fresh store, every visit's patient matched.
 * Precision and recall count (visit, ACRS row) pairs: a pair is one care
 * team's submitter knowing the patient. Printed beside exact-match
 * matching; the test fails below precision 0.995 or recall 0.95.
 * DG_ACRS_QUALITY_DEBUG=N with DG_ACRS_QUALITY_FP or _FN set prints the
 * first N false matches or misses (synthetic data only). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adt/acrs_config.h"
#include "adt/acrs_file.h"
#include "adt/acrs_match.h"
#include "adt/acrs_store.h"
#include "adt/demo_data.h"
#include "core/log.h"
#include "core/str.h"
#include "tests/lib/testlib.h"

#define TODAY 20261122

static int debug_left;

struct tally {
	bool debug;
	uint64_t tp, fp, fn;
	uint64_t miss_by_err[8], fp_by_err[8];
	uint64_t possible;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
on_issue(void *arg, const struct acrs_issue *is)
{
	printf("%s: row %llu %s %s: %s\n", (const char *)arg,
	    (unsigned long long)is->row, is->column, is->code, is->msg);
}

static void
import_all(struct store *s, const struct demo_data *d)
{
	struct buf b;
	struct err e;

	buf_init(&b, BUF_UNLIMITED);
	for (size_t g = 0; g < demo_data_submitters(d); g++) {
		struct acrs_file_opts fo = {TODAY, NULL, on_issue,
		    (void *)demo_data_submitter_name(d, g)};
		struct acrs_import_opts io = {demo_data_submitter_name(d, g),
		    ACRS_MODE_REPLACE, 0};
		struct acrs_file *f = acrs_file_new(&fo);
		struct acrs_import *im;
		const struct acrs_rec *rec;
		struct acrs_file_stats fs;
		int rc;

		buf_reset(&b);
		demo_data_acrs_csv(d, g, &b);
		acrs_file_input(f, b.data, b.len);
		acrs_file_finish(f);
		if (acrs_store_import_begin(s, &io, &im, &e) == -1)
			fail_msg("import begin: %s", e.msg);
		while ((rc = acrs_file_next(f, &rec, &e)) == 1)
			if (acrs_store_import_add(im, rec, &e) == -1)
				fail_msg("import add: %s", e.msg);
		assert_int_equal(rc, 0);
		acrs_file_stats(f, &fs);
		if (fs.bad != 0)
			fail_msg("generated file %s has %llu bad rows",
			    demo_data_submitter_name(d, g),
			    (unsigned long long)fs.bad);
		if (acrs_store_import_commit(&im, &fs, &e) == -1)
			fail_msg("import commit: %s", e.msg);
		acrs_file_free(&f);
	}
	buf_release(&b);
}

/* Compares the hits of a visit with its truth. */
static void
score_visit(struct store *s, const struct demo_data *d, size_t v,
    const struct acrs_match_result *r, struct tally *t)
{
	const char *const *refs;
	size_t nt = demo_data_visit_truth(d, v, &refs), found = 0;
	unsigned errs = demo_data_visit_errors(d, v);
	struct acrs_cand c;
	struct err e;
	char key[256];

	for (size_t i = 0; i < r->n_hits; i++) {
		bool ok = false;

		if (r->hits[i].decision != ACRS_MATCH) {
			t->possible++;
			continue;
		}
		if (acrs_store_cand(s, r->hits[i].patient, &c, &e) != 1)
			fail_msg("cand: %s", e.msg);
		str_fmt(key, sizeof(key), "%s\t%s", c.submitter, c.patient_id);
		for (size_t j = 0; j < nt; j++)
			if (strcmp(refs[j], key) == 0)
				ok = true;
		if (ok) {
			t->tp++;
			found++;
		} else {
			if (debug_left > 0 && t->debug &&
			    getenv("DG_ACRS_QUALITY_FP") != NULL) {
				struct acrs_person ap;
				struct acrs_cand q;

				debug_left--;
				demo_data_visit_person(d, v, &ap);
				acrs_match_normalize(&ap, &q);
				printf("FP visit %zu err %#x score %.2f: q %s|%s|%d|%c|"
				    "%s|%s|%s  c %s|%s|%d|%c|%s|%s|%s\n", v, errs,
				    r->hits[i].score, q.last, q.first, q.dob, q.sex,
				    q.street, q.city, q.zip5, c.last, c.first, c.dob,
				    c.sex, c.street, c.city, c.zip5);
			}
			t->fp++;
			for (unsigned b = 0; b < 8; b++)
				if (errs & (1u << b))
					t->fp_by_err[b]++;
		}
	}
	if (found < nt && t->debug && debug_left > 0 &&
	    getenv("DG_ACRS_QUALITY_FN") != NULL) {
		struct acrs_person ap;
		struct acrs_cand q;

		debug_left--;
		demo_data_visit_person(d, v, &ap);
		acrs_match_normalize(&ap, &q);
		printf("FN visit %zu err %#x hits %zu best %.2f: q %s|%s|%d|%c|%s|"
		    "%s|%s truth %s\n", v, errs, r->n_hits, r->best, q.last,
		    q.first, q.dob, q.sex, q.street, q.city, q.zip5, refs[0]);
	}
	if (found < nt) {
		t->fn += nt - found;
		for (unsigned b = 0; b < 8; b++)
			if (errs & (1u << b))
				t->miss_by_err[b] += nt - found;
	}
}

static void
print_tally(const char *name, const struct tally *t, double *p_r,
    double *r_r)
{
	double p = t->tp + t->fp ? (double)t->tp / (double)(t->tp + t->fp) :
	    1.0;
	double r = t->tp + t->fn ? (double)t->tp / (double)(t->tp + t->fn) :
	    1.0;

	printf("%-14s precision %.4f  recall %.4f  (tp %llu, fp %llu, fn "
	    "%llu, possible %llu)\n", name, p, r, (unsigned long long)t->tp,
	    (unsigned long long)t->fp, (unsigned long long)t->fn,
	    (unsigned long long)t->possible);
	*p_r = p;
	*r_r = r;
}

static void
test_acrs_match_meets_precision_and_recall_goals_on_labelled_set(
    void **state)
{
	const char *env = getenv("DG_ACRS_QUALITY_PATIENTS");
	unsigned patients = 100000;
	struct demo_data_opts o;
	struct demo_data *d;
	struct acrs_settings set;
	struct acrs_matcher *m;
	struct store *s;
	struct tally ours, base;
	struct err e;
	char *dir, dbpath[512];
	double t0, p, r, bp, br;
	int n;

	(void)state;
	log_init("test_acrs_quality", LOG_LEVEL_WARN);
	if (env != NULL && str_to_int(env, 100, 10000000, &n) == 0)
		patients = (unsigned)n;
	memset(&o, 0, sizeof(o));
	o.patients = patients;
	o.providers = 800;
	o.seed = 20261122;
	o.today = TODAY;
	t0 = now_s();
	d = demo_data_new(&o);
	printf("generated %u patients, %zu relationships, %zu submitters in "
	    "%.1f s\n", patients, demo_data_relationships(d),
	    demo_data_submitters(d), now_s() - t0);
	dir = testlib_tmpdir();
	str_fmt(dbpath, sizeof(dbpath), "%s/acrs.db", dir);
	if (store_open(dbpath, 0, &s, &e) == -1)
		fail_msg("store: %s", e.msg);
	t0 = now_s();
	import_all(s, d);
	printf("imported in %.1f s\n", now_s() - t0);
	acrs_config_defaults(&set);
	m = acrs_matcher_new(s, &set);
	memset(&ours, 0, sizeof(ours));
	ours.debug = true;
	if ((env = getenv("DG_ACRS_QUALITY_DEBUG")) != NULL &&
	    str_to_int(env, 0, 1000, &n) == 0)
		debug_left = n;
	memset(&base, 0, sizeof(base));
	t0 = now_s();
	for (size_t v = 0; v < demo_data_visits(d); v++) {
		struct acrs_person ap;
		struct acrs_match_result res;

		demo_data_visit_person(d, v, &ap);
		if (acrs_match(m, &ap, TODAY, NULL, &res, &e) == -1)
			fail_msg("match: %s", e.msg);
		score_visit(s, d, v, &res, &ours);
		acrs_match_result_clear(&res);
		if (acrs_match_baseline(m, &ap, &res, &e) == -1)
			fail_msg("baseline: %s", e.msg);
		score_visit(s, d, v, &res, &base);
		acrs_match_result_clear(&res);
	}
	printf("matched %zu visits in %.1f s\n", demo_data_visits(d),
	    now_s() - t0);
	print_tally("exact-match", &base, &bp, &br);
	print_tally("directgate", &ours, &p, &r);
	{
		static const char *const names[] = {"typo_last", "typo_first",
		    "swapped", "moved", "missing", "dob_typo", "twin", "-"};

		printf("misses (fn) / false matches (fp) by injected error:");
		for (unsigned b = 0; b < 7; b++)
			printf(" %s %llu/%llu", names[b],
			    (unsigned long long)ours.miss_by_err[b],
			    (unsigned long long)ours.fp_by_err[b]);
		printf("\n");
	}
	if (p < 0.995 || r < 0.95)
		fail_msg("goal missed: precision %.4f (want >= 0.995), recall "
		    "%.4f (want >= 0.95)", p, r);
	assert_true(r > br);
	acrs_matcher_free(&m);
	store_free(&s);
	testlib_rmtree(dir);
	free(dir);
	demo_data_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_acrs_match_meets_precision_and_recall_goals_on_labelled_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
