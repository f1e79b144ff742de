/* Local delivery: the queue handlers for messages to local recipients.
 *
 * QUEUE_IN (from another HISP): for each recipient, the security agent
 * opens the message with the recipient's keys and the receiving domain's
 * incoming anchors (decrypt, verify, validate, binding, tamper check);
 * a trusted message goes to the recipient: a mailbox's Maildir, or the
 * hook of a service address (the ADT intake). An untrusted one is not
 * delivered, and the reason is logged. QUEUE_LOCAL (generated here: DSNs,
 * MDN copies for local senders): straight into the Maildir.
 *
 * Every trusted message from another HISP is answered with MDNs (queued
 * with the outcome, in one transaction); an MDN or DSN that comes back
 * for a message we sent updates its tracking and reaches the sender's
 * mailbox only when it is news. The work runs on workers; outcomes are
 * handed back to the queue. */
#ifndef HISP_DELIVER_H
#define HISP_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/loop.h"
#include "hisp/maildir.h"
#include "hisp/queue.h"
#include "hisp/track.h"
#include "hisp/trust.h"

/* A service address's handler (the ADT intake), on a worker: 0 taken,
 * -1 with e (TEMP: try again later; else refused). */
typedef int deliver_hook_fn(void *arg, const char *rcpt, const char *from,
    const uint8_t *msg, size_t len, struct err *e);

struct deliver_ctx {
	struct loop *loop;
	const char *db_path;
	struct trust_holder *trust;
	struct maildir_opts maildir;
	deliver_hook_fn *intake;       /* for ADDRESS_INTAKE addresses */
	void *intake_arg;
	/* MDNs: sent for what is received (processed; dispatched when asked;
	 * failed when a trusted message cannot be delivered); and the
	 * reports that come back are applied to tracking (hisp/track.h). */
	int64_t started;               /* when this process started (unix s) */
	bool send_mdn;
	const char *hostname;
	struct store_writer *writer;
	struct track_opts track;
};

/* queue_handler_fn for QUEUE_IN and QUEUE_LOCAL; ctx is a deliver_ctx. */
void deliver_handle(void *ctx, struct queue_runner *r, struct queue_task *t,
    queue_task_done_fn *done);

/* True when the message is an MDN or a DSN (multipart/report). */
bool deliver_is_notification(const uint8_t *msg, size_t len);

#endif
