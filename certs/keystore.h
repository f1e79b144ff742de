/* The key store: our own private keys and certificates, for addresses
 * (address-bound: subjectAltName rfc822Name) and for domains (domain-bound:
 * dNSName). The store holds the certificates and references to key files;
 * each private key is a PEM file of mode 0600 in the key directory (mode
 * 0700, [core] keys). Private keys are never logged, printed or put in an
 * error message.
 *
 * Two halves:
 * - Administration (import, generate, list, remove): functions taking the
 *   store connection and the key directory, for the `directgate cert`
 *   commands. Not for the daemon's hot path.
 * - Lookup (what the S/MIME agent uses): a struct keystore is an immutable
 *   in-memory snapshot of every usable key and certificate, loaded once,
 *   shared by worker threads without locks, reference-counted. When the
 *   store changes (certs_store_generation() moved on) load a new one and
 *   swap; jobs in flight keep the old snapshot alive by their reference. */
#ifndef CERTS_KEYSTORE_H
#define CERTS_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/store.h"

enum keystore_kind {
	KEYSTORE_ADDRESS = 1, /* bound to one address (rfc822Name) */
	KEYSTORE_DOMAIN = 2,  /* bound to a whole domain (dNSName) */
};

/* SHA-256 of the DER certificate, lower-case hex. */
#define KEYSTORE_FP_LEN 64

/* One key with its certificate, inside a snapshot. Every pointer is owned
 * by the snapshot and valid as long as the caller holds a reference to it
 * (get0); take your own reference with EVP_PKEY_up_ref / X509_up_ref to
 * keep an object longer. Read-only: never modify. */
struct keystore_entry {
	enum keystore_kind kind;
	const char *owner;          /* the address or domain, lower-case domain */
	EVP_PKEY *key;              /* the private key */
	X509 *cert;                 /* its certificate */
	STACK_OF(X509) *chain;      /* intermediates to send along; may be empty */
	char fingerprint[KEYSTORE_FP_LEN + 1]; /* of cert */
	time_t not_before, not_after;
};

struct keystore;

/* Loads every key that has a certificate from s, reading the key files
 * from key_dir. A key file that cannot be read or does not match its
 * certificate is skipped with a warning (naming the fingerprint, never the
 * key); the others still load. On error (store unreadable) *ks_r is NULL
 * and e says why. The snapshot holds one reference. */
int keystore_load(struct store *s, const char *key_dir, struct keystore **ks_r,
    struct err *e);
/* An empty snapshot, for building by hand (tests). */
struct keystore *keystore_new_empty(void);
/* Adds a key and certificate to a snapshot under construction (not
 * thread-safe: only before sharing). key, cert and chain are up-ref'd
 * (chain may be NULL). The owner is taken from the certificate's SAN when
 * owner is NULL. -1 when the key does not match the certificate. */
int keystore_add(struct keystore *ks, enum keystore_kind kind,
    const char *owner, EVP_PKEY *key, X509 *cert, STACK_OF(X509) *chain,
    struct err *e);
/* Reference counting; both thread-safe; free accepts NULL and clears. */
struct keystore *keystore_ref(struct keystore *ks);
void keystore_free(struct keystore **ksp);
size_t keystore_count(const struct keystore *ks);

/* The key to sign mail from address ("a@b.example"): an address-bound
 * entry for it first, else a domain-bound entry for its domain. Among
 * several, only those valid at now whose key usage (if present) allows
 * signing, the latest notAfter first. NULL when none (get0: borrowed from
 * ks). */
const struct keystore_entry *keystore_find_signer(const struct keystore *ks,
    const char *address, time_t now);
/* Every key that may decrypt mail for address: its address-bound entries
 * then those of its domain, regardless of validity dates (old mail still
 * decrypts). Fills up to max pointers into v_r (borrowed from ks) and
 * returns how many there are in all (may exceed max). */
size_t keystore_find_decrypt(const struct keystore *ks, const char *address,
    const struct keystore_entry **v_r, size_t max);
/* Every entry, for iteration: 0 <= i < keystore_count(ks). */
const struct keystore_entry *keystore_get0(const struct keystore *ks,
    size_t i);

/* ---- Administration (commands) ---- */

struct keystore_import_opts {
	/* The owner: an address or a domain; NULL derives it from the
	 * certificate's SAN (an rfc822Name makes an address entry, else a
	 * dNSName a domain entry). When given, the certificate must be bound
	 * to it. Its domain must be a local domain (certs/domain.h). */
	const char *owner;
	/* Password of a PKCS#12 file or an encrypted PEM key; NULL for none.
	 * Legacy-encrypted PKCS#12 (RC2, 3DES) is read by loading OpenSSL's
	 * legacy provider on demand. */
	const char *password;
	/* Import the certificates as intermediates (no key, no owner). */
	bool intermediate;
};

/* Imports a key and its certificate (and chain) from one or more inputs:
 * PEM (keys and certificates, in any order), DER certificate, DER private
 * key (PKCS#8 or traditional) or PKCS#12, detected from the bytes. The key
 * is written to key_dir (created 0700 if missing) as a 0600 file, the
 * certificate and chain to the store. A certificate alone matching a key
 * made by keystore_generate completes that entry. The leaf is the
 * certificate matching the key; other certificates become its chain.
 * Fills fp_r (may be NULL) with the leaf's fingerprint. Errors (PERM):
 * unreadable input, wrong password, no key for the certificate, key and
 * certificate not matching, binding mismatch, unknown local domain,
 * already imported. Key material is wiped from memory before returning. */
struct keystore_input {
	const void *data;
	size_t len;
	const char *name; /* for messages (a file name); may be NULL */
};
int keystore_import(struct store *s, const char *key_dir,
    const struct keystore_input *in, size_t n_in,
    const struct keystore_import_opts *o, char fp_r[KEYSTORE_FP_LEN + 1],
    struct err *e);

enum keystore_keytype {
	KEYSTORE_RSA2048 = 0,
	KEYSTORE_RSA3072,
	KEYSTORE_RSA4096,
	KEYSTORE_EC_P256,
	KEYSTORE_EC_P384,
};
/* Parses "rsa2048", "rsa3072", "rsa4096", "p256", "p384"; -1 otherwise. */
int keystore_keytype_parse(const char *s, enum keystore_keytype *t_r);

/* Generates a key for owner (an address or a domain, whose domain must be
 * local), stores it as a pending entry and appends a PEM CSR (SHA-256,
 * subjectAltName rfc822Name or dNSName, CN = owner) to csr_out. The entry
 * becomes usable when its certificate is imported (keystore_import). */
int keystore_generate(struct store *s, const char *key_dir, const char *owner,
    enum keystore_keytype type, struct buf *csr_out, struct err *e);

/* What keystore_list reports per entry (strings owned by the list). */
struct keystore_info {
	int64_t id;
	enum keystore_kind kind; /* 0 for an intermediate */
	char *owner;             /* NULL for an intermediate */
	char *fingerprint;       /* of the certificate; NULL while pending */
	char *subject;           /* one-line RFC 2253 subject; NULL pending */
	char *issuer;
	time_t not_before, not_after; /* 0 while pending */
	bool has_key;
	bool pending;            /* key generated, certificate not imported */
	bool intermediate;
};
/* Lists entries (owner filter: an address or a domain, NULL for all; a
 * domain also lists its addresses' entries), with intermediates when
 * with_intermediates. *v_r is an array of *n_r entries for
 * keystore_info_free. */
int keystore_list(struct store *s, const char *owner, bool with_intermediates,
    struct keystore_info **v_r, size_t *n_r, struct err *e);
void keystore_info_free(struct keystore_info **vp, size_t n);

/* Removes the entry whose certificate fingerprint starts with fp_prefix
 * (at least 8 hex digits; must be unambiguous) or whose id is given as
 * "#<id>", with its key file. An intermediate is removed the same way. */
int keystore_remove(struct store *s, const char *key_dir, const char *which,
    struct err *e);

/* "address", "domain". */
const char *keystore_kind_name(enum keystore_kind k);

#endif
