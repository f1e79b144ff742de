/* certs/keystore, certs/domain, certs/anchor, certs/bundle, certs/demo_ca
 * against a real store in a temp directory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pkcs12.h>

#include "certs/anchor.h"
#include "certs/bundle.h"
#include "certs/certs_store.h"
#include "certs/demo_ca.h"
#include "certs/domain.h"
#include "certs/keystore.h"
#include "certs/validate.h"
#include "core/store.h"
#include "tests/lib/testlib.h"
#include "tests/unit/certs/certgen.h"

struct fx {
	char *dir;
	char *keys;
	struct store *s;
	EVP_PKEY *ca_key, *k1, *k2, *k3;
	X509 *ca;
};

/* Keys are made once (RSA generation is slow); each test gets a fresh
 * store and key directory. */
static EVP_PKEY *g_ca_key, *g_k1, *g_k2, *g_k3;
static X509 *g_ca;

static int
group_setup(void **state)
{
	struct cg_opts o = cg_defaults("Keystore Test CA");

	g_ca_key = cg_rsa(2048);
	g_k1 = cg_rsa(2048);
	g_k2 = cg_rsa(2048);
	g_k3 = cg_ec("P-256");
	o.ca = true;
	g_ca = cg_cert(&o, g_ca_key, NULL, NULL);
	return 0;
}

static int
group_teardown(void **state)
{
	EVP_PKEY_free(g_ca_key);
	EVP_PKEY_free(g_k1);
	EVP_PKEY_free(g_k2);
	EVP_PKEY_free(g_k3);
	X509_free(g_ca);
	return 0;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct err e;
	size_t n;
	char *db;

	f->dir = testlib_tmpdir();
	n = strlen(f->dir) + 8;
	f->keys = malloc(n);
	snprintf(f->keys, n, "%s/keys", f->dir);
	db = malloc(n);
	snprintf(db, n, "%s/db", f->dir);
	if (store_open(db, 0, &f->s, &e) != 0)
		fail_msg("store_open: %s", e.msg);
	free(db);
	f->ca_key = g_ca_key;
	f->k1 = g_k1;
	f->k2 = g_k2;
	f->k3 = g_k3;
	f->ca = g_ca;
	assert_int_equal(domain_add(f->s, "a.example", &e), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_free(&f->s);
	testlib_rmtree(f->dir);
	free(f->dir);
	free(f->keys);
	free(f);
	return 0;
}

static X509 *
issue(struct fx *f, EVP_PKEY *k, const char *san, long nb, long na)
{
	struct cg_opts o = cg_defaults("leaf");

	o.san = san;
	o.nb_days = nb;
	o.na_days = na;
	return cg_cert(&o, k, f->ca, f->ca_key);
}

static int
import_pem(struct fx *f, EVP_PKEY *k, X509 *x, const char *owner,
    char *fp, struct err *e)
{
	struct keystore_import_opts o = {0};
	struct keystore_input in;
	struct buf b;
	int r;

	buf_init(&b, BUF_UNLIMITED);
	cg_pem_x509(x, &b);
	if (k != NULL)
		cg_pem_key(k, &b);
	cg_pem_x509(f->ca, &b);
	in.data = b.data;
	in.len = b.len;
	in.name = "test.pem";
	o.owner = owner;
	r = keystore_import(f->s, f->keys, &in, 1, &o, fp, e);
	buf_release(&b);
	return r;
}

static void
test_domain_add_list_remove(void **state)
{
	struct fx *f = *state;
	struct domain_info *v;
	size_t n;
	struct err e;
	int64_t g1, g2;

	assert_int_equal(certs_store_generation(f->s, &g1, &e), 0);
	assert_int_equal(domain_add(f->s, "B.Example", &e), 0);
	assert_int_equal(certs_store_generation(f->s, &g2, &e), 0);
	assert_true(g2 > g1);
	assert_int_equal(domain_add(f->s, "b.example", &e), -1);
	assert_int_equal(domain_add(f->s, "not a domain", &e), -1);
	assert_int_equal(domain_add(f->s, "nodot", &e), -1);
	assert_int_equal(domain_exists(f->s, "B.EXAMPLE", &e), 1);
	assert_int_equal(domain_list(f->s, &v, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "a.example");
	assert_string_equal(v[1].name, "b.example");
	domain_info_free(&v, n);
	assert_int_equal(domain_remove(f->s, f->keys, "b.example", &e), 0);
	assert_int_equal(domain_remove(f->s, f->keys, "b.example", &e), -1);
	assert_int_equal(domain_exists(f->s, "b.example", &e), 0);
	assert_string_equal(domain_of("x@Y.example"), "Y.example");
	assert_true(domain_owner_valid("dr.o'neil+x@a.example"));
	assert_true(domain_owner_valid("a.example"));
	assert_false(domain_owner_valid("a@b.example,DNS:evil.example"));
	assert_false(domain_owner_valid("a b@c.example"));
	assert_false(domain_owner_valid("a..b@c.example"));
	assert_false(domain_owner_valid("@c.example"));
	assert_false(domain_owner_valid(NULL));
	assert_null(domain_of("nobody"));
}

static void
test_keystore_imports_pem_and_finds_signer(void **state)
{
	struct fx *f = *state;
	X509 *addr = issue(f, f->k1, "email:dr.who@a.example", -30, 365);
	X509 *dom = issue(f, f->k2, "DNS:a.example", -30, 365);
	const struct keystore_entry *v[4];
	const struct keystore_entry *en;
	struct keystore *ks;
	char fp[65], path[600];
	struct stat st;
	struct err e;

	if (import_pem(f, f->k1, addr, NULL, fp, &e) != 0)
		fail_msg("import: %s", e.msg);
	assert_int_equal(strlen(fp), 64);
	if (import_pem(f, f->k2, dom, NULL, NULL, &e) != 0)
		fail_msg("import: %s", e.msg);
	/* Same again: refused. */
	assert_int_equal(import_pem(f, f->k2, dom, NULL, NULL, &e), -1);
	assert_non_null(strstr(e.msg, "already"));
	/* Key dir 0700, key files 0600. */
	assert_int_equal(stat(f->keys, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	{
		struct keystore_info *li;
		size_t n;

		assert_int_equal(keystore_list(f->s, NULL, false, &li, &n, &e),
		    0);
		assert_int_equal(n, 2);
		for (size_t i = 0; i < n; i++) {
			assert_true(li[i].has_key);
			assert_false(li[i].pending);
		}
		assert_int_equal(li[0].kind, KEYSTORE_DOMAIN);
		assert_string_equal(li[0].owner, "a.example");
		keystore_info_free(&li, n);
	}
	{
		char *spki_path;
		struct keystore_info *li;
		size_t n;
		unsigned char *der = NULL;
		int len = i2d_PUBKEY(f->k1, &der);
		unsigned char md[32];
		char hex[65];

		EVP_Digest(der, (size_t)len, md, NULL, EVP_sha256(), NULL);
		OPENSSL_free(der);
		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		spki_path = path;
		snprintf(spki_path, sizeof(path), "%s/%s.key", f->keys, hex);
		assert_int_equal(stat(spki_path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		assert_int_equal(keystore_list(f->s, "dr.who@a.example", false,
		    &li, &n, &e), 0);
		assert_int_equal(n, 1);
		keystore_info_free(&li, n);
	}

	assert_int_equal(keystore_load(f->s, f->keys, &ks, &e), 0);
	assert_int_equal(keystore_count(ks), 2);
	en = keystore_find_signer(ks, "dr.who@a.example", CG_NOW);
	assert_non_null(en);
	assert_int_equal(en->kind, KEYSTORE_ADDRESS);
	assert_string_equal(en->fingerprint, fp);
	assert_int_equal(sk_X509_num(en->chain), 0); /* self-signed CA dropped */
	en = keystore_find_signer(ks, "DR.WHO@A.EXAMPLE", CG_NOW);
	assert_non_null(en);
	en = keystore_find_signer(ks, "nurse@a.example", CG_NOW);
	assert_non_null(en);
	assert_int_equal(en->kind, KEYSTORE_DOMAIN);
	assert_null(keystore_find_signer(ks, "x@b.example", CG_NOW));
	/* Outside the validity period: no signer. */
	assert_null(keystore_find_signer(ks, "nurse@a.example",
	    CG_NOW + 400 * CG_DAY));
	assert_int_equal(keystore_find_decrypt(ks, "dr.who@a.example", v, 4),
	    2);
	assert_int_equal(v[0]->kind, KEYSTORE_ADDRESS);
	assert_int_equal(v[1]->kind, KEYSTORE_DOMAIN);
	assert_int_equal(keystore_find_decrypt(ks, "nurse@a.example", v, 4),
	    1);
	assert_int_equal(keystore_find_decrypt(ks, "dr.who@a.example", v, 1),
	    2);
	keystore_free(&ks);
	assert_null(ks);

	/* Removal deletes the key file. */
	snprintf(path, sizeof(path), "%.12s", fp);
	assert_int_equal(keystore_remove(f->s, f->keys, path, &e), 0);
	assert_int_equal(keystore_remove(f->s, f->keys, path, &e), -1);
	X509_free(addr);
	X509_free(dom);
}

static void
test_keystore_refuses_bad_imports(void **state)
{
	struct fx *f = *state;
	X509 *x = issue(f, f->k1, "email:someone@a.example", -30, 365);
	X509 *other = issue(f, f->k1, "email:x@elsewhere.example", -30, 365);
	X509 *nosan = issue(f, f->k1, NULL, -30, 365);
	struct err e;

	/* Key does not match. */
	assert_int_equal(import_pem(f, f->k2, x, NULL, NULL, &e), -1);
	assert_non_null(strstr(e.msg, "matches none"));
	/* Owner given but the certificate is not bound to it. */
	assert_int_equal(import_pem(f, f->k1, x, "dr.who@a.example", NULL, &e),
	    -1);
	assert_non_null(strstr(e.msg, "not bound"));
	/* Not a local domain. */
	assert_int_equal(import_pem(f, f->k1, other, NULL, NULL, &e), -1);
	assert_non_null(strstr(e.msg, "not a local domain"));
	/* No SAN and no owner. */
	assert_int_equal(import_pem(f, f->k1, nosan, NULL, NULL, &e), -1);
	/* Garbage. */
	{
		struct keystore_input in = {"garbage", 7, "g"};

		assert_int_equal(keystore_import(f->s, f->keys, &in, 1, NULL,
		    NULL, &e), -1);
	}
	X509_free(x);
	X509_free(other);
	X509_free(nosan);
}

static void
test_keystore_imports_der_and_pkcs12(void **state)
{
	struct fx *f = *state;
	X509 *x = issue(f, f->k1, "email:der@a.example", -30, 365);
	X509 *y = issue(f, f->k3, "email:p12@a.example", -30, 365);
	struct keystore_import_opts o = {0};
	struct keystore_input in[2];
	struct buf cert, key;
	unsigned char *p = NULL;
	int len;
	struct err e;
	PKCS12 *p12;
	STACK_OF(X509) *ca = sk_X509_new_null();

	buf_init(&cert, BUF_UNLIMITED);
	buf_init(&key, BUF_UNLIMITED);
	cg_der_x509(x, &cert);
	len = i2d_PrivateKey(f->k1, &p);
	assert_true(len > 0);
	buf_append(&key, p, (size_t)len);
	OPENSSL_free(p);
	in[0] = (struct keystore_input){cert.data, cert.len, "c.der"};
	in[1] = (struct keystore_input){key.data, key.len, "k.der"};
	if (keystore_import(f->s, f->keys, in, 2, NULL, NULL, &e) != 0)
		fail_msg("DER import: %s", e.msg);

	sk_X509_push(ca, f->ca);
	p12 = PKCS12_create("s3cret", "p12", f->k3, y, ca, 0, 0, 0, 0, 0);
	assert_non_null(p12);
	p = NULL;
	len = i2d_PKCS12(p12, &p);
	PKCS12_free(p12);
	sk_X509_free(ca);
	in[0] = (struct keystore_input){p, (size_t)len, "id.p12"};
	o.password = "wrong";
	assert_int_equal(keystore_import(f->s, f->keys, in, 1, &o, NULL, &e),
	    -1);
	assert_non_null(strstr(e.msg, "password"));
	o.password = "s3cret";
	if (keystore_import(f->s, f->keys, in, 1, &o, NULL, &e) != 0)
		fail_msg("PKCS#12 import: %s", e.msg);
	OPENSSL_free(p);
	{
		struct keystore *ks;
		const struct keystore_entry *en;

		assert_int_equal(keystore_load(f->s, f->keys, &ks, &e), 0);
		en = keystore_find_signer(ks, "p12@a.example", CG_NOW);
		assert_non_null(en);
		assert_int_equal(EVP_PKEY_get_base_id(en->key), EVP_PKEY_EC);
		assert_non_null(keystore_find_signer(ks, "der@a.example",
		    CG_NOW));
		keystore_free(&ks);
	}
	/* An encrypted PEM key: refused without or with a wrong password. */
	{
		X509 *z = issue(f, f->k2, "email:enc@a.example", -30, 365);
		BIO *b = BIO_new(BIO_s_mem());
		char *pem;
		long plen;

		assert_int_equal(PEM_write_bio_PKCS8PrivateKey(b, f->k2,
		    EVP_aes_256_cbc(), NULL, 0, NULL, (void *)"pem-pw"), 1);
		assert_int_equal(PEM_write_bio_X509(b, z), 1);
		plen = BIO_get_mem_data(b, &pem);
		in[0] = (struct keystore_input){pem, (size_t)plen, "enc.pem"};
		o.password = NULL;
		assert_int_equal(keystore_import(f->s, f->keys, in, 1, &o, NULL,
		    &e), -1);
		assert_non_null(strstr(e.msg, "password"));
		o.password = "nope";
		assert_int_equal(keystore_import(f->s, f->keys, in, 1, &o, NULL,
		    &e), -1);
		o.password = "pem-pw";
		if (keystore_import(f->s, f->keys, in, 1, &o, NULL, &e) != 0)
			fail_msg("encrypted PEM import: %s", e.msg);
		BIO_free(b);
		X509_free(z);
	}
	buf_release(&cert);
	buf_release(&key);
	X509_free(x);
	X509_free(y);
}

static void
test_keystore_generate_then_import_certificate(void **state)
{
	struct fx *f = *state;
	struct buf csr;
	struct keystore_info *li;
	size_t n;
	struct err e;
	X509_REQ *req;
	X509 *x;
	BIO *b;

	buf_init(&csr, BUF_UNLIMITED);
	assert_int_equal(keystore_generate(f->s, f->keys, "gen@b.example",
	    KEYSTORE_RSA2048, &csr, &e), -1); /* not a local domain */
	if (keystore_generate(f->s, f->keys, "gen@a.example", KEYSTORE_EC_P256,
	    &csr, &e) != 0)
		fail_msg("generate: %s", e.msg);
	assert_non_null(strstr((char *)csr.data, "CERTIFICATE REQUEST"));
	assert_int_equal(keystore_list(f->s, "gen@a.example", false, &li, &n,
	    &e), 0);
	assert_int_equal(n, 1);
	assert_true(li[0].pending);
	keystore_info_free(&li, n);
	/* Sign the CSR with the test CA, import the certificate alone. */
	b = BIO_new_mem_buf(csr.data, (int)csr.len);
	req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(req);
	{
		struct cg_opts o = cg_defaults("gen");
		EVP_PKEY *pub = X509_REQ_get_pubkey(req);

		o.san = "email:gen@a.example";
		o.ku = "critical,digitalSignature,keyAgreement";
		x = cg_cert(&o, pub, f->ca, f->ca_key);
		EVP_PKEY_free(pub);
	}
	X509_REQ_free(req);
	if (import_pem(f, NULL, x, NULL, NULL, &e) != 0)
		fail_msg("import for pending: %s", e.msg);
	{
		struct keystore *ks;

		assert_int_equal(keystore_load(f->s, f->keys, &ks, &e), 0);
		assert_non_null(keystore_find_signer(ks, "gen@a.example",
		    CG_NOW));
		keystore_free(&ks);
	}
	buf_release(&csr);
	X509_free(x);
}

static void
test_anchors_and_bundles_feed_validation(void **state)
{
	struct fx *f = *state;
	struct cg_opts o = cg_defaults("Bundle Root");
	EVP_PKEY *bk = cg_ec("P-256");
	X509 *broot, *bleaf, *aleaf;
	struct anchor_info *av;
	struct validate_ctx *ctx;
	struct validate_req rq;
	struct validate_result res;
	struct bundle_fetch_opts fo = {0};
	struct cg_web web = {0};
	struct buf pem, p7;
	int64_t id;
	size_t n;
	unsigned dir;
	struct err e;

	o.ca = true;
	broot = cg_cert(&o, bk, NULL, NULL);
	o = cg_defaults("bleaf");
	o.san = "DNS:partner.example";
	o.ku = "critical,digitalSignature,keyAgreement";
	bleaf = cg_cert(&o, f->k3, broot, bk);
	aleaf = issue(f, f->k1, "DNS:other.example", -30, 365);

	assert_int_equal(anchor_direction_parse("incoming", &dir), 0);
	assert_int_equal(dir, ANCHOR_IN);
	buf_init(&pem, BUF_UNLIMITED);
	cg_pem_x509(f->ca, &pem);
	assert_int_equal(anchor_add(f->s, "a.example", ANCHOR_IN, pem.data,
	    pem.len, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(anchor_add(f->s, "zzz.example", ANCHOR_IN, pem.data,
	    pem.len, &n, &e), -1);

	/* A bundle served over the seam, attached outgoing. */
	buf_init(&p7, BUF_UNLIMITED);
	cg_p7b(&broot, 1, false, &p7);
	cg_web_put(&web, "https://bundles.example/b.p7b", p7.data, p7.len);
	fo.fetch = cg_web_fetch;
	fo.fetch_arg = &web;
	assert_int_equal(bundle_add(f->s, "https://bundles.example/b.p7b", 0,
	    &id, &e), 0);
	assert_int_equal(bundle_attach(f->s, id, "a.example", ANCHOR_OUT, &e),
	    0);
	assert_int_equal(bundle_refresh_due(f->s, CG_NOW, false, &fo, &e), 1);
	assert_int_equal(bundle_refresh_due(f->s, CG_NOW + 10, false, &fo, &e),
	    0); /* not due yet */
	assert_int_equal(anchor_list(f->s, "a.example", true, &av, &n, &e), 0);
	assert_int_equal(n, 2);
	anchor_info_free(&av, n);

	assert_int_equal(validate_ctx_new(f->s, NULL, &ctx, &e), 0);
	memset(&rq, 0, sizeof(rq));
	rq.local_domain = "a.example";
	rq.now = CG_NOW;
	rq.purpose = VALIDATE_ANY;
	rq.leaf = bleaf;
	rq.direction = VALIDATE_OUTGOING;
	rq.expected = "partner.example";
	assert_int_equal(validate_cert(ctx, &rq, &res, &e), 0);
	assert_int_equal(res.reason, VALIDATE_OK);
	rq.direction = VALIDATE_INCOMING;
	assert_int_equal(validate_cert(ctx, &rq, &res, &e), 0);
	assert_int_equal(res.reason, VALIDATE_UNTRUSTED);
	rq.leaf = aleaf;
	rq.expected = "other.example";
	assert_int_equal(validate_cert(ctx, &rq, &res, &e), 0);
	assert_int_equal(res.reason, VALIDATE_OK);
	rq.direction = VALIDATE_OUTGOING;
	assert_int_equal(validate_cert(ctx, &rq, &res, &e), 0);
	assert_int_equal(res.reason, VALIDATE_UNTRUSTED);
	validate_ctx_free(&ctx);

	/* A failed refresh keeps the anchors and records the error. */
	cg_web_free(&web);
	assert_int_equal(bundle_refresh(f->s, id, CG_NOW + 1, &fo, NULL, &e),
	    -1);
	assert_int_equal(e.kind, ERR_TEMP);
	{
		struct bundle_info *bv;

		assert_int_equal(bundle_list(f->s, &bv, &n, &e), 0);
		assert_int_equal(n, 1);
		assert_int_equal(bv[0].n_anchors, 1);
		assert_non_null(bv[0].last_error);
		assert_string_equal(bv[0].domains, "a.example:out");
		bundle_info_free(&bv, n);
	}
	/* PEM p7b parses too. */
	{
		STACK_OF(X509) *sk;

		buf_reset(&p7);
		cg_p7b(&broot, 1, true, &p7);
		sk = bundle_parse(p7.data, p7.len, &e);
		assert_non_null(sk);
		assert_int_equal(sk_X509_num(sk), 1);
		sk_X509_pop_free(sk, X509_free);
		assert_null(bundle_parse("junk", 4, &e));
	}
	/* A signed bundle: the anchors are its content, never the
	 * signer's certificate. */
	{
		STACK_OF(X509) *sk;
		BIO *data;
		PKCS7 *signed_p7;
		unsigned char *der = NULL;
		int len;

		buf_reset(&p7);
		cg_p7b(&broot, 1, false, &p7);
		data = BIO_new_mem_buf(p7.data, (int)p7.len);
		signed_p7 = PKCS7_sign(f->ca, f->ca_key, NULL, data,
		    PKCS7_BINARY);
		BIO_free(data);
		assert_non_null(signed_p7);
		len = i2d_PKCS7(signed_p7, &der);
		PKCS7_free(signed_p7);
		sk = bundle_parse(der, (size_t)len, &e);
		OPENSSL_free(der);
		assert_non_null(sk);
		assert_int_equal(sk_X509_num(sk), 1);
		assert_int_equal(X509_cmp(sk_X509_value(sk, 0), broot), 0);
		sk_X509_pop_free(sk, X509_free);
	}
	assert_int_equal(anchor_list(f->s, NULL, false, &av, &n, &e), 0);
	assert_int_equal(n, 1);
	{
		char which[16];

		snprintf(which, sizeof(which), "%.10s", av[0].fingerprint);
		anchor_info_free(&av, n);
		assert_int_equal(anchor_remove(f->s, "a.example", which, &e),
		    0);
	}
	assert_int_equal(bundle_remove(f->s, id, &e), 0);
	assert_int_equal(anchor_list(f->s, NULL, true, &av, &n, &e), 0);
	assert_int_equal(n, 0);
	anchor_info_free(&av, n);
	buf_release(&pem);
	buf_release(&p7);
	X509_free(broot);
	X509_free(bleaf);
	X509_free(aleaf);
	EVP_PKEY_free(bk);
}

static void
test_demo_setup_creates_two_domains_that_trust_each_other(void **state)
{
	struct fx *f = *state;
	struct validate_ctx *ctx;
	struct keystore *ks;
	const struct keystore_entry *a, *b;
	struct validate_req rq;
	struct validate_result res;
	struct err e;

	if (demo_ca_setup(f->s, f->keys, NULL, 0, &e) != 0)
		fail_msg("demo setup: %s", e.msg);
	/* Idempotent. */
	if (demo_ca_setup(f->s, f->keys, NULL, 0, &e) != 0)
		fail_msg("demo setup again: %s", e.msg);
	assert_int_equal(demo_ca_issue(f->s, f->keys, "dr.demo@b.example",
	    NULL, &e), 0);
	assert_int_equal(keystore_load(f->s, f->keys, &ks, &e), 0);
	assert_int_equal(keystore_count(ks), 3);
	a = keystore_find_signer(ks, "x@a.example", time(NULL));
	b = keystore_find_signer(ks, "dr.demo@b.example", time(NULL));
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(b->kind, KEYSTORE_ADDRESS);
	assert_int_equal(validate_ctx_new(f->s, NULL, &ctx, &e), 0);
	memset(&rq, 0, sizeof(rq));
	rq.leaf = b->cert;
	rq.local_domain = "a.example";
	rq.direction = VALIDATE_OUTGOING;
	rq.expected = "dr.demo@b.example";
	rq.purpose = VALIDATE_ENCRYPT;
	rq.now = time(NULL);
	assert_int_equal(validate_cert(ctx, &rq, &res, &e), 0);
	if (res.reason != VALIDATE_OK)
		fail_msg("got %s (%s), want ok", validate_reason_name(res.reason),
		    res.msg);
	rq.leaf = a->cert;
	rq.local_domain = "b.example";
	rq.direction = VALIDATE_INCOMING;
	rq.expected = "x@a.example";
	rq.purpose = VALIDATE_SIGN;
	assert_int_equal(validate_cert(ctx, &rq, &res, &e), 0);
	assert_int_equal(res.reason, VALIDATE_OK);
	assert_int_equal(res.binding, VALIDATE_BOUND_DOMAIN);
	validate_ctx_free(&ctx);
	keystore_free(&ks);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_domain_add_list_remove,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_keystore_imports_pem_and_finds_signer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keystore_refuses_bad_imports,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_keystore_imports_der_and_pkcs12, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_keystore_generate_then_import_certificate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_anchors_and_bundles_feed_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_demo_setup_creates_two_domains_that_trust_each_other,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
