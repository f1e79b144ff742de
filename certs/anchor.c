#include "certs/anchor.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/x509v3.h>

#include "certs/certs_store.h"
#include "certs/certs_util_private.h"
#include "certs/domain.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"

int
anchor_direction_parse(const char *s, unsigned *dir_r)
{
	if (s == NULL)
		return -1;
	if (strcasecmp(s, "in") == 0 || strcasecmp(s, "incoming") == 0)
		*dir_r = ANCHOR_IN;
	else if (strcasecmp(s, "out") == 0 || strcasecmp(s, "outgoing") == 0)
		*dir_r = ANCHOR_OUT;
	else if (strcasecmp(s, "both") == 0)
		*dir_r = ANCHOR_BOTH;
	else
		return -1;
	return 0;
}

const char *
anchor_direction_name(unsigned dir)
{
	switch (dir) {
	case ANCHOR_IN:
		return "in";
	case ANCHOR_OUT:
		return "out";
	case ANCHOR_BOTH:
		return "both";
	default:
		return "?";
	}
}

int
anchor_add(struct store *s, const char *domain, unsigned dir,
    const void *data, size_t len, size_t *n_r, struct err *e)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	size_t added = 0;
	int ex, r = -1;

	if (certs == NULL)
		abort();
	if (n_r != NULL)
		*n_r = 0;
	if (dir < ANCHOR_IN || dir > ANCHOR_BOTH) {
		err_set(e, ERR_PERM, "bad anchor direction");
		goto out;
	}
	if (certs_util_read_certs(data, len, certs, e) < 0)
		goto out;
	if (store_begin(s, e) != 0)
		goto out;
	ex = domain_exists(s, domain, e);
	if (ex <= 0) {
		if (ex == 0)
			err_set(e, ERR_PERM, "no such domain: %.80s", domain);
		goto fail;
	}
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);
		char fp[65];
		char *subject = certs_util_name(X509_get_subject_name(x));
		struct buf der;
		int rr;

		certs_util_fingerprint(x, fp);
		buf_init(&der, BUF_UNLIMITED);
		if (certs_util_der(x, &der) != 0) {
			free(subject);
			buf_release(&der);
			err_set(e, ERR_PERM, "cannot encode certificate");
			goto fail;
		}
		rr = store_run(s, e,
		    "INSERT INTO anchor (domain, dir, fingerprint, der, subject,"
		    " not_after) VALUES (lower(?), ?, ?, ?, ?, ?)"
		    " ON CONFLICT (domain, fingerprint) DO UPDATE"
		    " SET dir = excluded.dir",
		    "sisbsI", domain, (int)dir, fp, der.data, der.len, subject,
		    (int64_t)certs_util_time(X509_get0_notAfter(x)));
		buf_release(&der);
		free(subject);
		if (rr != 0)
			goto fail;
		if (X509_check_ca(x) == 0)
			log_warn(NULL, "event=anchor-not-ca domain=%s fp=%.16s",
			    domain, fp);
		log_info(NULL, "event=anchor-added domain=%s dir=%s fp=%.16s",
		    domain, anchor_direction_name(dir), fp);
		added++;
	}
	if (certs_store_bump(s, e) != 0)
		goto fail;
	if (store_commit(s, e) != 0)
		goto out;
	if (n_r != NULL)
		*n_r = added;
	r = 0;
	goto out;
fail:
	store_rollback(s);
out:
	sk_X509_pop_free(certs, X509_free);
	return r;
}

int
anchor_list(struct store *s, const char *domain, bool with_bundles,
    struct anchor_info **v_r, size_t *n_r, struct err *e)
{
	const char *sql = with_bundles ?
	    "SELECT id, domain, dir, fingerprint, subject, not_after, 0"
	    " FROM anchor WHERE ?1 IS NULL OR domain = ?1"
	    " UNION ALL"
	    " SELECT 0, d.domain, d.dir, a.fingerprint, a.subject, a.not_after,"
	    " a.bundle_id FROM bundle_anchor a JOIN bundle_domain d"
	    " ON d.bundle_id = a.bundle_id WHERE ?1 IS NULL OR d.domain = ?1"
	    " ORDER BY 2, 7, 4" :
	    "SELECT id, domain, dir, fingerprint, subject, not_after, 0"
	    " FROM anchor WHERE ?1 IS NULL OR domain = ?1"
	    " ORDER BY domain, fingerprint";
	struct store_stmt *st = store_prepare(s, sql, e);
	struct anchor_info *v = NULL;
	size_t n = 0;

	*v_r = NULL;
	*n_r = 0;
	if (st == NULL || store_bindv(st, "s", domain) != 0) {
		store_stmt_done(st);
		return st == NULL ? -1 : err_set(e, ERR_INTERNAL, "bind");
	}
	for (;;) {
		int sr = store_step(st, e);
		const char *subject;

		if (sr < 0) {
			store_stmt_done(st);
			anchor_info_free(&v, n);
			return -1;
		}
		if (sr == 0)
			break;
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n].id = store_col_int(st, 0);
		v[n].domain = xstrdup(store_col_text(st, 1));
		v[n].dir = (unsigned)store_col_int(st, 2);
		v[n].fingerprint = xstrdup(store_col_text(st, 3));
		subject = store_col_text(st, 4);
		v[n].subject = xstrdup(subject != NULL ? subject : "");
		v[n].not_after = (time_t)store_col_int(st, 5);
		v[n].bundle_id = store_col_int(st, 6);
		n++;
	}
	store_stmt_done(st);
	*v_r = v;
	*n_r = n;
	return 0;
}

void
anchor_info_free(struct anchor_info **vp, size_t n)
{
	if (vp == NULL || *vp == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free((*vp)[i].domain);
		free((*vp)[i].fingerprint);
		free((*vp)[i].subject);
	}
	free(*vp);
	*vp = NULL;
}

int
anchor_remove(struct store *s, const char *domain, const char *which,
    struct err *e)
{
	int64_t count = 0, id = 0;
	char *pat = NULL;
	int r = -1;

	if (which == NULL || *which == '\0')
		return err_set(e, ERR_PERM, "which anchor?");
	if (store_begin(s, e) != 0)
		return -1;
	if (which[0] == '#') {
		if (str_to_i64(which + 1, 1, INT64_MAX, &id) != 0) {
			err_set(e, ERR_PERM, "bad anchor id: %.40s", which);
			goto fail;
		}
		if (store_query_int(s, &count, e, "SELECT count(*) FROM anchor"
		    " WHERE id = ? AND domain = ?", "Is", id, domain) < 0)
			goto fail;
	} else {
		size_t len = strlen(which);

		if (len < 8 || len > 64 ||
		    strspn(which, "0123456789abcdefABCDEF") != len) {
			err_set(e, ERR_PERM, "give at least 8 hex digits of the"
			    " fingerprint, or #id");
			goto fail;
		}
		pat = xasprintf("%s%%", which);
		str_lower(pat);
		if (store_query_int(s, &count, e, "SELECT count(*) FROM anchor"
		    " WHERE fingerprint LIKE ? AND domain = ?", "ss", pat,
		    domain) < 0 ||
		    (count == 1 && store_query_int(s, &id, e,
		    "SELECT id FROM anchor WHERE fingerprint LIKE ? AND"
		    " domain = ?", "ss", pat, domain) < 0))
			goto fail;
	}
	if (count == 0) {
		err_set(e, ERR_PERM, "no such anchor for %.80s", domain);
		goto fail;
	}
	if (count > 1) {
		err_set(e, ERR_PERM, "ambiguous fingerprint prefix");
		goto fail;
	}
	if (store_run(s, e, "DELETE FROM anchor WHERE id = ?", "I", id) != 0 ||
	    certs_store_bump(s, e) != 0)
		goto fail;
	if (store_commit(s, e) != 0)
		goto out;
	log_info(NULL, "event=anchor-removed domain=%s id=%lld", domain,
	    (long long)id);
	r = 0;
	goto out;
fail:
	store_rollback(s);
out:
	free(pat);
	return r;
}
