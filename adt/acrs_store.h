/* The ACRS in the store (migration 4, "adt: acrs"): submitters, their
 * patients (normalized, with blocking keys), relationships, identity links
 * and the review queue of possible matches.
 *
 * An import is ONE transaction: acrs_store_import_begin() opens it (and in
 * replace mode deletes the submitter's previous roster inside it), rows go
 * in with acrs_store_import_add(), acrs_store_import_commit() makes it
 * durable; acrs_store_import_abort() (or a crash, or a failed commit) leaves
 * the previous roster exactly as it was. A replace that rewrites most of
 * the table drops the secondary indexes first and rebuilds them before the
 * commit (sorting once is much faster than updating them row by row). */
#ifndef ADT_ACRS_STORE_H
#define ADT_ACRS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adt/acrs_file.h"
#include "core/err.h"
#include "core/store.h"

/* The active rule: ended (end_date <= today) or not yet started
 * (start_date > today) relationships are inactive; a payer is active while
 * the member is eligible (not ended); a provider is active when seen on or
 * after cutoff (today minus the lookback), or when the relationship is
 * current (a start_date and no end_date: the provider's active population).
 * Dates are YYYYMMDD, 0 for none. */
bool acrs_store_active(int rel, int32_t last_seen, int32_t start_date,
    int32_t end_date, int32_t today, int32_t cutoff);

enum acrs_mode {
	ACRS_MODE_REPLACE,
	ACRS_MODE_DELTA,
};

struct acrs_import_opts {
	const char *submitter;  /* borrowed for the call */
	enum acrs_mode mode;
	int64_t cache_bytes;    /* page cache for the import; 0: unchanged */
};

struct acrs_import;

/* Begins the transaction on s (which must not be in one). On error nothing
 * changed and *im_r is NULL. */
int acrs_store_import_begin(struct store *s, const struct acrs_import_opts *o,
    struct acrs_import **im_r, struct err *e);
/* Adds one good row (acrs_file_next). On error the caller aborts. */
int acrs_store_import_add(struct acrs_import *im, const struct acrs_rec *r,
    struct err *e);
/* Rebuilds dropped indexes, records the submitter's counts and commits;
 * frees im whatever happens. On error everything is rolled back (the
 * previous roster stands). */
int acrs_store_import_commit(struct acrs_import **imp,
    const struct acrs_file_stats *fs, struct err *e);
/* Rolls back and frees. Accepts NULL. */
void acrs_store_import_abort(struct acrs_import **imp);

/* A stored patient, as the matcher reads it. */
struct acrs_cand {
	int64_t id;   /* row id: an internal reference, safe to log */
	char submitter[ACRS_TEXT_MAX];
	char patient_id[ACRS_ID_MAX];
	char id_type[4];
	char authority[ACRS_ID_MAX];
	char last[ACRS_NAME_MAX];
	char first[ACRS_NAME_MAX];
	char middle[ACRS_NAME_MAX];
	char suffix[ACRS_SUFFIX_MAX];
	int32_t dob;
	char sex;
	char street[ACRS_STREET_MAX];
	char city[ACRS_NAME_MAX];
	char state[3];
	char zip5[6];
	char phone[11];
	char ssn4[5];
};

/* Patients whose identifier matches: (patient_id, authority) on the row or
 * through a confirmed link. Appends row ids to *ids_r (grown with
 * xreallocarray; *n_r counts). 0 / -1. */
int acrs_store_by_ident(struct store *s, const char *ident,
    const char *authority, int64_t **ids_r, size_t *n_r, struct err *e);
/* Payer member ids: rows of type MB with this patient_id whose authority
 * (or, when it is empty, the submitter) is payer. */
int acrs_store_by_member(struct store *s, const char *member_id,
    const char *payer, int64_t **ids_r, size_t *n_r, struct err *e);
/* Blocking: row ids with this dob / k_name / k_phone (a key of 0 finds
 * nothing), at most max each. */
int acrs_store_by_key(struct store *s, int which, int64_t key, int max,
    int64_t **ids_r, size_t *n_r, struct err *e);
#define ACRS_KEY_DOB 0
#define ACRS_KEY_NAME 1
#define ACRS_KEY_PHONE 2
/* Blocking with the rows: appends the patients with this dob / k_name /
 * k_phone (at most max; a key of 0 finds nothing) to *c_r (grown; *n_r
 * counts, *cap_r is its capacity), skipping ids already there and, when
 * keep is not NULL, rows it refuses by their names (before the rest of the
 * row is read). 0 / -1. */
typedef bool acrs_store_keep_fn(void *arg, const char *last,
    const char *first);
int acrs_store_block(struct store *s, int which, int64_t key, int max,
    acrs_store_keep_fn *keep, void *arg, struct acrs_cand **c_r, size_t *n_r,
    size_t *cap_r, struct err *e);
/* The submitter of patient row id, into name (size bytes): 1, 0 when
 * there is no such row, -1 (e). */
int acrs_store_submitter_of(struct store *s, int64_t id, char *name,
    size_t size, struct err *e);
/* How many submitters have patients: 0 / -1 (e). */
int acrs_store_submitter_count(struct store *s, int64_t *n_r,
    struct err *e);
int acrs_store_cand(struct store *s, int64_t id, struct acrs_cand *c_r,
    struct err *e);

/* A member of the care team. */
struct acrs_member {
	int64_t patient;              /* row id of the matched patient */
	char npi[11];
	int rel;                      /* enum acrs_rel */
	char provider_name[ACRS_TEXT_MAX];
	char organization[ACRS_TEXT_MAX];
	char submitter[ACRS_TEXT_MAX];
	char patient_id[ACRS_ID_MAX]; /* the submitter's id (for ZPD) */
	char id_type[4];
	int32_t last_seen, start_date, end_date;
	bool restricted;              /* consent: no sensitive events */
	bool active;
};

/* Appends the relationships of patient id to *m_r (grown; *n_r counts),
 * only the active ones unless all. 0 / -1. */
int acrs_store_team(struct store *s, int64_t id, int32_t today,
    int lookback_months, bool all, struct acrs_member **m_r, size_t *n_r,
    struct err *e);

/* Counts for `acrs stats`. */
struct acrs_store_stats {
	int64_t submitters, patients, relationships, active;
	int64_t restricted, review_pending, links;
};
int acrs_store_stats(struct store *s, int32_t today, int lookback_months,
    struct acrs_store_stats *st_r, struct err *e);

/* One submitter's line; fn is called for each (in name order). */
struct acrs_store_sub {
	const char *name;
	int64_t imported; /* Unix time */
	const char *mode;
	int64_t patients, relationships, bad_rows;
};
typedef void acrs_store_sub_fn(void *arg, const struct acrs_store_sub *sub);
int acrs_store_submitters(struct store *s, acrs_store_sub_fn *fn, void *arg,
    struct err *e);

/* Review queue. add: a possible match of an ADT (event_ref, and its first
 * identifier when it has one: ident/authority may be NULL) to patient id
 * with its score; *review_id_r may be NULL. */
int acrs_store_review_add(struct store *s, const char *event_ref,
    const char *ident, const char *authority, int64_t patient, double score,
    int64_t *review_id_r, struct err *e);
struct acrs_review_item {
	int64_t id;
	int64_t created;
	const char *event_ref, *ident, *authority, *submitter, *patient_id;
	const char *state;
	double score;
};
typedef void acrs_review_fn(void *arg, const struct acrs_review_item *it);
/* Lists items in id order; state NULL for every state. */
int acrs_store_review_list(struct store *s, const char *state,
    acrs_review_fn *fn, void *arg, struct err *e);
/* Accept (links the ADT's identifier to the patient so that the next ADT
 * matches by identifier) or reject a pending item. ERR_PERM when there is
 * no pending item with that id. */
int acrs_store_review_decide(struct store *s, int64_t id, bool accept,
    struct err *e);

#endif
