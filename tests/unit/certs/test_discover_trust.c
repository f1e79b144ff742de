/* The trust-store validation step of discovery: verdicts from
 * validate_cert for outgoing mail, and swapping the context when the
 * store changes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certs/discover_trust.h"
#include "tests/lib/testlib.h"

static X509 *
make(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
    const char *san, long from, long to)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)strlen(cn) + from);
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), to);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) :
	    n);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if (san != NULL) {
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	} else {
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
		    "critical,CA:TRUE");
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	X509_sign(x, issuer_key != NULL ? issuer_key : key, EVP_sha256());
	X509_NAME_free(n);
	return x;
}

static void
to_cand(X509 *x, struct discover_cand *c)
{
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);

	memset(c, 0, sizeof(*c));
	c->source = DISCOVER_DNS_ADDRESS;
	c->der = der;
	c->der_len = (size_t)len;
}

static void
test_discover_trust_judges_and_swaps_context(void **state)
{
	EVP_PKEY *cak = EVP_EC_gen("P-256"), *k = EVP_EC_gen("P-256");
	X509 *ca = make("Test CA", cak, NULL, NULL, NULL, -3600, 86400);
	X509 *good = make("good", k, ca, cak, "email:a@b.test", -3600, 3600);
	X509 *old = make("old", k, ca, cak, "email:a@b.test", -7200, -3600);
	X509 *other = make("other", k, ca, cak, "email:z@b.test", -3600, 3600);
	struct validate_opts o = {.crl_policy = VALIDATE_CRL_OFF,
	    .aia_max_fetches = -1};
	struct validate_ctx *empty = validate_ctx_new_empty(&o);
	struct validate_ctx *full = validate_ctx_new_empty(&o);
	struct discover_trust *t;
	struct discover_cand c;
	struct err e;

	assert_int_equal(validate_ctx_add_anchor(full, "sender.test",
	    VALIDATE_OUTGOING, ca, &e), 0);
	t = discover_trust_new(empty, "Sender.test");
	validate_ctx_free(&empty);

	to_cand(good, &c);
	discover_trust_validate(t, "a@b.test", &c);
	if (c.verdict != DISCOVER_INVALID)
		fail_msg("no anchors: got %d (%s), want invalid", c.verdict,
		    c.reason);

	discover_trust_set_ctx(t, full);
	validate_ctx_free(&full);
	discover_trust_validate(t, "a@b.test", &c);
	if (c.verdict != DISCOVER_VALID)
		fail_msg("with the anchor: got \"%s\", want ok", c.reason);
	OPENSSL_free(c.der);

	to_cand(old, &c);
	discover_trust_validate(t, "a@b.test", &c);
	assert_int_equal(c.verdict, DISCOVER_INVALID);
	if (strstr(c.reason, "expired") == NULL)
		fail_msg("got \"%s\", want expired", c.reason);
	OPENSSL_free(c.der);

	to_cand(other, &c);
	discover_trust_validate(t, "a@b.test", &c);
	assert_int_equal(c.verdict, DISCOVER_INVALID);
	if (strstr(c.reason, "binding") == NULL)
		fail_msg("got \"%s\", want binding-mismatch", c.reason);
	OPENSSL_free(c.der);

	discover_trust_free(&t);
	assert_null(t);
	X509_free(ca);
	X509_free(good);
	X509_free(old);
	X509_free(other);
	EVP_PKEY_free(cak);
	EVP_PKEY_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_discover_trust_judges_and_swaps_context),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
