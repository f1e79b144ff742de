#include "hisp/conn.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/buf.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "hisp/tls.h"

#define CONN_READ_SIZE 65536

struct conn {
	struct loop *loop;
	uv_tcp_t tcp;
	uv_connect_t creq;
	const struct conn_ops *ops;
	void *arg;
	struct tls_conn *tls;
	bool tls_server;
	bool tls_reported;
	char tls_desc[96];
	struct buf plain;
	bool paused, reading, closing, connected;
	bool close_after_drain;
	size_t pending;
	char peer[64];
	uint16_t port;
	char reason[160];
};

struct conn_write_req {
	uv_write_t req;
	struct conn *c;
	size_t len;
	char data[];
};

static void conn_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

static void
conn_close_cb(uv_handle_t *h)
{
	struct conn *c = h->data;

	if (c->ops->on_close != NULL)
		c->ops->on_close(c->arg, c->reason[0] ? c->reason : "closed");
	tls_conn_free(&c->tls);
	buf_release(&c->plain);
	free(c);
}

static void
conn_really_close(struct conn *c)
{
	if (uv_is_closing((uv_handle_t *)&c->tcp))
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->tcp, conn_close_cb);
}

void
conn_abort(struct conn *c, const char *reason)
{
	if (c->reason[0] == '\0' && reason != NULL)
		str_lcpy(c->reason, reason, sizeof(c->reason));
	conn_really_close(c);
}

static void
conn_write_cb(uv_write_t *req, int status)
{
	struct conn_write_req *w = (struct conn_write_req *)req;
	struct conn *c = w->c;

	c->pending -= w->len;
	free(w);
	if (status != 0 && status != UV_ECANCELED) {
		conn_abort(c, uv_strerror(status));
		return;
	}
	if (c->pending == 0) {
		if (c->close_after_drain)
			conn_really_close(c);
		else if (!c->closing && c->ops->on_drain != NULL)
			c->ops->on_drain(c->arg);
	}
}

/* Writes raw bytes to the socket. */
static void
conn_raw_write(struct conn *c, const uint8_t *p, size_t n)
{
	struct conn_write_req *w;
	uv_buf_t b;
	int rc;

	if (n == 0 || c->closing)
		return;
	w = xmalloc(sizeof(*w) + n);
	memcpy(w->data, p, n);
	w->len = n;
	w->c = c;
	b = uv_buf_init(w->data, (unsigned)n);
	c->pending += n;
	rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, conn_write_cb);
	if (rc != 0) {
		c->pending -= n;
		free(w);
		conn_abort(c, uv_strerror(rc));
	}
}

static void
conn_tls_flush(struct conn *c)
{
	struct buf out;

	buf_init(&out, BUF_UNLIMITED);
	tls_conn_take_output(c->tls, &out);
	conn_raw_write(c, out.data, out.len);
	buf_release(&out);
}

void
conn_write(struct conn *c, const uint8_t *p, size_t n)
{
	struct err e;

	if (c->closing || n == 0)
		return;
	if (c->tls == NULL) {
		conn_raw_write(c, p, n);
		return;
	}
	if (tls_conn_write(c->tls, p, n, &e) != 0) {
		conn_abort(c, e.msg);
		return;
	}
	conn_tls_flush(c);
}

static void
conn_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	(void)h;
	(void)hint;
	b->base = xmalloc(CONN_READ_SIZE);
	b->len = CONN_READ_SIZE;
}

static void
conn_start_reading(struct conn *c)
{
	if (c->reading || c->paused || c->closing)
		return;
	if (uv_read_start((uv_stream_t *)&c->tcp, conn_alloc_cb,
	    conn_read_cb) == 0)
		c->reading = true;
}

static void
conn_stop_reading(struct conn *c)
{
	if (!c->reading)
		return;
	uv_read_stop((uv_stream_t *)&c->tcp);
	c->reading = false;
}

/* Ciphertext in: advance TLS, report the handshake, hand plaintext up. */
static void
conn_tls_input(struct conn *c, const uint8_t *p, size_t n)
{
	struct err e;
	int rc;

	if (tls_conn_feed(c->tls, p, n, &e) != 0) {
		conn_tls_flush(c); /* an alert, if any */
		if (!c->tls_reported && c->ops->on_tls != NULL) {
			c->tls_reported = true;
			c->ops->on_tls(c->arg, false);
		}
		conn_abort(c, e.msg);
		return;
	}
	conn_tls_flush(c);
	if (!c->tls_reported && tls_conn_handshake_done(c->tls)) {
		c->tls_reported = true;
		str_fmt(c->tls_desc, sizeof(c->tls_desc), "%s/%s",
		    tls_conn_version(c->tls), tls_conn_cipher(c->tls));
		if (c->ops->on_tls != NULL)
			c->ops->on_tls(c->arg, true);
		if (c->closing)
			return;
	}
	for (;;) {
		buf_reset(&c->plain);
		rc = tls_conn_read(c->tls, &c->plain, &e);
		if (rc < 0) {
			conn_abort(c, e.msg);
			return;
		}
		if (rc == 0)
			break;
		c->ops->on_data(c->arg, c->plain.data, c->plain.len);
		if (c->closing)
			return;
	}
	if (tls_conn_peer_closed(c->tls))
		conn_abort(c, "eof");
}

static void
conn_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct conn *c = s->data;

	if (n < 0) {
		free(b->base);
		conn_abort(c, n == UV_EOF ? "eof" : uv_strerror((int)n));
		return;
	}
	if (n > 0 && !c->closing) {
		if (c->tls != NULL)
			conn_tls_input(c, (const uint8_t *)b->base, (size_t)n);
		else
			c->ops->on_data(c->arg, (const uint8_t *)b->base,
			    (size_t)n);
	}
	free(b->base);
}

static void
conn_fill_peer(struct conn *c)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	str_lcpy(c->peer, "unknown", sizeof(c->peer));
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, c->peer, sizeof(c->peer));
		c->port = ntohs(sin->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		char a[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		str_fmt(c->peer, sizeof(c->peer), "[%s]", a);
		c->port = ntohs(sin6->sin6_port);
	}
}

static void
conn_free_quiet_cb(uv_handle_t *h)
{
	struct conn *c = h->data;

	buf_release(&c->plain);
	free(c);
}

static struct conn *
conn_alloc(struct loop *l, const struct conn_ops *ops, void *arg)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->loop = l;
	c->ops = ops;
	c->arg = arg;
	buf_init(&c->plain, CONN_READ_SIZE * 4);
	uv_tcp_init(loop_uv(l), &c->tcp);
	c->tcp.data = c;
	return c;
}

struct conn *
conn_accept(struct loop *l, struct uv_stream_s *server,
    const struct conn_ops *ops, void *arg)
{
	struct conn *c = conn_alloc(l, ops, arg);

	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		/* Nothing to report to the owner: free quietly. */
		uv_close((uv_handle_t *)&c->tcp, conn_free_quiet_cb);
		return NULL;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	c->connected = true;
	conn_fill_peer(c);
	conn_start_reading(c);
	return c;
}

static void
conn_connect_cb(uv_connect_t *req, int status)
{
	struct conn *c = req->data;

	if (status != 0) {
		if (status != UV_ECANCELED && c->ops->on_connect != NULL)
			c->ops->on_connect(c->arg, false, uv_strerror(status));
		conn_abort(c, uv_strerror(status));
		return;
	}
	c->connected = true;
	uv_tcp_nodelay(&c->tcp, 1);
	conn_fill_peer(c);
	if (c->ops->on_connect != NULL)
		c->ops->on_connect(c->arg, true, NULL);
	if (!c->closing)
		conn_start_reading(c);
}

struct conn *
conn_connect(struct loop *l, const struct sockaddr *addr,
    const struct conn_ops *ops, void *arg, struct err *e)
{
	struct conn *c = conn_alloc(l, ops, arg);
	int rc;

	c->creq.data = c;
	rc = uv_tcp_connect(&c->creq, &c->tcp, addr, conn_connect_cb);
	if (rc != 0) {
		err_set(e, ERR_TEMP, "connect: %s", uv_strerror(rc));
		uv_close((uv_handle_t *)&c->tcp, conn_free_quiet_cb);
		return NULL;
	}
	return c;
}

void
conn_start_tls(struct conn *c, struct tls_ctx *ctx, bool server,
    const char *sni)
{
	if (c->tls != NULL || c->closing)
		return;
	c->tls = tls_conn_new(ctx, server ? NULL : sni);
	c->tls_server = server;
	conn_tls_flush(c); /* a client's ClientHello */
}

const char *
conn_tls_desc(const struct conn *c)
{
	return c->tls_desc;
}

void
conn_pause(struct conn *c)
{
	c->paused = true;
	conn_stop_reading(c);
}

void
conn_resume(struct conn *c)
{
	c->paused = false;
	if (c->connected)
		conn_start_reading(c);
}

void
conn_close(struct conn *c)
{
	struct err e;

	if (c->closing || c->close_after_drain)
		return;
	if (c->tls != NULL && tls_conn_handshake_done(c->tls) &&
	    tls_conn_shutdown(c->tls, &e) == 0)
		conn_tls_flush(c);
	conn_stop_reading(c);
	if (c->pending == 0)
		conn_really_close(c);
	else
		c->close_after_drain = true;
}

const char *
conn_peer(const struct conn *c)
{
	return c->peer;
}

uint16_t
conn_peer_port(const struct conn *c)
{
	return c->port;
}

size_t
conn_pending(const struct conn *c)
{
	return c->pending;
}
