/* Planning and recording the notifications of one stored ADT.
 *
 * notify_plan_adt() runs on a worker with a read connection of its own: it
 * reads the ADT (adt/intake.h), applies the event policy
 * (adt/notify_policy.h), matches the patient (adt/acrs_match.h: possible
 * matches are held for review, never sent), takes the care team, routes
 * each member through the Health Directory (adt/directory.h), groups the
 * members by endpoint (one notification per recipient, carrying a ZNP for
 * each of its providers) and composes every notification
 * (adt/notify_compose.h). Retractions (A11/A12/A13) go to the recipients
 * recorded for the cancelled event of the same visit; A40 plans identity
 * links. Every decision becomes an audit record (codes, NPIs, scores, no
 * PHI).
 *
 * notify_plan_apply() runs inside a store_writer job (or any
 * transaction): each notification is inserted under the unique key
 * (visit, event, recipient), so a re-sent ADT or a retried job never
 * notifies anyone twice; a new Direct notification is queued in the same
 * transaction (hisp/queue.h queue_insert, QUEUE_OUT: sealed and delivered,
 * MDN-tracked like any submission); MLLP and digest notifications wait in
 * notify_sent for their senders; the ADT moves to 'done' (or 'failed'). */
#ifndef ADT_NOTIFY_PLAN_H
#define ADT_NOTIFY_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adt/acrs_match.h"
#include "adt/hl7.h"
#include "adt/notify_config.h"
#include "adt/notify_policy.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/store.h"

enum notify_kind {
	NOTIFY_KIND_DIRECT = 0,
	NOTIFY_KIND_MLLP,
	NOTIFY_KIND_DIGEST,
};
const char *notify_kind_name(enum notify_kind k);

#define NOTIFY_LIST_MAX 1024
/* How long a queued notification is tried: 5 days, like any queued
 * message. */
#define NOTIFY_EXPIRE_S 432000

struct notify_out {
	enum notify_kind kind;
	char recipient[256];          /* Direct address or host:port */
	char npis[NOTIFY_LIST_MAX];   /* "1234567893,..." */
	char patient_ids[NOTIFY_LIST_MAX]; /* the ZPD ids, ',' separated */
	char message_id[160];         /* Direct only */
	int64_t retracts;             /* notify_sent id cancelled, or 0 */
	int64_t fallback_of;          /* notify_sent id it replaces, or 0 */
	int64_t next_try;             /* ms: digest due time, MLLP now */
	struct buf body;              /* Direct: the message; else HL7 */
};

struct notify_audit_rec {
	char step[24];
	char npi[11];
	char recipient[256];
	char detail[256];
};

struct notify_review {
	int64_t patient;
	double score;
};

struct notify_link {
	char authority[ACRS_ID_MAX], ident[ACRS_ID_MAX];
	char submitter[ACRS_TEXT_MAX], patient_id[ACRS_ID_MAX];
};

struct notify_plan {
	int64_t adt;
	char control_id[128];       /* MSH-10, for logs */
	char event[4];
	char visit[NOTIFY_VISIT_MAX];
	char visit_digest[17];
	const char *state;          /* "done" or "failed" */
	char from[256];
	struct notify_out *outs;
	size_t n_outs;
	struct notify_audit_rec *audits;
	size_t n_audits;
	struct notify_review *reviews;
	size_t n_reviews;
	char review_ident[ACRS_ID_MAX], review_authority[ACRS_ID_MAX];
	struct notify_link *links;
	size_t n_links;
};

void notify_plan_free(struct notify_plan **pp);

/* Fills an acrs_person from PID (and IN1) of m. */
void notify_plan_person(const struct hl7_msg *m, struct acrs_person *p_r);

/* Plans ADT id. from is the notification sender (notify@domain). now_ms is
 * the time (ms since the epoch). 0 with *p_r set (also when the ADT could
 * not be parsed: state "failed"), -1 on a store error (TEMP: retry later)
 * or when there is no such ADT. */
int notify_plan_adt(struct store *s, struct acrs_matcher *mt,
    const struct notify_settings *set, const char *from, int64_t id,
    int64_t now_ms, struct notify_plan **p_r, struct err *e);

/* Whether ADT id is a retraction (planned after what it cancels was
 * recorded): the runner starts a new batch before it. */
bool notify_plan_is_retraction(const char *event);

struct notify_apply_stats {
	unsigned direct, mllp, digest, duplicates;
};

/* Records plan p inside the current transaction of s (a writer job).
 * expire_s is the lifetime of queued Direct messages. stats (may be NULL)
 * is added to. The ADT's state is left alone when p->state is NULL (a
 * fallback plan). 0 / -1 (e; the caller's savepoint rolls back). */
int notify_plan_apply(struct store *s, const struct notify_plan *p,
    int64_t now_ms, int64_t expire_s, struct notify_apply_stats *stats,
    struct err *e);

/* Appends an audit record outside a plan (MLLP and digest outcomes). */
int notify_plan_audit(struct store *s, int64_t adt, int64_t now_ms,
    const char *step, const char *npi, const char *recipient,
    const char *detail, struct err *e);

/* The Direct sender: from when not "", else the first address of kind
 * notify; either must have a signing certificate (its own or its
 * domain's) valid now. 1 found (dst), 0 none, -1 store error. Without
 * one, Direct notifications are recorded as failed (reason no_sender)
 * and the daemon warns; MLLP notifications go on. */
int notify_plan_sender(struct store *s, const char *from, char *dst,
    size_t size, struct err *e);

/* Synchronously plans and applies up to max received ADTs on s, in id
 * order, each in its own transaction (tests, bench, CLI). *n_r: how many
 * were processed. Direct messages are queued in s; nobody is kicked. */
int notify_run_pending(struct store *s, struct acrs_matcher *mt,
    const struct notify_settings *set, const char *from, int64_t now_ms,
    unsigned max, unsigned *n_r, struct notify_apply_stats *stats,
    struct err *e);

/* Up to max ids of ADTs in state 'received', ascending, into ids (caller's
 * array). *n_r counts. 0 / -1. */
int notify_plan_pending(struct store *s, int64_t after, unsigned max,
    int64_t *ids, unsigned *n_r, char (*events)[4], struct err *e);

#endif
