#include "hisp/smtp_server.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "hisp/smtp_base64.h"

/* Input held beyond one line while paused (pipelined commands, data). */
#define IN_HOLD 65536
/* Processing pauses while this much output waits to be written. */
#define OUT_HIGH 65536
/* Message bytes per DATA_CHUNK event (the buffer stays below malloc's
 * mmap threshold so that allocating it per message is cheap). */
#define CHUNK_MAX (16384 - 64)
#define EVQ_MAX 4
#define VERB_MAX 16
#define TEXT_MAX 400

enum phase {
	PH_CMD,      /* reading command lines */
	PH_AUTH,     /* reading a SASL response line */
	PH_DATA,     /* reading message data */
	PH_BDAT,     /* reading a BDAT chunk */
	PH_TLS_WAIT, /* STARTTLS answered, handshake not done */
	PH_CLOSED,
};

enum auth_step {
	AUTH_PLAIN_RESP,
	AUTH_LOGIN_USER,
	AUTH_LOGIN_PASS,
};

/* Where the data reader is within a line of the message. */
enum dstate {
	D_BOL,      /* start of a line (after CRLF) */
	D_BOL_SOFT, /* start of a line after a normalized bare LF */
	D_DOT,      /* a dot at the start of a line */
	D_DOT_CR,   /* dot, CR */
	D_TEXT,     /* inside a line */
	D_CR,       /* a CR inside a line */
};

struct smtp_server {
	struct smtp_server_params p;
	char *hostname;
	enum phase phase;

	struct buf in; /* unread input is in.data[rpos, in.len) */
	size_t rpos;
	bool discarding; /* an over-long line is being skipped */
	struct buf line; /* the current command line, NUL-terminated */
	struct buf out;

	bool tls_active;
	bool helo_done;
	bool esmtp;
	char *helo;
	char *auth_user;
	unsigned errors;

	/* The mail transaction. */
	bool in_mail;
	bool rcpt_tried;
	char sender[SMTP_SERVER_PATH_MAX + 1];
	char **rcpts; /* grows up to max_recipients */
	size_t rcpts_cap;
	size_t nrcpt;

	/* The decision the caller owes us, and its data. */
	enum smtp_server_event_type pending;
	bool pending_seen;
	char arg[SMTP_SERVER_PATH_MAX + 1];
	uint64_t arg_size;
	bool arg_8bit;

	/* SASL. */
	enum auth_step auth_step;
	char mech[8];
	struct buf auth; /* authzid NUL authcid NUL password NUL */
	size_t authcid_off;
	size_t password_off;

	/* DATA. */
	enum dstate dstate;
	uint64_t msg_size;
	size_t line_len;
	bool too_big;
	bool line_too_long;
	bool bare_lf_seen;
	/* BDAT (RFC 3030). */
	bool bdat_cmd;      /* the pending DATA decision came from BDAT */
	bool bdat_started;  /* this transaction's message comes by BDAT */
	bool bdat_last;
	bool bdat_discard;  /* read the chunk, drop it, send bdat_reply */
	uint64_t bdat_size;
	uint64_t bdat_left;
	int bdat_code;
	char bdat_enh[16];
	char bdat_text[TEXT_MAX + 1];
	struct buf chunk;
	bool chunk_out;

	struct smtp_server_event evq[EVQ_MAX];
	size_t evq_head;
	size_t evq_n;
};

struct smtp_cmd {
	const char *name;
	void (*fn)(struct smtp_server *s, const char *args);
	unsigned flags;
};
/* Refused with 530 before STARTTLS when the listener requires TLS. */
#define CMD_TLS_GATE 1u

static void close_session(struct smtp_server *s, const char *reason);
static void say_421(struct smtp_server *s, const char *enh, const char *text);

void
smtp_server_params_default(struct smtp_server_params *p)
{
	memset(p, 0, sizeof(*p));
	p->hostname = "localhost";
	p->max_command_line = 512;
	p->max_text_line = 1000;
	p->max_message_size = 50u * 1024 * 1024;
	p->max_recipients = 100;
	p->max_errors = 20;
	p->timeout_command_ms = 5 * 60 * 1000;
	p->timeout_data_ms = 10 * 60 * 1000;
	p->bare_lf = SMTP_SERVER_BARE_LF_NORMALIZE;
}

const char *
smtp_server_event_name(enum smtp_server_event_type t)
{
	switch (t) {
	case SMTP_SERVER_EV_NONE: return "none";
	case SMTP_SERVER_EV_HELO: return "helo";
	case SMTP_SERVER_EV_STARTTLS: return "starttls";
	case SMTP_SERVER_EV_AUTH: return "auth";
	case SMTP_SERVER_EV_MAIL: return "mail";
	case SMTP_SERVER_EV_RCPT: return "rcpt";
	case SMTP_SERVER_EV_DATA: return "data";
	case SMTP_SERVER_EV_DATA_CHUNK: return "data_chunk";
	case SMTP_SERVER_EV_DATA_END: return "data_end";
	case SMTP_SERVER_EV_ABORT: return "abort";
	}
	return "unknown";
}

static bool
is_decision(enum smtp_server_event_type t)
{
	return t == SMTP_SERVER_EV_MAIL || t == SMTP_SERVER_EV_RCPT ||
	    t == SMTP_SERVER_EV_AUTH || t == SMTP_SERVER_EV_DATA ||
	    t == SMTP_SERVER_EV_DATA_END;
}

/* ---- output ---- */

static void
out_append(struct smtp_server *s, const char *p, size_t n)
{
	int r = buf_append(&s->out, p, n);

	assert(r == 0); /* bounded by OUT_HIGH plus one step's replies */
	(void)r;
}

/* Copies text into the output with control characters replaced. */
static void
out_text(struct smtp_server *s, const char *t)
{
	size_t n = strlen(t);

	if (n > TEXT_MAX)
		n = TEXT_MAX;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];

		if ((unsigned char)c < 32 || c == 127)
			c = '?';
		out_append(s, &c, 1);
	}
}

static void
out_line(struct smtp_server *s, int code, char sep, const char *enh,
    const char *text)
{
	char head[16];
	int n = snprintf(head, sizeof(head), "%03d%c", code, sep);

	assert(n == 4);
	(void)n;
	out_append(s, head, 4);
	if (enh != NULL && enh[0] != '\0') {
		out_append(s, enh, strlen(enh));
		out_append(s, " ", 1);
	}
	out_text(s, text);
	out_append(s, "\r\n", 2);
}

/* One reply line. 4xx and 5xx count as errors; past the limit the
 * session says 421 and closes. */
static void
reply(struct smtp_server *s, int code, const char *enh, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
reply(struct smtp_server *s, int code, const char *enh, const char *fmt, ...)
{
	char text[TEXT_MAX + 1];
	va_list ap;

	if (s->phase == PH_CLOSED)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	out_line(s, code, ' ', enh, text);
	if (code >= 400 && code != 421) {
		s->errors++;
		if (s->p.max_errors > 0 && s->errors >= s->p.max_errors) {
			say_421(s, "4.7.0", "Error: too many errors");
			close_session(s, "errors");
		}
	}
}

/* ---- events ---- */

static struct smtp_server_event *
push_event(struct smtp_server *s, enum smtp_server_event_type t)
{
	struct smtp_server_event *ev;

	assert(s->evq_n < EVQ_MAX);
	ev = &s->evq[(s->evq_head + s->evq_n) % EVQ_MAX];
	memset(ev, 0, sizeof(*ev));
	ev->type = t;
	s->evq_n++;
	if (is_decision(t)) {
		assert(s->pending == SMTP_SERVER_EV_NONE);
		s->pending = t;
		s->pending_seen = false;
	}
	return ev;
}

/* ---- the transaction ---- */

static void
txn_clear(struct smtp_server *s)
{
	for (size_t i = 0; i < s->nrcpt; i++)
		free(s->rcpts[i]);
	s->nrcpt = 0;
	s->in_mail = false;
	s->rcpt_tried = false;
	s->sender[0] = '\0';
	s->too_big = false;
	s->line_too_long = false;
	s->msg_size = 0;
	s->bdat_started = false;
}

/* Ends the transaction; the caller hears of it if MAIL was accepted. */
static void
txn_abort(struct smtp_server *s, const char *reason)
{
	if (s->in_mail)
		push_event(s, SMTP_SERVER_EV_ABORT)->arg = reason;
	txn_clear(s);
}

/* Forgets SASL credentials (the line they came in is wiped by
 * command_step). */
static void
wipe_auth(struct smtp_server *s)
{
	buf_release_cleanse(&s->auth);
	buf_init(&s->auth, SMTP_SERVER_AUTH_LINE_MAX + 4);
}

static void
close_session(struct smtp_server *s, const char *reason)
{
	size_t i, kept = 0;
	struct smtp_server_event q[EVQ_MAX];

	if (s->phase == PH_CLOSED)
		return;
	/* Drop a decision not yet answered, and any not yet returned. */
	for (i = 0; i < s->evq_n; i++) {
		struct smtp_server_event *ev =
		    &s->evq[(s->evq_head + i) % EVQ_MAX];

		if (!is_decision(ev->type))
			q[kept++] = *ev;
	}
	memcpy(s->evq, q, kept * sizeof(q[0]));
	s->evq_head = 0;
	s->evq_n = kept;
	s->pending = SMTP_SERVER_EV_NONE;
	wipe_auth(s);
	txn_abort(s, reason);
	s->phase = PH_CLOSED;
	s->in.len = 0;
	s->rpos = 0;
}

/* ---- lifecycle ---- */

struct smtp_server *
smtp_server_new(const struct smtp_server_params *params)
{
	struct smtp_server *s = xcalloc(1, sizeof(*s));

	s->p = *params;
	s->hostname = xstrdup(params->hostname ? params->hostname : "localhost");
	s->p.hostname = s->hostname;
	if (s->p.max_command_line < 512)
		s->p.max_command_line = 512;
	if (s->p.max_text_line < 1000)
		s->p.max_text_line = 1000;
	if (s->p.max_recipients < 1)
		s->p.max_recipients = 1;
	s->tls_active = params->tls_active;
	s->phase = PH_CMD;
	buf_init(&s->in, IN_HOLD + SMTP_SERVER_AUTH_LINE_MAX +
	    s->p.max_command_line);
	buf_init(&s->line, SMTP_SERVER_AUTH_LINE_MAX + s->p.max_command_line);
	buf_init(&s->out, BUF_UNLIMITED);
	buf_init(&s->auth, SMTP_SERVER_AUTH_LINE_MAX + 4);
	buf_init(&s->chunk, CHUNK_MAX + 8);
	/* An empty line still reads as "" (the chunk storage is made when
	 * DATA is accepted, so that idle sessions stay small). */
	if (buf_reserve(&s->line, 128) != 0)
		abort();
	out_append(s, "220 ", 4);
	out_text(s, s->hostname);
	out_append(s, " ESMTP directgate\r\n", 19);
	return s;
}

void
smtp_server_free(struct smtp_server **sp)
{
	struct smtp_server *s;

	if (sp == NULL || *sp == NULL)
		return;
	s = *sp;
	txn_clear(s);
	free(s->rcpts);
	buf_release_cleanse(&s->in);
	buf_release_cleanse(&s->line);
	buf_release_cleanse(&s->auth);
	buf_release(&s->out);
	buf_release(&s->chunk);
	free(s->helo);
	free(s->auth_user);
	free(s->hostname);
	free(s);
	*sp = NULL;
}

size_t
smtp_server_receive(struct smtp_server *s, const uint8_t *p, size_t n)
{
	size_t room;

	if (s->phase == PH_CLOSED || s->phase == PH_TLS_WAIT)
		return n;
	if (s->rpos > 0) {
		buf_consume(&s->in, s->rpos);
		s->rpos = 0;
	}
	room = s->in.max - s->in.len;
	if (n > room)
		n = room;
	if (n > 0 && buf_append(&s->in, p, n) != 0)
		return 0;
	return n;
}

/* ---- command lines ---- */

static size_t
line_limit(const struct smtp_server *s, const uint8_t *p, size_t avail)
{
	if (s->phase == PH_AUTH)
		return SMTP_SERVER_AUTH_LINE_MAX;
	if (avail >= 5 && str_span_caseeq((const char *)p, 4, "AUTH") &&
	    p[4] == ' ')
		return SMTP_SERVER_AUTH_LINE_MAX;
	return s->p.max_command_line;
}

enum line_result {
	LINE_NONE,
	LINE_OK,
	LINE_TOO_LONG,
	LINE_BARE_LF,
	LINE_NUL,
	LINE_8BIT,
};

/* Takes the next command line into s->line. LINE_NONE: need input. */
static enum line_result
get_line(struct smtp_server *s)
{
	const uint8_t *p;
	size_t avail = s->in.len - s->rpos, n, content, limit;
	const uint8_t *lf;
	bool bare;

	if (avail == 0)
		return LINE_NONE;
	p = s->in.data + s->rpos;
	lf = memchr(p, '\n', avail);
	if (s->discarding) {
		if (lf == NULL) {
			s->rpos = s->in.len;
			return LINE_NONE;
		}
		s->rpos += (size_t)(lf - p) + 1;
		s->discarding = false;
		return LINE_TOO_LONG;
	}
	limit = line_limit(s, p, avail);
	if (lf == NULL) {
		/* limit - 1: the content plus a CR that may precede the LF. */
		if (avail > limit - 1) {
			s->discarding = true;
			s->rpos = s->in.len;
		}
		return LINE_NONE;
	}
	n = (size_t)(lf - p);
	bare = n == 0 || p[n - 1] != '\r';
	content = bare ? n : n - 1;
	s->rpos += n + 1;
	if (content > limit - 2)
		return LINE_TOO_LONG;
	if (bare && s->p.bare_lf == SMTP_SERVER_BARE_LF_REJECT)
		return LINE_BARE_LF;
	buf_reset(&s->line);
	if (buf_append(&s->line, p, content) != 0)
		return LINE_TOO_LONG;
	if (memchr(p, '\0', content) != NULL)
		return LINE_NUL;
	for (size_t i = 0; i < content; i++)
		if (p[i] >= 0x80)
			return LINE_8BIT;
	return LINE_OK;
}

/* ---- addresses ---- */

static bool
is_atext(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static bool
is_let_dig(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* Parses "<path>" at *pp (RFC 5321 4.1.2: optional source route,
 * Dot-string or Quoted-string local part, domain or address literal).
 * On success out holds "local@domain" ("" for <> when allow_null), *pp
 * points after '>'. */
static int
parse_path(const char **pp, bool allow_null, bool allow_postmaster,
    char *out, size_t outsz)
{
	const char *p = *pp, *local, *dom;
	size_t llen, dlen, o = 0;

	if (*p != '<')
		return -1;
	p++;
	if (*p == '>') {
		if (!allow_null)
			return -1;
		out[0] = '\0';
		*pp = p + 1;
		return 0;
	}
	if (*p == '@') {
		/* A source route, "@a,@b:", is ignored (RFC 5321 C). */
		const char *colon = strchr(p, ':');
		const char *gt = strchr(p, '>');

		if (colon == NULL || (gt != NULL && gt < colon))
			return -1;
		p = colon + 1;
	}
	local = p;
	if (*p == '"') {
		p++;
		while (*p != '"') {
			if (*p == '\\') {
				p++;
				if ((unsigned char)*p < 32 || *p == 127)
					return -1;
			} else if ((unsigned char)*p < 32 || *p == 127) {
				return -1;
			}
			p++;
		}
		p++;
	} else {
		bool dot_ok = false;

		while (is_atext(*p) || *p == '.') {
			if (*p == '.') {
				if (!dot_ok)
					return -1;
				dot_ok = false;
			} else {
				dot_ok = true;
			}
			p++;
		}
		if (p == local || !dot_ok)
			return -1;
	}
	llen = (size_t)(p - local);
	if (llen > 64)
		return -1;
	if (*p == '>') {
		if (!allow_postmaster || !str_span_caseeq(local, llen,
		    "postmaster"))
			return -1;
		dom = p;
		dlen = 0;
	} else {
		if (*p != '@')
			return -1;
		p++;
		dom = p;
		if (*p == '[') {
			p++;
			while ((*p >= 33 && *p <= 90) || (*p >= 94 && *p <= 126))
				p++;
			if (*p != ']' || p == dom + 1)
				return -1;
			p++;
		} else {
			bool label = false;

			while (is_let_dig(*p) || *p == '-' || *p == '.') {
				if (*p == '.') {
					if (!label)
						return -1;
					label = false;
				} else {
					label = true;
				}
				p++;
			}
			if (!label)
				return -1;
		}
		dlen = (size_t)(p - dom);
		if (*p != '>' || dlen > 255)
			return -1;
	}
	if (llen + 1 + dlen + 2 > SMTP_SERVER_PATH_MAX || llen + 1 + dlen >= outsz)
		return -1;
	memcpy(out, local, llen);
	o = llen;
	if (dlen > 0) {
		out[o++] = '@';
		memcpy(out + o, dom, dlen);
		o += dlen;
	}
	out[o] = '\0';
	*pp = p + 1;
	return 0;
}

/* ---- commands ---- */

static void
cmd_helo_common(struct smtp_server *s, const char *args, bool esmtp)
{
	const char *ext[8];
	size_t next = 0;
	char size_line[40];

	if (args[0] == '\0') {
		reply(s, 501, "5.5.4", "Syntax: %s hostname",
		    esmtp ? "EHLO" : "HELO");
		return;
	}
	txn_abort(s, "helo");
	free(s->helo);
	s->helo = xstrdup(args);
	s->helo_done = true;
	s->esmtp = esmtp;
	if (!esmtp) {
		out_append(s, "250 ", 4);
		out_text(s, s->hostname);
		out_append(s, "\r\n", 2);
	} else {
		snprintf(size_line, sizeof(size_line), "SIZE %llu",
		    (unsigned long long)s->p.max_message_size);
		ext[next++] = "PIPELINING";
		ext[next++] = size_line;
		ext[next++] = "8BITMIME";
		if (s->p.chunking)
			ext[next++] = "CHUNKING";
		ext[next++] = "ENHANCEDSTATUSCODES";
		if (s->p.tls_available && !s->tls_active)
			ext[next++] = "STARTTLS";
		if (s->p.auth_enabled && (s->tls_active ||
		    !s->p.auth_requires_tls))
			ext[next++] = "AUTH PLAIN LOGIN";
		out_append(s, "250-", 4);
		out_text(s, s->hostname);
		out_append(s, "\r\n", 2);
		for (size_t i = 0; i < next; i++)
			out_line(s, 250, i + 1 == next ? ' ' : '-', NULL,
			    ext[i]);
	}
	{
		struct smtp_server_event *ev =
		    push_event(s, SMTP_SERVER_EV_HELO);

		ev->arg = s->helo;
		ev->esmtp = esmtp;
	}
}

static void
cmd_helo(struct smtp_server *s, const char *args)
{
	cmd_helo_common(s, args, false);
}

static void
cmd_ehlo(struct smtp_server *s, const char *args)
{
	cmd_helo_common(s, args, true);
}

/* The next space-separated parameter of MAIL or RCPT into tok. */
static const char *
next_param(const char *p, char *tok, size_t toksz)
{
	size_t n = 0;

	while (*p == ' ')
		p++;
	while (*p != '\0' && *p != ' ') {
		if (n + 1 < toksz)
			tok[n++] = *p;
		p++;
	}
	tok[n] = '\0';
	return p;
}

static void
cmd_mail(struct smtp_server *s, const char *args)
{
	const char *p = args;
	char tok[64];
	uint64_t size = 0;
	bool body8 = false, too_big = false;

	if (!s->helo_done) {
		reply(s, 503, "5.5.1", "Error: send HELO/EHLO first");
		return;
	}
	if (s->in_mail) {
		reply(s, 503, "5.5.1", "Error: nested MAIL command");
		return;
	}
	if (s->p.require_auth && s->auth_user == NULL) {
		reply(s, 530, "5.7.0", "Authentication required");
		return;
	}
	if (!str_casebegins(p, "FROM:")) {
		reply(s, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
		return;
	}
	p += 5;
	while (*p == ' ')
		p++;
	if (parse_path(&p, true, false, s->arg, sizeof(s->arg)) != 0 ||
	    (*p != '\0' && *p != ' ')) {
		reply(s, 501, "5.1.7", "Bad sender address syntax");
		return;
	}
	while (*p != '\0') {
		p = next_param(p, tok, sizeof(tok));
		if (tok[0] == '\0')
			break;
		if (str_casebegins(tok, "SIZE=")) {
			if (str_to_u64(tok + 5, 0, UINT64_MAX, &size) != 0) {
				reply(s, 501, "5.5.4", "Bad SIZE parameter");
				return;
			}
			if (size > s->p.max_message_size)
				too_big = true;
		} else if (str_casebegins(tok, "BODY=")) {
			if (strcasecmp(tok + 5, "8BITMIME") == 0) {
				body8 = true;
			} else if (strcasecmp(tok + 5, "7BIT") == 0) {
				body8 = false;
			} else {
				reply(s, 501, "5.5.4", "Bad BODY parameter");
				return;
			}
		} else if (str_casebegins(tok, "AUTH=")) {
			/* RFC 4954 5: accepted, not used. */
		} else {
			reply(s, 555, "5.5.4", "Unsupported parameter");
			return;
		}
	}
	if (too_big) {
		reply(s, 552, "5.3.4",
		    "Message size exceeds fixed maximum message size");
		return;
	}
	s->arg_size = size;
	s->arg_8bit = body8;
	{
		struct smtp_server_event *ev =
		    push_event(s, SMTP_SERVER_EV_MAIL);

		ev->arg = s->arg;
		ev->size = size;
		ev->body_8bit = body8;
	}
}

static void
cmd_rcpt(struct smtp_server *s, const char *args)
{
	const char *p = args;

	if (!s->in_mail) {
		reply(s, 503, "5.5.1", "Error: need MAIL command");
		return;
	}
	if (!str_casebegins(p, "TO:")) {
		reply(s, 501, "5.5.4", "Syntax: RCPT TO:<address>");
		return;
	}
	p += 3;
	while (*p == ' ')
		p++;
	if (parse_path(&p, false, true, s->arg, sizeof(s->arg)) != 0 ||
	    (*p != '\0' && *p != ' ')) {
		reply(s, 501, "5.1.3", "Bad recipient address syntax");
		return;
	}
	while (*p == ' ')
		p++;
	if (*p != '\0') {
		reply(s, 555, "5.5.4", "Unsupported parameter");
		return;
	}
	if (s->nrcpt >= s->p.max_recipients) {
		reply(s, 452, "4.5.3", "Error: too many recipients");
		return;
	}
	s->rcpt_tried = true;
	push_event(s, SMTP_SERVER_EV_RCPT)->arg = s->arg;
}

static void
cmd_data(struct smtp_server *s, const char *args)
{
	if (args[0] != '\0') {
		reply(s, 501, "5.5.4", "Syntax: DATA");
		return;
	}
	if (!s->in_mail) {
		reply(s, 503, "5.5.1", "Error: need MAIL command");
		return;
	}
	if (s->nrcpt == 0) {
		if (s->rcpt_tried)
			reply(s, 554, "5.5.1", "Error: no valid recipients");
		else
			reply(s, 503, "5.5.1", "Error: need RCPT command");
		return;
	}
	if (s->bdat_started) {
		reply(s, 503, "5.5.1", "Error: BDAT in progress");
		return;
	}
	s->bdat_cmd = false;
	push_event(s, SMTP_SERVER_EV_DATA);
}

/* The chunk of the current BDAT is read and dropped; then this reply. */
static void
bdat_defer(struct smtp_server *s, int code, const char *enh,
    const char *text)
{
	s->bdat_discard = true;
	s->bdat_code = code;
	str_lcpy(s->bdat_enh, enh, sizeof(s->bdat_enh));
	str_lcpy(s->bdat_text, text, sizeof(s->bdat_text));
	s->phase = PH_BDAT;
}

static void
bdat_begin_message(struct smtp_server *s)
{
	if (buf_reserve(&s->chunk, CHUNK_MAX + 8) != 0)
		abort();
	s->bdat_started = true;
	s->msg_size = 0;
	s->too_big = false;
}

/* BDAT size [LAST] (RFC 3030): size raw octets follow the line. Whatever
 * the answer, those octets are read before it is given. */
static void
cmd_bdat(struct smtp_server *s, const char *args)
{
	char tok[32];
	const char *p;
	uint64_t n;

	if (!s->p.chunking) {
		reply(s, 502, "5.5.1", "Error: command not implemented");
		return;
	}
	p = next_param(args, tok, sizeof(tok));
	if (tok[0] == '\0' || str_to_u64(tok, 0, UINT64_MAX, &n) != 0) {
		reply(s, 501, "5.5.4", "Syntax: BDAT size [LAST]");
		return;
	}
	p = next_param(p, tok, sizeof(tok));
	s->bdat_last = false;
	if (tok[0] != '\0') {
		if (strcasecmp(tok, "LAST") != 0) {
			reply(s, 501, "5.5.4", "Syntax: BDAT size [LAST]");
			return;
		}
		s->bdat_last = true;
		next_param(p, tok, sizeof(tok));
		if (tok[0] != '\0') {
			reply(s, 501, "5.5.4", "Syntax: BDAT size [LAST]");
			return;
		}
	}
	s->bdat_size = n;
	s->bdat_left = n;
	s->bdat_discard = false;
	if (s->p.require_tls && !s->tls_active)
		bdat_defer(s, 530, "5.7.0", "Must issue a STARTTLS command first");
	else if (!s->in_mail)
		bdat_defer(s, 503, "5.5.1", "Error: need MAIL command");
	else if (s->nrcpt == 0)
		bdat_defer(s, s->rcpt_tried ? 554 : 503, "5.5.1",
		    s->rcpt_tried ? "Error: no valid recipients" :
		    "Error: need RCPT command");
	else if (!s->bdat_started) {
		/* The message starts: the caller decides as for DATA. */
		s->bdat_cmd = true;
		push_event(s, SMTP_SERVER_EV_DATA);
	} else {
		if (buf_reserve(&s->chunk, CHUNK_MAX + 8) != 0)
			abort();
		s->phase = PH_BDAT;
	}
}

static void
cmd_rset(struct smtp_server *s, const char *args)
{
	if (args[0] != '\0') {
		reply(s, 501, "5.5.4", "Syntax: RSET");
		return;
	}
	txn_abort(s, "rset");
	reply(s, 250, "2.0.0", "Ok");
}

static void
cmd_noop(struct smtp_server *s, const char *args)
{
	reply(s, 250, "2.0.0", "Ok");
}

static void
cmd_quit(struct smtp_server *s, const char *args)
{
	reply(s, 221, "2.0.0", "Bye");
	close_session(s, "quit");
}

static void
cmd_vrfy(struct smtp_server *s, const char *args)
{
	if (args[0] == '\0') {
		reply(s, 501, "5.5.4", "Syntax: VRFY address");
		return;
	}
	reply(s, 252, "2.0.0",
	    "Cannot VRFY user, but will accept message and attempt delivery");
}

static void
cmd_help(struct smtp_server *s, const char *args)
{
	reply(s, 214, "2.0.0", "See RFC 5321");
}

static void
cmd_not_implemented(struct smtp_server *s, const char *args)
{
	reply(s, 502, "5.5.1", "Error: command not implemented");
}

static void
cmd_starttls(struct smtp_server *s, const char *args)
{
	if (args[0] != '\0') {
		reply(s, 501, "5.5.4", "Syntax: STARTTLS");
		return;
	}
	if (s->tls_active) {
		reply(s, 503, "5.5.1", "Error: TLS already active");
		return;
	}
	if (!s->p.tls_available) {
		reply(s, 502, "5.5.1", "Error: command not implemented");
		return;
	}
	reply(s, 220, "2.0.0", "Ready to start TLS");
	txn_abort(s, "starttls");
	/* No plaintext survives STARTTLS: whatever followed the command in
	 * the same packets is dropped, and more is dropped until the
	 * handshake is done. */
	if (s->in.data != NULL)
		explicit_bzero(s->in.data, s->in.len);
	s->in.len = 0;
	s->rpos = 0;
	s->discarding = false;
	s->phase = PH_TLS_WAIT;
	push_event(s, SMTP_SERVER_EV_STARTTLS);
}

/* Decoded PLAIN response: authzid NUL authcid NUL password. */
static void
auth_plain_finish(struct smtp_server *s)
{
	const uint8_t *d = s->auth.data;
	size_t n = s->auth.len;
	const uint8_t *z1 = n ? memchr(d, '\0', n) : NULL;
	const uint8_t *z2 = z1 ? memchr(z1 + 1, '\0', n - (size_t)(z1 + 1 - d))
	    : NULL;
	struct smtp_server_event *ev;

	if (z1 == NULL || z2 == NULL || z2 == z1 + 1 ||
	    memchr(z2 + 1, '\0', n - (size_t)(z2 + 1 - d)) != NULL) {
		wipe_auth(s);
		reply(s, 501, "5.5.2", "Invalid PLAIN response");
		return;
	}
	if (buf_putc(&s->auth, '\0') != 0) {
		wipe_auth(s);
		reply(s, 501, "5.5.2", "Invalid PLAIN response");
		return;
	}
	s->authcid_off = (size_t)(z1 + 1 - d);
	s->password_off = (size_t)(z2 + 1 - d);
	ev = push_event(s, SMTP_SERVER_EV_AUTH);
	ev->arg = s->mech;
	ev->authzid = (const char *)s->auth.data;
	ev->authcid = (const char *)s->auth.data + s->authcid_off;
	ev->password = (const char *)s->auth.data + s->password_off;
}

/* Decodes one base64 response and appends it to s->auth. */
static int
auth_decode(struct smtp_server *s, const char *b64)
{
	if (strcmp(b64, "=") == 0)
		return 0;
	if (smtp_base64_decode(b64, strlen(b64), &s->auth) != 0) {
		wipe_auth(s);
		reply(s, 501, "5.5.2", "Cannot decode response");
		return -1;
	}
	return 0;
}

static void
auth_login_part(struct smtp_server *s, const char *b64, bool is_user)
{
	size_t before = s->auth.len;

	if (auth_decode(s, b64) != 0)
		return;
	if ((s->auth.len > before && memchr(s->auth.data + before, '\0',
	    s->auth.len - before) != NULL) || (is_user &&
	    s->auth.len == before)) {
		wipe_auth(s);
		reply(s, 501, "5.5.2", "Invalid LOGIN response");
		return;
	}
	buf_putc(&s->auth, '\0');
	if (is_user) {
		s->password_off = s->auth.len;
		s->auth_step = AUTH_LOGIN_PASS;
		s->phase = PH_AUTH;
		reply(s, 334, NULL, "UGFzc3dvcmQ6"); /* "Password:" */
		return;
	}
	{
		struct smtp_server_event *ev =
		    push_event(s, SMTP_SERVER_EV_AUTH);

		ev->arg = s->mech;
		ev->authzid = "";
		ev->authcid = (const char *)s->auth.data + s->authcid_off;
		ev->password = (const char *)s->auth.data + s->password_off;
	}
}

static void
cmd_auth(struct smtp_server *s, const char *args)
{
	char mech[16];
	const char *ir;
	size_t mlen;

	if (!s->p.auth_enabled) {
		reply(s, 503, "5.5.1", "Error: authentication not enabled");
		return;
	}
	if (s->p.auth_requires_tls && !s->tls_active) {
		reply(s, 538, "5.7.11",
		    "Encryption required for requested authentication mechanism");
		return;
	}
	if (!s->helo_done || !s->esmtp) {
		reply(s, 503, "5.5.1", "Error: send EHLO first");
		return;
	}
	if (s->auth_user != NULL) {
		reply(s, 503, "5.5.1", "Error: already authenticated");
		return;
	}
	if (s->in_mail) {
		reply(s, 503, "5.5.1", "Error: MAIL transaction in progress");
		return;
	}
	ir = strchr(args, ' ');
	mlen = ir ? (size_t)(ir - args) : strlen(args);
	if (mlen == 0) {
		reply(s, 501, "5.5.4", "Syntax: AUTH mechanism");
		return;
	}
	if (ir != NULL)
		while (*ir == ' ')
			ir++;
	if (mlen >= sizeof(mech))
		mlen = sizeof(mech) - 1;
	memcpy(mech, args, mlen);
	mech[mlen] = '\0';
	wipe_auth(s);
	s->authcid_off = 0;
	s->password_off = 0;
	if (strcasecmp(mech, "PLAIN") == 0) {
		str_lcpy(s->mech, "PLAIN", sizeof(s->mech));
		if (ir != NULL && *ir != '\0') {
			if (auth_decode(s, ir) == 0)
				auth_plain_finish(s);
			return;
		}
		s->auth_step = AUTH_PLAIN_RESP;
		s->phase = PH_AUTH;
		reply(s, 334, NULL, "%s", "");
	} else if (strcasecmp(mech, "LOGIN") == 0) {
		str_lcpy(s->mech, "LOGIN", sizeof(s->mech));
		s->authcid_off = 0;
		if (ir != NULL && *ir != '\0') {
			auth_login_part(s, ir, true);
			return;
		}
		s->auth_step = AUTH_LOGIN_USER;
		s->phase = PH_AUTH;
		reply(s, 334, NULL, "VXNlcm5hbWU6"); /* "Username:" */
	} else {
		reply(s, 504, "5.5.4", "Unrecognized authentication type");
	}
}

/* A SASL response line (PH_AUTH). */
static void
auth_response(struct smtp_server *s, const char *line)
{
	s->phase = PH_CMD;
	if (strcmp(line, "*") == 0) {
		wipe_auth(s);
		reply(s, 501, "5.0.0", "Authentication aborted");
		return;
	}
	switch (s->auth_step) {
	case AUTH_PLAIN_RESP:
		if (auth_decode(s, line) == 0)
			auth_plain_finish(s);
		break;
	case AUTH_LOGIN_USER:
		auth_login_part(s, line, true);
		break;
	case AUTH_LOGIN_PASS:
		auth_login_part(s, line, false);
		break;
	}
}

static const struct smtp_cmd smtp_cmds[] = {
	{"HELO", cmd_helo, 0},
	{"EHLO", cmd_ehlo, 0},
	{"MAIL", cmd_mail, CMD_TLS_GATE},
	{"RCPT", cmd_rcpt, CMD_TLS_GATE},
	{"DATA", cmd_data, CMD_TLS_GATE},
	{"RSET", cmd_rset, 0},
	{"NOOP", cmd_noop, 0},
	{"QUIT", cmd_quit, 0},
	{"VRFY", cmd_vrfy, CMD_TLS_GATE},
	{"HELP", cmd_help, 0},
	{"STARTTLS", cmd_starttls, 0},
	{"AUTH", cmd_auth, 0},
	{"EXPN", cmd_not_implemented, 0},
	{"BDAT", cmd_bdat, 0},
	{"TURN", cmd_not_implemented, 0},
	{"ETRN", cmd_not_implemented, 0},
	{NULL, NULL, 0},
};

static void
dispatch(struct smtp_server *s, char *line)
{
	size_t vlen = strcspn(line, " ");
	char *args = line + vlen;
	size_t alen;

	while (*args == ' ')
		args++;
	alen = strlen(args);
	while (alen > 0 && (args[alen - 1] == ' ' || args[alen - 1] == '\t'))
		args[--alen] = '\0';
	if (vlen == 0 || vlen > VERB_MAX) {
		reply(s, 500, "5.5.2", "Error: command not recognized");
		return;
	}
	for (const struct smtp_cmd *c = smtp_cmds; c->name != NULL; c++) {
		if (!str_span_caseeq(line, vlen, c->name))
			continue;
		if ((c->flags & CMD_TLS_GATE) && s->p.require_tls &&
		    !s->tls_active) {
			reply(s, 530, "5.7.0",
			    "Must issue a STARTTLS command first");
			return;
		}
		c->fn(s, args);
		return;
	}
	reply(s, 500, "5.5.2", "Error: command not recognized");
}

static int
command_step(struct smtp_server *s)
{
	enum line_result lr = get_line(s);
	bool in_auth = s->phase == PH_AUTH;

	switch (lr) {
	case LINE_NONE:
		return 0;
	case LINE_TOO_LONG:
		if (in_auth) {
			s->phase = PH_CMD;
			wipe_auth(s);
		}
		reply(s, 500, "5.5.2", "Error: line too long");
		return 1;
	case LINE_BARE_LF:
		reply(s, 521, "5.5.2", "Error: bare <LF> received");
		close_session(s, "bare_lf");
		return 1;
	case LINE_NUL:
		if (in_auth) {
			s->phase = PH_CMD;
			wipe_auth(s);
		}
		reply(s, 500, "5.5.2", "Error: NUL character in command");
		return 1;
	case LINE_8BIT:
		if (in_auth) {
			s->phase = PH_CMD;
			wipe_auth(s);
		}
		reply(s, 500, "5.5.2", "Error: non-ASCII character in command");
		return 1;
	case LINE_OK:
		break;
	}
	if (in_auth) {
		auth_response(s, (char *)s->line.data);
	} else {
		in_auth = str_casebegins((const char *)s->line.data, "AUTH");
		dispatch(s, (char *)s->line.data);
	}
	if (in_auth) /* the line held credentials */
		explicit_bzero(s->line.data, s->line.cap);
	return 1;
}

/* ---- message data ---- */

static void
emit(struct smtp_server *s, uint8_t c)
{
	if (s->too_big || s->line_too_long)
		return;
	if (s->msg_size >= s->p.max_message_size) {
		s->too_big = true;
		return;
	}
	s->msg_size++;
	s->chunk.data[s->chunk.len++] = c;
}

static void
count_line(struct smtp_server *s)
{
	if (++s->line_len > s->p.max_text_line - 1)
		s->line_too_long = true;
}

static void
text_byte(struct smtp_server *s, uint8_t c)
{
	if (c == '\r') {
		emit(s, '\r');
		count_line(s);
		s->dstate = D_CR;
	} else if (c == '\n') {
		/* A bare LF. */
		if (s->p.bare_lf == SMTP_SERVER_BARE_LF_REJECT) {
			s->bare_lf_seen = true;
			return;
		}
		emit(s, '\r');
		emit(s, '\n');
		s->line_len = 0;
		s->dstate = D_BOL_SOFT;
	} else {
		emit(s, c);
		count_line(s);
		s->dstate = D_TEXT;
	}
}

/* A run of bytes inside a line with no CR or LF: the same as text_byte
 * on each, in one step (emit, then count the line, per byte). */
static void
text_run(struct smtp_server *s, const uint8_t *q, size_t run)
{
	size_t m = s->p.max_text_line - 1;

	if (!s->too_big && !s->line_too_long) {
		/* Bytes emitted before the line count passes m. */
		size_t tries = m - s->line_len + 1;
		uint64_t room = s->p.max_message_size - s->msg_size;
		size_t n;

		if (tries > run)
			tries = run;
		n = tries;
		if (n > room) {
			n = (size_t)room;
			s->too_big = true;
		}
		memcpy(s->chunk.data + s->chunk.len, q, n);
		s->chunk.len += n;
		s->msg_size += n;
	}
	s->line_len += run;
	if (s->line_len > m)
		s->line_too_long = true;
}

static void
data_end(struct smtp_server *s)
{
	s->phase = PH_CMD;
	if (s->too_big) {
		txn_abort(s, "size");
		reply(s, 552, "5.3.4",
		    "Error: message exceeds fixed maximum message size");
		return;
	}
	if (s->line_too_long) {
		txn_abort(s, "line");
		reply(s, 500, "5.5.2", "Error: message line too long");
		return;
	}
	push_event(s, SMTP_SERVER_EV_DATA_END)->size = s->msg_size;
}

static int
bdat_step(struct smtp_server *s)
{
	size_t avail = s->in.len - s->rpos;

	if (s->bdat_left > 0) {
		size_t take;

		if (avail == 0)
			return 0;
		take = avail;
		if (take > s->bdat_left)
			take = (size_t)s->bdat_left;
		if (!s->bdat_discard) {
			uint64_t room = s->p.max_message_size - s->msg_size;
			size_t n;

			if (take > CHUNK_MAX - s->chunk.len)
				take = CHUNK_MAX - s->chunk.len;
			n = take;
			if (s->too_big) {
				n = 0;
			} else if (n > room) {
				n = (size_t)room;
				s->too_big = true;
			}
			memcpy(s->chunk.data + s->chunk.len,
			    s->in.data + s->rpos, n);
			s->chunk.len += n;
			s->msg_size += n;
		}
		s->rpos += take;
		s->bdat_left -= take;
		if (s->chunk.len > 0) {
			struct smtp_server_event *ev =
			    push_event(s, SMTP_SERVER_EV_DATA_CHUNK);

			ev->data = s->chunk.data;
			ev->len = s->chunk.len;
		}
		if (s->bdat_left > 0)
			return 1;
	}
	/* The chunk is complete. */
	s->phase = PH_CMD;
	if (s->bdat_discard) {
		s->bdat_discard = false;
		reply(s, s->bdat_code, s->bdat_enh, "%s", s->bdat_text);
		return 1;
	}
	if (s->too_big) {
		txn_abort(s, "size");
		reply(s, 552, "5.3.4",
		    "Error: message exceeds fixed maximum message size");
		return 1;
	}
	if (s->bdat_last) {
		push_event(s, SMTP_SERVER_EV_DATA_END)->size = s->msg_size;
		return 1;
	}
	reply(s, 250, "2.0.0", "%llu octets received",
	    (unsigned long long)s->bdat_size);
	return 1;
}

static int
data_step(struct smtp_server *s)
{
	const uint8_t *p;
	size_t avail = s->in.len - s->rpos, i;
	bool end = false;

	if (avail == 0)
		return 0;
	p = s->in.data + s->rpos;

	for (i = 0; i < avail && s->chunk.len < CHUNK_MAX &&
	    !s->bare_lf_seen; i++) {
		uint8_t c = p[i];

		if (s->dstate == D_TEXT) {
			size_t lim = avail - i, k = 0;
			const uint8_t *q = p + i;

			if (lim > CHUNK_MAX - s->chunk.len)
				lim = CHUNK_MAX - s->chunk.len;
			while (k < lim && q[k] != '\r' && q[k] != '\n')
				k++;
			if (k > 0) {
				text_run(s, q, k);
				i += k - 1;
				continue;
			}
		}
		switch (s->dstate) {
		case D_BOL:
			if (c == '.') {
				s->dstate = D_DOT;
				break;
			}
			text_byte(s, c);
			break;
		case D_BOL_SOFT:
		case D_TEXT:
			text_byte(s, c);
			break;
		case D_DOT:
			if (c == '\r') {
				s->dstate = D_DOT_CR;
			} else if (c == '\n') {
				/* ".<LF>": not an end; keep the dot. */
				emit(s, '.');
				count_line(s);
				text_byte(s, c);
			} else {
				/* The stuffing dot is dropped (4.5.2). */
				text_byte(s, c);
			}
			break;
		case D_DOT_CR:
			if (c == '\n') {
				end = true;
				break;
			}
			emit(s, '\r');
			count_line(s);
			text_byte(s, c);
			break;
		case D_CR:
			if (c == '\n') {
				emit(s, '\n');
				s->line_len = 0;
				s->dstate = D_BOL;
			} else {
				text_byte(s, c);
			}
			break;
		}
		if (end) {
			i++;
			break;
		}
	}
	s->rpos += i;
	if (s->chunk.len > 0) {
		struct smtp_server_event *ev =
		    push_event(s, SMTP_SERVER_EV_DATA_CHUNK);

		ev->data = s->chunk.data;
		ev->len = s->chunk.len;
	}
	if (s->bare_lf_seen) {
		reply(s, 521, "5.5.2", "Error: bare <LF> received");
		close_session(s, "bare_lf");
		return 1;
	}
	if (end)
		data_end(s);
	return i > 0 || end;
}

/* ---- the driver ---- */

int
smtp_server_next_event(struct smtp_server *s, struct smtp_server_event *ev)
{
	if (s->chunk_out) {
		s->chunk.len = 0;
		s->chunk_out = false;
		/* Idle sessions keep no message storage. */
		if (s->phase != PH_DATA && s->phase != PH_BDAT &&
		    !s->bdat_started)
			buf_release(&s->chunk);
	}
	for (;;) {
		if (s->evq_n > 0) {
			*ev = s->evq[s->evq_head];
			s->evq_head = (s->evq_head + 1) % EVQ_MAX;
			s->evq_n--;
			if (ev->type == SMTP_SERVER_EV_DATA_CHUNK)
				s->chunk_out = true;
			if (is_decision(ev->type))
				s->pending_seen = true;
			return 1;
		}
		if (s->phase == PH_CLOSED)
			return -1;
		if (s->pending != SMTP_SERVER_EV_NONE ||
		    s->phase == PH_TLS_WAIT || s->out.len > OUT_HIGH)
			return 0;
		if ((s->phase == PH_DATA ? data_step(s) : s->phase == PH_BDAT ?
		    bdat_step(s) : command_step(s)) == 0) {
			/* A burst of pipelined input leaves no big buffer. */
			if (s->rpos == s->in.len && s->in.cap > 16384) {
				explicit_bzero(s->in.data, s->in.cap);
				buf_release(&s->in);
				s->rpos = 0;
			}
			return 0;
		}
	}
}

static bool
enhanced_ok(int code, const char *enh)
{
	const char *p = enh;
	int parts = 0;

	if (enh == NULL || enh[0] != '0' + code / 100 || enh[1] != '.')
		return false;
	p = enh + 2;
	for (parts = 0; parts < 2; parts++) {
		size_t n = 0;

		while (p[n] >= '0' && p[n] <= '9')
			n++;
		if (n < 1 || n > 3)
			return false;
		p += n;
		if (parts == 0) {
			if (*p != '.')
				return false;
			p++;
		}
	}
	return *p == '\0';
}

int
smtp_server_accept(struct smtp_server *s, const char *text)
{
	enum smtp_server_event_type t = s->pending;

	if (t == SMTP_SERVER_EV_NONE || !s->pending_seen)
		return -1;
	s->pending = SMTP_SERVER_EV_NONE;
	switch (t) {
	case SMTP_SERVER_EV_MAIL:
		s->in_mail = true;
		s->rcpt_tried = false;
		s->nrcpt = 0;
		str_lcpy(s->sender, s->arg, sizeof(s->sender));
		reply(s, 250, "2.1.0", "%s", text ? text : "Ok");
		break;
	case SMTP_SERVER_EV_RCPT:
		if (s->nrcpt == s->rcpts_cap) {
			s->rcpts_cap = s->rcpts_cap ? s->rcpts_cap * 2 : 8;
			s->rcpts = xreallocarray(s->rcpts, s->rcpts_cap,
			    sizeof(char *));
		}
		s->rcpts[s->nrcpt++] = xstrdup(s->arg);
		reply(s, 250, "2.1.5", "%s", text ? text : "Ok");
		break;
	case SMTP_SERVER_EV_AUTH:
		free(s->auth_user);
		s->auth_user = xstrdup((const char *)s->auth.data +
		    s->authcid_off);
		wipe_auth(s);
		reply(s, 235, "2.7.0", "%s",
		    text ? text : "Authentication successful");
		break;
	case SMTP_SERVER_EV_DATA:
		if (s->bdat_cmd) {
			/* BDAT: no 354; the chunk's reply comes after it. */
			bdat_begin_message(s);
			s->phase = PH_BDAT;
			break;
		}
		if (buf_reserve(&s->chunk, CHUNK_MAX + 8) != 0)
			abort();
		s->phase = PH_DATA;
		s->dstate = D_BOL;
		s->msg_size = 0;
		s->line_len = 0;
		s->too_big = false;
		s->line_too_long = false;
		s->bare_lf_seen = false;
		out_line(s, 354, ' ', NULL,
		    text ? text : "End data with <CR><LF>.<CR><LF>");
		break;
	case SMTP_SERVER_EV_DATA_END:
		txn_clear(s);
		reply(s, 250, "2.0.0", "%s", text ? text : "Ok: queued");
		break;
	default:
		assert(0);
	}
	return 0;
}

int
smtp_server_reject(struct smtp_server *s, int code, const char *enhanced,
    const char *text)
{
	enum smtp_server_event_type t = s->pending;
	char enh[16];
	const char *deftext;

	if (t == SMTP_SERVER_EV_NONE || !s->pending_seen || code < 400 ||
	    code > 599 || code == 421)
		return -1;
	s->pending = SMTP_SERVER_EV_NONE;
	switch (t) {
	case SMTP_SERVER_EV_MAIL:
		deftext = "Sender address rejected";
		snprintf(enh, sizeof(enh), "%d.7.1", code / 100);
		break;
	case SMTP_SERVER_EV_RCPT:
		deftext = "Recipient address rejected";
		snprintf(enh, sizeof(enh), "%d.7.1", code / 100);
		break;
	case SMTP_SERVER_EV_AUTH:
		wipe_auth(s);
		deftext = code >= 500 ? "Authentication credentials invalid"
		    : "Temporary authentication failure";
		snprintf(enh, sizeof(enh), "%d.7.%d", code / 100,
		    code >= 500 ? 8 : 0);
		break;
	case SMTP_SERVER_EV_DATA:
	case SMTP_SERVER_EV_DATA_END:
		txn_clear(s);
		deftext = "Message not accepted";
		snprintf(enh, sizeof(enh), "%d.3.0", code / 100);
		break;
	default:
		assert(0);
		return -1;
	}
	if (enhanced_ok(code, enhanced))
		str_lcpy(enh, enhanced, sizeof(enh));
	if (t == SMTP_SERVER_EV_DATA && s->bdat_cmd) {
		char clean[TEXT_MAX + 1];
		size_t i;

		/* The refusal follows the chunk, which is read and dropped. */
		str_lcpy(clean, text ? text : deftext, sizeof(clean));
		for (i = 0; clean[i] != '\0'; i++)
			if ((unsigned char)clean[i] < 32 || clean[i] == 127)
				clean[i] = '?';
		bdat_defer(s, code, enh, clean);
		return 0;
	}
	reply(s, code, enh, "%s", text ? text : deftext);
	return 0;
}

int
smtp_server_tls_started(struct smtp_server *s)
{
	if (s->phase != PH_TLS_WAIT)
		return -1;
	s->phase = PH_CMD;
	s->tls_active = true;
	s->helo_done = false;
	s->esmtp = false;
	free(s->helo);
	s->helo = NULL;
	free(s->auth_user);
	s->auth_user = NULL;
	s->in.len = 0;
	s->rpos = 0;
	return 0;
}

int64_t
smtp_server_timeout_ms(const struct smtp_server *s)
{
	if (s->phase == PH_CLOSED || s->pending != SMTP_SERVER_EV_NONE)
		return -1;
	if (s->phase == PH_DATA || s->phase == PH_BDAT)
		return s->p.timeout_data_ms;
	return s->p.timeout_command_ms;
}

static void
say_421(struct smtp_server *s, const char *enh, const char *text)
{
	char line[TEXT_MAX + 1];

	snprintf(line, sizeof(line), "%s %s", s->hostname, text);
	out_line(s, 421, ' ', enh, line);
}

void
smtp_server_expire(struct smtp_server *s)
{
	if (s->phase == PH_CLOSED)
		return;
	say_421(s, "4.4.2", "Error: timeout exceeded");
	close_session(s, "timeout");
}

void
smtp_server_disconnected(struct smtp_server *s)
{
	if (s->phase == PH_CLOSED)
		return;
	close_session(s, "disconnect");
	s->out.len = 0;
}

void
smtp_server_close_421(struct smtp_server *s, const char *text)
{
	if (s->phase == PH_CLOSED)
		return;
	say_421(s, "4.3.2", text ? text :
	    "Service not available, closing transmission channel");
	close_session(s, "close");
}

const uint8_t *
smtp_server_output(const struct smtp_server *s, size_t *len_r)
{
	*len_r = s->out.len;
	return s->out.data;
}

void
smtp_server_consume(struct smtp_server *s, size_t n)
{
	buf_consume(&s->out, n);
}

bool
smtp_server_closed(const struct smtp_server *s)
{
	return s->phase == PH_CLOSED;
}

bool
smtp_server_tls_active(const struct smtp_server *s)
{
	return s->tls_active;
}

const char *
smtp_server_get0_helo(const struct smtp_server *s)
{
	return s->helo;
}

const char *
smtp_server_get0_auth_user(const struct smtp_server *s)
{
	return s->auth_user;
}

const char *
smtp_server_get0_sender(const struct smtp_server *s)
{
	return s->in_mail ? s->sender : NULL;
}

size_t
smtp_server_rcpt_count(const struct smtp_server *s)
{
	return s->nrcpt;
}

const char *
smtp_server_get0_rcpt(const struct smtp_server *s, size_t i)
{
	return i < s->nrcpt ? s->rcpts[i] : NULL;
}

unsigned
smtp_server_error_count(const struct smtp_server *s)
{
	return s->errors;
}
