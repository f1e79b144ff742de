#include "hisp/address.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certs/domain.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"

static const char *const kind_names[] = {"mailbox", "intake", "notify"};

const char *
address_kind_name(enum address_kind k)
{
	return (unsigned)k < 3 ? kind_names[k] : "unknown";
}

int
address_kind_parse(const char *s, enum address_kind *k_r)
{
	for (int i = 0; i < 3; i++) {
		if (strcasecmp(s, kind_names[i]) == 0) {
			*k_r = (enum address_kind)i;
			return 0;
		}
	}
	return -1;
}

bool
address_valid(const char *address)
{
	const char *at = strrchr(address, '@');

	if (at == NULL || at == address || at - address > 64)
		return false;
	for (const char *p = address; p < at; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= ' ' || c >= 0x7f || strchr("\"(),:;<>@[\\]", c))
			return false;
		if (c == '.' && (p == address || p + 1 == at || p[1] == '.'))
			return false;
	}
	return domain_name_valid(at + 1);
}

char *
address_hash_password(const char *password)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	char *out = NULL;

	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL)
		return NULL;
	cd = xcalloc(1, sizeof(*cd));
	if (crypt_rn(password, salt, cd, sizeof(*cd)) != NULL &&
	    cd->output[0] == '$')
		out = xstrdup(cd->output);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return out;
}

/* Constant-time comparison of crypt(3) outputs. */
static bool
hash_matches(const char *password, const char *hash)
{
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	unsigned char diff = 0;
	size_t n = strlen(hash);
	bool ok = false;

	if (crypt_rn(password, hash, cd, sizeof(*cd)) != NULL &&
	    strlen(cd->output) == n) {
		for (size_t i = 0; i < n; i++)
			diff |= (unsigned char)(cd->output[i] ^ hash[i]);
		ok = diff == 0;
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

int
address_add(struct store *s, const char *address, enum address_kind kind,
    const char *password, struct err *e)
{
	const char *domain;
	char *hash = NULL;
	int rc;

	if (!address_valid(address))
		return err_set(e, ERR_PERM, "'%s' is not a valid address",
		    address);
	domain = domain_of(address);
	rc = domain_exists(s, domain, e);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return err_set(e, ERR_PERM,
		    "%s is not a local domain (directgate domain add %s)",
		    domain, domain);
	if (password != NULL && (hash = address_hash_password(password)) ==
	    NULL)
		return err_set(e, ERR_INTERNAL, "cannot hash the password");
	rc = store_run(s, e,
	    "INSERT INTO address (address, domain, kind, password)"
	    " VALUES (lower(?1), lower(?2), ?3, ?4)", "ssss", address, domain,
	    address_kind_name(kind), hash);
	free(hash);
	if (rc != 0 && e != NULL && e->kind == ERR_PERM)
		return err_set(e, ERR_PERM, "%s already exists", address);
	return rc;
}

int
address_remove(struct store *s, const char *address, struct err *e)
{
	if (store_run(s, e, "DELETE FROM address WHERE address = ?1", "s",
	    address) != 0)
		return -1;
	if (store_changes(s) == 0)
		return err_set(e, ERR_PERM, "no such address %s", address);
	return 0;
}

int
address_set_password(struct store *s, const char *address,
    const char *password, struct err *e)
{
	char *hash = NULL;
	int rc;

	if (password != NULL && (hash = address_hash_password(password)) ==
	    NULL)
		return err_set(e, ERR_INTERNAL, "cannot hash the password");
	rc = store_run(s, e, "UPDATE address SET password = ?1"
	    " WHERE address = ?2", "ss", hash, address);
	free(hash);
	if (rc == 0 && store_changes(s) == 0)
		return err_set(e, ERR_PERM, "no such address %s", address);
	return rc;
}

int
address_lookup(struct store *s, const char *address,
    enum address_kind *kind_r, struct err *e)
{
	struct store_stmt *st;
	int rc;

	st = store_prepare(s, "SELECT kind FROM address WHERE address = ?1",
	    e);
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, address);
	rc = store_step(st, e);
	if (rc == 1 && kind_r != NULL &&
	    address_kind_parse(store_col_text(st, 0), kind_r) != 0)
		*kind_r = ADDRESS_MAILBOX;
	store_stmt_done(st);
	return rc;
}

/* A real hash to spend the same time on when there is no address. */
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char *dummy_hash;

static void
dummy_init(void)
{
	dummy_hash = address_hash_password("no such address");
}

int
address_verify(struct store *s, const char *address, const char *password,
    struct err *e)
{
	struct store_stmt *st;
	char *hash = NULL;
	bool ok;
	int rc;

	st = store_prepare(s, "SELECT password FROM address"
	    " WHERE address = ?1", e);
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, address);
	rc = store_step(st, e);
	if (rc == 1 && store_col_text(st, 0) != NULL)
		hash = xstrdup(store_col_text(st, 0));
	store_stmt_done(st);
	if (rc < 0)
		return -1;
	pthread_once(&dummy_once, dummy_init);
	ok = hash_matches(password, hash != NULL ? hash :
	    dummy_hash != NULL ? dummy_hash : "*");
	free(hash);
	return ok && hash != NULL ? 1 : 0;
}

int
address_list(struct store *s, const char *domain, struct address_info **v_r,
    size_t *n_r, struct err *e)
{
	struct address_info *v = NULL;
	struct store_stmt *st;
	size_t n = 0;
	int rc;

	*v_r = NULL;
	*n_r = 0;
	st = store_prepare(s, "SELECT address, kind, password IS NOT NULL"
	    " FROM address WHERE ?1 IS NULL OR domain = ?1"
	    " ORDER BY domain, address", e);
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, domain);
	while ((rc = store_step(st, e)) == 1) {
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n].address = xstrdup(store_col_text(st, 0));
		if (address_kind_parse(store_col_text(st, 1), &v[n].kind) != 0)
			v[n].kind = ADDRESS_MAILBOX;
		v[n].has_password = store_col_int(st, 2) != 0;
		n++;
	}
	store_stmt_done(st);
	if (rc < 0) {
		address_info_free(&v, n);
		return -1;
	}
	*v_r = v;
	*n_r = n;
	return 0;
}

void
address_info_free(struct address_info **vp, size_t n)
{
	if (vp == NULL || *vp == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free((*vp)[i].address);
	free(*vp);
	*vp = NULL;
}

int
address_write_passwd_file(struct store *s, const char *path, struct err *e)
{
	struct store_stmt *st;
	struct buf out;
	char *tmp;
	int fd, rc;

	st = store_prepare(s, "SELECT address, password FROM address"
	    " WHERE kind = 'mailbox' AND password IS NOT NULL"
	    " ORDER BY address", e);
	if (st == NULL)
		return -1;
	buf_init(&out, BUF_UNLIMITED);
	while ((rc = store_step(st, e)) == 1)
		buf_printf(&out, "%s:{CRYPT}%s::::::\n", store_col_text(st, 0),
		    store_col_text(st, 1));
	store_stmt_done(st);
	if (rc < 0) {
		buf_release(&out);
		return -1;
	}
	tmp = xasprintf("%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		rc = err_set(e, ERR_TEMP, "%s: %s", tmp, strerror(errno));
	} else if (write(fd, out.data, out.len) != (ssize_t)out.len ||
	    fsync(fd) != 0) {
		rc = err_set(e, ERR_TEMP, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
	} else {
		struct group gr, *res = NULL;
		char gbuf[4096];

		/* Dovecot's auth process reads it as the dovecot group. */
		if (geteuid() == 0 && getgrnam_r("dovecot", &gr, gbuf,
		    sizeof(gbuf), &res) == 0 && res != NULL &&
		    fchown(fd, 0, gr.gr_gid) != 0)
			log_warn(NULL, "event=passwd_chown_failed");
		fchmod(fd, 0640);
		close(fd);
		rc = 0;
		if (rename(tmp, path) != 0) {
			rc = err_set(e, ERR_TEMP, "%s: %s", path,
			    strerror(errno));
			unlink(tmp);
		}
	}
	free(tmp);
	buf_release(&out);
	return rc;
}
