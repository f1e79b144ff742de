/* The validation step of discovery backed by the trust store
 * (certs/validate.h): each candidate is validated for sending
 * (VALIDATE_OUTGOING anchors of the sending domain, VALIDATE_ENCRYPT key
 * usage, bound to the recipient's address or domain, CRLs and AIA as the
 * context's options say). Pass discover_trust_validate with a struct
 * discover_trust as its argument to discover_new. */
#ifndef CERTS_DISCOVER_TRUST_H
#define CERTS_DISCOVER_TRUST_H

#include <stddef.h>

#include "certs/discover.h"
#include "certs/validate.h"
#include "core/err.h"

struct discover_trust;

/* ctx is referenced (validate_ctx_ref), local_domain copied: the domain
 * whose outgoing anchors decide. */
struct discover_trust *discover_trust_new(struct validate_ctx *ctx,
    const char *local_domain);
/* A context of its own holding the certificates of the given files (PEM,
 * DER or PKCS#7 each) as outgoing anchors of local_domain; o may be NULL.
 * -1 (ERR_CONFIG) when a file is unreadable or holds no certificate. */
int discover_trust_from_files(const char *local_domain,
    const char *const *paths, size_t n, const struct validate_opts *o,
    struct discover_trust **t_r, struct err *e);
void discover_trust_free(struct discover_trust **tp);
/* Swaps in a new context (the store changed: certs_store_generation moved
 * on). ctx is referenced; validations already running keep the old one.
 * Thread-safe. */
void discover_trust_set_ctx(struct discover_trust *t,
    struct validate_ctx *ctx);

/* A discover_validate_fn; arg is a struct discover_trust. Thread-safe. */
void discover_trust_validate(void *arg, const char *address,
    struct discover_cand *c);

#endif
