/* Trust anchors per local domain, each marked incoming ("in": the domain
 * receives from senders chaining to it), outgoing ("out": the domain sends
 * to recipients chaining to it) or both. Single anchors are managed here;
 * bundles (certs/bundle.h) add anchors the same way. Validation reads them
 * through certs/validate.h. */
#ifndef CERTS_ANCHOR_H
#define CERTS_ANCHOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/err.h"
#include "core/store.h"

#define ANCHOR_IN 1u
#define ANCHOR_OUT 2u
#define ANCHOR_BOTH 3u

/* Parses "in", "out", "both" (and "incoming", "outgoing"); -1 otherwise. */
int anchor_direction_parse(const char *s, unsigned *dir_r);
/* "in", "out", "both" ("?" otherwise). */
const char *anchor_direction_name(unsigned dir);

/* Adds every certificate in data (PEM with one or more certificates, DER,
 * or a PKCS#7 bundle) as an anchor of domain with direction dir. Adding an
 * anchor the domain already has updates its direction. Writes the number
 * added to *n_r (may be NULL). -1 (PERM) for an unknown domain or input
 * without a certificate; a certificate that is not a CA is accepted (Direct
 * allows anchoring a leaf) but reported in the message of a warning log. */
int anchor_add(struct store *s, const char *domain, unsigned dir,
    const void *data, size_t len, size_t *n_r, struct err *e);

struct anchor_info {
	int64_t id;
	char *domain;
	unsigned dir;
	char *fingerprint; /* SHA-256 hex of the DER */
	char *subject;     /* one line, RFC 2253 */
	time_t not_after;
	int64_t bundle_id; /* 0 for a single anchor, else the bundle's id */
};
/* Anchors of domain (NULL: every domain), single ones and, when
 * with_bundles, those coming from attached bundles. Free with
 * anchor_info_free. */
int anchor_list(struct store *s, const char *domain, bool with_bundles,
    struct anchor_info **v_r, size_t *n_r, struct err *e);
void anchor_info_free(struct anchor_info **vp, size_t n);
/* Removes the single anchor of domain whose fingerprint starts with
 * fp_prefix (at least 8 hex digits, unambiguous), or "#<id>". */
int anchor_remove(struct store *s, const char *domain, const char *which,
    struct err *e);

#endif
