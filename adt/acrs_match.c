#include "adt/acrs_match.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "adt/acrs_norm.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"

struct acrs_matcher {
	struct store *s;
	const struct acrs_settings *set;
	int64_t *ids;
	size_t n_ids;
	struct acrs_cand *cands;
	size_t n_cands, cap_cands;
};

const char *
acrs_match_decision_name(enum acrs_decision d)
{
	switch (d) {
	case ACRS_MATCH:
		return "match";
	case ACRS_POSSIBLE:
		return "possible";
	default:
		return "none";
	}
}

void
acrs_match_result_clear(struct acrs_match_result *r)
{
	free(r->hits);
	free(r->team);
	memset(r, 0, sizeof(*r));
}

void
acrs_match_normalize(const struct acrs_person *p, struct acrs_cand *q)
{
	char sfx[ACRS_SUFFIX_MAX];

	memset(q, 0, sizeof(*q));
	acrs_norm_last(p->last, q->last, q->suffix);
	acrs_norm_words(p->middle, q->middle, sizeof(q->middle));
	acrs_norm_first(p->first, q->first, q->middle);
	if (p->suffix[0] != '\0') {
		acrs_norm_words(p->suffix, sfx, sizeof(sfx));
		str_lcpy(q->suffix, sfx, sizeof(q->suffix));
	}
	if (acrs_norm_date_any(p->dob, &q->dob) == -1)
		q->dob = 0;
	q->sex = acrs_norm_sex(p->sex);
	if (q->sex == 0)
		q->sex = 'U';
	acrs_norm_street(p->address1, q->street, sizeof(q->street));
	acrs_norm_words(p->city, q->city, sizeof(q->city));
	if (acrs_norm_zip(p->zip, q->zip5) == -1) {
		/* Foreign or sloppy ZIPs: keep 5 leading digits if any. */
		size_t i = 0;

		while (i < 5 && p->zip[i] >= '0' && p->zip[i] <= '9')
			i++;
		if (i == 5) {
			memcpy(q->zip5, p->zip, 5);
			q->zip5[5] = '\0';
		} else {
			q->zip5[0] = '\0';
		}
	}
	if (acrs_norm_phone(p->phone, q->phone) == -1)
		q->phone[0] = '\0';
	str_lcpy(q->ssn4, p->ssn4, sizeof(q->ssn4));
}

/* One typo away: one digit differs, two adjacent digits swapped, or day
 * and month swapped. */
static bool
acrs_match_dob_typo(int32_t a, int32_t b)
{
	char x[16], y[16];
	int diff = 0, first = -1, last = -1;

	if (a / 10000 == b / 10000 && a / 100 % 100 == b % 100 &&
	    a % 100 == b / 100 % 100)
		return true;
	/* One day apart (a slip across a digit boundary: 19 and 20). */
	if (acrs_norm_days(a) - acrs_norm_days(b) == 1 ||
	    acrs_norm_days(b) - acrs_norm_days(a) == 1)
		return true;
	str_fmt(x, sizeof(x), "%08d", (int)a);
	str_fmt(y, sizeof(y), "%08d", (int)b);
	for (int i = 0; i < 8; i++)
		if (x[i] != y[i]) {
			if (first == -1)
				first = i;
			last = i;
			diff++;
		}
	if (diff == 1)
		return true;
	return diff == 2 && last == first + 1 && x[first] == y[last] &&
	    x[last] == y[first];
}

/* A name clearly differs: not similar and not an initial. */
static bool
acrs_match_name_conflict(const char *a, const char *b, double jw)
{
	if (jw >= ACRS_CONFLICT_JW)
		return false;
	if ((a[1] == '\0' || b[1] == '\0') && a[0] == b[0])
		return false; /* an initial */
	return true;
}

double
acrs_match_score(const struct acrs_cand *q, const struct acrs_cand *c,
    double sim, bool *conflict_r)
{
	double score = 0.0, jf, jl, jfx, jlx;
	bool conflict = false;

	/* Birth date. */
	if (q->dob == 0 || c->dob == 0)
		score += ACRS_W_DOB / 2;
	else if (q->dob == c->dob)
		score += ACRS_W_DOB;
	else if (acrs_match_dob_typo(q->dob, c->dob))
		score += 0.0;
	else {
		score += ACRS_W_DOB_NO;
		conflict = true;
	}
	/* Names, straight and crosswise. */
	if (q->first[0] == '\0' || c->first[0] == '\0' || q->last[0] == '\0' ||
	    c->last[0] == '\0') {
		if (q->first[0] == '\0' || c->first[0] == '\0')
			score += ACRS_W_FIRST / 2;
		else
			score += acrs_norm_jw(q->first, c->first) >= sim ?
			    ACRS_W_FIRST : ACRS_W_FIRST_NO;
		if (q->last[0] == '\0' || c->last[0] == '\0')
			score += ACRS_W_LAST / 2;
		else
			score += acrs_norm_jw(q->last, c->last) >= sim ?
			    ACRS_W_LAST : ACRS_W_LAST_NO;
	} else {
		jf = acrs_norm_jw(q->first, c->first);
		jl = acrs_norm_jw(q->last, c->last);
		if (jf < sim || jl < sim) {
			jfx = acrs_norm_jw(q->first, c->last);
			jlx = acrs_norm_jw(q->last, c->first);
			if (jfx >= sim && jlx >= sim) {
				jf = jfx;
				jl = jlx;
			}
		}
		if (jf >= sim)
			score += ACRS_W_FIRST;
		else {
			score += ACRS_W_FIRST_NO;
			if (acrs_match_name_conflict(q->first, c->first, jf))
				conflict = true;
		}
		if (jl >= sim)
			score += ACRS_W_LAST;
		else {
			score += ACRS_W_LAST_NO;
			if (acrs_match_name_conflict(q->last, c->last, jl))
				conflict = true;
		}
	}
	/* Address. */
	if (q->street[0] == '\0' || c->street[0] == '\0')
		score += ACRS_W_ADDRESS / 2;
	else
		score += acrs_norm_jw(q->street, c->street) >= sim ?
		    ACRS_W_ADDRESS : ACRS_W_ADDRESS_NO;
	if (q->zip5[0] == '\0' || c->zip5[0] == '\0')
		score += ACRS_W_ZIP / 2;
	else
		score += strcmp(q->zip5, c->zip5) == 0 ? ACRS_W_ZIP :
		    ACRS_W_ZIP_NO;
	if (q->city[0] == '\0' || c->city[0] == '\0')
		score += ACRS_W_CITY / 2;
	else
		score += acrs_norm_jw(q->city, c->city) >= sim ? ACRS_W_CITY :
		    ACRS_W_CITY_NO;
	/* Sex: U is missing. */
	if (q->sex == 'U' || c->sex == 'U' || q->sex == 0 || c->sex == 0)
		score += ACRS_W_SEX / 2;
	else if (q->sex == c->sex)
		score += ACRS_W_SEX;
	else {
		score += ACRS_W_SEX_NO;
		if ((q->sex == 'M' && c->sex == 'F') ||
		    (q->sex == 'F' && c->sex == 'M'))
			conflict = true;
	}
	if (conflict_r != NULL)
		*conflict_r = conflict;
	return score;
}

bool
acrs_match_exact(const struct acrs_cand *q, const struct acrs_cand *c)
{
	return q->dob != 0 && q->dob == c->dob && q->sex == c->sex &&
	    q->first[0] != '\0' && strcmp(q->first, c->first) == 0 &&
	    q->last[0] != '\0' && strcmp(q->last, c->last) == 0;
}

struct acrs_matcher *
acrs_matcher_new(struct store *s, const struct acrs_settings *set)
{
	struct acrs_matcher *m = xcalloc(1, sizeof(*m));

	m->s = s;
	m->set = set;
	return m;
}

void
acrs_matcher_free(struct acrs_matcher **mp)
{
	struct acrs_matcher *m = *mp;

	if (m == NULL)
		return;
	*mp = NULL;
	free(m->ids);
	free(m->cands);
	free(m);
}

static void
acrs_match_add_hit(struct acrs_match_result *r, const struct acrs_hit *h)
{
	for (size_t i = 0; i < r->n_hits; i++)
		if (r->hits[i].patient == h->patient) {
			if (h->by_ident || h->score > r->hits[i].score)
				r->hits[i] = *h;
			return;
		}
	if (r->n_hits == 0 || (r->n_hits >= 4 &&
	    (r->n_hits & (r->n_hits - 1)) == 0))
		r->hits = xreallocarray(r->hits, r->n_hits ? r->n_hits * 2 : 4,
		    sizeof(*r->hits));
	r->hits[r->n_hits++] = *h;
}

static int
acrs_match_hit_cmp(const void *a, const void *b)
{
	const struct acrs_hit *x = a, *y = b;

	if (x->decision != y->decision)
		return x->decision > y->decision ? -1 : 1;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->patient < y->patient ? -1 : x->patient > y->patient;
}

/* Sorts the hits best first. acrs_match_hit_cmp is a total order (a
 * patient is hit once), so any sort gives this order; insertion when they
 * are few (the second sort finds them almost in order). */
static void
acrs_match_sort(struct acrs_match_result *r)
{
	if (r->n_hits > 64) {
		qsort(r->hits, r->n_hits, sizeof(*r->hits),
		    acrs_match_hit_cmp);
		return;
	}
	for (size_t i = 1; i < r->n_hits; i++) {
		struct acrs_hit h = r->hits[i];
		size_t j = i;

		while (j > 0 && acrs_match_hit_cmp(&r->hits[j - 1], &h) > 0) {
			r->hits[j] = r->hits[j - 1];
			j--;
		}
		r->hits[j] = h;
	}
}

/* One patient per submitter (hits sorted best first): a demographic
 * match below a better one of the same submitter becomes possible, and
 * the better one too when they are within ACRS_AMBIGUOUS. */
static void
acrs_match_exclusive(struct acrs_match_result *r)
{
	for (size_t i = 0; i < r->n_hits; i++) {
		struct acrs_hit *best = &r->hits[i];

		if (best->decision != ACRS_MATCH || best->by_ident)
			continue;
		for (size_t j = i + 1; j < r->n_hits; j++) {
			struct acrs_hit *h = &r->hits[j];

			if (h->decision != ACRS_MATCH || h->by_ident ||
			    h->submitter != best->submitter)
				continue;
			h->decision = ACRS_POSSIBLE;
			h->ambiguous = true;
			if (best->score - h->score < ACRS_AMBIGUOUS)
				best->ambiguous = true;
		}
		if (best->ambiguous)
			best->decision = ACRS_POSSIBLE;
	}
}

/* Only a candidate whose first or last name is near the query's (straight,
 * crosswise, or an initial) can become a match; the others are not read
 * further. */
static bool
acrs_match_keep(void *arg, const char *last, const char *first)
{
	const struct acrs_cand *q = arg;

	if (q->last[0] == '\0' || q->first[0] == '\0' || last[0] == '\0' ||
	    first[0] == '\0')
		return true;
	return !acrs_match_name_conflict(q->first, first,
	    acrs_norm_jw(q->first, first)) ||
	    !acrs_match_name_conflict(q->last, last,
	    acrs_norm_jw(q->last, last)) ||
	    !acrs_match_name_conflict(q->first, last,
	    acrs_norm_jw(q->first, last)) ||
	    !acrs_match_name_conflict(q->last, first,
	    acrs_norm_jw(q->last, first));
}

/* The DOB block with the names checked first (from the index, which
 * covers them, in index order up to max rows, at most ACRS_MATCH_DOB_KEPT
 * of them kept); the rows kept are read up to ACRS_MATCH_READ at a time (in
 * one statement: far fewer instructions than one each), and only
 * the columns that acrs_match_score() and acrs_match_exact() read (id,
 * submitter, names, DOB, sex, street, city, ZIP): the block is the large
 * one, and reading every kept row whole, one statement each, was most of
 * the matching time. The order of m->cands differs (row id order); the
 * hits are sorted on a total order before anything reads them. */
#define ACRS_MATCH_DOB_KEPT 256
#define ACRS_MATCH_READ 64

#define ACRS_MATCH_Q8 "?, ?, ?, ?, ?, ?, ?, ?"
#define ACRS_MATCH_Q16 ACRS_MATCH_Q8 ", " ACRS_MATCH_Q8
#define ACRS_MATCH_Q32 ACRS_MATCH_Q16 ", " ACRS_MATCH_Q16
#define ACRS_MATCH_Q64 ACRS_MATCH_Q32 ", " ACRS_MATCH_Q32
#define ACRS_MATCH_READ_SQL(q) \
    "SELECT p.id, s.name, p.last, p.first, p.dob, p.sex, p.street, p.city," \
    " p.zip5 FROM acrs_patient p JOIN acrs_submitter s ON s.id =" \
    " p.submitter WHERE p.id IN (" q ")"

/* By how many ids they take: the smallest that holds what is left. */
static const struct {
	size_t n;
	const char *sql;
} acrs_match_read_sql[] = {
	{8, ACRS_MATCH_READ_SQL(ACRS_MATCH_Q8)},
	{16, ACRS_MATCH_READ_SQL(ACRS_MATCH_Q16)},
	{32, ACRS_MATCH_READ_SQL(ACRS_MATCH_Q32)},
	{ACRS_MATCH_READ, ACRS_MATCH_READ_SQL(ACRS_MATCH_Q64)},
};

static int
acrs_match_read(struct acrs_matcher *m, const int64_t *ids, size_t n,
    struct err *e)
{
	struct store_stmt *st;
	size_t k = 0;
	int rc;

	assert(n <= ACRS_MATCH_READ);
	while (acrs_match_read_sql[k].n < n)
		k++;
	if ((st = store_prepare(m->s, acrs_match_read_sql[k].sql, e)) == NULL)
		return -1;
	for (size_t i = 0; i < acrs_match_read_sql[k].n; i++)
		store_bind_int(st, (int)i + 1, i < n ? ids[i] : -1);
	while ((rc = store_step(st, e)) == 1) {
		struct acrs_cand *c;
		const char *sex;

		if (m->n_cands == m->cap_cands) {
			m->cap_cands = m->cap_cands ? m->cap_cands * 2 : 64;
			m->cands = xreallocarray(m->cands, m->cap_cands,
			    sizeof(*m->cands));
		}
		c = &m->cands[m->n_cands++];
		memset(c, 0, sizeof(*c));
		c->id = store_col_int(st, 0);
		store_col_copy(st, 1, c->submitter, sizeof(c->submitter));
		store_col_copy(st, 2, c->last, sizeof(c->last));
		store_col_copy(st, 3, c->first, sizeof(c->first));
		c->dob = (int32_t)store_col_int(st, 4);
		sex = store_col_text(st, 5);
		c->sex = sex != NULL && sex[0] != '\0' ? sex[0] : 'U';
		store_col_copy(st, 6, c->street, sizeof(c->street));
		store_col_copy(st, 7, c->city, sizeof(c->city));
		store_col_copy(st, 8, c->zip5, sizeof(c->zip5));
	}
	store_stmt_done(st);
	return rc == -1 ? -1 : 0;
}

static int
acrs_match_block_dob(struct acrs_matcher *m, const struct acrs_cand *q,
    int max, struct err *e)
{
	struct store_stmt *st;
	int64_t ids[ACRS_MATCH_DOB_KEPT];
	size_t n = 0;
	int rc;

	if (q->dob == 0)
		return 0;
	st = store_prepare(m->s, "SELECT id, last, first FROM acrs_patient"
	    " INDEXED BY acrs_patient_dob WHERE dob = ? LIMIT ?", e);
	if (st == NULL)
		return -1;
	store_bind_int(st, 1, q->dob);
	store_bind_int(st, 2, max);
	while ((rc = store_step(st, e)) == 1) {
		const char *ln = store_col_text(st, 1);
		const char *fn = store_col_text(st, 2);

		if (n < ACRS_MATCH_DOB_KEPT && acrs_match_keep((void *)(
		    uintptr_t)q, ln != NULL ? ln : "", fn != NULL ? fn : ""))
			ids[n++] = store_col_int(st, 0);
	}
	store_stmt_done(st);
	if (rc == -1)
		return -1;
	for (size_t i = 0; i < n; i += ACRS_MATCH_READ)
		if (acrs_match_read(m, ids + i, n - i < ACRS_MATCH_READ ?
		    n - i : ACRS_MATCH_READ, e) == -1)
			return -1;
	return 0;
}

/* Candidates from the blocking keys into m->cands. */
static int
acrs_match_block(struct acrs_matcher *m, const struct acrs_cand *q,
    bool dob_only, struct err *e)
{
	int max = m->set->candidates_max;

	void *arg = (void *)(uintptr_t)q;

	m->n_cands = 0;

	if (dob_only)
		return acrs_store_block(m->s, ACRS_KEY_DOB, q->dob, max, NULL,
		    NULL, &m->cands, &m->n_cands, &m->cap_cands, e);
	if (acrs_match_block_dob(m, q, max, e) == -1)
		return -1;
	if (acrs_store_block(m->s, ACRS_KEY_NAME, acrs_norm_key_name(q->zip5,
	    q->last, q->first, q->sex), max, acrs_match_keep, arg, &m->cands,
	    &m->n_cands, &m->cap_cands, e) == -1 ||
	    acrs_store_block(m->s, ACRS_KEY_NAME, acrs_norm_key_name(q->zip5,
	    q->first, q->last, q->sex), max, acrs_match_keep, arg, &m->cands,
	    &m->n_cands, &m->cap_cands, e) == -1 ||
	    acrs_store_block(m->s, ACRS_KEY_PHONE, acrs_norm_key_phone(
	    q->phone, q->dob), max, acrs_match_keep, arg, &m->cands,
	    &m->n_cands, &m->cap_cands, e) == -1)
		return -1;
	return 0;
}

/* Whether one of the first n hits (the identifier hits) is submitter's. */
static bool
acrs_match_sub_seen(const struct acrs_match_result *r, size_t n,
    uint64_t submitter)
{
	for (size_t i = 0; i < n && i < r->n_hits; i++)
		if (r->hits[i].by_ident && r->hits[i].submitter == submitter)
			return true;
	return false;
}

int
acrs_match(struct acrs_matcher *m, const struct acrs_person *p,
    int32_t today, const char *event_ref, struct acrs_match_result *r,
    struct err *e)
{
	const struct acrs_settings *set = m->set;
	struct acrs_cand q;
	size_t n_ident = 0, n_ident_subs = 0, n_match = 0, n_possible = 0;
	int64_t n_subs = 0;

	memset(r, 0, sizeof(*r));
	acrs_match_normalize(p, &q);
	/* 1. Identifiers. */
	m->n_ids = 0;
	for (size_t i = 0; i < p->n_ids && i < ACRS_MATCH_IDS_MAX; i++) {
		char auth[ACRS_ID_MAX];

		str_lcpy(auth, p->ids[i].authority, sizeof(auth));
		for (char *t = auth; *t; t++)
			if (*t >= 'a' && *t <= 'z')
				*t -= 'a' - 'A';
		if (acrs_store_by_ident(m->s, p->ids[i].id, auth, &m->ids,
		    &m->n_ids, e) == -1)
			goto fail;
	}
	for (size_t i = 0; i < p->n_members && i < ACRS_MATCH_MEMBERS_MAX;
	    i++)
		if (acrs_store_by_member(m->s, p->members[i].member_id,
		    p->members[i].payer, &m->ids, &m->n_ids, e) == -1)
			goto fail;
	for (size_t i = 0; i < m->n_ids; i++) {
		struct acrs_hit h = {m->ids[i], 40.0, ACRS_MATCH, true, false,
		    false, 0};
		char sub[ACRS_TEXT_MAX];
		int rc = acrs_store_submitter_of(m->s, m->ids[i], sub,
		    sizeof(sub), e);

		if (rc == -1)
			goto fail;
		if (rc == 0)
			continue;
		h.submitter = acrs_norm_fnv(ACRS_FNV_INIT, sub, strlen(sub));
		acrs_match_add_hit(r, &h);
		if (!acrs_match_sub_seen(r, n_ident, h.submitter))
			n_ident_subs++;
		n_ident++;
	}
	/* 2. Otherwise demographics: for the submitters whose rows no
	 * identifier matched (a submitter's identifier match is its patient:
	 * a lookalike of its roster, a twin, is not added), and not at all
	 * when identifiers matched a row of every submitter. */
	if (n_ident_subs > 0 &&
	    acrs_store_submitter_count(m->s, &n_subs, e) == -1)
		goto fail;
	if (n_ident_subs > 0 && (int64_t)n_ident_subs >= n_subs)
		m->n_cands = 0;
	else if (acrs_match_block(m, &q, false, e) == -1)
		goto fail;
	for (size_t i = 0; i < m->n_cands; i++) {
		const struct acrs_cand *cp = &m->cands[i];
		struct acrs_hit h;

		r->candidates++;
		h.patient = cp->id;
		h.by_ident = false;
		h.ambiguous = false;
		h.submitter = acrs_norm_fnv(ACRS_FNV_INIT, cp->submitter,
		    strlen(cp->submitter));
		if (acrs_match_sub_seen(r, n_ident, h.submitter))
			continue;
		h.score = acrs_match_score(&q, cp, set->similarity,
		    &h.conflict);
		if (h.score >= set->match_threshold && !h.conflict)
			h.decision = ACRS_MATCH;
		else if (h.score >= set->possible_threshold)
			h.decision = ACRS_POSSIBLE;
		else
			continue;
		acrs_match_add_hit(r, &h);
	}
	if (r->n_hits > 1) {
		acrs_match_sort(r);
		acrs_match_exclusive(r);
		acrs_match_sort(r);
	}
	for (size_t i = 0; i < r->n_hits; i++) {
		const struct acrs_hit *h = &r->hits[i];

		if (h->decision == ACRS_MATCH) {
			n_match++;
			if (acrs_store_team(m->s, h->patient, today,
			    set->lookback_months, false, &r->team,
			    &r->n_team, e) == -1)
				goto fail;
		} else {
			n_possible++;
		}
		log_debug(event_ref, "acrs_candidate patient_ref=%lld "
		    "score=%.2f decision=%s method=%s conflict=%s "
		    "ambiguous=%s", (long long)h->patient, h->score,
		    acrs_match_decision_name(h->decision),
		    h->by_ident ? "identifier" : "demographics",
		    h->conflict ? "yes" : "no", h->ambiguous ? "yes" : "no");
	}
	if (r->n_hits > 0) {
		r->decision = r->hits[0].decision;
		r->best = r->hits[0].score;
	}
	log_info(event_ref, "acrs_match decision=%s score=%.2f method=%s "
	    "candidates=%zu matched=%zu possible=%zu team=%zu",
	    acrs_match_decision_name(r->decision), r->best,
	    n_ident > 0 ? "identifier" : "demographics", r->candidates,
	    n_match, n_possible, r->n_team);
	return 0;
fail:
	acrs_match_result_clear(r);
	return -1;
}

int
acrs_match_baseline(struct acrs_matcher *m, const struct acrs_person *p,
    struct acrs_match_result *r, struct err *e)
{
	struct acrs_cand q;

	memset(r, 0, sizeof(*r));
	acrs_match_normalize(p, &q);
	if (acrs_match_block(m, &q, true, e) == -1)
		return -1;
	for (size_t i = 0; i < m->n_cands; i++) {
		r->candidates++;
		if (acrs_match_exact(&q, &m->cands[i])) {
			struct acrs_hit h = {m->cands[i].id, 0.0, ACRS_MATCH,
			    false, false, false, 0};

			acrs_match_add_hit(r, &h);
		}
	}
	r->decision = r->n_hits > 0 ? ACRS_MATCH : ACRS_NONE;
	return 0;
}
