#include "hisp/smtp_sender.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "hisp/conn.h"

#define SENDER_CHUNK 65536

struct sender {
	struct loop *loop;
	struct sockaddr_storage *addrs;
	size_t naddrs, idx;
	char *server_name;
	char **names;    /* NULL or naddrs host names */
	char *log_id;
	struct smtp_client_params params;
	char **rcpts;
	char *helo, *mail_from, *auth_user, *auth_password;
	const uint8_t *msg;
	size_t len, sent;
	struct tls_ctx *tls;
	struct conn *conn;
	struct smtp_client *client;
	uv_timer_t timer;
	bool body;       /* the client wants the message */
	bool finished;   /* DONE seen */
	char relay[320];
	char last_error[200];
	smtp_sender_done_fn *done;
	void *arg;
	struct sender *next, *prev; /* in flight */
	bool stopping;
};

/* Senders in flight (loop thread only), so that a stopping daemon ends
 * them now, their recipients deferred, instead of waiting out a stalled
 * peer until the grace period forces the loop down (leaking them). */
static struct sender *senders;
static struct loop *senders_hooked;

static void
senders_stop(void *arg)
{
	struct loop *l = arg;

	for (struct sender *s = senders; s != NULL; s = s->next) {
		/* Once the message is on its way, the answer to it is
		 * awaited: cutting in now could leave it delivered there and
		 * deferred here (sent twice after the restart). */
		if (s->loop != l || s->body || s->sent > 0)
			continue;
		s->stopping = true;
		str_lcpy(s->last_error, "shutting down", sizeof(s->last_error));
		if (s->conn != NULL)
			conn_abort(s->conn, "shutting down");
	}
	if (senders_hooked == l)
		senders_hooked = NULL;
}

static void sender_try(struct sender *s);
static void sender_pump(struct sender *s);

/* The host name of the address being tried (NULL if none is known). */
static const char *
sender_host(const struct sender *s)
{
	if (s->names != NULL && s->idx < s->naddrs && s->names[s->idx][0])
		return s->names[s->idx];
	return s->server_name;
}

static void
sender_timer_closed(uv_handle_t *h)
{
	struct sender *s = h->data;

	for (size_t i = 0; i < s->params.nrcpt; i++)
		free(s->rcpts[i]);
	free(s->rcpts);
	free(s->helo);
	free(s->mail_from);
	free(s->auth_user);
	if (s->auth_password != NULL) {
		explicit_bzero(s->auth_password, strlen(s->auth_password));
		free(s->auth_password);
	}
	free(s->addrs);
	if (s->names != NULL)
		for (size_t i = 0; i < s->naddrs; i++)
			free(s->names[i]);
	free(s->names);
	free(s->server_name);
	free(s->log_id);
	free(s);
}

static void
sender_finish(struct sender *s)
{
	struct smtp_client_result *res;
	size_t n = s->params.nrcpt;

	res = xcalloc(n, sizeof(*res));
	for (size_t i = 0; i < n; i++) {
		const struct smtp_client_result *r = s->client != NULL ?
		    smtp_client_rcpt_result(s->client, i) : NULL;

		if (r != NULL && r->status != SMTP_CLIENT_PENDING) {
			res[i] = *r;
		} else {
			res[i].status = SMTP_CLIENT_TEMP;
			str_lcpy(res[i].text, s->last_error[0] ? s->last_error :
			    "connection failed", sizeof(res[i].text));
		}
	}
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		senders = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->done(s->arg, res, n, s->relay);
	free(res);
	smtp_client_free(&s->client);
	uv_timer_stop(&s->timer);
	uv_close((uv_handle_t *)&s->timer, sender_timer_closed);
}

static void
sender_flush(struct sender *s)
{
	const uint8_t *p;
	size_t n;

	if (s->client == NULL || s->conn == NULL)
		return;
	p = smtp_client_output(s->client, &n);
	if (n > 0) {
		conn_write(s->conn, p, n);
		smtp_client_consume(s->client, n);
	}
}

static void
sender_timeout_cb(uv_timer_t *t)
{
	struct sender *s = t->data;

	if (s->client == NULL) {
		str_lcpy(s->last_error, "connect timeout",
		    sizeof(s->last_error));
		if (s->conn != NULL)
			conn_abort(s->conn, "connect timeout");
		return;
	}
	smtp_client_expire(s->client);
	sender_pump(s);
}

static void
sender_rearm(struct sender *s)
{
	int64_t ms;

	if (s->client == NULL)
		return;
	ms = smtp_client_timeout_ms(s->client);
	if (ms < 0)
		uv_timer_stop(&s->timer);
	else
		uv_timer_start(&s->timer, sender_timeout_cb, (uint64_t)ms, 0);
}

/* Feeds the message in pieces, writing as it goes. */
static void
sender_body(struct sender *s)
{
	while (s->body && s->sent < s->len && s->conn != NULL) {
		size_t n = s->len - s->sent;

		if (n > SENDER_CHUNK)
			n = SENDER_CHUNK;
		smtp_client_body(s->client, s->msg + s->sent, n);
		s->sent += n;
		sender_flush(s);
		if (conn_pending(s->conn) > 4 * SENDER_CHUNK)
			return; /* on_drain continues */
	}
	if (s->body && s->sent >= s->len) {
		s->body = false;
		smtp_client_body_end(s->client);
		sender_flush(s);
	}
}

static void
sender_pump(struct sender *s)
{
	struct smtp_client_event ev;
	int rc;

	if (s->client == NULL)
		return;
	while ((rc = smtp_client_next_event(s->client, &ev)) == 1) {
		switch (ev.type) {
		case SMTP_CLIENT_EV_STARTTLS:
			sender_flush(s);
			if (s->tls == NULL) {
				smtp_client_abort(s->client, "no TLS context");
				break;
			}
			conn_start_tls(s->conn, s->tls, false, sender_host(s));
			break;
		case SMTP_CLIENT_EV_BODY:
			s->body = true;
			s->sent = 0;
			sender_body(s);
			break;
		case SMTP_CLIENT_EV_DONE:
			s->finished = true;
			break;
		default:
			break;
		}
	}
	sender_flush(s);
	sender_rearm(s);
	if (rc < 0 && s->conn != NULL)
		conn_close(s->conn);
}

static void
on_connect(void *arg, bool ok, const char *reason)
{
	struct sender *s = arg;

	if (!ok) {
		str_fmt(s->last_error, sizeof(s->last_error), "connect to %s: %s",
		    s->relay, reason);
		return; /* on_close follows and tries the next address */
	}
	s->client = smtp_client_new(&s->params);
	sender_pump(s);
}

static void
on_data(void *arg, const uint8_t *p, size_t n)
{
	struct sender *s = arg;
	size_t off = 0;

	while (off < n && s->client != NULL) {
		size_t took = smtp_client_receive(s->client, p + off, n - off);

		sender_pump(s);
		if (took == 0)
			break;
		off += took;
	}
}

static void
on_tls(void *arg, bool ok)
{
	struct sender *s = arg;

	if (!ok) {
		smtp_client_abort(s->client, "TLS handshake failed");
	} else {
		log_debug(NULL, "event=smtp_tls relay=%s tls=%s", s->relay,
		    conn_tls_desc(s->conn));
		smtp_client_tls_started(s->client);
	}
	sender_pump(s);
}

static void
on_drain(void *arg)
{
	struct sender *s = arg;

	if (s->body)
		sender_body(s);
}

/* The session ended in a temporary failure before the server accepted
 * MAIL FROM: nothing can have been delivered there, so another server
 * may be tried now. */
static bool
sender_session_temp(const struct sender *s)
{
	if (smtp_client_mail_accepted(s->client))
		return false;
	for (size_t i = 0; i < s->params.nrcpt; i++) {
		const struct smtp_client_result *r =
		    smtp_client_rcpt_result(s->client, i);

		if (r != NULL && r->status != SMTP_CLIENT_PENDING &&
		    r->status != SMTP_CLIENT_TEMP)
			return false;
	}
	return true;
}

static void
on_close(void *arg, const char *reason)
{
	struct sender *s = arg;

	s->conn = NULL;
	if (s->client == NULL) {
		/* Never got a session: the next address, if any. */
		if (s->last_error[0] == '\0')
			str_fmt(s->last_error, sizeof(s->last_error), "%s: %s",
			    s->relay, reason);
		if (s->idx + 1 < s->naddrs && !s->stopping) {
			log_info(s->log_id, "event=smtp_next_mx relay=%s"
			    " reply=\"%s\"", s->relay, s->last_error);
			s->idx++;
			s->last_error[0] = '\0';
			sender_try(s);
			return;
		}
		s->idx++;
		sender_finish(s);
		return;
	}
	if (!s->finished) {
		smtp_client_abort(s->client, reason);
		sender_pump(s);
	}
	if (s->idx + 1 < s->naddrs && !s->stopping &&
	    sender_session_temp(s)) {
		const struct smtp_client_result *r =
		    smtp_client_rcpt_result(s->client, 0);

		if (r != NULL && r->code != 0)
			log_info(s->log_id, "event=smtp_next_mx relay=%s"
			    " reply=\"%d %s\"", s->relay, r->code, r->text);
		else
			log_info(s->log_id, "event=smtp_next_mx relay=%s"
			    " reply=\"%s\"", s->relay, r != NULL ? r->text :
			    reason);
		s->idx++;
		s->last_error[0] = '\0';
		sender_try(s);
		return;
	}
	sender_finish(s);
}

static const struct conn_ops sender_ops = {
	.on_data = on_data,
	.on_tls = on_tls,
	.on_connect = on_connect,
	.on_drain = on_drain,
	.on_close = on_close,
};

static void
sender_relay_name(struct sender *s)
{
	const struct sockaddr_storage *a = &s->addrs[s->idx];
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)a;

		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		port = ntohs(sin->sin_port);
	} else if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)a;

		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		port = ntohs(sin6->sin6_port);
	}
	str_fmt(s->relay, sizeof(s->relay), "%s[%s]:%u",
	    sender_host(s) != NULL ? sender_host(s) : ip, ip, port);
}

static void
sender_try(struct sender *s)
{
	struct err e;

	sender_relay_name(s);
	smtp_client_free(&s->client);
	s->finished = false;
	s->body = false;
	/* The greeting timeout also bounds the connect. */
	uv_timer_start(&s->timer, sender_timeout_cb,
	    (uint64_t)(s->params.timeout_greeting_ms > 0 ?
	    s->params.timeout_greeting_ms : 300000), 0);
	s->conn = conn_connect(s->loop, (const struct sockaddr *)&s->addrs[
	    s->idx], &sender_ops, s, &e);
	if (s->conn == NULL) {
		str_lcpy(s->last_error, e.msg, sizeof(s->last_error));
		s->idx++;
		if (s->idx < s->naddrs)
			sender_try(s);
		else
			sender_finish(s);
	}
}

static void
sender_start_cb(uv_timer_t *t)
{
	struct sender *s = t->data;

	if (s->stopping || loop_stopping(s->loop)) {
		str_lcpy(s->last_error, "shutting down", sizeof(s->last_error));
		sender_finish(s);
		return;
	}
	if (s->naddrs == 0) {
		str_lcpy(s->last_error, "no address for the next hop",
		    sizeof(s->last_error));
		sender_finish(s);
		return;
	}
	sender_try(s);
}

void
smtp_sender_start(struct loop *l, const struct smtp_sender_req *req,
    smtp_sender_done_fn *done, void *arg)
{
	struct sender *s = xcalloc(1, sizeof(*s));

	s->loop = l;
	s->naddrs = req->naddrs;
	s->addrs = xcalloc(req->naddrs + 1, sizeof(*s->addrs));
	memcpy(s->addrs, req->addrs, req->naddrs * sizeof(*s->addrs));
	s->server_name = req->server_name != NULL ?
	    xstrdup(req->server_name) : NULL;
	if (req->names != NULL) {
		s->names = xcalloc(req->naddrs + 1, sizeof(*s->names));
		for (size_t i = 0; i < req->naddrs; i++)
			s->names[i] = xstrdup(req->names[i] != NULL ?
			    req->names[i] : "");
	}
	s->log_id = req->log_id != NULL ? xstrdup(req->log_id) : NULL;
	s->params = req->params;
	s->rcpts = xcalloc(req->params.nrcpt + 1, sizeof(*s->rcpts));
	for (size_t i = 0; i < req->params.nrcpt; i++)
		s->rcpts[i] = xstrdup(req->params.rcpts[i]);
	s->params.rcpts = (const char *const *)s->rcpts;
	/* The session is made at connect time: keep copies till then. */
	s->params.helo_name = s->helo = xstrdup(req->params.helo_name != NULL ?
	    req->params.helo_name : "localhost");
	s->params.sender = s->mail_from = xstrdup(req->params.sender != NULL ?
	    req->params.sender : "");
	if (req->params.auth_user != NULL) {
		s->params.auth_user = s->auth_user =
		    xstrdup(req->params.auth_user);
		s->params.auth_password = s->auth_password =
		    xstrdup(req->params.auth_password != NULL ?
		    req->params.auth_password : "");
	}
	s->msg = req->msg;
	s->len = req->len;
	s->tls = req->tls;
	s->done = done;
	s->arg = arg;
	str_lcpy(s->relay, "none", sizeof(s->relay));
	uv_timer_init(loop_uv(l), &s->timer);
	s->timer.data = s;
	s->next = senders;
	if (senders != NULL)
		senders->prev = s;
	senders = s;
	if (senders_hooked != l) {
		loop_on_stop(l, senders_stop, l);
		senders_hooked = l;
	}
	/* Start from the loop, so done never runs inside this call. */
	uv_timer_start(&s->timer, sender_start_cb, 0, 0);
}
