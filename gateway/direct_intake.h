/* The Direct intake: messages the HISP delivers to an intake address
 * (kind "intake", e.g. adt@a.example) go to the HL7 intake. Every HL7
 * attachment (by MIME type, or a body that starts with MSH/FHS/BHS) is
 * validated and stored like an MLLP submission; the sender gets each ACK
 * back as a Direct message (text/hl7v2), besides the MDNs. A message with
 * no HL7 in it is refused (the sender gets a failed MDN).
 *
 * A message is taken only when every HL7 part in it was stored (or
 * rejected as invalid): when any part could not be stored (the store is
 * unavailable), the hook answers TEMP and the whole message is retried.
 * Parts stored on an earlier attempt come back as duplicates (same MSH-4
 * and MSH-10, adt/intake.h) and are stored once; the ACK mail is sent
 * only by the attempt that takes the message, so the sender gets one. */
#ifndef GATEWAY_DIRECT_INTAKE_H
#define GATEWAY_DIRECT_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adt/intake.h"
#include "core/err.h"
#include "hisp/hisp.h"

/* The MIME walk's limits: multipart nesting below the message, and body
 * parts per multipart (a multipart with more is skipped whole). */
#define DIRECT_INTAKE_MAX_DEPTH 4
#define DIRECT_INTAKE_MAX_PARTS 64

struct direct_intake {
	struct intake *intake;
	struct hisp *hisp;   /* for the ACKs; set once hisp has started */
	bool send_ack;
};

/* A deliver_hook_fn (hisp/deliver.h); arg is a struct direct_intake.
 * 0 taken (the ACK mail queued when send_ack); -1 with e: TEMP when any
 * HL7 part could not be stored (retry the whole message), PERM when the
 * message holds no HL7. */
int direct_intake_hook(void *arg, const char *rcpt, const char *from,
    const uint8_t *msg, size_t len, struct err *e);

/* One HL7 part found by direct_intake_walk: content_type as parsed (lower
 * case, no parameters) and the decoded body; both borrowed for the
 * duration of the call. */
typedef void direct_intake_part_fn(void *arg, const char *content_type,
    const uint8_t *body, size_t n);

/* Walks the MIME message msg[0..len) (canonical CRLF form): multiparts
 * nested up to DIRECT_INTAKE_MAX_DEPTH deep are split, each leaf's body is
 * decoded and, when intake_is_hl7 says it is HL7, handed to fn. Entities
 * that do not parse or decode are skipped. Sans-I/O; no store. Returns
 * how many HL7 parts fn was called for. */
unsigned direct_intake_walk(const uint8_t *msg, size_t len,
    direct_intake_part_fn *fn, void *arg);

/* The hook's answer for the outcome of a walk: found HL7 parts, of which
 * failed were not stored (AR). 0: the message is taken (and the ACK mail,
 * if any, goes out). -1 with e: TEMP when failed > 0 (the whole message
 * is retried, and the retry sends the ACK mail), PERM when found is 0.
 * Pure. */
int direct_intake_decide(unsigned found, unsigned failed, struct err *e);

#endif
