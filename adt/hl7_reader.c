#include "adt/hl7_reader.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/xmalloc.h"

struct hl7_reader {
	size_t max_msg;
	struct buf line;     /* the current line, without its end */
	struct buf msg;      /* the message being collected */
	struct buf out;      /* the last complete message */
	unsigned bom_seen;   /* bytes of a leading BOM matched so far */
	bool started;        /* past the BOM check */
	bool after_cr;       /* the last byte was CR: swallow one LF */
	bool failed;
	unsigned headers;
	unsigned trailers;
};

static const uint8_t bom[3] = {0xEF, 0xBB, 0xBF};

struct hl7_reader *
hl7_reader_new(size_t max_msg)
{
	struct hl7_reader *r = xcalloc(1, sizeof(*r));

	r->max_msg = max_msg;
	buf_init(&r->line, max_msg);
	buf_init(&r->msg, max_msg);
	buf_init(&r->out, max_msg);
	return r;
}

void
hl7_reader_free(struct hl7_reader **rp)
{
	struct hl7_reader *r;

	if (rp == NULL || (r = *rp) == NULL)
		return;
	buf_release(&r->line);
	buf_release(&r->msg);
	buf_release(&r->out);
	free(r);
	*rp = NULL;
}

static bool
line_blank(const struct buf *b)
{
	for (size_t i = 0; i < b->len; i++)
		if (b->data[i] != ' ' && b->data[i] != '\t')
			return false;
	return true;
}

/* Moves the collected message to out. */
static void
complete(struct hl7_reader *r)
{
	struct buf t = r->out;

	r->out = r->msg;
	r->msg = t;
	buf_reset(&r->msg);
}

/* Handles the line just ended. Returns 1 when a message was completed, 0,
 * or -1. */
static int
end_line(struct hl7_reader *r, struct err *e)
{
	const uint8_t *p = r->line.data;
	size_t n = r->line.len;
	int done = 0;

	if (n == 0 || line_blank(&r->line)) {
		buf_reset(&r->line);
		return 0;
	}
	if (n >= 3 && (memcmp(p, "MSH", 3) == 0 || memcmp(p, "BHS", 3) == 0 ||
	    memcmp(p, "FHS", 3) == 0 || memcmp(p, "BTS", 3) == 0 ||
	    memcmp(p, "FTS", 3) == 0) && (n == 3 || p[3] < '0' ||
	    (p[3] > '9' && p[3] < 'A') || p[3] > 'Z')) {
		if (r->msg.len > 0) {
			complete(r);
			done = 1;
		}
		if (memcmp(p, "MSH", 3) != 0) {
			if (p[1] == 'H')
				r->headers++;
			else
				r->trailers++;
			buf_reset(&r->line);
			return done;
		}
	} else if (r->msg.len == 0) {
		r->failed = true;
		return err_set(e, ERR_PERM, "segment before any MSH");
	}
	if (buf_append(&r->msg, p, n) != 0 || buf_putc(&r->msg, '\r') != 0) {
		r->failed = true;
		return err_set(e, ERR_PERM, "message larger than %zu bytes",
		    r->max_msg);
	}
	buf_reset(&r->line);
	return done;
}

int
hl7_reader_feed(struct hl7_reader *r, const void *vp, size_t n,
    size_t *used_r, struct err *e)
{
	const uint8_t *p = vp;
	size_t i = 0;

	*used_r = 0;
	if (r->failed)
		return err_set(e, ERR_PERM, "reader failed earlier");
	buf_reset(&r->out);
	while (!r->started && i < n) {
		if (p[i] == bom[r->bom_seen]) {
			i++;
			if (++r->bom_seen == 3)
				r->started = true;
			continue;
		}
		/* Not a BOM after all: what matched is data. */
		if (buf_append(&r->line, bom, r->bom_seen) != 0)
			return err_set(e, ERR_PERM, "line too long");
		r->started = true;
	}
	while (i < n) {
		const uint8_t *s = p + i;
		size_t len = 0, rest = n - i;
		int rc;

		if (r->after_cr) {
			r->after_cr = false;
			if (s[0] == '\n') {
				i++;
				continue;
			}
		}
		while (len < rest && s[len] != '\r' && s[len] != '\n')
			len++;
		if (buf_append(&r->line, s, len) != 0) {
			r->failed = true;
			return err_set(e, ERR_PERM,
			    "message larger than %zu bytes", r->max_msg);
		}
		i += len;
		if (i == n)
			break;
		r->after_cr = p[i] == '\r';
		i++;
		rc = end_line(r, e);
		if (rc != 0) {
			*used_r = i;
			return rc;
		}
	}
	*used_r = i;
	return 0;
}

int
hl7_reader_finish(struct hl7_reader *r, struct err *e)
{
	int rc;

	if (r->failed)
		return err_set(e, ERR_PERM, "reader failed earlier");
	buf_reset(&r->out);
	if (!r->started && r->bom_seen > 0 &&
	    buf_append(&r->line, bom, r->bom_seen) != 0)
		return err_set(e, ERR_PERM, "line too long");
	r->started = true;
	r->after_cr = false;
	rc = end_line(r, e);
	if (rc != 0)
		return rc;
	if (r->msg.len > 0) {
		complete(r);
		return 1;
	}
	return 0;
}

const uint8_t *
hl7_reader_msg(const struct hl7_reader *r, size_t *n_r)
{
	*n_r = r->out.len;
	return r->out.data ? r->out.data : (const uint8_t *)"";
}

unsigned
hl7_reader_batch_headers(const struct hl7_reader *r)
{
	return r->headers;
}

unsigned
hl7_reader_batch_trailers(const struct hl7_reader *r)
{
	return r->trailers;
}

static void
split_add(struct hl7_split *s, struct buf *all, const uint8_t *p, size_t n,
    size_t *cap)
{
	if (s->count == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		s->offs = xreallocarray(s->offs, *cap, sizeof(*s->offs));
		s->lens = xreallocarray(s->lens, *cap, sizeof(*s->lens));
	}
	s->offs[s->count] = all->len;
	s->lens[s->count] = n;
	s->count++;
	(void)buf_append(all, p, n);
}

int
hl7_reader_split(const void *vp, size_t n, size_t max_msg,
    struct hl7_split *s_r, struct err *e)
{
	const uint8_t *p = vp;
	struct hl7_reader *r = hl7_reader_new(max_msg);
	struct buf all;
	size_t cap = 0, used;
	const uint8_t *m;
	size_t mn;
	int rc;

	memset(s_r, 0, sizeof(*s_r));
	buf_init(&all, BUF_UNLIMITED);
	while (n > 0) {
		rc = hl7_reader_feed(r, p, n, &used, e);
		if (rc < 0)
			goto fail;
		p += used;
		n -= used;
		if (rc == 1) {
			m = hl7_reader_msg(r, &mn);
			split_add(s_r, &all, m, mn, &cap);
		}
	}
	rc = hl7_reader_finish(r, e);
	if (rc < 0)
		goto fail;
	if (rc == 1) {
		m = hl7_reader_msg(r, &mn);
		split_add(s_r, &all, m, mn, &cap);
	}
	s_r->batch_headers = r->headers;
	s_r->batch_trailers = r->trailers;
	if (s_r->count == 0) {
		/* nothing to hand over: the caller need not release */
		buf_release(&all);
		hl7_reader_split_release(s_r);
		s_r->batch_headers = r->headers;
		s_r->batch_trailers = r->trailers;
		hl7_reader_free(&r);
		return 0;
	}
	s_r->data = buf_steal(&all, &s_r->len);
	hl7_reader_free(&r);
	return (int)s_r->count;
fail:
	buf_release(&all);
	hl7_reader_split_release(s_r);
	hl7_reader_free(&r);
	return -1;
}

void
hl7_reader_split_release(struct hl7_split *s)
{
	free(s->data);
	free(s->offs);
	free(s->lens);
	memset(s, 0, sizeof(*s));
}
