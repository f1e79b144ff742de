/* Fallback to the next-ranked endpoint after a delivery failure (issue 8:
 * "for each member the best-ranked active endpoint whose preference
 * admits the event"; adt/directory.h: targets[1] is the fallback when
 * delivery to targets[0] fails, and so on).
 *
 * When a notification fails for good, its notify_sent row becomes state
 * 'failed' with fallback 'due', in the transaction that records the
 * failure (migration 11): a Direct notification the queue gave up on
 * (5xx, expiry, no certificate for the recipient), or whose tracking
 * ended failed (failed MDN, DSN) or timed_out (no MDN in time); an MLLP
 * notification answered AE, or whose retries ran out.
 *
 * For each due row, every care-team member it was sent for (its NPIs) is
 * routed again through the Health Directory with the same event and
 * patient class, and gets the best target not yet tried for this (visit,
 * event): one that has no notify_sent row of its own. Members whose next
 * targets coincide share one notification, as in the planner. The new
 * notifications point back with fallback_of, are composed afresh (a new
 * Message-ID) and recorded like any other (queued for the HISP, or
 * pending for the MLLP client); the failed row's fallback becomes 'done',
 * or 'exhausted' when no member has a further target (nothing is sent).
 * Both happen in one transaction that first checks the row is still
 * 'due': a fallback is sent at most once per failed notification, and a
 * crash at any moment loses none. A fallback that fails in turn falls
 * back to the target after it.
 *
 * Audit records (adt trace): "failed" (the notification, its kind and
 * cause), then per member "fallback" (to which endpoint and rank) and
 * "routed", or "exhausted"; then "queued" as usual. Codes, ids and NPIs
 * only, never PHI. */
#ifndef ADT_NOTIFY_FALLBACK_H
#define ADT_NOTIFY_FALLBACK_H

#include <stddef.h>
#include <stdint.h>

#include "adt/directory.h"
#include "adt/notify_config.h"
#include "adt/notify_plan.h"
#include "core/err.h"
#include "core/loop.h"
#include "core/store.h"

struct hisp;
struct notify_mllp_client;

/* The index into r->targets of the best target whose address is not in
 * tried (ntried addresses, compared without case), or -1 when there is
 * none. */
int notify_fallback_pick(const struct directory_route *r,
    const char *const *tried, size_t ntried);

/* Up to max ids of notifications due for a fallback, ascending, into ids
 * (the caller's array); *n_r counts. 0 / -1 (e). */
int notify_fallback_due(struct store *s, unsigned max, int64_t *ids,
    unsigned *n_r, struct err *e);

struct notify_fallback_plan {
	int64_t failed;           /* the failed notification (notify_sent) */
	const char *outcome;      /* "done" or "exhausted" (static) */
	struct notify_plan *plan; /* audits and notifications; state NULL */
};

/* Plans the fallback of notification failed on s (a read connection of
 * the caller's); from is the Direct sender ("" when there is none: Direct
 * fallbacks are then recorded failed, reason no_sender). 0 with *p_r set,
 * or NULL when the row is not (or no longer) due; -1 on a store error
 * (TEMP: try again later). The caller frees *p_r. */
int notify_fallback_plan(struct store *s, const struct notify_settings *set,
    const char *from, int64_t failed, int64_t now_ms,
    struct notify_fallback_plan **p_r, struct err *e);
/* Accepts NULL; clears *pp. */
void notify_fallback_plan_free(struct notify_fallback_plan **pp);

/* Records p inside the current transaction of s (a writer job): marks the
 * failed row, then records the plan (adt/notify_plan.h
 * notify_plan_apply). Nothing is recorded, and 0 returned, when the row
 * is no longer due (its fallback was recorded already). stats (may be
 * NULL) is added to. 0 / -1 (e; the caller rolls back). */
int notify_fallback_apply(struct store *s,
    const struct notify_fallback_plan *p, int64_t now_ms, int64_t expire_s,
    struct notify_apply_stats *stats, struct err *e);

/* Synchronously plans and records up to max due fallbacks on s, each in
 * its own transaction (tests, CLI). *n_r: how many were recorded. Direct
 * messages are queued in s; nobody is kicked. 0 / -1 (e). */
int notify_fallback_run(struct store *s, const struct notify_settings *set,
    const char *from, int64_t now_ms, unsigned max, unsigned *n_r,
    struct notify_apply_stats *stats, struct err *e);

/* The daemon's side: every [notify] poll a worker with a read connection
 * of its own plans the due fallbacks, one writer job records them, and
 * the HISP's queue runner (hisp may be NULL) and the MLLP client (mc may
 * be NULL) are kicked when something was queued for them. Created on the
 * loop thread before loop_run; set and store_path are copied, hisp and mc
 * borrowed (they outlive it). Registers a stop hook. */
struct notify_fallback;
struct notify_fallback *notify_fallback_new(struct loop *l,
    struct store_writer *w, const char *store_path,
    const struct notify_settings *set, int64_t expire_s, struct hisp *hisp,
    struct notify_mllp_client *mc);
/* After loop_free. Accepts NULL; clears *fp. */
void notify_fallback_free(struct notify_fallback **fp);

#endif
