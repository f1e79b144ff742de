/* SMTP client session, sans-I/O: one mail transaction (one sender, its
 * recipients, one message) over one connection. Bytes from the server in,
 * commands and message bytes out, events for the glue. No sockets, clock
 * or TLS inside (hisp/tls.h does TLS; the glue pipes).
 *
 * What it does: waits for the 220 greeting; EHLO (HELO if EHLO is
 * refused with 5xx); STARTTLS per policy (opportunistic: when offered;
 * required: fails the delivery with a temporary error if not offered or
 * refused) and EHLO again over TLS; AUTH PLAIN if credentials are given
 * (only under TLS unless allowed); MAIL FROM (SIZE= and BODY=8BITMIME when
 * offered); RCPT TO for each recipient; DATA. With PIPELINING offered,
 * MAIL, every RCPT and DATA go in one batch (RFC 2920) and the replies are
 * matched in order. The message is dot-stuffed and ends with CRLF.CRLF.
 * Then QUIT.
 *
 * Results: every recipient ends OK, TEMP (4xx, connection trouble: try
 * again later) or PERM (5xx: bounce), with the server's reply. A RCPT
 * refusal is final for that recipient; the DATA and end-of-data replies
 * decide for every recipient the server accepted.
 *
 * Driving it:
 *
 *   c = smtp_client_new(&params);
 *   on every read:  smtp_client_receive(c, p, n);
 *   then:           while ((r = smtp_client_next_event(c, &ev)) == 1)
 *                           handle(ev);
 *                   write smtp_client_output(), smtp_client_consume();
 *                   if (r < 0) close once the output is written.
 *   arm the timer with smtp_client_timeout_ms(c) after every read/write;
 *   on expiry smtp_client_expire(c); on a lost connection
 *   smtp_client_abort(c, "connection lost").
 *
 * Events borrow from the session until the next call into it. */
#ifndef HISP_SMTP_CLIENT_H
#define HISP_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "hisp/smtp_reply.h"

enum smtp_client_tls {
	SMTP_CLIENT_TLS_NONE,          /* never STARTTLS */
	SMTP_CLIENT_TLS_OPPORTUNISTIC, /* STARTTLS when offered */
	SMTP_CLIENT_TLS_REQUIRED,      /* no TLS, no delivery (TEMP) */
};

struct smtp_client_params {
	const char *helo_name;     /* copied */
	enum smtp_client_tls tls;
	bool tls_active;           /* the connection is already TLS */
	const char *auth_user;     /* NULL: no AUTH; copied (wiped at free) */
	const char *auth_password;
	bool auth_without_tls;     /* allow AUTH in plaintext (tests) */
	const char *sender;        /* "" for <>; copied */
	const char *const *rcpts;  /* copied */
	size_t nrcpt;              /* at least 1 */
	uint64_t size;             /* SIZE= when offered; 0: not sent */
	bool body_8bit;            /* BODY=8BITMIME when offered */
	/* RFC 5321 4.5.3.2 client timeouts (ms). */
	int64_t timeout_greeting_ms; /* 5 min */
	int64_t timeout_command_ms;  /* EHLO, MAIL, RCPT...: 5 min */
	int64_t timeout_data_ms;     /* DATA initiation: 2 min */
	int64_t timeout_block_ms;    /* sending the message: 3 min */
	int64_t timeout_final_ms;    /* after CRLF.CRLF: 10 min */
};

/* Zeroes p and sets the RFC 5321 timeouts and opportunistic TLS. */
void smtp_client_params_default(struct smtp_client_params *p);

enum smtp_client_status {
	SMTP_CLIENT_PENDING = 0,
	SMTP_CLIENT_OK,
	SMTP_CLIENT_TEMP,
	SMTP_CLIENT_PERM,
};

struct smtp_client_result {
	enum smtp_client_status status;
	int code;           /* the server's reply code; 0 if none */
	char enhanced[16];  /* "" if none */
	char text[256];     /* the reply's first line, or our reason */
};

enum smtp_client_event_type {
	SMTP_CLIENT_EV_NONE = 0,
	/* Write the output (the STARTTLS command was answered 220), run the
	 * TLS handshake, then call smtp_client_tls_started(). */
	SMTP_CLIENT_EV_STARTTLS,
	/* The server answered a RCPT: rcpt is the index, result its fate
	 * (OK here means accepted so far; the message reply decides). */
	SMTP_CLIENT_EV_RCPT,
	/* Send the message now: smtp_client_body() any number of times,
	 * then smtp_client_body_end(). */
	SMTP_CLIENT_EV_BODY,
	/* The transaction is over; every recipient has its final result
	 * (smtp_client_rcpt_result); result is the message-level outcome.
	 * QUIT is in the output; close once it is written. */
	SMTP_CLIENT_EV_DONE,
};

struct smtp_client_event {
	enum smtp_client_event_type type;
	size_t rcpt;
	const struct smtp_client_result *result;
};

struct smtp_client;

/* Copies everything from params. Never NULL. */
struct smtp_client *smtp_client_new(const struct smtp_client_params *params);
/* NULL accepted; clears *cp; the password is wiped. */
void smtp_client_free(struct smtp_client **cp);

/* Takes up to n bytes from the server; returns how many (fewer only when
 * a large amount is already buffered: keep the rest). */
size_t smtp_client_receive(struct smtp_client *c, const uint8_t *p, size_t n);
/* 1 with *ev filled, 0 when waiting (server, body, TLS), -1 when the
 * session is over (after DONE): write the output, then close. */
int smtp_client_next_event(struct smtp_client *c,
    struct smtp_client_event *ev);

/* Message bytes (lines end in CRLF; a bare LF is sent as CRLF), only
 * after the BODY event. Dot-stuffing is done here. Feed large messages
 * in pieces, writing the output in between. 0, or -1 if not expected. */
int smtp_client_body(struct smtp_client *c, const uint8_t *p, size_t n);
/* The message is complete: "." is sent (after a CRLF if the message did
 * not end with one). 0 or -1. */
int smtp_client_body_end(struct smtp_client *c);

/* The TLS handshake after the STARTTLS event succeeded: EHLO is sent
 * again. -1 if no STARTTLS was pending. A failed handshake is
 * smtp_client_abort(c, "TLS handshake failed"). */
int smtp_client_tls_started(struct smtp_client *c);

/* The connection is gone or unusable: every recipient without a final
 * result becomes TEMP with reason; a DONE event follows. */
void smtp_client_abort(struct smtp_client *c, const char *reason);
/* The timer fired: like smtp_client_abort with "timeout", plus QUIT. */
void smtp_client_expire(struct smtp_client *c);
/* The current timeout for the glue's timer (ms), -1 when none (waiting
 * for the caller, or over). */
int64_t smtp_client_timeout_ms(const struct smtp_client *c);

const uint8_t *smtp_client_output(const struct smtp_client *c, size_t *len_r);
void smtp_client_consume(struct smtp_client *c, size_t n);

const struct smtp_client_result *smtp_client_rcpt_result(
    const struct smtp_client *c, size_t i);
size_t smtp_client_rcpt_count(const struct smtp_client *c);
/* Whether the server accepted MAIL FROM. False when the session ended
 * before that (greeting, EHLO, STARTTLS, AUTH or MAIL refused, the
 * connection lost or timed out): no message can have been taken, so
 * trying another server is safe. */
bool smtp_client_mail_accepted(const struct smtp_client *c);
/* Whether the transaction ran over TLS / the server offered PIPELINING. */
bool smtp_client_tls_active(const struct smtp_client *c);
bool smtp_client_pipelining(const struct smtp_client *c);

const char *smtp_client_status_name(enum smtp_client_status s);

#endif
