/* Certificate factory for the certs unit tests: keys, CA, intermediates,
 * leaves with the extensions the validation rules look at, CRLs and
 * PKCS#7 bundles, all with the OpenSSL API. Header-only (static) so each
 * test executable includes it. Aborts on any OpenSSL failure. */
#ifndef TESTS_UNIT_CERTS_CERTGEN_H
#define TESTS_UNIT_CERTS_CERTGEN_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/buf.h"

#define CG_CHECK(x) do { if (!(x)) { ERR_print_errors_fp(stderr); \
	fprintf(stderr, "certgen: %s failed at %s:%d\n", #x, __FILE__, \
	__LINE__); abort(); } } while (0)

/* The fixed "now" of the tests: 2026-01-01T00:00:00Z. */
#define CG_NOW ((time_t)1767225600)
#define CG_DAY 86400L

struct cg_opts {
	const char *cn;
	const char *san;           /* "email:a@b.example,DNS:b.example" */
	const char *subject_email; /* emailAddress in the subject */
	bool ca;
	int pathlen;               /* -1 none */
	const char *ku;            /* keyUsage value, NULL: by role */
	const char *aia;           /* caIssuers URL */
	const char *crl;           /* CRL distribution point URL */
	const EVP_MD *md;          /* NULL: SHA-256 */
	long nb_days;              /* notBefore = CG_NOW + nb_days */
	long na_days;              /* notAfter = CG_NOW + na_days */
	long serial;
};

static inline struct cg_opts
cg_defaults(const char *cn)
{
	struct cg_opts o;

	memset(&o, 0, sizeof(o));
	o.cn = cn;
	o.pathlen = -1;
	o.nb_days = -30;
	o.na_days = 365;
	return o;
}

static inline EVP_PKEY *
cg_rsa(int bits)
{
	EVP_PKEY *k = EVP_RSA_gen((unsigned)bits);

	CG_CHECK(k != NULL);
	return k;
}

static inline EVP_PKEY *
cg_ec(const char *curve)
{
	EVP_PKEY *k = EVP_EC_gen(curve);

	CG_CHECK(k != NULL);
	return k;
}

static inline void
cg_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ex;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	ex = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	CG_CHECK(ex != NULL);
	CG_CHECK(X509_add_ext(x, ex, -1));
	X509_EXTENSION_free(ex);
}

static long cg_serial_next = 1000;

/* A certificate for key, issued by issuer/ikey (self-signed if NULL). */
static inline X509 *
cg_cert(const struct cg_opts *o, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey)
{
	X509 *x = X509_new();
	X509_NAME *n;
	char buf[512];

	CG_CHECK(x != NULL);
	CG_CHECK(X509_set_version(x, 2));
	CG_CHECK(ASN1_INTEGER_set(X509_get_serialNumber(x),
	    o->serial != 0 ? o->serial : cg_serial_next++));
	n = X509_get_subject_name(x);
	CG_CHECK(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)o->cn, -1, -1, 0));
	if (o->subject_email != NULL)
		CG_CHECK(X509_NAME_add_entry_by_txt(n, "emailAddress",
		    MBSTRING_UTF8, (const unsigned char *)o->subject_email, -1,
		    -1, 0));
	CG_CHECK(X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : n));
	CG_CHECK(X509_time_adj_ex(X509_getm_notBefore(x), (int)o->nb_days, 0,
	    &(time_t){CG_NOW}) != NULL);
	CG_CHECK(X509_time_adj_ex(X509_getm_notAfter(x), (int)o->na_days, 0,
	    &(time_t){CG_NOW}) != NULL);
	CG_CHECK(X509_set_pubkey(x, key));
	if (issuer == NULL) {
		issuer = x;
		ikey = key;
	}
	cg_ext(x, issuer, NID_subject_key_identifier, "hash");
	cg_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
	if (o->ca) {
		if (o->pathlen >= 0)
			snprintf(buf, sizeof(buf), "critical,CA:TRUE,pathlen:%d",
			    o->pathlen);
		else
			snprintf(buf, sizeof(buf), "critical,CA:TRUE");
		cg_ext(x, issuer, NID_basic_constraints, buf);
		cg_ext(x, issuer, NID_key_usage, o->ku != NULL ? o->ku :
		    "critical,keyCertSign,cRLSign");
	} else {
		cg_ext(x, issuer, NID_basic_constraints, "CA:FALSE");
		if (o->ku == NULL || *o->ku != '\0')
			cg_ext(x, issuer, NID_key_usage, o->ku != NULL ? o->ku :
			    "critical,digitalSignature,keyEncipherment");
	}
	if (o->san != NULL)
		cg_ext(x, issuer, NID_subject_alt_name, o->san);
	if (o->aia != NULL) {
		snprintf(buf, sizeof(buf), "caIssuers;URI:%s", o->aia);
		cg_ext(x, issuer, NID_info_access, buf);
	}
	if (o->crl != NULL) {
		snprintf(buf, sizeof(buf), "URI:%s", o->crl);
		cg_ext(x, issuer, NID_crl_distribution_points, buf);
	}
	CG_CHECK(X509_sign(x, ikey, o->md != NULL ? o->md : EVP_sha256()) > 0);
	return x;
}

/* A CRL of issuer revoking the given certificates (may be none). */
static inline X509_CRL *
cg_crl(X509 *issuer, EVP_PKEY *ikey, X509 **revoked, int n, long next_days)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();

	CG_CHECK(crl != NULL && t != NULL);
	CG_CHECK(X509_CRL_set_version(crl, 1));
	CG_CHECK(X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)));
	CG_CHECK(X509_time_adj_ex(t, -1, 0, &(time_t){CG_NOW}) != NULL);
	CG_CHECK(X509_CRL_set1_lastUpdate(crl, t));
	CG_CHECK(X509_time_adj_ex(t, (int)next_days, 0, &(time_t){CG_NOW}) !=
	    NULL);
	CG_CHECK(X509_CRL_set1_nextUpdate(crl, t));
	for (int i = 0; i < n; i++) {
		X509_REVOKED *r = X509_REVOKED_new();

		CG_CHECK(r != NULL);
		CG_CHECK(X509_REVOKED_set_serialNumber(r,
		    X509_get_serialNumber(revoked[i])));
		CG_CHECK(X509_time_adj_ex(t, -2, 0, &(time_t){CG_NOW}) != NULL);
		CG_CHECK(X509_REVOKED_set_revocationDate(r, t));
		CG_CHECK(X509_CRL_add0_revoked(crl, r));
	}
	CG_CHECK(X509_CRL_sort(crl));
	CG_CHECK(X509_CRL_sign(crl, ikey, EVP_sha256()) > 0);
	ASN1_TIME_free(t);
	return crl;
}

static inline void
cg_der_x509(X509 *x, struct buf *out)
{
	unsigned char *p = NULL;
	int n = i2d_X509(x, &p);

	CG_CHECK(n > 0);
	CG_CHECK(buf_append(out, p, (size_t)n) == 0);
	OPENSSL_free(p);
}

static inline void
cg_der_crl(X509_CRL *c, struct buf *out)
{
	unsigned char *p = NULL;
	int n = i2d_X509_CRL(c, &p);

	CG_CHECK(n > 0);
	CG_CHECK(buf_append(out, p, (size_t)n) == 0);
	OPENSSL_free(p);
}

static inline void
cg_pem_x509(X509 *x, struct buf *out)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	CG_CHECK(b != NULL && PEM_write_bio_X509(b, x) == 1);
	n = BIO_get_mem_data(b, &p);
	CG_CHECK(buf_append(out, p, (size_t)n) == 0);
	BIO_free(b);
}

static inline void
cg_pem_key(EVP_PKEY *k, struct buf *out)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	CG_CHECK(b != NULL && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0,
	    NULL, NULL) == 1);
	n = BIO_get_mem_data(b, &p);
	CG_CHECK(buf_append(out, p, (size_t)n) == 0);
	BIO_free(b);
}

/* A certs-only PKCS#7 (a .p7b bundle) holding certs, DER or PEM. */
static inline void
cg_p7b(X509 **certs, int n, bool pem, struct buf *out)
{
	PKCS7 *p7 = PKCS7_new();

	CG_CHECK(p7 != NULL);
	CG_CHECK(PKCS7_set_type(p7, NID_pkcs7_signed));
	CG_CHECK(PKCS7_content_new(p7, NID_pkcs7_data));
	for (int i = 0; i < n; i++)
		CG_CHECK(PKCS7_add_certificate(p7, certs[i]));
	if (pem) {
		BIO *b = BIO_new(BIO_s_mem());
		char *p;
		long len;

		CG_CHECK(b != NULL && PEM_write_bio_PKCS7(b, p7) == 1);
		len = BIO_get_mem_data(b, &p);
		CG_CHECK(buf_append(out, p, (size_t)len) == 0);
		BIO_free(b);
	} else {
		unsigned char *p = NULL;
		int len = i2d_PKCS7(p7, &p);

		CG_CHECK(len > 0);
		CG_CHECK(buf_append(out, p, (size_t)len) == 0);
		OPENSSL_free(p);
	}
	PKCS7_free(p7);
}

/* An in-memory HTTP server for the http_fetch_fn seam. */
struct cg_web {
	struct {
		char url[256];
		struct buf body;
		int status; /* 0 serve; else an error of that err kind */
	} page[16];
	int n;
	int hits;
};

static inline void
cg_web_put(struct cg_web *w, const char *url, const void *p, size_t n)
{
	CG_CHECK(w->n < 16);
	snprintf(w->page[w->n].url, sizeof(w->page[w->n].url), "%s", url);
	buf_init(&w->page[w->n].body, BUF_UNLIMITED);
	CG_CHECK(buf_append(&w->page[w->n].body, p, n) == 0);
	w->page[w->n].status = 0;
	w->n++;
}

static inline void
cg_web_free(struct cg_web *w)
{
	for (int i = 0; i < w->n; i++)
		buf_release(&w->page[i].body);
	w->n = 0;
}

static inline int
cg_web_fetch(void *arg, const char *url, size_t max_size, int64_t timeout_ms,
    struct buf *out, struct err *e)
{
	struct cg_web *w = arg;

	(void)timeout_ms;
	w->hits++;
	for (int i = 0; i < w->n; i++) {
		if (strcmp(w->page[i].url, url) != 0)
			continue;
		if (w->page[i].body.len > max_size)
			return err_set(e, ERR_PERM, "too large");
		if (buf_append(out, w->page[i].body.data,
		    w->page[i].body.len) != 0)
			return err_set(e, ERR_PERM, "too large");
		return 0;
	}
	return err_set(e, ERR_TEMP, "%s: connection refused", url);
}

#endif
