#include "certs/domain.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certs/certs_store.h"
#include "certs/certs_util_private.h"
#include "core/log.h"
#include "core/xmalloc.h"

bool
domain_name_valid(const char *name)
{
	size_t len = name != NULL ? strlen(name) : 0, label = 0;
	int labels = 1;

	if (len == 0 || len > 253 || name[0] == '.' || name[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (label == 0 || name[i - 1] == '-')
				return false;
			label = 0;
			labels++;
			continue;
		}
		if (!isalnum(c) && c != '-')
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return labels >= 2 && name[len - 1] != '-';
}

bool
domain_owner_valid(const char *owner)
{
	const char *at = owner != NULL ? strrchr(owner, '@') : NULL;
	size_t n;

	if (owner == NULL)
		return false;
	if (at == NULL)
		return domain_name_valid(owner);
	n = (size_t)(at - owner);
	if (n == 0 || n > 64 || owner[0] == '.' || at[-1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)owner[i];

		if (!isalnum(c) && strchr(".!#$%&'*+/=?^_`{|}~-", c) == NULL)
			return false;
		if (c == '.' && owner[i + 1] == '.')
			return false;
	}
	return domain_name_valid(at + 1);
}

const char *
domain_of(const char *address)
{
	const char *at = address != NULL ? strrchr(address, '@') : NULL;

	if (at == NULL || at[1] == '\0')
		return NULL;
	return at + 1;
}

int
domain_add(struct store *s, const char *name, struct err *e)
{
	char *lower;
	int64_t n = 0;
	int r = -1;

	if (!domain_name_valid(name))
		return err_set(e, ERR_PERM, "not a valid domain name: %.80s",
		    name != NULL ? name : "");
	lower = certs_util_lower(name);
	if (store_begin(s, e) != 0)
		goto out;
	if (store_query_int(s, &n, e, "SELECT 1 FROM domain WHERE name = ?",
	    "s", lower) < 0)
		goto fail;
	if (n == 1) {
		err_set(e, ERR_PERM, "domain %s exists already", lower);
		goto fail;
	}
	if (store_run(s, e, "INSERT INTO domain (name) VALUES (?)", "s",
	    lower) != 0 || certs_store_bump(s, e) != 0)
		goto fail;
	if (store_commit(s, e) != 0)
		goto out;
	log_info(NULL, "event=domain-added domain=%s", lower);
	r = 0;
	goto out;
fail:
	store_rollback(s);
out:
	free(lower);
	return r;
}

int
domain_exists(struct store *s, const char *name, struct err *e)
{
	int64_t v = 0;

	if (name == NULL)
		return 0;
	return store_query_int(s, &v, e, "SELECT 1 FROM domain WHERE name = ?",
	    "s", name);
}

int
domain_remove(struct store *s, const char *key_dir, const char *name,
    struct err *e)
{
	struct store_stmt *st;
	char **files = NULL;
	size_t nfiles = 0;
	int r = -1, ex;

	if (store_begin(s, e) != 0)
		return -1;
	ex = domain_exists(s, name, e);
	if (ex <= 0) {
		if (ex == 0)
			err_set(e, ERR_PERM, "no such domain: %.80s", name);
		goto fail;
	}
	st = store_prepare(s, "SELECT key_file FROM cert_key WHERE domain = ?"
	    " AND key_file IS NOT NULL", e);
	if (st == NULL || store_bindv(st, "s", name) != 0)
		goto fail;
	for (;;) {
		int sr = store_step(st, e);

		if (sr < 0) {
			store_stmt_done(st);
			goto fail;
		}
		if (sr == 0)
			break;
		files = xreallocarray(files, nfiles + 1, sizeof(*files));
		files[nfiles++] = xstrdup(store_col_text(st, 0));
	}
	store_stmt_done(st);
	if (store_run(s, e, "DELETE FROM cert_key WHERE domain = ?", "s",
	    name) != 0 ||
	    store_run(s, e, "DELETE FROM anchor WHERE domain = ?", "s",
	    name) != 0 ||
	    store_run(s, e, "DELETE FROM bundle_domain WHERE domain = ?", "s",
	    name) != 0 ||
	    store_run(s, e, "DELETE FROM domain WHERE name = ?", "s",
	    name) != 0 ||
	    certs_store_bump(s, e) != 0)
		goto fail;
	if (store_commit(s, e) != 0)
		goto out;
	/* Key files go after the commit: a failed commit keeps them. */
	for (size_t i = 0; i < nfiles; i++) {
		char *p = xasprintf("%s/%s", key_dir, files[i]);

		(void)unlink(p);
		free(p);
	}
	log_info(NULL, "event=domain-removed domain=%s keys=%zu", name, nfiles);
	r = 0;
	goto out;
fail:
	store_rollback(s);
out:
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	return r;
}

int
domain_list(struct store *s, struct domain_info **v_r, size_t *n_r,
    struct err *e)
{
	struct store_stmt *st = store_prepare(s,
	    "SELECT d.name, d.created,"
	    " (SELECT count(*) FROM cert_key k WHERE k.domain = d.name),"
	    " (SELECT count(*) FROM anchor a WHERE a.domain = d.name),"
	    " (SELECT count(*) FROM bundle_domain b WHERE b.domain = d.name)"
	    " FROM domain d ORDER BY d.name", e);
	struct domain_info *v = NULL;
	size_t n = 0;

	*v_r = NULL;
	*n_r = 0;
	if (st == NULL)
		return -1;
	for (;;) {
		int sr = store_step(st, e);

		if (sr < 0) {
			store_stmt_done(st);
			domain_info_free(&v, n);
			return -1;
		}
		if (sr == 0)
			break;
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n].name = xstrdup(store_col_text(st, 0));
		v[n].created = (time_t)store_col_int(st, 1);
		v[n].n_keys = store_col_int(st, 2);
		v[n].n_anchors = store_col_int(st, 3);
		v[n].n_bundles = store_col_int(st, 4);
		n++;
	}
	store_stmt_done(st);
	*v_r = v;
	*n_r = n;
	return 0;
}

void
domain_info_free(struct domain_info **vp, size_t n)
{
	if (vp == NULL || *vp == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free((*vp)[i].name);
	free(*vp);
	*vp = NULL;
}
