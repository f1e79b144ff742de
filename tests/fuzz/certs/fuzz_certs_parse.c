/* Fuzz target: what certs/ reads from the network. The input is a
 * certificate set (PEM, DER or PKCS#7 bundle, as bundle_parse reads it),
 * optionally followed by "@@WEB@@" and the bytes every HTTP fetch answers
 * (an AIA certificate or PKCS#7, a CRL). Each certificate is validated
 * against the first one as an anchor, with AIA and CRL fetching on. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/err.h>

#include "certs/bundle.h"
#include "certs/validate.h"

#define MARK "@@WEB@@"

struct web {
	const uint8_t *p;
	size_t n;
};

static int
fetch(void *arg, const char *url, size_t max_size, int64_t timeout_ms,
    struct buf *out, struct err *e)
{
	struct web *w = arg;

	(void)url;
	(void)timeout_ms;
	if (w->n == 0)
		return err_set(e, ERR_TEMP, "no answer");
	if (w->n > max_size || buf_append(out, w->p, w->n) != 0)
		return err_set(e, ERR_PERM, "too large");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *mark = memmem(data, size, MARK, strlen(MARK));
	size_t certs_len = mark != NULL ? (size_t)(mark - data) : size;
	struct web w = {NULL, 0};
	struct validate_opts o;
	struct validate_ctx *ctx;
	STACK_OF(X509) *sk;
	struct err e;

	if (mark != NULL) {
		w.p = mark + strlen(MARK);
		w.n = size - certs_len - strlen(MARK);
	}
	sk = bundle_parse(data, certs_len, &e);
	if (sk == NULL)
		return 0;
	memset(&o, 0, sizeof(o));
	o.fetch = fetch;
	o.fetch_arg = &w;
	o.crl_policy = VALIDATE_CRL_FAIL;
	ctx = validate_ctx_new_empty(&o);
	(void)validate_ctx_add_anchor(ctx, "a.example", 3, sk_X509_value(sk, 0),
	    &e);
	for (int i = 0; i < sk_X509_num(sk); i++) {
		struct validate_req rq;
		struct validate_result res;

		memset(&rq, 0, sizeof(rq));
		rq.leaf = sk_X509_value(sk, i);
		rq.untrusted = sk;
		rq.local_domain = "a.example";
		rq.direction = i % 2 ? VALIDATE_INCOMING : VALIDATE_OUTGOING;
		rq.expected = i % 2 ? "a@b.example" : "b.example";
		rq.purpose = VALIDATE_ENCRYPT;
		rq.now = 1767225600;
		(void)validate_cert(ctx, &rq, &res, &e);
		(void)validate_binding(rq.leaf, "x@b.example");
	}
	validate_ctx_free(&ctx);
	sk_X509_pop_free(sk, X509_free);
	ERR_clear_error();
	return 0;
}
