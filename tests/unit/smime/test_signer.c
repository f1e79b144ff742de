/* The signer: keys by certificate fingerprint, signatures that verify with
 * the certificate's public key, refusals (unknown key, SHA-1, mismatched
 * key and certificate, unreadable input), envelope opening with the right
 * key only. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <openssl/cms.h>

#include "smime/signer.h"
#include "tests/lib/testlib.h"
#include "tests/unit/smime/smime_testcerts.h"

static void
pems(EVP_PKEY *k, X509 *x, struct buf *kp, struct buf *cp)
{
	buf_init(kp, BUF_UNLIMITED);
	buf_init(cp, BUF_UNLIMITED);
	tc_pem_key(k, kp);
	tc_pem_cert(x, cp);
}

static void
test_signer_signs_with_the_key_named_by_its_certificate(void **state)
{
	EVP_PKEY *rsa = tc_key_rsa(2048), *ec = tc_key_ec("P-256");
	X509 *xr = tc_cert(NULL, rsa, rsa, "r", NULL, false, -60, 3600, NULL);
	X509 *xe = tc_cert(NULL, ec, ec, "e", NULL, false, -60, 3600, NULL);
	struct signer *s = signer_new();
	char idr[SIGNER_ID_MAX + 1], ide[SIGNER_ID_MAX + 1];
	struct buf kp, cp, sig;
	struct err e;
	static const uint8_t tbs[] = "the signed attributes";

	pems(rsa, xr, &kp, &cp);
	assert_int_equal(signer_add_key(s, kp.data, kp.len, cp.data, cp.len,
	    idr, &e), 0);
	buf_release_cleanse(&kp);
	buf_release(&cp);
	pems(ec, xe, &kp, &cp);
	assert_int_equal(signer_add_key(s, kp.data, kp.len, cp.data, cp.len,
	    ide, &e), 0);
	assert_int_equal(strlen(idr), 64);
	assert_true(signer_has_key(s, idr));
	assert_int_equal(signer_count(s), 2);
	/* The same key twice is not added twice. */
	assert_int_equal(signer_add_key(s, kp.data, kp.len, cp.data, cp.len,
	    NULL, &e), 0);
	assert_int_equal(signer_count(s), 2);
	buf_release_cleanse(&kp);
	buf_release(&cp);

	for (int i = 0; i < 2; i++) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();

		buf_init(&sig, 4096);
		assert_int_equal(signer_sign(s, i ? ide : idr, SMIME_SHA384,
		    tbs, sizeof(tbs), &sig, &e), 0);
		assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha384(),
		    NULL, X509_get0_pubkey(i ? xe : xr)), 1);
		assert_int_equal(EVP_DigestVerify(ctx, sig.data, sig.len, tbs,
		    sizeof(tbs)), 1);
		EVP_MD_CTX_free(ctx);
		buf_release(&sig);
	}
	buf_init(&sig, 4096);
	assert_int_equal(signer_sign(s, idr, SMIME_SHA1, tbs, sizeof(tbs),
	    &sig, &e), -1);
	assert_int_equal(e.kind, ERR_PERM);
	assert_int_equal(signer_sign(s, "00", SMIME_SHA256, tbs, sizeof(tbs),
	    &sig, &e), -1);
	assert_int_equal(sig.len, 0);
	buf_release(&sig);
	signer_free(&s);
	assert_null(s);
	signer_free(&s);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	X509_free(xr);
	X509_free(xe);
	(void)state;
}

static void
test_signer_refuses_mismatched_or_unreadable_keys(void **state)
{
	EVP_PKEY *a = tc_key_ec("P-256"), *b = tc_key_ec("P-256");
	X509 *xb = tc_cert(NULL, b, b, "b", NULL, false, -60, 3600, NULL);
	struct signer *s = signer_new();
	struct buf kp, cp;
	struct err e;

	pems(a, xb, &kp, &cp);
	err_clear(&e);
	assert_int_equal(signer_add_key(s, kp.data, kp.len, cp.data, cp.len,
	    NULL, &e), -1);
	assert_non_null(strstr(e.msg, "does not match"));
	assert_null(strstr(e.msg, "PRIVATE"));
	assert_int_equal(signer_add_key(s, (const uint8_t *)"junk", 4,
	    cp.data, cp.len, NULL, &e), -1);
	assert_int_equal(signer_add_key(s, kp.data, kp.len,
	    (const uint8_t *)"junk", 4, NULL, &e), -1);
	assert_int_equal(signer_count(s), 0);
	buf_release_cleanse(&kp);
	buf_release(&cp);
	signer_free(&s);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	X509_free(xb);
	(void)state;
}

static void
test_signer_decrypts_only_envelopes_naming_its_keys(void **state)
{
	EVP_PKEY *k1 = tc_key_rsa(2048), *k2 = tc_key_rsa(2048);
	X509 *x1 = tc_cert(NULL, k1, k1, "1", NULL, false, -60, 3600, NULL);
	X509 *x2 = tc_cert(NULL, k2, k2, "2", NULL, false, -60, 3600, NULL);
	struct signer *s = signer_new();
	char id1[SIGNER_ID_MAX + 1], id2[SIGNER_ID_MAX + 1];
	const char *ids[2];
	STACK_OF(X509) *r = sk_X509_new_null();
	CMS_ContentInfo *cms;
	BIO *in = BIO_new_mem_buf("secret content", 14);
	unsigned char *der = NULL;
	int len;
	struct buf kp, cp, out;
	size_t used = 9;
	struct err e;

	pems(k1, x1, &kp, &cp);
	assert_int_equal(signer_add_key(s, kp.data, kp.len, cp.data, cp.len,
	    id1, &e), 0);
	buf_release_cleanse(&kp);
	buf_release(&cp);
	pems(k2, x2, &kp, &cp);
	assert_int_equal(signer_add_key(s, kp.data, kp.len, cp.data, cp.len,
	    id2, &e), 0);
	buf_release_cleanse(&kp);
	buf_release(&cp);
	sk_X509_push(r, x2);
	cms = CMS_encrypt(r, in, EVP_aes_256_gcm(), CMS_BINARY);
	assert_non_null(cms);
	len = i2d_CMS_ContentInfo(cms, &der);
	assert_true(len > 0);

	buf_init(&out, 1024);
	ids[0] = id1;
	assert_int_equal(signer_decrypt_cms(s, ids, 1, der, (size_t)len, &out,
	    &used, &e), 1);
	ids[1] = id2;
	assert_int_equal(signer_decrypt_cms(s, ids, 2, der, (size_t)len, &out,
	    &used, &e), 0);
	assert_int_equal(used, 1);
	assert_string_equal(buf_cstr(&out), "secret content");
	buf_reset(&out);
	/* A flipped byte in the ciphertext: GCM refuses. */
	der[len - 20] ^= 1;
	assert_int_equal(signer_decrypt_cms(s, ids, 2, der, (size_t)len, &out,
	    &used, &e), -1);
	assert_int_equal(signer_decrypt_cms(s, ids, 2, (const uint8_t *)"xx",
	    2, &out, &used, &e), -1);
	buf_release(&out);
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	sk_X509_free(r);
	signer_free(&s);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	X509_free(x1);
	X509_free(x2);
	(void)state;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_signer_signs_with_the_key_named_by_its_certificate),
		cmocka_unit_test(
		    test_signer_refuses_mismatched_or_unreadable_keys),
		cmocka_unit_test(
		    test_signer_decrypts_only_envelopes_naming_its_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
