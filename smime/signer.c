#include "smime/signer.h"
#include "smime/signer_private.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certs/keystore.h"
#include "core/str.h"
#include "core/xmalloc.h"

struct signer_key {
	char id[SIGNER_ID_MAX + 1];
	EVP_PKEY *key;
	X509 *cert;
	STACK_OF(X509) *chain; /* never NULL */
};

struct signer {
	atomic_int refs;
	struct signer_key *keys; /* sorted by id once shared */
	size_t n, cap;
	EVP_MD *md[4]; /* prefetched, by enum smime_digest */
};

static const char *const md_names[4] = {"SHA1", "SHA256", "SHA384",
    "SHA512"};

struct signer *
signer_new(void)
{
	struct signer *s = xcalloc(1, sizeof(*s));

	atomic_init(&s->refs, 1);
	for (size_t i = 0; i < 4; i++) {
		s->md[i] = EVP_MD_fetch(NULL, md_names[i], NULL);
		if (s->md[i] == NULL)
			abort();
	}
	return s;
}

struct signer *
signer_ref(struct signer *s)
{
	atomic_fetch_add(&s->refs, 1);
	return s;
}

void
signer_free(struct signer **sp)
{
	struct signer *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	*sp = NULL;
	if (atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	for (size_t i = 0; i < s->n; i++) {
		EVP_PKEY_free(s->keys[i].key);
		X509_free(s->keys[i].cert);
		sk_X509_pop_free(s->keys[i].chain, X509_free);
	}
	OPENSSL_cleanse(s->keys, s->cap * sizeof(*s->keys));
	free(s->keys);
	for (size_t i = 0; i < 4; i++)
		EVP_MD_free(s->md[i]);
	free(s);
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct signer_key *)a)->id,
	    ((const struct signer_key *)b)->id);
}

static const struct signer_key *
find_key(const struct signer *s, const char *id)
{
	struct signer_key k;

	if (s->n == 0 || id == NULL ||
	    str_lcpy(k.id, id, sizeof(k.id)) >= sizeof(k.id))
		return NULL;
	return bsearch(&k, s->keys, s->n, sizeof(*s->keys), key_cmp);
}

static int
cert_fingerprint(X509 *x, char id[SIGNER_ID_MAX + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (X509_digest(x, EVP_sha256(), md, &len) != 1 || len != 32)
		return -1;
	str_hex(id, md, len);
	return 0;
}

/* Takes one reference to key and cert each. */
static int
add(struct signer *s, const char *id, EVP_PKEY *key, X509 *cert,
    STACK_OF(X509) *chain, struct err *e)
{
	struct signer_key *k;

	if (strlen(id) > SIGNER_ID_MAX)
		return err_set(e, ERR_INTERNAL, "signer: key id too long");
	if (find_key(s, id) != NULL)
		return err_set(e, ERR_INTERNAL, "signer: key %.16s... added "
		    "twice", id);
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->keys = xreallocarray(s->keys, s->cap, sizeof(*s->keys));
	}
	k = &s->keys[s->n++];
	memset(k, 0, sizeof(*k));
	str_lcpy(k->id, id, sizeof(k->id));
	EVP_PKEY_up_ref(key);
	X509_up_ref(cert);
	k->key = key;
	k->cert = cert;
	if ((k->chain = sk_X509_new_null()) == NULL)
		abort();
	for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);

		X509_up_ref(x);
		if (sk_X509_push(k->chain, x) <= 0)
			abort();
	}
	qsort(s->keys, s->n, sizeof(*s->keys), key_cmp);
	return 0;
}

int
signer_add_x509(struct signer *s, EVP_PKEY *key, X509 *cert,
    STACK_OF(X509) *chain, struct err *e)
{
	char id[SIGNER_ID_MAX + 1];

	if (X509_check_private_key(cert, key) != 1) {
		ERR_clear_error();
		return err_set(e, ERR_PERM, "signer: the key does not match "
		    "the certificate");
	}
	if (cert_fingerprint(cert, id) != 0)
		return err_set(e, ERR_INTERNAL, "signer: cannot hash the "
		    "certificate");
	if (find_key(s, id) != NULL)
		return 0; /* the same key listed twice (two owners) */
	return add(s, id, key, cert, chain, e);
}

X509 *
signer_get0_cert(const struct signer *s, const char *id)
{
	const struct signer_key *k = find_key(s, id);

	return k ? k->cert : NULL;
}

STACK_OF(X509) *
signer_get0_chain(const struct signer *s, const char *id)
{
	const struct signer_key *k = find_key(s, id);

	return k ? k->chain : NULL;
}

static bool
is_pem(const uint8_t *p, size_t n)
{
	return n >= 10 && memmem(p, n, "-----BEGIN", 10) != NULL;
}

/* Reads every certificate of a PEM input, or one DER certificate. */
static STACK_OF(X509) *
read_certs(const uint8_t *p, size_t n)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	X509 *x;

	if (sk == NULL)
		abort();
	if (is_pem(p, n)) {
		BIO *b = BIO_new_mem_buf(p, (int)n);

		while (b != NULL &&
		    (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
			if (sk_X509_push(sk, x) <= 0)
				abort();
		BIO_free(b);
	} else {
		const unsigned char *q = p;

		if ((x = d2i_X509(NULL, &q, (long)n)) != NULL &&
		    sk_X509_push(sk, x) <= 0)
			abort();
	}
	ERR_clear_error();
	return sk;
}

int
signer_add_key(struct signer *s, const uint8_t *key, size_t key_len,
    const uint8_t *cert, size_t cert_len, char *id_r, struct err *e)
{
	EVP_PKEY *pk = NULL;
	STACK_OF(X509) *certs = NULL, *chain = NULL;
	X509 *leaf = NULL;
	int rc = -1;

	if (key_len > INT32_MAX || cert_len > INT32_MAX)
		return err_set(e, ERR_PERM, "signer: input too large");
	if (is_pem(key, key_len)) {
		BIO *b = BIO_new_mem_buf(key, (int)key_len);

		if (b != NULL)
			pk = PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"");
		BIO_free(b);
	} else {
		const unsigned char *p = key;

		pk = d2i_AutoPrivateKey(NULL, &p, (long)key_len);
	}
	if (pk == NULL) {
		err_set(e, ERR_PERM, "signer: cannot read the private key "
		    "(PEM or DER, unencrypted)");
		goto out;
	}
	certs = read_certs(cert, cert_len);
	if (sk_X509_num(certs) == 0) {
		err_set(e, ERR_PERM, "signer: cannot read the certificate");
		goto out;
	}
	if ((chain = sk_X509_new_null()) == NULL)
		abort();
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		if (leaf == NULL && X509_check_private_key(x, pk) == 1)
			leaf = x;
		else if (sk_X509_push(chain, x) <= 0)
			abort();
	}
	ERR_clear_error();
	if (leaf == NULL) {
		err_set(e, ERR_PERM, "signer: the key does not match the "
		    "certificate");
		goto out;
	}
	if (signer_add_x509(s, pk, leaf, chain, e) != 0)
		goto out;
	if (id_r != NULL && cert_fingerprint(leaf, id_r) != 0)
		goto out;
	rc = 0;
out:
	ERR_clear_error();
	EVP_PKEY_free(pk);
	sk_X509_free(chain);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

bool
signer_has_key(const struct signer *s, const char *id)
{
	return find_key(s, id) != NULL;
}

size_t
signer_count(const struct signer *s)
{
	return s->n;
}

int
signer_sign(const struct signer *s, const char *id, enum smime_digest md,
    const uint8_t *tbs, size_t tbs_len, struct buf *sig_r, struct err *e)
{
	const struct signer_key *k = find_key(s, id);
	unsigned char dg[EVP_MAX_MD_SIZE];
	unsigned int dglen = 0;
	EVP_PKEY_CTX *ctx = NULL;
	size_t siglen = 0;
	int rc = -1;

	if (k == NULL)
		return err_set(e, ERR_PERM, "signer: no key %.16s...",
		    id ? id : "(null)");
	if (md != SMIME_SHA256 && md != SMIME_SHA384 && md != SMIME_SHA512)
		return err_set(e, ERR_PERM, "signer: digest %s is not used to "
		    "sign", smime_digest_name(md));
	/* Hash, then sign the digest (PKCS#1 v1.5 DigestInfo for RSA). */
	if (EVP_Digest(tbs, tbs_len, dg, &dglen, s->md[md], NULL) != 1 ||
	    (ctx = EVP_PKEY_CTX_new(k->key, NULL)) == NULL ||
	    EVP_PKEY_sign_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, s->md[md]) != 1 ||
	    EVP_PKEY_sign(ctx, NULL, &siglen, dg, dglen) != 1) {
		err_set(e, ERR_INTERNAL, "signer: cannot start signing");
		goto out;
	}
	if (buf_reserve(sig_r, siglen) != 0) {
		err_set(e, ERR_INTERNAL, "signer: signature does not fit");
		goto out;
	}
	if (EVP_PKEY_sign(ctx, sig_r->data + sig_r->len, &siglen, dg,
	    dglen) != 1) {
		err_set(e, ERR_INTERNAL, "signer: signing failed");
		goto out;
	}
	sig_r->len += siglen;
	sig_r->data[sig_r->len] = '\0';
	rc = 0;
out:
	OPENSSL_cleanse(dg, sizeof(dg));
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/* True when a RecipientInfo of cms names cert. */
static bool
cms_names(CMS_ContentInfo *cms, X509 *cert)
{
	STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);

	for (int i = 0; i < sk_CMS_RecipientInfo_num(ris); i++) {
		CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, i);
		int type = CMS_RecipientInfo_type(ri);

		if (type == CMS_RECIPINFO_TRANS) {
			if (CMS_RecipientInfo_ktri_cert_cmp(ri, cert) == 0)
				return true;
		} else if (type == CMS_RECIPINFO_AGREE) {
			STACK_OF(CMS_RecipientEncryptedKey) *reks =
			    CMS_RecipientInfo_kari_get0_reks(ri);

			for (int j = 0;
			    j < sk_CMS_RecipientEncryptedKey_num(reks); j++) {
				CMS_RecipientEncryptedKey *rek =
				    sk_CMS_RecipientEncryptedKey_value(reks, j);

				if (CMS_RecipientEncryptedKey_cert_cmp(rek,
				    cert) == 0)
					return true;
			}
		}
	}
	return false;
}

int
signer_decrypt_cms(const struct signer *s, const char *const *ids, size_t n,
    const uint8_t *der, size_t der_len, struct buf *out, size_t *used_r,
    struct err *e)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = NULL;
	BIO *mem = NULL;
	int nid, rc = 1;

	if (der_len > INT32_MAX)
		return err_set(e, ERR_PROTO, "envelope too large");
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)der_len);
	if (cms == NULL) {
		rc = err_set(e, ERR_PROTO, "not a CMS object");
		goto out;
	}
	nid = OBJ_obj2nid(CMS_get0_type(cms));
	if (nid != NID_pkcs7_enveloped &&
	    nid != NID_id_smime_ct_authEnvelopedData) {
		err_set(e, ERR_PROTO, "CMS %s, not enveloped-data",
		    OBJ_nid2sn(nid));
		rc = 2;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct signer_key *k = find_key(s, ids[i]);
		BUF_MEM *bm = NULL;

		if (k == NULL || !cms_names(cms, k->cert))
			continue;
		if ((mem = BIO_new(BIO_s_mem())) == NULL)
			abort();
		/* One message for every failure, whichever step failed: no
		 * padding oracle (OpenSSL also goes on with a random key when
		 * the key transport fails, for the same reason). */
		if (CMS_decrypt(cms, k->key, k->cert, NULL, mem,
		    CMS_BINARY) != 1) {
			rc = err_set(e, ERR_PERM, "cannot decrypt the content");
			goto out;
		}
		BIO_get_mem_ptr(mem, &bm);
		if (buf_append(out, bm->data, bm->length) != 0) {
			OPENSSL_cleanse(bm->data, bm->length);
			rc = err_set(e, ERR_PERM, "decrypted content larger "
			    "than %zu bytes", out->max);
			goto out;
		}
		OPENSSL_cleanse(bm->data, bm->length);
		if (used_r != NULL)
			*used_r = i;
		rc = 0;
		goto out;
	}
	rc = 1;
out:
	ERR_clear_error();
	BIO_free(mem);
	CMS_ContentInfo_free(cms);
	return rc;
}
