#include "core/rd.h"

#include <string.h>

void
rd_init(struct rd *r, const void *data, size_t len)
{
	r->data = data;
	r->len = data != NULL ? len : 0;
	r->off = 0;
	r->failed = false;
}

static int
rd_fail(struct rd *r)
{
	r->failed = true;
	return -1;
}

static bool
rd_has(struct rd *r, size_t n)
{
	if (r->failed)
		return false;
	if (n > r->len - r->off) {
		r->failed = true;
		return false;
	}
	return true;
}

int
rd_u8(struct rd *r, uint8_t *v)
{
	*v = 0;
	if (!rd_has(r, 1))
		return -1;
	*v = r->data[r->off++];
	return 0;
}

int
rd_u16be(struct rd *r, uint16_t *v)
{
	*v = 0;
	if (!rd_has(r, 2))
		return -1;
	*v = (uint16_t)(r->data[r->off] << 8 | r->data[r->off + 1]);
	r->off += 2;
	return 0;
}

int
rd_u32be(struct rd *r, uint32_t *v)
{
	const uint8_t *p;

	*v = 0;
	if (!rd_has(r, 4))
		return -1;
	p = r->data + r->off;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
	r->off += 4;
	return 0;
}

int
rd_bytes(struct rd *r, size_t n, const uint8_t **p_r)
{
	*p_r = NULL;
	if (!rd_has(r, n))
		return -1;
	*p_r = r->data + r->off;
	r->off += n;
	return 0;
}

int
rd_copy(struct rd *r, void *dst, size_t n)
{
	if (!rd_has(r, n)) {
		if (n > 0)
			memset(dst, 0, n);
		return -1;
	}
	if (n > 0)
		memcpy(dst, r->data + r->off, n);
	r->off += n;
	return 0;
}

int
rd_skip(struct rd *r, size_t n)
{
	if (!rd_has(r, n))
		return -1;
	r->off += n;
	return 0;
}

int
rd_seek(struct rd *r, size_t off)
{
	if (r->failed || off > r->len)
		return rd_fail(r);
	r->off = off;
	return 0;
}

int
rd_until(struct rd *r, uint8_t c, const uint8_t **p_r, size_t *n_r)
{
	const uint8_t *hit;

	*p_r = NULL;
	*n_r = 0;
	if (r->failed)
		return -1;
	hit = memchr(r->data + r->off, c, r->len - r->off);
	if (hit == NULL)
		return rd_fail(r);
	*p_r = r->data + r->off;
	*n_r = (size_t)(hit - *p_r);
	r->off += *n_r + 1;
	return 0;
}

int
rd_peek(const struct rd *r)
{
	if (r->failed || r->off >= r->len)
		return -1;
	return r->data[r->off];
}

size_t
rd_remaining(const struct rd *r)
{
	return r->failed ? 0 : r->len - r->off;
}

size_t
rd_offset(const struct rd *r)
{
	return r->off;
}

bool
rd_failed(const struct rd *r)
{
	return r->failed;
}

int
rd_sub(struct rd *r, size_t n, struct rd *sub_r)
{
	const uint8_t *p;

	if (rd_bytes(r, n, &p) != 0) {
		rd_init(sub_r, NULL, 0);
		sub_r->failed = true;
		return -1;
	}
	rd_init(sub_r, p, n);
	return 0;
}
