#include "hisp/smtp_client.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "hisp/smtp_base64.h"

#define IN_MAX (256 * 1024)
#define EVQ_MAX 4

enum cstate {
	CS_GREETING,
	CS_EHLO,
	CS_HELO,
	CS_STARTTLS,
	CS_TLS_WAIT,
	CS_AUTH,
	CS_TXN,      /* replies to MAIL, RCPT, DATA */
	CS_BODY,     /* the caller sends the message */
	CS_DATA_END, /* waiting for the reply to CRLF.CRLF */
	CS_DISCARD,  /* 354 with nobody accepted: "." sent, reply ignored */
	CS_QUIT,     /* over; QUIT sent (or the connection is gone) */
};

enum expect {
	EXP_MAIL,
	EXP_RCPT,
	EXP_DATA,
};

struct expected {
	enum expect kind;
	size_t rcpt;
};

struct smtp_client {
	struct smtp_client_params p;
	char *helo_name;
	char *sender;
	char **rcpts;
	char *user;
	char *password;

	struct buf in;
	size_t rpos;
	struct buf out;
	struct smtp_reply_parser *rp;
	enum cstate st;

	bool tls_active;
	bool ext_pipelining;
	bool ext_starttls;
	bool ext_auth_plain;
	bool ext_size;
	uint64_t ext_size_max; /* 0: not announced */
	bool ext_8bit;

	struct smtp_client_result *res;
	bool *accepted;
	size_t naccepted;
	struct smtp_client_result msg;
	struct smtp_client_result tmp; /* for RCPT events */
	bool mail_ok;
	size_t next_rcpt; /* without pipelining */

	struct expected *exp;
	size_t exp_head;
	size_t exp_n;

	bool body_bol;
	bool body_cr;

	struct smtp_client_event evq[EVQ_MAX];
	size_t evq_head;
	size_t evq_n;
	bool done;
};

void
smtp_client_params_default(struct smtp_client_params *p)
{
	memset(p, 0, sizeof(*p));
	p->helo_name = "localhost";
	p->tls = SMTP_CLIENT_TLS_OPPORTUNISTIC;
	p->sender = "";
	p->timeout_greeting_ms = 5 * 60 * 1000;
	p->timeout_command_ms = 5 * 60 * 1000;
	p->timeout_data_ms = 2 * 60 * 1000;
	p->timeout_block_ms = 3 * 60 * 1000;
	p->timeout_final_ms = 10 * 60 * 1000;
}

const char *
smtp_client_status_name(enum smtp_client_status s)
{
	switch (s) {
	case SMTP_CLIENT_PENDING: return "pending";
	case SMTP_CLIENT_OK: return "ok";
	case SMTP_CLIENT_TEMP: return "temp";
	case SMTP_CLIENT_PERM: return "perm";
	}
	return "unknown";
}

/* A copy with control characters replaced, so that no address or name
 * can smuggle a command line into the session. */
static char *
dup_or_empty(const char *s)
{
	char *d = xstrdup(s != NULL ? s : "");

	for (char *p = d; *p != '\0'; p++)
		if ((unsigned char)*p < 32 || *p == 127)
			*p = '?';
	return d;
}

struct smtp_client *
smtp_client_new(const struct smtp_client_params *params)
{
	struct smtp_client *c = xcalloc(1, sizeof(*c));
	size_t n = params->nrcpt;

	c->p = *params;
	c->helo_name = dup_or_empty(params->helo_name);
	c->sender = dup_or_empty(params->sender);
	c->rcpts = xcalloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		c->rcpts[i] = dup_or_empty(params->rcpts[i]);
	if (params->auth_user != NULL) {
		c->user = xstrdup(params->auth_user);
		c->password = xstrdup(params->auth_password != NULL ?
		    params->auth_password : "");
	}
	c->p.helo_name = c->helo_name;
	c->p.sender = c->sender;
	c->p.rcpts = NULL;
	c->p.auth_user = c->user;
	c->p.auth_password = c->password;
	c->tls_active = params->tls_active;
	buf_init(&c->in, IN_MAX);
	buf_init(&c->out, BUF_UNLIMITED);
	c->rp = smtp_reply_parser_new();
	c->res = xcalloc(n ? n : 1, sizeof(*c->res));
	c->accepted = xcalloc(n ? n : 1, sizeof(bool));
	c->exp = xcalloc(n + 2, sizeof(*c->exp));
	c->st = CS_GREETING;
	return c;
}

void
smtp_client_free(struct smtp_client **cp)
{
	struct smtp_client *c;

	if (cp == NULL || *cp == NULL)
		return;
	c = *cp;
	for (size_t i = 0; i < c->p.nrcpt; i++)
		free(c->rcpts[i]);
	free(c->rcpts);
	free(c->helo_name);
	free(c->sender);
	free(c->user);
	if (c->password != NULL) {
		explicit_bzero(c->password, strlen(c->password));
		free(c->password);
	}
	buf_release(&c->in);
	buf_release_cleanse(&c->out); /* held AUTH PLAIN */
	smtp_reply_parser_free(&c->rp);
	free(c->res);
	free(c->accepted);
	free(c->exp);
	free(c);
	*cp = NULL;
}

/* ---- helpers ---- */

static void
out_str(struct smtp_client *c, const char *s)
{
	if (buf_append_str(&c->out, s) != 0)
		abort();
}

/* "VERB<arg>\r\n" style commands: prefix, argument, suffix. */
static void
out_cmd(struct smtp_client *c, const char *prefix, const char *arg,
    const char *suffix)
{
	out_str(c, prefix);
	out_str(c, arg);
	out_str(c, suffix);
}

static struct smtp_client_event *
push_event(struct smtp_client *c, enum smtp_client_event_type t)
{
	struct smtp_client_event *ev;

	assert(c->evq_n < EVQ_MAX);
	ev = &c->evq[(c->evq_head + c->evq_n) % EVQ_MAX];
	memset(ev, 0, sizeof(*ev));
	ev->type = t;
	c->evq_n++;
	return ev;
}

static enum smtp_client_status
status_of(int code)
{
	switch (smtp_reply_class(code)) {
	case SMTP_REPLY_POSITIVE:
		return SMTP_CLIENT_OK;
	case SMTP_REPLY_TEMP:
		return SMTP_CLIENT_TEMP;
	case SMTP_REPLY_PERM:
		break;
	}
	return SMTP_CLIENT_PERM;
}

static void
set_result(struct smtp_client_result *r, enum smtp_client_status st,
    const struct smtp_reply *reply, const char *reason)
{
	memset(r, 0, sizeof(*r));
	r->status = st;
	if (reply != NULL) {
		size_t n = 0;
		const char *l = smtp_reply_line(reply, 0, &n);

		r->code = reply->code;
		str_lcpy(r->enhanced, reply->enhanced, sizeof(r->enhanced));
		if (l != NULL) {
			if (n >= sizeof(r->text))
				n = sizeof(r->text) - 1;
			memcpy(r->text, l, n);
			r->text[n] = '\0';
		}
	} else {
		str_lcpy(r->text, reason != NULL ? reason : "", sizeof(r->text));
	}
}

/* The end: QUIT (unless the connection is gone) and the DONE event. */
static void
finish(struct smtp_client *c, bool send_quit)
{
	for (size_t i = 0; i < c->p.nrcpt; i++)
		if (c->res[i].status == SMTP_CLIENT_PENDING)
			set_result(&c->res[i], SMTP_CLIENT_TEMP, NULL,
			    "no reply for this recipient");
	if (send_quit)
		out_str(c, "QUIT\r\n");
	c->st = CS_QUIT;
	push_event(c, SMTP_CLIENT_EV_DONE)->result = &c->msg;
}

/* Every recipient without a final result gets st. */
static void
fail_all(struct smtp_client *c, enum smtp_client_status st,
    const struct smtp_reply *reply, const char *reason, bool send_quit)
{
	set_result(&c->msg, st, reply, reason);
	for (size_t i = 0; i < c->p.nrcpt; i++)
		if (c->res[i].status == SMTP_CLIENT_PENDING)
			c->res[i] = c->msg;
	finish(c, send_quit);
}

static void
parse_ehlo(struct smtp_client *c, const struct smtp_reply *r)
{
	const char *params;
	size_t plen;

	c->ext_pipelining = smtp_reply_ehlo_has(r, "PIPELINING", NULL, NULL);
	c->ext_starttls = smtp_reply_ehlo_has(r, "STARTTLS", NULL, NULL);
	c->ext_size = smtp_reply_ehlo_has(r, "SIZE", &params, &plen);
	c->ext_size_max = 0;
	if (c->ext_size && plen > 0 && plen < 20) {
		char num[24];
		uint64_t v;

		memcpy(num, params, plen);
		num[plen] = '\0';
		if (str_to_u64(num, 0, UINT64_MAX, &v) == 0)
			c->ext_size_max = v;
	}
	c->ext_8bit = smtp_reply_ehlo_has(r, "8BITMIME", NULL, NULL);
	c->ext_auth_plain = false;
	if (smtp_reply_ehlo_has(r, "AUTH", &params, &plen)) {
		/* A list of mechanisms separated by spaces. */
		size_t i = 0;

		while (i < plen) {
			size_t j = i;

			while (j < plen && params[j] != ' ')
				j++;
			if (j - i == 5 && strncasecmp(params + i, "PLAIN", 5) == 0)
				c->ext_auth_plain = true;
			i = j + 1;
		}
	}
}

static void
send_rcpt(struct smtp_client *c, size_t i)
{
	out_cmd(c, "RCPT TO:<", c->rcpts[i], ">\r\n");
	c->exp[(c->exp_head + c->exp_n) % (c->p.nrcpt + 2)] =
	    (struct expected){EXP_RCPT, i};
	c->exp_n++;
}

static void
send_data(struct smtp_client *c)
{
	out_str(c, "DATA\r\n");
	c->exp[(c->exp_head + c->exp_n) % (c->p.nrcpt + 2)] =
	    (struct expected){EXP_DATA, 0};
	c->exp_n++;
}

static void
start_mail(struct smtp_client *c)
{
	char extra[64] = "";

	/* RFC 1870: a message the server announced it cannot take is not
	 * sent. */
	if (c->ext_size && c->ext_size_max > 0 && c->p.size > c->ext_size_max) {
		char reason[96];

		snprintf(reason, sizeof(reason), "message size %llu exceeds "
		    "the server's SIZE %llu", (unsigned long long)c->p.size,
		    (unsigned long long)c->ext_size_max);
		fail_all(c, SMTP_CLIENT_PERM, NULL, reason, true);
		return;
	}

	if (c->ext_size && c->p.size > 0)
		snprintf(extra, sizeof(extra), " SIZE=%llu",
		    (unsigned long long)c->p.size);
	if (c->ext_8bit && c->p.body_8bit)
		str_lcpy(extra + strlen(extra), " BODY=8BITMIME",
		    sizeof(extra) - strlen(extra));
	if (buf_printf(&c->out, "MAIL FROM:<%s>%s\r\n", c->sender, extra) != 0)
		abort();
	c->exp_head = 0;
	c->exp_n = 0;
	c->exp[c->exp_n++] = (struct expected){EXP_MAIL, 0};
	c->st = CS_TXN;
	if (c->ext_pipelining) {
		c->next_rcpt = c->p.nrcpt;
		for (size_t i = 0; i < c->p.nrcpt; i++)
			send_rcpt(c, i);
		send_data(c);
	}
}

static void
start_auth_or_mail(struct smtp_client *c)
{
	struct buf plain, b64;

	if (c->user == NULL) {
		start_mail(c);
		return;
	}
	if (!c->ext_auth_plain) {
		fail_all(c, SMTP_CLIENT_TEMP, NULL,
		    "server does not offer AUTH PLAIN", true);
		return;
	}
	if (!c->tls_active && !c->p.auth_without_tls) {
		fail_all(c, SMTP_CLIENT_TEMP, NULL,
		    "refusing to send credentials without TLS", true);
		return;
	}
	buf_init(&plain, 4096);
	buf_init(&b64, 8192);
	if (buf_putc(&plain, '\0') != 0 ||
	    buf_append_str(&plain, c->user) != 0 ||
	    buf_putc(&plain, '\0') != 0 ||
	    buf_append_str(&plain, c->password) != 0 ||
	    smtp_base64_encode(plain.data, plain.len, &b64) != 0) {
		buf_release_cleanse(&plain);
		buf_release_cleanse(&b64);
		fail_all(c, SMTP_CLIENT_PERM, NULL, "credentials too long",
		    true);
		return;
	}
	out_str(c, "AUTH PLAIN ");
	if (buf_append(&c->out, b64.data, b64.len) != 0)
		abort();
	out_str(c, "\r\n");
	buf_release_cleanse(&plain);
	buf_release_cleanse(&b64);
	c->st = CS_AUTH;
}

static void
after_helo(struct smtp_client *c)
{
	if (!c->tls_active && c->p.tls != SMTP_CLIENT_TLS_NONE) {
		if (c->ext_starttls) {
			out_str(c, "STARTTLS\r\n");
			c->st = CS_STARTTLS;
			return;
		}
		if (c->p.tls == SMTP_CLIENT_TLS_REQUIRED) {
			fail_all(c, SMTP_CLIENT_TEMP, NULL,
			    "TLS required but STARTTLS not offered", true);
			return;
		}
	}
	start_auth_or_mail(c);
}

static void
send_ehlo(struct smtp_client *c)
{
	out_cmd(c, "EHLO ", c->helo_name, "\r\n");
	c->st = CS_EHLO;
}

/* Without pipelining: the command after a RCPT reply. */
static void
next_after_rcpt(struct smtp_client *c)
{
	if (c->next_rcpt < c->p.nrcpt) {
		send_rcpt(c, c->next_rcpt++);
		return;
	}
	if (c->naccepted > 0) {
		send_data(c);
		return;
	}
	set_result(&c->msg, SMTP_CLIENT_PERM, NULL, "no recipient accepted");
	/* The message-level status follows the recipients' worst news. */
	for (size_t i = 0; i < c->p.nrcpt; i++)
		if (c->res[i].status == SMTP_CLIENT_TEMP)
			c->msg = c->res[i];
	finish(c, true);
}

static void
txn_reply(struct smtp_client *c, const struct smtp_reply *r)
{
	struct expected x;
	bool ok = r->code / 100 == 2;

	if (c->exp_n == 0) {
		fail_all(c, SMTP_CLIENT_TEMP, NULL, "unexpected reply", true);
		return;
	}
	x = c->exp[c->exp_head];
	c->exp_head = (c->exp_head + 1) % (c->p.nrcpt + 2);
	c->exp_n--;
	switch (x.kind) {
	case EXP_MAIL:
		if (ok) {
			c->mail_ok = true;
			if (!c->ext_pipelining) {
				c->next_rcpt = 1;
				send_rcpt(c, 0);
			}
			return;
		}
		set_result(&c->msg, status_of(r->code), r, NULL);
		for (size_t i = 0; i < c->p.nrcpt; i++)
			c->res[i] = c->msg;
		if (!c->ext_pipelining)
			finish(c, true);
		/* Pipelined: the RCPT and DATA replies still come. */
		return;
	case EXP_RCPT:
		if (!c->mail_ok)
			return;
		if (ok) {
			c->accepted[x.rcpt] = true;
			c->naccepted++;
			set_result(&c->tmp, SMTP_CLIENT_OK, r, NULL);
		} else {
			set_result(&c->res[x.rcpt], status_of(r->code), r, NULL);
			c->tmp = c->res[x.rcpt];
		}
		{
			struct smtp_client_event *ev =
			    push_event(c, SMTP_CLIENT_EV_RCPT);

			ev->rcpt = x.rcpt;
			ev->result = &c->tmp;
		}
		if (!c->ext_pipelining)
			next_after_rcpt(c);
		return;
	case EXP_DATA:
		if (r->code == 354) {
			if (c->mail_ok && c->naccepted > 0) {
				c->st = CS_BODY;
				c->body_bol = true;
				c->body_cr = false;
				push_event(c, SMTP_CLIENT_EV_BODY);
			} else {
				out_str(c, ".\r\n");
				c->st = CS_DISCARD;
			}
			return;
		}
		if (!c->mail_ok) {
			finish(c, true);
			return;
		}
		if (c->naccepted == 0) {
			next_after_rcpt(c); /* no one: sums up, finishes */
			return;
		}
		set_result(&c->msg, ok ? SMTP_CLIENT_TEMP : status_of(r->code),
		    r, NULL);
		for (size_t i = 0; i < c->p.nrcpt; i++)
			if (c->accepted[i])
				c->res[i] = c->msg;
		finish(c, true);
		return;
	}
}

static void
handle_reply(struct smtp_client *c, const struct smtp_reply *r)
{
	bool ok = r->code / 100 == 2;

	/* 421: the server is closing the connection, whatever we asked. */
	if (r->code == 421 && c->st != CS_QUIT) {
		fail_all(c, SMTP_CLIENT_TEMP, r, NULL, false);
		return;
	}
	switch (c->st) {
	case CS_GREETING:
		if (r->code == 220)
			send_ehlo(c);
		else
			fail_all(c, status_of(r->code) == SMTP_CLIENT_OK ?
			    SMTP_CLIENT_TEMP : status_of(r->code), r, NULL, true);
		return;
	case CS_EHLO:
		if (ok) {
			parse_ehlo(c, r);
			after_helo(c);
		} else if (r->code >= 500) {
			out_cmd(c, "HELO ", c->helo_name, "\r\n");
			c->st = CS_HELO;
		} else {
			fail_all(c, SMTP_CLIENT_TEMP, r, NULL, true);
		}
		return;
	case CS_HELO:
		if (ok) {
			c->ext_pipelining = c->ext_starttls = false;
			c->ext_auth_plain = c->ext_size = c->ext_8bit = false;
			after_helo(c);
		} else {
			fail_all(c, status_of(r->code), r, NULL, true);
		}
		return;
	case CS_STARTTLS:
		if (r->code == 220) {
			/* Nothing the server sent in plaintext after its 220
			 * may be read as coming from inside TLS. */
			c->rpos = c->in.len;
			c->st = CS_TLS_WAIT;
			push_event(c, SMTP_CLIENT_EV_STARTTLS);
		} else if (c->p.tls == SMTP_CLIENT_TLS_REQUIRED) {
			fail_all(c, SMTP_CLIENT_TEMP, r, NULL, true);
		} else {
			start_auth_or_mail(c);
		}
		return;
	case CS_AUTH:
		if (ok)
			start_mail(c);
		else
			fail_all(c, r->code < 400 ? SMTP_CLIENT_TEMP :
			    status_of(r->code), r, NULL, true);
		return;
	case CS_TXN:
		txn_reply(c, r);
		return;
	case CS_DATA_END:
		set_result(&c->msg, ok ? SMTP_CLIENT_OK :
		    r->code < 400 ? SMTP_CLIENT_TEMP : status_of(r->code), r,
		    NULL);
		for (size_t i = 0; i < c->p.nrcpt; i++)
			if (c->accepted[i])
				c->res[i] = c->msg;
		finish(c, true);
		return;
	case CS_DISCARD:
		set_result(&c->msg, SMTP_CLIENT_PERM, NULL,
		    "no recipient accepted");
		finish(c, true);
		return;
	case CS_TLS_WAIT:
	case CS_BODY:
	case CS_QUIT:
		return;
	}
}

/* ---- driving ---- */

size_t
smtp_client_receive(struct smtp_client *c, const uint8_t *p, size_t n)
{
	size_t room;

	if (c->st == CS_QUIT || c->st == CS_TLS_WAIT)
		return n;
	if (c->rpos > 0) {
		buf_consume(&c->in, c->rpos);
		c->rpos = 0;
	}
	room = c->in.max - c->in.len;
	if (n > room)
		n = room;
	if (n > 0 && buf_append(&c->in, p, n) != 0)
		return 0;
	return n;
}

int
smtp_client_next_event(struct smtp_client *c, struct smtp_client_event *ev)
{
	for (;;) {
		size_t used = 0;
		int r;
		struct err e;

		if (c->evq_n > 0) {
			*ev = c->evq[c->evq_head];
			c->evq_head = (c->evq_head + 1) % EVQ_MAX;
			c->evq_n--;
			if (ev->type == SMTP_CLIENT_EV_DONE)
				c->done = true;
			return 1;
		}
		if (c->st == CS_QUIT)
			return c->done ? -1 : 0;
		if (c->st == CS_TLS_WAIT || c->st == CS_BODY)
			return 0;
		if (c->rpos >= c->in.len)
			return 0;
		r = smtp_reply_parser_parse(c->rp, c->in.data + c->rpos,
		    c->in.len - c->rpos, &used, &e);
		c->rpos += used;
		if (r == 0)
			return 0;
		if (r < 0) {
			char reason[ERR_MSG_MAX + 16];

			snprintf(reason, sizeof(reason), "protocol error: %s",
			    e.msg);
			fail_all(c, SMTP_CLIENT_TEMP, NULL, reason, true);
			continue;
		}
		handle_reply(c, smtp_reply_parser_get0_reply(c->rp));
	}
}

int
smtp_client_body(struct smtp_client *c, const uint8_t *p, size_t n)
{
	size_t start = 0;

	if (c->st != CS_BODY)
		return -1;
	for (size_t i = 0; i < n; i++) {
		uint8_t b = p[i];

		if (b == '\n') {
			if (buf_append(&c->out, p + start, i - start) != 0)
				abort();
			start = i + 1;
			out_str(c, c->body_cr ? "\n" : "\r\n");
			c->body_bol = true;
			c->body_cr = false;
			continue;
		}
		if (c->body_bol && b == '.') {
			if (buf_append(&c->out, p + start, i - start) != 0)
				abort();
			start = i;
			out_str(c, "."); /* stuffing: the line's dot follows */
		}
		c->body_bol = false;
		c->body_cr = b == '\r';
	}
	if (buf_append(&c->out, p + start, n - start) != 0)
		abort();
	return 0;
}

int
smtp_client_body_end(struct smtp_client *c)
{
	if (c->st != CS_BODY)
		return -1;
	if (c->body_cr)
		out_str(c, "\n");
	else if (!c->body_bol)
		out_str(c, "\r\n");
	out_str(c, ".\r\n");
	c->st = CS_DATA_END;
	return 0;
}

int
smtp_client_tls_started(struct smtp_client *c)
{
	if (c->st != CS_TLS_WAIT)
		return -1;
	c->tls_active = true;
	c->in.len = 0;
	c->rpos = 0;
	send_ehlo(c);
	return 0;
}

void
smtp_client_abort(struct smtp_client *c, const char *reason)
{
	if (c->st == CS_QUIT)
		return;
	fail_all(c, SMTP_CLIENT_TEMP, NULL, reason, false);
}

void
smtp_client_expire(struct smtp_client *c)
{
	if (c->st == CS_QUIT)
		return;
	fail_all(c, SMTP_CLIENT_TEMP, NULL, "timeout", true);
}

int64_t
smtp_client_timeout_ms(const struct smtp_client *c)
{
	switch (c->st) {
	case CS_GREETING:
		return c->p.timeout_greeting_ms;
	case CS_TXN:
		if (c->exp_n > 0 && c->exp[c->exp_head].kind == EXP_DATA)
			return c->p.timeout_data_ms;
		return c->p.timeout_command_ms;
	case CS_BODY:
		return c->p.timeout_block_ms;
	case CS_DATA_END:
	case CS_DISCARD:
		return c->p.timeout_final_ms;
	case CS_QUIT:
		return -1;
	default:
		return c->p.timeout_command_ms;
	}
}

const uint8_t *
smtp_client_output(const struct smtp_client *c, size_t *len_r)
{
	*len_r = c->out.len;
	return c->out.data;
}

void
smtp_client_consume(struct smtp_client *c, size_t n)
{
	if (n > c->out.len)
		n = c->out.len;
	if (c->out.data != NULL)
		explicit_bzero(c->out.data, n);
	buf_consume(&c->out, n);
}

const struct smtp_client_result *
smtp_client_rcpt_result(const struct smtp_client *c, size_t i)
{
	return i < c->p.nrcpt ? &c->res[i] : NULL;
}

size_t
smtp_client_rcpt_count(const struct smtp_client *c)
{
	return c->p.nrcpt;
}

bool
smtp_client_tls_active(const struct smtp_client *c)
{
	return c->tls_active;
}

bool
smtp_client_mail_accepted(const struct smtp_client *c)
{
	return c->mail_ok;
}

bool
smtp_client_pipelining(const struct smtp_client *c)
{
	return c->ext_pipelining;
}
