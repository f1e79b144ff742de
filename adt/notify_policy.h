/* The notification agent's event policy (shared/specs/hl7-adt.md, "Events
 * and what the notification agent does with them"), sans-I/O: a parsed ADT
 * in, a decision out. No store, no clock.
 *
 *   A01 A02 A03 A06 A07     notify
 *   A04                     notify when PV1-2 = E, else subscribers only
 *   A08 A09 A10             subscribers only (a preference naming the event)
 *   A11 A12 A13             retract: the same recipients that were sent
 *                           A01 / A02 / A03 for the visit get the cancel
 *   A40                     merge identities; never fanned out
 *   A05 A28 A31 and others  no notification
 *   MSH-11 T or D           test traffic: never to production recipients
 *
 * Sensitive events (what restricted consent withholds): a DG1 diagnosis in
 * ICD-10 chapter F (mental and behavioural disorders, F01-F99, including
 * substance use), a PV1-10 hospital service of PSY, BH, BHS, MH or SUB, or
 * a sending facility (MSH-4.1) or assigned location facility (PV1-3.4.1)
 * listed as sensitive in [notify] sensitive_facilities. A care-team member
 * whose relationship carries consent=restricted gets no notification of a
 * sensitive event (the decision is audited as consent_restricted); every
 * other member is unaffected. */
#ifndef ADT_NOTIFY_POLICY_H
#define ADT_NOTIFY_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "adt/hl7.h"

enum notify_action {
	NOTIFY_SEND = 0,      /* to every routed care-team member */
	NOTIFY_SUBSCRIBED,    /* only to members whose preference names it */
	NOTIFY_RETRACT,       /* cancel what was sent for the visit */
	NOTIFY_MERGE,         /* identity maintenance only */
	NOTIFY_IGNORE,        /* no notification (state only) */
};
const char *notify_action_name(enum notify_action a);

#define NOTIFY_VISIT_MAX 512

struct notify_policy {
	enum notify_action action;
	char event[4];           /* "A01" */
	char cancels[4];         /* for RETRACT: the event it cancels */
	char patient_class;      /* PV1-2, '\0' when absent */
	bool test;               /* MSH-11 T or D */
	bool sensitive;
	const char *sensitive_why; /* "diagnosis", "service", "facility" */
	const char *reason;      /* a code for the audit trail */
	/* The visit key: MSH-4.1 and PV1-19.1, or MSH-4.1, the first PID-3.1
	 * and PV1-44 when there is no visit number. Raw values; a digest of
	 * it is what the logs show. */
	char visit[NOTIFY_VISIT_MAX];
};

/* Decides for message m. sensitive_facilities is a list separated by
 * commas or spaces (NULL or "" for none). Never fails: an unparsable
 * event is NOTIFY_IGNORE with reason "unknown_event". */
void notify_policy_decide(const struct hl7_msg *m,
    const char *sensitive_facilities, struct notify_policy *p_r);

/* The unescaped value at path as text (NUL-terminated, truncated to
 * size); "" when absent or empty. 1 when the value is non-empty, else 0. */
int notify_policy_field(const struct hl7_msg *m, const char *path, char *dst,
    size_t size);

/* Whether a word list (commas or spaces) contains word (case-insensitive). */
bool notify_policy_list_has(const char *list, const char *word);

/* A short stable digest of text (64-bit FNV-1a, 16 hex digits): what logs
 * show instead of a visit key. */
void notify_policy_digest(const char *text, char dst[17]);

#endif
