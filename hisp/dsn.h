/* Delivery status notifications (RFC 3464) for senders whose message could
 * not be delivered: multipart/report; report-type=delivery-status with a
 * readable text/plain part, a message/delivery-status part (per message:
 * Reporting-MTA, X-Original-Message-ID, Arrival-Date; per recipient:
 * Final-Recipient, Action: failed, Status, Diagnostic-Code) and the
 * original headers (text/rfc822-headers). No body of the original is
 * included (it may hold PHI and was meant for someone else). */
#ifndef HISP_DSN_H
#define HISP_DSN_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct dsn_rcpt {
	const char *rcpt;
	const char *status;     /* "5.1.1" */
	const char *diagnostic; /* one line */
};

struct dsn_params {
	const char *reporting_mta; /* host name */
	const char *from;          /* mailer-daemon@<domain> */
	const char *to;            /* the original sender */
	const char *orig_message_id; /* may be NULL */
	int64_t arrival;           /* unix seconds */
	int64_t now;
	const void *orig;          /* the original message (headers used) */
	size_t orig_len;
	const struct dsn_rcpt *rcpts;
	size_t nrcpt;
	const char *explanation;   /* first paragraph of the text part */
};

/* Appends the whole DSN message (headers and body, CRLF) to out. -1 only
 * when out's maximum is reached. */
int dsn_build(struct buf *out, const struct dsn_params *p);
/* An RFC 5322 date for t (UTC). */
void dsn_date(char *dst, size_t size, int64_t t);
/* A new Message-ID "<random@domain>" into dst. */
void dsn_message_id(char *dst, size_t size, const char *domain);

#endif
