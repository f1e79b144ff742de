#include "certs/discover_trust.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certs/certs_util_private.h"
#include "core/str.h"
#include "core/xmalloc.h"

struct discover_trust {
	pthread_mutex_t lock; /* guards ctx */
	struct validate_ctx *ctx;
	char *local_domain;
};

struct discover_trust *
discover_trust_new(struct validate_ctx *ctx, const char *local_domain)
{
	struct discover_trust *t = xcalloc(1, sizeof(*t));

	pthread_mutex_init(&t->lock, NULL);
	t->ctx = validate_ctx_ref(ctx);
	t->local_domain = xstrdup(local_domain);
	str_lower(t->local_domain);
	return t;
}

int
discover_trust_from_files(const char *local_domain,
    const char *const *paths, size_t n, const struct validate_opts *o,
    struct discover_trust **t_r, struct err *e)
{
	struct validate_ctx *ctx = validate_ctx_new_empty(o);

	*t_r = NULL;
	for (size_t i = 0; i < n; i++) {
		STACK_OF(X509) *sk = sk_X509_new_null();
		size_t len;
		char *data = NULL;
		FILE *f = fopen(paths[i], "rb");
		struct buf b;

		buf_init(&b, 64 * 1024 * 1024);
		if (f != NULL) {
			char chunk[8192];
			size_t got;

			while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
				if (buf_append(&b, chunk, got) != 0)
					break;
			fclose(f);
			data = (char *)buf_steal(&b, &len);
		}
		if (data == NULL || certs_util_read_certs(data, len, sk, e) <= 0) {
			free(data);
			buf_release(&b);
			sk_X509_pop_free(sk, X509_free);
			validate_ctx_free(&ctx);
			return err_set(e, ERR_CONFIG, "anchor %s: %s", paths[i],
			    data == NULL ? "cannot read" : "no certificate");
		}
		for (int k = 0; k < sk_X509_num(sk); k++)
			if (validate_ctx_add_anchor(ctx, local_domain,
			    VALIDATE_OUTGOING, sk_X509_value(sk, k), e) != 0) {
				free(data);
				sk_X509_pop_free(sk, X509_free);
				validate_ctx_free(&ctx);
				return -1;
			}
		free(data);
		sk_X509_pop_free(sk, X509_free);
	}
	*t_r = discover_trust_new(ctx, local_domain);
	validate_ctx_free(&ctx);
	return 0;
}

void
discover_trust_free(struct discover_trust **tp)
{
	struct discover_trust *t;

	if (tp == NULL || (t = *tp) == NULL)
		return;
	*tp = NULL;
	validate_ctx_free(&t->ctx);
	pthread_mutex_destroy(&t->lock);
	free(t->local_domain);
	free(t);
}

void
discover_trust_set_ctx(struct discover_trust *t, struct validate_ctx *ctx)
{
	struct validate_ctx *old;

	ctx = validate_ctx_ref(ctx);
	pthread_mutex_lock(&t->lock);
	old = t->ctx;
	t->ctx = ctx;
	pthread_mutex_unlock(&t->lock);
	validate_ctx_free(&old);
}

void
discover_trust_validate(void *arg, const char *address,
    struct discover_cand *c)
{
	struct discover_trust *t = arg;
	struct validate_req req;
	struct validate_result res;
	struct err e = {0};
	X509 *x = certs_util_x509_der(c->der, c->der_len);
	struct validate_ctx *ctx;
	int rc;

	c->verdict = DISCOVER_INVALID;
	c->temporary = false;
	if (x == NULL) {
		str_lcpy(c->reason, "invalid: not a certificate",
		    sizeof(c->reason));
		return;
	}
	memset(&req, 0, sizeof(req));
	memset(&res, 0, sizeof(res));
	req.leaf = x;
	req.local_domain = t->local_domain;
	req.direction = VALIDATE_OUTGOING;
	req.expected = address;
	req.purpose = VALIDATE_ENCRYPT;
	req.now = time(NULL);
	pthread_mutex_lock(&t->lock);
	ctx = validate_ctx_ref(t->ctx);
	pthread_mutex_unlock(&t->lock);
	rc = validate_cert(ctx, &req, &res, &e);
	validate_ctx_free(&ctx);
	if (rc != 0) {
		str_fmt(c->reason, sizeof(c->reason), "invalid: %s", e.msg);
		X509_free(x);
		return;
	}
	X509_free(x);
	if (res.reason == VALIDATE_OK) {
		c->verdict = DISCOVER_VALID;
		str_lcpy(c->reason, "ok", sizeof(c->reason));
		return;
	}
	c->temporary = res.temporary;
	if (res.msg[0] != '\0')
		str_fmt(c->reason, sizeof(c->reason), "%s: %s",
		    validate_reason_name(res.reason), res.msg);
	else
		str_lcpy(c->reason, validate_reason_name(res.reason),
		    sizeof(c->reason));
}
