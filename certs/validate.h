/* Certificate validation for Direct: does a certificate chain to a trust
 * anchor of the right direction for a local domain, is it in its validity
 * period, not revoked, bound to the expected address or domain, strong
 * enough, and allowed for the purpose?
 *
 * Rules (../shared/specs/direct.md, "Certificate rules"):
 * - Trust: the chain ends in an anchor configured for the local domain with
 *   a direction that fits (VALIDATE_INCOMING: anchors "in" or "both", i.e.
 *   may this domain receive from the certificate's holder; VALIDATE_OUTGOING:
 *   anchors "out" or "both", may it send to the holder). Anchors may be
 *   intermediates (partial chains are allowed). Anchors come from single
 *   anchors and from the bundles attached to the domain.
 * - Intermediates come from the message (req->untrusted), from the store
 *   (intermediates imported with `cert import --intermediate` and the chains
 *   of our own keys), and from the AIA caIssuers URL of a certificate whose
 *   issuer is missing (HTTP, DER or PKCS#7, cached in the context).
 * - Depth: the anchor is at most 5 certificates above the leaf (at most 4
 *   intermediates between them); longer is VALIDATE_CHAIN_TOO_DEEP.
 * - Binding: an address ("a@b.example") is bound by a subjectAltName
 *   rfc822Name equal to it (domain part case-insensitive), or by a dNSName
 *   equal to its domain (an organizational certificate); a bare domain only
 *   by a dNSName. The subject's emailAddress and CN are never used. No
 *   wildcards.
 * - Strength: RSA and DSA keys of at least 2048 bits, EC keys of at least
 *   256 bits, on every certificate of the chain including the anchor; no
 *   MD2/MD4/MD5/SHA-1 signatures on any certificate except the anchor's own
 *   self-signature.
 * - Key usage, where the extension is present on the leaf: digitalSignature
 *   (or nonRepudiation) for VALIDATE_SIGN; keyEncipherment for RSA, or
 *   keyAgreement for EC, for VALIDATE_ENCRYPT. extendedKeyUsage is not
 *   checked (Direct certificates in the field vary too much).
 * - Revocation: for the leaf and every intermediate (not the anchor) that
 *   names an HTTP CRL distribution point, the CRL is fetched, its signature
 *   checked against the issuer, and cached until its nextUpdate. A
 *   certificate without a distribution point is not checked. When no CRL
 *   can be obtained, the policy [certs] crl_unavailable decides: "temp"
 *   (default: VALIDATE_CRL_UNAVAILABLE with temporary = true, so mail is
 *   retried rather than refused or sent unchecked), "fail" (the same verdict,
 *   temporary = false) or "ignore" (treated as not revoked, logged).
 * - Fetches: AIA answers are cached for the life of the context, CRLs until
 *   their nextUpdate; a failed fetch (or an unusable answer) is not tried
 *   again for 60 s, so a dead server does not hold a worker for the whole
 *   HTTP timeout on every message.
 *
 * Order of checks, and so which reason is reported when several apply:
 * malformed input, untrusted (no chain), chain too deep, not yet valid,
 * expired, weak key, weak signature, binding mismatch, bad key usage,
 * revoked / CRL unavailable. Revocation is checked only when all else is ok.
 *
 * Threads: a struct validate_ctx is an immutable snapshot of the trust
 * store (anchors per domain and direction, intermediates) plus internal
 * caches (AIA, CRL) guarded by a mutex: validate_cert may run on many
 * worker threads at once. It blocks on HTTP (AIA, CRL) with the limits of
 * the [certs] settings, so it belongs on a worker, never the loop thread.
 * When the store changes (certs_store_generation() moved on), build a new
 * context and swap: contexts are reference-counted so that jobs in flight
 * keep theirs. */
#ifndef CERTS_VALIDATE_H
#define CERTS_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "certs/http.h"
#include "core/config.h"
#include "core/err.h"
#include "core/store.h"

enum validate_direction {
	VALIDATE_INCOMING = 1, /* the local domain receives from the holder */
	VALIDATE_OUTGOING = 2, /* the local domain sends to the holder */
};

enum validate_purpose {
	VALIDATE_SIGN = 1,    /* the holder signs (an incoming sender) */
	VALIDATE_ENCRYPT = 2, /* we encrypt to the holder (a recipient) */
	VALIDATE_ANY = 3,     /* no key usage check */
};

/* Verdict reasons. VALIDATE_OK is 0; each other value names why. Stable:
 * the names (validate_reason_name) appear in logs, JSON and reports. */
enum validate_reason {
	VALIDATE_OK = 0,
	VALIDATE_UNTRUSTED,        /* "untrusted": no chain to an anchor */
	VALIDATE_EXPIRED,          /* "expired": a chain cert past notAfter */
	VALIDATE_NOT_YET_VALID,    /* "not-yet-valid": before notBefore */
	VALIDATE_REVOKED,          /* "revoked": listed in its issuer's CRL */
	VALIDATE_BINDING_MISMATCH, /* "binding-mismatch": SAN does not match */
	VALIDATE_WEAK_KEY,         /* "weak-key": RSA < 2048 and the like */
	VALIDATE_WEAK_SIGNATURE,   /* "weak-signature": MD5 or SHA-1 signed */
	VALIDATE_BAD_KEY_USAGE,    /* "bad-key-usage": keyUsage forbids it */
	VALIDATE_CHAIN_TOO_DEEP,   /* "chain-too-deep": more than 5 above leaf */
	VALIDATE_CRL_UNAVAILABLE,  /* "crl-unavailable": see the policy above */
	VALIDATE_UNKNOWN_DOMAIN,   /* "unknown-domain": not a local domain */
	VALIDATE_INVALID,          /* "invalid": malformed, bad signature... */
};

/* What the binding check matched. */
enum validate_binding {
	VALIDATE_BOUND_NONE = 0,
	VALIDATE_BOUND_ADDRESS, /* rfc822Name == the address */
	VALIDATE_BOUND_DOMAIN,  /* dNSName == the address's domain */
};

struct validate_req {
	X509 *leaf;                /* borrowed; required */
	STACK_OF(X509) *untrusted; /* borrowed; may be NULL (from the message) */
	const char *local_domain;  /* our domain whose anchors decide */
	enum validate_direction direction;
	/* The address ("a@b.example") or domain ("b.example") the certificate
	 * must be bound to; NULL skips the binding check. */
	const char *expected;
	enum validate_purpose purpose;
	time_t now; /* the time of validation (passed in: no clock inside) */
};

struct validate_result {
	enum validate_reason reason;
	/* True when trying again later may give another answer (CRL or AIA
	 * server unreachable, under the "temp" policy): map to 4xx, not 5xx. */
	bool temporary;
	enum validate_binding binding; /* set when the binding check passed */
	int depth; /* certificates above the leaf in the chain found, or -1 */
	/* One line for logs and reports; no PHI (names no subject), but may
	 * name an address, a fingerprint prefix, a URL or an OpenSSL reason. */
	char msg[256];
};

/* What to do when no CRL can be obtained for a certificate naming one. */
enum validate_crl_policy {
	VALIDATE_CRL_TEMP = 0, /* crl-unavailable, temporary (the default) */
	VALIDATE_CRL_FAIL,     /* crl-unavailable, permanent */
	VALIDATE_CRL_IGNORE,   /* treat as not revoked; logged */
	VALIDATE_CRL_OFF,      /* no revocation checks at all (tests, admin) */
};

/* Options of a context; zero-initialize, then set what you need. */
struct validate_opts {
	/* HTTP for AIA and CRLs. NULL: http_fetch_default (libcurl). Tests
	 * set a function serving bytes from memory. */
	http_fetch_fn *fetch;
	void *fetch_arg;
	/* Limits; 0 takes the defaults (10 s, 1 MiB for certificates, 10 MiB
	 * for CRLs). */
	int64_t http_timeout_ms;
	size_t max_cert_size;
	size_t max_crl_size;
	/* AIA fetches per validation; 0: 4. Negative: AIA disabled. */
	int aia_max_fetches;
	enum validate_crl_policy crl_policy; /* see above; default TEMP */
};

/* Fills o from the [certs] settings of cfg (certs/certs_config.h). */
void validate_opts_from_config(const struct config *cfg,
    struct validate_opts *o);

struct validate_ctx;

/* Loads the trust store from s (domains, their anchors with directions,
 * bundle anchors, stored intermediates) into a new context with one
 * reference. s is only used during the call. o may be NULL (defaults); it
 * is copied. On error *ctx_r is NULL and e says why (TEMP for store
 * errors). */
int validate_ctx_new(struct store *s, const struct validate_opts *o,
    struct validate_ctx **ctx_r, struct err *e);
/* An empty context (no domains) for building by hand (tests, tools). */
struct validate_ctx *validate_ctx_new_empty(const struct validate_opts *o);
/* Adds an anchor to a context under construction (not thread-safe: only
 * before the context is shared). The domain is created if needed. x is
 * copied (up-ref). dir is a mask of VALIDATE_INCOMING | VALIDATE_OUTGOING.
 * -1 on a bad argument. */
int validate_ctx_add_anchor(struct validate_ctx *ctx, const char *domain,
    unsigned dir, X509 *x, struct err *e);
/* Adds a known intermediate (up-ref). */
void validate_ctx_add_intermediate(struct validate_ctx *ctx, X509 *x);
/* Reference counting: _ref returns ctx with one more reference;
 * validate_ctx_free drops one (the last frees) and sets *ctxp to NULL.
 * Both thread-safe; free accepts NULL. */
struct validate_ctx *validate_ctx_ref(struct validate_ctx *ctx);
void validate_ctx_free(struct validate_ctx **ctxp);
/* True if domain is a local domain known to the context. */
bool validate_ctx_has_domain(const struct validate_ctx *ctx,
    const char *domain);

/* Validates req->leaf. Always fills res (reason VALIDATE_OK when the
 * certificate may be used) and returns 0 when a verdict was reached, -1
 * only for an internal failure (e set, res->reason VALIDATE_INVALID). A
 * negative verdict is not an error: look at res->reason. Thread-safe. */
int validate_cert(struct validate_ctx *ctx, const struct validate_req *req,
    struct validate_result *res, struct err *e);

/* Only the binding check of the rules above: VALIDATE_BOUND_ADDRESS or
 * _DOMAIN when x is bound to expected, else VALIDATE_BOUND_NONE. */
enum validate_binding validate_binding(X509 *x, const char *expected);

/* "ok", "untrusted", ... (stable names, see the enum). */
const char *validate_reason_name(enum validate_reason r);
/* "in", "out". */
const char *validate_direction_name(enum validate_direction d);
/* Parses "in"/"incoming", "out"/"outgoing"; -1 otherwise. */
int validate_direction_parse(const char *s, enum validate_direction *d_r);

#endif
