#include "adt/notify_mllp_client.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "adt/adt_config.h"
#include "adt/hl7.h"
#include "adt/mllp.h"
#include "adt/notify_mllp.h"
#include "adt/notify_plan.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"

#define MC_ROUND_MAX 256
#define MC_POLL_MS 1000
#define MC_FRAME_MAX (1u << 20)

struct mc_msg {
	int64_t id, adt;
	int attempts;
	char control_id[200];
	struct buf frame;
	bool tried;
	enum notify_mllp_outcome outcome;
	char code[4];
	const char *why;
};

struct mc_dest {
	struct notify_mllp_client *c;
	char addr[256];
	struct mc_msg *msgs;
	size_t n, cur;
	uv_tcp_t tcp;
	uv_connect_t creq;
	uv_write_t wreq;
	uv_timer_t timer;
	struct mllp_framer *fr;
	int handles;
	bool connected;
	bool waiting;   /* an ACK is expected */
	char rbuf[65536];
};

struct notify_mllp_client {
	struct loop *loop;
	struct store_writer *w;
	char *path;
	struct notify_settings set;
	uv_timer_t poll;
	bool poll_open;
	bool busy, again, stopping;
	struct store *rd;
	struct mc_dest *dests;
	size_t ndests, left;
	struct err err;
	int status;
};

static void mc_dest_next(struct mc_dest *d);
static void mc_round(struct notify_mllp_client *c);

static void
mc_dests_free(struct notify_mllp_client *c)
{
	for (size_t i = 0; i < c->ndests; i++) {
		struct mc_dest *d = &c->dests[i];

		for (size_t j = 0; j < d->n; j++)
			buf_release(&d->msgs[j].frame);
		free(d->msgs);
		mllp_framer_free(&d->fr);
	}
	free(c->dests);
	c->dests = NULL;
	c->ndests = 0;
}

/* Worker: the due rows, grouped by destination. */
static void
mc_read(void *arg)
{
	struct notify_mllp_client *c = arg;
	struct store_stmt *st;
	int rc;

	c->status = 0;
	if (c->rd == NULL && store_open(c->path, STORE_READONLY, &c->rd,
	    &c->err) != 0) {
		c->status = -1;
		return;
	}
	st = store_prepare(c->rd, "SELECT id, adt, recipient, attempts, payload"
	    " FROM notify_sent WHERE kind = 'mllp' AND state = 'pending'"
	    " AND next_try <= ? ORDER BY recipient, id LIMIT ?", &c->err);
	if (st == NULL) {
		c->status = -1;
		return;
	}
	store_bindv(st, "Ii", clock_wall_ms(), MC_ROUND_MAX);
	while ((rc = store_step(st, &c->err)) == 1) {
		const char *rcpt = store_col_text(st, 2);
		struct mc_dest *d = c->ndests > 0 ?
		    &c->dests[c->ndests - 1] : NULL;
		struct mc_msg *m;
		struct hl7_msg *h = NULL;
		const uint8_t *pl, *cid;
		size_t plen, cn;
		struct err pe;

		if (d == NULL || strcmp(d->addr, rcpt) != 0) {
			c->dests = xreallocarray(c->dests, c->ndests + 1,
			    sizeof(*c->dests));
			d = &c->dests[c->ndests++];
			memset(d, 0, sizeof(*d));
			d->c = c;
			str_lcpy(d->addr, rcpt, sizeof(d->addr));
		}
		d->msgs = xreallocarray(d->msgs, d->n + 1, sizeof(*d->msgs));
		m = &d->msgs[d->n++];
		memset(m, 0, sizeof(*m));
		m->id = store_col_int(st, 0);
		m->adt = store_col_int(st, 1);
		m->attempts = (int)store_col_int(st, 3);
		buf_init(&m->frame, BUF_UNLIMITED);
		pl = store_col_blob(st, 4, &plen);
		if (pl != NULL) {
			mllp_wrap(&m->frame, pl, plen);
			if (hl7_parse(pl, plen, &h, &pe) == 0 &&
			    hl7_msg_path(h, "MSH-10", &cid, &cn) == 1)
				str_lcpy(m->control_id, (const char *)cid,
				    cn + 1 < sizeof(m->control_id) ? cn + 1 :
				    sizeof(m->control_id));
			hl7_msg_free(&h);
		}
	}
	store_stmt_done(st);
	if (rc < 0)
		c->status = -1;
}

static int
mc_record_job(struct store *s, void *arg, struct err *e)
{
	struct notify_mllp_client *c = arg;
	int64_t now = clock_wall_ms();

	for (size_t i = 0; i < c->ndests; i++) {
		struct mc_dest *d = &c->dests[i];

		for (size_t j = 0; j < d->n; j++) {
			struct mc_msg *m = &d->msgs[j];
			const char *state;
			int64_t next;
			char step[24], detail[160];

			if (!m->tried)
				continue;
			state = notify_mllp_next(m->outcome, m->attempts + 1,
			    c->set.mllp_retries, c->set.mllp_backoff_ms, now,
			    &next);
			str_fmt(detail, sizeof(detail), "kind=mllp "
			    "notification=%lld outcome=%s code=%s why=%s "
			    "attempt=%d", (long long)m->id,
			    notify_mllp_outcome_name(m->outcome), m->code,
			    m->why != NULL ? m->why : "-", m->attempts + 1);
			/* A final failure is due for a fallback to the
			 * next endpoint (adt/notify_fallback.h). */
			if (store_run(s, e, "UPDATE notify_sent SET state = ?1,"
			    " attempts = attempts + 1, next_try = ?2,"
			    " updated = ?3, reason = ?4,"
			    " fallback = CASE WHEN ?1 = 'failed'"
			    " THEN 'due' ELSE fallback END"
			    " WHERE id = ?5 AND state = 'pending'",
			    "sIIsI", state, next, now, detail, m->id) != 0)
				return -1;
			str_fmt(step, sizeof(step), "mllp_%s", state);
			if (notify_plan_audit(s, m->adt, now, step, NULL,
			    d->addr, detail, e) != 0)
				return -1;
			log_info(m->control_id[0] ? m->control_id : NULL,
			    "event=notify_mllp notification=%lld adt=%lld "
			    "outcome=%s code=%s state=%s attempt=%d",
			    (long long)m->id, (long long)m->adt,
			    notify_mllp_outcome_name(m->outcome), m->code,
			    state, m->attempts + 1);
		}
	}
	return 0;
}

static void
mc_record_done(void *arg, int status, const struct err *e)
{
	struct notify_mllp_client *c = arg;

	if (status != 0)
		log_warn(NULL, "event=notify_mllp_record_failed reason=\"%s\"",
		    e->msg);
	mc_dests_free(c);
	c->busy = false;
	if (c->again && !c->stopping) {
		c->again = false;
		mc_round(c);
	}
}

static void
mc_dest_finish(struct mc_dest *d)
{
	struct notify_mllp_client *c = d->c;

	if (--c->left > 0)
		return;
	store_writer_submit(c->w, mc_record_job, mc_record_done, c);
}

static void
mc_closed(uv_handle_t *h)
{
	struct mc_dest *d = h->data;

	if (--d->handles > 0)
		return;
	d->connected = false;
	mc_dest_next(d);
}

static void
mc_close(struct mc_dest *d)
{
	if (d->handles == 0) {
		mc_dest_next(d);
		return;
	}
	if (!uv_is_closing((uv_handle_t *)&d->timer))
		uv_close((uv_handle_t *)&d->timer, mc_closed);
	if (!uv_is_closing((uv_handle_t *)&d->tcp))
		uv_close((uv_handle_t *)&d->tcp, mc_closed);
}

/* The current message ended with o; move on. */
static void
mc_result(struct mc_dest *d, enum notify_mllp_outcome o, const char *why,
    bool close)
{
	struct mc_msg *m = &d->msgs[d->cur];

	m->tried = true;
	m->outcome = o;
	m->why = why;
	d->waiting = false;
	d->cur++;
	if (d->handles > 0)
		uv_timer_stop(&d->timer);
	if (close || d->cur == d->n || d->c->stopping)
		mc_close(d);
	else
		mc_dest_next(d);
}

static void
mc_timeout(uv_timer_t *t)
{
	struct mc_dest *d = t->data;

	if (d->waiting)
		mc_result(d, NOTIFY_MLLP_RETRY, "timeout", true);
}

static void
mc_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct mc_dest *d = h->data;

	(void)suggested;
	*b = uv_buf_init(d->rbuf, sizeof(d->rbuf));
}

static void
mc_read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	struct mc_dest *d = st->data;
	size_t off = 0;

	if (nread < 0) {
		uv_read_stop(st);
		if (d->waiting)
			mc_result(d, NOTIFY_MLLP_RETRY, "closed", true);
		else
			mc_close(d);
		return;
	}
	while (d->waiting && off < (size_t)nread) {
		size_t used = 0, fn;
		const uint8_t *f;
		struct err e;
		int rc;

		rc = mllp_framer_feed(d->fr, b->base + off, (size_t)nread - off,
		    &used, &e);
		off += used;
		if (rc < 0) {
			mc_result(d, NOTIFY_MLLP_RETRY, "bad_frame", true);
			return;
		}
		if (rc == 0)
			break;
		f = mllp_framer_frame(d->fr, &fn);
		if (mllp_is_commit_ack(f, fn) >= 0)
			continue; /* release 2 commit ACK: the HL7 ACK follows */
		{
			struct mc_msg *m = &d->msgs[d->cur];
			enum notify_mllp_outcome o = notify_mllp_classify(f, fn,
			    m->control_id, m->code);

			mc_result(d, o, o == NOTIFY_MLLP_DELIVERED ? "ack" :
			    "negative_ack", false);
		}
	}
}

static void
mc_written(uv_write_t *req, int status)
{
	struct mc_dest *d = req->data;

	if (status != 0 && d->waiting)
		mc_result(d, NOTIFY_MLLP_RETRY, "write", true);
}

static void
mc_send(struct mc_dest *d)
{
	struct mc_msg *m = &d->msgs[d->cur];
	uv_buf_t b = uv_buf_init((char *)m->frame.data,
	    (unsigned)m->frame.len);

	d->waiting = true;
	d->wreq.data = d;
	uv_timer_start(&d->timer, mc_timeout,
	    (uint64_t)d->c->set.mllp_timeout_ms, 0);
	if (uv_write(&d->wreq, (uv_stream_t *)&d->tcp, &b, 1, mc_written) != 0)
		mc_result(d, NOTIFY_MLLP_RETRY, "write", true);
}

static void
mc_connected(uv_connect_t *req, int status)
{
	struct mc_dest *d = req->data;

	if (status != 0) {
		/* The destination is down: the rest of this round waits. */
		while (d->cur < d->n) {
			d->msgs[d->cur].tried = true;
			d->msgs[d->cur].outcome = NOTIFY_MLLP_RETRY;
			d->msgs[d->cur].why = "connect";
			d->cur++;
		}
		mc_close(d);
		return;
	}
	d->connected = true;
	uv_tcp_nodelay(&d->tcp, 1);
	uv_read_start((uv_stream_t *)&d->tcp, mc_alloc, mc_read_cb);
	mc_send(d);
}

static void
mc_dest_next(struct mc_dest *d)
{
	struct notify_mllp_client *c = d->c;
	struct sockaddr_storage ss;
	char host[128];
	int port;

	if (d->cur >= d->n || c->stopping) {
		if (d->handles > 0) {
			mc_close(d);
			return;
		}
		mc_dest_finish(d);
		return;
	}
	if (d->connected) {
		mc_send(d);
		return;
	}
	if (adt_config_split_hostport(d->addr, host, sizeof(host), &port) !=
	    0) {
		mc_result(d, NOTIFY_MLLP_FAILED, "bad_address", false);
		return;
	}
	if (strcmp(host, "localhost") == 0)
		str_lcpy(host, "127.0.0.1", sizeof(host));
	memset(&ss, 0, sizeof(ss));
	if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
	    uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0) {
		mc_result(d, NOTIFY_MLLP_FAILED, "bad_address", false);
		return;
	}
	mllp_framer_free(&d->fr);
	d->fr = mllp_framer_new(MC_FRAME_MAX);
	uv_tcp_init(loop_uv(c->loop), &d->tcp);
	uv_timer_init(loop_uv(c->loop), &d->timer);
	d->tcp.data = d;
	d->timer.data = d;
	d->handles = 2;
	d->creq.data = d;
	if (uv_tcp_connect(&d->creq, &d->tcp, (struct sockaddr *)&ss,
	    mc_connected) != 0) {
		while (d->cur < d->n) {
			d->msgs[d->cur].tried = true;
			d->msgs[d->cur].outcome = NOTIFY_MLLP_RETRY;
			d->msgs[d->cur].why = "connect";
			d->cur++;
		}
		mc_close(d);
	}
}

static void
mc_after_read(void *arg, bool cancelled)
{
	struct notify_mllp_client *c = arg;

	if (cancelled || c->stopping || c->status != 0 || c->ndests == 0) {
		if (c->status != 0)
			log_warn(NULL, "event=notify_mllp_read_failed "
			    "reason=\"%s\"", c->err.msg);
		mc_dests_free(c);
		c->busy = false;
		return;
	}
	c->left = c->ndests;
	for (size_t i = 0; i < c->ndests; i++)
		mc_dest_next(&c->dests[i]);
}

static void
mc_round(struct notify_mllp_client *c)
{
	if (c->stopping)
		return;
	if (c->busy) {
		c->again = true;
		return;
	}
	c->busy = true;
	if (loop_work(c->loop, mc_read, mc_after_read, c) != 0)
		c->busy = false;
}

static void
mc_poll(uv_timer_t *t)
{
	mc_round(t->data);
}

static void
mc_stop(void *arg)
{
	struct notify_mllp_client *c = arg;

	c->stopping = true;
	if (c->poll_open) {
		uv_close((uv_handle_t *)&c->poll, NULL);
		c->poll_open = false;
	}
	for (size_t i = 0; i < c->ndests && c->left > 0; i++)
		if (c->dests[i].handles > 0)
			mc_close(&c->dests[i]);
}

struct notify_mllp_client *
notify_mllp_client_new(struct loop *l, struct store_writer *w,
    const char *store_path, const struct notify_settings *set)
{
	struct notify_mllp_client *c = xcalloc(1, sizeof(*c));

	c->loop = l;
	c->w = w;
	c->path = xstrdup(store_path);
	c->set = *set;
	uv_timer_init(loop_uv(l), &c->poll);
	c->poll.data = c;
	c->poll_open = true;
	uv_timer_start(&c->poll, mc_poll, MC_POLL_MS, MC_POLL_MS);
	uv_unref((uv_handle_t *)&c->poll);
	loop_on_stop(l, mc_stop, c);
	return c;
}

void
notify_mllp_client_kick(struct notify_mllp_client *c)
{
	if (c != NULL)
		mc_round(c);
}

void
notify_mllp_client_free(struct notify_mllp_client **cp)
{
	struct notify_mllp_client *c;

	if (cp == NULL || (c = *cp) == NULL)
		return;
	mc_dests_free(c);
	store_free(&c->rd);
	free(c->path);
	free(c);
	*cp = NULL;
}
