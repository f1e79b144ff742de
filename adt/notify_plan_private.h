/* What the fallback planner (adt/notify_fallback.c) shares with the
 * planner: grouping notifications by recipient, composing them, and
 * adding audit records. */
#ifndef ADT_NOTIFY_PLAN_PRIVATE_H
#define ADT_NOTIFY_PLAN_PRIVATE_H

#include <stdarg.h>

#include "adt/directory.h"
#include "adt/notify_plan.h"

/* The notification of p (among p->outs[first..]) for target t: an existing
 * one of the same kind and address, or a new one (body empty, next_try
 * set: now, or the target's next digest time). Borrowed from p. */
struct notify_out *notify_plan_group(struct notify_plan *p, size_t first,
    const struct directory_target *t, int64_t now_ms);

/* Composes o's body from ADT m (raw bytes raw, n): the enriched HL7 (ZNP
 * for o->npis, ZPD for o->patient_ids), and for a Direct notification the
 * whole message from p->from with a new Message-ID. 0 / -1 (e). */
int notify_plan_compose(struct notify_plan *p, struct notify_out *o,
    const struct hl7_msg *m, const void *raw, size_t n,
    const struct notify_settings *set, int retraction, int test,
    int64_t now_ms, struct err *e);

/* Appends word to the ',' list (size bytes) unless it is empty, already
 * there, or would not fit. */
void notify_plan_list_add(char *list, size_t size, const char *word);

/* Adds an audit record to p: step, the member's NPI and the recipient
 * (either may be NULL), and a detail formatted from fmt (codes and ids
 * only, never PHI). */
void notify_plan_note(struct notify_plan *p, const char *step,
    const char *npi, const char *recipient, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
