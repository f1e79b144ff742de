#include "smime/cms_der_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "core/xmalloc.h"

/* ---- A small DER writer: tags, lengths, bottom-up ---- */

#define T_INT 0x02
#define T_OCTETS 0x04
#define T_NULL 0x05
#define T_OID 0x06
#define T_UTCTIME 0x17
#define T_GENTIME 0x18
#define T_SEQ 0x30
#define T_SET 0x31
#define T_CTX0 0xa0  /* [0] constructed */
#define T_CTX1 0xa1
#define T_CTX0_PRIM 0x80 /* [0] primitive */

static const uint8_t oid_data[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
    0x07, 0x01};
static const uint8_t oid_signed_data[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
    0x01, 0x07, 0x02};
static const uint8_t oid_enveloped_data[] = {0x2a, 0x86, 0x48, 0x86, 0xf7,
    0x0d, 0x01, 0x07, 0x03};
static const uint8_t oid_sha256[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
    0x02, 0x01};
static const uint8_t oid_content_type[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
    0x01, 0x09, 0x03};
static const uint8_t oid_message_digest[] = {0x2a, 0x86, 0x48, 0x86, 0xf7,
    0x0d, 0x01, 0x09, 0x04};
static const uint8_t oid_signing_time[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
    0x01, 0x09, 0x05};
static const uint8_t oid_smime_caps[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
    0x01, 0x09, 0x0f};
static const uint8_t oid_rsa[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
    0x01, 0x01};
static const uint8_t oid_rsaes_oaep[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
    0x01, 0x01, 0x07};
static const uint8_t oid_mgf1[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
    0x01, 0x08};
static const uint8_t oid_ecdsa_sha256[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04,
    0x03, 0x02};
static const uint8_t oid_aes128_cbc[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
    0x04, 0x01, 0x02};
static const uint8_t oid_aes256_cbc[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
    0x04, 0x01, 0x2a};

static size_t
hdr_size(size_t len)
{
	size_t n = 2;

	if (len >= 0x80)
		for (size_t t = len; t > 0; t >>= 8)
			n++;
	return n;
}

static int
put_hdr(struct buf *b, uint8_t tag, size_t len)
{
	uint8_t h[2 + sizeof(size_t)];
	size_t n = 0;

	h[n++] = tag;
	if (len < 0x80) {
		h[n++] = (uint8_t)len;
	} else {
		uint8_t lb[sizeof(size_t)];
		size_t k = 0;

		for (size_t t = len; t > 0; t >>= 8)
			lb[k++] = (uint8_t)(t & 0xff);
		h[n++] = (uint8_t)(0x80 | k);
		while (k > 0)
			h[n++] = lb[--k];
	}
	return buf_append(b, h, n);
}

static int
put_tlv(struct buf *b, uint8_t tag, const void *p, size_t n)
{
	if (put_hdr(b, tag, n) != 0)
		return -1;
	return n == 0 ? 0 : buf_append(b, p, n);
}

/* Wraps the bytes of c into one TLV appended to b. */
static int
put_wrap(struct buf *b, uint8_t tag, const struct buf *c)
{
	return put_tlv(b, tag, c->data, c->len);
}

/* SEQUENCE { OID oid } or SEQUENCE { OID oid, NULL }. */
static int
put_algid(struct buf *b, const uint8_t *oid, size_t oid_len, bool null)
{
	size_t inner = hdr_size(oid_len) + oid_len + (null ? 2 : 0);

	if (put_hdr(b, T_SEQ, inner) != 0 || put_tlv(b, T_OID, oid,
	    oid_len) != 0)
		return -1;
	return null ? put_tlv(b, T_NULL, NULL, 0) : 0;
}

struct enc {
	uint8_t *p;
	size_t len;
};

static int
enc_cmp(const void *a, const void *b)
{
	const struct enc *x = a, *y = b;
	size_t m = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->p, y->p, m);

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* Appends SET OF (tag given) of the n encodings, in DER order. */
static int
put_set_of(struct buf *b, uint8_t tag, struct enc *v, size_t n)
{
	size_t total = 0;

	qsort(v, n, sizeof(*v), enc_cmp);
	for (size_t i = 0; i < n; i++)
		total += v[i].len;
	if (put_hdr(b, tag, total) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (buf_append(b, v[i].p, v[i].len) != 0)
			return -1;
	return 0;
}

/* IssuerAndSerialNumber of x. */
static int
put_issuer_serial(struct buf *b, X509 *x)
{
	unsigned char *name = NULL, *serial = NULL;
	int nl = i2d_X509_NAME(X509_get_issuer_name(x), &name);
	int sl = i2d_ASN1_INTEGER((ASN1_INTEGER *)X509_get0_serialNumber(x),
	    &serial);
	int rc = -1;

	if (nl > 0 && sl > 0 && put_hdr(b, T_SEQ, (size_t)nl + (size_t)sl) ==
	    0 && buf_append(b, name, (size_t)nl) == 0 &&
	    buf_append(b, serial, (size_t)sl) == 0)
		rc = 0;
	OPENSSL_free(name);
	OPENSSL_free(serial);
	return rc;
}

/* ContentInfo { type, [0] EXPLICIT content } where content is one
 * complete TLV. */
static int
put_content_info(struct buf *b, const uint8_t *oid, size_t oid_len,
    const struct buf *content)
{
	size_t inner = hdr_size(oid_len) + oid_len + hdr_size(content->len) +
	    content->len;

	if (put_hdr(b, T_SEQ, inner) != 0 || put_tlv(b, T_OID, oid,
	    oid_len) != 0 || put_wrap(b, T_CTX0, content) != 0)
		return -1;
	return 0;
}

/* ---- SignedData ---- */

/* One Attribute: SEQUENCE { OID, SET { value TLV } }. */
static void
attr(struct enc *a, const uint8_t *oid, size_t oid_len, uint8_t vtag,
    const void *v, size_t vlen)
{
	struct buf b;
	size_t value = hdr_size(vlen) + vlen;

	buf_init(&b, BUF_UNLIMITED);
	if (put_hdr(&b, T_SEQ, hdr_size(oid_len) + oid_len +
	    hdr_size(value) + value) != 0 ||
	    put_tlv(&b, T_OID, oid, oid_len) != 0 ||
	    put_hdr(&b, T_SET, value) != 0 ||
	    put_tlv(&b, vtag, v, vlen) != 0)
		abort();
	a->p = buf_steal(&b, &a->len);
}

/* A complete TLV given as an attribute value (SMIMECapabilities). */
static void
attr_raw(struct enc *a, const uint8_t *oid, size_t oid_len, const uint8_t *v,
    size_t vlen)
{
	struct buf b;

	buf_init(&b, BUF_UNLIMITED);
	if (put_hdr(&b, T_SEQ, hdr_size(oid_len) + oid_len + hdr_size(vlen) +
	    vlen) != 0 || put_tlv(&b, T_OID, oid, oid_len) != 0 ||
	    put_tlv(&b, T_SET, v, vlen) != 0)
		abort();
	a->p = buf_steal(&b, &a->len);
}

int
cms_der_sign(const struct signer *s, const char *key_id, X509 *cert,
    STACK_OF(X509) *chain, const EVP_MD *sha256, const struct buf *smimecap,
    const uint8_t *data, size_t n, time_t now, struct buf *der_r,
    struct err *e)
{
	EVP_PKEY *pk = X509_get0_pubkey(cert);
	/* Type ids, not EVP_PKEY_is_a: that walks the provider name map. */
	bool rsa = pk != NULL && EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA;
	bool ec = pk != NULL && EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct enc attrs[4], *certs = NULL;
	size_t nattrs = 0, ncerts = 0;
	struct buf tbs, sig, si, sd, tmp;
	char tstr[80];
	struct tm tm;
	int rc = -1;

	if (!rsa && !ec)
		return 1;
	buf_init(&tbs, BUF_UNLIMITED);
	buf_init(&sig, BUF_UNLIMITED);
	buf_init(&si, BUF_UNLIMITED);
	buf_init(&sd, BUF_UNLIMITED);
	buf_init(&tmp, BUF_UNLIMITED);
	/* One allocation each for the usual sizes. */
	if (buf_reserve(&tbs, 512) != 0 || buf_reserve(&sig, 1024) != 0 ||
	    buf_reserve(&si, 2048) != 0 || buf_reserve(&sd, 8192) != 0 ||
	    buf_reserve(&tmp, 8192) != 0 || buf_reserve(der_r, 8192) != 0)
		goto full;
	if (EVP_Digest(data, n, md, &mdlen, sha256, NULL) != 1 ||
	    gmtime_r(&now, &tm) == NULL) {
		err_set(e, ERR_INTERNAL, "cannot hash the content");
		goto out;
	}
	/* Signed attributes. */
	attr(&attrs[nattrs++], oid_content_type, sizeof(oid_content_type),
	    T_OID, oid_data, sizeof(oid_data));
	/* UTCTime through 2049, GeneralizedTime after (RFC 5652 11.3). */
	if (tm.tm_year >= 50 && tm.tm_year < 150) {
		snprintf(tstr, sizeof(tstr), "%02d%02d%02d%02d%02d%02dZ",
		    tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		attr(&attrs[nattrs++], oid_signing_time,
		    sizeof(oid_signing_time), T_UTCTIME, tstr, strlen(tstr));
	} else {
		snprintf(tstr, sizeof(tstr), "%04d%02d%02d%02d%02d%02dZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		attr(&attrs[nattrs++], oid_signing_time,
		    sizeof(oid_signing_time), T_GENTIME, tstr, strlen(tstr));
	}
	attr(&attrs[nattrs++], oid_message_digest, sizeof(oid_message_digest),
	    T_OCTETS, md, mdlen);
	if (smimecap != NULL && smimecap->len > 0)
		attr_raw(&attrs[nattrs++], oid_smime_caps,
		    sizeof(oid_smime_caps), smimecap->data, smimecap->len);
	/* What is signed: the attributes as SET OF (RFC 5652 5.4). */
	if (put_set_of(&tbs, T_SET, attrs, nattrs) != 0)
		goto full;
	if (signer_sign(s, key_id, SMIME_SHA256, tbs.data, tbs.len, &sig,
	    e) != 0)
		goto out;

	/* SignerInfo. */
	if (put_tlv(&tmp, T_INT, "\x01", 1) != 0 ||
	    put_issuer_serial(&tmp, cert) != 0 ||
	    put_algid(&tmp, oid_sha256, sizeof(oid_sha256), false) != 0 ||
	    buf_putc(&tmp, T_CTX0) != 0 || /* [0] IMPLICIT signedAttrs */
	    buf_append(&tmp, tbs.data + 1, tbs.len - 1) != 0 ||
	    (rsa ? put_algid(&tmp, oid_rsa, sizeof(oid_rsa), true) :
	    put_algid(&tmp, oid_ecdsa_sha256, sizeof(oid_ecdsa_sha256),
	    false)) != 0 ||
	    put_tlv(&tmp, T_OCTETS, sig.data, sig.len) != 0)
		goto full;
	if (put_hdr(&si, T_SET, hdr_size(tmp.len) + tmp.len) != 0 ||
	    put_wrap(&si, T_SEQ, &tmp) != 0)
		goto full;

	/* Certificates: the signer's and its chain. */
	ncerts = 1 + (chain ? (size_t)sk_X509_num(chain) : 0);
	certs = xcalloc(ncerts, sizeof(*certs));
	for (size_t i = 0; i < ncerts; i++) {
		X509 *x = i == 0 ? cert : sk_X509_value(chain, (int)i - 1);
		unsigned char *d = NULL;
		int len = i2d_X509(x, &d);

		if (len <= 0) {
			err_set(e, ERR_INTERNAL, "cannot encode a certificate");
			goto out;
		}
		certs[i].p = d;
		certs[i].len = (size_t)len;
	}

	/* SignedData. */
	buf_reset(&tmp);
	if (put_tlv(&tmp, T_INT, "\x01", 1) != 0 ||
	    put_hdr(&tmp, T_SET, hdr_size(sizeof(oid_sha256)) + 2 +
	    sizeof(oid_sha256)) != 0 ||
	    put_algid(&tmp, oid_sha256, sizeof(oid_sha256), false) != 0 ||
	    put_hdr(&tmp, T_SEQ, hdr_size(sizeof(oid_data)) +
	    sizeof(oid_data)) != 0 ||
	    put_tlv(&tmp, T_OID, oid_data, sizeof(oid_data)) != 0 ||
	    put_set_of(&tmp, T_CTX0, certs, ncerts) != 0 ||
	    buf_append(&tmp, si.data, si.len) != 0)
		goto full;
	if (put_wrap(&sd, T_SEQ, &tmp) != 0 ||
	    put_content_info(der_r, oid_signed_data, sizeof(oid_signed_data),
	    &sd) != 0)
		goto full;
	rc = 0;
	goto out;
full:
	err_set(e, ERR_PERM, "signature too large");
out:
	for (size_t i = 0; i < nattrs; i++)
		free(attrs[i].p);
	for (size_t i = 0; certs != NULL && i < ncerts; i++)
		OPENSSL_free(certs[i].p);
	free(certs);
	buf_release(&tbs);
	buf_release(&sig);
	buf_release(&si);
	buf_release(&sd);
	buf_release(&tmp);
	ERR_clear_error();
	return rc;
}

/* ---- EnvelopedData ---- */

/* KeyTransRecipientInfo for x with the content-encryption key. */
static int
ktri(struct enc *out, X509 *x, bool oaep, const EVP_MD *oaep_md,
    const uint8_t *key, size_t keylen, struct err *e)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t ek[1024];
	size_t eklen = sizeof(ek);
	struct buf b, alg, t;
	bool sha1 = oaep && EVP_MD_get_type(oaep_md) == NID_sha1;
	int rc = -1;

	buf_init(&b, BUF_UNLIMITED);
	buf_init(&alg, BUF_UNLIMITED);
	buf_init(&t, BUF_UNLIMITED);
	if ((ctx = EVP_PKEY_CTX_new(pk, NULL)) == NULL ||
	    EVP_PKEY_encrypt_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, oaep ? RSA_PKCS1_OAEP_PADDING :
	    RSA_PKCS1_PADDING) != 1 ||
	    (oaep && (EVP_PKEY_CTX_set_rsa_oaep_md(ctx, oaep_md) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, oaep_md) != 1)) ||
	    EVP_PKEY_encrypt(ctx, ek, &eklen, key, keylen) != 1) {
		err_set(e, ERR_PERM, "cannot encrypt the content key to a "
		    "recipient");
		goto out;
	}
	/* keyEncryptionAlgorithm */
	if (!oaep) {
		if (put_algid(&alg, oid_rsa, sizeof(oid_rsa), true) != 0)
			goto full;
	} else if (sha1) {
		/* RSAES-OAEP-params with every default: SHA-1, MGF1-SHA-1. */
		if (put_hdr(&alg, T_SEQ, hdr_size(sizeof(oid_rsaes_oaep)) +
		    sizeof(oid_rsaes_oaep) + 2) != 0 ||
		    put_tlv(&alg, T_OID, oid_rsaes_oaep,
		    sizeof(oid_rsaes_oaep)) != 0 ||
		    put_hdr(&alg, T_SEQ, 0) != 0)
			goto full;
	} else {
		struct buf h, m, p;
		int r;

		buf_init(&h, BUF_UNLIMITED);
		buf_init(&m, BUF_UNLIMITED);
		buf_init(&p, BUF_UNLIMITED);
		r = put_algid(&t, oid_sha256, sizeof(oid_sha256), false) |
		    put_wrap(&h, T_CTX0, &t);
		buf_reset(&t);
		r |= put_tlv(&t, T_OID, oid_mgf1, sizeof(oid_mgf1)) |
		    put_algid(&t, oid_sha256, sizeof(oid_sha256), false);
		r |= put_wrap(&p, T_SEQ, &t);
		r |= put_wrap(&m, T_CTX1, &p);
		buf_reset(&t);
		r |= buf_append(&t, h.data, h.len) |
		    buf_append(&t, m.data, m.len);
		buf_reset(&p);
		r |= put_wrap(&p, T_SEQ, &t); /* RSAES-OAEP-params */
		buf_reset(&t);
		r |= put_tlv(&t, T_OID, oid_rsaes_oaep,
		    sizeof(oid_rsaes_oaep)) | buf_append(&t, p.data, p.len);
		r |= put_wrap(&alg, T_SEQ, &t);
		buf_release(&h);
		buf_release(&m);
		buf_release(&p);
		if (r != 0)
			goto full;
	}
	buf_reset(&t);
	if (put_tlv(&t, T_INT, "\x00", 1) != 0 ||
	    put_issuer_serial(&t, x) != 0 ||
	    buf_append(&t, alg.data, alg.len) != 0 ||
	    put_tlv(&t, T_OCTETS, ek, eklen) != 0 ||
	    put_wrap(&b, T_SEQ, &t) != 0)
		goto full;
	out->p = buf_steal(&b, &out->len);
	rc = 0;
	goto out;
full:
	err_set(e, ERR_INTERNAL, "cannot encode a RecipientInfo");
out:
	EVP_PKEY_CTX_free(ctx);
	buf_release(&b);
	buf_release(&alg);
	buf_release(&t);
	ERR_clear_error();
	return rc;
}

int
cms_der_encrypt(STACK_OF(X509) *recips, const EVP_CIPHER *cipher, bool oaep,
    const EVP_MD *oaep_md, const uint8_t *data, size_t n, struct buf *der_r,
    struct err *e)
{
	const uint8_t *coid;
	size_t coid_len, nr = (size_t)sk_X509_num(recips);
	uint8_t key[32], iv[16], rnd[48];
	int keylen = EVP_CIPHER_get_key_length(cipher), outl = 0, fin = 0;
	EVP_CIPHER_CTX *ctx = NULL;
	struct enc *ris = NULL;
	struct buf ct, head, tmp;
	size_t eci_len, alg_len, env_len, ci_len, start = der_r->len;
	int rc = -1;

	if (EVP_CIPHER_get_nid(cipher) == NID_aes_128_cbc) {
		coid = oid_aes128_cbc;
		coid_len = sizeof(oid_aes128_cbc);
	} else if (EVP_CIPHER_get_nid(cipher) == NID_aes_256_cbc) {
		coid = oid_aes256_cbc;
		coid_len = sizeof(oid_aes256_cbc);
	} else {
		return 1;
	}
	for (size_t i = 0; i < nr; i++)
		if (EVP_PKEY_get_base_id(X509_get0_pubkey(sk_X509_value(
		    recips, (int)i))) != EVP_PKEY_RSA)
			return 1;
	if (nr == 0 || keylen <= 0 || (size_t)keylen > sizeof(key) ||
	    n > INT32_MAX - 64)
		return err_set(e, ERR_PERM, "nothing to encrypt to");
	buf_init(&ct, BUF_UNLIMITED);
	buf_init(&head, BUF_UNLIMITED);
	buf_init(&tmp, BUF_UNLIMITED);
	ris = xcalloc(nr, sizeof(*ris));
	/* Key and IV from one call to the private generator. */
	if (RAND_priv_bytes(rnd, keylen + (int)sizeof(iv)) != 1) {
		OPENSSL_cleanse(rnd, sizeof(rnd));
		err_set(e, ERR_TEMP, "no randomness");
		goto out;
	}
	memcpy(key, rnd, (size_t)keylen);
	memcpy(iv, rnd + keylen, sizeof(iv));
	OPENSSL_cleanse(rnd, sizeof(rnd));
	/* The content. */
	if (buf_reserve(&ct, n + 32) != 0 ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(ctx, cipher, NULL, key, iv) != 1 ||
	    EVP_EncryptUpdate(ctx, ct.data, &outl, data, (int)n) != 1 ||
	    EVP_EncryptFinal_ex(ctx, ct.data + outl, &fin) != 1) {
		err_set(e, ERR_INTERNAL, "cannot encrypt the content");
		goto out;
	}
	ct.len = (size_t)outl + (size_t)fin;
	/* One RecipientInfo per certificate. */
	for (size_t i = 0; i < nr; i++)
		if (ktri(&ris[i], sk_X509_value(recips, (int)i), oaep, oaep_md,
		    key, (size_t)keylen, e) != 0)
			goto out;

	/* Everything before the ciphertext, then the ciphertext. */
	if (put_tlv(&head, T_INT, "\x00", 1) != 0 ||
	    put_set_of(&head, T_SET, ris, nr) != 0)
		goto full;
	alg_len = hdr_size(coid_len) + coid_len + hdr_size(sizeof(iv)) +
	    sizeof(iv);
	eci_len = hdr_size(sizeof(oid_data)) + sizeof(oid_data) +
	    hdr_size(alg_len) + alg_len + hdr_size(ct.len) + ct.len;
	env_len = head.len + hdr_size(eci_len) + eci_len;
	ci_len = hdr_size(sizeof(oid_enveloped_data)) +
	    sizeof(oid_enveloped_data) + hdr_size(hdr_size(env_len) +
	    env_len) + hdr_size(env_len) + env_len;
	if (buf_reserve(der_r, hdr_size(ci_len) + ci_len) != 0 ||
	    put_hdr(der_r, T_SEQ, ci_len) != 0 ||
	    put_tlv(der_r, T_OID, oid_enveloped_data,
	    sizeof(oid_enveloped_data)) != 0 ||
	    put_hdr(der_r, T_CTX0, hdr_size(env_len) + env_len) != 0 ||
	    put_hdr(der_r, T_SEQ, env_len) != 0 ||
	    buf_append(der_r, head.data, head.len) != 0 ||
	    put_hdr(der_r, T_SEQ, eci_len) != 0 ||
	    put_tlv(der_r, T_OID, oid_data, sizeof(oid_data)) != 0 ||
	    put_hdr(der_r, T_SEQ, alg_len) != 0 ||
	    put_tlv(der_r, T_OID, coid, coid_len) != 0 ||
	    put_tlv(der_r, T_OCTETS, iv, sizeof(iv)) != 0 ||
	    put_tlv(der_r, T_CTX0_PRIM, ct.data, ct.len) != 0)
		goto full;
	rc = 0;
	goto out;
full:
	err_set(e, ERR_PERM, "enveloped data too large");
out:
	if (rc != 0)
		buf_truncate(der_r, start < der_r->len ? start : der_r->len);
	OPENSSL_cleanse(key, sizeof(key));
	EVP_CIPHER_CTX_free(ctx);
	for (size_t i = 0; i < nr; i++)
		free(ris[i].p);
	free(ris);
	buf_release(&ct);
	buf_release(&head);
	buf_release(&tmp);
	ERR_clear_error();
	return rc;
}
