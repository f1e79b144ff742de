#include "adt/mllp.h"

#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"

enum state {
	ST_OUTSIDE,  /* waiting for 0x0B */
	ST_INSIDE,   /* collecting until 0x1C */
	ST_DISCARD,  /* over max_frame (discard mode): dropping until 0x1C */
	ST_FAILED,
};

struct mllp_framer {
	size_t max_frame;
	enum state st;
	struct buf cur;    /* the frame being collected */
	struct buf done;   /* the last complete frame */
	bool have_done;
	bool skip_cr;      /* just ended a frame: one 0x0D is part of it */
	bool discard;      /* oversized frames are cut, not fatal */
	bool done_over;    /* the last complete frame was cut */
	uint64_t size;     /* content bytes of the current frame so far */
	uint64_t done_size; /* content bytes of the last complete frame */
	uint64_t ignored;
	uint64_t restarts;
};

struct mllp_framer *
mllp_framer_new(size_t max_frame)
{
	struct mllp_framer *f = xcalloc(1, sizeof(*f));

	f->max_frame = max_frame;
	buf_init(&f->cur, max_frame);
	buf_init(&f->done, max_frame);
	return f;
}

void
mllp_framer_free(struct mllp_framer **fp)
{
	struct mllp_framer *f;

	if (fp == NULL || (f = *fp) == NULL)
		return;
	buf_release(&f->cur);
	buf_release(&f->done);
	free(f);
	*fp = NULL;
}

int
mllp_framer_feed(struct mllp_framer *f, const void *vp, size_t n,
    size_t *used_r, struct err *e)
{
	const uint8_t *p = vp;
	size_t i = 0;

	*used_r = 0;
	if (f->st == ST_FAILED)
		return err_set(e, ERR_PROTO, "framer failed earlier");
	if (f->have_done) {
		buf_reset(&f->done);
		f->have_done = false;
		f->done_over = false;
		f->done_size = 0;
	}
	while (i < n) {
		if (f->st == ST_OUTSIDE) {
			const uint8_t *sb;

			if (f->skip_cr) {
				f->skip_cr = false;
				if (p[i] == MLLP_CR) {
					i++;
					continue;
				}
			}
			sb = memchr(p + i, MLLP_SB, n - i);
			if (sb == NULL) {
				f->ignored += n - i;
				i = n;
				break;
			}
			f->ignored += (size_t)(sb - (p + i));
			i = (size_t)(sb - p) + 1;
			f->st = ST_INSIDE;
			f->size = 0;
			buf_reset(&f->cur);
			continue;
		}
		/* ST_INSIDE, ST_DISCARD: copy (or drop) up to the next 0x1C or
		 * 0x0B. */
		{
			const uint8_t *s = p + i;
			size_t len = 0, rest = n - i;

			{
				const uint8_t *eb = memchr(s, MLLP_EB, rest);
				const uint8_t *sb;

				len = eb ? (size_t)(eb - s) : rest;
				sb = memchr(s, MLLP_SB, len);
				if (sb != NULL)
					len = (size_t)(sb - s);
			}
			f->size += len;
			if (f->st == ST_INSIDE &&
			    buf_append(&f->cur, s, len) != 0) {
				if (!f->discard) {
					f->st = ST_FAILED;
					buf_reset(&f->cur);
					*used_r = i + len;
					return err_set(e, ERR_PROTO,
					    "MLLP frame larger than %zu bytes",
					    f->max_frame);
				}
				/* Keep the head (its MSH answers the frame),
				 * drop the rest up to the end block. */
				(void)buf_append(&f->cur, s,
				    f->max_frame - f->cur.len);
				f->st = ST_DISCARD;
			}
			i += len;
			if (i == n)
				break;
			if (p[i] == MLLP_SB) {
				f->restarts++;
				f->st = ST_INSIDE;
				f->size = 0;
				buf_reset(&f->cur);
				i++;
				continue;
			}
			/* end block */
			i++;
			{
				struct buf t = f->done;

				f->done = f->cur;
				f->cur = t;
				buf_reset(&f->cur);
			}
			f->have_done = true;
			f->done_over = f->st == ST_DISCARD;
			f->done_size = f->size;
			f->skip_cr = true;
			f->st = ST_OUTSIDE;
			*used_r = i;
			return 1;
		}
	}
	*used_r = i;
	return 0;
}

const uint8_t *
mllp_framer_frame(const struct mllp_framer *f, size_t *n_r)
{
	*n_r = f->have_done ? f->done.len : 0;
	return f->done.data ? f->done.data : (const uint8_t *)"";
}

bool
mllp_framer_partial(const struct mllp_framer *f)
{
	return f->st == ST_INSIDE || f->st == ST_DISCARD;
}

const uint8_t *
mllp_framer_discarding(const struct mllp_framer *f, size_t *n_r)
{
	if (f->st != ST_DISCARD) {
		*n_r = 0;
		return NULL;
	}
	*n_r = f->cur.len;
	return f->cur.data;
}

void
mllp_framer_set_discard(struct mllp_framer *f, bool on)
{
	f->discard = on;
}

bool
mllp_framer_oversized(const struct mllp_framer *f, uint64_t *size_r)
{
	if (size_r != NULL)
		*size_r = f->have_done ? f->done_size : 0;
	return f->have_done && f->done_over;
}

uint64_t
mllp_framer_ignored(const struct mllp_framer *f)
{
	return f->ignored;
}

uint64_t
mllp_framer_restarts(const struct mllp_framer *f)
{
	return f->restarts;
}

int
mllp_wrap(struct buf *out, const void *p, size_t n)
{
	size_t start = out->len;

	if (buf_putc(out, MLLP_SB) != 0 || buf_append(out, p, n) != 0 ||
	    buf_putc(out, MLLP_EB) != 0 || buf_putc(out, MLLP_CR) != 0) {
		buf_truncate(out, start);
		return -1;
	}
	return 0;
}

int
mllp_commit_ack(struct buf *out, bool ok)
{
	const uint8_t c = ok ? MLLP_ACK : MLLP_NAK;

	return mllp_wrap(out, &c, 1);
}

int
mllp_is_commit_ack(const void *vp, size_t n)
{
	const uint8_t *p = vp;

	if (n != 1)
		return -1;
	return p[0] == MLLP_ACK ? 1 : p[0] == MLLP_NAK ? 0 : -1;
}
