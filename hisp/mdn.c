#include "hisp/mdn.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/str.h"
#include "hisp/dsn.h"
#include "hisp/header.h"

#define MDN_MAX_INPUT (1024 * 1024)
#define MDN_FIELD_MAX 998

static const char *const disposition_names[] = {
	"none", "processed", "dispatched", "failed", "delayed", "delivered",
};

const char *
mdn_disposition_name(enum mdn_disposition d)
{
	return (unsigned)d < 6 ? disposition_names[d] : "unknown";
}

int
mdn_build(struct buf *out, const struct mdn_params *p)
{
	char date[64], mid[300], boundary[64];
	const char *dom = strrchr(p->from, '@');
	const char *disp = mdn_disposition_name(p->disposition);
	int rc = 0;

	dsn_date(date, sizeof(date), p->now);
	dsn_message_id(mid, sizeof(mid), dom != NULL ? dom + 1 : "localhost");
	/* The boundary from the Message-ID's random part: unique enough. */
	snprintf(boundary, sizeof(boundary), "=_mdn_%.*s", 24, mid + 1);
	rc |= buf_printf(out,
	    "From: <%s>\r\n"
	    "To: <%s>\r\n"
	    "Date: %s\r\n"
	    "Message-ID: %s\r\n"
	    "Subject: Message %s\r\n"
	    "Auto-Submitted: auto-replied\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/report; "
	    "report-type=disposition-notification;\r\n"
	    "\tboundary=\"%s\"\r\n",
	    p->from, p->to, date, mid, disp, boundary);
	if (p->orig_message_id != NULL)
		rc |= buf_printf(out, "In-Reply-To: %s\r\n",
		    p->orig_message_id);
	rc |= buf_printf(out, "\r\n--%s\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
	    "The message sent to %s was %s.\r\n",
	    boundary, p->final_recipient,
	    p->disposition == MDN_PROCESSED ? "received and processed" :
	    p->disposition == MDN_DISPATCHED ? "delivered to the recipient" :
	    "not delivered");
	if (p->disposition == MDN_FAILED && p->failure != NULL)
		rc |= buf_printf(out, "Reason: %s\r\n", p->failure);
	rc |= buf_printf(out, "\r\n--%s\r\n"
	    "Content-Type: message/disposition-notification\r\n\r\n"
	    "Reporting-UA: %s; directgate\r\n"
	    "Final-Recipient: rfc822; %s\r\n",
	    boundary, p->reporting_ua, p->final_recipient);
	if (p->orig_message_id != NULL)
		rc |= buf_printf(out, "Original-Message-ID: %s\r\n",
		    p->orig_message_id);
	rc |= buf_printf(out, "Disposition: automatic-action/"
	    "MDN-sent-automatically; %s\r\n", disp);
	if (p->disposition == MDN_FAILED && p->failure != NULL)
		rc |= buf_printf(out, "Failure: %s\r\n", p->failure);
	if (p->final_delivery_ext)
		rc |= buf_append_str(out,
		    "X-DIRECT-FINAL-DESTINATION-DELIVERY: \r\n");
	rc |= buf_printf(out, "\r\n--%s--\r\n", boundary);
	return rc != 0 ? -1 : 0;
}

/* The value of parameter name in a Content-Type value, into dst. */
static bool
param(const char *v, const char *name, char *dst, size_t size)
{
	size_t n = strlen(name);
	const char *p = v;

	while ((p = strcasestr(p, name)) != NULL) {
		const char *q = p + n;
		size_t i = 0;

		if (p > v && p[-1] != ';' && p[-1] != ' ' && p[-1] != '\t') {
			p = q;
			continue;
		}
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q != '=') {
			p = q;
			continue;
		}
		q++;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '"') {
			q++;
			while (*q != '\0' && *q != '"' && i + 1 < size)
				dst[i++] = *q++;
		} else {
			while (*q != '\0' && *q != ';' && *q != ' ' &&
			    *q != '\t' && i + 1 < size)
				dst[i++] = *q++;
		}
		dst[i] = '\0';
		return i > 0;
	}
	return false;
}

/* Calls fn for every "Name: value" field of text (continuation lines
 * joined); blank lines separate groups (group counts them). */
struct fields {
	struct mdn_report *r;
	int group;
	/* Per-recipient fields (Final-Recipient, Action, Status,
	 * Diagnostic-Code) are taken from recipient want only; cur counts
	 * the Final-Recipient fields seen, -1 before the first. */
	size_t want;
	long cur;
};

/* Does a per-recipient field belong to the recipient asked for? Before
 * any Final-Recipient only for the first (a writer that puts Action
 * ahead of the recipient). */
static bool
fields_ours(const struct fields *f)
{
	return f->cur < 0 ? f->want == 0 : (size_t)f->cur == f->want;
}

static void
trim_copy(char *dst, size_t size, const char *p, size_t n)
{
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' ||
	    p[n - 1] == '\r'))
		n--;
	if (n >= size)
		n = size - 1;
	memmove(dst, p, n);
	dst[n] = '\0';
}

static void
field(struct fields *f, const char *name, size_t nn, const char *v)
{
	struct mdn_report *r = f->r;

	if (str_span_caseeq(name, nn, "Original-Message-ID") ||
	    str_span_caseeq(name, nn, "X-Original-Message-ID")) {
		if (r->orig_message_id[0] == '\0')
			str_lcpy(r->orig_message_id, v,
			    sizeof(r->orig_message_id));
	} else if (str_span_caseeq(name, nn, "Final-Recipient")) {
		const char *semi = strchr(v, ';');

		f->cur++;
		if ((size_t)f->cur != f->want)
			return;
		v = semi != NULL ? semi + 1 : v;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v == '<') {
			const char *gt = strchr(v, '>');

			trim_copy(r->final_recipient, sizeof(r->final_recipient),
			    v + 1, gt != NULL ? (size_t)(gt - v - 1) :
			    strlen(v + 1));
		} else {
			str_lcpy(r->final_recipient, v,
			    sizeof(r->final_recipient));
		}
	} else if (str_span_caseeq(name, nn, "Disposition")) {
		const char *semi = strchr(v, ';');
		char d[64];

		trim_copy(d, sizeof(d), semi != NULL ? semi + 1 : v,
		    strlen(semi != NULL ? semi + 1 : v));
		/* A disposition may carry modifiers: "failed/error". */
		if (strncasecmp(d, "processed", 9) == 0)
			r->disposition = MDN_PROCESSED;
		else if (strncasecmp(d, "dispatched", 10) == 0)
			r->disposition = MDN_DISPATCHED;
		else if (strncasecmp(d, "failed", 6) == 0 ||
		    strncasecmp(d, "deleted", 7) == 0 ||
		    strncasecmp(d, "denied", 6) == 0)
			r->disposition = MDN_FAILED;
		else if (strncasecmp(d, "displayed", 9) == 0)
			r->disposition = MDN_DISPATCHED;
	} else if (str_span_caseeq(name, nn, "Action")) {
		if (!fields_ours(f) ||
		    (f->cur < 0 && r->disposition != MDN_NONE))
			return;
		if (strncasecmp(v, "failed", 6) == 0)
			r->disposition = MDN_FAILED;
		else if (strncasecmp(v, "delayed", 7) == 0)
			r->disposition = MDN_DELAYED;
		else
			r->disposition = MDN_DELIVERED;
	} else if (str_span_caseeq(name, nn, "Status")) {
		if (fields_ours(f) && r->status[0] == '\0')
			str_lcpy(r->status, v, sizeof(r->status));
	} else if (str_span_caseeq(name, nn, "Diagnostic-Code")) {
		if (fields_ours(f) && r->detail[0] == '\0')
			str_lcpy(r->detail, v, sizeof(r->detail));
	} else if (str_span_caseeq(name, nn, "Failure") ||
	    str_span_caseeq(name, nn, "Error")) {
		if (r->detail[0] == '\0')
			str_lcpy(r->detail, v, sizeof(r->detail));
	} else if (str_span_caseeq(name, nn,
	    "X-DIRECT-FINAL-DESTINATION-DELIVERY")) {
		r->final_delivery_ext = true;
	}
}

static int
fields_parse(struct fields *f, const char *p, size_t n)
{
	char name[80], value[MDN_FIELD_MAX + 1];
	size_t vn = 0, nn = 0, i = 0;
	bool have = false;

	while (i < n) {
		const char *eol = memchr(p + i, '\n', n - i);
		size_t ln = eol != NULL ? (size_t)(eol - (p + i)) : n - i;
		const char *line = p + i;

		i += ln + (eol != NULL);
		if (ln > 0 && line[ln - 1] == '\r')
			ln--;
		if (ln > 0 && (line[0] == ' ' || line[0] == '\t') && have) {
			if (vn + ln < sizeof(value)) {
				memcpy(value + vn, line, ln);
				vn += ln;
			}
			continue;
		}
		if (have) {
			value[vn] = '\0';
			trim_copy(value, sizeof(value), value, vn);
			field(f, name, nn, value);
			have = false;
		}
		if (ln == 0) {
			f->group++;
			continue;
		}
		{
			const char *colon = memchr(line, ':', ln);

			if (colon == NULL || colon == line ||
			    (size_t)(colon - line) >= sizeof(name))
				continue; /* not a field: ignored */
			nn = (size_t)(colon - line);
			memcpy(name, line, nn);
			name[nn] = '\0';
			vn = ln - nn - 1;
			if (vn >= sizeof(value))
				vn = sizeof(value) - 1;
			memcpy(value, colon + 1, vn);
			have = true;
		}
	}
	if (have) {
		value[vn] = '\0';
		trim_copy(value, sizeof(value), value, vn);
		field(f, name, nn, value);
	}
	return 0;
}

int
mdn_parse(const uint8_t *msg, size_t len, struct mdn_report *r,
    struct err *e)
{
	return mdn_parse_rcpt(msg, len, 0, r, e);
}

int
mdn_parse_rcpt(const uint8_t *msg, size_t len, size_t index,
    struct mdn_report *r, struct err *e)
{
	char boundary[200], type[64], delim[210];
	struct buf ct;
	struct fields f = {0};
	size_t hl, i, dl;
	const char *body;
	bool found = false;

	memset(r, 0, sizeof(*r));
	if (len > MDN_MAX_INPUT)
		len = MDN_MAX_INPUT;
	buf_init(&ct, 4096);
	if (header_get(msg, len, "Content-Type", &ct) != 1 ||
	    strncasecmp(buf_cstr(&ct), "multipart/report", 16) != 0) {
		buf_release(&ct);
		return 0;
	}
	if (!param(buf_cstr(&ct), "report-type", type, sizeof(type)) ||
	    (strcasecmp(type, "disposition-notification") != 0 &&
	    strcasecmp(type, "delivery-status") != 0)) {
		buf_release(&ct);
		return 0;
	}
	r->is_dsn = strcasecmp(type, "delivery-status") == 0;
	if (!param(buf_cstr(&ct), "boundary", boundary, sizeof(boundary))) {
		buf_release(&ct);
		return err_set(e, ERR_PROTO, "report without a boundary");
	}
	buf_release(&ct);
	f.r = r;
	f.want = index;
	f.cur = -1;
	hl = header_section_len(msg, len);
	body = (const char *)msg + hl;
	dl = (size_t)snprintf(delim, sizeof(delim), "--%s", boundary);
	/* Walk the parts: each starts after a delimiter line. */
	for (i = 0; i + dl <= len - hl;) {
		const char *part, *end;
		size_t plen, phl;
		struct buf pct;

		if ((i == 0 || body[i - 1] == '\n') &&
		    memcmp(body + i, delim, dl) == 0) {
			const char *eol = memchr(body + i, '\n', len - hl - i);

			if (eol == NULL)
				break;
			if (body[i + dl] == '-' && i + dl + 1 < len - hl &&
			    body[i + dl + 1] == '-')
				break; /* the closing delimiter */
			part = eol + 1;
			end = part;
			/* The part ends at the next delimiter line. */
			while (end + dl <= body + (len - hl) &&
			    !((end == part || end[-1] == '\n') &&
			    memcmp(end, delim, dl) == 0))
				end++;
			if (end + dl > body + (len - hl))
				end = body + (len - hl);
			plen = (size_t)(end - part);
			buf_init(&pct, 4096);
			if (header_get((const uint8_t *)part, plen,
			    "Content-Type", &pct) == 1 &&
			    (strncasecmp(buf_cstr(&pct),
			    "message/disposition-notification", 32) == 0 ||
			    strncasecmp(buf_cstr(&pct),
			    "message/delivery-status", 23) == 0)) {
				phl = header_section_len((const uint8_t *)part,
				    plen);
				fields_parse(&f, part + phl, plen - phl);
				found = true;
			}
			buf_release(&pct);
			if (found)
				break;
			i = (size_t)(end - body);
			continue;
		}
		i++;
	}
	if (!found)
		return err_set(e, ERR_PROTO, "report without a %s part",
		    r->is_dsn ? "delivery-status" : "disposition-notification");
	/* Some senders give the original id only in the outer header. */
	if (r->orig_message_id[0] == '\0') {
		struct buf v;

		buf_init(&v, MDN_FIELD_MAX);
		if (header_get(msg, len, "X-Original-Message-ID", &v) == 1)
			str_lcpy(r->orig_message_id, buf_cstr(&v),
			    sizeof(r->orig_message_id));
		buf_release(&v);
	}
	/* Past the last recipient: no more (the first must exist). */
	if (index > 0 && r->final_recipient[0] == '\0') {
		memset(r, 0, sizeof(*r));
		return 0;
	}
	if (r->disposition == MDN_NONE)
		return err_set(e, ERR_PROTO, "report without a disposition");
	if (r->final_recipient[0] == '\0')
		return err_set(e, ERR_PROTO, "report without Final-Recipient");
	return 1;
}
