/* A TLS connection over OpenSSL memory BIOs, sans-I/O: the glue feeds the
 * ciphertext it reads from the socket and writes the ciphertext this
 * produces; plaintext goes in and out through buffers. No sockets, so a
 * TLS session (and STARTTLS inside an SMTP session) can be tested in
 * memory. OpenSSL types stay inside tls.c.
 *
 * Driving a connection:
 *
 *   conn = tls_conn_new(ctx, server_name);      // client: ClientHello queued
 *   on every read:   tls_conn_feed(conn, p, n, e);
 *                    tls_conn_read(conn, &plain, e);  // plaintext for SMTP
 *   to send:         tls_conn_write(conn, p, n, e);   // held until the
 *                                                     // handshake is done
 *   after each of these: tls_conn_take_output(conn, &out) and write out.
 *
 * Every function that can fail returns -1 with e filled (ERR_PROTO for a
 * peer's protocol or handshake failure, ERR_CONFIG for files and
 * settings); after a failure the connection is dead: only
 * tls_conn_take_output (a pending alert) and tls_conn_free are useful. */
#ifndef HISP_TLS_H
#define HISP_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

struct tls_ctx;
struct tls_conn;

/* A server context from PEM files: the certificate chain (leaf first) and
 * its private key. TLS 1.2 minimum. NULL with e set (ERR_CONFIG) when a
 * file cannot be read or the key does not match. */
struct tls_ctx *tls_ctx_new_server(const char *cert_file, const char *key_file,
    struct err *e);
/* A client context. ca_file (PEM, NULL: the system's trust store) is used
 * to check the server; verify makes a failed check fail the handshake
 * (otherwise the result is only reported by tls_conn_peer_verified, as
 * opportunistic STARTTLS wants). NULL with e set on error. */
struct tls_ctx *tls_ctx_new_client(const char *ca_file, bool verify,
    struct err *e);
/* Frees a context (NULL accepted) and clears *cp. Connections made from
 * it keep their own reference and may outlive it. */
void tls_ctx_free(struct tls_ctx **cp);

/* A connection. For a client context server_name (may be NULL) is sent as
 * SNI and, when the context verifies, checked against the certificate;
 * the ClientHello is queued at once. Never NULL. */
struct tls_conn *tls_conn_new(struct tls_ctx *ctx, const char *server_name);
/* Frees a connection (NULL accepted) and clears *cp; plaintext held for
 * writing is wiped. */
void tls_conn_free(struct tls_conn **cp);

/* Ciphertext received from the peer; advances the handshake and sends
 * plaintext held by tls_conn_write once it is done. 0 or -1. */
int tls_conn_feed(struct tls_conn *c, const uint8_t *p, size_t n,
    struct err *e);
/* Appends the plaintext available to plain (stopping when plain is at its
 * maximum). Returns 1 if any was appended, 0 if none is available yet
 * (more ciphertext needed, or the peer closed: see tls_conn_peer_closed),
 * -1 on error. */
int tls_conn_read(struct tls_conn *c, struct buf *plain, struct err *e);
/* Plaintext to send; held (copied) until the handshake completes. 0 or -1
 * (after a failure, or after tls_conn_shutdown). */
int tls_conn_write(struct tls_conn *c, const uint8_t *p, size_t n,
    struct err *e);
/* Appends the ciphertext waiting to be sent to out; returns the number of
 * bytes appended, or -1 if out's maximum was hit (what fit was appended;
 * call again after writing). */
long tls_conn_take_output(struct tls_conn *c, struct buf *out);
/* Queues a close_notify. 0 or -1. */
int tls_conn_shutdown(struct tls_conn *c, struct err *e);

bool tls_conn_handshake_done(const struct tls_conn *c);
/* The peer sent close_notify. */
bool tls_conn_peer_closed(const struct tls_conn *c);
/* The peer presented a certificate that chains to the trusted CAs (and
 * matches server_name for a client). */
bool tls_conn_peer_verified(const struct tls_conn *c);
/* "TLSv1.3", and the cipher name; "" before the handshake. Borrowed. */
const char *tls_conn_version(const struct tls_conn *c);
const char *tls_conn_cipher(const struct tls_conn *c);

#endif
