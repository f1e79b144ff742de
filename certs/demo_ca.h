/* A local demonstration CA for `directgate init --demo` and
 * `directgate cert generate --demo`: never for production. The CA's key
 * is demo-ca.key (0600) and its certificate demo-ca.pem, both in the key
 * directory; it is created on first use (RSA-2048, SHA-256, 10 years). */
#ifndef CERTS_DEMO_CA_H
#define CERTS_DEMO_CA_H

#include <stddef.h>

#include "core/err.h"
#include "core/store.h"

/* Creates the demo CA if missing. 0 or -1. */
int demo_ca_ensure(const char *key_dir, struct err *e);
/* Issues a certificate for owner (an address: rfc822Name; a domain:
 * dNSName) from the demo CA (created if missing) with a new RSA-2048 key,
 * valid for 2 years, and imports it into the key store. owner's domain
 * must be a local domain. Writes the fingerprint to fp_r (65 bytes; may be
 * NULL). */
int demo_ca_issue(struct store *s, const char *key_dir, const char *owner,
    char *fp_r, struct err *e);
/* What `directgate init --demo` calls: the demo CA, the domains (n of
 * them; NULL or n == 0: "a.example" and "b.example"), each with a
 * domain-bound certificate and the demo CA as an anchor in both
 * directions. Domains that exist already are kept (idempotent). */
int demo_ca_setup(struct store *s, const char *key_dir,
    const char *const *domains, size_t n, struct err *e);

#endif
