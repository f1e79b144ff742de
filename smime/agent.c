#include "smime/agent.h"
#include "smime/agent_private.h"

#include <assert.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certs/validate.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "smime/cms_der_private.h"
#include "smime/mime.h"
#include "smime/signer_private.h"
#include "smime/smime_cms_private.h"

/* Parsed recipient certificates, by their DER: OpenSSL 3.0 takes about
 * as long to decode a certificate's public key as to make an RSA-2048
 * signature, and a HISP seals to the same recipients again and again. */
#define CERT_CACHE_SLOTS 512

struct cert_slot {
	uint8_t *der;
	size_t len;
	X509 *x;
};

struct agent {
	struct smime_settings set;
	EVP_CIPHER *cipher; /* the configured content cipher, prefetched */
	EVP_MD *oaep_md;
	EVP_MD *sha256;
	struct buf smimecap;   /* DER of the SMIMECapabilities attribute */
	/* Header blocks that never change, written once by libetpan. */
	struct buf hdr_inner;  /* the message/rfc822 part's header */
	struct buf hdr_sig;    /* the signature part's header */
	struct buf hdr_outer;  /* MIME-Version ... to the empty line */
	struct buf hdr_signed; /* multipart/signed, boundary to fill in */
	size_t hdr_signed_boff;
	bool generic_cms; /* OpenSSL's CMS only (tests) */
	pthread_rwlock_t cache_lock;
	struct cert_slot cache[CERT_CACHE_SLOTS];
};

static const char *const cipher_fetch_names[] = {
	"AES-128-CBC", "AES-256-CBC", "AES-128-GCM", "AES-256-GCM",
};

static const char *const ct_signature[] = {"name", "smime.p7s", NULL};
static const char *const ct_enveloped[] = {"smime-type", "enveloped-data",
    "name", "smime.p7m", NULL};
static const char *const ct_auth_enveloped[] = {"smime-type",
    "authEnveloped-data", "name", "smime.p7m", NULL};

struct agent *
agent_new(const struct smime_settings *set)
{
	struct agent *a = xcalloc(1, sizeof(*a));
	bool gcm = set->cipher == SMIME_AES128_GCM ||
	    set->cipher == SMIME_AES256_GCM;
	struct err e;

	a->set = *set;
	a->cipher = EVP_CIPHER_fetch(NULL, cipher_fetch_names[set->cipher],
	    NULL);
	a->oaep_md = EVP_MD_fetch(NULL,
	    set->oaep_digest == SMIME_SHA1 ? "SHA1" : "SHA256", NULL);
	if (a->cipher == NULL || a->oaep_md == NULL)
		abort();
	if (pthread_rwlock_init(&a->cache_lock, NULL) != 0)
		abort();
	if ((a->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		abort();
	buf_init(&a->smimecap, 4096);
	buf_init(&a->hdr_inner, 4096);
	buf_init(&a->hdr_sig, 4096);
	buf_init(&a->hdr_outer, 4096);
	if (smime_cms_smimecap(&a->smimecap) != 0 ||
	    mime_write_content_type(&a->hdr_inner, "message/rfc822", NULL,
	    &e) != 0 ||
	    buf_append_str(&a->hdr_inner, "\r\n") != 0 ||
	    mime_write_content_type(&a->hdr_sig, "application/pkcs7-signature",
	    ct_signature, &e) != 0 ||
	    buf_append_str(&a->hdr_sig, "Content-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment; filename=smime.p7s\r\n\r\n") !=
	    0 || buf_append_str(&a->hdr_outer, "MIME-Version: 1.0\r\n") != 0 ||
	    mime_write_content_type(&a->hdr_outer, "application/pkcs7-mime",
	    gcm ? ct_auth_enveloped : ct_enveloped, &e) != 0 ||
	    buf_append_str(&a->hdr_outer, "Content-Transfer-Encoding: base64"
	    "\r\nContent-Disposition: attachment; filename=smime.p7m\r\n\r\n")
	    != 0)
		abort();
	{
		/* The multipart/signed header with a placeholder boundary of
		 * the length mime_boundary makes, filled in per message. */
		char ph[MIME_PARAM_MAX], *at;
		const char *ct_signed[] = {"protocol",
		    "application/pkcs7-signature", "micalg", "sha-256",
		    "boundary", ph, NULL};

		mime_boundary(ph, sizeof(ph));
		memset(ph, 'X', strlen(ph));
		buf_init(&a->hdr_signed, 4096);
		if (mime_write_content_type(&a->hdr_signed, "multipart/signed",
		    ct_signed, &e) != 0 ||
		    (at = strstr((char *)a->hdr_signed.data, ph)) == NULL)
			abort();
		a->hdr_signed_boff = (size_t)(at - (char *)a->hdr_signed.data);
	}
	return a;
}

void
agent_free(struct agent **ap)
{
	struct agent *a;

	if (ap == NULL || (a = *ap) == NULL)
		return;
	*ap = NULL;
	EVP_CIPHER_free(a->cipher);
	EVP_MD_free(a->oaep_md);
	EVP_MD_free(a->sha256);
	buf_release(&a->smimecap);
	buf_release(&a->hdr_inner);
	buf_release(&a->hdr_sig);
	buf_release(&a->hdr_outer);
	buf_release(&a->hdr_signed);
	for (size_t i = 0; i < CERT_CACHE_SLOTS; i++) {
		free(a->cache[i].der);
		X509_free(a->cache[i].x);
	}
	pthread_rwlock_destroy(&a->cache_lock);
	free(a);
}

const struct smime_settings *
agent_settings(const struct agent *a)
{
	return &a->set;
}

static const char *const reason_names[] = {
	[AGENT_OK] = "ok",
	[AGENT_NOT_ENCRYPTED] = "not-encrypted",
	[AGENT_NOT_FOR_US] = "not-for-us",
	[AGENT_NOT_SIGNED] = "not-signed",
	[AGENT_BAD_SIGNATURE] = "bad-signature",
	[AGENT_UNTRUSTED] = "untrusted",
	[AGENT_EXPIRED] = "expired",
	[AGENT_NOT_YET_VALID] = "not-yet-valid",
	[AGENT_REVOKED] = "revoked",
	[AGENT_BINDING_MISMATCH] = "binding-mismatch",
	[AGENT_WEAK_ALGORITHM] = "weak-algorithm",
	[AGENT_ENVELOPE_TAMPERED] = "envelope-tampered",
	[AGENT_MALFORMED] = "malformed",
	[AGENT_TRUST_UNAVAILABLE] = "trust-unavailable",
};

const char *
agent_reason_name(enum agent_reason r)
{
	if ((size_t)r < sizeof(reason_names) / sizeof(*reason_names) &&
	    reason_names[r] != NULL)
		return reason_names[r];
	return "unknown";
}

/* ---- Helpers ---- */

static bool
addr_eq(const char *a, const char *b)
{
	size_t al, bl;

	if (a == NULL || b == NULL)
		return false;
	if (*a == '<')
		a++;
	if (*b == '<')
		b++;
	al = strlen(a);
	bl = strlen(b);
	if (al > 0 && a[al - 1] == '>')
		al--;
	if (bl > 0 && b[bl - 1] == '>')
		bl--;
	return al > 0 && al == bl && strncasecmp(a, b, al) == 0;
}

static const char *
domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : addr;
}

/* The certificate of DER p[0..n), from the cache or parsed (and then
 * cached); the caller owns a reference. NULL when p is not exactly one DER
 * certificate. */
static X509 *
cert_get1(const struct agent *ca, const uint8_t *p, size_t n)
{
	struct agent *a = (struct agent *)ca; /* the cache is thread-safe */
	uint64_t h = 14695981039346656037ULL;
	const unsigned char *q = p;
	struct cert_slot *sl;
	X509 *x = NULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	sl = &a->cache[h % CERT_CACHE_SLOTS];
	pthread_rwlock_rdlock(&a->cache_lock);
	if (sl->x != NULL && sl->len == n && memcmp(sl->der, p, n) == 0) {
		x = sl->x;
		X509_up_ref(x);
	}
	pthread_rwlock_unlock(&a->cache_lock);
	if (x != NULL)
		return x;
	if (n > INT32_MAX || (x = d2i_X509(NULL, &q, (long)n)) == NULL ||
	    q != p + n) {
		X509_free(x);
		ERR_clear_error();
		return NULL;
	}
	pthread_rwlock_wrlock(&a->cache_lock);
	free(sl->der);
	X509_free(sl->x);
	sl->der = xmemdup(p, n);
	sl->len = n;
	sl->x = x;
	X509_up_ref(x);
	pthread_rwlock_unlock(&a->cache_lock);
	return x;
}

static STACK_OF(X509) *
parse_der_certs(const struct agent *a, const struct agent_blob *v, size_t n,
    struct err *e)
{
	STACK_OF(X509) *sk = sk_X509_new_null();

	if (sk == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		X509 *x = cert_get1(a, v[i].data, v[i].len);

		if (x == NULL) {
			sk_X509_pop_free(sk, X509_free);
			err_set(e, ERR_PERM, "recipient certificate %zu is not "
			    "DER X.509", i + 1);
			return NULL;
		}
		if (sk_X509_push(sk, x) <= 0)
			abort();
	}
	return sk;
}

/* ---- Seal ---- */

int
agent_seal(const struct agent *a, const struct agent_seal_req *req,
    struct buf *out, struct err *e)
{
	size_t max = a->set.max_message, start = out->len, msg_off;
	struct buf routing, inner, sig, ent, env;
	struct mime_headers h;
	STACK_OF(X509) *recips = NULL;
	X509 *cert;
	char boundary[MIME_PARAM_MAX];
	size_t blen;
	int r, rc = -1;

	memset(&h, 0, sizeof(h));
	buf_init(&routing, MIME_HEADER_MAX);
	buf_init(&inner, max * 2 + 4096);
	buf_init(&sig, 1 << 20);
	buf_init(&ent, max * 2 + (1 << 20));
	buf_init(&env, max * 2 + (1 << 20));
	if (req->msg_len > max) {
		err_set(e, ERR_PERM, "message of %zu bytes exceeds max_message "
		    "%zu", req->msg_len, max);
		goto out;
	}
	if ((cert = signer_get0_cert(req->signer, req->key_id)) == NULL) {
		err_set(e, ERR_PERM, "no signing key %.16s...",
		    req->key_id ? req->key_id : "(none)");
		goto out;
	}
	if (req->n_rcpt_certs == 0) {
		err_set(e, ERR_PERM, "no recipient certificate");
		goto out;
	}
	if ((recips = parse_der_certs(a, req->rcpt_certs,
	    req->n_rcpt_certs, e)) == NULL)
		goto out;

	/* 1. Wrap: the message/rfc822 header, then the message in
	 * canonical form. RFC 1847: the CRLF before the next delimiter is
	 * not part of the signed entity; the message's last CRLF is. */
	if (buf_reserve(&inner, a->hdr_inner.len + req->msg_len +
	    req->msg_len / 32 + 4) != 0 ||
	    buf_append(&inner, a->hdr_inner.data, a->hdr_inner.len) != 0)
		goto full;
	msg_off = inner.len;
	if (mime_canon_crlf(req->msg, req->msg_len, &inner) != 0)
		goto full;
	if (mime_headers_parse_routing(inner.data + msg_off,
	    inner.len - msg_off, &h, a->set.outer_subject, &routing, e) != 0)
		goto out;
	if (h.from[0] == '\0') {
		err_set(e, ERR_PERM, "message without a From address");
		goto out;
	}
	if (req->from != NULL && !addr_eq(h.from, req->from)) {
		err_set(e, ERR_PERM, "From header <%s> is not the sender <%s>",
		    h.from, req->from);
		goto out;
	}

	/* 2. Sign. */
	r = a->generic_cms ? 1 : cms_der_sign(req->signer, req->key_id, cert,
	    signer_get0_chain(req->signer, req->key_id), a->sha256,
	    &a->smimecap, inner.data, inner.len, time(NULL), &sig, e);
	if (r == 1)
		r = smime_cms_sign(req->signer, req->key_id, cert,
		    signer_get0_chain(req->signer, req->key_id), a->sha256,
		    &a->smimecap, inner.data, inner.len, &sig, e);
	if (r != 0)
		goto out;
	mime_boundary(boundary, sizeof(boundary));
	if (buf_reserve(&ent, inner.len + sig.len * 4 / 3 + 4096) != 0)
		goto full;
	blen = strlen(boundary);
	assert(a->hdr_signed_boff + blen <= a->hdr_signed.len);
	if (buf_append(&ent, a->hdr_signed.data, a->hdr_signed.len) != 0)
		goto full;
	memcpy(ent.data + a->hdr_signed_boff, boundary, blen);
	if (buf_printf(&ent, "\r\nThis is a cryptographically signed "
	    "message in MIME format.\r\n\r\n--%s\r\n", boundary) != 0 ||
	    buf_append(&ent, inner.data, inner.len) != 0 ||
	    buf_printf(&ent, "\r\n--%s\r\n", boundary) != 0 ||
	    buf_append(&ent, a->hdr_sig.data, a->hdr_sig.len) != 0 ||
	    mime_base64_encode(sig.data, sig.len, &ent) != 0 ||
	    buf_printf(&ent, "\r\n--%s--\r\n", boundary) != 0)
		goto full;

	/* 3. Encrypt. */
	if (buf_reserve(&env, ent.len + 4096 + 512 * req->n_rcpt_certs) != 0)
		goto full;
	r = a->generic_cms ? 1 : cms_der_encrypt(recips, a->cipher,
	    a->set.key_transport == SMIME_KT_OAEP, a->oaep_md, ent.data,
	    ent.len, &env, e);
	if (r == 1)
		r = smime_cms_encrypt(recips, a->cipher,
		    a->set.key_transport == SMIME_KT_OAEP, a->oaep_md,
		    ent.data, ent.len, &env, e);
	if (r != 0)
		goto out;

	/* The outer message. */
	if (buf_reserve(out, routing.len + a->hdr_outer.len + env.len * 4 / 3 +
	    env.len / 38 + 8) != 0 ||
	    buf_append(out, routing.data, routing.len) != 0 ||
	    buf_append(out, a->hdr_outer.data, a->hdr_outer.len) != 0 ||
	    mime_base64_encode(env.data, env.len, out) != 0)
		goto full;
	rc = 0;
	goto out;
full:
	err_set(e, ERR_PERM, "sealed message exceeds its size limit");
out:
	if (rc != 0 && out->len > start)
		buf_truncate(out, start);
	sk_X509_pop_free(recips, X509_free);
	mime_headers_release(&h);
	buf_release_cleanse(&routing);
	buf_release_cleanse(&inner);
	buf_release(&sig);
	buf_release_cleanse(&ent);
	buf_release(&env);
	return rc;
}

/* ---- Open ---- */

static int
verdict(struct agent_open_result *res, enum agent_reason r, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static int
verdict(struct agent_open_result *res, enum agent_reason r, const char *fmt,
    ...)
{
	va_list ap;

	res->reason = r;
	va_start(ap, fmt);
	vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
	va_end(ap);
	return 0;
}

static bool
is_pkcs7_mime(const char *type)
{
	return strcmp(type, "application/pkcs7-mime") == 0 ||
	    strcmp(type, "application/x-pkcs7-mime") == 0;
}

static bool
has_bare_lf(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			return true;
	return false;
}

static enum agent_reason
map_cms(enum smime_cms_verdict v)
{
	switch (v) {
	case SMIME_CMS_OK:
		return AGENT_OK;
	case SMIME_CMS_NOT_SIGNED:
		return AGENT_NOT_SIGNED;
	case SMIME_CMS_BAD_SIGNATURE:
		return AGENT_BAD_SIGNATURE;
	case SMIME_CMS_WEAK:
		return AGENT_WEAK_ALGORITHM;
	case SMIME_CMS_MALFORMED:
		return AGENT_MALFORMED;
	case SMIME_CMS_NO_SIGNER_CERT:
		return AGENT_UNTRUSTED;
	}
	return AGENT_MALFORMED;
}

static enum agent_reason
map_validate(enum validate_reason r)
{
	switch (r) {
	case VALIDATE_OK:
		return AGENT_OK;
	case VALIDATE_EXPIRED:
		return AGENT_EXPIRED;
	case VALIDATE_NOT_YET_VALID:
		return AGENT_NOT_YET_VALID;
	case VALIDATE_REVOKED:
		return AGENT_REVOKED;
	case VALIDATE_BINDING_MISMATCH:
		return AGENT_BINDING_MISMATCH;
	case VALIDATE_WEAK_KEY:
	case VALIDATE_WEAK_SIGNATURE:
		return AGENT_WEAK_ALGORITHM;
	case VALIDATE_CRL_UNAVAILABLE:
		return AGENT_TRUST_UNAVAILABLE;
	case VALIDATE_INVALID:
		return AGENT_MALFORMED;
	case VALIDATE_UNTRUSTED:
	case VALIDATE_BAD_KEY_USAGE:
	case VALIDATE_CHAIN_TOO_DEEP:
	case VALIDATE_UNKNOWN_DOMAIN:
		break;
	}
	return AGENT_UNTRUSTED;
}

struct open_state {
	const struct agent *a;
	const struct agent_open_req *req;
	struct agent_open_result *res;
	struct buf plain;     /* decrypted content */
	struct buf canon;     /* a canonical copy when needed */
	struct buf sigder;
	struct smime_cms_signed sd;
	const uint8_t *signed_p; /* the signed entity */
	size_t signed_n;
	struct mime_headers outer, inner;
};

/* Verifies a multipart/signed or opaque signed-data entity p[0..n); on
 * success st->signed_p/n is the signed entity. 0 with a verdict. */
static int
open_verify(struct open_state *st, const uint8_t *p, size_t n,
    struct err *e)
{
	struct agent_open_result *res = st->res;
	size_t max = st->a->set.max_message;
	bool sha1 = st->a->set.accept_sha1;
	struct mime_entity ent, sent;
	struct mime_span parts[MIME_PARTS_MAX];
	size_t nparts = 0;
	enum smime_cms_verdict v;
	char msg[200];
	struct err pe;

	err_clear(&pe);
	if (mime_entity_parse(p, n, &ent, &pe) != 0)
		return verdict(res, AGENT_MALFORMED, "decrypted entity: %s",
		    pe.msg);
	if (strcmp(ent.type, "multipart/signed") == 0) {
		const uint8_t *sp;

		if (mime_multipart_split(p, n, &ent, parts, MIME_PARTS_MAX,
		    &nparts, &pe) != 0)
			return verdict(res, AGENT_MALFORMED,
			    "multipart/signed: %s", pe.msg);
		if (nparts != 2)
			return verdict(res, AGENT_MALFORMED, "multipart/signed "
			    "with %zu parts, not 2", nparts);
		sp = p + parts[1].off;
		if (mime_entity_parse(sp, parts[1].len, &sent, &pe) != 0)
			return verdict(res, AGENT_MALFORMED, "signature part: "
			    "%s", pe.msg);
		if (strcmp(sent.type, "application/pkcs7-signature") != 0 &&
		    strcmp(sent.type, "application/x-pkcs7-signature") != 0)
			return verdict(res, AGENT_NOT_SIGNED, "signature part "
			    "is %s", sent.type);
		buf_init(&st->sigder, 1 << 20);
		if (mime_body_decode(sp + sent.body_off,
		    parts[1].len - sent.body_off, sent.cte, &st->sigder,
		    &pe) != 0)
			return verdict(res, AGENT_MALFORMED, "signature part: "
			    "%s", pe.msg);
		st->signed_p = p + parts[0].off;
		st->signed_n = parts[0].len;
		v = smime_cms_verify(st->sigder.data, st->sigder.len,
		    st->signed_p, st->signed_n, sha1, max, &st->sd, msg,
		    sizeof(msg));
		if (v == SMIME_CMS_BAD_SIGNATURE &&
		    has_bare_lf(st->signed_p, st->signed_n)) {
			/* Signed in canonical form, stored with bare LFs. */
			smime_cms_signed_release(&st->sd);
			buf_init(&st->canon, max * 2 + 4);
			if (mime_canon_crlf(st->signed_p, st->signed_n,
			    &st->canon) == 0) {
				/* The entity has no final CRLF of its own. */
				buf_truncate(&st->canon, st->canon.len - 2);
				v = smime_cms_verify(st->sigder.data,
				    st->sigder.len, st->canon.data,
				    st->canon.len, sha1, max, &st->sd, msg,
				    sizeof(msg));
				if (v == SMIME_CMS_OK) {
					st->signed_p = st->canon.data;
					st->signed_n = st->canon.len;
				}
			}
		}
	} else if (is_pkcs7_mime(ent.type) &&
	    (ent.smime_type[0] == '\0' ||
	    strcmp(ent.smime_type, "signed-data") == 0)) {
		buf_init(&st->sigder, max + 4);
		if (mime_body_decode(p + ent.body_off, n - ent.body_off,
		    ent.cte, &st->sigder, &pe) != 0)
			return verdict(res, AGENT_MALFORMED, "signed-data: %s",
			    pe.msg);
		v = smime_cms_verify(st->sigder.data, st->sigder.len, NULL, 0,
		    sha1, max, &st->sd, msg, sizeof(msg));
		if (v == SMIME_CMS_OK) {
			st->signed_p = st->sd.content.data;
			st->signed_n = st->sd.content.len;
		}
	} else {
		return verdict(res, AGENT_NOT_SIGNED, "decrypted content is %s, "
		    "not signed", ent.type);
	}
	if (v != SMIME_CMS_OK)
		return verdict(res, map_cms(v), "%s", msg);
	(void)e;
	str_lcpy(res->digest, smime_digest_name(st->sd.digest),
	    sizeof(res->digest));
	{
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int len = 0;

		if (X509_digest(st->sd.signer, EVP_sha256(), md, &len) == 1 &&
		    len == 32)
			str_hex(res->signer_fp, md, len);
	}
	return 0;
}

/* Unwraps the verified entity into res->content; fills st->inner. */
static int
open_unwrap(struct open_state *st, struct err *e)
{
	struct agent_open_result *res = st->res;
	struct mime_entity ent;
	struct err pe;

	err_clear(&pe);
	if (mime_entity_parse(st->signed_p, st->signed_n, &ent, &pe) != 0)
		return verdict(res, AGENT_MALFORMED, "signed entity: %s",
		    pe.msg);
	if (strcmp(ent.type, "message/rfc822") == 0) {
		res->wrapped = true;
		if (mime_body_decode(st->signed_p + ent.body_off,
		    st->signed_n - ent.body_off, ent.cte, &res->content,
		    &pe) != 0)
			return verdict(res, AGENT_MALFORMED, "wrapped message: "
			    "%s", pe.msg);
		if (mime_headers_parse(res->content.data, res->content.len,
		    &st->inner, &pe) != 0)
			return verdict(res, AGENT_MALFORMED, "wrapped message "
			    "header: %s", pe.msg);
	} else {
		res->wrapped = false;
		/* A whole message signed without wrapping carries its own
		 * header; otherwise the outer header speaks for it. */
		if (mime_headers_parse(st->signed_p, st->signed_n, &st->inner,
		    &pe) == 0 && st->inner.from[0] != '\0') {
			if (buf_append(&res->content, st->signed_p,
			    st->signed_n) != 0 ||
			    buf_append(&res->content, "\r\n", 2) != 0)
				return verdict(res, AGENT_MALFORMED, "message "
				    "too large");
			return 0;
		}
		mime_headers_release(&st->inner);
		if (mime_write_headers_except_content(st->req->msg,
		    st->req->msg_len, &res->content) != 0 ||
		    buf_append_str(&res->content, "MIME-Version: 1.0\r\n") !=
		    0 || buf_append(&res->content, st->signed_p, st->signed_n) !=
		    0 || buf_append(&res->content, "\r\n", 2) != 0)
			return verdict(res, AGENT_MALFORMED, "message too "
			    "large");
		st->inner = st->outer;
		memset(&st->outer, 0, sizeof(st->outer));
	}
	(void)e;
	return 0;
}

static int
open_trust(struct open_state *st, struct err *e)
{
	const struct agent_open_req *req = st->req;
	struct agent_open_result *res = st->res;
	struct validate_req vr;
	struct validate_result vres;

	if (req->trust == NULL)
		return verdict(res, AGENT_UNTRUSTED, "no trust store");
	memset(&vr, 0, sizeof(vr));
	memset(&vres, 0, sizeof(vres));
	vr.leaf = st->sd.signer;
	vr.untrusted = st->sd.certs;
	vr.local_domain = domain_of(req->rcpt);
	vr.direction = VALIDATE_INCOMING;
	vr.expected = res->from;
	vr.purpose = VALIDATE_SIGN;
	vr.now = req->now;
	if (validate_cert(req->trust, &vr, &vres, e) != 0) {
		res->temporary = true;
		return verdict(res, AGENT_MALFORMED, "validation failed: %s",
		    e ? e->msg : "?");
	}
	if (vres.reason != VALIDATE_OK) {
		res->temporary = vres.temporary;
		return verdict(res, map_validate(vres.reason), "signer %s: %s",
		    validate_reason_name(vres.reason), vres.msg);
	}
	str_lcpy(res->binding, vres.binding == VALIDATE_BOUND_DOMAIN ?
	    "domain" : "address", sizeof(res->binding));
	return 0;
}

static int
open_tamper(struct open_state *st)
{
	const struct agent_open_req *req = st->req;
	const struct mime_headers *h = &st->inner;

	if (req->mail_from == NULL)
		return 0;
	if (!addr_eq(req->mail_from, h->from) &&
	    !addr_eq(req->mail_from, h->sender))
		return verdict(st->res, AGENT_ENVELOPE_TAMPERED, "MAIL FROM "
		    "<%.200s> is neither From nor Sender", req->mail_from);
	for (size_t i = 0; i < req->n_rcpt_to; i++) {
		bool found = false;

		for (size_t j = 0; j < h->n_rcpts && !found; j++)
			found = addr_eq(req->rcpt_to[i], h->rcpts[j]);
		if (!found)
			return verdict(st->res, AGENT_ENVELOPE_TAMPERED,
			    "RCPT TO <%.200s> is in neither To nor Cc",
			    req->rcpt_to[i]);
	}
	return 0;
}

/* agent_open, or from step 2 on when plain is not NULL (the content as
 * decrypted: agent_open_plain). */
static int
open_impl(const struct agent *a, const struct agent_open_req *req,
    const uint8_t *plain, size_t plain_len, struct agent_open_result *res,
    struct err *e)
{
	size_t max = a->set.max_message, used = 0;
	struct open_state st;
	struct mime_entity ent;
	struct buf der;
	struct err pe;
	int r, rc = 0;

	memset(res, 0, sizeof(*res));
	buf_init(&res->content, max + 4096);
	memset(&st, 0, sizeof(st));
	st.a = a;
	st.req = req;
	st.res = res;
	buf_init(&st.plain, max + 4);
	buf_init(&st.canon, 0);
	buf_init(&st.sigder, 0);
	buf_init(&der, max + 4);
	err_clear(&pe);

	if (req->msg_len > max) {
		verdict(res, AGENT_MALFORMED, "message of %zu bytes exceeds "
		    "max_message %zu", req->msg_len, max);
		goto done;
	}
	if (mime_entity_parse(req->msg, req->msg_len, &ent, &pe) != 0 ||
	    mime_headers_parse(req->msg, req->msg_len, &st.outer, &pe) != 0) {
		verdict(res, AGENT_MALFORMED, "outer message: %s", pe.msg);
		goto done;
	}
	if (plain != NULL) {
		if (buf_append(&st.plain, plain, plain_len) != 0) {
			verdict(res, AGENT_MALFORMED, "content too large");
			goto done;
		}
		goto verify;
	}
	if (!is_pkcs7_mime(ent.type) || (ent.smime_type[0] != '\0' &&
	    strcmp(ent.smime_type, "enveloped-data") != 0 &&
	    strcmp(ent.smime_type, "authenveloped-data") != 0)) {
		verdict(res, AGENT_NOT_ENCRYPTED, "message is %s%s%s",
		    ent.type, ent.smime_type[0] ? "; smime-type=" : "",
		    ent.smime_type);
		goto done;
	}
	if (mime_body_decode(req->msg + ent.body_off,
	    req->msg_len - ent.body_off, ent.cte, &der, &pe) != 0) {
		verdict(res, AGENT_MALFORMED, "enveloped-data body: %s",
		    pe.msg);
		goto done;
	}

	/* 1. Decrypt. */
	r = signer_decrypt_cms(req->signer, req->key_ids, req->n_keys,
	    der.data, der.len, &st.plain, &used, &pe);
	if (r == 1) {
		verdict(res, AGENT_NOT_FOR_US, "no RecipientInfo for any of "
		    "%zu key(s) of <%.200s>", req->n_keys,
		    req->rcpt ? req->rcpt : "");
		goto done;
	}
	if (r == 2) {
		verdict(res, AGENT_NOT_ENCRYPTED, "%s", pe.msg);
		goto done;
	}
	if (r != 0) {
		verdict(res, AGENT_MALFORMED, "%s", pe.msg);
		goto done;
	}
	str_lcpy(res->key_id, req->key_ids[used], sizeof(res->key_id));

	/* 2. Verify. */
verify:
	if (open_verify(&st, st.plain.data, st.plain.len, e) != 0 ||
	    res->reason != AGENT_OK)
		goto done;
	/* 5. Unwrap (before trust: the From to bind is inside). */
	if (open_unwrap(&st, e) != 0 || res->reason != AGENT_OK)
		goto done;
	str_lcpy(res->from, st.inner.from, sizeof(res->from));
	str_lcpy(res->message_id, st.inner.message_id,
	    sizeof(res->message_id));
	if (res->from[0] == '\0') {
		verdict(res, AGENT_MALFORMED, "message without From");
		goto done;
	}
	/* 3, 4. Validate the signer and its binding to From. */
	if ((rc = open_trust(&st, e)) != 0 || res->reason != AGENT_OK)
		goto done;
	/* 6. Tamper check of the envelope. */
	open_tamper(&st);
done:
	if (res->reason != AGENT_OK)
		buf_release_cleanse(&res->content);
	buf_release_cleanse(&st.plain);
	buf_release_cleanse(&st.canon);
	buf_release(&st.sigder);
	buf_release(&der);
	smime_cms_signed_release(&st.sd);
	mime_headers_release(&st.outer);
	mime_headers_release(&st.inner);
	return rc;
}

void
agent_set_generic_cms(struct agent *a, bool on)
{
	a->generic_cms = on;
}

int
agent_open(const struct agent *a, const struct agent_open_req *req,
    struct agent_open_result *res, struct err *e)
{
	return open_impl(a, req, NULL, 0, res, e);
}

int
agent_open_plain(const struct agent *a, const struct agent_open_req *req,
    const uint8_t *plain, size_t plain_len, struct agent_open_result *res,
    struct err *e)
{
	return open_impl(a, req, plain, plain_len, res, e);
}

void
agent_open_result_release(struct agent_open_result *res)
{
	if (res == NULL)
		return;
	buf_release_cleanse(&res->content);
}

/* ---- Helpers ---- */

static STACK_OF(X509) *
read_certs(const uint8_t *p, size_t n)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	X509 *x;

	if (sk == NULL)
		abort();
	if (n > INT32_MAX)
		return sk;
	if (n >= 10 && memmem(p, n, "-----BEGIN", 10) != NULL) {
		BIO *b = BIO_new_mem_buf(p, (int)n);

		while (b != NULL &&
		    (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
			if (sk_X509_push(sk, x) <= 0)
				abort();
		BIO_free(b);
	} else {
		const unsigned char *q = p;

		if ((x = d2i_X509(NULL, &q, (long)n)) != NULL &&
		    sk_X509_push(sk, x) <= 0)
			abort();
	}
	ERR_clear_error();
	return sk;
}

int
agent_trust_add_anchors(struct validate_ctx *trust, const char *domain,
    unsigned dir, const uint8_t *p, size_t n, struct err *e)
{
	STACK_OF(X509) *sk = read_certs(p, n);
	int count = sk_X509_num(sk), rc = count;

	if (count == 0)
		rc = err_set(e, ERR_PERM, "no certificate in the anchor input");
	for (int i = 0; rc >= 0 && i < count; i++)
		if (validate_ctx_add_anchor(trust, domain, dir,
		    sk_X509_value(sk, i), e) != 0)
			rc = -1;
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

int
agent_certs_der(const uint8_t *p, size_t n, struct buf *out, struct err *e)
{
	STACK_OF(X509) *sk = read_certs(p, n);
	int count = sk_X509_num(sk), rc = count;

	if (count == 0)
		rc = err_set(e, ERR_PERM, "no certificate in the input");
	for (int i = 0; rc >= 0 && i < count; i++) {
		unsigned char *d = NULL;
		int len = i2d_X509(sk_X509_value(sk, i), &d);
		uint8_t hdr[4];

		if (len <= 0) {
			rc = err_set(e, ERR_INTERNAL, "cannot encode a "
			    "certificate");
			break;
		}
		hdr[0] = (uint8_t)((uint32_t)len >> 24);
		hdr[1] = (uint8_t)((uint32_t)len >> 16);
		hdr[2] = (uint8_t)((uint32_t)len >> 8);
		hdr[3] = (uint8_t)len;
		if (buf_append(out, hdr, 4) != 0 ||
		    buf_append(out, d, (size_t)len) != 0)
			rc = err_set(e, ERR_PERM, "certificates too large");
		OPENSSL_free(d);
	}
	sk_X509_pop_free(sk, X509_free);
	return rc;
}
