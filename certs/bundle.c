#include "certs/bundle.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "certs/anchor.h"
#include "certs/certs_store.h"
#include "certs/certs_util_private.h"
#include "certs/domain.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"

#define BUNDLE_DEFAULT_REFRESH_S 86400
#define BUNDLE_DEFAULT_TIMEOUT_MS 30000
#define BUNDLE_DEFAULT_MAX (10u * 1024 * 1024)

STACK_OF(X509) *
bundle_parse(const void *data, size_t len, struct err *e)
{
	STACK_OF(X509) *certs = sk_X509_new_null();

	if (certs == NULL)
		abort();
	if (certs_util_read_certs(data, len, certs, e) < 0) {
		sk_X509_free(certs);
		err_prefix(e, "bundle");
		return NULL;
	}
	return certs;
}

int
bundle_add(struct store *s, const char *url, int64_t refresh_s,
    int64_t *id_r, struct err *e)
{
	int64_t n = 0;

	if (url == NULL || *url == '\0' || strlen(url) > 2000)
		return err_set(e, ERR_PERM, "bad bundle URL or path");
	if (!http_url_is_http(url) && !str_casebegins(url, "file://") &&
	    url[0] != '/')
		return err_set(e, ERR_PERM, "a bundle is an http(s) URL, a"
		    " file:// URL or an absolute path");
	if (refresh_s < 0)
		return err_set(e, ERR_PERM, "bad refresh interval");
	if (refresh_s == 0)
		refresh_s = BUNDLE_DEFAULT_REFRESH_S;
	if (store_begin(s, e) != 0)
		return -1;
	if (store_query_int(s, &n, e, "SELECT id FROM bundle WHERE url = ?",
	    "s", url) < 0)
		goto fail;
	if (n != 0) {
		err_set(e, ERR_PERM, "bundle exists already (#%lld)",
		    (long long)n);
		goto fail;
	}
	if (store_run(s, e, "INSERT INTO bundle (url, refresh_s) VALUES (?, ?)",
	    "sI", url, refresh_s) != 0 || certs_store_bump(s, e) != 0)
		goto fail;
	n = store_last_rowid(s);
	if (store_commit(s, e) != 0)
		return -1;
	if (id_r != NULL)
		*id_r = n;
	log_info(NULL, "event=bundle-added bundle=%lld", (long long)n);
	return 0;
fail:
	store_rollback(s);
	return -1;
}

static int
bundle_exists(struct store *s, int64_t id, struct err *e)
{
	int64_t v = 0;
	int r = store_query_int(s, &v, e, "SELECT 1 FROM bundle WHERE id = ?",
	    "I", id);

	if (r == 0)
		err_set(e, ERR_PERM, "no such bundle: #%lld", (long long)id);
	return r;
}

int
bundle_attach(struct store *s, int64_t id, const char *domain, unsigned dir,
    struct err *e)
{
	int r;

	if (dir < ANCHOR_IN || dir > ANCHOR_BOTH)
		return err_set(e, ERR_PERM, "bad direction");
	if (store_begin(s, e) != 0)
		return -1;
	if (bundle_exists(s, id, e) <= 0)
		goto fail;
	r = domain_exists(s, domain, e);
	if (r <= 0) {
		if (r == 0)
			err_set(e, ERR_PERM, "no such domain: %.80s", domain);
		goto fail;
	}
	if (store_run(s, e, "INSERT INTO bundle_domain (bundle_id, domain, dir)"
	    " VALUES (?, lower(?), ?) ON CONFLICT (bundle_id, domain)"
	    " DO UPDATE SET dir = excluded.dir", "Isi", id, domain, (int)dir)
	    != 0 || certs_store_bump(s, e) != 0)
		goto fail;
	return store_commit(s, e);
fail:
	store_rollback(s);
	return -1;
}

int
bundle_detach(struct store *s, int64_t id, const char *domain, struct err *e)
{
	if (store_begin(s, e) != 0)
		return -1;
	if (store_run(s, e, "DELETE FROM bundle_domain WHERE bundle_id = ? AND"
	    " domain = ?", "Is", id, domain) != 0)
		goto fail;
	if (store_changes(s) == 0) {
		err_set(e, ERR_PERM, "bundle #%lld is not attached to %.80s",
		    (long long)id, domain);
		goto fail;
	}
	if (certs_store_bump(s, e) != 0)
		goto fail;
	return store_commit(s, e);
fail:
	store_rollback(s);
	return -1;
}

int
bundle_remove(struct store *s, int64_t id, struct err *e)
{
	if (store_begin(s, e) != 0)
		return -1;
	if (bundle_exists(s, id, e) <= 0)
		goto fail;
	if (store_run(s, e, "DELETE FROM bundle_anchor WHERE bundle_id = ?",
	    "I", id) != 0 ||
	    store_run(s, e, "DELETE FROM bundle_domain WHERE bundle_id = ?",
	    "I", id) != 0 ||
	    store_run(s, e, "DELETE FROM bundle WHERE id = ?", "I", id) != 0 ||
	    certs_store_bump(s, e) != 0)
		goto fail;
	if (store_commit(s, e) != 0)
		return -1;
	log_info(NULL, "event=bundle-removed bundle=%lld", (long long)id);
	return 0;
fail:
	store_rollback(s);
	return -1;
}

int
bundle_list(struct store *s, struct bundle_info **v_r, size_t *n_r,
    struct err *e)
{
	struct store_stmt *st = store_prepare(s,
	    "SELECT b.id, b.url, b.refresh_s, b.last_fetch, b.last_ok,"
	    " b.last_error,"
	    " (SELECT count(*) FROM bundle_anchor a WHERE a.bundle_id = b.id),"
	    " (SELECT group_concat(domain || ':' || CASE dir WHEN 1 THEN 'in'"
	    "  WHEN 2 THEN 'out' ELSE 'both' END, ' ') FROM"
	    "  (SELECT * FROM bundle_domain d WHERE d.bundle_id = b.id"
	    "   ORDER BY domain))"
	    " FROM bundle b ORDER BY b.id", e);
	struct bundle_info *v = NULL;
	size_t n = 0;

	*v_r = NULL;
	*n_r = 0;
	if (st == NULL)
		return -1;
	for (;;) {
		int sr = store_step(st, e);
		const char *t;

		if (sr < 0) {
			store_stmt_done(st);
			bundle_info_free(&v, n);
			return -1;
		}
		if (sr == 0)
			break;
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n].id = store_col_int(st, 0);
		v[n].url = xstrdup(store_col_text(st, 1));
		v[n].refresh_s = store_col_int(st, 2);
		v[n].last_fetch = (time_t)store_col_int(st, 3);
		v[n].last_ok = (time_t)store_col_int(st, 4);
		t = store_col_text(st, 5);
		v[n].last_error = t != NULL ? xstrdup(t) : NULL;
		v[n].n_anchors = store_col_int(st, 6);
		t = store_col_text(st, 7);
		v[n].domains = xstrdup(t != NULL ? t : "");
		n++;
	}
	store_stmt_done(st);
	*v_r = v;
	*n_r = n;
	return 0;
}

void
bundle_info_free(struct bundle_info **vp, size_t n)
{
	if (vp == NULL || *vp == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free((*vp)[i].url);
		free((*vp)[i].last_error);
		free((*vp)[i].domains);
	}
	free(*vp);
	*vp = NULL;
}

static int
record_failure(struct store *s, int64_t id, time_t now, const struct err *why)
{
	struct err e2;

	err_clear(&e2);
	return store_run(s, &e2, "UPDATE bundle SET last_fetch = ?,"
	    " last_error = ? WHERE id = ?", "IsI", (int64_t)now, why->msg, id);
}

/* Replaces the bundle's anchors with certs in one transaction. */
static int
store_anchors(struct store *s, int64_t id, time_t now, STACK_OF(X509) *certs,
    const char *digest, struct err *e)
{
	if (store_begin(s, e) != 0)
		return -1;
	if (store_run(s, e, "DELETE FROM bundle_anchor WHERE bundle_id = ?",
	    "I", id) != 0)
		goto fail;
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);
		char fp[65];
		char *subject;
		struct buf der;
		int rr;

		certs_util_fingerprint(x, fp);
		buf_init(&der, BUF_UNLIMITED);
		if (certs_util_der(x, &der) != 0) {
			buf_release(&der);
			err_set(e, ERR_PERM, "cannot encode certificate");
			goto fail;
		}
		subject = certs_util_name(X509_get_subject_name(x));
		rr = store_run(s, e, "INSERT OR IGNORE INTO bundle_anchor"
		    " (bundle_id, fingerprint, der, subject, not_after)"
		    " VALUES (?, ?, ?, ?, ?)", "IsbsI", id, fp, der.data,
		    der.len, subject,
		    (int64_t)certs_util_time(X509_get0_notAfter(x)));
		free(subject);
		buf_release(&der);
		if (rr != 0)
			goto fail;
	}
	if (store_run(s, e, "UPDATE bundle SET last_fetch = ?, last_ok = ?,"
	    " last_error = NULL, digest = ? WHERE id = ?", "IIsI",
	    (int64_t)now, (int64_t)now, digest, id) != 0 ||
	    certs_store_bump(s, e) != 0)
		goto fail;
	return store_commit(s, e);
fail:
	store_rollback(s);
	return -1;
}

int
bundle_refresh(struct store *s, int64_t id, time_t now,
    const struct bundle_fetch_opts *o, size_t *n_r, struct err *e)
{
	struct bundle_fetch_opts def = {0};
	http_fetch_fn *fetch;
	struct store_stmt *st;
	STACK_OF(X509) *certs = NULL;
	unsigned char md[32];
	char digest[65];
	unsigned int mdlen = 0;
	struct buf body;
	char *url = NULL;
	int sr, r = -1;

	if (n_r != NULL)
		*n_r = 0;
	if (o == NULL)
		o = &def;
	fetch = o->fetch != NULL ? o->fetch : http_fetch_default;
	st = store_prepare(s, "SELECT url FROM bundle WHERE id = ?", e);
	if (st == NULL || store_bindv(st, "I", id) != 0)
		return -1;
	sr = store_step(st, e);
	if (sr == 1)
		url = xstrdup(store_col_text(st, 0));
	store_stmt_done(st);
	if (sr < 0)
		return -1;
	if (sr == 0)
		return err_set(e, ERR_PERM, "no such bundle: #%lld",
		    (long long)id);
	buf_init(&body, BUF_UNLIMITED);
	if (fetch(o->fetch_arg, url, o->max_size != 0 ? o->max_size :
	    BUNDLE_DEFAULT_MAX, o->timeout_ms != 0 ? o->timeout_ms :
	    BUNDLE_DEFAULT_TIMEOUT_MS, &body, e) != 0) {
		err_prefix(e, "bundle #%lld", (long long)id);
		record_failure(s, id, now, e);
		goto out;
	}
	certs = bundle_parse(body.data, body.len, e);
	if (certs == NULL) {
		err_prefix(e, "bundle #%lld", (long long)id);
		record_failure(s, id, now, e);
		goto out;
	}
	if (EVP_Digest(body.data, body.len, md, &mdlen, EVP_sha256(), NULL)
	    != 1)
		abort();
	str_hex(digest, md, 32);
	if (store_anchors(s, id, now, certs, digest, e) != 0)
		goto out;
	log_info(NULL, "event=bundle-refreshed bundle=%lld anchors=%d"
	    " size=%zu sha256=%.16s", (long long)id, sk_X509_num(certs),
	    body.len, digest);
	if (n_r != NULL)
		*n_r = (size_t)sk_X509_num(certs);
	r = 0;
out:
	sk_X509_pop_free(certs, X509_free);
	buf_release(&body);
	free(url);
	return r;
}

int
bundle_refresh_due(struct store *s, time_t now, bool force,
    const struct bundle_fetch_opts *o, struct err *e)
{
	struct store_stmt *st = store_prepare(s,
	    "SELECT id FROM bundle WHERE ?1 OR last_fetch IS NULL"
	    " OR last_fetch + refresh_s <= ?2 ORDER BY id", e);
	int64_t *ids = NULL;
	size_t n = 0;
	int ok = 0;

	if (st == NULL || store_bindv(st, "iI", force ? 1 : 0, (int64_t)now)
	    != 0)
		return -1;
	for (;;) {
		int sr = store_step(st, e);

		if (sr < 0) {
			store_stmt_done(st);
			free(ids);
			return -1;
		}
		if (sr == 0)
			break;
		ids = xreallocarray(ids, n + 1, sizeof(*ids));
		ids[n++] = store_col_int(st, 0);
	}
	store_stmt_done(st);
	for (size_t i = 0; i < n; i++) {
		struct err e2;

		err_clear(&e2);
		if (bundle_refresh(s, ids[i], now, o, NULL, &e2) == 0)
			ok++;
		else
			log_warn(NULL, "event=bundle-refresh-failed bundle=%lld"
			    " kind=%s reason=\"%s\"", (long long)ids[i],
			    err_kind_name(e2.kind), e2.msg);
	}
	free(ids);
	return ok;
}
