#include "adt/mllp_client.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "adt/mllp.h"
#include "core/buf.h"
#include "core/xmalloc.h"

struct mllp_req {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t connect;
	uv_write_t write;
	struct buf out;
	struct mllp_framer *fr;
	mllp_client_done_fn *done;
	void *arg;
	int handles;
	int connect_rc;     /* uv_tcp_connect failed at once */
	bool finished;
	char rbuf[16384];
};

static void
req_closed(uv_handle_t *h)
{
	struct mllp_req *r = h->data;

	if (--r->handles > 0)
		return;
	buf_release(&r->out);
	mllp_framer_free(&r->fr);
	free(r);
}

/* Answers once, then closes both handles. */
static void
req_finish(struct mllp_req *r, int status, const uint8_t *ack, size_t n,
    const struct err *e)
{
	if (r->finished)
		return;
	r->finished = true;
	r->done(r->arg, status, ack, n, e);
	uv_close((uv_handle_t *)&r->timer, req_closed);
	uv_close((uv_handle_t *)&r->tcp, req_closed);
}

static void
req_fail(struct mllp_req *r, enum err_kind kind, const char *what, int rc)
{
	struct err e;

	err_set(&e, kind, "%s%s%s", what, rc ? ": " : "",
	    rc ? uv_strerror(rc) : "");
	req_finish(r, -1, NULL, 0, &e);
}

static void
timeout_cb(uv_timer_t *t)
{
	struct mllp_req *r = t->data;

	if (r->connect_rc != 0)
		req_fail(r, ERR_TEMP, "MLLP: connect", r->connect_rc);
	else
		req_fail(r, ERR_TEMP, "MLLP: no acknowledgement in time", 0);
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct mllp_req *r = h->data;

	(void)suggested;
	*b = uv_buf_init(r->rbuf, sizeof(r->rbuf));
}

static void
read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	struct mllp_req *r = st->data;
	const uint8_t *p = (const uint8_t *)b->base;
	size_t left;

	if (r->finished)
		return;
	if (nread < 0) {
		req_fail(r, ERR_TEMP, nread == UV_EOF ?
		    "MLLP: connection closed before the acknowledgement" :
		    "MLLP: read", nread == UV_EOF ? 0 : (int)nread);
		return;
	}
	left = (size_t)nread;
	while (left > 0 && !r->finished) {
		struct err e = {0};
		size_t used, fn;
		const uint8_t *f;
		int rc = mllp_framer_feed(r->fr, p, left, &used, &e);

		if (rc < 0) {
			req_finish(r, -1, NULL, 0, &e);
			return;
		}
		p += used;
		left -= used;
		if (rc == 0)
			break;
		f = mllp_framer_frame(r->fr, &fn);
		if (mllp_is_commit_ack(f, fn) == 0) {
			req_fail(r, ERR_TEMP, "MLLP: commit NAK", 0);
			return;
		}
		if (mllp_is_commit_ack(f, fn) == 1)
			continue;
		req_finish(r, 0, f, fn, NULL);
	}
}

static void
write_cb(uv_write_t *w, int status)
{
	struct mllp_req *r = w->data;

	if (status != 0)
		req_fail(r, ERR_TEMP, "MLLP: send", status);
}

static void
connect_cb(uv_connect_t *c, int status)
{
	struct mllp_req *r = c->data;
	uv_buf_t b;
	int rc;

	if (r->finished)
		return;
	if (status != 0) {
		req_fail(r, ERR_TEMP, "MLLP: connect", status);
		return;
	}
	b = uv_buf_init((char *)r->out.data, (unsigned)r->out.len);
	r->write.data = r;
	if ((rc = uv_write(&r->write, (uv_stream_t *)&r->tcp, &b, 1,
	    write_cb)) != 0 ||
	    (rc = uv_read_start((uv_stream_t *)&r->tcp, alloc_cb,
	    read_cb)) != 0)
		req_fail(r, ERR_TEMP, "MLLP: send", rc);
}

int
mllp_client_send(struct loop *l, const char *host, int port, const void *msg,
    size_t n, uint64_t timeout_ms, size_t max_frame,
    mllp_client_done_fn *done, void *arg, struct err *e)
{
	struct sockaddr_storage ss;
	struct mllp_req *r;
	int rc;

	memset(&ss, 0, sizeof(ss));
	if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
	    uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0)
		return err_set(e, ERR_CONFIG, "MLLP: '%s' is not a numeric "
		    "address", host);
	r = xcalloc(1, sizeof(*r));
	r->done = done;
	r->arg = arg;
	r->fr = mllp_framer_new(max_frame);
	buf_init(&r->out, BUF_UNLIMITED);
	(void)mllp_wrap(&r->out, msg, n);
	uv_tcp_init(loop_uv(l), &r->tcp);
	r->tcp.data = r;
	uv_timer_init(loop_uv(l), &r->timer);
	r->timer.data = r;
	r->handles = 2;
	r->connect.data = r;
	uv_timer_start(&r->timer, timeout_cb, timeout_ms, 0);
	rc = uv_tcp_connect(&r->connect, &r->tcp, (struct sockaddr *)&ss,
	    connect_cb);
	if (rc != 0) {
		/* Answer from the loop, never inside this call. */
		r->connect_rc = rc;
		uv_timer_stop(&r->timer);
		uv_timer_start(&r->timer, timeout_cb, 0, 0);
	}
	return 0;
}
