/* Composition of notifications, sans-I/O (bytes in, bytes out; time and
 * identifiers passed in):
 *
 * - the receiver's copy of the ADT, enriched with the MiHIN Z-segments of
 *   the seed guide (shared/seeds/001_cc9cfefdeb894960.txt, 2.3.2):
 *   ZNP|ACRSNPI|<npi> per care-team provider matched for this receiver,
 *   ZPD|PATIENTID|<the receiver's patient id from its ACRS file> per id,
 *   ZCK|CKS|<common key> and ZPR|<set id>|<type>|<category>|<value>|<date>|
 *   <description>|<oid>|<expiration> per risk score when such data exists;
 *   which of them are written is a list ([notify] zsegments); values are
 *   escaped with the message's own delimiters;
 * - the readable summary (text/plain): patient, birth date, event in
 *   words, facility, location, time, treating practitioner, reason,
 *   disposition: what a person in a small practice reads first;
 * - the Direct message (DirectTrust Event Notifications via the Direct
 *   Standard): multipart/mixed with the summary and the HL7 message as a
 *   text/hl7v2 attachment, Disposition-Notification-To and
 *   Disposition-Notification-Options: X-DIRECT-FINAL-DESTINATION-DELIVERY=
 *   optional,true;
 * - the daily digest: one message listing the day's events, each HL7
 *   message attached.
 *
 * The Subject never carries PHI ("ADT notification: Admission"). */
#ifndef ADT_NOTIFY_COMPOSE_H
#define ADT_NOTIFY_COMPOSE_H

#include <stddef.h>
#include <stdint.h>

#include "adt/hl7.h"
#include "core/buf.h"
#include "core/err.h"

/* Enrichment data for one receiver. Strings borrowed. */
struct notify_risk {
	const char *type, *category, *value, *date, *description, *oid,
	    *expiration;
};

struct notify_enrich {
	const char *const *npis;        /* ZNP, one each */
	size_t n_npis;
	const char *const *patient_ids; /* ZPD, one each */
	size_t n_patient_ids;
	const char *common_key;         /* ZCK when not NULL/"" */
	const struct notify_risk *risks; /* ZPR, one each */
	size_t n_risks;
	const char *zsegments;          /* "ZNP,ZPD,ZCK,ZPR"; NULL: all */
};

/* Appends the enriched message (segments ending in CR) for raw (a whole
 * message, as stored) to out. -1 (PERM) when raw does not parse or a limit
 * is reached. */
int notify_compose_enrich(const void *raw, size_t n,
    const struct notify_enrich *z, struct buf *out, struct err *e);

/* The event in words ("Admission", "Discharge"...); "ADT event" when
 * unknown. */
const char *notify_compose_event_words(const char *event);

/* Appends the readable summary of m (UTF-8 text, CRLF line ends) to out.
 * retraction: this cancels an earlier notification. test: test traffic. */
int notify_compose_summary(const struct hl7_msg *m, const char *event,
    int retraction, int test, struct buf *out);

struct notify_direct {
	const char *from;         /* notify@domain */
	const char *to;
	const char *message_id;   /* "<...@domain>" */
	int64_t now;              /* Unix time, for the Date field */
	const char *event;        /* "A01": the Subject */
	const void *summary;      /* text/plain, CRLF line ends */
	size_t summary_len;
	const void *const *hl7;   /* attachments (text/hl7v2), one or more */
	const size_t *hl7_len;
	size_t n_hl7;
	int digest;               /* 1: a daily digest */
};

/* Appends the whole RFC 5322 message (CRLF line ends) to out. -1 when
 * out's limit is reached. */
int notify_compose_direct(const struct notify_direct *d, struct buf *out,
    struct err *e);

/* A fresh Message-ID "<notify.RANDOM@domain>" into dst. */
void notify_compose_message_id(const char *domain, char *dst, size_t size);

#endif
