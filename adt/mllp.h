/* MLLP (minimal lower layer protocol) framing, sans-I/O.
 *
 * Release 1: 0x0B <message> 0x1C 0x0D. Bytes before a start block are
 * ignored (counted); the 0x0D after the end block is optional on input. A
 * frame whose content would exceed max_frame is an error (the caller closes
 * the connection and logs), unless discard mode is on: then the frame's
 * first max_frame bytes are kept, the rest up to its end block is dropped
 * without buffering, and the frame completes marked oversized (the caller
 * answers it and goes on with the next frame). A start block inside a frame restarts the
 * frame (the partial one is dropped and counted).
 *
 * Release 2 commit acknowledgements, 0x0B 0x06 0x1C 0x0D (ACK) and
 * 0x0B 0x15 0x1C 0x0D (NAK), are frames whose content is the single byte
 * 0x06 or 0x15. */
#ifndef ADT_MLLP_H
#define ADT_MLLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define MLLP_SB 0x0B
#define MLLP_EB 0x1C
#define MLLP_CR 0x0D
#define MLLP_ACK 0x06
#define MLLP_NAK 0x15

struct mllp_framer;

struct mllp_framer *mllp_framer_new(size_t max_frame);
void mllp_framer_free(struct mllp_framer **fp);

/* Consumes input up to the end of one frame and returns 1 (the frame is
 * then available from mllp_framer_frame until the next feed), or consumes
 * everything and returns 0, or returns -1 (ERR_PROTO: frame over
 * max_frame; the framer stays failed). *used_r is how much was consumed:
 * feed the rest again. */
int mllp_framer_feed(struct mllp_framer *f, const void *p, size_t n,
    size_t *used_r, struct err *e);
/* The last complete frame's content (without the block characters).
 * Borrowed until the next feed. */
const uint8_t *mllp_framer_frame(const struct mllp_framer *f, size_t *n_r);
/* Whether a frame has begun and not ended (bytes would be lost at EOF);
 * also true while an oversized frame is being discarded. */
bool mllp_framer_partial(const struct mllp_framer *f);
/* Discard mode (off by default): see the top of this file. With it on,
 * feed never fails for size. */
void mllp_framer_set_discard(struct mllp_framer *f, bool on);
/* Whether the last complete frame was over max_frame (discard mode only);
 * then mllp_framer_frame gives its first max_frame bytes. *size_r (may be
 * NULL) is the frame's full content size (0 when no frame is complete). */
bool mllp_framer_oversized(const struct mllp_framer *f, uint64_t *size_r);
/* While an oversized frame is being discarded, its kept head (the first
 * max_frame bytes), borrowed until the next feed, with its length in *n_r;
 * otherwise NULL. Lets the caller give up early on a head it cannot
 * answer. */
const uint8_t *mllp_framer_discarding(const struct mllp_framer *f,
    size_t *n_r);
/* Bytes ignored outside frames, and frames dropped by a restart. */
uint64_t mllp_framer_ignored(const struct mllp_framer *f);
uint64_t mllp_framer_restarts(const struct mllp_framer *f);

/* Appends 0x0B p 0x1C 0x0D to out; -1 at out's limit. */
int mllp_wrap(struct buf *out, const void *p, size_t n);
/* Appends a release 2 commit acknowledgement (ok: ACK, else NAK). */
int mllp_commit_ack(struct buf *out, bool ok);
/* Whether frame content is a release 2 commit ACK (1), NAK (0), or not a
 * commit acknowledgement (-1). */
int mllp_is_commit_ack(const void *p, size_t n);

#endif
