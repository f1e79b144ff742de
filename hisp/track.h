/* Delivery tracking on the sending side: every (message, recipient) sent
 * to another HISP is tracked in the store until its outcome is known:
 *
 *   sent --processed MDN--> processed --dispatched MDN--> dispatched
 *     |                        |   (when final delivery was requested)
 *     +--failed MDN or DSN---> failed
 *     +--no MDN in time------> timed_out (the sender gets one DSN)
 *
 * Exactly one final outcome reaches the sender: reports are recorded as
 * events, and forwarded to the sender's mailbox only when they move the
 * state; duplicates and reports after a final state are suppressed. The
 * deadlines live in the store, so a restarted daemon keeps them. */
#ifndef HISP_TRACK_H
#define HISP_TRACK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/loop.h"
#include "core/store.h"
#include "hisp/mdn.h"

struct queue_runner;

struct track_opts {
	int64_t processed_timeout_s;
	int64_t dispatched_timeout_s;
};

/* In a store job: rcpt of message_id was accepted by the next hop. */
int track_sent(struct store *s, const char *message_id, const char *rcpt,
    const char *sender, const char *queue_id, bool final_requested,
    int64_t now, const struct track_opts *o, struct err *e);

enum track_verdict {
	TRACK_FORWARD,  /* news for the sender: deliver the report */
	TRACK_SUPPRESS, /* a duplicate or late report: recorded only */
	TRACK_UNKNOWN,  /* no such tracked message: logged and dropped */
	TRACK_REJECTED, /* from someone who may not report on that recipient:
	                   logged and dropped, tracking unchanged */
};
const char *track_verdict_name(enum track_verdict v);

/* Whether the report's sender may speak for r->final_recipient. from is
 * the report message's From as the security agent checked it against the
 * signer's certificate. An MDN comes from the recipient itself (the
 * receiving HISP writes the recipient as its From): from must be
 * r->final_recipient. A DSN comes from the recipient's mail system
 * (mailer-daemon, postmaster, or the recipient): from must be in the
 * recipient's domain. Case-insensitive; false for NULL or empty. */
bool track_sender_may_report(const struct mdn_report *r, const char *from);

/* In a store job: a report arrived in queue message report_qid, from
 * report_from (the checked From of the report; borrowed). A report about
 * a tracked (message, recipient) whose sender may not report on that
 * recipient (track_sender_may_report) gets TRACK_REJECTED and changes
 * nothing, so another trusted HISP cannot settle a message it never
 * received. A retry of the same report message gets the verdict it got
 * before. -1 with e on a store error (*v_r TRACK_UNKNOWN). */
int track_apply(struct store *s, const struct mdn_report *r,
    const char *report_from, const char *report_qid, int64_t now,
    const struct track_opts *o, enum track_verdict *v_r, struct err *e);

/* In a store job: every overdue (message, recipient) becomes timed_out
 * and its sender is sent one failure DSN (queued here). *n_r: how many. */
int track_expire(struct store *s, int64_t now, const char *hostname,
    int *n_r, struct err *e);

/* The timer that runs track_expire through the writer every interval. */
struct track_timer;
struct track_timer *track_timer_start(struct loop *l,
    struct store_writer *w, struct queue_runner *r, const char *hostname,
    int64_t interval_ms);
/* After the loop ended. Accepts NULL. */
void track_timer_free(struct track_timer **tp);

#endif
