/* Bounds-checked reader with a sticky error (c-ares ares_buf, OpenSMTPD
 * unpack_dns). Once a read fails, every later read fails too and output
 * values are zeroed, so a parser may check once at the end. */
#ifndef CORE_RD_H
#define CORE_RD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rd {
	const uint8_t *data;
	size_t len;
	size_t off;
	bool failed;
};

void rd_init(struct rd *r, const void *data, size_t len);
int rd_u8(struct rd *r, uint8_t *v);
int rd_u16be(struct rd *r, uint16_t *v);
int rd_u32be(struct rd *r, uint32_t *v);
/* Borrows n bytes at the current position and advances past them. */
int rd_bytes(struct rd *r, size_t n, const uint8_t **p_r);
/* Copies n bytes into dst. */
int rd_copy(struct rd *r, void *dst, size_t n);
int rd_skip(struct rd *r, size_t n);
/* Moves to an absolute offset (<= len). */
int rd_seek(struct rd *r, size_t off);
/* Reads up to and excluding the next byte c, and consumes c. The span is
 * borrowed. Fails (sticky) if c does not occur. */
int rd_until(struct rd *r, uint8_t c, const uint8_t **p_r, size_t *n_r);
/* Peeks the next byte without consuming it; -1 at the end (not sticky). */
int rd_peek(const struct rd *r);
size_t rd_remaining(const struct rd *r);
size_t rd_offset(const struct rd *r);
bool rd_failed(const struct rd *r);
/* A sub-reader over the next n bytes; advances r past them. */
int rd_sub(struct rd *r, size_t n, struct rd *sub_r);

#endif
