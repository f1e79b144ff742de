#include "adt/mllp_server.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "adt/adt_config.h"
#include "adt/intake.h"
#include "adt/mllp.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"

#define READ_CHUNK 65536
/* Reading pauses while more ACK writes than this are queued (a peer that
 * does not read its ACKs). */
#define MAX_PENDING_WRITES 8

struct conn;

struct mllp_server {
	struct loop *loop;
	uv_tcp_t listener;
	bool listening;
	bool stopping;
	struct intake *intake;
	struct mllp_server_opts o;
	char *host;
	int port;
	struct conn *conns;
	unsigned nconns;
	uint64_t next_id;
};

struct conn {
	uv_tcp_t tcp;
	uv_timer_t timer;   /* idle (between frames), stalled writes */
	uv_timer_t ftimer;  /* frame_timeout: a started frame must complete */
	struct mllp_server *srv;
	struct conn *next;
	struct conn *prev;
	struct mllp_framer *fr;
	struct buf pending;
	char peer[64];
	char ip[48];        /* peer without the port: per-IP limit */
	char idstr[24];
	uint64_t id;
	int handles;        /* open libuv handles */
	bool in_flight;     /* a message is with the intake */
	bool in_submit;     /* inside intake_submit (done may run now) */
	bool reading;
	bool closing;
	bool shutting;      /* EOF or stop: close once writes are done */
	bool quiet;         /* refused: no close line */
	bool frame_timing;  /* ftimer runs */
	bool head_checked;  /* the discarded frame's head can be answered */
	unsigned writes;    /* queued writes */
	uint64_t wprogress; /* loop ms: last write done, or the first queued */
	uint64_t messages;
	char rbuf[READ_CHUNK];
};

struct wreq {
	uv_write_t req;
	struct conn *c;
	struct buf data;
};

static void conn_process(struct conn *c);
static void server_maybe_free(struct mllp_server *s);

static void
conn_maybe_free(struct conn *c)
{
	struct mllp_server *s = c->srv;

	if (c->handles > 0 || c->in_flight || c->writes > 0)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	mllp_framer_free(&c->fr);
	buf_release(&c->pending);
	free(c);
	server_maybe_free(s);
}

static void
conn_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;

	c->handles--;
	conn_maybe_free(c);
}

static void
conn_close(struct conn *c, const char *why)
{
	if (c->closing)
		return;
	c->closing = true;
	if (!c->quiet)
		log_info(c->idstr, "event=mllp_close peer=%s reason=%s "
		    "messages=%llu ignored_bytes=%llu", c->peer, why,
		    (unsigned long long)c->messages,
		    (unsigned long long)mllp_framer_ignored(c->fr));
	/* At a forced shutdown the loop may have closed them already (then
	 * the connection leaks rather than touching a closed handle). */
	if (!uv_is_closing((uv_handle_t *)&c->timer))
		uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
	if (!uv_is_closing((uv_handle_t *)&c->ftimer))
		uv_close((uv_handle_t *)&c->ftimer, conn_handle_closed);
	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
}

/* Closes once nothing is in flight and every write has gone out. */
static void
conn_close_when_idle(struct conn *c, const char *why)
{
	c->shutting = true;
	if (!c->in_flight && c->writes == 0)
		conn_close(c, why);
}

static void
write_cb(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct conn *c = w->c;

	buf_release(&w->data);
	free(w);
	c->writes--;
	if (status != 0 && !c->closing) {
		conn_close(c, "write_error");
		return;
	}
	if (c->closing) {
		conn_maybe_free(c);
		return;
	}
	c->wprogress = loop_now_ms(c->srv->loop);
	if (c->shutting) {
		conn_close_when_idle(c, c->srv->stopping ? "stopping" : "eof");
		return;
	}
	if (!c->in_flight && !c->reading && c->writes < MAX_PENDING_WRITES)
		conn_process(c); /* the peer reads again: resume */
}

static void
conn_write(struct conn *c, struct buf *data)
{
	struct wreq *w = xcalloc(1, sizeof(*w));
	uv_buf_t b;
	int rc;

	w->c = c;
	w->data = *data;
	memset(data, 0, sizeof(*data));
	b = uv_buf_init((char *)w->data.data, (unsigned)w->data.len);
	if (c->writes == 0)
		c->wprogress = loop_now_ms(c->srv->loop);
	c->writes++;
	rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, write_cb);
	if (rc != 0) {
		c->writes--;
		buf_release(&w->data);
		free(w);
		conn_close(c, "write_error");
	}
}

static void
intake_done(void *arg, const struct intake_result *r)
{
	struct conn *c = arg;
	struct buf out;

	c->in_flight = false;
	if (r->stored > 0 && c->srv->o.stored != NULL)
		c->srv->o.stored(c->srv->o.stored_arg);
	if (!c->closing && uv_is_closing((uv_handle_t *)&c->tcp))
		c->closing = true; /* closed by the loop at a forced stop */
	if (c->closing) {
		conn_maybe_free(c);
		return;
	}
	buf_init(&out, BUF_UNLIMITED);
	if (c->srv->o.commit_ack)
		(void)mllp_commit_ack(&out, r->outcome != ACK_AR);
	if (r->send)
		(void)mllp_wrap(&out, r->ack, r->ack_len);
	if (out.len > 0)
		conn_write(c, &out);
	buf_release(&out);
	if (c->closing)
		return;
	uv_timer_again(&c->timer); /* idle counts from the answer */
	if (c->shutting) {
		conn_close_when_idle(c, c->srv->stopping ? "stopping" : "eof");
		return;
	}
	if (!c->in_submit)
		conn_process(c);
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct conn *c = h->data;

	(void)suggested;
	*b = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *b);

static void
conn_set_reading(struct conn *c, bool on)
{
	if (c->closing || on == c->reading)
		return;
	if (on)
		(void)uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
	else
		(void)uv_read_stop((uv_stream_t *)&c->tcp);
	c->reading = on;
}

/* The rejection of an oversized frame from its head into out: 1 built, 0
 * nothing to send, -1 the head has no readable MSH. */
static int
conn_too_large_ack(struct conn *c, const uint8_t *head, size_t n,
    uint64_t size, struct buf *out)
{
	struct mllp_server *s = c->srv;
	struct ack_opts ao;
	struct err e = {0};
	char ts[INTAKE_ACK_TS_MAX], cid[INTAKE_ACK_CID_MAX];

	intake_ack_opts(s->intake, clock_wall_ms(), ts, cid, &ao);
	return ack_build_too_large(head, n, size, s->o.max_frame,
	    s->o.ack_mode, &ao, out, &e);
}

/* A frame over max_frame was read to its end: answer it from its head
 * (AR/CR + ERR) and go on with the next frame, or close when the head has
 * no readable MSH. 0, or -1 when the connection is closing. */
static int
conn_reject_too_large(struct conn *c, const uint8_t *head, size_t n,
    uint64_t size)
{
	struct buf out, ack;
	int rc;

	buf_init(&ack, BUF_UNLIMITED);
	rc = conn_too_large_ack(c, head, n, size, &ack);
	log_warn(c->idstr, "event=mllp_frame_rejected peer=%s reason=too_large "
	    "size=%llu max_frame=%zu%s", c->peer, (unsigned long long)size,
	    c->srv->o.max_frame, rc < 0 ? " msh=unreadable" : "");
	if (rc < 0) {
		buf_release(&ack);
		conn_close(c, "frame_too_large");
		return -1;
	}
	buf_init(&out, BUF_UNLIMITED);
	if (c->srv->o.commit_ack)
		(void)mllp_commit_ack(&out, false);
	if (rc > 0)
		(void)mllp_wrap(&out, ack.data, ack.len);
	buf_release(&ack);
	if (out.len > 0)
		conn_write(c, &out);
	buf_release(&out);
	return c->closing ? -1 : 0;
}

static void
frame_cb(uv_timer_t *t)
{
	struct conn *c = t->data;

	c->frame_timing = false;
	if (c->closing || !mllp_framer_partial(c->fr))
		return;
	log_warn(c->idstr, "event=mllp_frame_timeout peer=%s "
	    "frame_timeout_ms=%llu", c->peer,
	    (unsigned long long)c->srv->o.frame_ms);
	conn_close(c, "frame_timeout");
}

/* After a feed: the frame timer runs while a frame is partial. */
static void
conn_frame_timer(struct conn *c)
{
	bool partial = mllp_framer_partial(c->fr);

	if (c->srv->o.frame_ms == 0 || partial == c->frame_timing)
		return;
	if (partial)
		uv_timer_start(&c->ftimer, frame_cb, c->srv->o.frame_ms, 0);
	else
		uv_timer_stop(&c->ftimer);
	c->frame_timing = partial;
}

/* Frames what is pending and hands complete frames to the intake, one at a
 * time. Pauses while the peer leaves too many ACKs unread. */
static void
conn_process(struct conn *c)
{
	while (!c->in_flight && !c->closing && c->pending.len > 0 &&
	    c->writes < MAX_PENDING_WRITES) {
		struct err e = {0};
		size_t used = 0, n;
		const uint8_t *frame;
		uint64_t ignored = mllp_framer_ignored(c->fr), size;
		int rc = mllp_framer_feed(c->fr, c->pending.data,
		    c->pending.len, &used, &e);

		if (rc < 0) {
			/* not in discard mode: cannot happen */
			log_error(c->idstr, "event=mllp_frame_rejected peer=%s "
			    "reason=\"%s\" max_frame=%zu", c->peer, e.msg,
			    c->srv->o.max_frame);
			conn_close(c, "frame_too_large");
			return;
		}
		buf_consume(&c->pending, used);
		/* Frame bytes are activity; noise outside frames is not. */
		if (used > mllp_framer_ignored(c->fr) - ignored)
			uv_timer_again(&c->timer);
		conn_frame_timer(c);
		if (rc == 0) {
			const uint8_t *head;

			head = mllp_framer_discarding(c->fr, &n);
			if (head == NULL) {
				c->head_checked = false;
			} else if (!c->head_checked) {
				/* Give up at once on a head that cannot be
				 * answered rather than read it all. */
				struct buf tmp;
				int hrc;

				buf_init(&tmp, BUF_UNLIMITED);
				hrc = conn_too_large_ack(c, head, n, n, &tmp);
				buf_release(&tmp);
				if (hrc < 0) {
					(void)conn_reject_too_large(c, head, n,
					    n);
					return;
				}
				c->head_checked = true;
			}
			break;
		}
		c->head_checked = false;
		frame = mllp_framer_frame(c->fr, &n);
		if (mllp_framer_oversized(c->fr, &size)) {
			if (conn_reject_too_large(c, frame, n, size) != 0)
				return;
			continue;
		}
		if (mllp_is_commit_ack(frame, n) >= 0)
			continue; /* a peer's release 2 commit ack: nothing to do */
		c->messages++;
		c->in_flight = true;
		c->in_submit = true;
		intake_submit(c->srv->intake, frame, n, "mllp", c->peer,
		    clock_wall_ms(), intake_done, c);
		c->in_submit = false;
	}
	if (!c->closing)
		conn_set_reading(c, !c->in_flight && !c->shutting &&
		    c->writes < MAX_PENDING_WRITES);
}

static void
read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	struct conn *c = st->data;

	if (c->closing)
		return;
	if (nread < 0) {
		conn_set_reading(c, false);
		if (nread == UV_EOF) {
			if (mllp_framer_partial(c->fr))
				log_warn(c->idstr, "event=mllp_partial_frame "
				    "peer=%s", c->peer);
			conn_close_when_idle(c, "eof");
		} else {
			conn_close(c, "read_error");
		}
		return;
	}
	if (nread == 0)
		return;
	if (buf_append(&c->pending, b->base, (size_t)nread) != 0) {
		conn_close(c, "input_overflow");
		return;
	}
	conn_process(c);
}

static void
idle_cb(uv_timer_t *t)
{
	struct conn *c = t->data;

	if (c->in_flight)
		return; /* the timer repeats */
	if (c->writes > 0) {
		/* The peer does not read its ACKs. */
		if (loop_now_ms(c->srv->loop) - c->wprogress <
		    c->srv->o.idle_ms)
			return;
		log_warn(c->idstr, "event=mllp_write_stalled peer=%s "
		    "pending_writes=%u", c->peer, c->writes);
		conn_close(c, "write_stalled");
		return;
	}
	if (c->frame_timing)
		return; /* frame_timeout governs a started frame */
	log_info(c->idstr, "event=mllp_idle_timeout peer=%s", c->peer);
	conn_close(c, "idle");
}

/* The peer as ip:port into dst and the address alone into ip_dst. */
static void
peer_name(uv_tcp_t *t, char *dst, size_t size, char *ip_dst,
    size_t ip_size)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	char ip[64];

	str_lcpy(dst, "unknown", size);
	str_lcpy(ip_dst, "unknown", ip_size);
	if (uv_tcp_getpeername(t, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		uv_ip4_name(a, ip, sizeof(ip));
		str_fmt(dst, size, "%s:%u", ip, ntohs(a->sin_port));
		str_lcpy(ip_dst, ip, ip_size);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		uv_ip6_name(a, ip, sizeof(ip));
		str_fmt(dst, size, "[%s]:%u", ip, ntohs(a->sin6_port));
		str_lcpy(ip_dst, ip, ip_size);
	}
}

/* Whether the new connection c is past [mllp] max_connections_per_ip
 * (the other open connections from its address; 0: no limit). */
static bool
server_over_ip_limit(const struct mllp_server *s, const struct conn *c)
{
	unsigned same = 0;

	if (s->o.max_per_ip == 0)
		return false;
	for (const struct conn *o = s->conns; o != NULL; o = o->next)
		if (o != c && !o->closing && strcmp(o->ip, c->ip) == 0)
			same++;
	return same >= s->o.max_per_ip;
}

static void
reject_closed(uv_handle_t *h)
{
	free(h);
}

static void
accept_cb(uv_stream_t *ls, int status)
{
	struct mllp_server *s = ls->data;
	struct conn *c;

	if (status != 0 || s->stopping)
		return;
	if (s->nconns >= s->o.max_conns) {
		uv_tcp_t *t = xcalloc(1, sizeof(*t));

		uv_tcp_init(loop_uv(s->loop), t);
		if (uv_accept(ls, (uv_stream_t *)t) == 0)
			log_warn(NULL, "event=mllp_refused reason=max_connections "
			    "max=%u", s->o.max_conns);
		uv_close((uv_handle_t *)t, reject_closed);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->srv = s;
	c->id = ++s->next_id;
	str_fmt(c->idstr, sizeof(c->idstr), "M%llu", (unsigned long long)c->id);
	c->fr = mllp_framer_new(s->o.max_frame);
	mllp_framer_set_discard(c->fr, true);
	buf_init(&c->pending, s->o.max_frame + 2 * READ_CHUNK);
	uv_tcp_init(loop_uv(s->loop), &c->tcp);
	c->tcp.data = c;
	c->handles++;
	uv_timer_init(loop_uv(s->loop), &c->timer);
	c->timer.data = c;
	c->handles++;
	uv_timer_init(loop_uv(s->loop), &c->ftimer);
	c->ftimer.data = c;
	c->handles++;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0) {
		conn_close(c, "accept_error");
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	peer_name(&c->tcp, c->peer, sizeof(c->peer), c->ip, sizeof(c->ip));
	if (server_over_ip_limit(s, c)) {
		/* Other hospitals keep their slots: one line, close now. */
		log_warn(NULL, "event=mllp_refused reason=per_ip_limit peer=%s "
		    "max=%u", c->ip, s->o.max_per_ip);
		c->quiet = true;
		conn_close(c, "per_ip_limit");
		return;
	}
	log_info(c->idstr, "event=mllp_connect peer=%s", c->peer);
	uv_timer_start(&c->timer, idle_cb, s->o.idle_ms, s->o.idle_ms);
	conn_set_reading(c, true);
}

static void
server_maybe_free(struct mllp_server *s)
{
	if (!s->stopping || s->listening || s->nconns > 0)
		return;
	log_info(NULL, "event=mllp_stopped");
	intake_free(&s->intake);
	free(s->host);
	free(s);
}

static void
listener_closed(uv_handle_t *h)
{
	struct mllp_server *s = h->data;

	s->listening = false;
	server_maybe_free(s);
}

static void
server_stop(void *arg)
{
	struct mllp_server *s = arg;

	s->stopping = true;
	uv_close((uv_handle_t *)&s->listener, listener_closed);
	for (struct conn *c = s->conns, *next; c != NULL; c = next) {
		next = c->next;
		conn_set_reading(c, false);
		conn_close_when_idle(c, "stopping");
	}
}

int
mllp_server_new(struct loop *l, struct store_writer *w,
    const struct mllp_server_opts *o, struct mllp_server **s_r,
    struct err *e)
{
	struct mllp_server *s;
	struct sockaddr_storage ss;
	struct intake_opts io = {0};
	int rc, len;

	if (s_r)
		*s_r = NULL;
	memset(&ss, 0, sizeof(ss));
	if (uv_ip4_addr(o->host, o->port, (struct sockaddr_in *)&ss) != 0 &&
	    uv_ip6_addr(o->host, o->port, (struct sockaddr_in6 *)&ss) != 0)
		return err_set(e, ERR_CONFIG, "[mllp] listen: '%s' is not a "
		    "numeric address", o->host);
	s = xcalloc(1, sizeof(*s));
	s->loop = l;
	s->o = *o;
	s->host = xstrdup(o->host);
	s->o.host = s->host;
	s->o.ack_app = NULL;
	s->o.ack_facility = NULL;
	io.writer = w;
	io.loop = l;
	io.ack_mode = o->ack_mode;
	io.ack_app = o->ack_app;
	io.ack_facility = o->ack_facility;
	io.max_msg = o->max_frame;
	s->intake = intake_new(&io);
	uv_tcp_init(loop_uv(l), &s->listener);
	s->listener.data = s;
	if ((rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)&s->listener, 128,
	    accept_cb)) != 0) {
		err_set(e, ERR_TEMP, "MLLP listen on %s:%d: %s", o->host,
		    o->port, uv_strerror(rc));
		/* The handle is closed by the loop; the server leaks nothing
		 * but itself until then. */
		s->stopping = true;
		s->listening = true;
		uv_close((uv_handle_t *)&s->listener, listener_closed);
		return -1;
	}
	s->listening = true;
	len = sizeof(ss);
	s->port = o->port;
	if (uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len) ==
	    0)
		s->port = ntohs(ss.ss_family == AF_INET ?
		    ((struct sockaddr_in *)&ss)->sin_port :
		    ((struct sockaddr_in6 *)&ss)->sin6_port);
	loop_on_stop(l, server_stop, s);
	log_info(NULL, "event=mllp_listen addr=%s port=%d max_frame=%zu "
	    "idle_ms=%llu frame_ms=%llu max_conns=%u max_per_ip=%u "
	    "ack_mode=%d commit_ack=%s", s->host, s->port, o->max_frame,
	    (unsigned long long)o->idle_ms, (unsigned long long)o->frame_ms,
	    o->max_conns, o->max_per_ip, (int)o->ack_mode,
	    o->commit_ack ? "yes" : "no");
	if (s_r)
		*s_r = s;
	return 0;
}

int
mllp_server_port(const struct mllp_server *s)
{
	return s->port;
}

int
mllp_server_start(struct loop *l, struct store_writer *w,
    const struct config *cfg, void (*stored)(void *arg), void *stored_arg,
    struct err *e)
{
	struct mllp_server_opts o;
	const char *listen = config_str(cfg, "mllp", "listen");
	char host[256];

	if (adt_config_check(cfg, e) != 0)
		return -1;
	if (listen[0] == '\0') {
		log_info(NULL, "event=mllp_disabled");
		return 0;
	}
	memset(&o, 0, sizeof(o));
	if (adt_config_split_hostport(listen, host, sizeof(host), &o.port) != 0)
		return err_set(e, ERR_CONFIG, "[mllp] listen: bad address");
	o.host = host;
	o.max_frame = (size_t)config_int(cfg, "mllp", "max_frame");
	o.idle_ms = (uint64_t)config_int(cfg, "mllp", "idle_timeout");
	o.frame_ms = (uint64_t)config_int(cfg, "mllp", "frame_timeout");
	o.max_conns = (unsigned)config_int(cfg, "mllp", "max_connections");
	o.max_per_ip = (unsigned)config_int(cfg, "mllp",
	    "max_connections_per_ip");
	(void)ack_mode_parse(config_str(cfg, "mllp", "ack_mode"), &o.ack_mode);
	o.commit_ack = config_bool(cfg, "mllp", "commit_ack");
	o.ack_app = config_str(cfg, "adt", "ack_application");
	o.ack_facility = config_str(cfg, "adt", "ack_facility");
	o.stored = stored;
	o.stored_arg = stored_arg;
	return mllp_server_new(l, w, &o, NULL, e);
}
