/* Growable byte buffer with a hard maximum and overflow-checked growth.
 * Bytes are data plus length; data is always followed by a NUL that is not
 * counted, so text can be read with buf_cstr(). Growth past max fails softly
 * (-1) so that a peer cannot make the daemon grow without bound. */
#ifndef CORE_BUF_H
#define CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

#define BUF_UNLIMITED SIZE_MAX

struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max;
};

/* Initializes an empty buffer that may hold at most max bytes. */
void buf_init(struct buf *b, size_t max);
/* Frees the storage; the buffer is empty and usable again. */
void buf_release(struct buf *b);
/* Like buf_release but wipes the contents first (secrets). */
void buf_release_cleanse(struct buf *b);
struct buf *buf_new(size_t max);
void buf_free(struct buf **bp);

/* Makes room for n more bytes; -1 if len + n would exceed max. */
int buf_reserve(struct buf *b, size_t n);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_str(struct buf *b, const char *s);
int buf_putc(struct buf *b, uint8_t c);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Removes the first n bytes (n is clamped to len). */
void buf_consume(struct buf *b, size_t n);
/* Sets len to n (n <= len). */
void buf_truncate(struct buf *b, size_t n);
void buf_reset(struct buf *b);
/* The contents as NUL-terminated text (never NULL). Borrowed. */
const char *buf_cstr(const struct buf *b);
/* Hands the storage to the caller (who frees it) and empties the buffer.
 * The result is NUL-terminated; len_r may be NULL. */
uint8_t *buf_steal(struct buf *b, size_t *len_r);

#endif
