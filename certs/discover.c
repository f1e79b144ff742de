#include "certs/discover.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/random.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certs/certs_util_private.h"
#include "certs/dns.h"
#include "certs/http.h"
#include "certs/ldap_lookup.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/str.h"
#include "core/xmalloc.h"

#define DISCOVER_MAX_SRV 8

struct discover {
	struct loop *loop;
	struct dns *dns;
	struct discover_settings set;
	discover_validate_fn *validate;
	void *validate_arg;
	uint64_t seed;
	struct discover_lookup *lookups; /* running */
	size_t posted;                   /* cache hits waiting for delivery */
	/* Results by address (lower-case domain): finished ones until they
	 * expire, running ones to be joined. */
	struct discover_cent **tab;
	size_t tab_mask;
	size_t ncent;
	struct discover_cent *oldest, *newest;
	bool closing;
	void (*release_fn)(void *arg);
	void *release_arg;
};

/* A caller's request: joins a running lookup, or delivers a cached
 * result from the loop. */
struct discover_req {
	struct discover *dc;
	struct discover_lookup *lk;     /* NULL for a cache hit */
	struct discover_req *next;      /* in lk->waiters */
	discover_done_fn *cb;
	void *arg;
	bool cancelled;
	struct discover_result *cached; /* the hit to deliver */
};

/* A cache entry. */
struct discover_cent {
	char *address;
	uint64_t hash;
	struct discover_cent *hnext, *older, *newer;
	struct discover_result *res;  /* NULL while lk runs */
	struct discover_lookup *lk;
	uint64_t expires_ms;
};

/* One LDAP server candidate while its address is resolved. */
struct discover_srv {
	struct discover_lookup *req;
	char *target;
	uint16_t port;
	char *url; /* set once its address is known */
	char *label;
	char *why; /* why it has no address */
};

/* Work handed to a worker: candidates to fetch, parse and validate, or an
 * LDAP lookup followed by the same. */
struct discover_job {
	struct discover_lookup *req;
	struct discover_cand *cands;
	size_t ncands;
	/* LDAP */
	struct ldap_lookup_server *servers;
	size_t nservers;
	struct ldap_lookup_result ldap;
	struct err ldap_err;
	int ldap_rc;
};

struct discover_lookup {
	struct discover *dc;
	struct discover_lookup *next, *prev;
	char *address;
	char *domain;  /* borrowed from address */
	char *addr_name; /* local.domain */
	struct discover_req *waiters;
	struct discover_cent *cent;
	bool cancelled;
	int busy;
	struct discover_result *res;
	struct buf trace;
	bool temp;
	char temp_reason[256];
	/* LDAP step */
	struct discover_srv *srv;
	size_t nsrv;
	size_t srv_pending;
};

static void step_domain(struct discover_lookup *r);
static void step_ldap(struct discover_lookup *r);
static void finish(struct discover_lookup *r);

/* --- results --- */

static void
cand_release(struct discover_cand *c)
{
	free(c->url);
	free(c->der);
	free(c->subject);
	free(c->issuer);
	free(c->san);
	memset(c, 0, sizeof(*c));
}

void
discover_result_free(struct discover_result **rp)
{
	struct discover_result *r;

	if (rp == NULL || (r = *rp) == NULL)
		return;
	*rp = NULL;
	for (size_t i = 0; i < r->ncands; i++)
		cand_release(&r->cands[i]);
	free(r->cands);
	free(r->address);
	free(r->trace);
	free(r);
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

struct discover_result *
discover_result_dup(const struct discover_result *r)
{
	struct discover_result *d = xcalloc(1, sizeof(*d));

	*d = *r;
	d->address = dup_or_null(r->address);
	d->trace = dup_or_null(r->trace);
	d->cands = xcalloc(r->ncands ? r->ncands : 1, sizeof(*d->cands));
	for (size_t i = 0; i < r->ncands; i++) {
		struct discover_cand *c = &d->cands[i];

		*c = r->cands[i];
		c->url = dup_or_null(c->url);
		c->der = c->der != NULL ? xmemdup(c->der, c->der_len) : NULL;
		c->subject = dup_or_null(c->subject);
		c->issuer = dup_or_null(c->issuer);
		c->san = dup_or_null(c->san);
	}
	return d;
}

const char *
discover_source_name(enum discover_source s)
{
	switch (s) {
	case DISCOVER_DNS_ADDRESS: return "dns-address";
	case DISCOVER_DNS_DOMAIN: return "dns-domain";
	case DISCOVER_LDAP_ADDRESS: return "ldap-address";
	case DISCOVER_LDAP_DOMAIN: return "ldap-domain";
	}
	return "?";
}

const char *
discover_outcome_name(enum discover_outcome o)
{
	switch (o) {
	case DISCOVER_FOUND: return "found";
	case DISCOVER_NONE: return "none";
	case DISCOVER_TEMP: return "temp";
	}
	return "?";
}

void
discover_settings_default(struct discover_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->http_timeout_ms = 10000;
	s->http_max_size = 1024 * 1024;
	s->ldap_net_timeout_ms = 5000;
	s->ldap_op_timeout_ms = 10000;
	s->ldap = true;
	s->srv_seed = 0;
	s->max_candidates = 16;
	s->cache_ttl_ms = 300000;
	s->negative_cache_ttl_ms = 60000;
	s->cache_max = 10000;
}

/* --- certificate details and the basic validation (worker side) --- */

static char *
san_text(X509 *x)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
	    NULL);
	struct buf b;

	buf_init(&b, 4096);
	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const char *kind = NULL;
		const ASN1_IA5STRING *s = NULL;

		switch (g->type) {
		case GEN_EMAIL:
			kind = "email";
			s = g->d.rfc822Name;
			break;
		case GEN_DNS:
			kind = "DNS";
			s = g->d.dNSName;
			break;
		case GEN_URI:
			kind = "URI";
			s = g->d.uniformResourceIdentifier;
			break;
		default:
			continue;
		}
		if (b.len > 0)
			buf_append_str(&b, ", ");
		buf_append_str(&b, kind);
		buf_putc(&b, ':');
		for (int k = 0; k < ASN1_STRING_length(s); k++) {
			uint8_t c = ASN1_STRING_get0_data(s)[k];

			buf_putc(&b, c >= 0x20 && c < 0x7f ? c : '?');
		}
	}
	GENERAL_NAMES_free(gens);
	return (char *)buf_steal(&b, NULL);
}

/* Fills the details of c from its DER; 0, or -1 when it is no
 * certificate. */
static int
cand_details(struct discover_cand *c)
{
	X509 *x = certs_util_x509_der(c->der, c->der_len);

	if (x == NULL)
		return -1;
	c->subject = certs_util_name(X509_get_subject_name(x));
	c->issuer = certs_util_name(X509_get_issuer_name(x));
	c->san = san_text(x);
	certs_util_fingerprint(x, c->fingerprint);
	c->not_before = certs_util_time(X509_get0_notBefore(x));
	c->not_after = certs_util_time(X509_get0_notAfter(x));
	X509_free(x);
	return 0;
}

static bool
san_bound(X509 *x, const char *address)
{
	const char *domain = strrchr(address, '@');
	GENERAL_NAMES *gens;
	bool ok = false;

	domain = domain != NULL ? domain + 1 : address;
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; !ok && gens != NULL && i < sk_GENERAL_NAME_num(gens);
	    i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_IA5STRING *s;
		const char *want;

		if (g->type == GEN_EMAIL) {
			s = g->d.rfc822Name;
			want = address;
		} else if (g->type == GEN_DNS) {
			s = g->d.dNSName;
			want = domain;
		} else {
			continue;
		}
		ok = (size_t)ASN1_STRING_length(s) == strlen(want) &&
		    str_span_caseeq((const char *)ASN1_STRING_get0_data(s),
		    (size_t)ASN1_STRING_length(s), want);
	}
	GENERAL_NAMES_free(gens);
	return ok;
}

void
discover_validate_basic(void *arg, const char *address,
    struct discover_cand *c)
{
	X509 *x = certs_util_x509_der(c->der, c->der_len);
	time_t now = time(NULL);

	c->verdict = DISCOVER_INVALID;
	c->temporary = false;
	if (x == NULL) {
		str_lcpy(c->reason, "invalid: not a certificate",
		    sizeof(c->reason));
		return;
	}
	if (X509_cmp_time(X509_get0_notBefore(x), &now) > 0)
		str_lcpy(c->reason, "not-yet-valid", sizeof(c->reason));
	else if (X509_cmp_time(X509_get0_notAfter(x), &now) < 0)
		str_lcpy(c->reason, "expired", sizeof(c->reason));
	else if (!san_bound(x, address))
		str_lcpy(c->reason, "binding-mismatch", sizeof(c->reason));
	else {
		c->verdict = DISCOVER_VALID;
		str_lcpy(c->reason, "ok (no trust check)", sizeof(c->reason));
	}
	X509_free(x);
}

/* Fetches URLs, parses and validates every candidate of a job. Runs on a
 * worker; the job's candidates are its own while it runs. */
static void
job_check(struct discover_job *j, const struct discover *dc,
    const char *address)
{
	size_t n = j->ncands;

	for (size_t i = 0; i < n; i++) {
		struct discover_cand *c = &j->cands[i];

		if (c->url != NULL && c->der == NULL) {
			struct buf body;
			struct err e = {0};
			STACK_OF(X509) *sk;

			/* Only http and https: a record must not make us
			 * read local files (http.c also takes file://). */
			if (!http_url_is_http(c->url)) {
				c->verdict = DISCOVER_INVALID;
				str_lcpy(c->reason, "invalid: URL scheme is not "
				    "http or https", sizeof(c->reason));
				continue;
			}
			buf_init(&body, dc->set.http_max_size + 1);
			if (http_fetch_default(NULL, c->url,
			    dc->set.http_max_size, dc->set.http_timeout_ms,
			    &body, &e) != 0) {
				c->verdict = DISCOVER_INVALID;
				c->temporary = err_is_temp(&e);
				str_fmt(c->reason, sizeof(c->reason),
				    "fetch: %s", e.msg);
				buf_release(&body);
				continue;
			}
			sk = sk_X509_new_null();
			if (certs_util_read_certs(body.data, body.len, sk,
			    &e) <= 0) {
				c->verdict = DISCOVER_INVALID;
				str_fmt(c->reason, sizeof(c->reason),
				    "invalid: the URL served no certificate");
			}
			/* The first certificate fills this candidate; more
			 * (a PKCS#7 bundle) become candidates of their own. */
			for (int k = 0; k < sk_X509_num(sk); k++) {
				struct discover_cand *t = c;
				struct buf der;

				if (k > 0) {
					if (j->ncands >= dc->set.max_candidates)
						break;
					j->cands = xreallocarray(j->cands,
					    j->ncands + 1, sizeof(*j->cands));
					c = &j->cands[i];
					t = &j->cands[j->ncands++];
					memset(t, 0, sizeof(*t));
					t->source = c->source;
					t->url = xstrdup(c->url);
					str_lcpy(t->origin, c->origin,
					    sizeof(t->origin));
				}
				buf_init(&der, BUF_UNLIMITED);
				certs_util_der(sk_X509_value(sk, k), &der);
				t->der = buf_steal(&der, &t->der_len);
			}
			sk_X509_pop_free(sk, X509_free);
			buf_release(&body);
		}
	}
	for (size_t i = 0; i < j->ncands; i++) {
		struct discover_cand *c = &j->cands[i];

		if (c->der == NULL)
			continue;
		if (cand_details(c) != 0) {
			c->verdict = DISCOVER_INVALID;
			str_lcpy(c->reason, "invalid: not a DER certificate",
			    sizeof(c->reason));
			continue;
		}
		dc->validate(dc->validate_arg, address, c);
	}
}

/* --- requests --- */

static void
trace(struct discover_lookup *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
trace(struct discover_lookup *r, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (r->trace.len > 0)
		buf_putc(&r->trace, '\n');
	buf_append_str(&r->trace, line);
}

static void
note_temp(struct discover_lookup *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
note_temp(struct discover_lookup *r, const char *fmt, ...)
{
	va_list ap;

	if (r->temp)
		return;
	r->temp = true;
	va_start(ap, fmt);
	vsnprintf(r->temp_reason, sizeof(r->temp_reason), fmt, ap);
	va_end(ap);
}

/* --- the result cache --- */

static uint64_t
cent_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s != '\0'; s++) {
		h ^= (uint8_t)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static bool
caching(const struct discover *dc)
{
	return dc->tab != NULL;
}

static struct discover_cent *
cent_find(struct discover *dc, const char *address, uint64_t h)
{
	for (struct discover_cent *c = dc->tab[h & dc->tab_mask]; c != NULL;
	    c = c->hnext)
		if (c->hash == h && strcmp(c->address, address) == 0)
			return c;
	return NULL;
}

static void
cent_remove(struct discover *dc, struct discover_cent *c)
{
	struct discover_cent **pp = &dc->tab[c->hash & dc->tab_mask];

	while (*pp != c)
		pp = &(*pp)->hnext;
	*pp = c->hnext;
	if (c->older != NULL)
		c->older->newer = c->newer;
	else
		dc->oldest = c->newer;
	if (c->newer != NULL)
		c->newer->older = c->older;
	else
		dc->newest = c->older;
	dc->ncent--;
	if (c->lk != NULL)
		c->lk->cent = NULL;
	discover_result_free(&c->res);
	free(c->address);
	free(c);
}

static struct discover_cent *
cent_insert(struct discover *dc, const char *address, uint64_t h)
{
	struct discover_cent *c, *next;

	/* the oldest finished results make room */
	for (c = dc->oldest; c != NULL && dc->ncent >= dc->set.cache_max;
	    c = next) {
		next = c->newer;
		if (c->res != NULL)
			cent_remove(dc, c);
	}
	c = xcalloc(1, sizeof(*c));
	c->address = xstrdup(address);
	c->hash = h;
	c->hnext = dc->tab[h & dc->tab_mask];
	dc->tab[h & dc->tab_mask] = c;
	c->older = dc->newest;
	if (dc->newest != NULL)
		dc->newest->newer = c;
	else
		dc->oldest = c;
	dc->newest = c;
	dc->ncent++;
	return c;
}

void
discover_flush(struct discover *dc)
{
	struct discover_cent *c, *next;

	if (!caching(dc))
		return;
	for (c = dc->oldest; c != NULL; c = next) {
		next = c->newer;
		if (c->res != NULL)
			cent_remove(dc, c);
	}
}

static void
maybe_free_dc(struct discover *dc)
{
	if (!dc->closing || dc->lookups != NULL || dc->posted > 0)
		return;
	while (dc->oldest != NULL)
		cent_remove(dc, dc->oldest);
	free(dc->tab);
	if (dc->release_fn != NULL)
		dc->release_fn(dc->release_arg);
	free(dc);
}

void
discover_on_release(struct discover *dc, void (*fn)(void *arg), void *arg)
{
	dc->release_fn = fn;
	dc->release_arg = arg;
}

static void
lookup_free(struct discover_lookup *r)
{
	struct discover *dc = r->dc;

	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		dc->lookups = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	if (r->cent != NULL) {
		/* a lookup that ends without a result leaves no entry */
		r->cent->lk = NULL;
		if (r->cent->res == NULL)
			cent_remove(dc, r->cent);
		r->cent = NULL;
	}
	while (r->waiters != NULL) {
		struct discover_req *w = r->waiters;

		r->waiters = w->next;
		free(w);
	}
	for (size_t i = 0; i < r->nsrv; i++) {
		free(r->srv[i].target);
		free(r->srv[i].url);
		free(r->srv[i].label);
		free(r->srv[i].why);
	}
	free(r->srv);
	discover_result_free(&r->res);
	buf_release(&r->trace);
	free(r->address);
	free(r->addr_name);
	free(r);
	maybe_free_dc(dc);
}

/* Drops one outstanding operation; true when the request is gone (it was
 * cancelled and nothing else is pending). */
static bool
unbusy(struct discover_lookup *r)
{
	r->busy--;
	if (r->cancelled && r->busy == 0) {
		lookup_free(r);
		return true;
	}
	return r->cancelled;
}

/* Moves a finished step's candidates into the result; true when one of
 * them is valid (they are marked used). Address-bound LDAP candidates take
 * precedence over domain-bound ones. */
static bool
take_cands(struct discover_lookup *r, struct discover_cand *v, size_t n)
{
	struct discover_result *res = r->res;
	size_t first = res->ncands, used = 0;
	bool have_addr_ldap = false;

	res->cands = xreallocarray(res->cands, res->ncands + n,
	    sizeof(*res->cands));
	for (size_t i = 0; i < n; i++) {
		res->cands[res->ncands++] = v[i];
		if (v[i].verdict == DISCOVER_VALID &&
		    v[i].source == DISCOVER_LDAP_ADDRESS)
			have_addr_ldap = true;
		if (v[i].verdict != DISCOVER_VALID && v[i].temporary)
			note_temp(r, "%s: %s", v[i].origin, v[i].reason);
	}
	for (size_t i = first; i < res->ncands; i++) {
		struct discover_cand *c = &res->cands[i];

		if (c->verdict != DISCOVER_VALID)
			continue;
		if (have_addr_ldap && c->source == DISCOVER_LDAP_DOMAIN)
			continue;
		c->used = true;
		used++;
	}
	res->nused += used;
	return used > 0;
}

static void
job_after(void *arg, bool cancelled)
{
	struct discover_job *j = arg;
	struct discover_lookup *r = j->req;
	enum discover_source src;
	bool found;
	size_t nvalid = 0;
	bool gone = unbusy(r);

	if (gone || cancelled) {
		/* gone: r is freed or cancelled, not to be touched; else the
		 * worker pool was shut down under it */
		bool shutdown = !gone;

		for (size_t i = 0; i < j->ncands; i++)
			cand_release(&j->cands[i]);
		free(j->cands);
		ldap_lookup_result_release(&j->ldap);
		free(j->servers);
		free(j);
		if (shutdown) {
			note_temp(r, "shutting down");
			finish(r);
		}
		return;
	}
	for (size_t i = 0; i < j->ncands; i++)
		if (j->cands[i].verdict == DISCOVER_VALID)
			nvalid++;
	src = j->ncands > 0 ? j->cands[0].source : DISCOVER_LDAP_ADDRESS;
	if (j->servers != NULL) {
		if (j->ldap_rc != 0) {
			trace(r, "ldap: no server answered: %s",
			    j->ldap.failures != NULL ? j->ldap.failures :
			    j->ldap_err.msg);
			note_temp(r, "no LDAP server answered");
		} else {
			trace(r, "ldap: %s answered%s%s, %zu certificates, "
			    "%zu valid", j->ldap.server,
			    j->ldap.failures != NULL ? " after failures: " : "",
			    j->ldap.failures != NULL ? j->ldap.failures : "",
			    j->ncands, nvalid);
		}
		src = DISCOVER_LDAP_ADDRESS;
	} else {
		trace(r, "%s: %zu candidates, %zu valid",
		    discover_source_name(src), j->ncands, nvalid);
	}
	found = take_cands(r, j->cands, j->ncands);
	free(j->cands);
	ldap_lookup_result_release(&j->ldap);
	free(j->servers);
	free(j);
	if (found)
		finish(r);
	else if (src == DISCOVER_DNS_ADDRESS)
		step_domain(r);
	else if (src == DISCOVER_DNS_DOMAIN)
		step_ldap(r);
	else
		finish(r);
}

static void
job_work(void *arg)
{
	struct discover_job *j = arg;
	struct discover_lookup *r = j->req;
	const struct discover *dc = r->dc;

	if (j->servers != NULL) {
		struct ldap_lookup_opts o = {
			.net_timeout_ms = dc->set.ldap_net_timeout_ms,
			.op_timeout_ms = dc->set.ldap_op_timeout_ms,
			.max_certs = dc->set.max_candidates,
			.max_cert_size = dc->set.http_max_size,
		};

		j->ldap_rc = ldap_lookup_certs(j->servers, j->nservers,
		    r->address, &o, &j->ldap, &j->ldap_err);
		j->cands = xcalloc(j->ldap.ncerts + 1, sizeof(*j->cands));
		for (size_t i = 0; i < j->ldap.ncerts; i++) {
			struct discover_cand *c = &j->cands[j->ncands++];
			struct ldap_lookup_cert *lc = &j->ldap.certs[i];

			c->source = lc->by_address ? DISCOVER_LDAP_ADDRESS :
			    DISCOVER_LDAP_DOMAIN;
			str_fmt(c->origin, sizeof(c->origin), "ldap %s %s",
			    j->ldap.server, lc->dn);
			c->der = lc->der;
			c->der_len = lc->len;
			lc->der = NULL;
		}
	}
	job_check(j, dc, r->address);
}

static void
start_job(struct discover_lookup *r, struct discover_job *j)
{
	j->req = r;
	r->busy++;
	if (loop_work(r->dc->loop, job_work, job_after, j) != 0) {
		r->busy--;
		for (size_t i = 0; i < j->ncands; i++)
			cand_release(&j->cands[i]);
		free(j->cands);
		free(j->servers);
		free(j);
		note_temp(r, "shutting down");
		finish(r);
	}
}

static void
cert_answer(struct discover_lookup *r, struct dns_answer *a,
    enum discover_source src, const char *name)
{
	struct discover_job *j;
	const struct dns_rr *rr;
	size_t it = 0;

	if (a->status == DNS_TEMP) {
		trace(r, "dns %s CERT: temporary failure: %s", name, a->reason);
		note_temp(r, "DNS CERT %s: %s", name, a->reason);
	} else if (a->status != DNS_OK) {
		trace(r, "dns %s CERT: %s", name, dns_status_name(a->status));
	} else {
		j = xcalloc(1, sizeof(*j));
		while ((rr = dns_answer_next(a, &it)) != NULL) {
			struct discover_cand *c;
			uint16_t t = rr->u.cert.cert_type;

			if (t != DNS_CERT_PKIX && t != DNS_CERT_IPKIX &&
			    t != DNS_CERT_URI) {
				trace(r, "dns %s CERT: type %u skipped", name,
				    t);
				continue;
			}
			if (j->ncands >= r->dc->set.max_candidates)
				break;
			j->cands = xreallocarray(j->cands, j->ncands + 1,
			    sizeof(*j->cands));
			c = &j->cands[j->ncands++];
			memset(c, 0, sizeof(*c));
			c->source = src;
			if (t == DNS_CERT_PKIX) {
				c->der = xmemdup(rr->u.cert.data,
				    rr->u.cert.len);
				c->der_len = rr->u.cert.len;
				str_fmt(c->origin, sizeof(c->origin),
				    "dns CERT PKIX %s", name);
			} else {
				c->url = xstrndup((const char *)rr->u.cert.data,
				    rr->u.cert.len);
				str_fmt(c->origin, sizeof(c->origin),
				    "dns CERT %s %s", t == DNS_CERT_IPKIX ?
				    "IPKIX" : "URI", name);
			}
		}
		trace(r, "dns %s CERT: %zu usable records", name, j->ncands);
		if (j->ncands > 0) {
			start_job(r, j);
			return;
		}
		free(j->cands);
		free(j);
	}
	if (src == DISCOVER_DNS_ADDRESS)
		step_domain(r);
	else
		step_ldap(r);
}

static void
addr_cert_cb(void *arg, struct dns_answer *a)
{
	struct discover_lookup *r = arg;

	if (unbusy(r))
		return;
	cert_answer(r, a, DISCOVER_DNS_ADDRESS, r->addr_name);
}

static void
domain_cert_cb(void *arg, struct dns_answer *a)
{
	struct discover_lookup *r = arg;

	if (unbusy(r))
		return;
	cert_answer(r, a, DISCOVER_DNS_DOMAIN, r->domain);
}

static void
step_address(void *arg)
{
	struct discover_lookup *r = arg;
	struct err e;

	if (unbusy(r))
		return;
	r->busy++;
	if (dns_resolve(r->dc->dns, r->addr_name, DNS_T_CERT, addr_cert_cb, r,
	    &e) != 0) {
		r->busy--;
		trace(r, "dns %s CERT: not queried: %s", r->addr_name, e.msg);
		step_domain(r);
	}
}

static void
step_domain(struct discover_lookup *r)
{
	struct err e;

	r->busy++;
	if (dns_resolve(r->dc->dns, r->domain, DNS_T_CERT, domain_cert_cb, r,
	    &e) != 0) {
		r->busy--;
		trace(r, "dns %s CERT: not queried: %s", r->domain, e.msg);
		step_ldap(r);
	}
}

/* Every SRV target's address is known (or failed): ask the servers. */
static void
srv_resolved(struct discover_lookup *r)
{
	struct discover_job *j = xcalloc(1, sizeof(*j));

	j->servers = xcalloc(r->nsrv + 1, sizeof(*j->servers));
	for (size_t i = 0; i < r->nsrv; i++) {
		if (r->srv[i].url == NULL) {
			trace(r, "ldap %s:%u: %s", r->srv[i].target,
			    r->srv[i].port, r->srv[i].why != NULL ?
			    r->srv[i].why : "no address");
			continue;
		}
		j->servers[j->nservers].url = r->srv[i].url;
		j->servers[j->nservers].label = r->srv[i].label;
		j->nservers++;
	}
	if (j->nservers == 0) {
		free(j->servers);
		free(j);
		note_temp(r, "no LDAP server address could be resolved");
		finish(r);
		return;
	}
	start_job(r, j);
}

static void srv_addr_cb(void *arg, struct dns_answer *a);

static void
srv_addr_done(struct discover_srv *s)
{
	struct discover_lookup *r = s->req;

	if (unbusy(r))
		return;
	if (--r->srv_pending == 0)
		srv_resolved(r);
}

static void
srv_addr_cb(void *arg, struct dns_answer *a)
{
	struct discover_srv *s = arg;
	struct discover_lookup *r = s->req;
	const struct dns_rr *rr;
	size_t it = 0;
	char ip[64];

	if (a->status == DNS_OK && (rr = dns_answer_next(a, &it)) != NULL) {
		if (rr->type == DNS_T_A)
			str_fmt(ip, sizeof(ip), "%u.%u.%u.%u", rr->u.a.addr[0],
			    rr->u.a.addr[1], rr->u.a.addr[2], rr->u.a.addr[3]);
		else
			inet_ntop(AF_INET6, rr->u.aaaa.addr, ip, sizeof(ip));
		s->url = xasprintf(rr->type == DNS_T_A ? "ldap://%s:%u" :
		    "ldap://[%s]:%u", ip, s->port);
		s->label = xasprintf("%s:%u", s->target, s->port);
	} else if (a->qtype == DNS_T_A && a->status != DNS_TEMP &&
	    !r->cancelled) {
		struct err e;

		/* no IPv4 address: try IPv6 (the same pending count) */
		if (dns_resolve(r->dc->dns, s->target, DNS_T_AAAA,
		    srv_addr_cb, s, &e) == 0)
			return;
		s->why = xasprintf("address lookup: %s", e.msg);
	} else {
		s->why = xasprintf("address lookup: %s",
		    a->status == DNS_OK ? "no address record" : a->reason);
	}
	srv_addr_done(s);
}

static void
srv_cb(void *arg, struct dns_answer *a)
{
	struct discover_lookup *r = arg;
	struct ldap_lookup_srv v[DISCOVER_MAX_SRV];
	const struct dns_rr *rr;
	size_t n = 0, it = 0;
	uint64_t seed;

	if (unbusy(r))
		return;
	if (a->status == DNS_TEMP) {
		trace(r, "dns _ldap._tcp.%s SRV: temporary failure: %s",
		    r->domain, a->reason);
		note_temp(r, "DNS SRV _ldap._tcp.%s: %s", r->domain, a->reason);
		finish(r);
		return;
	}
	while (a->status == DNS_OK && (rr = dns_answer_next(a, &it)) != NULL &&
	    n < DISCOVER_MAX_SRV) {
		if (rr->u.srv.target[0] == '\0')
			continue; /* "." : no service */
		v[n].priority = rr->u.srv.priority;
		v[n].weight = rr->u.srv.weight;
		v[n].port = rr->u.srv.port;
		v[n].target = rr->u.srv.target;
		n++;
	}
	trace(r, "dns _ldap._tcp.%s SRV: %s, %zu targets", r->domain,
	    dns_status_name(a->status), n);
	if (n == 0) {
		finish(r);
		return;
	}
	seed = r->dc->set.srv_seed != 0 ? r->dc->set.srv_seed : r->dc->seed;
	ldap_lookup_order_srv(v, n, &seed);
	if (r->dc->set.srv_seed == 0)
		r->dc->seed = seed;
	r->srv = xcalloc(n, sizeof(*r->srv));
	r->nsrv = n;
	for (size_t i = 0; i < n; i++) {
		r->srv[i].req = r;
		r->srv[i].target = xstrdup(v[i].target);
		r->srv[i].port = v[i].port;
		trace(r, "ldap order %zu: %s:%u priority %u weight %u", i + 1,
		    v[i].target, v[i].port, v[i].priority, v[i].weight);
	}
	/* One extra count holds the request while the lookups start: an
	 * answer from the cache arrives inside dns_resolve. */
	r->srv_pending = n + 1;
	r->busy++;
	for (size_t i = 0; i < n; i++) {
		struct err e;

		r->busy++;
		if (dns_resolve(r->dc->dns, r->srv[i].target, DNS_T_A,
		    srv_addr_cb, &r->srv[i], &e) != 0) {
			r->busy--;
			r->srv[i].why = xasprintf("bad name: %s", e.msg);
			r->srv_pending--;
		}
	}
	if (unbusy(r))
		return;
	if (--r->srv_pending == 0)
		srv_resolved(r);
}

static void
step_ldap(struct discover_lookup *r)
{
	char name[600];
	struct err e;

	if (!r->dc->set.ldap) {
		trace(r, "ldap: off");
		finish(r);
		return;
	}
	str_fmt(name, sizeof(name), "_ldap._tcp.%s", r->domain);
	r->busy++;
	if (dns_resolve(r->dc->dns, name, DNS_T_SRV, srv_cb, r, &e) != 0) {
		r->busy--;
		trace(r, "dns %s SRV: not queried: %s", name, e.msg);
		finish(r);
	}
}

static void
finish(struct discover_lookup *r)
{
	struct discover *dc = r->dc;
	struct discover_result *res = r->res;
	struct discover_req *w, *next;
	char safe[256];

	res->trace = (char *)buf_steal(&r->trace, NULL);
	if (res->nused > 0) {
		res->outcome = DISCOVER_FOUND;
		str_fmt(res->reason, sizeof(res->reason),
		    "%zu valid certificate%s", res->nused,
		    res->nused == 1 ? "" : "s");
	} else if (r->temp) {
		res->outcome = DISCOVER_TEMP;
		str_lcpy(res->reason, r->temp_reason, sizeof(res->reason));
	} else if (res->ncands > 0) {
		res->outcome = DISCOVER_NONE;
		str_fmt(res->reason, sizeof(res->reason),
		    "no valid certificate (%zu invalid)", res->ncands);
	} else {
		res->outcome = DISCOVER_NONE;
		str_lcpy(res->reason, "no certificate found",
		    sizeof(res->reason));
	}
	log_info(NULL, "event=discover address=%s outcome=%s candidates=%zu "
	    "used=%zu", log_safe(safe, sizeof(safe), r->address),
	    discover_outcome_name(res->outcome), res->ncands, res->nused);
	r->res = NULL;
	if (r->cent != NULL) {
		struct discover_cent *c = r->cent;
		int64_t ttl = res->outcome == DISCOVER_FOUND ?
		    dc->set.cache_ttl_ms : res->outcome == DISCOVER_NONE ?
		    dc->set.negative_cache_ttl_ms : 0;

		c->lk = NULL;
		r->cent = NULL;
		if (ttl > 0) {
			c->res = discover_result_dup(res);
			c->expires_ms = loop_now_ms(dc->loop) + (uint64_t)ttl;
		} else {
			cent_remove(dc, c);
		}
	}
	/* Each waiter gets its own copy; the lookup goes first so that a
	 * callback starting another discovery finds a consistent state. */
	w = r->waiters;
	r->waiters = NULL;
	lookup_free(r);
	for (; w != NULL; w = next) {
		next = w->next;
		w->cb(w->arg, next != NULL ? discover_result_dup(res) : res);
		free(w);
	}
}

/* --- the discoverer --- */

struct discover *
discover_new(struct loop *l, struct dns *d, const struct discover_settings *s,
    discover_validate_fn *validate, void *validate_arg)
{
	struct discover *dc = xcalloc(1, sizeof(*dc));

	dc->loop = l;
	dc->dns = d;
	dc->set = *s;
	if (dc->set.max_candidates == 0)
		dc->set.max_candidates = 16;
	dc->validate = validate != NULL ? validate : discover_validate_basic;
	dc->validate_arg = validate_arg;
	if (getrandom(&dc->seed, sizeof(dc->seed), 0) != sizeof(dc->seed) ||
	    dc->seed == 0)
		dc->seed = (uint64_t)time(NULL) | 1;
	if (dc->set.cache_max > 0 && (dc->set.cache_ttl_ms > 0 ||
	    dc->set.negative_cache_ttl_ms > 0)) {
		size_t tab = 64;

		while (tab < dc->set.cache_max && tab < ((size_t)1 << 18))
			tab *= 2;
		dc->tab = xcalloc(tab, sizeof(*dc->tab));
		dc->tab_mask = tab - 1;
	}
	return dc;
}

void
discover_free(struct discover **dp)
{
	struct discover *dc;

	if (dp == NULL || (dc = *dp) == NULL)
		return;
	*dp = NULL;
	dc->closing = true;
	for (struct discover_lookup *r = dc->lookups; r != NULL; r = r->next) {
		while (r->waiters != NULL) {
			struct discover_req *w = r->waiters;

			r->waiters = w->next;
			free(w);
		}
		r->cancelled = true;
	}
	if (caching(dc))
		while (dc->oldest != NULL)
			cent_remove(dc, dc->oldest);
	maybe_free_dc(dc);
}

static void
deliver_cached(void *arg)
{
	struct discover_req *w = arg;
	struct discover *dc = w->dc;

	if (!w->cancelled && !dc->closing)
		w->cb(w->arg, w->cached);
	else
		discover_result_free(&w->cached);
	free(w);
	dc->posted--;
	maybe_free_dc(dc);
}

struct discover_req *
discover_start(struct discover *dc, const char *address, discover_done_fn *cb,
    void *arg, struct err *e)
{
	struct discover_lookup *r;
	struct discover_req *w;
	struct discover_cent *c = NULL;
	const char *at = strrchr(address, '@');
	size_t len = strlen(address);
	char *key;
	uint64_t h = 0;

	if (at == NULL || at == address || at[1] == '\0' || len > 320) {
		err_set(e, ERR_PERM, "not a Direct address");
		return NULL;
	}
	for (const char *s = address; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f) {
			err_set(e, ERR_PERM, "address holds a space or a "
			    "non-ASCII byte");
			return NULL;
		}
	if (dc->closing) {
		err_set(e, ERR_TEMP, "shutting down");
		return NULL;
	}
	key = xstrdup(address);
	str_lower(key + (at - address));
	w = xcalloc(1, sizeof(*w));
	w->dc = dc;
	w->cb = cb;
	w->arg = arg;
	if (caching(dc)) {
		h = cent_hash(key);
		c = cent_find(dc, key, h);
		if (c != NULL && c->res != NULL &&
		    c->expires_ms > loop_now_ms(dc->loop)) {
			w->cached = discover_result_dup(c->res);
			dc->posted++;
			loop_post(dc->loop, deliver_cached, w);
			free(key);
			return w;
		}
		if (c != NULL && c->res != NULL) {
			cent_remove(dc, c);
			c = NULL;
		}
		if (c != NULL && c->lk != NULL) {
			struct discover_req **pp = &c->lk->waiters;

			while (*pp != NULL)
				pp = &(*pp)->next;
			*pp = w;
			w->lk = c->lk;
			free(key);
			return w;
		}
	}
	r = xcalloc(1, sizeof(*r));
	r->dc = dc;
	r->address = key;
	r->domain = r->address + (at - address) + 1;
	r->addr_name = xstrdup(r->address);
	r->addr_name[at - address] = '.';
	r->res = xcalloc(1, sizeof(*r->res));
	r->res->address = xstrdup(r->address);
	buf_init(&r->trace, 64 * 1024);
	r->next = dc->lookups;
	if (dc->lookups != NULL)
		dc->lookups->prev = r;
	dc->lookups = r;
	r->waiters = w;
	w->lk = r;
	if (caching(dc)) {
		r->cent = cent_insert(dc, key, h);
		r->cent->lk = r;
	}
	r->busy = 1;
	loop_post(dc->loop, step_address, r);
	return w;
}

void
discover_cancel(struct discover_req **wp)
{
	struct discover_req *w, **pp;
	struct discover_lookup *r;

	if (wp == NULL || (w = *wp) == NULL)
		return;
	*wp = NULL;
	if ((r = w->lk) == NULL) {
		w->cancelled = true; /* deliver_cached frees it */
		return;
	}
	for (pp = &r->waiters; *pp != NULL && *pp != w; pp = &(*pp)->next)
		;
	if (*pp == w)
		*pp = w->next;
	free(w);
	if (r->waiters == NULL) {
		/* nobody waits: stop at the next step, leave no entry */
		r->cancelled = true;
		if (r->cent != NULL) {
			r->cent->lk = NULL;
			cent_remove(r->dc, r->cent);
			r->cent = NULL;
		}
	}
}
