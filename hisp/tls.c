#include "hisp/tls.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/xmalloc.h"

struct tls_ctx {
	SSL_CTX *ssl_ctx;
	bool server;
	bool verify;
};

struct tls_conn {
	SSL *ssl;
	BIO *rbio; /* network -> SSL */
	BIO *wbio; /* SSL -> network */
	bool server;
	bool verify;
	bool done;
	bool failed;
	bool shut;
	bool peer_closed;
	struct buf pending; /* plaintext written before the handshake */
};

/* The most specific OpenSSL error, for a one-line message. */
static int
tls_fail(struct err *e, enum err_kind kind, const char *what)
{
	unsigned long code = ERR_peek_last_error();
	char reason[160];

	if (code != 0) {
		ERR_error_string_n(code, reason, sizeof(reason));
		ERR_clear_error();
		return err_set(e, kind, "%s: %s", what, reason);
	}
	return err_set(e, kind, "%s", what);
}

static SSL_CTX *
ctx_common(const SSL_METHOD *method, struct err *e)
{
	SSL_CTX *ctx = SSL_CTX_new(method);

	if (ctx == NULL) {
		tls_fail(e, ERR_INTERNAL, "SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
}

struct tls_ctx *
tls_ctx_new_server(const char *cert_file, const char *key_file,
    struct err *e)
{
	struct tls_ctx *t;
	SSL_CTX *ctx;

	ERR_clear_error();
	if (cert_file == NULL || key_file == NULL || cert_file[0] == '\0' ||
	    key_file[0] == '\0') {
		err_set(e, ERR_CONFIG, "TLS certificate and key files needed");
		return NULL;
	}
	ctx = ctx_common(TLS_server_method(), e);
	if (ctx == NULL)
		return NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		tls_fail(e, ERR_CONFIG, "TLS certificate");
		err_prefix(e, "%s", cert_file);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		tls_fail(e, ERR_CONFIG, "TLS key");
		err_prefix(e, "%s", key_file);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_fail(e, ERR_CONFIG, "TLS key does not match certificate");
		err_prefix(e, "%s", key_file);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	t = xcalloc(1, sizeof(*t));
	t->ssl_ctx = ctx;
	t->server = true;
	return t;
}

struct tls_ctx *
tls_ctx_new_client(const char *ca_file, bool verify, struct err *e)
{
	struct tls_ctx *t;
	SSL_CTX *ctx;
	int ok;

	ERR_clear_error();
	ctx = ctx_common(TLS_client_method(), e);
	if (ctx == NULL)
		return NULL;
	if (ca_file != NULL && ca_file[0] != '\0')
		ok = SSL_CTX_load_verify_locations(ctx, ca_file, NULL);
	else
		ok = SSL_CTX_set_default_verify_paths(ctx);
	if (ok != 1) {
		tls_fail(e, ERR_CONFIG, "TLS CA file");
		if (ca_file != NULL)
			err_prefix(e, "%s", ca_file);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
	    NULL);
	t = xcalloc(1, sizeof(*t));
	t->ssl_ctx = ctx;
	t->verify = verify;
	return t;
}

void
tls_ctx_free(struct tls_ctx **cp)
{
	if (cp == NULL || *cp == NULL)
		return;
	SSL_CTX_free((*cp)->ssl_ctx);
	free(*cp);
	*cp = NULL;
}

/* Runs the handshake as far as the input allows; once it is done, sends
 * the plaintext held for it. */
static int
advance(struct tls_conn *c, struct err *e)
{
	if (c->failed)
		return err_set(e, ERR_PROTO, "TLS connection failed earlier");
	if (!c->done) {
		int r;

		ERR_clear_error();
		r = SSL_do_handshake(c->ssl);
		if (r != 1) {
			int se = SSL_get_error(c->ssl, r);

			if (se == SSL_ERROR_WANT_READ ||
			    se == SSL_ERROR_WANT_WRITE)
				return 0;
			c->failed = true;
			if (!c->server && c->verify &&
			    SSL_get_verify_result(c->ssl) != X509_V_OK)
				return err_set(e, ERR_PROTO,
				    "TLS handshake: certificate: %s",
				    X509_verify_cert_error_string(
				    SSL_get_verify_result(c->ssl)));
			return tls_fail(e, ERR_PROTO, "TLS handshake");
		}
		c->done = true;
	}
	if (c->pending.len > 0) {
		size_t off = 0;

		while (off < c->pending.len) {
			size_t w = 0;

			ERR_clear_error();
			if (SSL_write_ex(c->ssl, c->pending.data + off,
			    c->pending.len - off, &w) != 1) {
				c->failed = true;
				return tls_fail(e, ERR_PROTO, "TLS write");
			}
			off += w;
		}
		explicit_bzero(c->pending.data, c->pending.len);
		buf_reset(&c->pending);
	}
	return 0;
}

struct tls_conn *
tls_conn_new(struct tls_ctx *ctx, const char *server_name)
{
	struct tls_conn *c = xcalloc(1, sizeof(*c));

	c->ssl = SSL_new(ctx->ssl_ctx);
	c->rbio = BIO_new(BIO_s_mem());
	c->wbio = BIO_new(BIO_s_mem());
	if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL)
		abort();
	/* An empty memory BIO means "try again", not end of file. */
	BIO_set_mem_eof_return(c->rbio, -1);
	BIO_set_mem_eof_return(c->wbio, -1);
	SSL_set_bio(c->ssl, c->rbio, c->wbio);
	c->server = ctx->server;
	c->verify = ctx->verify;
	buf_init(&c->pending, 16u * 1024 * 1024);
	if (ctx->server) {
		SSL_set_accept_state(c->ssl);
	} else {
		SSL_set_connect_state(c->ssl);
		if (server_name != NULL && server_name[0] != '\0') {
			SSL_set_tlsext_host_name(c->ssl, server_name);
			SSL_set_hostflags(c->ssl,
			    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			SSL_set1_host(c->ssl, server_name);
		}
		(void)advance(c, NULL); /* queues the ClientHello */
	}
	return c;
}

void
tls_conn_free(struct tls_conn **cp)
{
	struct tls_conn *c;

	if (cp == NULL || *cp == NULL)
		return;
	c = *cp;
	SSL_free(c->ssl); /* frees both BIOs */
	buf_release_cleanse(&c->pending);
	free(c);
	*cp = NULL;
}

int
tls_conn_feed(struct tls_conn *c, const uint8_t *p, size_t n, struct err *e)
{
	if (c->failed)
		return err_set(e, ERR_PROTO, "TLS connection failed earlier");
	while (n > 0) {
		int chunk = n > 1 << 20 ? 1 << 20 : (int)n;
		int w = BIO_write(c->rbio, p, chunk);

		if (w <= 0) {
			c->failed = true;
			return err_set(e, ERR_INTERNAL, "TLS: BIO_write failed");
		}
		p += w;
		n -= (size_t)w;
	}
	return advance(c, e);
}

int
tls_conn_read(struct tls_conn *c, struct buf *plain, struct err *e)
{
	int got = 0;

	if (advance(c, e) != 0)
		return -1;
	if (!c->done)
		return 0;
	while (plain->len < plain->max) {
		size_t room = plain->max - plain->len, n = 0;
		int r, se;

		if (room > 16384)
			room = 16384;
		if (buf_reserve(plain, room) != 0)
			break;
		ERR_clear_error();
		r = SSL_read_ex(c->ssl, plain->data + plain->len, room, &n);
		if (r == 1) {
			plain->len += n;
			plain->data[plain->len] = '\0';
			got = 1;
			continue;
		}
		se = SSL_get_error(c->ssl, r);
		if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE)
			break;
		if (se == SSL_ERROR_ZERO_RETURN) {
			c->peer_closed = true;
			break;
		}
		c->failed = true;
		return tls_fail(e, ERR_PROTO, "TLS read");
	}
	return got;
}

int
tls_conn_write(struct tls_conn *c, const uint8_t *p, size_t n, struct err *e)
{
	if (c->failed || c->shut)
		return err_set(e, ERR_PROTO, "TLS connection not writable");
	if (buf_append(&c->pending, p, n) != 0)
		return err_set(e, ERR_TEMP, "TLS: too much output held");
	if (!c->done)
		return 0;
	return advance(c, e);
}

long
tls_conn_take_output(struct tls_conn *c, struct buf *out)
{
	long total = 0;

	for (;;) {
		size_t pending = BIO_ctrl_pending(c->wbio), room;
		int r;

		if (pending == 0)
			return total;
		room = out->max - out->len;
		if (room == 0)
			return -1;
		if (pending > room)
			pending = room;
		if (pending > 1 << 20)
			pending = 1 << 20;
		if (buf_reserve(out, pending) != 0)
			return -1;
		r = BIO_read(c->wbio, out->data + out->len, (int)pending);
		if (r <= 0)
			return total;
		out->len += (size_t)r;
		out->data[out->len] = '\0';
		total += r;
	}
}

int
tls_conn_shutdown(struct tls_conn *c, struct err *e)
{
	if (c->failed)
		return err_set(e, ERR_PROTO, "TLS connection failed earlier");
	if (!c->done)
		return err_set(e, ERR_PROTO, "TLS handshake not done");
	c->shut = true;
	ERR_clear_error();
	if (SSL_shutdown(c->ssl) < 0) {
		int se = SSL_get_error(c->ssl, -1);

		if (se != SSL_ERROR_WANT_READ && se != SSL_ERROR_WANT_WRITE)
			return tls_fail(e, ERR_PROTO, "TLS shutdown");
	}
	return 0;
}

bool
tls_conn_handshake_done(const struct tls_conn *c)
{
	return c->done;
}

bool
tls_conn_peer_closed(const struct tls_conn *c)
{
	return c->peer_closed;
}

bool
tls_conn_peer_verified(const struct tls_conn *c)
{
	X509 *peer;
	bool ok;

	if (!c->done)
		return false;
	peer = SSL_get1_peer_certificate(c->ssl);
	ok = peer != NULL && SSL_get_verify_result(c->ssl) == X509_V_OK;
	X509_free(peer);
	return ok;
}

const char *
tls_conn_version(const struct tls_conn *c)
{
	return c->done ? SSL_get_version(c->ssl) : "";
}

const char *
tls_conn_cipher(const struct tls_conn *c)
{
	return c->done ? SSL_get_cipher_name(c->ssl) : "";
}
