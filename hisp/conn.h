/* A TCP connection on the loop with optional TLS (hisp/tls.h over memory
 * BIOs): the thin glue shared by the SMTP server and client. The protocol
 * cores stay sans-I/O; a conn moves their bytes.
 *
 * Callbacks run on the loop thread. After conn_close() (or an error) the
 * on_close callback runs exactly once, later, from the loop (never inside
 * a conn call), and the conn is freed right after it returns: the owner
 * frees its own state there. Reading can be paused (a core that holds
 * enough input). Plaintext written before a TLS handshake completes is
 * held by TLS and sent after it. */
#ifndef HISP_CONN_H
#define HISP_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/loop.h"

struct sockaddr;
struct tls_ctx;
struct uv_stream_s;
struct conn;

struct conn_ops {
	/* Plaintext from the peer (borrowed for the call). */
	void (*on_data)(void *arg, const uint8_t *p, size_t n);
	/* The TLS handshake finished (ok) or failed (then on_close follows). */
	void (*on_tls)(void *arg, bool ok);
	/* A connect finished (client side only). */
	void (*on_connect)(void *arg, bool ok, const char *reason);
	/* Everything written so far has gone to the kernel. May be NULL. */
	void (*on_drain)(void *arg);
	/* The connection is closed; reason is "eof", "closed" or an error. */
	void (*on_close)(void *arg, const char *reason);
};

/* Accepts a pending connection on a listening stream. NULL on failure. */
struct conn *conn_accept(struct loop *l, struct uv_stream_s *server,
    const struct conn_ops *ops, void *arg);
/* Connects to addr; ops->on_connect reports. NULL when it cannot even
 * start (e set). */
struct conn *conn_connect(struct loop *l, const struct sockaddr *addr,
    const struct conn_ops *ops, void *arg, struct err *e);

/* Queues plaintext to send. */
void conn_write(struct conn *c, const uint8_t *p, size_t n);
/* From now on every byte goes through TLS: as a server (sni NULL) or a
 * client (sni: the server name, may be NULL). Bytes already written in
 * plaintext go out first. */
void conn_start_tls(struct conn *c, struct tls_ctx *ctx, bool server,
    const char *sni);
/* "TLSv1.3/TLS_AES_256_GCM_SHA384" or "" */
const char *conn_tls_desc(const struct conn *c);
void conn_pause(struct conn *c);
void conn_resume(struct conn *c);
/* Flushes what is queued (with a TLS close_notify), then closes. */
void conn_close(struct conn *c);
/* Closes at once, dropping what is queued. */
void conn_abort(struct conn *c, const char *reason);
/* The peer's address "1.2.3.4" or "[::1]", and port. */
const char *conn_peer(const struct conn *c);
uint16_t conn_peer_port(const struct conn *c);
/* Bytes queued but not yet written to the kernel. */
size_t conn_pending(const struct conn *c);

#endif
