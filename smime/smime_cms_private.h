/* CMS for the agent (module-private): detached SignedData whose signature
 * comes from the signer (the private key never enters CMS), EnvelopedData
 * and AuthEnvelopedData to a set of recipient certificates, and signature
 * verification with the algorithm policy of Direct. OpenSSL objects are
 * borrowed unless a name says otherwise. */
#ifndef SMIME_SMIME_CMS_PRIVATE_H
#define SMIME_SMIME_CMS_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/buf.h"
#include "core/err.h"
#include "smime/signer.h"
#include "smime/smime_config.h"

/* Appends to out the DER of the SMIMECapabilities we announce (AES-256
 * and AES-128, GCM and CBC, in that order of preference). -1 on failure. */
int smime_cms_smimecap(struct buf *out);

/* Appends to der_r a detached CMS SignedData over data[0..n): SHA-256
 * (sha256, prefetched), signed attributes (contentType, signingTime,
 * messageDigest, and SMIMECapabilities from smimecap when not NULL),
 * cert and chain (may be NULL) included, signed by key id through the
 * signer. -1 with e set. */
int smime_cms_sign(const struct signer *s, const char *key_id, X509 *cert,
    STACK_OF(X509) *chain, const EVP_MD *sha256, const struct buf *smimecap,
    const uint8_t *data, size_t n, struct buf *der_r, struct err *e);

/* Appends to der_r a CMS EnvelopedData (CBC) or AuthEnvelopedData (GCM)
 * of data[0..n) with one RecipientInfo per certificate of recips: RSA key
 * transport (PKCS#1 v1.5, or OAEP with oaep_md for hash and MGF1 when
 * oaep), ECDH key agreement for EC keys. -1 with e set. */
int smime_cms_encrypt(STACK_OF(X509) *recips, const EVP_CIPHER *cipher,
    bool oaep, const EVP_MD *oaep_md, const uint8_t *data, size_t n,
    struct buf *der_r, struct err *e);

enum smime_cms_verdict {
	SMIME_CMS_OK = 0,
	SMIME_CMS_NOT_SIGNED,    /* not SignedData, or no signer */
	SMIME_CMS_BAD_SIGNATURE, /* signature or content digest wrong */
	SMIME_CMS_WEAK,          /* MD5/SHA-1 (unless allowed), small key */
	SMIME_CMS_MALFORMED,     /* not DER CMS */
	SMIME_CMS_NO_SIGNER_CERT,/* the signer's certificate is missing */
};

struct smime_cms_signed {
	X509 *signer;            /* owned (up-ref'd) */
	STACK_OF(X509) *certs;   /* owned: every certificate in the message */
	enum smime_digest digest;
	struct buf content;      /* the content of opaque signed-data */
};

/* Verifies SignedData der[0..len): detached over data[0..n) when data is
 * not NULL, else opaque (the content is copied into out->content, bounded
 * by max). Checks the digest (SHA-256/384/512; SHA-1 only when
 * accept_sha1; never MD5), the signature algorithm and the signer's key
 * (RSA >= 2048 bits, EC >= 256 bits), then every signature. Chain and
 * trust are not checked here. Returns the verdict, with a one-line reason
 * in msg; out is filled on SMIME_CMS_OK (release with
 * smime_cms_signed_release, also on other verdicts). */
enum smime_cms_verdict smime_cms_verify(const uint8_t *der, size_t len,
    const uint8_t *data, size_t n, bool accept_sha1, size_t max,
    struct smime_cms_signed *out, char *msg, size_t msg_size);
void smime_cms_signed_release(struct smime_cms_signed *s);

#endif
