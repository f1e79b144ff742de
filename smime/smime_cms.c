#include "smime/smime_cms_private.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include "core/str.h"
#include "core/xmalloc.h"

static int
der_out(CMS_ContentInfo *cms, struct buf *der_r, struct err *e)
{
	unsigned char *der = NULL;
	int len = i2d_CMS_ContentInfo(cms, &der); /* one encoding pass */
	int rc = 0;

	if (len <= 0)
		return err_set(e, ERR_INTERNAL, "cannot encode CMS");
	if (buf_append(der_r, der, (size_t)len) != 0)
		rc = err_set(e, ERR_PERM, "CMS larger than %zu bytes",
		    der_r->max);
	OPENSSL_free(der);
	return rc;
}

struct der_enc {
	unsigned char *p;
	int len;
};

/* The order of DER SET OF (X.690 11.6), as OpenSSL sorts it. */
static int
der_enc_cmp(const void *a, const void *b)
{
	const struct der_enc *x = a, *y = b;
	int m = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->p, y->p, (size_t)m);

	return c != 0 ? c : x->len - y->len;
}

/* The DER of the signed attributes as a SET OF: what the signature
 * covers (RFC 5652 5.4). */
static int
signed_attrs_der(CMS_SignerInfo *si, struct buf *out, struct err *e)
{
	int n = CMS_signed_get_attr_count(si);
	struct der_enc *v;
	size_t total = 0;
	int rc = -1;

	if (n <= 0)
		return err_set(e, ERR_INTERNAL, "no signed attributes");
	v = xcalloc((size_t)n, sizeof(*v));
	for (int i = 0; i < n; i++) {
		X509_ATTRIBUTE *a = CMS_signed_get_attr(si, i);

		v[i].p = NULL;
		v[i].len = i2d_X509_ATTRIBUTE(a, &v[i].p);
		if (v[i].len <= 0) {
			err_set(e, ERR_INTERNAL, "cannot encode attribute");
			goto out;
		}
		total += (size_t)v[i].len;
	}
	qsort(v, (size_t)n, sizeof(*v), der_enc_cmp);
	if (buf_putc(out, 0x31) != 0)
		goto full;
	if (total < 0x80) {
		if (buf_putc(out, (uint8_t)total) != 0)
			goto full;
	} else {
		uint8_t lb[8];
		int k = 0;

		for (size_t t = total; t > 0; t >>= 8)
			lb[k++] = (uint8_t)(t & 0xff);
		if (buf_putc(out, (uint8_t)(0x80 | k)) != 0)
			goto full;
		while (k > 0)
			if (buf_putc(out, lb[--k]) != 0)
				goto full;
	}
	for (int i = 0; i < n; i++)
		if (buf_append(out, v[i].p, (size_t)v[i].len) != 0)
			goto full;
	rc = 0;
	goto out;
full:
	err_set(e, ERR_INTERNAL, "signed attributes too large");
out:
	for (int i = 0; i < n; i++)
		OPENSSL_free(v[i].p);
	free(v);
	return rc;
}

int
smime_cms_smimecap(struct buf *out)
{
	STACK_OF(X509_ALGOR) *algs = NULL;
	unsigned char *der = NULL;
	int len, rc = -1;

	if (CMS_add_simple_smimecap(&algs, NID_aes_256_gcm, -1) == 1 &&
	    CMS_add_simple_smimecap(&algs, NID_aes_128_gcm, -1) == 1 &&
	    CMS_add_simple_smimecap(&algs, NID_aes_256_cbc, -1) == 1 &&
	    CMS_add_simple_smimecap(&algs, NID_aes_128_cbc, -1) == 1 &&
	    (len = i2d_X509_ALGORS(algs, &der)) > 0 &&
	    buf_append(out, der, (size_t)len) == 0)
		rc = 0;
	OPENSSL_free(der);
	sk_X509_ALGOR_pop_free(algs, X509_ALGOR_free);
	ERR_clear_error();
	return rc;
}

int
smime_cms_sign(const struct signer *s, const char *key_id, X509 *cert,
    STACK_OF(X509) *chain, const EVP_MD *sha256, const struct buf *smimecap,
    const uint8_t *data, size_t n, struct buf *der_r, struct err *e)
{
	const unsigned flags = CMS_PARTIAL | CMS_DETACHED | CMS_BINARY;
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	ASN1_TIME *now = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct buf tbs, sig;
	unsigned char *sigcopy;
	int rc = -1;

	buf_init(&tbs, 1 << 20);
	buf_init(&sig, 16384);
	if ((cms = CMS_sign(NULL, NULL, NULL, NULL, flags)) == NULL) {
		err_set(e, ERR_INTERNAL, "CMS_sign failed");
		goto out;
	}
	si = CMS_add1_signer(cms, cert, X509_get0_pubkey(cert), sha256,
	    flags | CMS_NOSMIMECAP);
	if (si == NULL) {
		err_set(e, ERR_PERM, "cannot sign with this certificate's key "
		    "type");
		goto out;
	}
	for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++)
		if (CMS_add1_cert(cms, sk_X509_value(chain, i)) < 0) {
			err_set(e, ERR_INTERNAL, "cannot add a certificate");
			goto out;
		}
	if (EVP_Digest(data, n, md, &mdlen, sha256, NULL) != 1 ||
	    (now = X509_gmtime_adj(NULL, 0)) == NULL) {
		err_set(e, ERR_INTERNAL, "cannot hash the content");
		goto out;
	}
	if (CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType,
	    V_ASN1_OBJECT, OBJ_nid2obj(NID_pkcs7_data), -1) != 1 ||
	    CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, now->type,
	    now, -1) != 1 ||
	    CMS_signed_add1_attr_by_NID(si, NID_pkcs9_messageDigest,
	    V_ASN1_OCTET_STRING, md, (int)mdlen) != 1 ||
	    (smimecap != NULL && smimecap->len > 0 &&
	    CMS_signed_add1_attr_by_NID(si, NID_SMIMECapabilities,
	    V_ASN1_SEQUENCE, smimecap->data, (int)smimecap->len) != 1)) {
		err_set(e, ERR_INTERNAL, "cannot add signed attributes");
		goto out;
	}
	if (signed_attrs_der(si, &tbs, e) != 0)
		goto out;
	if (signer_sign(s, key_id, SMIME_SHA256, tbs.data, tbs.len, &sig,
	    e) != 0)
		goto out;
	if ((sigcopy = OPENSSL_memdup(sig.data, sig.len)) == NULL)
		abort();
	ASN1_STRING_set0(CMS_SignerInfo_get0_signature(si), sigcopy,
	    (int)sig.len);
	rc = der_out(cms, der_r, e);
out:
	ERR_clear_error();
	ASN1_TIME_free(now);
	CMS_ContentInfo_free(cms);
	buf_release(&tbs);
	buf_release(&sig);
	return rc;
}

int
smime_cms_encrypt(STACK_OF(X509) *recips, const EVP_CIPHER *cipher,
    bool oaep, const EVP_MD *oaep_md, const uint8_t *data, size_t n,
    struct buf *der_r, struct err *e)
{
	const unsigned flags = CMS_BINARY | CMS_PARTIAL;
	CMS_ContentInfo *cms = NULL;
	BIO *in = NULL;
	int rc = -1;

	if (n > INT32_MAX)
		return err_set(e, ERR_PERM, "content too large");
	if ((cms = CMS_encrypt(NULL, NULL, cipher, flags)) == NULL) {
		err_set(e, ERR_INTERNAL, "CMS_encrypt failed");
		goto out;
	}
	for (int i = 0; i < sk_X509_num(recips); i++) {
		X509 *x = sk_X509_value(recips, i);
		bool rsa = EVP_PKEY_is_a(X509_get0_pubkey(x), "RSA");
		CMS_RecipientInfo *ri;

		ri = CMS_add1_recipient_cert(cms, x,
		    rsa && oaep ? CMS_KEY_PARAM : 0);
		if (ri == NULL) {
			err_set(e, ERR_PERM, "cannot encrypt to recipient "
			    "certificate %d", i + 1);
			goto out;
		}
		if (rsa && oaep) {
			EVP_PKEY_CTX *pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);

			if (pctx == NULL ||
			    EVP_PKEY_CTX_set_rsa_padding(pctx,
			    RSA_PKCS1_OAEP_PADDING) <= 0 ||
			    EVP_PKEY_CTX_set_rsa_oaep_md(pctx, oaep_md) <= 0 ||
			    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, oaep_md) <= 0) {
				err_set(e, ERR_INTERNAL, "cannot set RSA-OAEP");
				goto out;
			}
		}
	}
	if ((in = BIO_new_mem_buf(data, (int)n)) == NULL)
		abort();
	if (CMS_final(cms, in, NULL, flags) != 1) {
		err_set(e, ERR_INTERNAL, "cannot encrypt the content");
		goto out;
	}
	rc = der_out(cms, der_r, e);
out:
	ERR_clear_error();
	BIO_free(in);
	CMS_ContentInfo_free(cms);
	return rc;
}

void
smime_cms_signed_release(struct smime_cms_signed *s)
{
	if (s == NULL)
		return;
	X509_free(s->signer);
	sk_X509_pop_free(s->certs, X509_free);
	buf_release(&s->content);
	s->signer = NULL;
	s->certs = NULL;
}

static enum smime_cms_verdict
verdict(char *msg, size_t size, enum smime_cms_verdict v, const char *what)
{
	unsigned long ec = ERR_peek_last_error();

	if (ec != 0 && v != SMIME_CMS_WEAK)
		str_fmt(msg, size, "%s (%s)", what,
		    ERR_reason_error_string(ec) ? ERR_reason_error_string(ec) :
		    "?");
	else
		str_lcpy(msg, what, size);
	ERR_clear_error();
	return v;
}

/* The digest NID's place in policy: 1 good, 0 weak (SHA-1 unless
 * allowed), -1 never. */
static int
digest_ok(int nid, bool accept_sha1, enum smime_digest *d_r)
{
	switch (nid) {
	case NID_sha256:
		*d_r = SMIME_SHA256;
		return 1;
	case NID_sha384:
		*d_r = SMIME_SHA384;
		return 1;
	case NID_sha512:
		*d_r = SMIME_SHA512;
		return 1;
	case NID_sha1:
		*d_r = SMIME_SHA1;
		return accept_sha1 ? 1 : 0;
	default:
		return -1;
	}
}

/* Checks every SignerInfo's algorithms and key against the policy. */
static enum smime_cms_verdict
check_algorithms(CMS_ContentInfo *cms, bool accept_sha1,
    enum smime_digest *d_r, char *msg, size_t size)
{
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);

	if (sk_CMS_SignerInfo_num(sis) <= 0)
		return verdict(msg, size, SMIME_CMS_NOT_SIGNED,
		    "SignedData without a signer");
	for (int i = 0; i < sk_CMS_SignerInfo_num(sis); i++) {
		CMS_SignerInfo *si = sk_CMS_SignerInfo_value(sis, i);
		X509_ALGOR *dig = NULL, *sig = NULL;
		int dnid, snid, mdnid = NID_undef, pknid = NID_undef;

		CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &sig);
		if (dig == NULL || sig == NULL)
			return verdict(msg, size, SMIME_CMS_MALFORMED,
			    "SignerInfo without algorithms");
		dnid = OBJ_obj2nid(dig->algorithm);
		if (digest_ok(dnid, accept_sha1, d_r) <= 0) {
			char m[96];

			str_fmt(m, sizeof(m), "digest %s not accepted",
			    dnid != NID_undef ? OBJ_nid2sn(dnid) : "unknown");
			return verdict(msg, size, SMIME_CMS_WEAK, m);
		}
		snid = OBJ_obj2nid(sig->algorithm);
		if (OBJ_find_sigid_algs(snid, &mdnid, &pknid) == 1 &&
		    mdnid != NID_undef) {
			enum smime_digest d2;

			if (digest_ok(mdnid, accept_sha1, &d2) <= 0) {
				char m[96];

				str_fmt(m, sizeof(m), "signature algorithm %s "
				    "not accepted", OBJ_nid2sn(snid));
				return verdict(msg, size, SMIME_CMS_WEAK, m);
			}
		} else if (snid != NID_rsaEncryption &&
		    snid != NID_rsassaPss && snid != NID_X9_62_id_ecPublicKey) {
			return verdict(msg, size, SMIME_CMS_WEAK,
			    "unknown signature algorithm");
		}
	}
	return SMIME_CMS_OK;
}

static enum smime_cms_verdict
check_signer_key(X509 *x, char *msg, size_t size)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	int bits;

	if (pk == NULL)
		return verdict(msg, size, SMIME_CMS_MALFORMED,
		    "signer certificate without a usable key");
	bits = EVP_PKEY_get_bits(pk);
	if (EVP_PKEY_is_a(pk, "RSA") || EVP_PKEY_is_a(pk, "RSA-PSS")) {
		if (bits < 2048)
			return verdict(msg, size, SMIME_CMS_WEAK,
			    "signer RSA key shorter than 2048 bits");
	} else if (EVP_PKEY_is_a(pk, "EC")) {
		if (bits < 256)
			return verdict(msg, size, SMIME_CMS_WEAK,
			    "signer EC key shorter than 256 bits");
	} else {
		return verdict(msg, size, SMIME_CMS_WEAK,
		    "signer key type not accepted");
	}
	return SMIME_CMS_OK;
}

enum smime_cms_verdict
smime_cms_verify(const uint8_t *der, size_t len, const uint8_t *data, size_t n,
    bool accept_sha1, size_t max, struct smime_cms_signed *out, char *msg,
    size_t msg_size)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = NULL;
	BIO *dcont = NULL, *mem = NULL;
	STACK_OF(X509) *signers = NULL;
	enum smime_cms_verdict v;
	unsigned flags = CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY;

	memset(out, 0, sizeof(*out));
	buf_init(&out->content, max);
	msg[0] = '\0';
	if (len > INT32_MAX || n > INT32_MAX)
		return verdict(msg, msg_size, SMIME_CMS_MALFORMED, "too large");
	ERR_clear_error();
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (cms == NULL) {
		v = verdict(msg, msg_size, SMIME_CMS_MALFORMED,
		    "signature is not DER CMS");
		goto out;
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		v = verdict(msg, msg_size, SMIME_CMS_NOT_SIGNED,
		    "CMS object is not SignedData");
		goto out;
	}
	if ((v = check_algorithms(cms, accept_sha1, &out->digest, msg,
	    msg_size)) != SMIME_CMS_OK)
		goto out;
	if (data != NULL) {
		BIO *src;

		/* Not a bare memory BIO: OpenSSL 3.0's CMS_verify copies one
		 * into a BIO it leaks when CMS_dataInit fails (an unknown
		 * digest in digestAlgorithms, found by fuzzing). */
		if ((src = BIO_new_mem_buf(data, (int)n)) == NULL ||
		    (dcont = BIO_new(BIO_f_buffer())) == NULL)
			abort();
		BIO_push(dcont, src);
		if (CMS_get0_content(cms) != NULL &&
		    *CMS_get0_content(cms) != NULL) {
			v = verdict(msg, msg_size, SMIME_CMS_MALFORMED,
			    "detached signature carries content");
			goto out;
		}
	} else {
		if ((mem = BIO_new(BIO_s_mem())) == NULL)
			abort();
	}
	if (CMS_verify(cms, NULL, NULL, dcont, mem, flags) != 1) {
		unsigned long ec = ERR_peek_last_error();

		if (ERR_GET_LIB(ec) == ERR_LIB_CMS &&
		    ERR_GET_REASON(ec) == CMS_R_SIGNER_CERTIFICATE_NOT_FOUND)
			v = verdict(msg, msg_size, SMIME_CMS_NO_SIGNER_CERT,
			    "signer certificate not in the message");
		else if (ERR_GET_LIB(ec) == ERR_LIB_CMS &&
		    ERR_GET_REASON(ec) == CMS_R_NO_CONTENT)
			v = verdict(msg, msg_size, SMIME_CMS_MALFORMED,
			    "signed content missing");
		else
			v = verdict(msg, msg_size, SMIME_CMS_BAD_SIGNATURE,
			    "signature does not verify");
		goto out;
	}
	signers = CMS_get0_signers(cms);
	if (signers == NULL || sk_X509_num(signers) < 1) {
		v = verdict(msg, msg_size, SMIME_CMS_NO_SIGNER_CERT,
		    "no signer certificate");
		goto out;
	}
	out->signer = sk_X509_value(signers, 0);
	X509_up_ref(out->signer);
	for (int i = 1; i < sk_X509_num(signers); i++)
		if ((v = check_signer_key(sk_X509_value(signers, i), msg,
		    msg_size)) != SMIME_CMS_OK)
			goto out;
	if ((v = check_signer_key(out->signer, msg, msg_size)) !=
	    SMIME_CMS_OK)
		goto out;
	out->certs = CMS_get1_certs(cms);
	if (mem != NULL) {
		BUF_MEM *bm = NULL;

		BIO_get_mem_ptr(mem, &bm);
		if (buf_append(&out->content, bm->data, bm->length) != 0) {
			v = verdict(msg, msg_size, SMIME_CMS_MALFORMED,
			    "signed content too large");
			goto out;
		}
	}
	v = SMIME_CMS_OK;
out:
	ERR_clear_error();
	sk_X509_free(signers);
	BIO_free_all(dcont);
	BIO_free(mem);
	CMS_ContentInfo_free(cms);
	return v;
}
