/* Patient matching: an ADT's patient (filled from PID and IN1 by the
 * notification agent) against the ACRS, as the digest says:
 *
 * 1. identifiers: a PID-3 identifier whose assigning authority and value
 *    equal a row's (or a link confirmed by review), or an IN1 member id of
 *    a payer, is a match by identifier;
 * 2. otherwise demographics, normalized (adt/acrs_norm.h), candidates from
 *    three blocking keys only (DOB; ZIP5 + 4 letters of last and first name
 *    + sex, also with the names swapped; phone last 4 + DOB), scored with
 *    Fellegi-Sunter log-odds weights and Jaro-Winkler similarity.
 *    "Otherwise" per submitter: a submitter with a row matched by
 *    identifier has that patient, and its other rows are not candidates;
 *    the other submitters' rows are still found by demographics, and when
 *    identifiers matched a row of every submitter none are read.
 *
 * Scoring, per field (weights from CDC RecordLinker's tuned values): birth
 * date 10.1, address 8.4, first name 6.8, last name 6.4, ZIP 5.0, city 2.4,
 * sex 0.75. A field that agrees (names, street and city: Jaro-Winkler at or
 * above the similarity setting; DOB, ZIP, sex: equal) adds its weight; a
 * missing field (either side) adds half; a disagreeing one adds its
 * disagreement weight log2((1-m)/(1-u)) (ACRS_W_*_NO below). First and last
 * name agreeing crosswise (swapped) count as agreeing. Some disagreements
 * are conflicts, not just low scores: a clearly different first or last
 * name (Jaro-Winkler under ACRS_CONFLICT_JW, not an initial: twins and
 * namesakes share everything else), a birth date that is not one typo away
 * (a digit, two adjacent digits swapped, day and month swapped, one day
 * apart) and M against F. A conflict keeps a candidate from being a match
 * whatever its score: at most a possible match, for review.
 *
 * A candidate whose first and last names both clearly differ from the
 * query's (straight and crosswise) is dropped before scoring: whatever
 * else agrees, it could only be a possible match of another person.
 *
 * Decision per candidate: score >= match threshold (and no conflict):
 * match; >= possible threshold: possible (held for review, never sent);
 * else none. A submitter's file holds a patient once, so when several of
 * one submitter's patients match by demographics only the best stays a
 * match, and none does when the runner-up is within ACRS_AMBIGUOUS of it
 * (twins with similar names): the others become possible matches. Every
 * decision is logged with its score and no PHI (internal
 * row ids, counts, scores). */
#ifndef ADT_ACRS_MATCH_H
#define ADT_ACRS_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adt/acrs_config.h"
#include "adt/acrs_store.h"
#include "core/err.h"
#include "core/store.h"

#define ACRS_W_DOB 10.1
#define ACRS_W_ADDRESS 8.4
#define ACRS_W_FIRST 6.8
#define ACRS_W_LAST 6.4
#define ACRS_W_ZIP 5.0
#define ACRS_W_CITY 2.4
#define ACRS_W_SEX 0.75
/* Disagreement weights, from assumed m-probabilities (dob 0.97, address
 * 0.80, names 0.95, zip 0.85, city 0.85, sex 0.98). */
#define ACRS_W_DOB_NO (-5.0)
#define ACRS_W_ADDRESS_NO (-2.3)
#define ACRS_W_FIRST_NO (-4.3)
#define ACRS_W_LAST_NO (-4.3)
#define ACRS_W_ZIP_NO (-2.7)
#define ACRS_W_CITY_NO (-2.7)
#define ACRS_W_SEX_NO (-2.0)

/* Score distance under which two of a submitter's patients are too close
 * to tell apart. */
#define ACRS_AMBIGUOUS 3.0
/* Names less similar than this are a conflict. */
#define ACRS_CONFLICT_JW 0.80

#define ACRS_MATCH_IDS_MAX 8
#define ACRS_MATCH_MEMBERS_MAX 4

/* The patient of an ADT, as raw text (UTF-8, HL7 escapes decoded), filled
 * by the caller from PID-3 (identifiers), PID-5, PID-7, PID-8, PID-11,
 * PID-13, PID-19 and IN1 (payer id, member id). Empty strings for what the
 * message does not carry. */
struct acrs_person {
	struct {
		char id[ACRS_ID_MAX];
		char authority[ACRS_ID_MAX]; /* PID-3.4 (namespace id) */
		char type[8];                /* PID-3.5 */
	} ids[ACRS_MATCH_IDS_MAX];
	size_t n_ids;
	struct {
		char member_id[ACRS_ID_MAX];
		char payer[ACRS_ID_MAX];     /* the payer's identifier */
	} members[ACRS_MATCH_MEMBERS_MAX];
	size_t n_members;
	char last[128], first[128], middle[128], suffix[32];
	char dob[32];          /* HL7 TS (YYYYMMDD...) or YYYY-MM-DD */
	char sex[16];
	char address1[256], address2[256], city[128], state[16], zip[16];
	char phone[32];
	char ssn4[8];
};

enum acrs_decision {
	ACRS_NONE = 0,
	ACRS_POSSIBLE,
	ACRS_MATCH,
};
const char *acrs_match_decision_name(enum acrs_decision d);

/* One scored candidate. */
struct acrs_hit {
	int64_t patient;          /* row id (safe to log) */
	double score;
	enum acrs_decision decision;
	bool by_ident;            /* matched by identifier */
	bool conflict;            /* a name, DOB or sex conflict */
	bool ambiguous;           /* another of the submitter's patients
	                           * scored as well */
	uint64_t submitter;       /* digest of the submitter's name */
};

struct acrs_match_result {
	enum acrs_decision decision; /* the best over the candidates */
	double best;                 /* the best score (40 by identifier) */
	size_t candidates;           /* scored */
	struct acrs_hit *hits;       /* matches first, then possibles */
	size_t n_hits;
	struct acrs_member *team;    /* active members of matched patients */
	size_t n_team;
};
/* Frees the arrays and zeroes r. */
void acrs_match_result_clear(struct acrs_match_result *r);

/* Normalizes a person into the stored form (no id, no submitter). */
void acrs_match_normalize(const struct acrs_person *p, struct acrs_cand *q_r);
/* Scores candidate c against query q (both normalized); sim is the
 * Jaro-Winkler agreement level. *conflict_r (may be NULL) tells whether a
 * first-name or birth-date conflict was found. */
double acrs_match_score(const struct acrs_cand *q, const struct acrs_cand *c,
    double sim, bool *conflict_r);
/* The baseline: exact equality of normalized first name, last name, DOB
 * and sex. */
bool acrs_match_exact(const struct acrs_cand *q, const struct acrs_cand *c);

struct acrs_matcher;

/* s and set are borrowed for the matcher's life. */
struct acrs_matcher *acrs_matcher_new(struct store *s,
    const struct acrs_settings *set);
void acrs_matcher_free(struct acrs_matcher **mp);

/* Matches p: fills r (clear it with acrs_match_result_clear), team with
 * the active members of every matched patient. event_ref (an id such as
 * MSH-10, may be NULL) goes into the log line. today is YYYYMMDD. Possible
 * matches are NOT put in the review queue here (the caller decides:
 * acrs_store_review_add). 0 / -1 (store error). */
int acrs_match(struct acrs_matcher *m, const struct acrs_person *p,
    int32_t today, const char *event_ref, struct acrs_match_result *r,
    struct err *e);
/* The baseline on the same candidates (DOB block): matched row ids in r
 * (hits only, no team). */
int acrs_match_baseline(struct acrs_matcher *m, const struct acrs_person *p,
    struct acrs_match_result *r, struct err *e);

#endif
