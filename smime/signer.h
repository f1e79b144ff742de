/* The signer: the one place where private keys are used. Bytes in, bytes
 * out: callers name a key by its id (the SHA-256 fingerprint of its
 * certificate, lower-case hex, as certs/keystore.h names entries) and hand
 * over the bytes to sign or the envelope to open; no caller ever touches a
 * key. This is the seam for moving private-key operations into a separate,
 * unprivileged key-holding process later (OpenSMTPD's ca.c): only this
 * file would change.
 *
 * A struct signer is filled once (signer_add_*), then shared read-only by
 * any number of threads without locks, and reference-counted so that jobs
 * in flight keep theirs when a newer one (after a key store change)
 * replaces it. Key material is never logged nor put in an error message. */
#ifndef SMIME_SIGNER_H
#define SMIME_SIGNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "smime/smime_config.h"

struct signer;

/* Key ids are 64 hex digits; longer ids are refused. */
#define SIGNER_ID_MAX 64

/* An empty signer with one reference. Never NULL (allocation aborts). */
struct signer *signer_new(void);
/* One more reference (thread-safe); returns s. */
struct signer *signer_ref(struct signer *s);
/* Drops one reference (thread-safe; the last frees and wipes); accepts
 * NULL and sets *sp to NULL. */
void signer_free(struct signer **sp);

/* Adds one private key (PEM or DER: PKCS#8 or traditional, unencrypted)
 * with its certificate (PEM or DER; a PEM may add the chain after it, in
 * any order: the certificate matching the key is the leaf, the others its
 * chain, sent along with signatures), under the leaf's fingerprint,
 * copied into id_r (may be NULL; SIGNER_ID_MAX + 1 bytes). Both inputs are
 * borrowed. -1 (ERR_PERM) when either cannot be read or the key does not
 * match the certificate; the message never quotes key bytes. */
int signer_add_key(struct signer *s, const uint8_t *key, size_t key_len,
    const uint8_t *cert, size_t cert_len, char *id_r, struct err *e);
bool signer_has_key(const struct signer *s, const char *id);
size_t signer_count(const struct signer *s);

/* Signs tbs (hashed inside with md: SHA-256/384/512; SHA-1 is refused)
 * with key id: RSA PKCS#1 v1.5 or DER ECDSA-Sig-Value, appended to sig_r.
 * -1 with e set: ERR_PERM for an unknown id or a refused digest,
 * ERR_INTERNAL when OpenSSL fails. */
int signer_sign(const struct signer *s, const char *id, enum smime_digest md,
    const uint8_t *tbs, size_t tbs_len, struct buf *sig_r, struct err *e);

/* Opens a CMS EnvelopedData or AuthEnvelopedData (DER, borrowed) with the
 * first of the keys ids[0..n) whose certificate a RecipientInfo names
 * (RSA PKCS#1 v1.5 or OAEP key transport, ECDH key agreement; AES-CBC or
 * AES-GCM content). The content is appended to out (whose max bounds it).
 * Returns 0 and sets *used_r (may be NULL) to the index of the key that
 * opened it; 1 when no RecipientInfo names any of the keys (not for us);
 * 2 (e set) when der is CMS of another type (SignedData: not encrypted);
 * -1 with e set when der is not CMS (ERR_PROTO) or a named key fails to
 * open it (ERR_PERM: corrupt or tampered). */
int signer_decrypt_cms(const struct signer *s, const char *const *ids,
    size_t n, const uint8_t *der, size_t der_len, struct buf *out,
    size_t *used_r, struct err *e);

#endif
