/* HTTP(S) GET with limits, for certificates (AIA caIssuers, IPKIX URLs),
 * CRLs and trust bundles. A small seam: callers take an http_fetch_fn so
 * that unit tests can serve bytes from memory; the default is libcurl.
 * Blocking: call from a worker or a command, never the loop thread. */
#ifndef CERTS_HTTP_H
#define CERTS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

/* Fetches url into out (appending; out's own max also applies). At most
 * max_size bytes are accepted (more is an ERR_PERM error, the transfer is
 * cut short) and the whole transfer takes at most timeout_ms. Returns 0 on
 * an HTTP 2xx answer (or a file:// read), -1 with e set otherwise: ERR_TEMP
 * for connection failures, timeouts and 5xx; ERR_PERM for 4xx, oversize,
 * unsupported schemes. out may hold a partial body after an error. */
typedef int http_fetch_fn(void *arg, const char *url, size_t max_size,
    int64_t timeout_ms, struct buf *out, struct err *e);

/* The libcurl implementation (arg unused; pass NULL). Schemes http, https
 * and file (a local path also works: "/x/y.p7b"); redirects followed (at
 * most 5, http/https only). Thread-safe. */
int http_fetch_default(void *arg, const char *url, size_t max_size,
    int64_t timeout_ms, struct buf *out, struct err *e);

/* True for "http://..." and "https://..." (case-insensitive). */
int http_url_is_http(const char *url);

#endif
