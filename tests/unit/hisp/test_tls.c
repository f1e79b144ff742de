#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tests/lib/testlib.h"
#include "tests/unit/hisp/smtp_test_private.h"

#include "core/xmalloc.h"
#include "hisp/smtp_server.h"
#include "hisp/tls.h"

struct fixture {
	char *dir;
	char *cert;
	char *key;
	char *other_key;
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char *cmd;
	int rc;

	f->dir = testlib_tmpdir();
	f->cert = xasprintf("%s/cert.pem", f->dir);
	f->key = xasprintf("%s/key.pem", f->dir);
	f->other_key = xasprintf("%s/other.pem", f->dir);
	/* A self-signed certificate for mx.local.test (its own anchor). */
	cmd = xasprintf("openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -keyout %s -out %s -days 2 "
	    "-subj /CN=mx.local.test -addext "
	    "subjectAltName=DNS:mx.local.test >/dev/null 2>&1 && "
	    "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
	    "-out %s >/dev/null 2>&1", f->key, f->cert, f->other_key);
	rc = system(cmd);
	free(cmd);
	if (rc != 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	testlib_rmtree(f->dir);
	free(f->dir);
	free(f->cert);
	free(f->key);
	free(f->other_key);
	free(f);
	return 0;
}

/* Moves ciphertext between the two ends until neither has any to send. */
static int
shuttle(struct tls_conn *a, struct tls_conn *b, struct err *e)
{
	struct buf wire;
	int rounds = 0;

	buf_init(&wire, BUF_UNLIMITED);
	for (;;) {
		long na, nb;

		buf_reset(&wire);
		na = tls_conn_take_output(a, &wire);
		if (na > 0 && tls_conn_feed(b, wire.data, wire.len, e) != 0)
			break;
		buf_reset(&wire);
		nb = tls_conn_take_output(b, &wire);
		if (nb > 0 && tls_conn_feed(a, wire.data, wire.len, e) != 0)
			break;
		if (na <= 0 && nb <= 0) {
			buf_release(&wire);
			return 0;
		}
		if (++rounds > 100)
			break;
	}
	buf_release(&wire);
	return -1;
}

static void
test_tls_handshake_and_data_in_memory(void **state)
{
	struct fixture *f = *state;
	struct err e = {0};
	struct tls_ctx *sctx = tls_ctx_new_server(f->cert, f->key, &e);
	struct tls_ctx *cctx = tls_ctx_new_client(f->cert, true, &e);
	struct tls_conn *s, *c;
	struct buf plain;

	assert_non_null(sctx);
	assert_non_null(cctx);
	s = tls_conn_new(sctx, NULL);
	c = tls_conn_new(cctx, "mx.local.test");
	/* Written before the handshake: held, then sent. */
	assert_int_equal(tls_conn_write(c, (const uint8_t *)"hello ", 6, &e), 0);
	assert_false(tls_conn_handshake_done(c));
	assert_int_equal(shuttle(c, s, &e), 0);
	assert_true(tls_conn_handshake_done(c));
	assert_true(tls_conn_handshake_done(s));
	assert_true(tls_conn_peer_verified(c));
	assert_false(tls_conn_peer_verified(s));
	assert_string_equal(tls_conn_version(c), "TLSv1.3");
	assert_true(strlen(tls_conn_cipher(s)) > 0);
	assert_int_equal(tls_conn_write(c, (const uint8_t *)"server", 6, &e), 0);
	assert_int_equal(shuttle(c, s, &e), 0);
	buf_init(&plain, BUF_UNLIMITED);
	assert_int_equal(tls_conn_read(s, &plain, &e), 1);
	assert_string_equal(buf_cstr(&plain), "hello server");
	buf_reset(&plain);
	assert_int_equal(tls_conn_read(s, &plain, &e), 0);
	/* And back, then a clean close. */
	assert_int_equal(tls_conn_write(s, (const uint8_t *)"hi client", 9, &e), 0);
	assert_int_equal(tls_conn_shutdown(s, &e), 0);
	assert_int_equal(shuttle(c, s, &e), 0);
	assert_int_equal(tls_conn_read(c, &plain, &e), 1);
	assert_string_equal(buf_cstr(&plain), "hi client");
	assert_true(tls_conn_peer_closed(c));
	assert_int_equal(tls_conn_write(s, (const uint8_t *)"x", 1, &e), -1);
	buf_release(&plain);
	tls_conn_free(&s);
	tls_conn_free(&c);
	tls_conn_free(&c);
	tls_ctx_free(&sctx);
	tls_ctx_free(&cctx);
	assert_null(sctx);
}

static void
test_tls_big_transfer_is_split_into_records(void **state)
{
	struct fixture *f = *state;
	struct err e = {0};
	struct tls_ctx *sctx = tls_ctx_new_server(f->cert, f->key, &e);
	struct tls_ctx *cctx = tls_ctx_new_client(NULL, false, &e);
	struct tls_conn *s = tls_conn_new(sctx, NULL);
	struct tls_conn *c = tls_conn_new(cctx, "mx.local.test");
	size_t n = 1000000;
	uint8_t *big = xmalloc(n);
	struct buf plain;

	for (size_t i = 0; i < n; i++)
		big[i] = (uint8_t)(i * 7);
	assert_int_equal(shuttle(c, s, &e), 0);
	/* Not verified (no CA given for a self-signed certificate), yet the
	 * handshake succeeds: opportunistic TLS. */
	assert_false(tls_conn_peer_verified(c));
	assert_int_equal(tls_conn_write(c, big, n, &e), 0);
	assert_int_equal(shuttle(c, s, &e), 0);
	buf_init(&plain, BUF_UNLIMITED);
	assert_int_equal(tls_conn_read(s, &plain, &e), 1);
	assert_int_equal(plain.len, n);
	assert_memory_equal(plain.data, big, n);
	buf_release(&plain);
	free(big);
	tls_conn_free(&s);
	tls_conn_free(&c);
	tls_ctx_free(&sctx);
	tls_ctx_free(&cctx);
}

static void
test_tls_verifying_client_refuses_wrong_host(void **state)
{
	struct fixture *f = *state;
	struct err e = {0};
	struct tls_ctx *sctx = tls_ctx_new_server(f->cert, f->key, &e);
	struct tls_ctx *cctx = tls_ctx_new_client(f->cert, true, &e);
	struct tls_conn *s = tls_conn_new(sctx, NULL);
	struct tls_conn *c = tls_conn_new(cctx, "other.test");

	assert_int_equal(shuttle(c, s, &e), -1);
	assert_int_equal(e.kind, ERR_PROTO);
	assert_non_null(strstr(e.msg, "certificate"));
	assert_false(tls_conn_handshake_done(c));
	tls_conn_free(&s);
	tls_conn_free(&c);
	tls_ctx_free(&sctx);
	tls_ctx_free(&cctx);
}

static void
test_tls_server_context_errors(void **state)
{
	struct fixture *f = *state;
	struct err e = {0};

	assert_null(tls_ctx_new_server("/nonexistent/cert.pem", f->key, &e));
	assert_int_equal(e.kind, ERR_CONFIG);
	assert_non_null(strstr(e.msg, "/nonexistent/cert.pem"));
	assert_null(tls_ctx_new_server(f->cert, f->other_key, &e));
	assert_int_equal(e.kind, ERR_CONFIG);
	assert_null(tls_ctx_new_server("", "", &e));
	assert_int_equal(e.kind, ERR_CONFIG);
	assert_null(tls_ctx_new_client("/nonexistent/ca.pem", true, &e));
	assert_int_equal(e.kind, ERR_CONFIG);
}

static void
test_tls_garbage_from_the_peer_fails_the_connection(void **state)
{
	struct fixture *f = *state;
	struct err e = {0};
	struct tls_ctx *sctx = tls_ctx_new_server(f->cert, f->key, &e);
	struct tls_conn *s = tls_conn_new(sctx, NULL);
	struct buf plain;
	static const char junk[] = "EHLO plaintext.example\r\n";

	buf_init(&plain, BUF_UNLIMITED);
	assert_int_equal(tls_conn_feed(s, (const uint8_t *)junk,
	    sizeof(junk) - 1, &e), -1);
	assert_int_equal(e.kind, ERR_PROTO);
	assert_int_equal(tls_conn_read(s, &plain, &e), -1);
	assert_int_equal(plain.len, 0);
	buf_release(&plain);
	tls_conn_free(&s);
	tls_ctx_free(&sctx);
}

/* The classic STARTTLS injection: commands sent in plaintext right after
 * STARTTLS (same packet) must not be run once TLS is up. */
static void
test_tls_starttls_injection_is_not_executed(void **state)
{
	struct fixture *f = *state;
	struct err e = {0};
	struct tls_ctx *sctx = tls_ctx_new_server(f->cert, f->key, &e);
	struct tls_ctx *cctx = tls_ctx_new_client(f->cert, true, &e);
	struct tls_conn *s, *c;
	struct srv_run r;
	struct buf plain, cipher, seen;
	static const char inject[] = "EHLO client.test\r\nSTARTTLS\r\n"
	    "RSET\r\nMAIL FROM:<evil@attacker.test>\r\n";
	static const char after[] = "EHLO client.test\r\n"
	    "MAIL FROM:<a@remote.test>\r\nNOOP\r\n";
	const uint8_t *out;
	size_t outn;

	memset(&r, 0, sizeof(r));
	smtp_server_params_default(&r.params);
	r.params.hostname = "mx.local.test";
	r.params.tls_available = true;
	srv_begin(&r);
	srv_feed_plain(&r, (const uint8_t *)inject, sizeof(inject) - 1);
	assert_true(r.want_tls);
	assert_non_null(strstr(buf_cstr(&r.out),
	    "220 2.0.0 Ready to start TLS\r\n"));
	/* Plaintext after STARTTLS, before the handshake, is dropped too. */
	srv_feed_plain(&r, (const uint8_t *)"NOOP\r\n", 6);
	buf_reset(&r.out);

	s = tls_conn_new(sctx, NULL);
	c = tls_conn_new(cctx, "mx.local.test");
	assert_int_equal(shuttle(c, s, &e), 0);
	assert_true(tls_conn_handshake_done(s));
	assert_int_equal(smtp_server_tls_started(r.s), 0);
	assert_true(smtp_server_tls_active(r.s));

	buf_init(&plain, BUF_UNLIMITED);
	buf_init(&cipher, BUF_UNLIMITED);
	buf_init(&seen, BUF_UNLIMITED);
	assert_int_equal(tls_conn_write(c, (const uint8_t *)after,
	    sizeof(after) - 1, &e), 0);
	assert_true(tls_conn_take_output(c, &cipher) > 0);
	assert_int_equal(tls_conn_feed(s, cipher.data, cipher.len, &e), 0);
	assert_int_equal(tls_conn_read(s, &plain, &e), 1);
	srv_feed_plain(&r, plain.data, plain.len);
	out = r.out.data;
	outn = r.out.len;
	assert_int_equal(tls_conn_write(s, out, outn, &e), 0);
	buf_reset(&cipher);
	assert_true(tls_conn_take_output(s, &cipher) > 0);
	assert_int_equal(tls_conn_feed(c, cipher.data, cipher.len, &e), 0);
	assert_int_equal(tls_conn_read(c, &seen, &e), 1);
	/* The client sees exactly the replies to its three TLS commands. */
	assert_non_null(strstr(buf_cstr(&seen), "250-mx.local.test\r\n"));
	assert_non_null(strstr(buf_cstr(&seen), "250 2.1.0 Ok\r\n250 2.0.0 Ok\r\n"));
	assert_null(strstr(buf_cstr(&seen), "STARTTLS"));
	assert_null(strstr(buf_cstr(&r.events), "evil"));
	assert_string_equal(buf_cstr(&r.events),
	    "ehlo:client.test starttls ehlo:client.test mail:a@remote.test ");

	buf_release(&plain);
	buf_release(&cipher);
	buf_release(&seen);
	srv_release(&r);
	tls_conn_free(&s);
	tls_conn_free(&c);
	tls_ctx_free(&sctx);
	tls_ctx_free(&cctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_handshake_and_data_in_memory),
		cmocka_unit_test(test_tls_big_transfer_is_split_into_records),
		cmocka_unit_test(test_tls_verifying_client_refuses_wrong_host),
		cmocka_unit_test(test_tls_server_context_errors),
		cmocka_unit_test(test_tls_garbage_from_the_peer_fails_the_connection),
		cmocka_unit_test(test_tls_starttls_injection_is_not_executed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
