/* Base64 (RFC 4648, standard alphabet, padded) for SASL exchanges in the
 * SMTP server and client sessions. Strict: no white space, no missing or
 * stray padding, no trailing bits. */
#ifndef HISP_SMTP_BASE64_H
#define HISP_SMTP_BASE64_H

#include <stddef.h>

#include "core/buf.h"

/* Appends the encoding of n bytes at p to out; -1 if out's maximum would be
 * exceeded (out then holds a partial encoding). */
int smtp_base64_encode(const void *p, size_t n, struct buf *out);
/* Appends the bytes encoded by the n characters at s to out; -1 on bad
 * syntax or when out's maximum would be exceeded (out may hold part of the
 * result: callers decoding secrets should wipe it). An empty input decodes
 * to nothing and succeeds. */
int smtp_base64_decode(const char *s, size_t n, struct buf *out);

#endif
