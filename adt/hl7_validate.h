/* Validation of what routing an ADT needs: MSH-9 (type, event), MSH-10
 * (control ID), MSH-11 (processing ID), MSH-12 (version 2.3 to 2.8), PID-3
 * (identifiers), PID-5 (name), PID-7 (birth date), segment names and the
 * required segments of the event's message structure (in order).
 *
 * Each problem carries an ERR location (segment^sequence^field^repetition^
 * component^subcomponent), a table 0357 code, a severity (E, W, I) and a
 * readable message that never quotes message contents (no PHI).
 *
 * Choices where real feeds disagree with the standard: a missing EVN is a
 * warning (routing takes the event from MSH-9.2), a missing PID-7 or MSH-11
 * is a warning; a malformed PID-7 is an error. */
#ifndef ADT_HL7_VALIDATE_H
#define ADT_HL7_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "adt/hl7.h"

/* Table 0357 (message error condition codes). */
enum hl7_code {
	HL7_OK = 0,
	HL7_SEGMENT_SEQUENCE = 100,
	HL7_REQUIRED_MISSING = 101,
	HL7_DATA_TYPE = 102,
	HL7_TABLE_VALUE = 103,
	HL7_UNSUPPORTED_TYPE = 200,
	HL7_UNSUPPORTED_EVENT = 201,
	HL7_UNSUPPORTED_PROCESSING = 202,
	HL7_UNSUPPORTED_VERSION = 203,
	HL7_UNKNOWN_KEY = 204,
	HL7_DUPLICATE_KEY = 205,
	HL7_RECORD_LOCKED = 206,
	HL7_INTERNAL = 207,
};

#define HL7_MAX_PROBLEMS 32

struct hl7_problem {
	char seg[4];       /* "" when the location is the message */
	unsigned seq;      /* occurrence of that segment, 1-based */
	unsigned field;
	unsigned rep;
	unsigned comp;
	unsigned sub;
	int code;          /* enum hl7_code */
	char severity;     /* 'E', 'W', 'I' */
	char text[160];    /* readable; never message contents */
};

/* What routing reads from MSH, as raw (escaped) text, truncated to fit. */
struct hl7_header {
	char type[16];        /* MSH-9.1 */
	char event[16];       /* MSH-9.2 */
	char structure[16];   /* MSH-9.3, or derived from the event */
	char control_id[200]; /* MSH-10 */
	char processing[8];   /* MSH-11.1 */
	char version[16];     /* MSH-12.1 */
	char app[228];        /* MSH-3 */
	char facility[228];   /* MSH-4 */
	char recv_app[228];   /* MSH-5 */
	char recv_facility[228]; /* MSH-6 */
	char accept_ack[8];   /* MSH-15 */
	char app_ack[8];      /* MSH-16 */
	char charset[64];     /* MSH-18 */
};

struct hl7_validation {
	struct hl7_header hdr;
	struct hl7_problem problems[HL7_MAX_PROBLEMS];
	size_t nproblems;
	size_t nerrors;      /* problems with severity E */
	bool truncated;      /* more problems than HL7_MAX_PROBLEMS */
	bool is_ack;         /* MSH-9.1 is ACK: never acknowledged */
};

/* Fills hdr from MSH only (no checks). */
void hl7_validate_header(const struct hl7_msg *m, struct hl7_header *h_r);
/* Validates m into v_r (cleared first). Returns v_r->nerrors. */
size_t hl7_validate(const struct hl7_msg *m, struct hl7_validation *v_r);
/* Adds a problem (ignored past HL7_MAX_PROBLEMS, truncated set). */
void hl7_validate_add(struct hl7_validation *v, const char *seg,
    unsigned seq, unsigned field, unsigned rep, unsigned comp, int code,
    char severity, const char *fmt, ...)
	__attribute__((format(printf, 9, 10)));
/* The table 0357 text of a code ("Required field missing"). */
const char *hl7_validate_code_text(int code);
/* Whether version (MSH-12.1) is one of 2.3 ... 2.8.2. */
bool hl7_validate_version_ok(const char *version);
/* The structure an ADT event uses ("ADT_A01" for A04), or NULL. */
const char *hl7_validate_structure(const char *event);
/* Whether s (n bytes) is an HL7 DTM: YYYY[MM[DD[HH[MM[SS[.S...]]]]]][+-ZZZZ]. */
bool hl7_validate_dtm(const char *s, size_t n);

#endif
