/* Test certificates for the smime unit tests, made with OpenSSL at run
 * time: keys, a CA, leaf certificates with subjectAltName, PEM and DER
 * output. Static functions (marked unused: not every test needs each):
 * include once per test program. */
#ifndef TESTS_UNIT_SMIME_TESTCERTS_H
#define TESTS_UNIT_SMIME_TESTCERTS_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/buf.h"

static __attribute__((unused)) EVP_PKEY *
tc_key_rsa(unsigned bits)
{
	EVP_PKEY *k = EVP_RSA_gen(bits);

	if (k == NULL)
		abort();
	return k;
}

static __attribute__((unused)) EVP_PKEY *
tc_key_ec(const char *curve)
{
	EVP_PKEY *k = EVP_EC_gen(curve);

	if (k == NULL)
		abort();
	return k;
}

static __attribute__((unused)) void
tc_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ex;

	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ex == NULL || X509_add_ext(x, ex, -1) != 1)
		abort();
	X509_EXTENSION_free(ex);
}

/* A certificate for key, issued by issuer/ikey (self-signed when issuer
 * is NULL: ikey signs). san like "email:a@b.test" or "DNS:b.test" (NULL
 * for none). Validity [now + nb, now + na] in seconds. */
static __attribute__((unused)) X509 *
tc_cert(X509 *issuer, EVP_PKEY *ikey, EVP_PKEY *key, const char *cn,
    const char *san, bool ca, long nb, long na, const EVP_MD *md)
{
	static long serial = 1000;
	X509 *x = X509_new();
	X509_NAME *n;

	if (x == NULL)
		abort();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), nb);
	X509_gmtime_adj(X509_getm_notAfter(x), na);
	X509_set_pubkey(x, key);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	if (ca) {
		tc_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
		tc_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		tc_ext(x, issuer, NID_basic_constraints, "CA:FALSE");
		tc_ext(x, issuer, NID_key_usage,
		    "digitalSignature,keyEncipherment");
	}
	tc_ext(x, issuer, NID_subject_key_identifier, "hash");
	if (san != NULL)
		tc_ext(x, issuer, NID_subject_alt_name, san);
	if (X509_sign(x, ikey, md ? md : EVP_sha256()) <= 0)
		abort();
	return x;
}

static __attribute__((unused)) void
tc_pem_key(EVP_PKEY *k, struct buf *out)
{
	BIO *b = BIO_new(BIO_s_mem());
	BUF_MEM *bm;

	if (b == NULL || PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL,
	    NULL) != 1)
		abort();
	BIO_get_mem_ptr(b, &bm);
	if (buf_append(out, bm->data, bm->length) != 0)
		abort();
	BIO_free(b);
}

static __attribute__((unused)) void
tc_pem_cert(X509 *x, struct buf *out)
{
	BIO *b = BIO_new(BIO_s_mem());
	BUF_MEM *bm;

	if (b == NULL || PEM_write_bio_X509(b, x) != 1)
		abort();
	BIO_get_mem_ptr(b, &bm);
	if (buf_append(out, bm->data, bm->length) != 0)
		abort();
	BIO_free(b);
}

static __attribute__((unused)) void
tc_der_cert(X509 *x, struct buf *out)
{
	unsigned char *d = NULL;
	int len = i2d_X509(x, &d);

	if (len <= 0 || buf_append(out, d, (size_t)len) != 0)
		abort();
	OPENSSL_free(d);
}

#endif
