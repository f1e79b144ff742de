#include "certs/keystore.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "certs/certs_store.h"
#include "certs/certs_util_private.h"
#include "certs/domain.h"
#include "certs/keystore_private.h"
#include "certs/validate.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"

struct keystore {
	atomic_int refs;
	struct keystore_entry *v;
	size_t n;
};

const char *
keystore_kind_name(enum keystore_kind k)
{
	return k == KEYSTORE_ADDRESS ? "address" :
	    k == KEYSTORE_DOMAIN ? "domain" : "intermediate";
}

struct keystore *
keystore_new_empty(void)
{
	struct keystore *ks = xcalloc(1, sizeof(*ks));

	atomic_init(&ks->refs, 1);
	return ks;
}

struct keystore *
keystore_ref(struct keystore *ks)
{
	atomic_fetch_add(&ks->refs, 1);
	return ks;
}

void
keystore_free(struct keystore **ksp)
{
	struct keystore *ks;

	if (ksp == NULL || *ksp == NULL)
		return;
	ks = *ksp;
	*ksp = NULL;
	if (atomic_fetch_sub(&ks->refs, 1) != 1)
		return;
	for (size_t i = 0; i < ks->n; i++) {
		EVP_PKEY_free(ks->v[i].key);
		X509_free(ks->v[i].cert);
		sk_X509_pop_free(ks->v[i].chain, X509_free);
		free((char *)ks->v[i].owner);
	}
	free(ks->v);
	free(ks);
}

size_t
keystore_count(const struct keystore *ks)
{
	return ks->n;
}

const struct keystore_entry *
keystore_get0(const struct keystore *ks, size_t i)
{
	return i < ks->n ? &ks->v[i] : NULL;
}

/* The first rfc822Name (kind address) or else dNSName (kind domain) of
 * x's subjectAltName, lower-cased; NULL when there is neither. */
static char *
san_owner(X509 *x, enum keystore_kind *kind_r)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
	    NULL);
	char *email = NULL, *dns = NULL;

	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_IA5STRING *s;

		if (g->type == GEN_EMAIL && email == NULL)
			s = g->d.rfc822Name;
		else if (g->type == GEN_DNS && dns == NULL)
			s = g->d.dNSName;
		else
			continue;
		if (s == NULL || s->length <= 0 ||
		    memchr(s->data, '\0', (size_t)s->length) != NULL)
			continue;
		if (g->type == GEN_EMAIL)
			email = str_lower(xstrndup((const char *)s->data,
			    (size_t)s->length));
		else
			dns = str_lower(xstrndup((const char *)s->data,
			    (size_t)s->length));
	}
	GENERAL_NAMES_free(gens);
	ERR_clear_error();
	if (email != NULL) {
		free(dns);
		*kind_r = KEYSTORE_ADDRESS;
		return email;
	}
	if (dns != NULL)
		*kind_r = KEYSTORE_DOMAIN;
	return dns;
}

static void
entry_fill(struct keystore_entry *en, enum keystore_kind kind, char *owner,
    EVP_PKEY *key, X509 *cert, STACK_OF(X509) *chain)
{
	memset(en, 0, sizeof(*en));
	en->kind = kind;
	en->owner = owner;
	en->key = key;
	en->cert = cert;
	en->chain = chain;
	certs_util_fingerprint(cert, en->fingerprint);
	en->not_before = certs_util_time(X509_get0_notBefore(cert));
	en->not_after = certs_util_time(X509_get0_notAfter(cert));
}

int
keystore_add(struct keystore *ks, enum keystore_kind kind, const char *owner,
    EVP_PKEY *key, X509 *cert, STACK_OF(X509) *chain, struct err *e)
{
	enum keystore_kind k2 = kind;
	STACK_OF(X509) *ch;
	char *own;

	if (X509_check_private_key(cert, key) != 1)
		return certs_util_ossl_err(e, ERR_PERM,
		    "key does not match certificate");
	if (owner != NULL)
		own = certs_util_lower(owner);
	else if ((own = san_owner(cert, &k2)) == NULL)
		return err_set(e, ERR_PERM, "certificate has no rfc822Name or"
		    " dNSName");
	ch = chain != NULL ? X509_chain_up_ref(chain) : sk_X509_new_null();
	if (ch == NULL || !EVP_PKEY_up_ref(key) || !X509_up_ref(cert))
		abort();
	ks->v = xreallocarray(ks->v, ks->n + 1, sizeof(*ks->v));
	entry_fill(&ks->v[ks->n++], owner != NULL ? kind : k2, own, key, cert,
	    ch);
	return 0;
}

int
keystore_load(struct store *s, const char *key_dir, struct keystore **ks_r,
    struct err *e)
{
	struct store_stmt *st = store_prepare(s,
	    "SELECT kind, owner, key_file, der, chain, fingerprint"
	    " FROM cert_key WHERE der IS NOT NULL AND key_file IS NOT NULL"
	    " ORDER BY id", e);
	struct keystore *ks;

	*ks_r = NULL;
	if (st == NULL)
		return -1;
	ks = keystore_new_empty();
	for (;;) {
		int sr = store_step(st, e);
		const char *kind, *owner, *file, *fp;
		const void *der, *chain;
		size_t derlen = 0, chainlen = 0;
		STACK_OF(X509) *ch;
		EVP_PKEY *key;
		X509 *x;
		struct err ke;

		if (sr < 0) {
			store_stmt_done(st);
			keystore_free(&ks);
			return -1;
		}
		if (sr == 0)
			break;
		kind = store_col_text(st, 0);
		owner = store_col_text(st, 1);
		file = store_col_text(st, 2);
		der = store_col_blob(st, 3, &derlen);
		chain = store_col_blob(st, 4, &chainlen);
		fp = store_col_text(st, 5);
		x = certs_util_x509_der(der, derlen);
		if (x == NULL) {
			log_warn(NULL, "event=key-skipped fp=%.16s"
			    " reason=\"bad certificate\"", fp != NULL ? fp : "");
			continue;
		}
		err_clear(&ke);
		key = certs_util_read_key(key_dir, file, &ke);
		if (key == NULL || X509_check_private_key(x, key) != 1) {
			ERR_clear_error();
			log_warn(NULL, "event=key-skipped fp=%.16s reason=\"%s\"",
			    fp != NULL ? fp : "", key == NULL ? ke.msg :
			    "key does not match certificate");
			EVP_PKEY_free(key);
			X509_free(x);
			continue;
		}
		ch = sk_X509_new_null();
		if (ch == NULL)
			abort();
		if (chainlen > 0 &&
		    certs_util_read_der_concat(chain, chainlen, ch) < 0)
			log_warn(NULL, "event=chain-unreadable fp=%.16s", fp);
		ks->v = xreallocarray(ks->v, ks->n + 1, sizeof(*ks->v));
		entry_fill(&ks->v[ks->n++], strcmp(kind, "address") == 0 ?
		    KEYSTORE_ADDRESS : KEYSTORE_DOMAIN, certs_util_lower(owner),
		    key, x, ch);
	}
	store_stmt_done(st);
	*ks_r = ks;
	return 0;
}

static bool
usage_allows(X509 *x, uint32_t want)
{
	uint32_t ku = X509_get_key_usage(x);

	return ku == UINT32_MAX || (ku & want) != 0;
}

const struct keystore_entry *
keystore_find_signer(const struct keystore *ks, const char *address,
    time_t now)
{
	const char *dom = domain_of(address);
	const struct keystore_entry *best = NULL;

	for (int pass = 0; pass < 2 && best == NULL; pass++) {
		enum keystore_kind want = pass == 0 ? KEYSTORE_ADDRESS :
		    KEYSTORE_DOMAIN;
		const char *owner = pass == 0 ? address : dom;

		if (owner == NULL)
			continue;
		for (size_t i = 0; i < ks->n; i++) {
			const struct keystore_entry *en = &ks->v[i];

			if (en->kind != want || strcasecmp(en->owner, owner) != 0)
				continue;
			if (now < en->not_before || now > en->not_after)
				continue;
			if (!usage_allows(en->cert, KU_DIGITAL_SIGNATURE |
			    KU_NON_REPUDIATION))
				continue;
			if (best == NULL || en->not_after > best->not_after)
				best = en;
		}
	}
	return best;
}

size_t
keystore_find_decrypt(const struct keystore *ks, const char *address,
    const struct keystore_entry **v_r, size_t max)
{
	const char *dom = domain_of(address);
	size_t n = 0;

	for (int pass = 0; pass < 2; pass++) {
		enum keystore_kind want = pass == 0 ? KEYSTORE_ADDRESS :
		    KEYSTORE_DOMAIN;
		const char *owner = pass == 0 ? address : dom;

		if (owner == NULL)
			continue;
		for (size_t i = 0; i < ks->n; i++) {
			const struct keystore_entry *en = &ks->v[i];

			if (en->kind != want || strcasecmp(en->owner, owner) != 0)
				continue;
			if (n < max)
				v_r[n] = en;
			n++;
		}
	}
	return n;
}

/* ---- Administration ---- */

static int
password_cb(char *buf, int size, int rwflag, void *u)
{
	const char *pw = u;
	size_t n;

	if (pw == NULL)
		return -1;
	n = strlen(pw);
	if (n > (size_t)size)
		return -1;
	memcpy(buf, pw, n);
	return (int)n;
}

struct material {
	STACK_OF(X509) *certs;
	EVP_PKEY **keys;
	size_t nkeys;
};

static void
material_add_key(struct material *m, EVP_PKEY *k)
{
	m->keys = xreallocarray(m->keys, m->nkeys + 1, sizeof(*m->keys));
	m->keys[m->nkeys++] = k;
}

static int
read_pkcs12(const struct keystore_input *in, const char *pass,
    struct material *m, struct err *e)
{
	const unsigned char *q = in->data;
	PKCS12 *p12 = d2i_PKCS12(NULL, &q, (long)in->len);
	STACK_OF(X509) *ca = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	const char *name = in->name != NULL ? in->name : "PKCS#12";
	int ok;

	if (p12 == NULL)
		return certs_util_ossl_err(e, ERR_PERM, "not PKCS#12");
	if (PKCS12_mac_present(p12) &&
	    PKCS12_verify_mac(p12, pass, pass != NULL ? -1 : 0) != 1 &&
	    (pass != NULL || PKCS12_verify_mac(p12, "", 0) != 1)) {
		PKCS12_free(p12);
		ERR_clear_error();
		return err_set(e, ERR_PERM, "%s: wrong password (MAC check"
		    " failed)", name);
	}
	ok = PKCS12_parse(p12, pass, &key, &cert, &ca);
	if (!ok) {
		/* RC2 or 3DES encrypted (pre-OpenSSL-3 default): needs the
		 * legacy provider, loaded on demand. */
		ERR_clear_error();
		if (certs_util_load_legacy() == 0)
			ok = PKCS12_parse(p12, pass, &key, &cert, &ca);
	}
	PKCS12_free(p12);
	if (!ok)
		return certs_util_ossl_err(e, ERR_PERM, "cannot read PKCS#12");
	if (key != NULL)
		material_add_key(m, key);
	if (cert != NULL && !sk_X509_push(m->certs, cert))
		abort();
	while (ca != NULL && sk_X509_num(ca) > 0)
		if (!sk_X509_push(m->certs, sk_X509_shift(ca)))
			abort();
	sk_X509_free(ca);
	return 0;
}

static int
read_input(const struct keystore_input *in, const char *pass,
    struct material *m, struct err *e)
{
	const char *name = in->name != NULL ? in->name : "input";

	if (in->len == 0 || in->len > INT32_MAX)
		return err_set(e, ERR_PERM, "%s: empty or too large", name);
	if (memmem(in->data, in->len, "-----BEGIN ", 11) != NULL) {
		BIO *b;
		struct err ce;
		EVP_PKEY *k;
		size_t before = m->nkeys;

		if (memmem(in->data, in->len, "ENCRYPTED", 9) != NULL &&
		    pass == NULL)
			return err_set(e, ERR_PERM, "%s: encrypted key, give"
			    " the password", name);
		b = BIO_new_mem_buf(in->data, (int)in->len);
		if (b == NULL)
			abort();
		while ((k = PEM_read_bio_PrivateKey(b, NULL, password_cb,
		    (void *)pass)) != NULL)
			material_add_key(m, k);
		BIO_free(b);
		if (ERR_GET_REASON(ERR_peek_last_error()) ==
		    PEM_R_NO_START_LINE || ERR_peek_last_error() == 0)
			ERR_clear_error();
		else if (m->nkeys == before &&
		    memmem(in->data, in->len, "PRIVATE KEY", 11) != NULL)
			return certs_util_ossl_err(e, ERR_PERM,
			    "cannot read private key (wrong password?)");
		ERR_clear_error();
		err_clear(&ce);
		if (certs_util_read_certs(in->data, in->len, m->certs, &ce) < 0
		    && m->nkeys == before)
			return err_set(e, ERR_PERM, "%s: no key or certificate"
			    " found", name);
		return 0;
	}
	/* DER: a certificate, a PKCS#7, a private key, or a PKCS#12. */
	{
		struct err ce;
		const unsigned char *q = in->data;
		EVP_PKEY *k;
		PKCS12 *p12;

		err_clear(&ce);
		if (certs_util_read_certs(in->data, in->len, m->certs, &ce) > 0)
			return 0;
		k = d2i_AutoPrivateKey(NULL, &q, (long)in->len);
		if (k != NULL) {
			material_add_key(m, k);
			return 0;
		}
		ERR_clear_error();
		q = in->data;
		p12 = d2i_PKCS12(NULL, &q, (long)in->len);
		ERR_clear_error();
		if (p12 != NULL) {
			PKCS12_free(p12);
			return read_pkcs12(in, pass, m, e) == 0 ? 0 :
			    err_prefix(e, "%s", name);
		}
		return err_set(e, ERR_PERM, "%s: not a PEM, DER or PKCS#12"
		    " key or certificate", name);
	}
}

static void
material_release(struct material *m)
{
	for (size_t i = 0; i < m->nkeys; i++)
		EVP_PKEY_free(m->keys[i]);
	free(m->keys);
	sk_X509_pop_free(m->certs, X509_free);
}

static int
chain_blob(STACK_OF(X509) *certs, X509 *leaf, struct buf *out)
{
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		if (x == leaf || X509_cmp(x, leaf) == 0 ||
		    certs_util_self_signed(x))
			continue;
		if (certs_util_der(x, out) != 0)
			return -1;
	}
	return 0;
}

static int
import_intermediates(struct store *s, STACK_OF(X509) *certs, char *fp_r,
    struct err *e)
{
	if (sk_X509_num(certs) == 0)
		return err_set(e, ERR_PERM, "no certificate to import");
	if (store_begin(s, e) != 0)
		return -1;
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);
		char fp[65];
		char *subject, *issuer;
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
		issuer = certs_util_name(X509_get_issuer_name(x));
		rr = store_run(s, e, "INSERT OR IGNORE INTO intermediate"
		    " (fingerprint, der, subject, issuer, not_after)"
		    " VALUES (?, ?, ?, ?, ?)", "sbssI", fp, der.data, der.len,
		    subject, issuer,
		    (int64_t)certs_util_time(X509_get0_notAfter(x)));
		free(subject);
		free(issuer);
		buf_release(&der);
		if (rr != 0)
			goto fail;
		if (i == 0 && fp_r != NULL)
			str_lcpy(fp_r, fp, KEYSTORE_FP_LEN + 1);
		log_info(NULL, "event=intermediate-imported fp=%.16s", fp);
	}
	if (certs_store_bump(s, e) != 0)
		goto fail;
	return store_commit(s, e);
fail:
	store_rollback(s);
	return -1;
}

/* Checks owner against the certificate and the local domains; fills
 * owner_r (lower-case, caller frees) and kind_r. */
static int
resolve_owner(struct store *s, X509 *leaf, const char *given,
    char **owner_r, enum keystore_kind *kind_r, struct err *e)
{
	enum keystore_kind kind;
	char *owner;
	const char *dom;
	int ex;

	if (given != NULL) {
		enum validate_binding b;

		if (!domain_owner_valid(given))
			return err_set(e, ERR_PERM, "not an address or a domain"
			    " name: %.100s", given);
		b = validate_binding(leaf, given);

		owner = certs_util_lower(given);
		kind = strchr(owner, '@') != NULL ? KEYSTORE_ADDRESS :
		    KEYSTORE_DOMAIN;
		if ((kind == KEYSTORE_ADDRESS && b != VALIDATE_BOUND_ADDRESS) ||
		    (kind == KEYSTORE_DOMAIN && b != VALIDATE_BOUND_DOMAIN)) {
			err_set(e, ERR_PERM, "certificate is not bound to %.100s"
			    " (subjectAltName %s)", owner, kind ==
			    KEYSTORE_ADDRESS ? "rfc822Name" : "dNSName");
			free(owner);
			return -1;
		}
	} else if ((owner = san_owner(leaf, &kind)) == NULL)
		return err_set(e, ERR_PERM, "certificate has no subjectAltName"
		    " rfc822Name or dNSName: give the owner");
	dom = kind == KEYSTORE_ADDRESS ? domain_of(owner) : owner;
	ex = domain_exists(s, dom, e);
	if (ex <= 0) {
		if (ex == 0)
			err_set(e, ERR_PERM, "%.100s is not a local domain"
			    " (directgate domain add %.100s)", dom != NULL ? dom :
			    "?", dom != NULL ? dom : "?");
		free(owner);
		return -1;
	}
	*owner_r = owner;
	*kind_r = kind;
	return 0;
}

static int
insert_entry(struct store *s, enum keystore_kind kind, const char *owner,
    const char *key_file, const char *spki, X509 *leaf,
    const struct buf *chain, struct err *e)
{
	char fp[65];
	char *subject = certs_util_name(X509_get_subject_name(leaf));
	char *issuer = certs_util_name(X509_get_issuer_name(leaf));
	const char *dom = kind == KEYSTORE_ADDRESS ? domain_of(owner) : owner;
	struct buf der;
	int r;

	certs_util_fingerprint(leaf, fp);
	buf_init(&der, BUF_UNLIMITED);
	if (certs_util_der(leaf, &der) != 0)
		r = err_set(e, ERR_PERM, "cannot encode certificate");
	else
		r = store_run(s, e, "INSERT INTO cert_key (kind, owner, domain,"
		    " key_file, spki_fp, fingerprint, der, chain, subject,"
		    " issuer, not_before, not_after)"
		    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		    "ssssssbbssII", keystore_kind_name(kind), owner, dom,
		    key_file, spki, fp, der.data, der.len, chain->data,
		    chain->len, subject, issuer,
		    (int64_t)certs_util_time(X509_get0_notBefore(leaf)),
		    (int64_t)certs_util_time(X509_get0_notAfter(leaf)));
	buf_release(&der);
	free(subject);
	free(issuer);
	return r;
}

/* A certificate alone: completes a pending entry with the same key. */
static int
import_for_pending(struct store *s, STACK_OF(X509) *certs, char *fp_r,
    struct err *e)
{
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);
		EVP_PKEY *pub = X509_get0_pubkey(x);
		char spki[65], fp[65];
		char *subject, *issuer;
		struct buf der, chain;
		int64_t id = 0;
		int r;

		if (pub == NULL)
			continue;
		certs_util_spki_fp(pub, spki);
		r = store_query_int(s, &id, e, "SELECT id FROM cert_key WHERE"
		    " spki_fp = ? AND der IS NULL", "s", spki);
		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		certs_util_fingerprint(x, fp);
		buf_init(&der, BUF_UNLIMITED);
		buf_init(&chain, BUF_UNLIMITED);
		subject = certs_util_name(X509_get_subject_name(x));
		issuer = certs_util_name(X509_get_issuer_name(x));
		r = -1;
		if (certs_util_der(x, &der) != 0 ||
		    chain_blob(certs, x, &chain) != 0)
			err_set(e, ERR_PERM, "cannot encode certificate");
		else if (store_begin(s, e) == 0) {
			if (store_run(s, e, "UPDATE cert_key SET fingerprint = ?,"
			    " der = ?, chain = ?, subject = ?, issuer = ?,"
			    " not_before = ?, not_after = ? WHERE id = ?",
			    "sbbssIII", fp, der.data, der.len, chain.data,
			    chain.len, subject, issuer,
			    (int64_t)certs_util_time(X509_get0_notBefore(x)),
			    (int64_t)certs_util_time(X509_get0_notAfter(x)), id)
			    == 0 && certs_store_bump(s, e) == 0)
				r = store_commit(s, e);
			else
				store_rollback(s);
		}
		buf_release(&der);
		buf_release(&chain);
		free(subject);
		free(issuer);
		if (r == 0) {
			if (fp_r != NULL)
				str_lcpy(fp_r, fp, KEYSTORE_FP_LEN + 1);
			log_info(NULL, "event=cert-imported fp=%.16s"
			    " pending=completed", fp);
		}
		return r;
	}
	return err_set(e, ERR_PERM, "no private key in the input, and no"
	    " generated key matches the certificate");
}

int
keystore_import(struct store *s, const char *key_dir,
    const struct keystore_input *in, size_t n_in,
    const struct keystore_import_opts *o, char fp_r[KEYSTORE_FP_LEN + 1],
    struct err *e)
{
	static const struct keystore_import_opts none = {0};
	struct material m = {sk_X509_new_null(), NULL, 0};
	enum keystore_kind kind = KEYSTORE_ADDRESS;
	X509 *leaf = NULL;
	EVP_PKEY *key = NULL;
	char spki[65], fp[65];
	char *owner = NULL, *key_file = NULL;
	struct buf chain;
	int64_t dup = 0;
	int r = -1;

	if (m.certs == NULL)
		abort();
	if (o == NULL)
		o = &none;
	if (fp_r != NULL)
		fp_r[0] = '\0';
	buf_init(&chain, BUF_UNLIMITED);
	for (size_t i = 0; i < n_in; i++)
		if (read_input(&in[i], o->password, &m, e) != 0)
			goto out;
	if (o->intermediate) {
		r = import_intermediates(s, m.certs, fp_r, e);
		goto out;
	}
	if (m.nkeys == 0) {
		r = import_for_pending(s, m.certs, fp_r, e);
		goto out;
	}
	if (m.nkeys > 1) {
		err_set(e, ERR_PERM, "more than one private key in the input");
		goto out;
	}
	key = m.keys[0];
	for (int i = 0; i < sk_X509_num(m.certs) && leaf == NULL; i++)
		if (X509_check_private_key(sk_X509_value(m.certs, i), key) == 1)
			leaf = sk_X509_value(m.certs, i);
	ERR_clear_error();
	if (leaf == NULL) {
		err_set(e, ERR_PERM, sk_X509_num(m.certs) == 0 ?
		    "no certificate for the private key" :
		    "the private key matches none of the certificates");
		goto out;
	}
	if (resolve_owner(s, leaf, o->owner, &owner, &kind, e) != 0)
		goto out;
	certs_util_spki_fp(key, spki);
	certs_util_fingerprint(leaf, fp);
	if (store_query_int(s, &dup, e, "SELECT count(*) FROM cert_key WHERE"
	    " fingerprint = ? OR spki_fp = ?", "ss", fp, spki) < 0)
		goto out;
	if (dup != 0) {
		err_set(e, ERR_PERM, "this key or certificate is already in the"
		    " key store (%.16s)", fp);
		goto out;
	}
	if (chain_blob(m.certs, leaf, &chain) != 0) {
		err_set(e, ERR_PERM, "cannot encode the chain");
		goto out;
	}
	key_file = xasprintf("%s.key", spki);
	if (certs_util_write_key(key_dir, key_file, key, e) != 0)
		goto out;
	if (store_begin(s, e) != 0)
		goto unlink;
	if (insert_entry(s, kind, owner, key_file, spki, leaf, &chain, e) != 0
	    || certs_store_bump(s, e) != 0) {
		store_rollback(s);
		goto unlink;
	}
	if (store_commit(s, e) != 0)
		goto unlink;
	if (fp_r != NULL)
		str_lcpy(fp_r, fp, KEYSTORE_FP_LEN + 1);
	log_info(NULL, "event=cert-imported kind=%s owner=%s fp=%.16s",
	    keystore_kind_name(kind), owner, fp);
	r = 0;
	goto out;
unlink: {
		char *p = xasprintf("%s/%s", key_dir, key_file);

		(void)unlink(p);
		free(p);
	}
out:
	material_release(&m);
	buf_release(&chain);
	free(owner);
	free(key_file);
	return r;
}

int
keystore_keytype_parse(const char *s, enum keystore_keytype *t_r)
{
	static const struct {
		const char *name;
		enum keystore_keytype t;
	} tab[] = {
		{"rsa2048", KEYSTORE_RSA2048}, {"rsa3072", KEYSTORE_RSA3072},
		{"rsa4096", KEYSTORE_RSA4096}, {"p256", KEYSTORE_EC_P256},
		{"p384", KEYSTORE_EC_P384}, {"ec256", KEYSTORE_EC_P256},
		{"ec384", KEYSTORE_EC_P384},
	};

	for (size_t i = 0; s != NULL && i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcasecmp(s, tab[i].name) == 0) {
			*t_r = tab[i].t;
			return 0;
		}
	return -1;
}

EVP_PKEY *
keystore_keygen(enum keystore_keytype type)
{
	switch (type) {
	case KEYSTORE_RSA2048:
		return EVP_RSA_gen(2048);
	case KEYSTORE_RSA3072:
		return EVP_RSA_gen(3072);
	case KEYSTORE_RSA4096:
		return EVP_RSA_gen(4096);
	case KEYSTORE_EC_P256:
		return EVP_EC_gen("P-256");
	case KEYSTORE_EC_P384:
		return EVP_EC_gen("P-384");
	}
	return NULL;
}

static int
add_ext(STACK_OF(X509_EXTENSION) *exts, int nid, const char *value)
{
	X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, NULL, nid, value);

	if (ex == NULL)
		return -1;
	if (!sk_X509_EXTENSION_push(exts, ex))
		abort();
	return 0;
}

int
keystore_generate(struct store *s, const char *key_dir, const char *owner,
    enum keystore_keytype type, struct buf *csr_out, struct err *e)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	enum keystore_kind kind;
	X509_REQ *req = NULL;
	EVP_PKEY *key = NULL;
	char spki[65];
	char *own = NULL, *key_file = NULL, *san = NULL;
	const char *dom;
	BIO *b = NULL;
	int ex, r = -1;

	if (!domain_owner_valid(owner))
		return err_set(e, ERR_PERM, "not an address or a domain name:"
		    " %.100s", owner != NULL ? owner : "");
	own = certs_util_lower(owner);
	kind = strchr(own, '@') != NULL ? KEYSTORE_ADDRESS : KEYSTORE_DOMAIN;
	dom = kind == KEYSTORE_ADDRESS ? domain_of(own) : own;
	ex = domain_exists(s, dom, e);
	if (ex <= 0) {
		if (ex == 0)
			err_set(e, ERR_PERM, "%.100s is not a local domain",
			    dom != NULL ? dom : "?");
		goto out;
	}
	if ((key = keystore_keygen(type)) == NULL) {
		certs_util_ossl_err(e, ERR_INTERNAL, "key generation failed");
		goto out;
	}
	req = X509_REQ_new();
	exts = sk_X509_EXTENSION_new_null();
	if (req == NULL || exts == NULL)
		abort();
	san = xasprintf("%s:%s", kind == KEYSTORE_ADDRESS ? "email" : "DNS",
	    own);
	if (!X509_REQ_set_version(req, 0) ||
	    !X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN",
	    MBSTRING_UTF8, (const unsigned char *)own, -1, -1, 0) ||
	    !X509_REQ_set_pubkey(req, key) ||
	    add_ext(exts, NID_subject_alt_name, san) != 0 ||
	    add_ext(exts, NID_key_usage, type == KEYSTORE_EC_P256 ||
	    type == KEYSTORE_EC_P384 ? "critical,digitalSignature,keyAgreement"
	    : "critical,digitalSignature,keyEncipherment") != 0 ||
	    !X509_REQ_add_extensions(req, exts) ||
	    X509_REQ_sign(req, key, EVP_sha256()) <= 0) {
		certs_util_ossl_err(e, ERR_INTERNAL, "cannot build the CSR");
		goto out;
	}
	b = BIO_new(BIO_s_mem());
	if (b == NULL || PEM_write_bio_X509_REQ(b, req) != 1) {
		certs_util_ossl_err(e, ERR_INTERNAL, "cannot encode the CSR");
		goto out;
	}
	certs_util_spki_fp(key, spki);
	key_file = xasprintf("%s.key", spki);
	if (certs_util_write_key(key_dir, key_file, key, e) != 0)
		goto out;
	if (store_begin(s, e) != 0)
		goto out;
	if (store_run(s, e, "INSERT INTO cert_key (kind, owner, domain,"
	    " key_file, spki_fp) VALUES (?, ?, ?, ?, ?)", "sssss",
	    keystore_kind_name(kind), own, dom, key_file, spki) != 0 ||
	    certs_store_bump(s, e) != 0) {
		store_rollback(s);
		goto out;
	}
	if (store_commit(s, e) != 0)
		goto out;
	{
		char *p = NULL;
		long len = BIO_get_mem_data(b, &p);

		if (buf_append(csr_out, p, (size_t)len) != 0) {
			err_set(e, ERR_INTERNAL, "CSR too large");
			goto out;
		}
	}
	log_info(NULL, "event=key-generated kind=%s owner=%s spki=%.16s",
	    keystore_kind_name(kind), own, spki);
	r = 0;
out:
	if (r != 0 && key_file != NULL) {
		char *p = xasprintf("%s/%s", key_dir, key_file);

		(void)unlink(p);
		free(p);
	}
	BIO_free(b);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	free(own);
	free(san);
	free(key_file);
	return r;
}

int
keystore_list(struct store *s, const char *owner, bool with_intermediates,
    struct keystore_info **v_r, size_t *n_r, struct err *e)
{
	struct store_stmt *st = store_prepare(s,
	    "SELECT id, kind, owner, fingerprint, subject, issuer, not_before,"
	    " not_after, key_file IS NOT NULL, 0 FROM cert_key"
	    " WHERE ?1 IS NULL OR owner = ?1 OR domain = ?1"
	    " UNION ALL SELECT id, NULL, NULL, fingerprint, subject, issuer, 0,"
	    " not_after, 0, 1 FROM intermediate WHERE ?2 AND ?1 IS NULL"
	    " ORDER BY 10, 3, 1", e);
	struct keystore_info *v = NULL;
	size_t n = 0;

	*v_r = NULL;
	*n_r = 0;
	if (st == NULL)
		return -1;
	if (store_bindv(st, "si", owner, with_intermediates ? 1 : 0) != 0) {
		store_stmt_done(st);
		return err_set(e, ERR_INTERNAL, "bind");
	}
	for (;;) {
		int sr = store_step(st, e);
		struct keystore_info *in;
		const char *t;

		if (sr < 0) {
			store_stmt_done(st);
			keystore_info_free(&v, n);
			return -1;
		}
		if (sr == 0)
			break;
		v = xreallocarray(v, n + 1, sizeof(*v));
		in = &v[n++];
		memset(in, 0, sizeof(*in));
		in->id = store_col_int(st, 0);
		t = store_col_text(st, 1);
		in->kind = t == NULL ? 0 : strcmp(t, "address") == 0 ?
		    KEYSTORE_ADDRESS : KEYSTORE_DOMAIN;
		t = store_col_text(st, 2);
		in->owner = t != NULL ? xstrdup(t) : NULL;
		t = store_col_text(st, 3);
		in->fingerprint = t != NULL ? xstrdup(t) : NULL;
		t = store_col_text(st, 4);
		in->subject = t != NULL ? xstrdup(t) : NULL;
		t = store_col_text(st, 5);
		in->issuer = t != NULL ? xstrdup(t) : NULL;
		in->not_before = (time_t)store_col_int(st, 6);
		in->not_after = (time_t)store_col_int(st, 7);
		in->has_key = store_col_int(st, 8) != 0;
		in->intermediate = store_col_int(st, 9) != 0;
		in->pending = !in->intermediate && in->fingerprint == NULL;
	}
	store_stmt_done(st);
	*v_r = v;
	*n_r = n;
	return 0;
}

void
keystore_info_free(struct keystore_info **vp, size_t n)
{
	if (vp == NULL || *vp == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free((*vp)[i].owner);
		free((*vp)[i].fingerprint);
		free((*vp)[i].subject);
		free((*vp)[i].issuer);
	}
	free(*vp);
	*vp = NULL;
}

int
keystore_remove(struct store *s, const char *key_dir, const char *which,
    struct err *e)
{
	int64_t id = 0, nk = 0, ni = 0;
	char *pat = NULL, *file = NULL;
	bool inter = false;
	int r = -1;

	if (which == NULL || *which == '\0')
		return err_set(e, ERR_PERM, "which certificate?");
	if (store_begin(s, e) != 0)
		return -1;
	if (which[0] == '#') {
		if (str_to_i64(which + 1, 1, INT64_MAX, &id) != 0) {
			err_set(e, ERR_PERM, "bad id: %.40s", which);
			goto fail;
		}
		if (store_query_int(s, &nk, e, "SELECT count(*) FROM cert_key"
		    " WHERE id = ?", "I", id) < 0)
			goto fail;
	} else {
		size_t len = strlen(which);

		if (len < 8 || len > 64 ||
		    strspn(which, "0123456789abcdefABCDEF") != len) {
			err_set(e, ERR_PERM, "give at least 8 hex digits of the"
			    " fingerprint, or #id");
			goto fail;
		}
		pat = str_lower(xasprintf("%s%%", which));
		if (store_query_int(s, &nk, e, "SELECT count(*) FROM cert_key"
		    " WHERE fingerprint LIKE ?", "s", pat) < 0 ||
		    store_query_int(s, &ni, e, "SELECT count(*) FROM"
		    " intermediate WHERE fingerprint LIKE ?", "s", pat) < 0)
			goto fail;
		if (nk + ni == 1) {
			inter = ni == 1;
			if (store_query_int(s, &id, e, inter ?
			    "SELECT id FROM intermediate WHERE fingerprint LIKE ?"
			    : "SELECT id FROM cert_key WHERE fingerprint LIKE ?",
			    "s", pat) < 0)
				goto fail;
		}
	}
	if (nk + ni == 0) {
		err_set(e, ERR_PERM, "no such certificate: %.64s", which);
		goto fail;
	}
	if (nk + ni > 1) {
		err_set(e, ERR_PERM, "ambiguous fingerprint prefix");
		goto fail;
	}
	if (!inter) {
		struct store_stmt *st = store_prepare(s,
		    "SELECT key_file FROM cert_key WHERE id = ?", e);

		if (st == NULL || store_bindv(st, "I", id) != 0)
			goto fail;
		if (store_step(st, e) == 1 && store_col_text(st, 0) != NULL)
			file = xstrdup(store_col_text(st, 0));
		store_stmt_done(st);
	}
	if (store_run(s, e, inter ? "DELETE FROM intermediate WHERE id = ?" :
	    "DELETE FROM cert_key WHERE id = ?", "I", id) != 0 ||
	    certs_store_bump(s, e) != 0)
		goto fail;
	if (store_commit(s, e) != 0)
		goto out;
	if (file != NULL) {
		char *p = xasprintf("%s/%s", key_dir, file);

		(void)unlink(p);
		free(p);
	}
	log_info(NULL, "event=cert-removed id=%lld intermediate=%s",
	    (long long)id, inter ? "yes" : "no");
	r = 0;
	goto out;
fail:
	store_rollback(s);
out:
	free(pat);
	free(file);
	return r;
}
