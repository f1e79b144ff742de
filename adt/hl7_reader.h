/* Incremental splitting of HL7 streams and files into messages. */
#ifndef ADT_HL7_READER_H
#define ADT_HL7_READER_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Incremental reader for a stream or file holding several messages,
 * possibly in batches. Line endings are normalized across chunk borders, a
 * BOM at the start is stripped, FHS/BHS/BTS/FTS segments are recorded and
 * not part of any message. */
struct hl7_reader;

struct hl7_reader *hl7_reader_new(size_t max_msg);
void hl7_reader_free(struct hl7_reader **rp);
/* Feeds a chunk: consumes bytes up to the end of one complete message and
 * returns 1 (the message is then available from hl7_reader_msg), or
 * consumes everything and returns 0 (need more), or -1 (ERR_PERM: a
 * segment before any MSH, a message over max_msg). *used_r tells how much
 * was consumed; feed the rest again. A message is complete when the next
 * MSH/BHS/BTS/FHS/FTS segment begins, or at hl7_reader_finish. */
int hl7_reader_feed(struct hl7_reader *r, const void *p, size_t n,
    size_t *used_r, struct err *e);
/* Signals the end of input: 1 if a last message is available, 0 if none,
 * -1 on error. */
int hl7_reader_finish(struct hl7_reader *r, struct err *e);
/* The complete message's normalized bytes; borrowed until the next feed. */
const uint8_t *hl7_reader_msg(const struct hl7_reader *r, size_t *n_r);
/* Batch bookkeeping: headers (FHS, BHS) and trailers (BTS, FTS) seen. */
unsigned hl7_reader_batch_headers(const struct hl7_reader *r);
unsigned hl7_reader_batch_trailers(const struct hl7_reader *r);

/* Splits a whole input into messages (a reader over one buffer). The
 * result owns copies of every message; release it with
 * hl7_reader_split_release. Returns the number of messages (when 0 or -1
 * nothing is held: releasing is allowed but not needed). */
struct hl7_split {
	uint8_t *data;   /* every message's normalized bytes, back to back */
	size_t len;
	size_t *offs;    /* message i: data + offs[i], lens[i] bytes */
	size_t *lens;
	size_t count;
	unsigned batch_headers;
	unsigned batch_trailers;
};
int hl7_reader_split(const void *p, size_t n, size_t max_msg,
    struct hl7_split *s_r,
    struct err *e);
void hl7_reader_split_release(struct hl7_split *s);

#endif
