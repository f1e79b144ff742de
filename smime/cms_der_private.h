/* CMS written directly in DER for the common outgoing case (module-
 * private): a detached SignedData, and an EnvelopedData with AES-CBC
 * content and RSA key transport (PKCS#1 v1.5 or OAEP). Same structures as
 * OpenSSL's CMS writes (RFC 5652, RFC 3560, RFC 3565), without its
 * generic machinery, which costs a third of an RSA-2048 signature per
 * message. Other cases (AES-GCM AuthEnvelopedData, EC recipients) go
 * through smime_cms_private.h. Checked against `openssl cms` and gpgsm by
 * the integration tests. */
#ifndef SMIME_CMS_DER_PRIVATE_H
#define SMIME_CMS_DER_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/buf.h"
#include "core/err.h"
#include "smime/signer.h"

/* Appends to der_r a ContentInfo with a detached SignedData over
 * data[0..n): version 1, SHA-256, cert and chain (may be NULL) included,
 * one SignerInfo (issuerAndSerialNumber) with the signed attributes
 * contentType, signingTime (now), messageDigest and, when smimecap is not
 * empty, SMIMECapabilities (its DER), signed by key id through the
 * signer. -1 with e set. */
int cms_der_sign(const struct signer *s, const char *key_id, X509 *cert,
    STACK_OF(X509) *chain, const EVP_MD *sha256, const struct buf *smimecap,
    const uint8_t *data, size_t n, time_t now, struct buf *der_r,
    struct err *e);

/* Appends to der_r a ContentInfo with an EnvelopedData (version 0) of
 * data[0..n) under cipher (AES-128-CBC or AES-256-CBC, a fresh key and
 * IV) with one KeyTransRecipientInfo per certificate: RSA PKCS#1 v1.5, or
 * RSAES-OAEP with oaep_md for hash and MGF1 when oaep. Returns 1 (nothing
 * written) when a certificate's key is not RSA or the cipher is not one
 * of those: use OpenSSL's CMS then. -1 with e set on failure. */
int cms_der_encrypt(STACK_OF(X509) *recips, const EVP_CIPHER *cipher,
    bool oaep, const EVP_MD *oaep_md, const uint8_t *data, size_t n,
    struct buf *der_r, struct err *e);

#endif
