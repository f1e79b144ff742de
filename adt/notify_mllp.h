/* MLLP notifications, the sans-I/O part: what an acknowledgement means and
 * when to try again. The loop glue is adt/notify_mllp_client.h.
 *
 * Outcome of one attempt: AA or CA (MSA-2 naming our MSH-10) delivered;
 * AE or CE: the receiver refuses the content, a permanent failure (no
 * retry); AR or CR, a timeout, a refused or broken connection, or an
 * answer that is not an ACK for this message: retry after a backoff that
 * doubles from the base (at most 1 h), until the retries are used up
 * (then failed). Each message has its own schedule, so one message that
 * keeps failing never holds back the rest of its destination's queue. */
#ifndef ADT_NOTIFY_MLLP_H
#define ADT_NOTIFY_MLLP_H

#include <stddef.h>
#include <stdint.h>

enum notify_mllp_outcome {
	NOTIFY_MLLP_DELIVERED = 0,
	NOTIFY_MLLP_RETRY,
	NOTIFY_MLLP_FAILED,
};
const char *notify_mllp_outcome_name(enum notify_mllp_outcome o);

/* Classifies an acknowledgement frame for the message whose MSH-10 is
 * control_id. code_r (4 bytes) receives MSA-1 or "-". */
enum notify_mllp_outcome notify_mllp_classify(const void *ack, size_t n,
    const char *control_id, char code_r[4]);

/* Delay before retry number attempts (1 = the first retry). */
int64_t notify_mllp_backoff(int attempts, int64_t base_ms);

/* The row's next state after an attempt that ended in o, the attempts
 * made so far including this one: "delivered", "failed" or "pending"
 * (with *next_try_r set). */
const char *notify_mllp_next(enum notify_mllp_outcome o, int attempts,
    int max_retries, int64_t base_ms, int64_t now_ms, int64_t *next_try_r);

#endif
