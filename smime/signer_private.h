/* The signer's in-process side for the rest of smime/ (module-private):
 * adding keys held as OpenSSL objects, and the certificates kept with
 * each key. The keys themselves never leave signer.c. */
#ifndef SMIME_SIGNER_PRIVATE_H
#define SMIME_SIGNER_PRIVATE_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "smime/signer.h"

/* Adds key with its certificate and chain (may be NULL), all up-ref'd,
 * under the certificate's fingerprint; a key already present is skipped.
 * Only before the signer is shared. -1 (ERR_PERM) when key and
 * certificate do not match. */
int signer_add_x509(struct signer *s, EVP_PKEY *key, X509 *cert,
    STACK_OF(X509) *chain, struct err *e);
/* The certificate and chain kept with key id; NULL for an unknown id.
 * Borrowed for the life of s. */
X509 *signer_get0_cert(const struct signer *s, const char *id);
STACK_OF(X509) *signer_get0_chain(const struct signer *s, const char *id);

#endif
