/* The agent: seal then open for each algorithm choice, and every verdict
 * of open (not encrypted, not for us, bad signature, untrusted, expired,
 * binding mismatch, weak algorithm, envelope tampered, malformed), with
 * bit flips and truncations that must give a named rejection, never a
 * crash. Certificates are made at run time. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "certs/validate.h"
#include "core/str.h"
#include "smime/agent.h"
#include "smime/agent_private.h"
#include "smime/signer.h"
#include "tests/lib/testlib.h"
#include "tests/unit/smime/smime_testcerts.h"

struct ident {
	EVP_PKEY *key;
	X509 *cert;
	char id[SIGNER_ID_MAX + 1];
	struct buf der;
};

static struct {
	EVP_PKEY *ca_a_key, *ca_b_key;
	X509 *ca_a, *ca_b;
	struct ident alice, carol_ec, bob, bob2, other, expired, wrongsan,
	    small, p384;
	struct signer *signer;
	struct validate_ctx *trust;
} F;

static const char MSG[] =
    "From: Alice <alice@a.test>\r\n"
    "To: Bob <bob@b.test>\r\n"
    "Cc: other@b.test\r\n"
    "Subject: private matters\r\n"
    "Date: Sun, 22 Nov 2026 00:00:00 +0000\r\n"
    "Message-ID: <m1@a.test>\r\n"
    "Disposition-Notification-To: alice@a.test\r\n"
    "X-Private: dropped outside\r\n"
    "\r\n"
    "Hello Bob,\r\nthe results are in.\r\n";

static void
ident_make(struct ident *d, EVP_PKEY *key, X509 *ca, EVP_PKEY *ca_key,
    const char *san, long nb, long na)
{
	struct buf kp, cp;
	struct err e;

	d->key = key;
	d->cert = tc_cert(ca, ca_key, key, "test", san, false, nb, na, NULL);
	buf_init(&d->der, BUF_UNLIMITED);
	tc_der_cert(d->cert, &d->der);
	buf_init(&kp, BUF_UNLIMITED);
	buf_init(&cp, BUF_UNLIMITED);
	tc_pem_key(key, &kp);
	tc_pem_cert(d->cert, &cp);
	if (signer_add_key(F.signer, kp.data, kp.len, cp.data, cp.len, d->id,
	    &e) != 0) {
		fprintf(stderr, "signer_add_key: %s\n", e.msg);
		abort();
	}
	buf_release_cleanse(&kp);
	buf_release(&cp);
}

static int
setup(void **state)
{
	struct validate_opts o;
	struct err e;

	memset(&o, 0, sizeof(o));
	o.crl_policy = VALIDATE_CRL_OFF;
	o.aia_max_fetches = -1;
	F.signer = signer_new();
	F.ca_a_key = tc_key_rsa(2048);
	F.ca_a = tc_cert(NULL, F.ca_a_key, F.ca_a_key, "CA a.test", NULL, true,
	    -86400, 86400 * 365, NULL);
	F.ca_b_key = tc_key_rsa(2048);
	F.ca_b = tc_cert(NULL, F.ca_b_key, F.ca_b_key, "CA b.test", NULL, true,
	    -86400, 86400 * 365, NULL);
	ident_make(&F.alice, tc_key_rsa(2048), F.ca_a, F.ca_a_key,
	    "email:alice@a.test", -3600, 86400);
	ident_make(&F.carol_ec, tc_key_ec("P-256"), F.ca_a, F.ca_a_key,
	    "DNS:a.test", -3600, 86400);
	ident_make(&F.p384, tc_key_ec("P-384"), F.ca_a, F.ca_a_key,
	    "email:alice@a.test", -3600, 86400);
	ident_make(&F.bob, tc_key_rsa(2048), F.ca_b, F.ca_b_key,
	    "email:bob@b.test", -3600, 86400);
	ident_make(&F.bob2, tc_key_rsa(3072), F.ca_b, F.ca_b_key,
	    "DNS:b.test", -3600, 86400);
	ident_make(&F.other, tc_key_rsa(2048), F.ca_b, F.ca_b_key,
	    "email:other@b.test", -3600, 86400);
	ident_make(&F.expired, F.alice.key, F.ca_a, F.ca_a_key,
	    "email:alice@a.test", -86400 * 2, -86400);
	EVP_PKEY_up_ref(F.alice.key);
	ident_make(&F.wrongsan, tc_key_rsa(2048), F.ca_a, F.ca_a_key,
	    "email:mallory@a.test", -3600, 86400);
	ident_make(&F.small, tc_key_rsa(1024), F.ca_a, F.ca_a_key,
	    "email:alice@a.test", -3600, 86400);
	F.trust = validate_ctx_new_empty(&o);
	if (validate_ctx_add_anchor(F.trust, "b.test", VALIDATE_INCOMING,
	    F.ca_a, &e) != 0)
		abort();
	(void)state;
	return 0;
}

static void
ident_free(struct ident *d)
{
	EVP_PKEY_free(d->key);
	X509_free(d->cert);
	buf_release(&d->der);
}

static int
teardown(void **state)
{
	ident_free(&F.alice);
	ident_free(&F.carol_ec);
	ident_free(&F.p384);
	ident_free(&F.bob);
	ident_free(&F.bob2);
	ident_free(&F.other);
	ident_free(&F.expired);
	ident_free(&F.wrongsan);
	ident_free(&F.small);
	X509_free(F.ca_a);
	X509_free(F.ca_b);
	EVP_PKEY_free(F.ca_a_key);
	EVP_PKEY_free(F.ca_b_key);
	signer_free(&F.signer);
	validate_ctx_free(&F.trust);
	(void)state;
	return 0;
}

static bool generic_cms; /* seal through OpenSSL's CMS code only */

static int
seal(const struct smime_settings *set, const struct ident *sender,
    const char *from, const char *msg, const struct ident *const *rcpts,
    size_t n, struct buf *out, struct err *e)
{
	struct agent *a = agent_new(set);
	struct agent_blob blobs[8];
	struct agent_seal_req req;
	int rc;

	for (size_t i = 0; i < n; i++) {
		blobs[i].data = rcpts[i]->der.data;
		blobs[i].len = rcpts[i]->der.len;
	}
	memset(&req, 0, sizeof(req));
	req.msg = (const uint8_t *)msg;
	req.msg_len = strlen(msg);
	req.from = from;
	req.signer = F.signer;
	req.key_id = sender->id;
	req.rcpt_certs = blobs;
	req.n_rcpt_certs = n;
	agent_set_generic_cms(a, generic_cms);
	rc = agent_seal(a, &req, out, e);
	agent_free(&a);
	return rc;
}

static void
seal_ok(const struct smime_settings *set, const struct ident *sender,
    struct buf *out)
{
	const struct ident *r[] = {&F.bob};
	struct err e;

	err_clear(&e);
	if (seal(set, sender, "alice@a.test", MSG, r, 1, out, &e) != 0)
		fail_msg("seal: %s", e.msg);
}

/* Opens as bob@b.test with bob's keys and the envelope given. */
static void
open_as_bob(const struct smime_settings *set, const uint8_t *p, size_t n,
    const char *mail_from, const char *rcpt_to,
    struct agent_open_result *res)
{
	struct agent *a = agent_new(set);
	const char *ids[] = {F.bob.id, F.bob2.id};
	const char *rcpts[] = {rcpt_to};
	struct agent_open_req req;
	struct err e;

	memset(&req, 0, sizeof(req));
	req.msg = p;
	req.msg_len = n;
	req.rcpt = "bob@b.test";
	req.signer = F.signer;
	req.key_ids = ids;
	req.n_keys = 2;
	req.trust = F.trust;
	req.mail_from = mail_from;
	req.rcpt_to = rcpts;
	req.n_rcpt_to = rcpt_to ? 1 : 0;
	req.now = time(NULL);
	err_clear(&e);
	if (agent_open(a, &req, res, &e) != 0)
		fail_msg("agent_open failed: %s", e.msg);
	agent_free(&a);
}

static void
expect_reason(const struct agent_open_result *res, enum agent_reason want)
{
	if (res->reason != want)
		fail_msg("got %s (%s), want %s", agent_reason_name(res->reason),
		    res->detail, agent_reason_name(want));
}

static void
test_agent_seal_then_open_round_trips_for_each_cipher_and_key_transport(
    void **state)
{
	static const struct {
		enum smime_cipher c;
		enum smime_key_transport kt;
		enum smime_digest oaep;
	} cases[] = {
		{SMIME_AES128_CBC, SMIME_KT_PKCS1, SMIME_SHA256},
		{SMIME_AES256_CBC, SMIME_KT_PKCS1, SMIME_SHA256},
		{SMIME_AES128_GCM, SMIME_KT_PKCS1, SMIME_SHA256},
		{SMIME_AES256_GCM, SMIME_KT_PKCS1, SMIME_SHA256},
		{SMIME_AES128_CBC, SMIME_KT_OAEP, SMIME_SHA256},
		{SMIME_AES256_GCM, SMIME_KT_OAEP, SMIME_SHA256},
		{SMIME_AES128_CBC, SMIME_KT_OAEP, SMIME_SHA1},
	};

	for (size_t k = 0; k < 2 * sizeof(cases) / sizeof(*cases); k++) {
		size_t i = k / 2;
		struct smime_settings set;
		struct agent_open_result res;
		struct buf out;

		/* Each case twice: DER written directly, then OpenSSL's CMS. */
		generic_cms = k % 2 == 1;

		smime_settings_default(&set);
		set.cipher = cases[i].c;
		set.key_transport = cases[i].kt;
		set.oaep_digest = cases[i].oaep;
		buf_init(&out, BUF_UNLIMITED);
		seal_ok(&set, &F.alice, &out);
		open_as_bob(&set, out.data, out.len, "alice@a.test",
		    "bob@b.test", &res);
		if (res.reason != AGENT_OK)
			fail_msg("case %zu (%s%s/%s): got %s (%s), want ok",
			    i, generic_cms ? "generic " : "",
			    smime_cipher_name(cases[i].c),
			    smime_key_transport_name(cases[i].kt),
			    agent_reason_name(res.reason), res.detail);
		assert_true(res.wrapped);
		assert_int_equal(res.content.len, strlen(MSG));
		assert_memory_equal(res.content.data, MSG, strlen(MSG));
		assert_string_equal(res.from, "alice@a.test");
		assert_string_equal(res.message_id, "m1@a.test");
		assert_string_equal(res.binding, "address");
		assert_string_equal(res.digest, "sha256");
		assert_string_equal(res.key_id, F.bob.id);
		agent_open_result_release(&res);
		buf_release(&out);
	}
	generic_cms = false;
	(void)state;
}

static void
test_agent_seal_keeps_only_routing_headers_outside(void **state)
{
	struct smime_settings set;
	struct buf out;
	const char *hdr_end;

	smime_settings_default(&set);
	buf_init(&out, BUF_UNLIMITED);
	seal_ok(&set, &F.alice, &out);
	hdr_end = strstr(buf_cstr(&out), "\r\n\r\n");
	assert_non_null(hdr_end);
	out.data[hdr_end - buf_cstr(&out)] = '\0';
	assert_non_null(strstr((char *)out.data, "From: "));
	assert_non_null(strstr((char *)out.data, "To: "));
	assert_non_null(strstr((char *)out.data, "Cc: "));
	assert_non_null(strstr((char *)out.data, "Message-ID: <m1@a.test>"));
	assert_non_null(strstr((char *)out.data, "Date: "));
	assert_non_null(strstr((char *)out.data,
	    "Disposition-Notification-To: "));
	assert_non_null(strstr((char *)out.data, "MIME-Version: 1.0"));
	assert_non_null(strstr((char *)out.data,
	    "application/pkcs7-mime; smime-type=\"enveloped-data\";"));
	assert_non_null(strstr((char *)out.data, "name=\"smime.p7m\""));
	assert_non_null(strstr((char *)out.data, "Subject: private matters"));
	assert_null(strstr((char *)out.data, "X-Private"));
	buf_release(&out);

	str_lcpy(set.outer_subject, "Direct message", sizeof(set.outer_subject));
	buf_init(&out, BUF_UNLIMITED);
	seal_ok(&set, &F.alice, &out);
	assert_non_null(strstr(buf_cstr(&out), "Subject: Direct message"));
	assert_null(strstr(buf_cstr(&out), "private matters"));
	buf_release(&out);
	(void)state;
}

static void
test_agent_seal_encrypts_to_every_recipient_certificate(void **state)
{
	const struct ident *r[] = {&F.bob, &F.bob2, &F.other};
	struct smime_settings set;
	struct agent *a;
	struct agent_open_result res;
	struct agent_open_req req;
	const char *ids[1];
	struct buf out;
	struct err e;

	smime_settings_default(&set);
	buf_init(&out, BUF_UNLIMITED);
	assert_int_equal(seal(&set, &F.alice, "alice@a.test", MSG, r, 3, &out,
	    &e), 0);
	a = agent_new(&set);
	/* Each key alone opens it. */
	for (size_t i = 0; i < 3; i++) {
		ids[0] = r[i]->id;
		memset(&req, 0, sizeof(req));
		req.msg = out.data;
		req.msg_len = out.len;
		req.rcpt = "bob@b.test";
		req.signer = F.signer;
		req.key_ids = ids;
		req.n_keys = 1;
		req.trust = F.trust;
		req.now = time(NULL);
		assert_int_equal(agent_open(a, &req, &res, &e), 0);
		expect_reason(&res, AGENT_OK);
		assert_string_equal(res.key_id, r[i]->id);
		agent_open_result_release(&res);
	}
	agent_free(&a);
	buf_release(&out);
	(void)state;
}

static void
test_agent_open_accepts_ec_signers_with_domain_binding(void **state)
{
	struct smime_settings set;
	struct agent_open_result res;
	struct buf out;

	smime_settings_default(&set);
	/* carol's P-256 certificate is bound to the domain a.test. */
	buf_init(&out, BUF_UNLIMITED);
	seal_ok(&set, &F.carol_ec, &out);
	open_as_bob(&set, out.data, out.len, NULL, NULL, &res);
	expect_reason(&res, AGENT_OK);
	assert_string_equal(res.binding, "domain");
	agent_open_result_release(&res);
	buf_release(&out);

	buf_init(&out, BUF_UNLIMITED);
	seal_ok(&set, &F.p384, &out);
	open_as_bob(&set, out.data, out.len, NULL, NULL, &res);
	expect_reason(&res, AGENT_OK);
	assert_string_equal(res.binding, "address");
	agent_open_result_release(&res);
	buf_release(&out);
	(void)state;
}

static void
test_agent_open_names_each_rejection(void **state)
{
	struct smime_settings set;
	struct agent_open_result res;
	struct buf out;
	const struct ident *only_other[] = {&F.other};
	struct err e;

	smime_settings_default(&set);

	/* not encrypted */
	open_as_bob(&set, (const uint8_t *)MSG, strlen(MSG), NULL, NULL,
	    &res);
	expect_reason(&res, AGENT_NOT_ENCRYPTED);
	agent_open_result_release(&res);

	/* not for us */
	buf_init(&out, BUF_UNLIMITED);
	assert_int_equal(seal(&set, &F.alice, "alice@a.test", MSG,
	    only_other, 1, &out, &e), 0);
	{
		struct agent *a = agent_new(&set);
		const char *ids[] = {F.bob.id};
		struct agent_open_req req;

		memset(&req, 0, sizeof(req));
		req.msg = out.data;
		req.msg_len = out.len;
		req.rcpt = "bob@b.test";
		req.signer = F.signer;
		req.key_ids = ids;
		req.n_keys = 1;
		req.trust = F.trust;
		req.now = time(NULL);
		assert_int_equal(agent_open(a, &req, &res, &e), 0);
		expect_reason(&res, AGENT_NOT_FOR_US);
		agent_open_result_release(&res);
		agent_free(&a);
	}
	buf_release(&out);

	/* expired signer */
	buf_init(&out, BUF_UNLIMITED);
	seal_ok(&set, &F.expired, &out);
	open_as_bob(&set, out.data, out.len, NULL, NULL, &res);
	expect_reason(&res, AGENT_EXPIRED);
	agent_open_result_release(&res);
	buf_release(&out);

	/* binding mismatch: mallory's certificate, alice's From */
	buf_init(&out, BUF_UNLIMITED);
	seal_ok(&set, &F.wrongsan, &out);
	open_as_bob(&set, out.data, out.len, NULL, NULL, &res);
	expect_reason(&res, AGENT_BINDING_MISMATCH);
	agent_open_result_release(&res);
	buf_release(&out);

	/* weak algorithm: a 1024-bit signer */
	buf_init(&out, BUF_UNLIMITED);
	seal_ok(&set, &F.small, &out);
	open_as_bob(&set, out.data, out.len, NULL, NULL, &res);
	expect_reason(&res, AGENT_WEAK_ALGORITHM);
	agent_open_result_release(&res);
	buf_release(&out);

	/* untrusted: the recipient's own CA is no incoming anchor of b.test */
	buf_init(&out, BUF_UNLIMITED);
	{
		const struct ident *r[] = {&F.bob};

		assert_int_equal(seal(&set, &F.other, NULL,
		    "From: other@b.test\r\nTo: bob@b.test\r\n\r\nhi\r\n", r, 1,
		    &out, &e), 0);
	}
	open_as_bob(&set, out.data, out.len, NULL, NULL, &res);
	expect_reason(&res, AGENT_UNTRUSTED);
	agent_open_result_release(&res);
	buf_release(&out);

	/* envelope tampered: MAIL FROM, then RCPT TO */
	buf_init(&out, BUF_UNLIMITED);
	seal_ok(&set, &F.alice, &out);
	open_as_bob(&set, out.data, out.len, "mallory@a.test", "bob@b.test",
	    &res);
	expect_reason(&res, AGENT_ENVELOPE_TAMPERED);
	agent_open_result_release(&res);
	open_as_bob(&set, out.data, out.len, "<alice@a.test>",
	    "<someone@b.test>", &res);
	expect_reason(&res, AGENT_ENVELOPE_TAMPERED);
	agent_open_result_release(&res);
	open_as_bob(&set, out.data, out.len, "<Alice@A.test>",
	    "<other@b.test>", &res);
	expect_reason(&res, AGENT_OK);
	agent_open_result_release(&res);
	buf_release(&out);

	/* malformed */
	open_as_bob(&set, (const uint8_t *)"Content-Type: application/"
	    "pkcs7-mime\r\n\r\nAAAA\r\n", 44, NULL, NULL, &res);
	expect_reason(&res, AGENT_MALFORMED);
	agent_open_result_release(&res);
	(void)state;
}

static void
test_agent_seal_refuses_a_from_that_is_not_the_sender(void **state)
{
	const struct ident *r[] = {&F.bob};
	struct smime_settings set;
	struct buf out;
	struct err e;

	smime_settings_default(&set);
	buf_init(&out, BUF_UNLIMITED);
	err_clear(&e);
	assert_int_equal(seal(&set, &F.alice, "eve@a.test", MSG, r, 1, &out,
	    &e), -1);
	assert_int_equal(e.kind, ERR_PERM);
	assert_int_equal(out.len, 0);
	assert_int_equal(seal(&set, &F.alice, "alice@a.test", MSG, r, 0, &out,
	    &e), -1);
	buf_release(&out);
	(void)state;
}

static void
test_agent_open_accepts_lf_only_messages(void **state)
{
	struct smime_settings set;
	struct agent_open_result res;
	struct buf out, lf;

	smime_settings_default(&set);
	buf_init(&out, BUF_UNLIMITED);
	seal_ok(&set, &F.alice, &out);
	buf_init(&lf, BUF_UNLIMITED);
	for (size_t i = 0; i < out.len; i++)
		if (out.data[i] != '\r')
			buf_putc(&lf, out.data[i]);
	open_as_bob(&set, lf.data, lf.len, NULL, NULL, &res);
	expect_reason(&res, AGENT_OK);
	agent_open_result_release(&res);
	buf_release(&lf);
	buf_release(&out);
	(void)state;
}

/* Every bit flip or truncation of a sealed message gives a verdict; only
 * flips in places that do not matter (header text, base64 line breaks
 * turned into other white space) may still open. */
static void
test_agent_open_survives_bit_flips_and_truncation(void **state)
{
	struct smime_settings set;
	struct agent_open_result res;
	struct buf out, m;
	size_t counts[16] = {0};
	uint32_t rnd = 12345;

	smime_settings_default(&set);
	buf_init(&out, BUF_UNLIMITED);
	seal_ok(&set, &F.alice, &out);
	buf_init(&m, BUF_UNLIMITED);
	for (int i = 0; i < 600; i++) {
		size_t pos;

		rnd = rnd * 1103515245u + 12345u;
		pos = (rnd >> 8) % out.len;
		buf_reset(&m);
		buf_append(&m, out.data, out.len);
		m.data[pos] ^= (uint8_t)(1u << ((rnd >> 4) & 7));
		open_as_bob(&set, m.data, m.len, NULL, NULL, &res);
		assert_true(res.reason == AGENT_OK || res.detail[0] != '\0');
		counts[res.reason & 15]++;
		agent_open_result_release(&res);
	}
	for (size_t len = 0; len < out.len; len += 1 + len / 8) {
		open_as_bob(&set, out.data, len, NULL, NULL, &res);
		assert_true(res.reason != AGENT_OK);
		assert_true(res.detail[0] != '\0');
		agent_open_result_release(&res);
	}
	print_message("bit flips: ok %zu malformed %zu not-encrypted %zu "
	    "not-signed %zu bad-signature %zu not-for-us %zu\n",
	    counts[AGENT_OK], counts[AGENT_MALFORMED],
	    counts[AGENT_NOT_ENCRYPTED], counts[AGENT_NOT_SIGNED],
	    counts[AGENT_BAD_SIGNATURE], counts[AGENT_NOT_FOR_US]);
	buf_release(&m);
	buf_release(&out);
	(void)state;
}

static void
test_agent_open_rejects_garbage_inputs(void **state)
{
	static const char *const inputs[] = {
		"",
		"\r\n",
		"garbage",
		"Content-Type: application/pkcs7-mime; smime-type=enveloped-data"
		"\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!\r\n",
		"Content-Type: application/x-pkcs7-mime\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\nMAA=\r\n",
		"Content-Type: application/pkcs7-mime\r\n"
		"Content-Transfer-Encoding: x-weird\r\n\r\nMAA=\r\n",
		"Content-Type: multipart/signed; boundary=x\r\n\r\n--x\r\n\r\n"
		"a\r\n--x--\r\n",
		"Content-Type: application/pkcs7-mime; smime-type=signed-data\r\n"
		"\r\n0\r\n",
	};
	struct smime_settings set;
	struct agent_open_result res;

	smime_settings_default(&set);
	for (size_t i = 0; i < sizeof(inputs) / sizeof(*inputs); i++) {
		open_as_bob(&set, (const uint8_t *)inputs[i],
		    strlen(inputs[i]), NULL, NULL, &res);
		if (res.reason == AGENT_OK || res.detail[0] == '\0')
			fail_msg("input %zu: got %s (%s), want a named "
			    "rejection", i, agent_reason_name(res.reason),
			    res.detail);
		agent_open_result_release(&res);
	}
	(void)state;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_agent_seal_then_open_round_trips_for_each_cipher_and_key_transport),
		cmocka_unit_test(
		    test_agent_seal_keeps_only_routing_headers_outside),
		cmocka_unit_test(
		    test_agent_seal_encrypts_to_every_recipient_certificate),
		cmocka_unit_test(
		    test_agent_open_accepts_ec_signers_with_domain_binding),
		cmocka_unit_test(test_agent_open_names_each_rejection),
		cmocka_unit_test(
		    test_agent_seal_refuses_a_from_that_is_not_the_sender),
		cmocka_unit_test(test_agent_open_accepts_lf_only_messages),
		cmocka_unit_test(
		    test_agent_open_survives_bit_flips_and_truncation),
		cmocka_unit_test(test_agent_open_rejects_garbage_inputs),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
