/* SMTP server session, sans-I/O (RFC 5321, 1870, 2034, 2920, 3030, 3207,
 * 4954, 6152): bytes in, replies and events out. No sockets, no clock, no TLS
 * inside; the glue around it owns the connection, the TLS layer
 * (hisp/tls.h), the timer and the policy (which senders, recipients and
 * credentials are good, where a message is stored).
 *
 * How the glue drives a session:
 *
 *   s = smtp_server_new(&params);          // the 220 greeting is queued
 *   on every read:  n = smtp_server_receive(s, p, len);
 *                   (n < len: the session holds enough input; keep the
 *                    rest, stop reading, feed it after the next events)
 *   then:           while ((r = smtp_server_next_event(s, &ev)) == 1)
 *                           handle(ev);   // may answer now or later
 *                   write smtp_server_output() and smtp_server_consume();
 *                   if (r < 0) close once the output is written.
 *   re-arm the idle timer with smtp_server_timeout_ms(s) after every read
 *   and every answer; on expiry call smtp_server_expire(s), write, close.
 *   When the peer goes away: smtp_server_disconnected(s), then drain the
 *   events (an ABORT tells that a transaction was open).
 *
 * Decisions. Events of a "decide" kind (MAIL, RCPT, AUTH, DATA, DATA_END)
 * pause the session: no further reply is produced and pipelined input is
 * held until the caller answers with smtp_server_accept() or
 * smtp_server_reject(), now or asynchronously (for DATA_END: after the
 * queue's durable commit). While paused, smtp_server_next_event() returns 0
 * and smtp_server_timeout_ms() returns -1 (the peer waits for us).
 *
 * Events of an "info" kind need no answer: HELO (the greeting name, for
 * logs), STARTTLS, DATA_CHUNK (message bytes to store), ABORT (the current
 * transaction is over without a message: drop what was stored for it).
 *
 * STARTTLS. On the STARTTLS event the 220 reply is the last plaintext
 * output: write it, then run every further byte through TLS. The session
 * has already discarded the plaintext input that followed the STARTTLS
 * line and discards anything received until smtp_server_tls_started(),
 * after which the session starts over (EHLO needed again): no plaintext
 * survives STARTTLS. If the handshake fails, just close.
 *
 * Limits (each answered by the session itself, never asked of the caller):
 * command line longer than max_command_line (AUTH lines: 12288) 500 5.5.2,
 * the rest of the line skipped; NUL or non-ASCII in a command 500 5.5.2;
 * SIZE= over the limit 552 5.3.4 at MAIL; a message over the limit is
 * read to its end without being stored past the limit, then 552 5.3.4 and
 * ABORT; a message line longer than max_text_line 500 5.5.2 at the end; a
 * recipient past max_recipients 452 4.5.3; a bare LF per bare_lf; the
 * max_errors-th error reply is followed by 421 4.7.0 and close. Unknown
 * commands 500 5.5.2, bad arguments 501, bad sequence 503 5.5.1: one
 * reply per pipelined command.
 *
 * Borrowing. Pointers inside an event are borrowed from the session and
 * stay valid until the next call to smtp_server_next_event(),
 * smtp_server_accept() or smtp_server_reject() (the AUTH password is wiped
 * then). Nothing in the session calls back into the caller, so a session
 * can be freed whenever the caller is not inside a session function. */
#ifndef HISP_SMTP_SERVER_H
#define HISP_SMTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* RFC 5321 4.5.3.1: path (with angle brackets: 256), local part 64. */
#define SMTP_SERVER_PATH_MAX 256
/* RFC 4954 4: an AUTH command or response line may be 12288 octets. */
#define SMTP_SERVER_AUTH_LINE_MAX 12288

enum smtp_server_bare_lf {
	/* A bare LF in a command or the message ends the line and is stored
	 * as CRLF; the end of data must still be CRLF.CRLF (after a bare LF a
	 * dot is plain text, never an end or a stuffing dot). */
	SMTP_SERVER_BARE_LF_NORMALIZE = 0,
	/* A bare LF anywhere: 521 5.5.2 and close (no SMTP smuggling). */
	SMTP_SERVER_BARE_LF_REJECT,
};

struct smtp_server_params {
	const char *hostname;       /* in the greeting and replies; copied */
	bool tls_available;         /* offer STARTTLS (until TLS is active) */
	bool tls_active;            /* the connection is already TLS */
	bool require_tls;           /* 530 for mail commands before STARTTLS */
	bool auth_enabled;          /* offer AUTH PLAIN LOGIN */
	bool auth_requires_tls;     /* AUTH only under TLS; 538 before */
	bool require_auth;          /* 530 5.7.0 for MAIL before AUTH */
	bool chunking;              /* offer CHUNKING: BDAT (RFC 3030) */
	size_t max_command_line;    /* with CRLF; RFC 5321 minimum 512 */
	size_t max_text_line;       /* with CRLF; RFC 5321 minimum 1000 */
	uint64_t max_message_size;  /* bytes after dot-unstuffing; SIZE n */
	unsigned max_recipients;    /* accepted RCPTs; 452 past it */
	unsigned max_errors;        /* error replies before 421 and close
	                               (0: no limit) */
	int64_t timeout_command_ms; /* waiting for a command (5 min) */
	int64_t timeout_data_ms;    /* waiting for message data (10 min) */
	enum smtp_server_bare_lf bare_lf;
};

/* Fills p with the RFC 5321 values: hostname "localhost", 512/1000 byte
 * lines, 50 MiB messages, 100 recipients, 20 errors, 5 and 10 minutes,
 * bare LF normalized, no TLS, no AUTH. */
void smtp_server_params_default(struct smtp_server_params *p);

enum smtp_server_event_type {
	SMTP_SERVER_EV_NONE = 0,
	SMTP_SERVER_EV_HELO,       /* info: arg = name; esmtp = EHLO */
	SMTP_SERVER_EV_STARTTLS,   /* info: write output, start TLS (above) */
	SMTP_SERVER_EV_AUTH,       /* decide: mechanism in arg, authzid (may
	                              be ""), authcid, password */
	SMTP_SERVER_EV_MAIL,       /* decide: arg = sender ("" for <>),
	                              size = SIZE= (0 if none), body_8bit */
	SMTP_SERVER_EV_RCPT,       /* decide: arg = recipient ("Postmaster"
	                              allowed without a domain) */
	SMTP_SERVER_EV_DATA,       /* decide: may the message start (354,
	                              or the first BDAT chunk)? */
	SMTP_SERVER_EV_DATA_CHUNK, /* info: data/len = message bytes,
	                              dot-unstuffed, lines end in CRLF
	                              (BDAT: the octets as sent) */
	SMTP_SERVER_EV_DATA_END,   /* decide: the message is complete: size;
	                              accept only once it is stored durably */
	SMTP_SERVER_EV_ABORT,      /* info: transaction dropped; arg = reason
	                              ("rset", "helo", "starttls", "quit",
	                              "close", "timeout", "size", "line",
	                              "errors", "bare_lf", "disconnect") */
};

struct smtp_server_event {
	enum smtp_server_event_type type;
	const char *arg;
	bool esmtp;
	bool body_8bit;
	uint64_t size;
	const uint8_t *data;
	size_t len;
	const char *authzid;
	const char *authcid;
	const char *password;
};

struct smtp_server;

/* A new session; params are copied (hostname too). The 220 greeting is in
 * the output at once. Never NULL (allocation failure aborts). */
struct smtp_server *smtp_server_new(const struct smtp_server_params *params);
/* Frees the session (NULL accepted) and clears *sp; secrets are wiped. */
void smtp_server_free(struct smtp_server **sp);

/* Takes up to n bytes of input from the peer and returns how many it took:
 * fewer than n only while the session holds a full input buffer (paused
 * for a decision, or output not written); the glue keeps the rest, stops
 * reading and feeds it after the next events. Input after QUIT or close,
 * and plaintext between STARTTLS and smtp_server_tls_started(), is
 * discarded (and counted as taken). Does not process: call
 * smtp_server_next_event(). */
size_t smtp_server_receive(struct smtp_server *s, const uint8_t *p, size_t n);

/* Processes input until an event is ready. Returns 1 with *ev filled, 0
 * when more input, an answer, the TLS handshake or a drained output is
 * needed, -1 once the session is closed (after every pending event was
 * returned): write the remaining output, then close the connection. */
int smtp_server_next_event(struct smtp_server *s,
    struct smtp_server_event *ev);

/* Answers the pending decision. text replaces the default reply text
 * (NULL: default; control characters are replaced): for DATA_END e.g.
 * "Ok: queued as 4F2A". Accepting AUTH marks the session authenticated as
 * the event's authcid. Returns -1 (and changes nothing) when no decision
 * is pending. */
int smtp_server_accept(struct smtp_server *s, const char *text);
/* Refuses the pending decision with code (400..599, not 421: use
 * smtp_server_close_421) and an enhanced status code ("5.7.1"; NULL or
 * one whose class does not match the code: a generic one is used). A
 * refused RCPT is not counted against the recipient limit; a refused
 * DATA_END or DATA ends the transaction. Returns -1 when no decision is
 * pending or the code is out of range. */
int smtp_server_reject(struct smtp_server *s, int code, const char *enhanced,
    const char *text);

/* The handshake after the STARTTLS event completed: TLS is active and the
 * session starts over (no HELO, no transaction). -1 if no STARTTLS was
 * pending. */
int smtp_server_tls_started(struct smtp_server *s);

/* The idle timeout the glue arms now, in ms (RFC 5321 4.5.3.2): the
 * command timeout, the data timeout inside DATA, -1 while a decision is
 * pending or the session is closed. Re-arm after every read and answer. */
int64_t smtp_server_timeout_ms(const struct smtp_server *s);
/* The timer fired: queues "421 4.4.2 <host> Error: timeout exceeded", an
 * ABORT event if a transaction was open, and closes. */
void smtp_server_expire(struct smtp_server *s);
/* The peer closed the connection (or it broke): the session closes
 * without a reply; an ABORT event ("disconnect") follows if a transaction
 * was open, and a pending decision is dropped (answering it returns -1). */
void smtp_server_disconnected(struct smtp_server *s);
/* Shuts the session with "421 4.3.2 <host> <text>" (NULL: "Service not
 * available, closing transmission channel"), e.g. at daemon shutdown or
 * when storage fails. A pending decision is dropped. */
void smtp_server_close_421(struct smtp_server *s, const char *text);

/* Output (replies) waiting to be written: borrowed until the next call
 * that changes the session. */
const uint8_t *smtp_server_output(const struct smtp_server *s, size_t *len_r);
/* The glue wrote n bytes of the output. */
void smtp_server_consume(struct smtp_server *s, size_t n);

/* State for the glue and the policy (borrowed strings, NULL if unset). */
bool smtp_server_closed(const struct smtp_server *s);
bool smtp_server_tls_active(const struct smtp_server *s);
/* The name given in HELO/EHLO. */
const char *smtp_server_get0_helo(const struct smtp_server *s);
/* The authenticated user (the authcid of the accepted AUTH). */
const char *smtp_server_get0_auth_user(const struct smtp_server *s);
/* The current transaction: sender ("" for <>) and accepted recipients. */
const char *smtp_server_get0_sender(const struct smtp_server *s);
size_t smtp_server_rcpt_count(const struct smtp_server *s);
const char *smtp_server_get0_rcpt(const struct smtp_server *s, size_t i);
/* Error replies sent so far. */
unsigned smtp_server_error_count(const struct smtp_server *s);

const char *smtp_server_event_name(enum smtp_server_event_type t);

#endif
