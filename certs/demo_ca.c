#include "certs/demo_ca.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "certs/anchor.h"
#include "certs/certs_util_private.h"
#include "certs/domain.h"
#include "certs/keystore.h"
#include "certs/keystore_private.h"
#include "core/log.h"
#include "core/xmalloc.h"

#define DEMO_CA_KEY "demo-ca.key"
#define DEMO_CA_CERT "demo-ca.pem"

static int
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ex;
	int ok;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	ex = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (ex == NULL)
		return -1;
	ok = X509_add_ext(x, ex, -1);
	X509_EXTENSION_free(ex);
	return ok ? 0 : -1;
}

static int
random_serial(X509 *x)
{
	BIGNUM *bn = BN_new();
	int ok;

	if (bn == NULL)
		abort();
	ok = BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

/* A certificate for key with subject CN=cn, issued by issuer/ikey (self-
 * signed when issuer is NULL), valid for days. */
static X509 *
make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey,
    long days, bool ca, const char *san)
{
	X509 *x = X509_new();
	X509_NAME *name;

	if (x == NULL)
		abort();
	name = X509_get_subject_name(x);
	if (!X509_set_version(x, 2) || random_serial(x) != 0 ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) ||
	    (ca && !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"directgate demo", -1, -1, 0)) ||
	    !X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) ==
	    NULL || !X509_set_pubkey(x, key))
		goto fail;
	if (issuer == NULL)
		issuer = x;
	if (add_ext(x, issuer, NID_subject_key_identifier, "hash") != 0 ||
	    add_ext(x, issuer, NID_authority_key_identifier, "keyid:always")
	    != 0)
		goto fail;
	if (ca) {
		if (add_ext(x, issuer, NID_basic_constraints,
		    "critical,CA:TRUE") != 0 ||
		    add_ext(x, issuer, NID_key_usage,
		    "critical,keyCertSign,cRLSign") != 0)
			goto fail;
	} else if (add_ext(x, issuer, NID_basic_constraints, "CA:FALSE") != 0 ||
	    add_ext(x, issuer, NID_key_usage,
	    "critical,digitalSignature,keyEncipherment") != 0 ||
	    add_ext(x, issuer, NID_ext_key_usage, "emailProtection") != 0 ||
	    add_ext(x, issuer, NID_subject_alt_name, san) != 0)
		goto fail;
	if (X509_sign(x, ikey != NULL ? ikey : key, EVP_sha256()) <= 0)
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

int
demo_ca_ensure(const char *key_dir, struct err *e)
{
	char *kp = xasprintf("%s/%s", key_dir, DEMO_CA_KEY);
	char *cp = xasprintf("%s/%s", key_dir, DEMO_CA_CERT);
	struct stat st;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	BIO *b = NULL;
	int r = -1;

	if (stat(kp, &st) == 0 && stat(cp, &st) == 0) {
		r = 0;
		goto out;
	}
	if ((key = keystore_keygen(KEYSTORE_RSA2048)) == NULL ||
	    (x = make_cert(key, "directgate demo CA", NULL, NULL, 3650, true,
	    NULL)) == NULL) {
		certs_util_ossl_err(e, ERR_INTERNAL, "cannot create the demo CA");
		goto out;
	}
	b = BIO_new(BIO_s_mem());
	if (b == NULL || PEM_write_bio_X509(b, x) != 1) {
		certs_util_ossl_err(e, ERR_INTERNAL, "cannot encode the demo CA");
		goto out;
	}
	if (certs_util_write_key(key_dir, DEMO_CA_KEY, key, e) != 0)
		goto out;
	{
		char *p = NULL;
		long len = BIO_get_mem_data(b, &p);

		if (certs_util_write_file(key_dir, DEMO_CA_CERT, p, (size_t)len,
		    0644, e) != 0)
			goto out;
	}
	log_info(NULL, "event=demo-ca-created");
	r = 0;
out:
	BIO_free(b);
	X509_free(x);
	EVP_PKEY_free(key);
	free(kp);
	free(cp);
	return r;
}

static int
load_ca(const char *key_dir, EVP_PKEY **key_r, X509 **x_r, struct buf *pem,
    struct err *e)
{
	char *cp = xasprintf("%s/%s", key_dir, DEMO_CA_CERT);
	STACK_OF(X509) *certs = sk_X509_new_null();
	int r = -1;

	*key_r = NULL;
	*x_r = NULL;
	if (certs == NULL)
		abort();
	if (certs_util_read_file(cp, 1024 * 1024, pem, e) != 0 ||
	    certs_util_read_certs(pem->data, pem->len, certs, e) < 0)
		goto out;
	*key_r = certs_util_read_key(key_dir, DEMO_CA_KEY, e);
	if (*key_r == NULL)
		goto out;
	*x_r = sk_X509_shift(certs);
	r = 0;
out:
	sk_X509_pop_free(certs, X509_free);
	free(cp);
	return r;
}

int
demo_ca_issue(struct store *s, const char *key_dir, const char *owner,
    char *fp_r, struct err *e)
{
	struct keystore_import_opts o = {0};
	struct keystore_input in;
	EVP_PKEY *cakey = NULL, *key = NULL;
	X509 *ca = NULL, *x = NULL;
	struct buf capem;
	char *san = NULL;
	BIO *b = NULL;
	int r = -1;

	if (!domain_owner_valid(owner))
		return err_set(e, ERR_PERM, "not an address or a domain name:"
		    " %.100s", owner != NULL ? owner : "");
	{
		const char *dom = strchr(owner, '@') != NULL ?
		    domain_of(owner) : owner;
		int ex = domain_exists(s, dom, e);

		if (ex <= 0)
			return ex < 0 ? -1 : err_set(e, ERR_PERM, "%.100s is not"
			    " a local domain", dom);
	}
	buf_init(&capem, BUF_UNLIMITED);
	if (demo_ca_ensure(key_dir, e) != 0 ||
	    load_ca(key_dir, &cakey, &ca, &capem, e) != 0)
		goto out;
	san = xasprintf("%s:%s", strchr(owner, '@') != NULL ? "email" : "DNS",
	    owner);
	if ((key = keystore_keygen(KEYSTORE_RSA2048)) == NULL ||
	    (x = make_cert(key, owner, ca, cakey, 730, false, san)) == NULL) {
		certs_util_ossl_err(e, ERR_PERM, "cannot issue a certificate");
		goto out;
	}
	b = BIO_new(BIO_s_mem());
	if (b == NULL || PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL,
	    NULL) != 1 || PEM_write_bio_X509(b, x) != 1) {
		certs_util_ossl_err(e, ERR_INTERNAL, "cannot encode");
		goto out;
	}
	{
		char *p = NULL;
		long len = BIO_get_mem_data(b, &p);

		in.data = p;
		in.len = (size_t)len;
		in.name = "demo certificate";
		o.owner = owner;
		r = keystore_import(s, key_dir, &in, 1, &o, fp_r, e);
		OPENSSL_cleanse(p, (size_t)len);
	}
out:
	BIO_free(b);
	X509_free(ca);
	X509_free(x);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(key);
	buf_release(&capem);
	free(san);
	return r;
}

int
demo_ca_setup(struct store *s, const char *key_dir,
    const char *const *domains, size_t n, struct err *e)
{
	static const char *const defaults[] = {"a.example", "b.example"};
	char *cp = xasprintf("%s/%s", key_dir, DEMO_CA_CERT);
	struct buf capem;
	int r = -1;

	buf_init(&capem, BUF_UNLIMITED);
	if (domains == NULL || n == 0) {
		domains = defaults;
		n = 2;
	}
	if (demo_ca_ensure(key_dir, e) != 0 ||
	    certs_util_read_file(cp, 1024 * 1024, &capem, e) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		int64_t have = 0;
		int ex = domain_exists(s, domains[i], e);

		if (ex < 0)
			goto out;
		if (ex == 0 && domain_add(s, domains[i], e) != 0)
			goto out;
		if (store_query_int(s, &have, e, "SELECT count(*) FROM cert_key"
		    " WHERE kind = 'domain' AND owner = ? AND der IS NOT NULL",
		    "s", domains[i]) < 0)
			goto out;
		if (have == 0 && demo_ca_issue(s, key_dir, domains[i], NULL, e)
		    != 0)
			goto out;
		if (anchor_add(s, domains[i], ANCHOR_BOTH, capem.data,
		    capem.len, NULL, e) != 0)
			goto out;
	}
	r = 0;
out:
	buf_release(&capem);
	free(cp);
	return r;
}
