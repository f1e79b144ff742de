#include "certs/validate.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "certs/anchor.h"
#include "certs/certs_util_private.h"
#include "certs/domain.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"

#define MAX_DEPTH 5         /* the anchor at most 5 above the leaf */
#define CACHE_MAX 256       /* AIA and CRL cache entries */
#define CRL_DEFAULT_TTL 3600 /* a CRL without nextUpdate */
#define MAX_URLS 4          /* distribution points / AIA URLs tried */
#define FAIL_TTL 60         /* a failed fetch is not retried for 60 s */
#define FAIL_MAX 64

struct vdomain {
	char *name;
	X509_STORE *st[2]; /* [0] incoming anchors, [1] outgoing anchors */
	int n_anchors[2];
};

struct aia_entry {
	char *url;
	STACK_OF(X509) *certs;
};

struct crl_entry {
	char *url;
	X509_CRL *crl;
	time_t expires;
};

/* A URL whose fetch failed recently: not tried again until `until`, so
 * that a dead CRL or AIA server does not hold a worker for the full HTTP
 * timeout on every message. */
struct fail_entry {
	char *url;
	time_t until;
	struct err err;
};

struct validate_ctx {
	atomic_int refs;
	struct validate_opts o;
	struct vdomain *dom;
	size_t ndom;
	STACK_OF(X509) *inter;

	pthread_mutex_t mu; /* guards the caches below */
	struct aia_entry *aia;
	size_t naia;
	struct crl_entry *crl;
	size_t ncrl;
	struct fail_entry fail[FAIL_MAX];
	size_t nfail;
};

static const char *const reason_names[] = {
	[VALIDATE_OK] = "ok",
	[VALIDATE_UNTRUSTED] = "untrusted",
	[VALIDATE_EXPIRED] = "expired",
	[VALIDATE_NOT_YET_VALID] = "not-yet-valid",
	[VALIDATE_REVOKED] = "revoked",
	[VALIDATE_BINDING_MISMATCH] = "binding-mismatch",
	[VALIDATE_WEAK_KEY] = "weak-key",
	[VALIDATE_WEAK_SIGNATURE] = "weak-signature",
	[VALIDATE_BAD_KEY_USAGE] = "bad-key-usage",
	[VALIDATE_CHAIN_TOO_DEEP] = "chain-too-deep",
	[VALIDATE_CRL_UNAVAILABLE] = "crl-unavailable",
	[VALIDATE_UNKNOWN_DOMAIN] = "unknown-domain",
	[VALIDATE_INVALID] = "invalid",
};

const char *
validate_reason_name(enum validate_reason r)
{
	if ((unsigned)r < sizeof(reason_names) / sizeof(reason_names[0]) &&
	    reason_names[r] != NULL)
		return reason_names[r];
	return "?";
}

const char *
validate_direction_name(enum validate_direction d)
{
	return d == VALIDATE_INCOMING ? "in" : d == VALIDATE_OUTGOING ? "out" :
	    "?";
}

int
validate_direction_parse(const char *s, enum validate_direction *d_r)
{
	if (s == NULL)
		return -1;
	if (strcasecmp(s, "in") == 0 || strcasecmp(s, "incoming") == 0)
		*d_r = VALIDATE_INCOMING;
	else if (strcasecmp(s, "out") == 0 || strcasecmp(s, "outgoing") == 0)
		*d_r = VALIDATE_OUTGOING;
	else
		return -1;
	return 0;
}

void
validate_opts_from_config(const struct config *cfg, struct validate_opts *o)
{
	const char *pol = config_str(cfg, "certs", "crl_unavailable");
	int64_t aia = config_int(cfg, "certs", "aia_max_fetches");

	memset(o, 0, sizeof(*o));
	o->http_timeout_ms = config_int(cfg, "certs", "http_timeout");
	o->max_cert_size = (size_t)config_int(cfg, "certs", "max_cert_size");
	o->max_crl_size = (size_t)config_int(cfg, "certs", "max_crl_size");
	o->aia_max_fetches = aia == 0 ? -1 : (int)aia;
	if (strcasecmp(pol, "fail") == 0)
		o->crl_policy = VALIDATE_CRL_FAIL;
	else if (strcasecmp(pol, "ignore") == 0)
		o->crl_policy = VALIDATE_CRL_IGNORE;
	else if (strcasecmp(pol, "off") == 0)
		o->crl_policy = VALIDATE_CRL_OFF;
	else
		o->crl_policy = VALIDATE_CRL_TEMP;
}

/* ---- Context ---- */

struct validate_ctx *
validate_ctx_new_empty(const struct validate_opts *o)
{
	struct validate_ctx *ctx = xcalloc(1, sizeof(*ctx));

	atomic_init(&ctx->refs, 1);
	if (o != NULL)
		ctx->o = *o;
	if (ctx->o.fetch == NULL)
		ctx->o.fetch = http_fetch_default;
	if (ctx->o.http_timeout_ms <= 0)
		ctx->o.http_timeout_ms = 10000;
	if (ctx->o.max_cert_size == 0)
		ctx->o.max_cert_size = 1024 * 1024;
	if (ctx->o.max_crl_size == 0)
		ctx->o.max_crl_size = 10 * 1024 * 1024;
	if (ctx->o.aia_max_fetches == 0)
		ctx->o.aia_max_fetches = 4;
	ctx->inter = sk_X509_new_null();
	if (ctx->inter == NULL)
		abort();
	pthread_mutex_init(&ctx->mu, NULL);
	return ctx;
}

static struct vdomain *
find_domain(const struct validate_ctx *ctx, const char *name)
{
	for (size_t i = 0; name != NULL && i < ctx->ndom; i++)
		if (strcasecmp(ctx->dom[i].name, name) == 0)
			return &ctx->dom[i];
	return NULL;
}

static struct vdomain *
get_domain(struct validate_ctx *ctx, const char *name)
{
	struct vdomain *d = find_domain(ctx, name);

	if (d != NULL)
		return d;
	ctx->dom = xreallocarray(ctx->dom, ctx->ndom + 1, sizeof(*ctx->dom));
	d = &ctx->dom[ctx->ndom++];
	memset(d, 0, sizeof(*d));
	d->name = certs_util_lower(name);
	d->st[0] = X509_STORE_new();
	d->st[1] = X509_STORE_new();
	if (d->st[0] == NULL || d->st[1] == NULL)
		abort();
	return d;
}

bool
validate_ctx_has_domain(const struct validate_ctx *ctx, const char *domain)
{
	return find_domain(ctx, domain) != NULL;
}

int
validate_ctx_add_anchor(struct validate_ctx *ctx, const char *domain,
    unsigned dir, X509 *x, struct err *e)
{
	struct vdomain *d;

	if (domain == NULL || x == NULL || (dir & 3u) == 0)
		return err_set(e, ERR_INTERNAL, "bad anchor arguments");
	d = get_domain(ctx, domain);
	for (int i = 0; i < 2; i++) {
		if ((dir & (1u << i)) == 0)
			continue;
		if (X509_STORE_add_cert(d->st[i], x) != 1)
			return certs_util_ossl_err(e, ERR_INTERNAL,
			    "cannot add anchor");
		d->n_anchors[i]++;
	}
	return 0;
}

void
validate_ctx_add_intermediate(struct validate_ctx *ctx, X509 *x)
{
	if (!X509_up_ref(x) || !sk_X509_push(ctx->inter, x))
		abort();
}

struct validate_ctx *
validate_ctx_ref(struct validate_ctx *ctx)
{
	atomic_fetch_add(&ctx->refs, 1);
	return ctx;
}

void
validate_ctx_free(struct validate_ctx **ctxp)
{
	struct validate_ctx *ctx;

	if (ctxp == NULL || *ctxp == NULL)
		return;
	ctx = *ctxp;
	*ctxp = NULL;
	if (atomic_fetch_sub(&ctx->refs, 1) != 1)
		return;
	for (size_t i = 0; i < ctx->ndom; i++) {
		free(ctx->dom[i].name);
		X509_STORE_free(ctx->dom[i].st[0]);
		X509_STORE_free(ctx->dom[i].st[1]);
	}
	free(ctx->dom);
	sk_X509_pop_free(ctx->inter, X509_free);
	for (size_t i = 0; i < ctx->naia; i++) {
		free(ctx->aia[i].url);
		sk_X509_pop_free(ctx->aia[i].certs, X509_free);
	}
	free(ctx->aia);
	for (size_t i = 0; i < ctx->ncrl; i++) {
		free(ctx->crl[i].url);
		X509_CRL_free(ctx->crl[i].crl);
	}
	free(ctx->crl);
	for (size_t i = 0; i < ctx->nfail; i++)
		free(ctx->fail[i].url);
	pthread_mutex_destroy(&ctx->mu);
	free(ctx);
}

/* Runs sql (domain, dir, der) and adds each row as an anchor. */
static int
load_anchors(struct validate_ctx *ctx, struct store *s, const char *sql,
    struct err *e)
{
	struct store_stmt *st = store_prepare(s, sql, e);

	if (st == NULL)
		return -1;
	for (;;) {
		int sr = store_step(st, e);
		const void *der;
		size_t n = 0;
		X509 *x;

		if (sr < 0) {
			store_stmt_done(st);
			return -1;
		}
		if (sr == 0)
			break;
		der = store_col_blob(st, 2, &n);
		x = certs_util_x509_der(der, n);
		if (x == NULL) {
			log_warn(NULL, "event=anchor-unreadable domain=%s",
			    store_col_text(st, 0));
			continue;
		}
		if (validate_ctx_add_anchor(ctx, store_col_text(st, 0),
		    (unsigned)store_col_int(st, 1), x, e) != 0) {
			X509_free(x);
			store_stmt_done(st);
			return -1;
		}
		X509_free(x);
	}
	store_stmt_done(st);
	return 0;
}

int
validate_ctx_new(struct store *s, const struct validate_opts *o,
    struct validate_ctx **ctx_r, struct err *e)
{
	struct validate_ctx *ctx = validate_ctx_new_empty(o);
	struct store_stmt *st;

	*ctx_r = NULL;
	st = store_prepare(s, "SELECT name FROM domain ORDER BY name", e);
	if (st == NULL)
		goto fail;
	for (;;) {
		int sr = store_step(st, e);

		if (sr < 0) {
			store_stmt_done(st);
			goto fail;
		}
		if (sr == 0)
			break;
		get_domain(ctx, store_col_text(st, 0));
	}
	store_stmt_done(st);
	if (load_anchors(ctx, s, "SELECT a.domain, a.dir, a.der FROM anchor a"
	    " JOIN domain d ON d.name = a.domain", e) != 0 ||
	    load_anchors(ctx, s, "SELECT d.domain, d.dir, a.der"
	    " FROM bundle_anchor a JOIN bundle_domain d"
	    " ON d.bundle_id = a.bundle_id JOIN domain m ON m.name = d.domain",
	    e) != 0)
		goto fail;
	st = store_prepare(s, "SELECT der FROM intermediate UNION ALL"
	    " SELECT chain FROM cert_key WHERE chain IS NOT NULL", e);
	if (st == NULL)
		goto fail;
	for (;;) {
		int sr = store_step(st, e);
		const void *p;
		size_t n = 0;

		if (sr < 0) {
			store_stmt_done(st);
			goto fail;
		}
		if (sr == 0)
			break;
		p = store_col_blob(st, 0, &n);
		if (n > 0 && certs_util_read_der_concat(p, n, ctx->inter) < 0)
			log_warn(NULL, "event=intermediate-unreadable");
	}
	store_stmt_done(st);
	*ctx_r = ctx;
	return 0;
fail:
	validate_ctx_free(&ctx);
	return -1;
}

/* ---- Binding ---- */

enum validate_binding
validate_binding(X509 *x, const char *expected)
{
	const unsigned int flags = X509_CHECK_FLAG_NEVER_CHECK_SUBJECT |
	    X509_CHECK_FLAG_NO_WILDCARDS;
	const char *dom;

	if (x == NULL || expected == NULL || *expected == '\0')
		return VALIDATE_BOUND_NONE;
	if (strchr(expected, '@') != NULL) {
		if (X509_check_email(x, expected, 0, flags) == 1)
			return VALIDATE_BOUND_ADDRESS;
		dom = domain_of(expected);
	} else
		dom = expected;
	if (dom != NULL && X509_check_host(x, dom, 0, flags, NULL) == 1)
		return VALIDATE_BOUND_DOMAIN;
	ERR_clear_error();
	return VALIDATE_BOUND_NONE;
}

/* ---- HTTP-fed caches ---- */

/* A copy of an IA5String URI when it is http(s), else NULL. */
static char *
http_uri(const ASN1_IA5STRING *u)
{
	char *s;

	if (u == NULL || u->length <= 0 || u->length > 2000 ||
	    memchr(u->data, '\0', (size_t)u->length) != NULL)
		return NULL;
	s = xstrndup((const char *)u->data, (size_t)u->length);
	if (!http_url_is_http(s)) {
		free(s);
		return NULL;
	}
	return s;
}

/* Copies of the http(s) URIs of a GENERAL_NAMES onto v, up to max. */
static size_t
uris_of(GENERAL_NAMES *gens, char **v, size_t n, size_t max)
{
	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char *s;

		if (g->type != GEN_URI || n >= max)
			continue;
		if ((s = http_uri(g->d.uniformResourceIdentifier)) != NULL)
			v[n++] = s;
	}
	return n;
}

/* Copies of x's AIA caIssuers http URLs; returns the count. */
static size_t
aia_urls(X509 *x, char **v, size_t max)
{
	AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(x, NID_info_access,
	    NULL, NULL);
	size_t n = 0;

	for (int i = 0; aia != NULL && i < sk_ACCESS_DESCRIPTION_num(aia);
	    i++) {
		ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
		char *s;

		if (OBJ_obj2nid(ad->method) != NID_ad_ca_issuers ||
		    ad->location->type != GEN_URI || n >= max)
			continue;
		if ((s = http_uri(ad->location->d.uniformResourceIdentifier))
		    != NULL)
			v[n++] = s;
	}
	AUTHORITY_INFO_ACCESS_free(aia);
	ERR_clear_error();
	return n;
}

/* Copies of x's CRL distribution point http URLs. */
static size_t
crl_urls(X509 *x, char **v, size_t max)
{
	STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(x,
	    NID_crl_distribution_points, NULL, NULL);
	size_t n = 0;

	for (int i = 0; dps != NULL && i < sk_DIST_POINT_num(dps); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);

		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		n = uris_of(dp->distpoint->name.fullname, v, n, max);
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	ERR_clear_error();
	return n;
}

/* True (e filled) when url failed less than FAIL_TTL ago. Locks. */
static bool
fail_recent(struct validate_ctx *ctx, const char *url, time_t now,
    struct err *e)
{
	bool hit = false;

	pthread_mutex_lock(&ctx->mu);
	for (size_t i = 0; i < ctx->nfail; i++)
		if (strcmp(ctx->fail[i].url, url) == 0 &&
		    now < ctx->fail[i].until && now + FAIL_TTL >=
		    ctx->fail[i].until) {
			if (e != NULL)
				*e = ctx->fail[i].err;
			hit = true;
			break;
		}
	pthread_mutex_unlock(&ctx->mu);
	return hit;
}

/* Remembers a failed fetch of url (replacing an older entry). Locks. */
static void
fail_note(struct validate_ctx *ctx, const char *url, time_t now,
    const struct err *e)
{
	size_t slot = ctx->nfail;

	pthread_mutex_lock(&ctx->mu);
	for (size_t i = 0; i < ctx->nfail; i++)
		if (strcmp(ctx->fail[i].url, url) == 0) {
			slot = i;
			break;
		}
	if (slot == ctx->nfail) {
		if (ctx->nfail == FAIL_MAX) {
			/* Full: drop the entry that expires first. */
			slot = 0;
			for (size_t i = 1; i < ctx->nfail; i++)
				if (ctx->fail[i].until < ctx->fail[slot].until)
					slot = i;
			free(ctx->fail[slot].url);
		} else
			ctx->nfail++;
		ctx->fail[slot].url = xstrdup(url);
	}
	ctx->fail[slot].until = now + FAIL_TTL;
	ctx->fail[slot].err = *e;
	pthread_mutex_unlock(&ctx->mu);
}

/* Adds the certificates behind an AIA URL to out (up-ref'd): from the
 * cache, else fetched. 0, or -1 with e set. */
static int
aia_get(struct validate_ctx *ctx, const char *url, time_t now,
    STACK_OF(X509) *out, struct err *e)
{
	STACK_OF(X509) *certs;
	struct buf body;

	pthread_mutex_lock(&ctx->mu);
	for (size_t i = 0; i < ctx->naia; i++) {
		if (strcmp(ctx->aia[i].url, url) != 0)
			continue;
		for (int j = 0; j < sk_X509_num(ctx->aia[i].certs); j++) {
			X509 *x = sk_X509_value(ctx->aia[i].certs, j);

			if (!X509_up_ref(x) || !sk_X509_push(out, x))
				abort();
		}
		pthread_mutex_unlock(&ctx->mu);
		return 0;
	}
	pthread_mutex_unlock(&ctx->mu);

	if (fail_recent(ctx, url, now, e))
		return -1;
	buf_init(&body, ctx->o.max_cert_size + 1);
	if (ctx->o.fetch(ctx->o.fetch_arg, url, ctx->o.max_cert_size,
	    ctx->o.http_timeout_ms, &body, e) != 0) {
		buf_release(&body);
		fail_note(ctx, url, now, e);
		return -1;
	}
	certs = sk_X509_new_null();
	if (certs == NULL)
		abort();
	if (certs_util_read_certs(body.data, body.len, certs, e) < 0) {
		buf_release(&body);
		sk_X509_free(certs);
		err_prefix(e, "AIA %.120s", url);
		fail_note(ctx, url, now, e);
		return -1;
	}
	buf_release(&body);
	log_debug(NULL, "event=aia-fetched url=%.200s certs=%d", url,
	    sk_X509_num(certs));
	for (int j = 0; j < sk_X509_num(certs); j++) {
		X509 *x = sk_X509_value(certs, j);

		if (!X509_up_ref(x) || !sk_X509_push(out, x))
			abort();
	}
	pthread_mutex_lock(&ctx->mu);
	if (ctx->naia == CACHE_MAX) {
		free(ctx->aia[0].url);
		sk_X509_pop_free(ctx->aia[0].certs, X509_free);
		memmove(&ctx->aia[0], &ctx->aia[1],
		    (ctx->naia - 1) * sizeof(*ctx->aia));
		ctx->naia--;
	}
	ctx->aia = xreallocarray(ctx->aia, ctx->naia + 1, sizeof(*ctx->aia));
	ctx->aia[ctx->naia].url = xstrdup(url);
	ctx->aia[ctx->naia].certs = certs;
	ctx->naia++;
	pthread_mutex_unlock(&ctx->mu);
	return 0;
}

static X509_CRL *
crl_parse(const void *p, size_t n)
{
	const unsigned char *q = p;
	X509_CRL *crl = d2i_X509_CRL(NULL, &q, (long)n);

	if (crl == NULL && memmem(p, n, "-----BEGIN", 10) != NULL) {
		BIO *b = BIO_new_mem_buf(p, (int)n);

		if (b == NULL)
			abort();
		crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
		BIO_free(b);
	}
	ERR_clear_error();
	return crl;
}

/* A CRL for url that is current at now (up-ref'd): cached, else fetched.
 * The caller checks issuer and signature. NULL with e set. */
static X509_CRL *
crl_get(struct validate_ctx *ctx, const char *url, time_t now, struct err *e)
{
	X509_CRL *crl;
	struct buf body;
	time_t next, expires;

	pthread_mutex_lock(&ctx->mu);
	for (size_t i = 0; i < ctx->ncrl; i++) {
		if (strcmp(ctx->crl[i].url, url) != 0 ||
		    now >= ctx->crl[i].expires)
			continue;
		crl = ctx->crl[i].crl;
		if (!X509_CRL_up_ref(crl))
			abort();
		pthread_mutex_unlock(&ctx->mu);
		return crl;
	}
	pthread_mutex_unlock(&ctx->mu);

	if (fail_recent(ctx, url, now, e))
		return NULL;
	buf_init(&body, ctx->o.max_crl_size + 1);
	if (ctx->o.fetch(ctx->o.fetch_arg, url, ctx->o.max_crl_size,
	    ctx->o.http_timeout_ms, &body, e) != 0) {
		buf_release(&body);
		fail_note(ctx, url, now, e);
		return NULL;
	}
	crl = crl_parse(body.data, body.len);
	buf_release(&body);
	if (crl == NULL) {
		err_set(e, ERR_PERM, "CRL %.120s: not a CRL", url);
		fail_note(ctx, url, now, e);
		return NULL;
	}
	next = X509_CRL_get0_nextUpdate(crl) != NULL ?
	    certs_util_time(X509_CRL_get0_nextUpdate(crl)) : 0;
	if (certs_util_time(X509_CRL_get0_lastUpdate(crl)) > now + 300) {
		X509_CRL_free(crl);
		err_set(e, ERR_TEMP, "CRL %.120s: not yet valid", url);
		fail_note(ctx, url, now, e);
		return NULL;
	}
	if (next != 0 && next <= now) {
		X509_CRL_free(crl);
		err_set(e, ERR_TEMP, "CRL %.120s: expired (nextUpdate passed)",
		    url);
		fail_note(ctx, url, now, e);
		return NULL;
	}
	expires = next != 0 ? next : now + CRL_DEFAULT_TTL;
	log_debug(NULL, "event=crl-fetched url=%.200s", url);
	pthread_mutex_lock(&ctx->mu);
	for (size_t i = 0; i < ctx->ncrl; i++)
		if (strcmp(ctx->crl[i].url, url) == 0) {
			X509_CRL_free(ctx->crl[i].crl);
			free(ctx->crl[i].url);
			memmove(&ctx->crl[i], &ctx->crl[i + 1],
			    (ctx->ncrl - i - 1) * sizeof(*ctx->crl));
			ctx->ncrl--;
			break;
		}
	if (ctx->ncrl == CACHE_MAX) {
		free(ctx->crl[0].url);
		X509_CRL_free(ctx->crl[0].crl);
		memmove(&ctx->crl[0], &ctx->crl[1],
		    (ctx->ncrl - 1) * sizeof(*ctx->crl));
		ctx->ncrl--;
	}
	ctx->crl = xreallocarray(ctx->crl, ctx->ncrl + 1, sizeof(*ctx->crl));
	ctx->crl[ctx->ncrl].url = xstrdup(url);
	ctx->crl[ctx->ncrl].crl = crl;
	ctx->crl[ctx->ncrl].expires = expires;
	ctx->ncrl++;
	if (!X509_CRL_up_ref(crl))
		abort();
	pthread_mutex_unlock(&ctx->mu);
	return crl;
}

/* ---- Validation ---- */

struct vstate {
	bool expired, not_yet;
	int expired_depth, not_yet_depth;
};

static int
verify_cb(int ok, X509_STORE_CTX *sc)
{
	struct vstate *vs = X509_STORE_CTX_get_app_data(sc);
	int err = X509_STORE_CTX_get_error(sc);

	if (ok)
		return 1;
	/* Time errors are recorded and verification goes on, so that the
	 * chain is still built: "expired" must not hide "untrusted". */
	if (err == X509_V_ERR_CERT_HAS_EXPIRED) {
		if (!vs->expired)
			vs->expired_depth = X509_STORE_CTX_get_error_depth(sc);
		vs->expired = true;
		return 1;
	}
	if (err == X509_V_ERR_CERT_NOT_YET_VALID) {
		if (!vs->not_yet)
			vs->not_yet_depth = X509_STORE_CTX_get_error_depth(sc);
		vs->not_yet = true;
		return 1;
	}
	return 0;
}

static int
verdict(struct validate_result *res, enum validate_reason r, bool temp,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
verdict(struct validate_result *res, enum validate_reason r, bool temp,
    const char *fmt, ...)
{
	va_list ap;

	res->reason = r;
	res->temporary = temp;
	va_start(ap, fmt);
	vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
	va_end(ap);
	return 0;
}

static bool
issuer_missing(int err)
{
	return err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
	    err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
	    err == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE;
}

static void
map_verify_error(int err, int depth, struct validate_result *res)
{
	const char *why = X509_verify_cert_error_string(err);

	switch (err) {
	case X509_V_ERR_CERT_CHAIN_TOO_LONG:
	case X509_V_ERR_PATH_LENGTH_EXCEEDED:
		verdict(res, VALIDATE_CHAIN_TOO_DEEP, false, "depth %d: %s",
		    depth, why);
		break;
	case X509_V_ERR_EE_KEY_TOO_SMALL:
	case X509_V_ERR_CA_KEY_TOO_SMALL:
		verdict(res, VALIDATE_WEAK_KEY, false, "depth %d: %s", depth,
		    why);
		break;
	case X509_V_ERR_CA_MD_TOO_WEAK:
		verdict(res, VALIDATE_WEAK_SIGNATURE, false, "depth %d: %s",
		    depth, why);
		break;
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
	case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
	case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
	case X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION:
		verdict(res, VALIDATE_INVALID, false, "depth %d: %s", depth,
		    why);
		break;
	default:
		verdict(res, VALIDATE_UNTRUSTED, false,
		    "no chain to a trust anchor: depth %d: %s", depth, why);
		break;
	}
}

static bool
weak_md(int mdnid)
{
	return mdnid == NID_md5 || mdnid == NID_sha1 || mdnid == NID_md4 ||
	    mdnid == NID_md2 || mdnid == NID_mdc2 || mdnid == NID_md5_sha1;
}

/* Strength checks over the chain (leaf first, anchor last). */
static bool
check_strength(STACK_OF(X509) *chain, struct validate_result *res)
{
	int n = sk_X509_num(chain);

	for (int i = 0; i < n; i++) {
		X509 *x = sk_X509_value(chain, i);
		EVP_PKEY *pk = X509_get0_pubkey(x);
		int bits, id;

		if (pk == NULL) {
			verdict(res, VALIDATE_INVALID, false,
			    "depth %d: unreadable public key", i);
			return false;
		}
		bits = EVP_PKEY_get_bits(pk);
		id = EVP_PKEY_get_base_id(pk);
		if (((id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS ||
		    id == EVP_PKEY_DSA) && bits < 2048) ||
		    (id == EVP_PKEY_EC && bits < 256)) {
			verdict(res, VALIDATE_WEAK_KEY, false,
			    "depth %d: %d-bit %s key", i, bits,
			    OBJ_nid2sn(id));
			return false;
		}
	}
	/* Signatures: every certificate but the anchor (whose signature
	 * nothing relies on). */
	for (int i = 0; i < n - 1; i++) {
		X509 *x = sk_X509_value(chain, i);
		int mdnid = NID_undef, pknid = NID_undef, secbits = 0;
		uint32_t flags = 0;

		if (X509_get_signature_info(x, &mdnid, &pknid, &secbits,
		    &flags) != 1 &&
		    OBJ_find_sigid_algs(X509_get_signature_nid(x), &mdnid,
		    &pknid) != 1) {
			ERR_clear_error();
			verdict(res, VALIDATE_INVALID, false,
			    "depth %d: unknown signature algorithm", i);
			return false;
		}
		if (weak_md(mdnid)) {
			verdict(res, VALIDATE_WEAK_SIGNATURE, false,
			    "depth %d: signed with %s", i, OBJ_nid2sn(mdnid));
			return false;
		}
	}
	return true;
}

static bool
check_key_usage(X509 *leaf, enum validate_purpose purpose,
    struct validate_result *res)
{
	uint32_t ku = X509_get_key_usage(leaf);
	EVP_PKEY *pk = X509_get0_pubkey(leaf);
	uint32_t want;

	if (ku == UINT32_MAX || purpose == VALIDATE_ANY)
		return true;
	if (purpose == VALIDATE_SIGN)
		want = KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION;
	else if (pk != NULL && EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC)
		want = KU_KEY_AGREEMENT;
	else
		want = KU_KEY_ENCIPHERMENT;
	if ((ku & want) != 0)
		return true;
	verdict(res, VALIDATE_BAD_KEY_USAGE, false, "keyUsage does not allow"
	    " %s", purpose == VALIDATE_SIGN ? "digitalSignature" :
	    want == KU_KEY_AGREEMENT ? "keyAgreement" : "keyEncipherment");
	return false;
}

/* Revocation of chain[i] (issued by chain[i+1]). 1 checked and good (or
 * nothing to check), 0 a verdict was set. */
static int
check_revocation(struct validate_ctx *ctx, STACK_OF(X509) *chain, int i,
    time_t now, struct validate_result *res)
{
	X509 *x = sk_X509_value(chain, i);
	X509 *issuer = sk_X509_value(chain, i + 1);
	char *urls[MAX_URLS];
	size_t n = crl_urls(x, urls, MAX_URLS);
	struct err last;
	int result = -1; /* -1 no CRL obtained yet */

	if (n == 0)
		return 1;
	err_clear(&last);
	for (size_t u = 0; u < n && result < 0; u++) {
		X509_CRL *crl = crl_get(ctx, urls[u], now, &last);
		X509_REVOKED *rev = NULL;
		EVP_PKEY *ipk = X509_get0_pubkey(issuer);

		if (crl == NULL)
			continue;
		if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
		    X509_get_subject_name(issuer)) != 0 || ipk == NULL ||
		    X509_CRL_verify(crl, ipk) != 1) {
			ERR_clear_error();
			err_set(&last, ERR_PERM, "CRL %.120s: not signed by the"
			    " issuer", urls[u]);
			X509_CRL_free(crl);
			continue;
		}
		if (X509_CRL_get0_by_cert(crl, &rev, x) == 1) {
			time_t when = certs_util_time(
			    X509_REVOKED_get0_revocationDate(rev));

			result = when <= now ? 0 : 1;
		} else
			result = 1;
		X509_CRL_free(crl);
	}
	for (size_t u = 0; u < n; u++)
		free(urls[u]);
	if (result == 1)
		return 1;
	if (result == 0) {
		char fp[65];

		certs_util_fingerprint(x, fp);
		verdict(res, VALIDATE_REVOKED, false, "depth %d: revoked"
		    " (fp %.16s)", i, fp);
		return 0;
	}
	switch (ctx->o.crl_policy) {
	case VALIDATE_CRL_IGNORE:
	case VALIDATE_CRL_OFF:
		log_warn(NULL, "event=crl-unavailable policy=ignore depth=%d"
		    " reason=\"%s\"", i, last.msg);
		return 1;
	case VALIDATE_CRL_FAIL:
		verdict(res, VALIDATE_CRL_UNAVAILABLE, false, "depth %d: %s",
		    i, last.msg);
		return 0;
	case VALIDATE_CRL_TEMP:
	default:
		verdict(res, VALIDATE_CRL_UNAVAILABLE, true, "depth %d: %s", i,
		    last.msg);
		return 0;
	}
}

int
validate_cert(struct validate_ctx *ctx, const struct validate_req *req,
    struct validate_result *res, struct err *e)
{
	STACK_OF(X509) *untrusted = NULL, *fetched = NULL, *chain = NULL;
	char *tried[16];
	size_t ntried = 0;
	struct vdomain *d;
	struct vstate vs;
	X509_STORE *store;
	int fetches = 0;
	int r = 0;

	memset(res, 0, sizeof(*res));
	res->depth = -1;
	if (req == NULL || req->leaf == NULL) {
		verdict(res, VALIDATE_INVALID, false, "no certificate");
		return err_set(e, ERR_INTERNAL, "validate_cert: no leaf");
	}
	if (req->direction != VALIDATE_INCOMING &&
	    req->direction != VALIDATE_OUTGOING) {
		verdict(res, VALIDATE_INVALID, false, "no direction");
		return err_set(e, ERR_INTERNAL, "validate_cert: bad direction");
	}
	d = find_domain(ctx, req->local_domain);
	if (d == NULL)
		return verdict(res, VALIDATE_UNKNOWN_DOMAIN, false,
		    "%.80s is not a local domain",
		    req->local_domain != NULL ? req->local_domain : "(none)");
	store = d->st[req->direction == VALIDATE_INCOMING ? 0 : 1];

	untrusted = sk_X509_new_null();
	fetched = sk_X509_new_null();
	if (untrusted == NULL || fetched == NULL)
		abort();
	/* Borrowed pointers: untrusted is freed with sk_X509_free. */
	for (int i = 0; req->untrusted != NULL &&
	    i < sk_X509_num(req->untrusted); i++)
		if (!sk_X509_push(untrusted, sk_X509_value(req->untrusted, i)))
			abort();
	for (int i = 0; i < sk_X509_num(ctx->inter); i++)
		if (!sk_X509_push(untrusted, sk_X509_value(ctx->inter, i)))
			abort();

	for (;;) {
		X509_STORE_CTX *sc = X509_STORE_CTX_new();
		X509_VERIFY_PARAM *param;
		int ok, err, depth;
		X509 *cur;

		if (sc == NULL)
			abort();
		memset(&vs, 0, sizeof(vs));
		if (X509_STORE_CTX_init(sc, store, req->leaf, untrusted) != 1) {
			X509_STORE_CTX_free(sc);
			verdict(res, VALIDATE_INVALID, false, "verify setup");
			r = certs_util_ossl_err(e, ERR_INTERNAL,
			    "X509_STORE_CTX_init");
			goto out;
		}
		param = X509_STORE_CTX_get0_param(sc);
		X509_VERIFY_PARAM_set_time(param, req->now);
		X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
		/* Depth is checked below, with its own reason. */
		X509_VERIFY_PARAM_set_depth(param, 32);
		X509_STORE_CTX_set_app_data(sc, &vs);
		X509_STORE_CTX_set_verify_cb(sc, verify_cb);
		ok = X509_verify_cert(sc);
		if (ok == 1) {
			chain = X509_STORE_CTX_get1_chain(sc);
			X509_STORE_CTX_free(sc);
			break;
		}
		err = X509_STORE_CTX_get_error(sc);
		depth = X509_STORE_CTX_get_error_depth(sc);
		cur = X509_STORE_CTX_get_current_cert(sc);
		if (issuer_missing(err) && cur != NULL &&
		    ctx->o.aia_max_fetches > 0 &&
		    fetches < ctx->o.aia_max_fetches) {
			char *urls[MAX_URLS];
			size_t nu = aia_urls(cur, urls, MAX_URLS);
			int added = 0;
			struct err fe;

			err_clear(&fe);
			for (size_t u = 0; u < nu; u++) {
				bool seen = false;

				for (size_t t = 0; t < ntried; t++)
					seen = seen || strcmp(tried[t],
					    urls[u]) == 0;
				if (seen || fetches >= ctx->o.aia_max_fetches ||
				    ntried == sizeof(tried) / sizeof(tried[0])) {
					free(urls[u]);
					continue;
				}
				tried[ntried++] = urls[u];
				fetches++;
				{
					int before = sk_X509_num(fetched);

					if (aia_get(ctx, urls[u], req->now,
					    fetched, &fe) == 0)
						added += sk_X509_num(fetched) -
						    before;
				}
			}
			if (added > 0) {
				for (int j = sk_X509_num(fetched) - added;
				    j < sk_X509_num(fetched); j++)
					if (!sk_X509_push(untrusted,
					    sk_X509_value(fetched, j)))
						abort();
				X509_STORE_CTX_free(sc);
				continue;
			}
			if (fe.kind != ERR_NONE) {
				verdict(res, VALIDATE_UNTRUSTED,
				    fe.kind == ERR_TEMP, "no chain to a trust"
				    " anchor: issuer at depth %d not found"
				    " (%s)", depth, fe.msg);
				X509_STORE_CTX_free(sc);
				goto out;
			}
		}
		X509_STORE_CTX_free(sc);
		map_verify_error(err, depth, res);
		goto out;
	}

	res->depth = sk_X509_num(chain) - 1;
	if (res->depth > MAX_DEPTH) {
		verdict(res, VALIDATE_CHAIN_TOO_DEEP, false, "the anchor is %d"
		    " certificates above the leaf (at most %d)", res->depth,
		    MAX_DEPTH);
		goto out;
	}
	if (vs.not_yet) {
		verdict(res, VALIDATE_NOT_YET_VALID, false,
		    "depth %d: not yet valid", vs.not_yet_depth);
		goto out;
	}
	if (vs.expired) {
		verdict(res, VALIDATE_EXPIRED, false, "depth %d: expired",
		    vs.expired_depth);
		goto out;
	}
	if (!check_strength(chain, res))
		goto out;
	if (req->expected != NULL) {
		res->binding = validate_binding(req->leaf, req->expected);
		if (res->binding == VALIDATE_BOUND_NONE) {
			verdict(res, VALIDATE_BINDING_MISMATCH, false,
			    "no subjectAltName %s matches %.100s",
			    strchr(req->expected, '@') != NULL ?
			    "rfc822Name or dNSName" : "dNSName", req->expected);
			goto out;
		}
	}
	if (!check_key_usage(req->leaf, req->purpose, res))
		goto out;
	if (ctx->o.crl_policy != VALIDATE_CRL_OFF)
		for (int i = 0; i < sk_X509_num(chain) - 1; i++)
			if (check_revocation(ctx, chain, i, req->now, res) == 0)
				goto out;
	verdict(res, VALIDATE_OK, false, "ok: depth %d, bound to %s",
	    res->depth, res->binding == VALIDATE_BOUND_ADDRESS ? "address" :
	    res->binding == VALIDATE_BOUND_DOMAIN ? "domain" : "(unchecked)");
out:
	for (size_t t = 0; t < ntried; t++)
		free(tried[t]);
	sk_X509_free(untrusted);
	sk_X509_pop_free(fetched, X509_free);
	sk_X509_pop_free(chain, X509_free);
	ERR_clear_error();
	return r;
}
