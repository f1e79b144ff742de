#include "hisp/smtp_reply.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xmalloc.h"

struct smtp_reply_parser {
	struct smtp_reply reply; /* the last complete reply */
	struct smtp_reply cur;   /* the one being read */
	struct buf line;
	bool failed;
};

struct smtp_reply_parser *
smtp_reply_parser_new(void)
{
	struct smtp_reply_parser *p = xcalloc(1, sizeof(*p));

	buf_init(&p->reply.text, SMTP_REPLY_LINE_MAX * SMTP_REPLY_LINES_MAX);
	buf_init(&p->cur.text, SMTP_REPLY_LINE_MAX * SMTP_REPLY_LINES_MAX);
	buf_init(&p->line, SMTP_REPLY_LINE_MAX);
	return p;
}

void
smtp_reply_parser_free(struct smtp_reply_parser **pp)
{
	struct smtp_reply_parser *p;

	if (pp == NULL || *pp == NULL)
		return;
	p = *pp;
	buf_release(&p->reply.text);
	buf_release(&p->cur.text);
	buf_release(&p->line);
	free(p);
	*pp = NULL;
}

/* "c.d.d" at the start of t, class c matching the code, then a space or
 * the end: its length, else 0. */
static size_t
enhanced_len(int code, const char *t, size_t n)
{
	size_t i = 0;

	if (n < 5 || t[0] != '0' + code / 100 || t[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		size_t d = 0;

		while (i < n && t[i] >= '0' && t[i] <= '9' && d < 3) {
			i++;
			d++;
		}
		if (d == 0)
			return 0;
		if (part == 0) {
			if (i >= n || t[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < n && t[i] != ' ')
		return 0;
	return i;
}

/* One line (without its line end). 1: last line of the reply. */
static int
take_line(struct smtp_reply_parser *p, const char *l, size_t n,
    struct err *e)
{
	int code;
	bool last;
	size_t tlen;
	const char *t;

	if (n < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' ||
	    l[2] < '0' || l[2] > '9')
		return err_set(e, ERR_PROTO, "malformed SMTP reply line");
	if (n > 3 && l[3] != ' ' && l[3] != '-')
		return err_set(e, ERR_PROTO, "malformed SMTP reply line");
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	last = n == 3 || l[3] == ' ';
	t = n > 4 ? l + 4 : "";
	tlen = n > 4 ? n - 4 : 0;
	if (p->cur.nlines == 0) {
		size_t el;

		p->cur.code = code;
		el = enhanced_len(code, t, tlen);
		memcpy(p->cur.enhanced, t, el);
		p->cur.enhanced[el] = '\0';
	} else if (code != p->cur.code) {
		return err_set(e, ERR_PROTO,
		    "SMTP reply lines with different codes");
	}
	if (p->cur.nlines >= SMTP_REPLY_LINES_MAX)
		return err_set(e, ERR_PROTO, "SMTP reply with too many lines");
	if ((p->cur.nlines > 0 && buf_putc(&p->cur.text, '\n') != 0) ||
	    buf_append(&p->cur.text, t, tlen) != 0)
		return err_set(e, ERR_PROTO, "SMTP reply too long");
	p->cur.nlines++;
	return last ? 1 : 0;
}

int
smtp_reply_parser_parse(struct smtp_reply_parser *p, const uint8_t *data,
    size_t n, size_t *used_r, struct err *e)
{
	size_t used = 0;

	*used_r = 0;
	if (p->failed)
		return err_set(e, ERR_PROTO, "SMTP reply parser failed earlier");
	while (used < n) {
		const uint8_t *lf = memchr(data + used, '\n', n - used);
		size_t take = lf ? (size_t)(lf - (data + used)) : n - used;
		int r;

		if (buf_append(&p->line, data + used, take) != 0) {
			p->failed = true;
			return err_set(e, ERR_PROTO, "SMTP reply line too long");
		}
		used += take;
		if (lf == NULL)
			break;
		used++; /* the LF */
		if (p->line.len > 0 && p->line.data[p->line.len - 1] == '\r')
			p->line.len--;
		r = take_line(p, (const char *)p->line.data, p->line.len, e);
		buf_reset(&p->line);
		if (r < 0) {
			p->failed = true;
			*used_r = used;
			return -1;
		}
		if (r == 1) {
			struct buf t = p->reply.text;

			/* The complete reply becomes the visible one. */
			p->reply = p->cur;
			p->cur.text = t;
			buf_reset(&p->cur.text);
			p->cur.nlines = 0;
			p->cur.code = 0;
			p->cur.enhanced[0] = '\0';
			*used_r = used;
			return 1;
		}
	}
	*used_r = used;
	return 0;
}

const struct smtp_reply *
smtp_reply_parser_get0_reply(const struct smtp_reply_parser *p)
{
	return &p->reply;
}

enum smtp_reply_class
smtp_reply_class(int code)
{
	if (code >= 500)
		return SMTP_REPLY_PERM;
	if (code >= 400)
		return SMTP_REPLY_TEMP;
	return SMTP_REPLY_POSITIVE;
}

const char *
smtp_reply_line(const struct smtp_reply *r, size_t i, size_t *len_r)
{
	const char *p = buf_cstr(&r->text), *end = p + r->text.len;

	if (i >= r->nlines)
		return NULL;
	while (i > 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL)
			return NULL;
		p = nl + 1;
		i--;
	}
	{
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		*len_r = nl ? (size_t)(nl - p) : (size_t)(end - p);
	}
	return p;
}

bool
smtp_reply_ehlo_has(const struct smtp_reply *r, const char *keyword,
    const char **params_r, size_t *params_len_r)
{
	size_t kl = strlen(keyword);

	for (size_t i = 1; i < r->nlines; i++) {
		size_t n;
		const char *l = smtp_reply_line(r, i, &n);

		if (l == NULL || n < kl || strncasecmp(l, keyword, kl) != 0 ||
		    (n > kl && l[kl] != ' ' && l[kl] != '='))
			continue;
		if (params_r != NULL) {
			size_t o = kl;

			while (o < n && (l[o] == ' ' || l[o] == '='))
				o++;
			*params_r = l + o;
			if (params_len_r != NULL)
				*params_len_r = n - o;
		}
		return true;
	}
	return false;
}
