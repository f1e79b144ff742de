/* Certificate discovery for a Direct recipient (../shared/specs/direct.md,
 * "Certificate discovery"):
 *   1. DNS CERT at local.domain (address-bound),
 *   2. DNS CERT at domain (domain-bound),
 *   3. LDAP: SRV _ldap._tcp.domain, servers by priority then weight, the
 *      first that answers; (mail=address) then (mail=domain).
 * CERT records of type PKIX carry the certificate; types IPKIX (4) and URI
 * (253) carry a URL fetched over HTTP(S) with size and time limits. Every
 * candidate goes through the validation step (pluggable, run on a worker);
 * a step that yields no valid certificate falls through to the next. The
 * valid candidates of the first step that has any are the ones to use.
 *
 * Outcome: FOUND (at least one valid), NONE (permanent: nothing valid
 * anywhere, no record, NXDOMAIN) or TEMP (timeout, SERVFAIL, no LDAP server
 * answering, a fetch or CRL that may work later, before anything valid was
 * found): temporary failures retry later, permanent ones bounce.
 *
 * Loop thread only (the blocking parts run on workers). */
#ifndef CERTS_DISCOVER_H
#define CERTS_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/err.h"

struct loop;
struct dns;

enum discover_source {
	DISCOVER_DNS_ADDRESS = 1, /* CERT at local.domain */
	DISCOVER_DNS_DOMAIN,      /* CERT at domain */
	DISCOVER_LDAP_ADDRESS,    /* LDAP (mail=address) */
	DISCOVER_LDAP_DOMAIN,     /* LDAP (mail=domain) */
};

enum discover_verdict {
	DISCOVER_UNCHECKED = 0, /* not validated (no certificate bytes) */
	DISCOVER_VALID,
	DISCOVER_INVALID,
};

/* One candidate certificate and what became of it. */
struct discover_cand {
	enum discover_source source;
	char origin[384];  /* "CERT PKIX at d1.domain1.test", "ldap1:389 uid=.." */
	char *url;         /* IPKIX/URI: the URL fetched; else NULL */
	uint8_t *der;      /* the certificate, NULL when it could not be had */
	size_t der_len;
	/* Filled from the certificate when it parses: */
	char *subject;     /* RFC 2253 one line */
	char *issuer;
	char *san;         /* "email:a@b.test, DNS:b.test" */
	char fingerprint[65];
	time_t not_before, not_after;
	/* Filled by the validation step (or by discovery for fetch and parse
	 * failures): */
	enum discover_verdict verdict;
	char reason[256];  /* "ok", "expired", "fetch: timeout"... */
	bool temporary;    /* a later try may give another verdict */
	bool used;         /* among the certificates to encrypt to */
};

enum discover_outcome {
	DISCOVER_FOUND = 0,
	DISCOVER_NONE,  /* permanent */
	DISCOVER_TEMP,  /* temporary */
};

struct discover_result {
	char *address;
	enum discover_outcome outcome;
	char reason[256];  /* one line: why NONE or TEMP; what was used */
	struct discover_cand *cands;
	size_t ncands;
	size_t nused;      /* candidates with used set */
	/* What each step saw, one line each ('\n' separated). */
	char *trace;
};
void discover_result_free(struct discover_result **rp);
/* A deep copy; the caller frees it. */
struct discover_result *discover_result_dup(const struct discover_result *r);
const char *discover_source_name(enum discover_source s);
const char *discover_outcome_name(enum discover_outcome o);

/* The validation step. Runs on a worker thread (several at once): must be
 * thread-safe and may block (CRL and AIA fetches). It reads c->der,
 * c->der_len, c->source and fills c->verdict (VALID or INVALID),
 * c->reason and c->temporary; address is the recipient. */
typedef void discover_validate_fn(void *arg, const char *address,
    struct discover_cand *c);

/* The built-in step used when none is given: within notBefore..notAfter at
 * the time of the check, and bound to the address (rfc822Name) or its
 * domain (dNSName). No trust check: for tools and tests only. */
void discover_validate_basic(void *arg, const char *address,
    struct discover_cand *c);

struct discover_settings {
	int64_t http_timeout_ms;  /* per URL fetch */
	size_t http_max_size;     /* bytes per URL fetch */
	int64_t ldap_net_timeout_ms;
	int64_t ldap_op_timeout_ms;
	bool ldap;                /* step 3 on or off */
	uint64_t srv_seed;        /* 0: random; else a fixed seed (tests) */
	size_t max_candidates;    /* per step */
	/* Results by address, shared by every request: FOUND for
	 * cache_ttl_ms, NONE for negative_cache_ttl_ms, TEMP never; 0
	 * turns each off. A lookup running is joined, not repeated. */
	int64_t cache_ttl_ms;
	int64_t negative_cache_ttl_ms;
	size_t cache_max;
};
/* 10 s, 1 MiB, 5 s, 10 s, ldap on, random, 16; cache 5 min, 1 min,
 * 10000 addresses. */
void discover_settings_default(struct discover_settings *s);
/* From the configuration: discover_config_read (certs/discover_config.h). */

struct discover;
struct discover_req;

/* d is borrowed and must outlive the discoverer. validate NULL uses
 * discover_validate_basic. s is copied. validate_arg is borrowed: it must
 * stay valid until the discoverer's memory is released (see
 * discover_on_release). */
struct discover *discover_new(struct loop *l, struct dns *d,
    const struct discover_settings *s, discover_validate_fn *validate,
    void *validate_arg);
/* Cancels every request (their callbacks never fire); memory of requests
 * still waiting on a worker or DNS is released when they return, so the
 * loop must run afterwards. Not from inside a discover callback. Accepts
 * NULL. */
void discover_free(struct discover **dp);
/* fn(arg) runs (loop thread) when the discoverer's memory is released:
 * inside discover_free when nothing was running, else when the last
 * lookup still on a worker or DNS has ended. The place to free the
 * validation argument, which workers may use until then. */
void discover_on_release(struct discover *dc, void (*fn)(void *arg),
    void *arg);
/* Drops every cached result (the trust store changed); running lookups
 * go on. */
void discover_flush(struct discover *dc);

/* res is the caller's (free with discover_result_free). */
typedef void discover_done_fn(void *arg, struct discover_result *res);

/* Starts discovery for address ("local@domain"): served from the cache,
 * joined to a lookup already running for the address, or a new lookup.
 * cb fires exactly once, from the loop (never inside this call), unless
 * the request is cancelled. NULL with ERR_PERM for a malformed address,
 * ERR_TEMP after discover_free (cb never fires). */
struct discover_req *discover_start(struct discover *dc, const char *address,
    discover_done_fn *cb, void *arg, struct err *e);
/* The callback will not fire; the request frees itself. Only before the
 * callback has fired. Clears *rp. */
void discover_cancel(struct discover_req **rp);

#endif
