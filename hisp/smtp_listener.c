#include "hisp/smtp_listener.h"
#include "hisp/smtp_listener_private.h"

#include <assert.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <uv.h>

#include "certs/domain.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "hisp/address.h"
#include "hisp/conn.h"
#include "hisp/smtp_server.h"

#define LISTENER_MAX_ADDRS 8
/* Replies waiting for a peer that does not read: past this much, its
 * input is held (and reading paused) until they drain. */
#define LISTENER_OUT_MAX (256 * 1024)
/* How long a RCPT lookup on the loop thread waits for a lock. */
#define LISTENER_BUSY_MS 100
/* Held input handed to the session at a time. */
#define LISTENER_FEED_MAX (64 * 1024)

struct session;

struct smtp_listener {
	struct smtp_listener_params p;
	char *listen;
	char *hostname;
	char *db_path;
	struct smtp_server_params sp;
	uv_tcp_t servers[LISTENER_MAX_ADDRS];
	int ports[LISTENER_MAX_ADDRS];
	size_t nservers;
	struct store *store;   /* the loop thread's read connection */
	struct session *sessions;
	unsigned nsessions;
	unsigned nlive;        /* connected sessions, refused ones not counted */
	unsigned max_sessions; /* [smtp] max_sessions */
	unsigned max_per_ip;   /* [smtp] max_sessions_per_ip; 0: no limit */
	struct smtp_listener_budget budget; /* [smtp] max_buffered */
	unsigned auth_running; /* password checks under way */
	unsigned auth_max;     /* [smtp] auth_max_concurrent */
	uint64_t auth_delay_ms; /* [smtp] auth_failure_delay */
	bool stopping;
	unsigned closed_servers;
};

struct session {
	struct smtp_listener *l;
	struct session *next, *prev;
	char id[17];
	struct conn *conn;
	struct smtp_server *smtp;
	uv_timer_t timer;
	struct buf held;       /* input the session did not take yet */
	struct smtp_listener_msg msg; /* the message being received */
	unsigned busy;         /* asynchronous answers pending */
	bool conn_closed;
	bool timer_closed;
	bool decision;         /* a decision is pending */
	bool refused;          /* over a session limit: 421, then closed */
	bool auth_delayed;     /* a failed AUTH's 535 waits on the timer */
	unsigned messages;
};

static void session_pump(struct session *s);

static bool
session_out_full(const struct session *s)
{
	return s->conn != NULL && conn_pending(s->conn) > LISTENER_OUT_MAX;
}

static void
session_id(char id[17])
{
	uint8_t r[8];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		memset(r, 0, sizeof(r));
	str_hex(id, r, sizeof(r));
}

/* A session keeps this much of its message buffer's memory between
 * messages; a larger buffer is freed. */
#define LISTENER_MSG_KEEP (256 * 1024)

void
smtp_listener_msg_init(struct smtp_listener_msg *m, size_t max,
    struct smtp_listener_budget *budget)
{
	buf_init(&m->data, max);
	m->overflow = false;
	m->starved = false;
	m->budget = budget;
}

bool
smtp_listener_budget_spent(const struct smtp_listener_budget *b)
{
	return b != NULL && b->max > 0 && b->used >= b->max;
}

/* Gives the message's bytes back to the budget and empties it, keeping a
 * small buffer for the next one. A message that will be refused drops
 * them at once (keep false), not when the client is done sending. */
static void
smtp_listener_msg_empty(struct smtp_listener_msg *m, bool keep)
{
	if (m->budget != NULL) {
		assert(m->budget->used >= m->data.len);
		m->budget->used -= m->data.len;
	}
	if (keep && m->data.cap <= LISTENER_MSG_KEEP)
		buf_reset(&m->data);
	else
		buf_release(&m->data);
}

void
smtp_listener_msg_reset(struct smtp_listener_msg *m)
{
	smtp_listener_msg_empty(m, true);
	m->overflow = false;
	m->starved = false;
}

void
smtp_listener_msg_release(struct smtp_listener_msg *m)
{
	smtp_listener_msg_reset(m);
	buf_release(&m->data);
}

int
smtp_listener_msg_append(struct smtp_listener_msg *m, const void *p,
    size_t n)
{
	struct smtp_listener_budget *b = m->budget;

	if (m->overflow || m->starved)
		return 0;
	assert(b == NULL || b->max == 0 || b->used <= b->max);
	if (b != NULL && b->max > 0 && n > b->max - b->used) {
		m->starved = true;
		smtp_listener_msg_empty(m, false);
		return -1;
	}
	if (buf_append(&m->data, p, n) == 0) {
		if (b != NULL)
			b->used += n;
		return 0;
	}
	m->overflow = true;
	smtp_listener_msg_empty(m, false);
	return -1;
}

int
smtp_listener_msg_end(struct smtp_listener_msg *m, const char **enh_r,
    const char **text_r)
{
	int code = 0;

	if (m->overflow) {
		*enh_r = "5.3.4";
		*text_r = "Error: message exceeds fixed maximum message size";
		code = 552;
	} else if (m->starved) {
		*enh_r = "4.3.1";
		*text_r = "Insufficient system storage, try again later";
		code = 452;
	}
	if (code != 0)
		smtp_listener_msg_reset(m);
	return code;
}

static void
session_unlink(struct session *s)
{
	struct smtp_listener *l = s->l;

	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		l->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	l->nsessions--;
}

static void
session_maybe_free(struct session *s)
{
	if (!s->conn_closed || !s->timer_closed || s->busy > 0)
		return;
	session_unlink(s);
	smtp_server_free(&s->smtp);
	buf_release(&s->held);
	smtp_listener_msg_release(&s->msg);
	free(s);
}

static void
session_timer_closed(uv_handle_t *h)
{
	struct session *s = h->data;

	s->timer_closed = true;
	session_maybe_free(s);
}

static void
session_flush(struct session *s)
{
	const uint8_t *p;
	size_t n;

	if (s->conn == NULL)
		return;
	p = smtp_server_output(s->smtp, &n);
	if (n > 0) {
		conn_write(s->conn, p, n);
		smtp_server_consume(s->smtp, n);
	}
}

static void
session_timeout_cb(uv_timer_t *t)
{
	struct session *s = t->data;

	log_info(s->id, "event=timeout");
	smtp_server_expire(s->smtp);
	session_pump(s);
}

static void
session_rearm(struct session *s)
{
	int64_t ms;

	if (s->conn == NULL || s->auth_delayed)
		return;
	ms = smtp_server_timeout_ms(s->smtp);
	if (ms < 0)
		uv_timer_stop(&s->timer);
	else
		uv_timer_start(&s->timer, session_timeout_cb, (uint64_t)ms, 0);
}

static void
session_answer(struct session *s, int code, const char *enh,
    const char *text)
{
	s->decision = false;
	if (code == 421)
		smtp_server_close_421(s->smtp, text);
	else if (code == 0)
		smtp_server_accept(s->smtp, text);
	else
		smtp_server_reject(s->smtp, code, enh, text);
	/* At shutdown a session ends once its pending answer is out. */
	if (s->l->stopping && s->busy == 0 && !smtp_server_closed(s->smtp))
		smtp_server_close_421(s->smtp, NULL);
	session_pump(s);
}

/* Is rcpt acceptable? 0 yes; else the reply code with enh and text. */
static int
session_check_rcpt(struct session *s, const char *rcpt, const char **enh,
    const char **text)
{
	struct smtp_listener *l = s->l;
	const char *dom = strrchr(rcpt, '@');
	struct err e;
	int rc;

	if (dom == NULL || !address_valid(rcpt)) {
		*enh = "5.1.3";
		*text = "Bad recipient address syntax";
		return 501;
	}
	rc = domain_exists(l->store, dom + 1, &e);
	if (rc < 0)
		goto temp;
	if (rc == 0) {
		if (l->p.kind == HISP_LISTENER_SUBMISSION &&
		    smtp_server_get0_auth_user(s->smtp) != NULL)
			return 0; /* an authenticated edge client may send out */
		*enh = "5.7.1";
		*text = "Relay access denied";
		return 554;
	}
	rc = address_lookup(l->store, rcpt, NULL, &e);
	if (rc < 0)
		goto temp;
	if (rc == 0) {
		*enh = "5.1.1";
		*text = "Recipient address rejected: User unknown";
		return 550;
	}
	return 0;
temp:
	log_error(s->id, "event=store_error reason=\"%s\"", e.msg);
	*enh = "4.3.0";
	*text = "Temporary lookup failure";
	return 451;
}

struct auth_job {
	struct session *s;
	char *user;
	char *password;
	int result;
};

static void
auth_work(void *arg)
{
	struct auth_job *j = arg;
	struct store *st;
	struct err e;

	j->result = -1;
	if (store_open(j->s->l->db_path, STORE_READONLY, &st, &e) != 0)
		return;
	j->result = address_verify(st, j->user, j->password, &e);
	store_free(&st);
}

/* A failed AUTH is answered after [smtp] auth_failure_delay (a guessing
 * client gets a few tries a minute per session; others are served). */
static void
session_auth_delay_cb(uv_timer_t *t)
{
	struct session *s = t->data;

	s->auth_delayed = false;
	session_answer(s, 535, "5.7.8", "Authentication credentials invalid");
}

static void
auth_after(void *arg, bool cancelled)
{
	struct auth_job *j = arg;
	struct session *s = j->s;

	s->busy--;
	s->l->auth_running--;
	if (!s->conn_closed) {
		if (cancelled || j->result < 0) {
			session_answer(s, 454, "4.7.0",
			    "Temporary authentication failure");
		} else if (j->result == 1) {
			log_info(s->id, "event=auth user=<%s>", j->user);
			session_answer(s, 0, NULL, NULL);
		} else {
			log_warn(s->id, "event=auth_failed user=<%s> client=%s",
			    j->user, conn_peer(s->conn));
			if (s->l->auth_delay_ms > 0 && !s->l->stopping) {
				s->auth_delayed = true;
				uv_timer_start(&s->timer, session_auth_delay_cb,
				    s->l->auth_delay_ms, 0);
			} else {
				session_answer(s, 535, "5.7.8",
				    "Authentication credentials invalid");
			}
		}
	}
	explicit_bzero(j->password, strlen(j->password));
	free(j->password);
	free(j->user);
	free(j);
	session_maybe_free(s);
}

struct commit {
	struct session *s;
	size_t size;
	unsigned nrcpt;
};

static void
commit_done(void *arg, int status, const char *id, const struct err *e)
{
	struct commit *c = arg;
	struct session *s = c->s;

	s->busy--;
	/* The writer's copy is stored or dropped: its bytes are free. */
	assert(s->l->budget.used >= c->size);
	s->l->budget.used -= c->size;
	if (status == 0) {
		char text[64];

		log_info(id, "event=queued session=%s from=<%s> nrcpt=%u"
		    " size=%zu client=%s", s->id,
		    smtp_server_get0_sender(s->smtp), c->nrcpt, c->size,
		    s->conn != NULL ? conn_peer(s->conn) : "-");
		queue_runner_kick(s->l->p.runner);
		str_fmt(text, sizeof(text), "Ok: queued as %s", id);
		if (!s->conn_closed)
			session_answer(s, 0, NULL, text);
	} else {
		log_error(s->id, "event=queue_failed reason=\"%s\"",
		    e != NULL ? e->msg : "");
		if (!s->conn_closed)
			session_answer(s, 451, "4.3.0",
			    "Error: queue file write error");
	}
	free(c);
	session_maybe_free(s);
}

static void
session_commit(struct session *s)
{
	struct smtp_listener *l = s->l;
	size_t n = smtp_server_rcpt_count(s->smtp);
	const char **rcpts = xcalloc(n + 1, sizeof(*rcpts));
	struct queue_envelope env = {0};
	struct commit *c = xcalloc(1, sizeof(*c));

	for (size_t i = 0; i < n; i++)
		rcpts[i] = smtp_server_get0_rcpt(s->smtp, i);
	env.direction = l->p.kind == HISP_LISTENER_MX ? QUEUE_IN : QUEUE_OUT;
	env.mail_from = smtp_server_get0_sender(s->smtp);
	env.rcpts = rcpts;
	env.nrcpt = n;
	env.auth_user = smtp_server_get0_auth_user(s->smtp);
	env.client = s->conn != NULL ? conn_peer(s->conn) : NULL;
	c->s = s;
	c->size = s->msg.data.len;
	c->nrcpt = (unsigned)n;
	s->busy++;
	s->messages++;
	queue_submit(l->p.writer, &env, s->msg.data.data, s->msg.data.len,
	    l->p.expire_s, commit_done, c);
	/* The budget counts the writer's copy until it is stored. */
	smtp_listener_msg_reset(&s->msg);
	l->budget.used += c->size;
	free(rcpts);
}

static void
session_event(struct session *s, const struct smtp_server_event *ev)
{
	struct smtp_listener *l = s->l;
	const char *enh = NULL, *text = NULL;
	int code;

	switch (ev->type) {
	case SMTP_SERVER_EV_HELO:
		break;
	case SMTP_SERVER_EV_STARTTLS:
		session_flush(s);
		conn_start_tls(s->conn, l->p.tls, true, NULL);
		break;
	case SMTP_SERVER_EV_AUTH: {
		struct auth_job *j;

		s->decision = true;
		if (l->auth_running >= l->auth_max) {
			/* Password checks are costly by design: a flood of
			 * them must not hold the worker pool. */
			log_warn(s->id, "event=auth_refused reason=busy "
			    "running=%u max=%u client=%s", l->auth_running,
			    l->auth_max, conn_peer(s->conn));
			session_answer(s, 454, "4.7.0",
			    "Temporary authentication failure");
			break;
		}
		j = xcalloc(1, sizeof(*j));
		j->s = s;
		j->user = xstrdup(ev->authcid);
		j->password = xstrdup(ev->password);
		s->busy++;
		l->auth_running++;
		if (loop_work(l->p.loop, auth_work, auth_after, j) != 0) {
			s->busy--;
			l->auth_running--;
			explicit_bzero(j->password, strlen(j->password));
			free(j->password);
			free(j->user);
			free(j);
			session_answer(s, 454, "4.7.0",
			    "Temporary authentication failure");
		}
		break;
	}
	case SMTP_SERVER_EV_MAIL: {
		const char *user = smtp_server_get0_auth_user(s->smtp);

		s->decision = true;
		if (l->stopping) {
			session_answer(s, 421, "4.3.2", NULL);
			break;
		}
		/* An edge client sends as itself only. */
		if (l->p.kind == HISP_LISTENER_SUBMISSION && user != NULL &&
		    strcasecmp(ev->arg, user) != 0) {
			session_answer(s, 553, "5.7.1",
			    "Sender address rejected: not owned by user");
			break;
		}
		session_answer(s, 0, NULL, NULL);
		break;
	}
	case SMTP_SERVER_EV_RCPT:
		s->decision = true;
		code = session_check_rcpt(s, ev->arg, &enh, &text);
		session_answer(s, code, enh, code ? text : NULL);
		break;
	case SMTP_SERVER_EV_DATA:
		s->decision = true;
		smtp_listener_msg_reset(&s->msg);
		if (smtp_listener_budget_spent(&l->budget)) {
			log_warn(s->id, "event=data_refused reason=max_buffered "
			    "buffered=%zu max=%zu", l->budget.used,
			    l->budget.max);
			session_answer(s, 452, "4.3.1",
			    "Insufficient system storage, try again later");
			break;
		}
		session_answer(s, 0, NULL, NULL);
		break;
	case SMTP_SERVER_EV_DATA_CHUNK:
		if (smtp_listener_msg_append(&s->msg, ev->data, ev->len) != 0)
			log_warn(s->id, "event=message_buffer_full size=%zu "
			    "reason=%s", s->msg.data.len, s->msg.starved ?
			    "max_buffered" : "max_message_size");
		break;
	case SMTP_SERVER_EV_DATA_END:
		s->decision = true;
		code = smtp_listener_msg_end(&s->msg, &enh, &text);
		if (code != 0)
			session_answer(s, code, enh, text);
		else
			session_commit(s);
		break;
	case SMTP_SERVER_EV_ABORT:
		smtp_listener_msg_reset(&s->msg);
		break;
	default:
		break;
	}
}

static void
session_feed_held(struct session *s)
{
	while (s->held.len > 0 && !s->decision && s->conn != NULL &&
	    !session_out_full(s)) {
		size_t took = smtp_server_receive(s->smtp, s->held.data,
		    s->held.len < LISTENER_FEED_MAX ? s->held.len :
		    LISTENER_FEED_MAX);

		buf_consume(&s->held, took);
		if (took == 0)
			break;
		session_pump(s);
	}
	if (s->held.len == 0 && s->conn != NULL)
		conn_resume(s->conn);
}

static void
session_pump(struct session *s)
{
	struct smtp_server_event ev;
	int rc;

	if (s->conn == NULL)
		return;
	while (!s->decision &&
	    (rc = smtp_server_next_event(s->smtp, &ev)) == 1) {
		session_event(s, &ev);
		if (s->conn == NULL)
			return;
	}
	session_flush(s);
	session_rearm(s);
	if (smtp_server_closed(s->smtp)) {
		uv_timer_stop(&s->timer);
		conn_close(s->conn);
		return;
	}
	if (!s->decision && s->held.len > 0)
		session_feed_held(s);
}

static void
on_data(void *arg, const uint8_t *p, size_t n)
{
	struct session *s = arg;
	size_t took;

	if (s->refused)
		return;
	if (s->held.len > 0 || s->decision || session_out_full(s)) {
		if (buf_append(&s->held, p, n) != 0) {
			conn_abort(s->conn, "input overflow");
			return;
		}
		conn_pause(s->conn);
		return;
	}
	took = smtp_server_receive(s->smtp, p, n);
	if (took < n) {
		if (buf_append(&s->held, p + took, n - took) != 0) {
			conn_abort(s->conn, "input overflow");
			return;
		}
		conn_pause(s->conn);
	}
	session_pump(s);
}

static void
on_tls(void *arg, bool ok)
{
	struct session *s = arg;

	if (!ok) {
		log_info(s->id, "event=tls_failed");
		return;
	}
	log_info(s->id, "event=starttls tls=%s", conn_tls_desc(s->conn));
	smtp_server_tls_started(s->smtp);
	session_pump(s);
}

static void
on_close(void *arg, const char *reason)
{
	struct session *s = arg;

	if (!s->refused) {
		s->l->nlive--;
		log_info(s->id, "event=disconnect reason=%s messages=%u"
		    " errors=%u", reason, s->messages,
		    smtp_server_error_count(s->smtp));
	}
	/* An open transaction ends without a message. */
	smtp_server_disconnected(s->smtp);
	s->conn = NULL;
	s->conn_closed = true;
	uv_timer_stop(&s->timer);
	uv_close((uv_handle_t *)&s->timer, session_timer_closed);
}

/* The replies drained: take the input held back meanwhile. */
static void
on_drain(void *arg)
{
	struct session *s = arg;

	if (!s->decision && s->held.len > 0)
		session_feed_held(s);
}

static const struct conn_ops session_ops = {
	.on_data = on_data,
	.on_tls = on_tls,
	.on_drain = on_drain,
	.on_close = on_close,
};

/* Would one more session from peer pass the limits? NULL yes; else the
 * limit it would break, with the sessions open under it in *n_r and the
 * limit in *max_r. The new session is not in the list yet. */
static const char *
listener_over_limit(const struct smtp_listener *l, const char *peer,
    unsigned *n_r, unsigned *max_r)
{
	unsigned same = 0;

	if (l->nlive >= l->max_sessions) {
		*n_r = l->nlive;
		*max_r = l->max_sessions;
		return "max_sessions";
	}
	if (l->max_per_ip == 0)
		return NULL;
	for (const struct session *o = l->sessions; o != NULL; o = o->next)
		if (o->conn != NULL && !o->refused &&
		    strcmp(conn_peer(o->conn), peer) == 0)
			same++;
	if (same >= l->max_per_ip) {
		*n_r = same;
		*max_r = l->max_per_ip;
		return "max_sessions_per_ip";
	}
	return NULL;
}

/* Over a limit: one reply and close, without a greeting; the sessions
 * already open are served on. One log line. */
static void
session_refuse(struct session *s, const char *limit, unsigned n,
    unsigned max)
{
	static const char reply[] =
	    "421 4.7.0 too many connections, try again later\r\n";
	size_t greeting;

	s->refused = true;
	(void)smtp_server_output(s->smtp, &greeting);
	smtp_server_consume(s->smtp, greeting);
	smtp_server_disconnected(s->smtp);
	log_warn(s->id, "event=session_refused reason=%s client=%s port=%s"
	    " sessions=%u max=%u", limit, conn_peer(s->conn),
	    s->l->p.kind == HISP_LISTENER_MX ? "mx" : "submission", n, max);
	conn_write(s->conn, (const uint8_t *)reply, sizeof(reply) - 1);
	conn_close(s->conn);
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct smtp_listener *l = server->data;
	struct session *s;
	const char *over;
	unsigned n = 0, max = 0;

	if (status != 0 || l->stopping)
		return;
	s = xcalloc(1, sizeof(*s));
	s->l = l;
	session_id(s->id);
	buf_init(&s->held, 1024 * 1024);
	smtp_listener_msg_init(&s->msg, l->sp.max_message_size + 1024 * 1024,
	    &l->budget);
	s->conn = conn_accept(l->p.loop, server, &session_ops, s);
	if (s->conn == NULL) {
		buf_release(&s->held);
		smtp_listener_msg_release(&s->msg);
		free(s);
		return;
	}
	uv_timer_init(loop_uv(l->p.loop), &s->timer);
	s->timer.data = s;
	s->smtp = smtp_server_new(&l->sp);
	over = listener_over_limit(l, conn_peer(s->conn), &n, &max);
	s->next = l->sessions;
	if (l->sessions != NULL)
		l->sessions->prev = s;
	l->sessions = s;
	l->nsessions++;
	if (over != NULL) {
		session_refuse(s, over, n, max);
		return;
	}
	l->nlive++;
	log_info(s->id, "event=connect client=%s port=%s",
	    conn_peer(s->conn), l->p.kind == HISP_LISTENER_MX ? "mx" :
	    "submission");
	session_pump(s);
}

static void
listener_stop(void *arg)
{
	struct smtp_listener *l = arg;

	l->stopping = true;
	for (size_t i = 0; i < l->nservers; i++)
		uv_close((uv_handle_t *)&l->servers[i], NULL);
	/* Sessions waiting for an answer get it first; the others end now. */
	for (struct session *s = l->sessions; s != NULL; s = s->next) {
		if (s->conn == NULL || s->busy > 0)
			continue;
		smtp_server_close_421(s->smtp, NULL);
		session_pump(s);
	}
}

int
smtp_listener_start(const struct smtp_listener_params *p,
    struct smtp_listener **l_r, struct err *e)
{
	struct smtp_listener *l = xcalloc(1, sizeof(*l));
	char host[256];
	int port, rc;

	*l_r = NULL;
	l->p = *p;
	l->listen = xstrdup(p->listen != NULL ? p->listen : "");
	l->hostname = xstrdup(p->hostname);
	l->db_path = xstrdup(p->db_path);
	l->p.listen = l->listen;
	l->p.hostname = l->hostname;
	l->p.db_path = l->db_path;
	if (hisp_config_server_params(p->cfg, p->kind, p->tls != NULL,
	    l->hostname, &l->sp, e) != 0)
		goto fail;
	l->max_sessions = (unsigned)config_int(p->cfg, "smtp", "max_sessions");
	l->max_per_ip = (unsigned)config_int(p->cfg, "smtp",
	    "max_sessions_per_ip");
	l->budget.max = (size_t)config_int(p->cfg, "smtp", "max_buffered");
	l->auth_max = (unsigned)config_int(p->cfg, "smtp",
	    "auth_max_concurrent");
	l->auth_delay_ms = (uint64_t)config_int(p->cfg, "smtp",
	    "auth_failure_delay");
	if (store_open(l->db_path, STORE_READONLY, &l->store, e) != 0)
		goto fail;
	/* Looked up on the loop thread (RCPT): a lock costs a 451, not a
	 * stall of every session. */
	store_set_busy_timeout(l->store, LISTENER_BUSY_MS);
	for (size_t i = 0; l->nservers < LISTENER_MAX_ADDRS; i++) {
		struct sockaddr_storage ss;
		uv_tcp_t *t = &l->servers[l->nservers];
		int len = sizeof(ss);

		rc = hisp_config_listen_addr(l->listen, i, host, sizeof(host),
		    &port, e);
		if (rc < 0)
			goto fail;
		if (rc == 0)
			break;
		if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
		    uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0) {
			err_set(e, ERR_CONFIG, "listen: '%s' is not an IP "
			    "address", host);
			goto fail;
		}
		uv_tcp_init(loop_uv(p->loop), t);
		t->data = l;
		l->nservers++;
		if ((rc = uv_tcp_bind(t, (struct sockaddr *)&ss, 0)) != 0 ||
		    (rc = uv_listen((uv_stream_t *)t, 128,
		    on_connection)) != 0) {
			err_set(e, ERR_CONFIG, "listen on %s:%d: %s", host, port,
			    uv_strerror(rc));
			goto fail;
		}
		uv_tcp_getsockname(t, (struct sockaddr *)&ss, &len);
		l->ports[l->nservers - 1] = ss.ss_family == AF_INET6 ?
		    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
		    ntohs(((struct sockaddr_in *)&ss)->sin_port);
		log_info(NULL, "event=listening service=%s addr=%s port=%d",
		    p->kind == HISP_LISTENER_MX ? "smtp" : "submission", host,
		    l->ports[l->nservers - 1]);
	}
	loop_on_stop(p->loop, listener_stop, l);
	*l_r = l;
	return 0;
fail:
	for (size_t i = 0; i < l->nservers; i++)
		uv_close((uv_handle_t *)&l->servers[i], NULL);
	l->nservers = 0;
	l->stopping = true;
	/* The handles close on the next loop turn; keep the memory. */
	*l_r = l;
	return -1;
}

void
smtp_listener_free(struct smtp_listener **lp)
{
	struct smtp_listener *l;

	if (lp == NULL || (l = *lp) == NULL)
		return;
	store_free(&l->store);
	free(l->listen);
	free(l->hostname);
	free(l->db_path);
	free(l);
	*lp = NULL;
}
