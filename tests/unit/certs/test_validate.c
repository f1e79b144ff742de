/* certs/validate: the certificate matrix of issue 3 with certificates made
 * in the test, AIA and CRL served through the HTTP seam. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "certs/validate.h"
#include "tests/lib/testlib.h"
#include "tests/unit/certs/certgen.h"

#define AIA_URL "http://pki.c.example/inter.cer"
#define AIA_P7C_URL "http://pki.c.example/inter.p7c"
#define CRL_URL "http://pki.c.example/inter.crl"
#define CRL_MISSING_URL "http://pki.c.example/missing.crl"

static EVP_PKEY *root_key, *inter_key, *leaf_key, *weak_key, *ec256_key,
    *ec384_key, *other_key;
static X509 *root, *inter, *other_root;
static struct cg_web web;

static int
setup(void **state)
{
	struct cg_opts o;

	root_key = cg_rsa(2048);
	inter_key = cg_rsa(2048);
	leaf_key = cg_rsa(2048);
	weak_key = cg_rsa(1024);
	other_key = cg_rsa(2048);
	ec256_key = cg_ec("P-256");
	ec384_key = cg_ec("P-384");
	o = cg_defaults("Test Root C");
	o.ca = true;
	o.nb_days = -1000;
	o.na_days = 3000;
	root = cg_cert(&o, root_key, NULL, NULL);
	o = cg_defaults("Test Intermediate C");
	o.ca = true;
	o.nb_days = -500;
	o.na_days = 2000;
	o.crl = NULL;
	inter = cg_cert(&o, inter_key, root, root_key);
	o = cg_defaults("Other Root");
	o.ca = true;
	other_root = cg_cert(&o, other_key, NULL, NULL);
	return 0;
}

static int
teardown(void **state)
{
	X509_free(root);
	X509_free(inter);
	X509_free(other_root);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(inter_key);
	EVP_PKEY_free(leaf_key);
	EVP_PKEY_free(weak_key);
	EVP_PKEY_free(other_key);
	EVP_PKEY_free(ec256_key);
	EVP_PKEY_free(ec384_key);
	cg_web_free(&web);
	return 0;
}

/* A context for local domain a.example: root as anchor both ways; for
 * b.example: root incoming only; crl policy as given. */
static struct validate_ctx *
make_ctx(enum validate_crl_policy pol)
{
	struct validate_opts o;
	struct validate_ctx *ctx;
	struct err e;

	memset(&o, 0, sizeof(o));
	o.fetch = cg_web_fetch;
	o.fetch_arg = &web;
	o.crl_policy = pol;
	ctx = validate_ctx_new_empty(&o);
	assert_int_equal(validate_ctx_add_anchor(ctx, "a.example", 3, root,
	    &e), 0);
	assert_int_equal(validate_ctx_add_anchor(ctx, "b.example", 1, root,
	    &e), 0);
	assert_int_equal(validate_ctx_add_anchor(ctx, "d.example", 3,
	    other_root, &e), 0);
	return ctx;
}

struct vcase {
	const char *name;
	X509 *leaf;
	bool with_inter;  /* intermediate passed in the message */
	const char *domain;
	enum validate_direction dir;
	const char *expected;
	enum validate_purpose purpose;
	enum validate_reason want;
	bool want_temp;
};

static void
run_case(struct validate_ctx *ctx, const struct vcase *c)
{
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	struct validate_req rq;
	struct validate_result res;
	struct err e;

	if (c->with_inter)
		sk_X509_push(untrusted, inter);
	memset(&rq, 0, sizeof(rq));
	rq.leaf = c->leaf;
	rq.untrusted = untrusted;
	rq.local_domain = c->domain;
	rq.direction = c->dir;
	rq.expected = c->expected;
	rq.purpose = c->purpose;
	rq.now = CG_NOW;
	assert_int_equal(validate_cert(ctx, &rq, &res, &e), 0);
	if (res.reason != c->want || res.temporary != c->want_temp)
		fail_msg("%s: got %s%s (%s), want %s%s", c->name,
		    validate_reason_name(res.reason),
		    res.temporary ? " temp" : "", res.msg,
		    validate_reason_name(c->want), c->want_temp ? " temp" : "");
	sk_X509_free(untrusted);
}

static X509 *
leaf(struct cg_opts *o, EVP_PKEY *k)
{
	return cg_cert(o, k != NULL ? k : leaf_key, inter, inter_key);
}

static void
test_validate_matrix_gives_expected_verdicts(void **state)
{
	struct validate_ctx *ctx = make_ctx(VALIDATE_CRL_OFF);
	struct cg_opts o;
	X509 *addr, *dom, *expired, *notyet, *wrongsan, *subjonly, *weak,
	    *sha1, *md5, *noenc, *nosig, *ec256, *ec384, *rootleaf;

	o = cg_defaults("dr.smith");
	o.san = "email:dr.smith@c.example";
	addr = leaf(&o, NULL);
	o = cg_defaults("c.example");
	o.san = "DNS:c.example";
	dom = leaf(&o, NULL);
	o = cg_defaults("old");
	o.san = "email:old@c.example";
	o.nb_days = -400;
	o.na_days = -10;
	expired = leaf(&o, NULL);
	o = cg_defaults("new");
	o.san = "email:new@c.example";
	o.nb_days = 10;
	o.na_days = 400;
	notyet = leaf(&o, NULL);
	o = cg_defaults("wrong");
	o.san = "email:someone.else@c.example";
	wrongsan = leaf(&o, NULL);
	o = cg_defaults("subject only");
	o.subject_email = "dr.smith@c.example";
	subjonly = leaf(&o, NULL);
	o = cg_defaults("weak");
	o.san = "email:dr.smith@c.example";
	weak = leaf(&o, weak_key);
	o = cg_defaults("sha1");
	o.san = "email:dr.smith@c.example";
	o.md = EVP_sha1();
	sha1 = leaf(&o, NULL);
	o.md = EVP_md5();
	md5 = leaf(&o, NULL);
	o = cg_defaults("signonly");
	o.san = "email:dr.smith@c.example";
	o.ku = "critical,digitalSignature";
	noenc = leaf(&o, NULL);
	o.ku = "critical,keyEncipherment";
	nosig = leaf(&o, NULL);
	o = cg_defaults("ec");
	o.san = "email:dr.smith@c.example";
	o.ku = "critical,digitalSignature,keyAgreement";
	ec256 = leaf(&o, ec256_key);
	ec384 = leaf(&o, ec384_key);
	o = cg_defaults("direct under root");
	o.san = "DNS:c.example";
	rootleaf = cg_cert(&o, leaf_key, root, root_key);

	const struct vcase cases[] = {
		{"valid address cert", addr, true, "a.example",
		    VALIDATE_OUTGOING, "dr.smith@c.example", VALIDATE_ENCRYPT,
		    VALIDATE_OK, false},
		{"valid address cert, address case", addr, true, "A.Example",
		    VALIDATE_INCOMING, "dr.smith@C.EXAMPLE", VALIDATE_SIGN,
		    VALIDATE_OK, false},
		{"valid domain cert for an address", dom, true, "a.example",
		    VALIDATE_OUTGOING, "nurse@c.example", VALIDATE_ENCRYPT,
		    VALIDATE_OK, false},
		{"valid domain cert for the domain", dom, true, "a.example",
		    VALIDATE_INCOMING, "c.example", VALIDATE_SIGN, VALIDATE_OK,
		    false},
		{"address cert does not bind the domain", addr, true,
		    "a.example", VALIDATE_OUTGOING, "c.example",
		    VALIDATE_ENCRYPT, VALIDATE_BINDING_MISMATCH, false},
		{"expired", expired, true, "a.example", VALIDATE_OUTGOING,
		    "old@c.example", VALIDATE_ENCRYPT, VALIDATE_EXPIRED, false},
		{"not yet valid", notyet, true, "a.example", VALIDATE_OUTGOING,
		    "new@c.example", VALIDATE_ENCRYPT, VALIDATE_NOT_YET_VALID,
		    false},
		{"wrong SAN", wrongsan, true, "a.example", VALIDATE_OUTGOING,
		    "dr.smith@c.example", VALIDATE_ENCRYPT,
		    VALIDATE_BINDING_MISMATCH, false},
		{"SAN only in subject email", subjonly, true, "a.example",
		    VALIDATE_OUTGOING, "dr.smith@c.example", VALIDATE_ENCRYPT,
		    VALIDATE_BINDING_MISMATCH, false},
		{"1024-bit key", weak, true, "a.example", VALIDATE_OUTGOING,
		    "dr.smith@c.example", VALIDATE_ENCRYPT, VALIDATE_WEAK_KEY,
		    false},
		{"SHA-1 signed", sha1, true, "a.example", VALIDATE_OUTGOING,
		    "dr.smith@c.example", VALIDATE_ENCRYPT,
		    VALIDATE_WEAK_SIGNATURE, false},
		{"MD5 signed", md5, true, "a.example", VALIDATE_OUTGOING,
		    "dr.smith@c.example", VALIDATE_ENCRYPT,
		    VALIDATE_WEAK_SIGNATURE, false},
		{"no keyEncipherment to encrypt", noenc, true, "a.example",
		    VALIDATE_OUTGOING, "dr.smith@c.example", VALIDATE_ENCRYPT,
		    VALIDATE_BAD_KEY_USAGE, false},
		{"digitalSignature is enough to sign", noenc, true, "a.example",
		    VALIDATE_INCOMING, "dr.smith@c.example", VALIDATE_SIGN,
		    VALIDATE_OK, false},
		{"no digitalSignature to sign", nosig, true, "a.example",
		    VALIDATE_INCOMING, "dr.smith@c.example", VALIDATE_SIGN,
		    VALIDATE_BAD_KEY_USAGE, false},
		{"ECDSA P-256 signer", ec256, true, "a.example",
		    VALIDATE_INCOMING, "dr.smith@c.example", VALIDATE_SIGN,
		    VALIDATE_OK, false},
		{"ECDSA P-384 encrypt (keyAgreement)", ec384, true,
		    "a.example", VALIDATE_OUTGOING, "dr.smith@c.example",
		    VALIDATE_ENCRYPT, VALIDATE_OK, false},
		{"missing intermediate, no AIA", addr, false, "a.example",
		    VALIDATE_OUTGOING, "dr.smith@c.example", VALIDATE_ENCRYPT,
		    VALIDATE_UNTRUSTED, false},
		{"anchor of another domain", addr, true, "d.example",
		    VALIDATE_OUTGOING, "dr.smith@c.example", VALIDATE_ENCRYPT,
		    VALIDATE_UNTRUSTED, false},
		{"incoming-only anchor used for sending", rootleaf, false,
		    "b.example", VALIDATE_OUTGOING, "c.example",
		    VALIDATE_ENCRYPT, VALIDATE_UNTRUSTED, false},
		{"incoming-only anchor used for receiving", rootleaf, false,
		    "b.example", VALIDATE_INCOMING, "c.example", VALIDATE_SIGN,
		    VALIDATE_OK, false},
		{"unknown local domain", addr, true, "z.example",
		    VALIDATE_OUTGOING, "dr.smith@c.example", VALIDATE_ENCRYPT,
		    VALIDATE_UNKNOWN_DOMAIN, false},
		{"no expected address skips binding", subjonly, true,
		    "a.example", VALIDATE_OUTGOING, NULL, VALIDATE_ENCRYPT,
		    VALIDATE_OK, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(ctx, &cases[i]);

	X509 *all[] = {addr, dom, expired, notyet, wrongsan, subjonly, weak,
	    sha1, md5, noenc, nosig, ec256, ec384, rootleaf};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		X509_free(all[i]);
	validate_ctx_free(&ctx);
}

static void
test_validate_fetches_intermediate_from_aia(void **state)
{
	struct validate_ctx *ctx = make_ctx(VALIDATE_CRL_OFF);
	struct cg_opts o = cg_defaults("aia");
	struct buf der;
	X509 *x, *y;
	int hits;

	o.san = "email:aia@c.example";
	o.aia = AIA_URL;
	x = leaf(&o, NULL);
	o.aia = AIA_P7C_URL;
	y = leaf(&o, NULL);
	{
		const struct vcase c = {"AIA not served", x, false, "a.example",
		    VALIDATE_OUTGOING, "aia@c.example", VALIDATE_ENCRYPT,
		    VALIDATE_UNTRUSTED, true};

		run_case(ctx, &c);
	}
	buf_init(&der, BUF_UNLIMITED);
	cg_der_x509(inter, &der);
	cg_web_put(&web, AIA_URL, der.data, der.len);
	buf_reset(&der);
	cg_p7b(&inter, 1, false, &der);
	cg_web_put(&web, AIA_P7C_URL, der.data, der.len);
	buf_release(&der);
	validate_ctx_free(&ctx);
	ctx = make_ctx(VALIDATE_CRL_OFF);
	{
		const struct vcase c1 = {"chain via AIA (DER)", x, false,
		    "a.example", VALIDATE_OUTGOING, "aia@c.example",
		    VALIDATE_ENCRYPT, VALIDATE_OK, false};
		const struct vcase c2 = {"chain via AIA (.p7c)", y, false,
		    "a.example", VALIDATE_OUTGOING, "aia@c.example",
		    VALIDATE_ENCRYPT, VALIDATE_OK, false};

		run_case(ctx, &c1);
		hits = web.hits;
		run_case(ctx, &c1); /* cached: no new fetch */
		assert_int_equal(web.hits, hits);
		run_case(ctx, &c2);
	}
	X509_free(x);
	X509_free(y);
	validate_ctx_free(&ctx);
}

static void
test_validate_checks_crl_and_policy(void **state)
{
	struct validate_ctx *ctx;
	struct cg_opts o = cg_defaults("crl");
	X509 *good, *revoked, *nodp, *missing;
	X509_CRL *crl;
	struct buf der;
	int hits;

	o.san = "email:crl@c.example";
	o.crl = CRL_URL;
	good = leaf(&o, NULL);
	revoked = leaf(&o, NULL);
	o.crl = CRL_MISSING_URL;
	missing = leaf(&o, NULL);
	o.crl = NULL;
	nodp = leaf(&o, NULL);
	crl = cg_crl(inter, inter_key, &revoked, 1, 7);
	buf_init(&der, BUF_UNLIMITED);
	cg_der_crl(crl, &der);
	cg_web_put(&web, CRL_URL, der.data, der.len);
	buf_release(&der);

	ctx = make_ctx(VALIDATE_CRL_TEMP);
	{
		const struct vcase cases[] = {
			{"not revoked", good, true, "a.example",
			    VALIDATE_OUTGOING, "crl@c.example",
			    VALIDATE_ENCRYPT, VALIDATE_OK, false},
			{"revoked in CRL", revoked, true, "a.example",
			    VALIDATE_OUTGOING, "crl@c.example",
			    VALIDATE_ENCRYPT, VALIDATE_REVOKED, false},
			{"no distribution point", nodp, true, "a.example",
			    VALIDATE_OUTGOING, "crl@c.example",
			    VALIDATE_ENCRYPT, VALIDATE_OK, false},
			{"CRL unreachable (temp policy)", missing, true,
			    "a.example", VALIDATE_OUTGOING, "crl@c.example",
			    VALIDATE_ENCRYPT, VALIDATE_CRL_UNAVAILABLE, true},
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			run_case(ctx, &cases[i]);
		hits = web.hits;
		run_case(ctx, &cases[1]); /* cached until nextUpdate */
		assert_int_equal(web.hits, hits);
		run_case(ctx, &cases[3]); /* failure remembered: no fetch */
		assert_int_equal(web.hits, hits);
	}
	validate_ctx_free(&ctx);
	ctx = make_ctx(VALIDATE_CRL_FAIL);
	{
		const struct vcase c = {"CRL unreachable (fail policy)",
		    missing, true, "a.example", VALIDATE_OUTGOING,
		    "crl@c.example", VALIDATE_ENCRYPT,
		    VALIDATE_CRL_UNAVAILABLE, false};

		run_case(ctx, &c);
	}
	validate_ctx_free(&ctx);
	ctx = make_ctx(VALIDATE_CRL_IGNORE);
	{
		const struct vcase c = {"CRL unreachable (ignore policy)",
		    missing, true, "a.example", VALIDATE_OUTGOING,
		    "crl@c.example", VALIDATE_ENCRYPT, VALIDATE_OK, false};

		run_case(ctx, &c);
	}
	validate_ctx_free(&ctx);
	X509_CRL_free(crl);
	X509_free(good);
	X509_free(revoked);
	X509_free(missing);
	X509_free(nodp);
}

static void
test_validate_rejects_crl_not_signed_by_issuer(void **state)
{
	struct validate_ctx *ctx = make_ctx(VALIDATE_CRL_FAIL);
	struct cg_opts o = cg_defaults("forged");
	X509_CRL *crl;
	struct buf der;
	X509 *x;

	o.san = "email:f@c.example";
	o.crl = "http://pki.c.example/forged.crl";
	x = leaf(&o, NULL);
	crl = cg_crl(inter, other_key, NULL, 0, 7); /* wrong key */
	buf_init(&der, BUF_UNLIMITED);
	cg_der_crl(crl, &der);
	cg_web_put(&web, "http://pki.c.example/forged.crl", der.data, der.len);
	buf_release(&der);
	{
		const struct vcase c = {"forged CRL", x, true, "a.example",
		    VALIDATE_OUTGOING, "f@c.example", VALIDATE_ENCRYPT,
		    VALIDATE_CRL_UNAVAILABLE, false};

		run_case(ctx, &c);
	}
	X509_CRL_free(crl);
	X509_free(x);
	validate_ctx_free(&ctx);
}

static void
test_validate_limits_chain_depth_to_5(void **state)
{
	struct validate_ctx *ctx;
	EVP_PKEY *ks[6];
	X509 *cas[6], *x5, *x6;
	char cn[16];

	/* root -> c1 -> c2 -> c3 -> c4 -> c5: leaf under c4 has its anchor
	 * 5 above (ok), under c5 6 above (too deep). */
	cas[0] = X509_dup(root);
	ks[0] = root_key;
	for (int i = 1; i < 6; i++) {
		struct cg_opts o;

		snprintf(cn, sizeof(cn), "level %d", i);
		o = cg_defaults(cn);
		o.ca = true;
		ks[i] = cg_ec("P-256");
		cas[i] = cg_cert(&o, ks[i], cas[i - 1], ks[i - 1]);
	}
	{
		struct cg_opts o = cg_defaults("deep");

		o.san = "DNS:deep.example";
		x5 = cg_cert(&o, leaf_key, cas[4], ks[4]);
		x6 = cg_cert(&o, leaf_key, cas[5], ks[5]);
	}
	ctx = make_ctx(VALIDATE_CRL_OFF);
	for (int i = 1; i < 6; i++)
		validate_ctx_add_intermediate(ctx, cas[i]);
	{
		const struct vcase c5 = {"anchor 5 above", x5, false,
		    "a.example", VALIDATE_OUTGOING, "deep.example",
		    VALIDATE_ENCRYPT, VALIDATE_OK, false};
		const struct vcase c6 = {"anchor 6 above", x6, false,
		    "a.example", VALIDATE_OUTGOING, "deep.example",
		    VALIDATE_ENCRYPT, VALIDATE_CHAIN_TOO_DEEP, false};

		run_case(ctx, &c5);
		run_case(ctx, &c6);
	}
	for (int i = 0; i < 6; i++)
		X509_free(cas[i]);
	for (int i = 1; i < 6; i++)
		EVP_PKEY_free(ks[i]);
	X509_free(x5);
	X509_free(x6);
	validate_ctx_free(&ctx);
}

static void
test_validate_accepts_intermediate_as_anchor(void **state)
{
	struct validate_ctx *ctx = validate_ctx_new_empty(NULL);
	struct cg_opts o = cg_defaults("partial");
	struct err e;
	X509 *x;

	o.san = "DNS:c.example";
	x = leaf(&o, NULL);
	assert_int_equal(validate_ctx_add_anchor(ctx, "a.example", 3, inter,
	    &e), 0);
	{
		const struct vcase c = {"intermediate anchor", x, false,
		    "a.example", VALIDATE_INCOMING, "c.example",
		    VALIDATE_SIGN, VALIDATE_OK, false};

		run_case(ctx, &c);
	}
	X509_free(x);
	validate_ctx_free(&ctx);
}

static void
test_validate_binding_never_uses_subject(void **state)
{
	struct cg_opts o = cg_defaults("x.example");
	X509 *cn_only, *both, *wild;

	o.subject_email = "a@x.example";
	cn_only = cg_cert(&o, leaf_key, NULL, NULL);
	o = cg_defaults("b");
	o.san = "email:A.Person@X.Example,DNS:x.example";
	both = cg_cert(&o, leaf_key, NULL, NULL);
	o.san = "DNS:*.x.example";
	wild = cg_cert(&o, leaf_key, NULL, NULL);
	assert_int_equal(validate_binding(cn_only, "a@x.example"),
	    VALIDATE_BOUND_NONE);
	assert_int_equal(validate_binding(cn_only, "x.example"),
	    VALIDATE_BOUND_NONE);
	assert_int_equal(validate_binding(both, "A.Person@x.example"),
	    VALIDATE_BOUND_ADDRESS);
	assert_int_equal(validate_binding(both, "other@x.example"),
	    VALIDATE_BOUND_DOMAIN);
	assert_int_equal(validate_binding(both, "X.EXAMPLE"),
	    VALIDATE_BOUND_DOMAIN);
	assert_int_equal(validate_binding(both, "y.example"),
	    VALIDATE_BOUND_NONE);
	assert_int_equal(validate_binding(wild, "mail.x.example"),
	    VALIDATE_BOUND_NONE);
	assert_int_equal(validate_binding(both, NULL), VALIDATE_BOUND_NONE);
	X509_free(cn_only);
	X509_free(both);
	X509_free(wild);
}

static void
test_validate_reason_names_are_stable(void **state)
{
	enum validate_direction d;

	assert_string_equal(validate_reason_name(VALIDATE_OK), "ok");
	assert_string_equal(validate_reason_name(VALIDATE_BINDING_MISMATCH),
	    "binding-mismatch");
	assert_string_equal(validate_reason_name(VALIDATE_CRL_UNAVAILABLE),
	    "crl-unavailable");
	assert_string_equal(validate_reason_name((enum validate_reason)99),
	    "?");
	assert_int_equal(validate_direction_parse("outgoing", &d), 0);
	assert_int_equal(d, VALIDATE_OUTGOING);
	assert_int_equal(validate_direction_parse("both", &d), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate_matrix_gives_expected_verdicts),
		cmocka_unit_test(test_validate_fetches_intermediate_from_aia),
		cmocka_unit_test(test_validate_checks_crl_and_policy),
		cmocka_unit_test(test_validate_rejects_crl_not_signed_by_issuer),
		cmocka_unit_test(test_validate_limits_chain_depth_to_5),
		cmocka_unit_test(test_validate_accepts_intermediate_as_anchor),
		cmocka_unit_test(test_validate_binding_never_uses_subject),
		cmocka_unit_test(test_validate_reason_names_are_stable),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
