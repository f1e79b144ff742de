/* Helpers shared inside certs/: fingerprints, names, times, reading
 * certificates from bytes, key files, OpenSSL error text. */
#ifndef CERTS_CERTS_UTIL_PRIVATE_H
#define CERTS_CERTS_UTIL_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/buf.h"
#include "core/err.h"

/* SHA-256 of the DER certificate as 64 hex digits + NUL. */
void certs_util_fingerprint(X509 *x, char out[65]);
/* SHA-256 of the DER SubjectPublicKeyInfo of a key. */
void certs_util_spki_fp(EVP_PKEY *k, char out[65]);
/* One-line RFC 2253 name; the caller frees. */
char *certs_util_name(const X509_NAME *n);
/* ASN1_TIME as time_t (UTC); 0 if unreadable. */
time_t certs_util_time(const ASN1_TIME *t);
/* DER of x appended to out; -1 on failure. */
int certs_util_der(X509 *x, struct buf *out);
/* Reads every certificate in data: PEM (CERTIFICATE blocks, PKCS7 blocks),
 * DER certificate, or DER PKCS#7 (certificates field, and the certificates
 * of an encapsulated PKCS#7 content). Pushes them on out (which owns them).
 * Returns the number added, -1 (PERM) when data holds none. */
int certs_util_read_certs(const void *data, size_t len, STACK_OF(X509) *out,
    struct err *e);
/* A certificate from DER bytes (exactly); NULL if not one. */
X509 *certs_util_x509_der(const void *p, size_t n);
/* Concatenated DER certificates (a chain blob) onto out. */
int certs_util_read_der_concat(const void *p, size_t n, STACK_OF(X509) *out);
/* Sets e to "<what>: <OpenSSL reason>" of kind and clears OpenSSL's error
 * queue; returns -1. */
int certs_util_ossl_err(struct err *e, enum err_kind kind, const char *what);
/* Creates dir (and no parents) with mode 0700 if missing; -1 on error. */
int certs_util_mkdir_private(const char *dir, struct err *e);
/* Writes key as unencrypted PKCS#8 PEM to dir/name with mode 0600 (temp
 * file, fsync, rename). The PEM text is wiped from memory. */
int certs_util_write_key(const char *dir, const char *name, EVP_PKEY *key,
    struct err *e);
/* Reads a PEM private key file; NULL with e set. */
EVP_PKEY *certs_util_read_key(const char *dir, const char *name,
    struct err *e);
/* Writes bytes to dir/name with the given mode (temp file, fsync,
 * rename). */
int certs_util_write_file(const char *dir, const char *name, const void *p,
    size_t n, int mode, struct err *e);
/* Reads a whole file of at most max bytes into out. */
int certs_util_read_file(const char *path, size_t max, struct buf *out,
    struct err *e);
/* A copy of s with ASCII letters lower-cased; caller frees. */
char *certs_util_lower(const char *s);
/* True when x is self-signed (issuer == subject and the signature
 * verifies with its own key). */
bool certs_util_self_signed(X509 *x);
/* Loads OpenSSL's legacy provider (and the default one beside it) once;
 * 0 or -1. Thread-safe. */
int certs_util_load_legacy(void);

#endif
