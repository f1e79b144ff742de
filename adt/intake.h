/* ADT intake: validate, store durably, acknowledge.
 *
 * For each message (or each message of a batch): parse and validate
 * (adt/hl7_validate.h); invalid content is answered AE with one ERR per
 * problem, at once. Valid ADTs are written through the store's group-commit
 * writer; AA is built only when the writer reports them durable, AR (ERR
 * 207) when the commit failed (the sender may resend). A duplicate (same
 * MSH-4 and MSH-10 as a stored ADT) is answered AA again (with an
 * informational ERR 205) and stored once. ACK messages are never
 * acknowledged. A batch (FHS/BHS or several MSH) is answered with a batch
 * of ACKs (BHS ... BTS).
 *
 * Stored rows (table adt_event) keep the normalized raw bytes, channel,
 * sender, the time received, type, event, control ID, facility and the
 * processing state 'received', which the notification agent picks up.
 *
 * Never logs PHI: one line per message with MSH-10, type, size, outcome. */
#ifndef ADT_INTAKE_H
#define ADT_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adt/ack.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/loop.h"
#include "core/store.h"

struct intake;

struct intake_opts {
	struct store_writer *writer; /* borrowed; required */
	struct loop *loop;           /* optional: with it, inputs of at least
				      * offload_bytes are parsed and validated
				      * in the worker pool (intake_submit
				      * only) */
	size_t offload_bytes;        /* 0: 64 KiB */
	enum ack_mode ack_mode;
	const char *ack_app;         /* copied; NULL: "DIRECTGATE" */
	const char *ack_facility;    /* copied; NULL: "" */
	size_t max_msg;              /* 0: HL7_MAX_BYTES */
};

struct intake *intake_new(const struct intake_opts *o);
/* Jobs still queued in the writer keep a reference: free the intake only
 * after the writer has been freed (every done has run). Accepts NULL. */
void intake_free(struct intake **ip);

struct intake_result {
	enum ack_code outcome;   /* AA, AE or AR (application outcome) */
	bool send;               /* false: no acknowledgement to send */
	const uint8_t *ack;      /* the ACK (segments ending in CR), borrowed
				  * for the duration of the callback */
	size_t ack_len;
	unsigned stored;         /* messages newly stored */
	unsigned duplicates;     /* messages already stored */
	unsigned messages;       /* messages in the input */
	int64_t first_id;        /* row id of the first newly stored, or 0 */
};

typedef void intake_done_fn(void *arg, const struct intake_result *r);

/* Processes raw bytes (one message or a batch; copied) received over
 * channel ("mllp", "direct" or "cli") from sender (peer address or Direct
 * address; copied). now_ms is the receive time (ms since the epoch).
 * done runs exactly once: before intake_submit returns when nothing is to
 * be stored (invalid content, an ACK), else when the writer answers (on
 * the writer's loop thread, see store_writer_opts). A large input with
 * opts.loop set is parsed in the worker pool first; then done always runs
 * later on the loop thread (AR if the loop stops first). */
void intake_submit(struct intake *in, const void *raw, size_t n,
    const char *channel, const char *sender, int64_t now_ms,
    intake_done_fn *done, void *arg);

/* The same for a thread that may block (CLI, Direct intake worker): waits
 * for the writer with store_writer_run and calls done on this thread. */
void intake_submit_wait(struct intake *in, const void *raw, size_t n,
    const char *channel, const char *sender, int64_t now_ms,
    intake_done_fn *done, void *arg);

/* Direct intake (wired by the gateway once the HISP transport hands over
 * messages for the intake address): whether a MIME part is an HL7
 * attachment. content_type (may be NULL; parameters are ignored) is one of
 * text/hl7v2, application/hl7-v2, application/hl7-v2+er7,
 * x-application/hl7-v2+er7, application/edi-hl7, application/x-hl7; or
 * text/plain, application/octet-stream or none when the decoded body starts
 * (after a BOM and white space) with MSH, FHS or BHS and a delimiter. Each
 * such part goes to intake_submit_wait(in, body, n, "direct",
 * <Direct sender address>, now, done, arg), whose ACK the gateway returns
 * to the sender as a Direct message. */
bool intake_is_hl7(const char *content_type, const void *p, size_t n);

/* A stored ADT, as listed (no PHI) by intake_list. Strings borrowed for
 * the duration of the callback. */
struct intake_row {
	int64_t id;
	int64_t received;      /* ms since the epoch */
	const char *channel;
	const char *sender;
	const char *facility;
	const char *control_id;
	const char *msg_type;
	const char *event;
	const char *version;
	const char *processing_id;
	int64_t size;
	const char *state;
};

typedef int intake_row_fn(void *arg, const struct intake_row *r);

/* Calls fn for stored ADTs, newest first (at most limit, 0: all; state
 * NULL: any). fn returning non-zero stops. 0 or -1. */
int intake_list(struct store *s, const char *state, unsigned limit,
    intake_row_fn *fn, void *arg, struct err *e);
/* Fetches one ADT: fn gets its row and raw receives its bytes. 1 found, 0
 * no such id, -1 error. */
int intake_get(struct store *s, int64_t id, intake_row_fn *fn, void *arg,
    struct buf *raw, struct err *e);
/* Moves an ADT to state (the notification agent's bookkeeping). */
int intake_set_state(struct store *s, int64_t id, const char *state,
    int64_t now_ms, struct err *e);

/* The sender fields, a fresh control ID and the timestamp (now_ms) of an
 * ACK built apart from a submission (the MLLP server's answer to a frame
 * it could not take): fills *o, whose strings point into ts, cid and in.
 * Any thread. */
#define INTAKE_ACK_TS_MAX 32
#define INTAKE_ACK_CID_MAX 48
void intake_ack_opts(struct intake *in, int64_t now_ms,
    char ts[INTAKE_ACK_TS_MAX], char cid[INTAKE_ACK_CID_MAX],
    struct ack_opts *o);

#endif
