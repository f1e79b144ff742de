#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SMTP_TEST_SOCKETS
#include "tests/lib/testlib.h"
#include "tests/unit/hisp/smtp_test_private.h"

#include "core/xmalloc.h"
#include "hisp/smtp_client.h"
#include "hisp/smtp_server.h"
#include "hisp/tls.h"

/* ---- scripted server: the client against a fixed transcript ---- */

struct cli_run {
	struct smtp_client_params params;
	struct smtp_client *c;
	const char *body;
	struct buf sent;    /* every byte the client wrote */
	struct buf results; /* "ok,perm,..." then "|" message status */
	struct buf events;
};

static void
cli_pump(struct cli_run *r)
{
	struct smtp_client_event ev;
	const uint8_t *p;
	size_t n;

	while (smtp_client_next_event(r->c, &ev) == 1) {
		switch (ev.type) {
		case SMTP_CLIENT_EV_BODY:
			buf_append_str(&r->events, "body ");
			smtp_client_body(r->c, (const uint8_t *)r->body,
			    strlen(r->body));
			smtp_client_body_end(r->c);
			break;
		case SMTP_CLIENT_EV_RCPT:
			buf_printf(&r->events, "rcpt%zu:%s ", ev.rcpt,
			    smtp_client_status_name(ev.result->status));
			break;
		case SMTP_CLIENT_EV_DONE:
			buf_printf(&r->events, "done:%s ",
			    smtp_client_status_name(ev.result->status));
			for (size_t i = 0; i < smtp_client_rcpt_count(r->c); i++)
				buf_printf(&r->results, "%s%s", i ? "," : "",
				    smtp_client_status_name(
				    smtp_client_rcpt_result(r->c, i)->status));
			buf_printf(&r->results, "|%s",
			    smtp_client_status_name(ev.result->status));
			break;
		case SMTP_CLIENT_EV_STARTTLS:
			buf_append_str(&r->events, "starttls ");
			break;
		default:
			break;
		}
	}
	p = smtp_client_output(r->c, &n);
	buf_append(&r->sent, p, n);
	smtp_client_consume(r->c, n);
}

static void
cli_begin(void *ctx)
{
	struct cli_run *r = ctx;

	smtp_client_free(&r->c);
	buf_release(&r->sent);
	buf_release(&r->results);
	buf_release(&r->events);
	buf_init(&r->sent, BUF_UNLIMITED);
	buf_init(&r->results, BUF_UNLIMITED);
	buf_init(&r->events, BUF_UNLIMITED);
	r->c = smtp_client_new(&r->params);
	cli_pump(r);
}

static int
cli_feed(void *ctx, const uint8_t *p, size_t n)
{
	struct cli_run *r = ctx;

	while (n > 0) {
		size_t took = smtp_client_receive(r->c, p, n);

		p += took;
		n -= took;
		cli_pump(r);
	}
	return 0;
}

static uint64_t
cli_end(void *ctx)
{
	struct cli_run *r = ctx;
	uint64_t h = TESTLIB_FNV_INIT;

	h = testlib_fnv(h, r->sent.data, r->sent.len);
	h = testlib_fnv(h, r->results.data, r->results.len);
	return testlib_fnv(h, r->events.data, r->events.len);
}

static const struct trickle_ops cli_ops = {cli_begin, cli_feed, cli_end};

static void
cli_release(struct cli_run *r)
{
	smtp_client_free(&r->c);
	buf_release(&r->sent);
	buf_release(&r->results);
	buf_release(&r->events);
}

#define GREET "220 mx.test ESMTP\r\n"
#define EHLO_PIPE "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n" \
	"250 8BITMIME\r\n"
#define EHLO_PLAIN "250-mx.test\r\n250 SIZE 1000\r\n"

static const char *const two_rcpts[] = {"b@x.test", "c@x.test"};

static const struct cli_case {
	const char *name;
	enum smtp_client_tls tls;
	bool auth;
	uint64_t size;
	const char *body;
	const char *server;   /* every reply the scripted server sends */
	const char *want_sent;
	const char *want_results;
} cli_cases[] = {
	{"pipelined transaction", SMTP_CLIENT_TLS_OPPORTUNISTIC, false, 0,
	    "hi\r\n", GREET EHLO_PIPE "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	    "550 5.1.1 No such user\r\n354 go\r\n250 2.0.0 queued\r\n"
	    "221 bye\r\n",
	    "EHLO client.test\r\nMAIL FROM:<a@y.test>\r\n"
	    "RCPT TO:<b@x.test>\r\nRCPT TO:<c@x.test>\r\nDATA\r\n"
	    "hi\r\n.\r\nQUIT\r\n", "ok,perm|ok"},
	{"one command at a time without pipelining",
	    SMTP_CLIENT_TLS_OPPORTUNISTIC, false, 0, "hi", GREET EHLO_PLAIN
	    "250 Ok\r\n451 4.3.0 later\r\n250 Ok\r\n354 go\r\n250 Ok\r\n",
	    "EHLO client.test\r\nMAIL FROM:<a@y.test>\r\n"
	    "RCPT TO:<b@x.test>\r\nRCPT TO:<c@x.test>\r\nDATA\r\n"
	    "hi\r\n.\r\nQUIT\r\n", "temp,ok|ok"},
	{"size and body announced when offered",
	    SMTP_CLIENT_TLS_OPPORTUNISTIC, false, 500, "x\r\n", GREET EHLO_PIPE
	    "552 5.3.4 too big\r\n503 5.5.1 need MAIL\r\n"
	    "503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n",
	    "EHLO client.test\r\nMAIL FROM:<a@y.test> SIZE=500 BODY=8BITMIME\r\n"
	    "RCPT TO:<b@x.test>\r\nRCPT TO:<c@x.test>\r\nDATA\r\nQUIT\r\n",
	    "perm,perm|perm"},
	{"message larger than the server's SIZE", SMTP_CLIENT_TLS_NONE, false,
	    5000, "x", GREET EHLO_PIPE, "EHLO client.test\r\nQUIT\r\n",
	    "perm,perm|perm"},
	{"helo after ehlo refused", SMTP_CLIENT_TLS_OPPORTUNISTIC, false, 0,
	    "x\r\n", GREET "502 5.5.1 no\r\n250 mx.test\r\n250 Ok\r\n250 Ok\r\n"
	    "250 Ok\r\n354 go\r\n250 Ok\r\n",
	    "EHLO client.test\r\nHELO client.test\r\nMAIL FROM:<a@y.test>\r\n"
	    "RCPT TO:<b@x.test>\r\nRCPT TO:<c@x.test>\r\nDATA\r\n"
	    "x\r\n.\r\nQUIT\r\n", "ok,ok|ok"},
	{"greeting refused", SMTP_CLIENT_TLS_OPPORTUNISTIC, false, 0, "",
	    "554 5.3.2 go away\r\n", "QUIT\r\n", "perm,perm|perm"},
	{"greeting busy", SMTP_CLIENT_TLS_OPPORTUNISTIC, false, 0, "",
	    "421 4.3.2 busy\r\n", "", "temp,temp|temp"},
	{"server closing mid-transaction", SMTP_CLIENT_TLS_NONE, false, 0, "x",
	    GREET EHLO_PIPE "250 Ok\r\n250 Ok\r\n421 4.4.2 timeout\r\n",
	    "EHLO client.test\r\nMAIL FROM:<a@y.test>\r\n"
	    "RCPT TO:<b@x.test>\r\nRCPT TO:<c@x.test>\r\nDATA\r\n",
	    "temp,temp|temp"},
	{"tls required but not offered", SMTP_CLIENT_TLS_REQUIRED, false, 0, "",
	    GREET EHLO_PIPE, "EHLO client.test\r\nQUIT\r\n", "temp,temp|temp"},
	{"starttls refused, opportunistic goes on",
	    SMTP_CLIENT_TLS_OPPORTUNISTIC, false, 0, "x",
	    GREET "250-mx.test\r\n250 STARTTLS\r\n454 4.7.0 no TLS\r\n"
	    "250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n250 Ok\r\n",
	    "EHLO client.test\r\nSTARTTLS\r\nMAIL FROM:<a@y.test>\r\n"
	    "RCPT TO:<b@x.test>\r\nRCPT TO:<c@x.test>\r\nDATA\r\n"
	    "x\r\n.\r\nQUIT\r\n", "ok,ok|ok"},
	{"starttls refused, required fails", SMTP_CLIENT_TLS_REQUIRED, false, 0,
	    "x", GREET "250-mx.test\r\n250 STARTTLS\r\n454 4.7.0 no TLS\r\n",
	    "EHLO client.test\r\nSTARTTLS\r\nQUIT\r\n", "temp,temp|temp"},
	{"every recipient refused, pipelined", SMTP_CLIENT_TLS_NONE, false, 0,
	    "x", GREET EHLO_PIPE "250 Ok\r\n550 5.1.1 no\r\n450 4.2.0 full\r\n"
	    "554 5.5.1 no valid recipients\r\n",
	    "EHLO client.test\r\nMAIL FROM:<a@y.test>\r\n"
	    "RCPT TO:<b@x.test>\r\nRCPT TO:<c@x.test>\r\nDATA\r\nQUIT\r\n",
	    "perm,temp|temp"},
	{"every recipient refused, one at a time", SMTP_CLIENT_TLS_NONE, false,
	    0, "x", GREET EHLO_PLAIN "250 Ok\r\n550 5.1.1 no\r\n550 5.1.1 no\r\n",
	    "EHLO client.test\r\nMAIL FROM:<a@y.test>\r\n"
	    "RCPT TO:<b@x.test>\r\nRCPT TO:<c@x.test>\r\nQUIT\r\n",
	    "perm,perm|perm"},
	{"354 with nobody accepted", SMTP_CLIENT_TLS_NONE, false, 0, "x",
	    GREET EHLO_PIPE "250 Ok\r\n550 no\r\n550 no\r\n354 go\r\n"
	    "554 no\r\n", "EHLO client.test\r\nMAIL FROM:<a@y.test>\r\n"
	    "RCPT TO:<b@x.test>\r\nRCPT TO:<c@x.test>\r\nDATA\r\n.\r\nQUIT\r\n",
	    "perm,perm|perm"},
	{"message refused after data", SMTP_CLIENT_TLS_NONE, false, 0,
	    "x\r\n", GREET EHLO_PIPE "250 Ok\r\n250 Ok\r\n550 5.1.1 no\r\n"
	    "354 go\r\n451 4.3.0 try later\r\n",
	    "EHLO client.test\r\nMAIL FROM:<a@y.test>\r\n"
	    "RCPT TO:<b@x.test>\r\nRCPT TO:<c@x.test>\r\nDATA\r\n"
	    "x\r\n.\r\nQUIT\r\n", "temp,perm|temp"},
	{"data refused", SMTP_CLIENT_TLS_NONE, false, 0, "x\r\n",
	    GREET EHLO_PIPE "250 Ok\r\n250 Ok\r\n250 Ok\r\n554 5.3.0 no\r\n",
	    "EHLO client.test\r\nMAIL FROM:<a@y.test>\r\n"
	    "RCPT TO:<b@x.test>\r\nRCPT TO:<c@x.test>\r\nDATA\r\nQUIT\r\n",
	    "perm,perm|perm"},
	{"dot-stuffing and line ends", SMTP_CLIENT_TLS_NONE, false, 0,
	    ".x\n..y\r\nz\r\n.\r\nend", GREET EHLO_PIPE "250 Ok\r\n250 Ok\r\n"
	    "250 Ok\r\n354 go\r\n250 Ok\r\n",
	    "EHLO client.test\r\nMAIL FROM:<a@y.test>\r\n"
	    "RCPT TO:<b@x.test>\r\nRCPT TO:<c@x.test>\r\nDATA\r\n"
	    "..x\r\n...y\r\nz\r\n..\r\nend\r\n.\r\nQUIT\r\n", "ok,ok|ok"},
	{"auth without tls is refused by the client", SMTP_CLIENT_TLS_NONE,
	    true, 0, "x", GREET "250-mx.test\r\n250 AUTH PLAIN LOGIN\r\n",
	    "EHLO client.test\r\nQUIT\r\n", "temp,temp|temp"},
	{"malformed reply", SMTP_CLIENT_TLS_NONE, false, 0, "x",
	    GREET "250-mx.test\r\n251 oops\r\n", "EHLO client.test\r\nQUIT\r\n",
	    "temp,temp|temp"},
};

static void
test_smtp_client_table_cases(void **state)
{
	struct cli_run r;
	int failures = 0;

	for (size_t i = 0; i < sizeof(cli_cases) / sizeof(cli_cases[0]); i++) {
		const struct cli_case *k = &cli_cases[i];

		memset(&r, 0, sizeof(r));
		smtp_client_params_default(&r.params);
		r.params.helo_name = "client.test";
		r.params.sender = "a@y.test";
		r.params.rcpts = two_rcpts;
		r.params.nrcpt = 2;
		r.params.tls = k->tls;
		r.params.size = k->size;
		r.params.body_8bit = k->size > 0;
		if (k->auth) {
			r.params.auth_user = "alice";
			r.params.auth_password = "secret";
		}
		r.body = k->body;
		testlib_trickle(&cli_ops, &r, k->server, strlen(k->server), 8);
		if (strcmp(buf_cstr(&r.sent), k->want_sent) != 0) {
			print_error("%s: sent: got \"%s\", want \"%s\"\n",
			    k->name, buf_cstr(&r.sent), k->want_sent);
			failures++;
		}
		if (strcmp(buf_cstr(&r.results), k->want_results) != 0) {
			print_error("%s: results: got %s, want %s\n", k->name,
			    buf_cstr(&r.results), k->want_results);
			failures++;
		}
		cli_release(&r);
	}
	assert_int_equal(failures, 0);
}

/* Whether the server took MAIL FROM decides if another MX may be tried
 * (hisp/smtp_sender.c): never once a message could have been taken. */
static void
test_smtp_client_mail_accepted_only_after_a_2xx_to_mail(void **state)
{
	static const struct {
		const char *name, *server;
		bool abort, want;
	} cases[] = {
		{"421 greeting", "421 4.3.2 busy\r\n", false, false},
		{"554 greeting", "554 5.3.2 go away\r\n", false, false},
		{"451 to ehlo", GREET "451 4.3.0 later\r\n", false, false},
		{"454 to starttls, required", GREET "250-mx.test\r\n"
		    "250 STARTTLS\r\n454 4.7.0 no TLS\r\n", false, false},
		{"451 to mail", GREET EHLO_PLAIN "451 4.3.0 later\r\n", false,
		    false},
		{"451 to mail, pipelined", GREET EHLO_PIPE "451 4.3.0 later\r\n"
		    "503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n"
		    "503 5.5.1 need MAIL\r\n", false, false},
		{"lost after ehlo", GREET EHLO_PLAIN, true, false},
		{"451 to every rcpt", GREET EHLO_PLAIN "250 Ok\r\n"
		    "451 4.3.0 later\r\n451 4.3.0 later\r\n", false, true},
		{"lost after mail", GREET EHLO_PLAIN "250 Ok\r\n", true, true},
		{"451 after the data", GREET EHLO_PIPE "250 Ok\r\n250 Ok\r\n"
		    "250 Ok\r\n354 go\r\n451 4.3.0 later\r\n", false, true},
	};
	int failures = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cli_run r;
		bool got;

		memset(&r, 0, sizeof(r));
		smtp_client_params_default(&r.params);
		r.params.sender = "a@y.test";
		r.params.rcpts = two_rcpts;
		r.params.nrcpt = 2;
		r.params.tls = i == 3 ? SMTP_CLIENT_TLS_REQUIRED :
		    SMTP_CLIENT_TLS_OPPORTUNISTIC;
		r.body = "x\r\n";
		cli_begin(&r);
		cli_feed(&r, (const uint8_t *)cases[i].server,
		    strlen(cases[i].server));
		if (cases[i].abort) {
			smtp_client_abort(r.c, "connection lost");
			cli_pump(&r);
		}
		got = smtp_client_mail_accepted(r.c);
		if (got != cases[i].want) {
			print_error("%s: got %d, want %d\n", cases[i].name, got,
			    cases[i].want);
			failures++;
		}
		cli_release(&r);
	}
	assert_int_equal(failures, 0);
}

static void
test_smtp_client_timeouts_follow_rfc5321(void **state)
{
	struct cli_run r;
	static const char srv[] = GREET EHLO_PIPE "250 Ok\r\n250 Ok\r\n";

	memset(&r, 0, sizeof(r));
	smtp_client_params_default(&r.params);
	r.params.sender = "a@y.test";
	r.params.rcpts = two_rcpts;
	r.params.nrcpt = 2;
	r.body = "x";
	cli_begin(&r);
	assert_int_equal(smtp_client_timeout_ms(r.c), 5 * 60 * 1000);
	cli_feed(&r, (const uint8_t *)srv, sizeof(srv) - 1);
	/* Waiting for the second RCPT reply: command timeout. */
	assert_int_equal(smtp_client_timeout_ms(r.c), 5 * 60 * 1000);
	cli_feed(&r, (const uint8_t *)"250 Ok\r\n", 8);
	assert_int_equal(smtp_client_timeout_ms(r.c), 2 * 60 * 1000);
	cli_feed(&r, (const uint8_t *)"354 go\r\n", 8);
	assert_int_equal(smtp_client_timeout_ms(r.c), 10 * 60 * 1000);
	smtp_client_expire(r.c);
	cli_pump(&r);
	assert_string_equal(buf_cstr(&r.results), "temp,temp|temp");
	assert_int_equal(smtp_client_timeout_ms(r.c), -1);
	assert_string_equal(smtp_client_rcpt_result(r.c, 0)->text, "timeout");
	cli_release(&r);
}

static void
test_smtp_client_abort_keeps_final_results(void **state)
{
	struct cli_run r;
	static const char srv[] = GREET EHLO_PIPE "250 Ok\r\n550 5.1.1 no\r\n";
	const struct smtp_client_result *res;

	memset(&r, 0, sizeof(r));
	smtp_client_params_default(&r.params);
	r.params.sender = "a@y.test";
	r.params.rcpts = two_rcpts;
	r.params.nrcpt = 2;
	cli_begin(&r);
	cli_feed(&r, (const uint8_t *)srv, sizeof(srv) - 1);
	smtp_client_abort(r.c, "connection lost");
	cli_pump(&r);
	assert_string_equal(buf_cstr(&r.results), "perm,temp|temp");
	res = smtp_client_rcpt_result(r.c, 0);
	assert_int_equal(res->code, 550);
	assert_string_equal(res->enhanced, "5.1.1");
	assert_string_equal(res->text, "5.1.1 no");
	assert_string_equal(smtp_client_rcpt_result(r.c, 1)->text,
	    "connection lost");
	assert_null(strstr(buf_cstr(&r.sent), "QUIT"));
	cli_release(&r);
}

static void
test_smtp_client_addresses_cannot_inject_commands(void **state)
{
	static const char *const evil[] = {"b@x.test>\r\nRSET\r\nRCPT TO:<c"};
	struct cli_run r;
	static const char srv[] = GREET EHLO_PIPE;

	memset(&r, 0, sizeof(r));
	smtp_client_params_default(&r.params);
	r.params.sender = "a@y.test";
	r.params.rcpts = evil;
	r.params.nrcpt = 1;
	cli_begin(&r);
	cli_feed(&r, (const uint8_t *)srv, sizeof(srv) - 1);
	assert_null(strstr(buf_cstr(&r.sent), "\r\nRSET"));
	assert_non_null(strstr(buf_cstr(&r.sent), "RCPT TO:<b@x.test>??RSET??"));
	cli_release(&r);
}

/* ---- the client against the server session, in memory ---- */

struct link {
	struct srv_run r;
	struct cli_run c;
	struct tls_ctx *sctx, *cctx;
	struct tls_conn *ts, *tc;
	bool client_wants_tls;
	bool done;
};

static void
link_tls_pass(struct tls_conn *from, struct tls_conn *to, const uint8_t *p,
    size_t n, struct buf *plain)
{
	struct buf wire;
	struct err e;

	buf_init(&wire, BUF_UNLIMITED);
	assert_int_equal(tls_conn_write(from, p, n, &e), 0);
	tls_conn_take_output(from, &wire);
	assert_int_equal(tls_conn_feed(to, wire.data, wire.len, &e), 0);
	assert_true(tls_conn_read(to, plain, &e) >= 0);
	buf_release(&wire);
}

static void
link_handshake(struct link *l)
{
	struct buf wire;
	struct err e;
	int rounds = 0;

	l->ts = tls_conn_new(l->sctx, NULL);
	l->tc = tls_conn_new(l->cctx, "mx.local.test");
	buf_init(&wire, BUF_UNLIMITED);
	while (!tls_conn_handshake_done(l->ts) ||
	    !tls_conn_handshake_done(l->tc)) {
		buf_reset(&wire);
		tls_conn_take_output(l->tc, &wire);
		assert_int_equal(tls_conn_feed(l->ts, wire.data, wire.len, &e), 0);
		buf_reset(&wire);
		tls_conn_take_output(l->ts, &wire);
		assert_int_equal(tls_conn_feed(l->tc, wire.data, wire.len, &e), 0);
		assert_true(++rounds < 10);
	}
	buf_release(&wire);
}

static void
link_run(struct link *l)
{
	struct buf plain;

	buf_init(&plain, BUF_UNLIMITED);
	for (int iter = 0; iter < 1000; iter++) {
		bool progress = false;
		size_t n;
		const uint8_t *p;

		/* Server replies to the client. */
		if (l->r.out.len > 0) {
			buf_reset(&plain);
			if (l->ts != NULL)
				link_tls_pass(l->ts, l->tc, l->r.out.data,
				    l->r.out.len, &plain);
			else
				buf_append(&plain, l->r.out.data, l->r.out.len);
			buf_reset(&l->r.out);
			cli_feed(&l->c, plain.data, plain.len);
			progress = true;
		}
		if (strstr(buf_cstr(&l->c.events), "starttls") != NULL &&
		    l->ts == NULL)
			l->client_wants_tls = true;
		/* Client commands to the server. */
		p = smtp_client_output(l->c.c, &n);
		(void)p;
		if (l->c.sent.len > 0) {
			buf_reset(&plain);
			if (l->ts != NULL)
				link_tls_pass(l->tc, l->ts, l->c.sent.data,
				    l->c.sent.len, &plain);
			else
				buf_append(&plain, l->c.sent.data,
				    l->c.sent.len);
			buf_reset(&l->c.sent);
			srv_feed_plain(&l->r, plain.data, plain.len);
			progress = true;
		}
		if (l->client_wants_tls && l->r.want_tls && l->ts == NULL) {
			link_handshake(l);
			l->r.want_tls = false;
			assert_int_equal(smtp_server_tls_started(l->r.s), 0);
			assert_int_equal(smtp_client_tls_started(l->c.c), 0);
			cli_pump(&l->c);
			srv_pump(&l->r);
			progress = true;
		}
		if (!progress)
			break;
	}
	buf_release(&plain);
}

static void
link_init(struct link *l, const char *const *rcpts, size_t nrcpt,
    const char *body)
{
	memset(l, 0, sizeof(*l));
	smtp_server_params_default(&l->r.params);
	l->r.params.hostname = "mx.local.test";
	smtp_client_params_default(&l->c.params);
	l->c.params.helo_name = "client.test";
	l->c.params.sender = "a@remote.test";
	l->c.params.rcpts = rcpts;
	l->c.params.nrcpt = nrcpt;
	l->c.params.tls = SMTP_CLIENT_TLS_NONE;
	l->c.body = body;
}

static void
link_start(struct link *l)
{
	srv_begin(&l->r);
	cli_begin(&l->c);
	link_run(l);
}

static void
link_release(struct link *l)
{
	srv_release(&l->r);
	cli_release(&l->c);
	tls_conn_free(&l->ts);
	tls_conn_free(&l->tc);
	tls_ctx_free(&l->sctx);
	tls_ctx_free(&l->cctx);
}

static const char *const three_rcpts[] = {
	"b@local.test", "x@far.test", "Postmaster",
};

static void
test_smtp_client_pipelined_transaction_against_server(void **state)
{
	static const char body[] = "Subject: test\r\n\r\n.leading dot\r\n"
	    "..two\r\n.\r\nlast line without CRLF";
	struct link l;

	link_init(&l, three_rcpts, 3, body);
	link_start(&l);
	assert_string_equal(buf_cstr(&l.c.results), "ok,perm,ok|ok");
	assert_true(smtp_client_pipelining(l.c.c));
	assert_int_equal(smtp_client_rcpt_result(l.c.c, 1)->code, 554);
	assert_string_equal(smtp_client_rcpt_result(l.c.c, 1)->enhanced, "5.7.1");
	assert_int_equal(smtp_client_rcpt_result(l.c.c, 0)->code, 250);
	assert_string_equal(smtp_client_rcpt_result(l.c.c, 0)->text,
	    "2.0.0 Ok: queued as T1");
	/* The server got the message back byte for byte (plus the final
	 * CRLF the client added). */
	assert_string_equal(buf_cstr(&l.r.body), "Subject: test\r\n\r\n"
	    ".leading dot\r\n..two\r\n.\r\nlast line without CRLF\r\n");
	assert_string_equal(buf_cstr(&l.r.events),
	    "ehlo:client.test mail:a@remote.test rcpt:b@local.test "
	    "rcpt:x@far.test rcpt:Postmaster data end:65 ");
	assert_true(l.r.closed);
	link_release(&l);
}

static void
test_smtp_client_submission_with_starttls_and_auth(void **state)
{
	char *dir = testlib_tmpdir();
	char *cert = xasprintf("%s/c.pem", dir), *key = xasprintf("%s/k.pem", dir);
	char *cmd = xasprintf("openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -keyout %s -out %s -days 2 "
	    "-subj /CN=mx.local.test -addext subjectAltName=DNS:mx.local.test "
	    ">/dev/null 2>&1", key, cert);
	struct link l;
	struct err e;

	assert_int_equal(system(cmd), 0);
	link_init(&l, three_rcpts, 2, "hello\r\n");
	l.r.params.tls_available = true;
	l.r.params.require_tls = true;
	l.r.params.auth_enabled = true;
	l.r.params.auth_requires_tls = true;
	l.r.params.require_auth = true;
	l.c.params.tls = SMTP_CLIENT_TLS_REQUIRED;
	l.c.params.auth_user = "alice";
	l.c.params.auth_password = "secret";
	l.sctx = tls_ctx_new_server(cert, key, &e);
	l.cctx = tls_ctx_new_client(cert, true, &e);
	assert_non_null(l.sctx);
	assert_non_null(l.cctx);
	link_start(&l);
	/* Relay to far.test is allowed once authenticated. */
	assert_string_equal(buf_cstr(&l.c.results), "ok,ok|ok");
	assert_true(smtp_client_tls_active(l.c.c));
	assert_true(smtp_server_tls_active(l.r.s));
	assert_true(tls_conn_peer_verified(l.tc));
	assert_string_equal(smtp_server_get0_auth_user(l.r.s), "alice");
	assert_string_equal(buf_cstr(&l.r.events),
	    "ehlo:client.test starttls ehlo:client.test auth:PLAIN:alice "
	    "mail:a@remote.test rcpt:b@local.test rcpt:x@far.test data end:7 ");
	link_release(&l);

	/* Bad credentials: every recipient fails permanently. */
	link_init(&l, three_rcpts, 2, "hello\r\n");
	l.r.params.tls_available = true;
	l.r.params.auth_enabled = true;
	l.r.params.auth_requires_tls = true;
	l.c.params.tls = SMTP_CLIENT_TLS_REQUIRED;
	l.c.params.auth_user = "alice";
	l.c.params.auth_password = "wrong";
	l.sctx = tls_ctx_new_server(cert, key, &e);
	l.cctx = tls_ctx_new_client(cert, true, &e);
	link_start(&l);
	assert_string_equal(buf_cstr(&l.c.results), "perm,perm|perm");
	assert_int_equal(smtp_client_rcpt_result(l.c.c, 0)->code, 535);
	link_release(&l);

	testlib_rmtree(dir);
	free(dir);
	free(cert);
	free(key);
	free(cmd);
}

static void
test_smtp_client_message_too_big_for_server(void **state)
{
	struct link l;

	link_init(&l, three_rcpts, 1, "0123456789012345678901234567890\r\n");
	l.r.params.max_message_size = 20;
	link_start(&l);
	assert_string_equal(buf_cstr(&l.c.results), "perm|perm");
	assert_int_equal(smtp_client_rcpt_result(l.c.c, 0)->code, 552);
	link_release(&l);

	/* The server announces SIZE 20: the client does not even try. */
	link_init(&l, three_rcpts, 1, "0123456789012345678901234567890\r\n");
	l.r.params.max_message_size = 20;
	l.c.params.size = 33;
	link_start(&l);
	assert_string_equal(buf_cstr(&l.c.results), "perm|perm");
	assert_int_equal(smtp_client_rcpt_result(l.c.c, 0)->code, 0);
	assert_string_equal(smtp_client_rcpt_result(l.c.c, 0)->text,
	    "message size 33 exceeds the server's SIZE 20");
	assert_string_equal(buf_cstr(&l.r.events), "ehlo:client.test ");
	link_release(&l);
}

/* ---- a real server on loopback: Postfix's smtp-sink ---- */

/* Runs the client over fd until DONE or the server goes quiet. */
static void
peer_deliver(struct cli_run *r, int fd)
{
	uint8_t in[8192];
	size_t written = 0;

	cli_begin(r);
	while (r->results.len == 0) {
		ssize_t n = peer_read(fd, in, sizeof(in), 20000);

		if (n <= 0) {
			smtp_client_abort(r->c, "connection lost");
			cli_pump(r);
			break;
		}
		cli_feed(r, in, (size_t)n);
		if (r->sent.len > written) {
			assert_int_equal(peer_write_all(fd, r->sent.data + written,
			    r->sent.len - written), 0);
			written = r->sent.len;
		}
	}
}

static void
sink_case(const char *flags, bool want_pipelining, const char *want)
{
	static const char *const rcpts[] = {"b@sink.test", "c@sink.test"};
	int port = peer_free_port(), fd;
	char *cmd = xasprintf("exec smtp-sink -u nobody %s 127.0.0.1:%d 10",
	    flags, port);
	pid_t pid = peer_spawn(cmd);
	struct cli_run r;

	memset(&r, 0, sizeof(r));
	smtp_client_params_default(&r.params);
	r.params.helo_name = "client.test";
	r.params.sender = "a@client.test";
	r.params.rcpts = rcpts;
	r.params.nrcpt = 2;
	r.params.size = 20;
	r.body = "Subject: sink\r\n\r\n.hello\r\n";
	fd = peer_connect(port, 50);
	assert_true(fd >= 0);
	peer_deliver(&r, fd);
	close(fd);
	kill(pid, SIGTERM);
	peer_wait(pid, 5);
	if (strcmp(buf_cstr(&r.results), want) != 0)
		fail_msg("smtp-sink %s: got %s, want %s (sent: %s)", flags,
		    buf_cstr(&r.results), want, buf_cstr(&r.sent));
	assert_int_equal(smtp_client_pipelining(r.c), want_pipelining);
	cli_release(&r);
	free(cmd);
}

static void
test_smtp_client_delivers_to_postfix_smtp_sink(void **state)
{
	if (access("/usr/sbin/smtp-sink", X_OK) != 0) {
		print_message("skipped: Postfix's smtp-sink is not installed\n");
		skip();
	}
	sink_case("", true, "ok,ok|ok");
	/* -f: hard errors (and no PIPELINING); -r: soft errors. */
	sink_case("-f RCPT", false, "perm,perm|perm");
	sink_case("-r DATA", false, "temp,temp|temp");
	sink_case("-f MAIL", false, "perm,perm|perm");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smtp_client_table_cases),
		cmocka_unit_test(
		    test_smtp_client_mail_accepted_only_after_a_2xx_to_mail),
		cmocka_unit_test(test_smtp_client_timeouts_follow_rfc5321),
		cmocka_unit_test(test_smtp_client_abort_keeps_final_results),
		cmocka_unit_test(test_smtp_client_addresses_cannot_inject_commands),
		cmocka_unit_test(test_smtp_client_pipelined_transaction_against_server),
		cmocka_unit_test(test_smtp_client_submission_with_starttls_and_auth),
		cmocka_unit_test(test_smtp_client_message_too_big_for_server),
		cmocka_unit_test(test_smtp_client_delivers_to_postfix_smtp_sink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
