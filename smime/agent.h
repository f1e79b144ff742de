/* The Direct security and trust agent: seal what leaves (wrap, sign,
 * encrypt) and open what arrives (decrypt, verify, validate the signer,
 * check its binding to From, unwrap, check the SMTP envelope against the
 * headers). ../shared/specs/direct.md, "Message security".
 *
 * Sans-I/O and thread-safe: a struct agent holds settings, prefetched
 * algorithms and a cache of parsed recipient certificates (by DER, under a
 * lock); every call takes its inputs (bytes, key ids, the trust context)
 * and returns bytes and a verdict. Private keys are used
 * only through the signer (smime/signer.h), named by key id (the SHA-256
 * fingerprint of the certificate, as in certs/keystore.h). Calls block on
 * CPU and, for trust, on HTTP (AIA, CRL): run them on a worker. No OpenSSL
 * or libetpan type appears here. Logs carry ids, sizes and verdicts only,
 * never headers or bodies. */
#ifndef SMIME_AGENT_H
#define SMIME_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/buf.h"
#include "core/err.h"
#include "smime/signer.h"
#include "smime/smime_config.h"

struct validate_ctx;
struct agent;

/* Creates an agent with a copy of the settings. Never NULL. */
struct agent *agent_new(const struct smime_settings *set);
/* Accepts NULL; sets *ap to NULL. Only when no call is running. */
void agent_free(struct agent **ap);
/* The agent's settings (borrowed). */
const struct smime_settings *agent_settings(const struct agent *a);

/* A borrowed span of bytes. */
struct agent_blob {
	const uint8_t *data;
	size_t len;
};

/* ---- Outgoing ---- */

struct agent_seal_req {
	const uint8_t *msg;      /* the RFC 5322 message (LF or CRLF) */
	size_t msg_len;
	const char *from;        /* the sender; the From header must name it */
	const struct signer *signer;
	const char *key_id;      /* the sender's signing key in the signer
	                            (keystore_find_signer(...)->fingerprint);
	                            its certificate and chain go along */
	/* DER certificates to encrypt to: every valid certificate of every
	 * recipient (validated by the caller, e.g. certs/ discovery). */
	const struct agent_blob *rcpt_certs;
	size_t n_rcpt_certs;
};

/* Seals req->msg: wraps it as message/rfc822 (canonical CRLF), signs it
 * (multipart/signed, detached CMS SignedData, SHA-256, the signer's
 * certificate and chain included), encrypts that to every certificate
 * (the configured cipher and key transport) and appends to out the outer
 * message: the routing headers of the original (From, To, Cc, Date,
 * Message-ID, Subject or [smime] outer_subject,
 * Disposition-Notification-*), MIME-Version and the application/pkcs7-mime
 * enveloped-data body in base64. -1 with e set and out unchanged in length
 * meaning: ERR_PERM for a message without From or whose From is not
 * req->from, no recipient certificate, an unreadable certificate, an
 * unknown key or a message larger than [smime] max_message; ERR_INTERNAL
 * when OpenSSL fails. */
int agent_seal(const struct agent *a, const struct agent_seal_req *req,
    struct buf *out, struct err *e);

/* ---- Incoming ---- */

/* Why a message was refused. Stable names (agent_reason_name) appear in
 * logs, JSON, MDN/DSN texts. */
enum agent_reason {
	AGENT_OK = 0,
	AGENT_NOT_ENCRYPTED,     /* "not-encrypted": no enveloped-data */
	AGENT_NOT_FOR_US,        /* "not-for-us": no key of ours decrypts */
	AGENT_NOT_SIGNED,        /* "not-signed": decrypted, no signature */
	AGENT_BAD_SIGNATURE,     /* "bad-signature": signature does not
	                            verify: tampered content */
	AGENT_UNTRUSTED,         /* "untrusted": signer does not chain to an
	                            incoming anchor of the local domain (or
	                            key usage forbids signing) */
	AGENT_EXPIRED,           /* "expired" */
	AGENT_NOT_YET_VALID,     /* "not-yet-valid" */
	AGENT_REVOKED,           /* "revoked" */
	AGENT_BINDING_MISMATCH,  /* "binding-mismatch": signer not bound to
	                            the From address or its domain */
	AGENT_WEAK_ALGORITHM,    /* "weak-algorithm": MD5/SHA-1 (unless
	                            allowed), small keys, weak chain */
	AGENT_ENVELOPE_TAMPERED, /* "envelope-tampered": MAIL FROM is not
	                            From or Sender, or an RCPT TO is in
	                            neither To nor Cc */
	AGENT_MALFORMED,         /* "malformed": MIME or CMS unreadable */
	AGENT_TRUST_UNAVAILABLE, /* "trust-unavailable": a CRL could not be
	                            fetched (see temporary) */
};

struct agent_open_req {
	const uint8_t *msg;      /* the message as received */
	size_t msg_len;
	const char *rcpt;        /* the local recipient ("b@d.example"); its
	                            domain's incoming anchors decide trust */
	const struct signer *signer;
	const char *const *key_ids; /* the recipient's keys in the signer
	                               (keystore_find_decrypt): any decrypts */
	size_t n_keys;
	struct validate_ctx *trust; /* certs/validate.h; borrowed */
	/* The SMTP envelope for the tamper check; mail_from NULL skips it.
	 * Addresses with or without angle brackets. */
	const char *mail_from;
	const char *const *rcpt_to;
	size_t n_rcpt_to;
	time_t now;              /* time of validation */
};

struct agent_open_result {
	enum agent_reason reason;
	bool temporary;          /* trying later may succeed: 4xx, not 5xx */
	char detail[256];        /* one line for logs and reports; no PHI */
	/* The unwrapped message: the message/rfc822 part when wrapped; else
	 * the signed entity itself when it has a From (a whole message
	 * signed without wrapping), else the outer header (without its
	 * Content-* fields) and the signed entity. The From checked is the
	 * one of that message. Filled only when reason is AGENT_OK. */
	struct buf content;
	bool wrapped;
	/* What was found, as far as opening got (empty strings if not). */
	char from[320];          /* the From address that was checked */
	char message_id[320];    /* Message-ID (inner if wrapped) */
	char signer_fp[65];      /* SHA-256 of the signer's certificate */
	char binding[8];         /* "address" or "domain" when bound */
	char digest[8];          /* "sha256"... of the signature */
	char key_id[65];         /* which of our keys decrypted */
};

/* Opens req->msg. Returns 0 when a verdict was reached (res->reason is
 * AGENT_OK or names the refusal), -1 only for an internal failure (e set;
 * res->reason AGENT_MALFORMED, res->temporary true). res is initialized
 * by the call; release it with agent_open_result_release in any case. */
int agent_open(const struct agent *a, const struct agent_open_req *req,
    struct agent_open_result *res, struct err *e);
void agent_open_result_release(struct agent_open_result *res);

/* "ok", "not-encrypted", ... (see the enum). */
const char *agent_reason_name(enum agent_reason r);

/* ---- Helpers for commands and tests (no OpenSSL types needed) ---- */

/* Adds the certificates of a PEM or DER input as anchors of domain in
 * trust (dir: 1 incoming, 2 outgoing, 3 both), through
 * validate_ctx_add_anchor. Returns how many were added, -1 with e set. */
int agent_trust_add_anchors(struct validate_ctx *trust, const char *domain,
    unsigned dir, const uint8_t *p, size_t n, struct err *e);
/* Appends to out the DER of every certificate in a PEM or DER input, each
 * preceded by its length as 4 bytes big-endian. Returns the count, -1 with
 * e set when none can be read. For building agent_blob arrays. */
int agent_certs_der(const uint8_t *p, size_t n, struct buf *out,
    struct err *e);

#endif
