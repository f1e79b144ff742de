/* HL7 acknowledgements: building the ACK for a received message (original
 * mode AA/AE/AR, enhanced mode accept acknowledgements CA/CE/CR) and reading
 * one back (the sender's side).
 *
 * The ACK's MSH swaps sender and receiver, takes a new control ID, keeps the
 * original's delimiters, processing ID and version, and has MSH-9
 * ACK^<event>^ACK. MSA-2 is the original MSH-10. Each problem becomes an
 * ERR in the v2.5 layout: ERR-2 location (segment^sequence^field^
 * repetition^component), ERR-3 code^text^HL70357, ERR-4 severity, ERR-8 a
 * readable message. Sans-I/O: the caller passes the time and control ID. */
#ifndef ADT_ACK_H
#define ADT_ACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adt/hl7.h"
#include "adt/hl7_validate.h"
#include "core/buf.h"
#include "core/err.h"

enum ack_code {
	ACK_AA, /* accepted */
	ACK_AE, /* error in the content: do not resend unchanged */
	ACK_AR, /* rejected for another reason (store): may resend */
	ACK_CA, /* enhanced mode: commit accept */
	ACK_CE, /* commit error */
	ACK_CR, /* commit reject */
};

enum ack_mode {
	ACK_MODE_AUTO,     /* enhanced when MSH-15 or MSH-16 is valued */
	ACK_MODE_ORIGINAL,
	ACK_MODE_ENHANCED,
};

/* "AA", "AE"... */
const char *ack_code_name(enum ack_code c);
/* Parses "auto", "original", "enhanced"; 0 or -1. */
int ack_mode_parse(const char *s, enum ack_mode *m_r);

/* Maps the application outcome (AA, AE or AR) to the code to send for a
 * message with header h (NULL: original mode) under mode. Returns false
 * when no acknowledgement is to be sent (enhanced mode with MSH-15 NE, ER
 * on success, SU on error). */
bool ack_decide(enum ack_mode mode, const struct hl7_header *h,
    enum ack_code outcome, enum ack_code *code_r);

struct ack_opts {
	const char *control_id; /* the ACK's own MSH-10; required */
	const char *timestamp;  /* MSH-7, e.g. "20250101120000"; required */
	const char *app;        /* MSH-3 when the original's MSH-5 is empty */
	const char *facility;   /* MSH-4 when the original's MSH-6 is empty */
};

/* Appends the ACK (segments ending in CR) to out. orig may be NULL when the
 * message could not be parsed: then the default delimiters, version 2.5.1
 * and an empty MSA-2 are used. probs (may be NULL when nprobs is 0) become
 * ERR segments; their texts are escaped. -1 (ERR_INTERNAL) only when out's
 * limit is reached. */
int ack_build(const struct hl7_msg *orig, enum ack_code code,
    const struct hl7_problem *probs, size_t nprobs, const struct ack_opts *o,
    struct buf *out, struct err *e);

/* The answer to a message over the receiver's size limit (size bytes,
 * limit max) that was cut to its first n bytes (head): an ACK built from
 * the head's MSH segment with MSA-1 AE (CE in enhanced mode, per
 * ack_decide) and one ERR: ERR-3 102 (see ack.c for why), severity E,
 * ERR-8 "message too large". Returns 1 with the ACK appended to out, 0
 * when no acknowledgement is to be sent (MSH-15 NE or SU, or the message is
 * itself an ACK; out unchanged), -1 (ERR_PERM; out unchanged) when the
 * head holds no complete, readable MSH segment. */
int ack_build_too_large(const void *head, size_t n, uint64_t size,
    size_t max, enum ack_mode mode, const struct ack_opts *o,
    struct buf *out, struct err *e);

/* What a sender reads from an ACK. */
#define ACK_INFO_MAX_ERRS 8
struct ack_info {
	char code[4];          /* MSA-1 */
	char control_id[200];  /* MSA-2 (raw) */
	char ack_control_id[200]; /* the ACK's MSH-10 */
	size_t nerrs;
	struct {
		char location[64]; /* ERR-2 as "PID^1^3^1^1" */
		int code;          /* ERR-3.1 */
		char severity;     /* ERR-4 */
		char text[160];    /* ERR-8, else ERR-3.2 (unescaped) */
	} errs[ACK_INFO_MAX_ERRS];
};

/* Reads an ACK (normalized like any message). 0, or -1 (PERM) when it is
 * not a message with an MSA segment. */
int ack_parse(const void *p, size_t n, struct ack_info *a_r, struct err *e);

/* now_ms (Unix milliseconds) as an HL7 DTM in UTC, YYYYMMDDHHMMSS, into
 * dst (15 bytes or more; the epoch when it cannot be formatted). */
void ack_timestamp(int64_t now_ms, char *dst, size_t size);

#endif
