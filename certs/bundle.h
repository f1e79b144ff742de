/* Trust bundles: a PKCS#7 set of anchors (.p7b/.p7c; DER or PEM; signed
 * or unsigned, certs-only) from a local file or an HTTP(S) URL, refreshed
 * on a schedule and attached to local domains with a direction, like
 * single anchors. The anchors of the last good fetch are kept in the store:
 * a failed refresh keeps them (and records the error). */
#ifndef CERTS_BUNDLE_H
#define CERTS_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "certs/http.h"
#include "core/err.h"
#include "core/store.h"

/* Parses a bundle: DER or PEM PKCS#7 (signed data; when it encapsulates
 * content that is itself a PKCS#7 certs-only structure, those are taken),
 * or as a fallback PEM certificates. Returns a new stack of at least one
 * certificate (caller frees with sk_X509_pop_free(.., X509_free)), NULL
 * with e set (PERM) otherwise. The signature of a signed bundle is not
 * checked. */
STACK_OF(X509) *bundle_parse(const void *data, size_t len, struct err *e);

/* Adds a bundle source (URL or file path) with a refresh interval in
 * seconds (0: the [certs] bundle_refresh default). Writes its id to *id_r
 * (may be NULL). Does not fetch: call bundle_refresh. */
int bundle_add(struct store *s, const char *url, int64_t refresh_s,
    int64_t *id_r, struct err *e);
/* Attaches bundle id to a local domain with direction dir (ANCHOR_IN,
 * ANCHOR_OUT or ANCHOR_BOTH of certs/anchor.h); again updates dir. */
int bundle_attach(struct store *s, int64_t id, const char *domain,
    unsigned dir, struct err *e);
int bundle_detach(struct store *s, int64_t id, const char *domain,
    struct err *e);
/* Removes a bundle with its anchors and attachments. */
int bundle_remove(struct store *s, int64_t id, struct err *e);

struct bundle_info {
	int64_t id;
	char *url;
	int64_t refresh_s;
	time_t last_fetch;  /* last attempt, 0 never */
	time_t last_ok;     /* last success, 0 never */
	char *last_error;   /* NULL after a success */
	int64_t n_anchors;
	char *domains;      /* "a.example:in b.example:both", "" none */
};
int bundle_list(struct store *s, struct bundle_info **v_r, size_t *n_r,
    struct err *e);
void bundle_info_free(struct bundle_info **vp, size_t n);

/* Fetching limits and the HTTP seam; zero values take the defaults (30 s,
 * 10 MiB, http_fetch_default). */
struct bundle_fetch_opts {
	http_fetch_fn *fetch;
	void *fetch_arg;
	int64_t timeout_ms;
	size_t max_size;
};

/* Fetches bundle id now, replaces its anchors on success, and records the
 * attempt either way. Returns 0 or -1 (e: TEMP for a network failure, PERM
 * for an unparsable bundle); *n_r gets the anchor count (may be NULL). */
int bundle_refresh(struct store *s, int64_t id, time_t now,
    const struct bundle_fetch_opts *o, size_t *n_r, struct err *e);
/* What the daemon calls on a timer (on a worker: it blocks on HTTP):
 * refreshes every bundle whose last attempt is older than its interval
 * (all when force). Failures are logged and recorded per bundle; returns
 * the number refreshed successfully, -1 only for a store error. */
int bundle_refresh_due(struct store *s, time_t now, bool force,
    const struct bundle_fetch_opts *o, struct err *e);

#endif
