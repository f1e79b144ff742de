/* Fuzz target for the SMTP server session (hisp/smtp_server.h). The first
 * byte picks session options, the second how the input is split; the rest
 * is what a client sends (its top bit turns CHUNKING on). Decisions are answered from the input's bytes
 * (accept, or a 4xx/5xx), STARTTLS "handshakes" at once, and the timer
 * fires at the end. Checks: every reply line is "ddd" + ' ' or '-' + text
 * + CRLF, message bytes never exceed the size limit, the session never
 * answers while a decision is open, and feeding the input whole or in
 * pieces gives the same replies and the same message bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hisp/smtp_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct state {
	struct smtp_server *s;
	uint64_t digest;      /* of every reply byte */
	uint64_t body_digest; /* of every message byte */
	uint64_t body;
	uint64_t max;
	unsigned answer;
	const uint8_t *data;
	size_t size;
};

static uint64_t
fnv(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void
check_output(struct state *st)
{
	size_t n, i = 0;
	const uint8_t *p = smtp_server_output(st->s, &n);

	while (i < n) {
		const uint8_t *lf = memchr(p + i, '\n', n - i);
		size_t len;

		if (lf == NULL)
			abort(); /* replies are whole lines */
		len = (size_t)(lf - (p + i));
		if (len < 4 || p[i + len - 1] != '\r')
			abort();
		for (int k = 0; k < 3; k++)
			if (p[i + k] < '0' || p[i + k] > '9')
				abort();
		if (p[i + 3] != ' ' && p[i + 3] != '-')
			abort();
		for (size_t k = 0; k + 1 < len; k++)
			if (p[i + k] < 32 || p[i + k] == 127)
				abort();
		i += len + 1;
	}
	st->digest = fnv(st->digest, p, n);
	smtp_server_consume(st->s, n);
}

static void
pump(struct state *st)
{
	struct smtp_server_event ev;

	while (smtp_server_next_event(st->s, &ev) == 1) {
		unsigned pick = 0;

		if (ev.type == SMTP_SERVER_EV_MAIL || ev.type == SMTP_SERVER_EV_RCPT ||
		    ev.type == SMTP_SERVER_EV_AUTH || ev.type == SMTP_SERVER_EV_DATA ||
		    ev.type == SMTP_SERVER_EV_DATA_END)
			pick = st->size ? st->data[st->answer++ % st->size] : 0;
		switch (ev.type) {
		case SMTP_SERVER_EV_DATA_CHUNK:
			st->body_digest = fnv(st->body_digest, ev.data,
			    ev.len);
			st->body += ev.len;
			if (st->body > st->max)
				abort();
			break;
		case SMTP_SERVER_EV_DATA_END:
			st->body = 0;
			/* fallthrough */
		case SMTP_SERVER_EV_MAIL:
		case SMTP_SERVER_EV_RCPT:
		case SMTP_SERVER_EV_AUTH:
		case SMTP_SERVER_EV_DATA: {
			size_t before, after;

			smtp_server_output(st->s, &before);
			if (smtp_server_next_event(st->s, &ev) != 0)
				abort(); /* paused until answered */
			smtp_server_output(st->s, &after);
			if (after != before)
				abort();
			if (pick % 4 == 0)
				smtp_server_reject(st->s, pick % 8 ? 550 : 451,
				    "5.7.1", NULL);
			else
				smtp_server_accept(st->s, NULL);
			break;
		}
		case SMTP_SERVER_EV_STARTTLS:
			smtp_server_tls_started(st->s);
			break;
		case SMTP_SERVER_EV_ABORT:
			st->body = 0;
			break;
		default:
			break;
		}
	}
	check_output(st);
}

static uint64_t
run(const struct smtp_server_params *p, const uint8_t *data, size_t size,
    unsigned split)
{
	struct state st;
	size_t off = 0;

	memset(&st, 0, sizeof(st));
	st.digest = 14695981039346656037ULL;
	st.body_digest = 14695981039346656037ULL;
	st.s = smtp_server_new(p);
	st.max = p->max_message_size;
	st.data = data;
	st.size = size;
	pump(&st);
	while (off < size) {
		size_t chunk = split == 0 ? size - off : 1 + (off * 31 + split) %
		    (split > 200 ? 1 : split);
		size_t took;

		if (chunk > size - off)
			chunk = size - off;
		took = smtp_server_receive(st.s, data + off, chunk);
		off += took;
		pump(&st);
		if (took == 0 && smtp_server_receive(st.s, data + off,
		    size - off) == 0)
			break; /* held input that nothing will release */
		if (smtp_server_closed(st.s))
			break;
	}
	(void)smtp_server_timeout_ms(st.s);
	smtp_server_expire(st.s);
	pump(&st);
	smtp_server_free(&st.s);
	return st.digest ^ (st.body_digest * 31);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_server_params p;
	unsigned opts, split;

	if (size < 2)
		return 0;
	opts = data[0];
	split = data[1];
	data += 2;
	size -= 2;
	smtp_server_params_default(&p);
	p.hostname = "mx.fuzz.test";
	p.tls_available = opts & 1;
	p.auth_enabled = opts & 2;
	p.auth_requires_tls = opts & 4;
	p.require_tls = opts & 8;
	p.require_auth = opts & 16;
	p.bare_lf = opts & 32 ? SMTP_SERVER_BARE_LF_REJECT :
	    SMTP_SERVER_BARE_LF_NORMALIZE;
	p.max_message_size = opts & 64 ? 64 : 4096;
	p.max_text_line = 1000;
	p.max_recipients = opts & 128 ? 2 : 100;
	p.max_errors = 10;
	p.chunking = (split & 0x80) != 0;
	/* Whole and split runs must agree (STARTTLS discards what follows
	 * it in the same read, so inputs with STARTTLS are run once). */
	if (run(&p, data, size, split) != run(&p, data, size, 0) &&
	    !(opts & 1))
		abort();
	return 0;
}
