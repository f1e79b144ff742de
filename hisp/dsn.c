#include "hisp/dsn.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/str.h"
#include "hisp/header.h"

void
dsn_date(char *dst, size_t size, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(dst, size, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

void
dsn_message_id(char *dst, size_t size, const char *domain)
{
	uint8_t r[12];
	char hex[25];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		memset(r, 0, sizeof(r));
	str_hex(hex, r, sizeof(r));
	snprintf(dst, size, "<%s.%lld@%s>", hex, (long long)time(NULL),
	    domain);
}

/* The header block of msg without the empty line that ends it (all of msg
 * when there is none). The end is found as header_section_len finds it, so
 * an empty line written "\n\r\n", or one at the very start, also ends the
 * header: no byte of the body (it may hold PHI) gets into a report. */
static size_t
header_len(const uint8_t *msg, size_t len)
{
	size_t hl = header_section_len(msg, len);

	/* the section ends with its empty line, if it has one: "\n" or
	 * "\r\n" right after the previous line's '\n' (or at the start) */
	if (hl == 0 || msg[hl - 1] != '\n')
		return hl;
	if (hl == 1 || msg[hl - 2] == '\n')
		return hl - 1;
	if (msg[hl - 2] == '\r' && (hl == 2 || msg[hl - 3] == '\n'))
		return hl - 2;
	return hl;
}

/* Status for Action: failed: an enhanced code keeps its subject and
 * detail in class 5 ("4.4.7", the queue gave up, is "5.4.7"); anything
 * else is "5.0.0". */
static void
dsn_status(char *dst, size_t size, const char *st)
{
	size_t i = 2, dots = 0, digits = 0;

	str_lcpy(dst, "5.0.0", size);
	if (st == NULL || (st[0] != '4' && st[0] != '5') || st[1] != '.' ||
	    strlen(st) >= size)
		return;
	for (; st[i] != '\0'; i++) {
		if (st[i] == '.' && digits > 0 && dots == 0) {
			dots++;
			digits = 0;
		} else if (st[i] >= '0' && st[i] <= '9' && digits < 3) {
			digits++;
		} else {
			return;
		}
	}
	if (dots != 1 || digits == 0)
		return;
	str_lcpy(dst, st, size);
	dst[0] = '5';
}

/* Text for one line of the report (a remote server's reply may hold
 * anything): control characters become spaces. */
static int
dsn_put_line(struct buf *out, const char *text)
{
	size_t start = out->len;

	if (buf_append_str(out, text) != 0)
		return -1;
	for (size_t i = start; i < out->len; i++)
		if (out->data[i] < 0x20 || out->data[i] == 0x7f)
			out->data[i] = ' ';
	return 0;
}

int
dsn_build(struct buf *out, const struct dsn_params *p)
{
	char date[64], mid[256], arrival[64], boundary[64];
	const char *dom = strrchr(p->from, '@');
	uint8_t r[8];
	char hex[17];
	size_t hl;
	int rc = 0;

	dsn_date(date, sizeof(date), p->now);
	dsn_date(arrival, sizeof(arrival), p->arrival);
	dsn_message_id(mid, sizeof(mid), dom != NULL ? dom + 1 : "localhost");
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		memset(r, 7, sizeof(r));
	str_hex(hex, r, sizeof(r));
	snprintf(boundary, sizeof(boundary), "=_dsn_%s", hex);

	rc |= buf_printf(out,
	    "From: Mail Delivery System <%s>\r\n"
	    "To: <%s>\r\n"
	    "Date: %s\r\n"
	    "Message-ID: %s\r\n"
	    "Subject: Undelivered Mail Returned to Sender\r\n"
	    "Auto-Submitted: auto-replied\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	    "\tboundary=\"%s\"\r\n",
	    p->from, p->to, date, mid, boundary);
	if (p->orig_message_id != NULL)
		rc |= buf_printf(out, "X-Original-Message-ID: %s\r\n"
		    "In-Reply-To: %s\r\nReferences: %s\r\n",
		    p->orig_message_id, p->orig_message_id,
		    p->orig_message_id);
	rc |= buf_printf(out, "\r\nThis is a MIME-encapsulated message.\r\n"
	    "\r\n--%s\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n"
	    "Content-Description: Notification\r\n\r\n"
	    "This is the mail system at host %s.\r\n\r\n%s\r\n\r\n",
	    boundary, p->reporting_mta,
	    p->explanation != NULL ? p->explanation :
	    "Your message could not be delivered to one or more recipients.");
	for (size_t i = 0; i < p->nrcpt; i++) {
		rc |= buf_printf(out, "<%s>: ", p->rcpts[i].rcpt);
		rc |= dsn_put_line(out, p->rcpts[i].diagnostic != NULL ?
		    p->rcpts[i].diagnostic : "delivery failed");
		rc |= buf_append_str(out, "\r\n");
	}
	rc |= buf_printf(out, "\r\n--%s\r\n"
	    "Content-Type: message/delivery-status\r\n"
	    "Content-Description: Delivery report\r\n\r\n"
	    "Reporting-MTA: dns; %s\r\n", boundary, p->reporting_mta);
	if (p->orig_message_id != NULL)
		rc |= buf_printf(out, "X-Original-Message-ID: %s\r\n",
		    p->orig_message_id);
	rc |= buf_printf(out, "Arrival-Date: %s\r\n", arrival);
	for (size_t i = 0; i < p->nrcpt; i++) {
		char st[16];

		dsn_status(st, sizeof(st), p->rcpts[i].status);
		rc |= buf_printf(out, "\r\nFinal-Recipient: rfc822; %s\r\n"
		    "Action: failed\r\nStatus: %s\r\n", p->rcpts[i].rcpt, st);
		if (p->rcpts[i].diagnostic != NULL) {
			rc |= buf_append_str(out,
			    "Diagnostic-Code: X-Directgate; ");
			rc |= dsn_put_line(out, p->rcpts[i].diagnostic);
			rc |= buf_append_str(out, "\r\n");
		}
	}
	rc |= buf_printf(out, "\r\n--%s\r\n"
	    "Content-Type: text/rfc822-headers\r\n"
	    "Content-Description: Undelivered Message Headers\r\n\r\n",
	    boundary);
	if (p->orig != NULL) {
		hl = header_len(p->orig, p->orig_len);
		rc |= buf_append(out, p->orig, hl);
		if (hl > 0 && ((const uint8_t *)p->orig)[hl - 1] != '\n')
			rc |= buf_append_str(out, "\r\n");
	}
	rc |= buf_printf(out, "\r\n--%s--\r\n", boundary);
	return rc != 0 ? -1 : 0;
}
