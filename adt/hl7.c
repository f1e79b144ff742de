#include "adt/hl7.h"

#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "core/xmalloc.h"

struct hl7_span {
	uint32_t off;
	uint32_t len;
};

struct hl7_seg {
	uint32_t off;    /* first byte of the segment in data */
	uint32_t len;    /* without the CR */
	uint32_t first;  /* index of field 0 in fields */
	uint32_t nfields;
	char name[4];
};

struct hl7_msg {
	struct buf data;
	struct hl7_delims d;
	bool bom;
	struct hl7_seg *segs;
	size_t nsegs;
	size_t segcap;
	struct hl7_span *fields;
	size_t nfields;
	size_t fieldcap;
	char charset[64];
};

void
hl7_delims_default(struct hl7_delims *d)
{
	d->field = '|';
	d->comp = '^';
	d->rep = '~';
	d->esc = '\\';
	d->sub = '&';
}

static bool
is_blank(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t')
			return false;
	return true;
}

/* Copies p into out with a BOM stripped, CRLF/LF turned into CR, blank
 * lines dropped and a final CR. */
static int
normalize(const uint8_t *p, size_t n, struct buf *out, bool *bom_r)
{
	/* The next CR and LF at or after i, found with memchr and kept until
	 * passed (linear whichever ending the input uses); end: none left. */
	const uint8_t *end = p + n, *cr = NULL, *lf = NULL;
	size_t i = 0;

	*bom_r = false;
	if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
		*bom_r = true;
		i = 3;
	}
	if (buf_reserve(out, n - i + 1) != 0)
		return -1;
	while (i < n) {
		const uint8_t *s = p + i, *t;
		size_t len;

		if (cr != end && (cr == NULL || cr < s)) {
			cr = memchr(s, '\r', n - i);
			if (cr == NULL)
				cr = end;
		}
		if (lf != end && (lf == NULL || lf < s)) {
			lf = memchr(s, '\n', n - i);
			if (lf == NULL)
				lf = end;
		}
		t = cr < lf ? cr : lf;
		len = (size_t)(t - s);
		if (len > 0 && !(s[0] <= ' ' && is_blank(s, len))) {
			memcpy(out->data + out->len, s, len);
			out->len += len;
			out->data[out->len++] = '\r';
		}
		i += len;
		if (i < n && p[i] == '\r')
			i++;
		if (i < n && p[i] == '\n')
			i++;
	}
	out->data[out->len] = '\0';
	return 0;
}

static bool
delim_ok(uint8_t c)
{
	if (c == '\r' || c == '\n' || c == '\0')
		return false;
	if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	    (c >= 'a' && c <= 'z'))
		return false;
	return c < 0x80;
}

static bool
is_header_name(const char *name)
{
	return strcmp(name, "MSH") == 0 || strcmp(name, "BHS") == 0 ||
	    strcmp(name, "FHS") == 0;
}

static int
add_field(struct hl7_msg *m, size_t off, size_t len, struct err *e)
{
	if (m->nfields >= HL7_MAX_FIELDS)
		return err_set(e, ERR_PERM, "more than %u fields",
		    HL7_MAX_FIELDS);
	if (m->nfields == m->fieldcap) {
		m->fieldcap = m->fieldcap ? m->fieldcap * 2 : 128;
		m->fields = xreallocarray(m->fields, m->fieldcap,
		    sizeof(*m->fields));
	}
	m->fields[m->nfields].off = (uint32_t)off;
	m->fields[m->nfields].len = (uint32_t)len;
	m->nfields++;
	return 0;
}

/* Indexes the segment at data[off, off + len) (len without the CR). */
static int
index_segment(struct hl7_msg *m, size_t off, size_t len, struct err *e)
{
	const uint8_t *s = m->data.data + off;
	const char fs = m->d.field;
	struct hl7_seg *seg;
	size_t i, nl;
	const uint8_t *q;

	if (m->nsegs >= HL7_MAX_SEGMENTS)
		return err_set(e, ERR_PERM, "more than %u segments",
		    HL7_MAX_SEGMENTS);
	if (m->nsegs == m->segcap) {
		m->segcap = m->segcap ? m->segcap * 2 : 16;
		m->segs = xreallocarray(m->segs, m->segcap, sizeof(*m->segs));
	}
	seg = &m->segs[m->nsegs];
	seg->off = (uint32_t)off;
	seg->len = (uint32_t)len;
	seg->first = (uint32_t)m->nfields;
	q = memchr(s, fs, len);
	i = q ? (size_t)(q - s) : len;
	nl = i < 3 ? i : 3;
	memcpy(seg->name, s, nl);
	seg->name[nl] = '\0';
	if (add_field(m, off, i, e) != 0)
		return -1;
	if (i == 3 && len > 3 && is_header_name(seg->name)) {
		size_t k;

		if (add_field(m, off + 3, 1, e) != 0)
			return -1;
		q = len > 4 ? memchr(s + 4, fs, len - 4) : NULL;
		k = q ? (size_t)(q - s) : len;
		if (add_field(m, off + 4, k - 4, e) != 0)
			return -1;
		i = k;
	}
	while (i < len) {
		size_t start = i + 1;

		q = start < len ? memchr(s + start, fs, len - start) : NULL;
		i = q ? (size_t)(q - s) : len;
		if (add_field(m, off + start, i - start, e) != 0)
			return -1;
	}
	seg->nfields = (uint32_t)(m->nfields - seg->first);
	m->nsegs++;
	return 0;
}

static int
read_delims(struct hl7_msg *m, struct err *e)
{
	const uint8_t *p = m->data.data;
	size_t n = m->data.len, k;
	char enc[4] = {'^', '~', '\\', '&'};

	if (n < 4 || memcmp(p, "MSH", 3) != 0)
		return err_set(e, ERR_PERM, "message does not begin with MSH");
	if (!delim_ok(p[3]))
		return err_set(e, ERR_PERM, "unusable field separator in MSH-1");
	m->d.field = (char)p[3];
	for (k = 4; k < n && p[k] != p[3] && p[k] != '\r'; k++)
		;
	if (k - 4 < 1 || k - 4 > 5)
		return err_set(e, ERR_PERM,
		    "MSH-2 must hold 1 to 5 encoding characters");
	for (size_t i = 0; i < k - 4 && i < 4; i++)
		enc[i] = (char)p[4 + i];
	m->d.comp = enc[0];
	m->d.rep = enc[1];
	m->d.esc = enc[2];
	m->d.sub = enc[3];
	{
		const char all[5] = {m->d.field, m->d.comp, m->d.rep, m->d.esc,
		    m->d.sub};

		for (int i = 0; i < 5; i++) {
			if (!delim_ok((uint8_t)all[i]))
				return err_set(e, ERR_PERM,
				    "unusable encoding character in MSH-2");
			for (int j = i + 1; j < 5; j++)
				if (all[i] == all[j])
					return err_set(e, ERR_PERM,
					    "MSH-1 and MSH-2 delimiters are "
					    "not distinct");
		}
	}
	return 0;
}

static void
record_charset(struct hl7_msg *m)
{
	const uint8_t *p;
	size_t n;

	m->charset[0] = '\0';
	if (hl7_msg_get_at(m, 0, 18, 0, 0, 0, &p, &n) == 1) {
		if (n >= sizeof(m->charset))
			n = sizeof(m->charset) - 1;
		memcpy(m->charset, p, n);
		m->charset[n] = '\0';
	}
}

int
hl7_parse(const void *p, size_t n, struct hl7_msg **m_r, struct err *e)
{
	struct hl7_msg *m;
	size_t off = 0;

	*m_r = NULL;
	if (n > HL7_MAX_BYTES)
		return err_set(e, ERR_PERM, "message larger than %u bytes",
		    HL7_MAX_BYTES);
	m = xcalloc(1, sizeof(*m));
	buf_init(&m->data, HL7_MAX_BYTES + 1);
	hl7_delims_default(&m->d);
	if (normalize(p, n, &m->data, &m->bom) != 0) {
		err_set(e, ERR_PERM, "message too large");
		goto fail;
	}
	if (read_delims(m, e) != 0)
		goto fail;
	while (off < m->data.len) {
		const uint8_t *cr = memchr(m->data.data + off, '\r',
		    m->data.len - off);
		size_t len = (size_t)(cr - (m->data.data + off));

		if (index_segment(m, off, len, e) != 0)
			goto fail;
		off += len + 1;
	}
	record_charset(m);
	*m_r = m;
	return 0;
fail:
	hl7_msg_free(&m);
	return -1;
}

void
hl7_msg_free(struct hl7_msg **mp)
{
	struct hl7_msg *m;

	if (mp == NULL || (m = *mp) == NULL)
		return;
	buf_release(&m->data);
	free(m->segs);
	free(m->fields);
	free(m);
	*mp = NULL;
}

const uint8_t *
hl7_msg_data(const struct hl7_msg *m, size_t *n_r)
{
	*n_r = m->data.len;
	return m->data.data;
}

const struct hl7_delims *
hl7_msg_delims(const struct hl7_msg *m)
{
	return &m->d;
}

bool
hl7_msg_had_bom(const struct hl7_msg *m)
{
	return m->bom;
}

size_t
hl7_msg_nsegs(const struct hl7_msg *m)
{
	return m->nsegs;
}

const char *
hl7_msg_seg_name(const struct hl7_msg *m, size_t i)
{
	return i < m->nsegs ? m->segs[i].name : "";
}

const uint8_t *
hl7_msg_seg_data(const struct hl7_msg *m, size_t i, size_t *n_r)
{
	if (i >= m->nsegs) {
		*n_r = 0;
		return (const uint8_t *)"";
	}
	*n_r = m->segs[i].len;
	return m->data.data + m->segs[i].off;
}

size_t
hl7_msg_nfields(const struct hl7_msg *m, size_t i)
{
	return i < m->nsegs ? m->segs[i].nfields : 0;
}

long
hl7_msg_find_seg(const struct hl7_msg *m, const char *name, unsigned n)
{
	unsigned seen = 0;

	if (n == 0)
		n = 1;
	for (size_t i = 0; i < m->nsegs; i++)
		if (strcmp(m->segs[i].name, name) == 0 && ++seen == n)
			return (long)i;
	return -1;
}

const char *
hl7_msg_charset(const struct hl7_msg *m)
{
	return m->charset;
}

/* The idx-th (1-based) piece of p separated by sep. */
static int
piece(const uint8_t *p, size_t n, char sep, unsigned idx,
    const uint8_t **p_r, size_t *n_r)
{
	const uint8_t *end = p + n;

	for (unsigned k = 1; k < idx; k++) {
		const uint8_t *q = memchr(p, sep, (size_t)(end - p));

		if (q == NULL)
			return 0;
		p = q + 1;
	}
	{
		const uint8_t *q = memchr(p, sep, (size_t)(end - p));

		*p_r = p;
		*n_r = q ? (size_t)(q - p) : (size_t)(end - p);
	}
	return 1;
}

static unsigned
count_pieces(const uint8_t *p, size_t n, char sep)
{
	unsigned c = 1;
	const uint8_t *end = p + n, *q;

	while ((q = memchr(p, sep, (size_t)(end - p))) != NULL) {
		c++;
		p = q + 1;
	}
	return c;
}

static bool
field_span(const struct hl7_msg *m, size_t seg, unsigned field,
    const uint8_t **p_r, size_t *n_r, bool *atomic_r)
{
	const struct hl7_seg *s;
	const struct hl7_span *f;

	if (seg >= m->nsegs)
		return false;
	s = &m->segs[seg];
	if (field >= s->nfields)
		return false;
	f = &m->fields[s->first + field];
	*p_r = m->data.data + f->off;
	*n_r = f->len;
	*atomic_r = field == 0 || (field <= 2 && is_header_name(s->name) &&
	    s->nfields > 1 && f->off == s->off + 3 + (field == 2));
	return true;
}

int
hl7_msg_get_at(const struct hl7_msg *m, size_t seg, unsigned field,
    unsigned rep, unsigned comp, unsigned sub, const uint8_t **p_r,
    size_t *n_r)
{
	const uint8_t *p;
	size_t n;
	bool atomic;

	*p_r = (const uint8_t *)"";
	*n_r = 0;
	if (!field_span(m, seg, field, &p, &n, &atomic))
		return 0;
	if (sub > 0 && comp == 0)
		comp = 1;
	if (comp > 0 && rep == 0)
		rep = 1;
	if (atomic) {
		if (rep > 1 || comp > 1 || sub > 1)
			return 0;
		*p_r = p;
		*n_r = n;
		return 1;
	}
	if (rep > 0 && !piece(p, n, m->d.rep, rep, &p, &n))
		return 0;
	if (comp > 0 && !piece(p, n, m->d.comp, comp, &p, &n))
		return 0;
	if (sub > 0 && !piece(p, n, m->d.sub, sub, &p, &n))
		return 0;
	*p_r = p;
	*n_r = n;
	return 1;
}

unsigned
hl7_msg_count_reps(const struct hl7_msg *m, size_t seg, unsigned field)
{
	const uint8_t *p;
	size_t n;
	bool atomic;

	if (!field_span(m, seg, field, &p, &n, &atomic))
		return 0;
	return atomic ? 1 : count_pieces(p, n, m->d.rep);
}

unsigned
hl7_msg_count_comps(const struct hl7_msg *m, size_t seg, unsigned field,
    unsigned rep)
{
	const uint8_t *p;
	size_t n;
	bool atomic;

	if (!field_span(m, seg, field, &p, &n, &atomic))
		return 0;
	if (atomic)
		return rep <= 1 ? 1 : 0;
	if (!piece(p, n, m->d.rep, rep ? rep : 1, &p, &n))
		return 0;
	return count_pieces(p, n, m->d.comp);
}

unsigned
hl7_msg_count_subs(const struct hl7_msg *m, size_t seg, unsigned field,
    unsigned rep, unsigned comp)
{
	const uint8_t *p;
	size_t n;
	bool atomic;

	if (!field_span(m, seg, field, &p, &n, &atomic))
		return 0;
	if (atomic)
		return rep <= 1 && comp <= 1 ? 1 : 0;
	if (!piece(p, n, m->d.rep, rep ? rep : 1, &p, &n) ||
	    !piece(p, n, m->d.comp, comp ? comp : 1, &p, &n))
		return 0;
	return count_pieces(p, n, m->d.sub);
}

int
hl7_msg_get(const struct hl7_msg *m, const struct hl7_loc *loc,
    const uint8_t **p_r, size_t *n_r)
{
	long seg = hl7_msg_find_seg(m, loc->seg, loc->seg_occ);

	if (seg < 0) {
		*p_r = (const uint8_t *)"";
		*n_r = 0;
		return 0;
	}
	return hl7_msg_get_at(m, (size_t)seg, loc->field, loc->rep, loc->comp,
	    loc->sub, p_r, n_r);
}

static int
parse_num(const char **sp, unsigned *v_r)
{
	const char *s = *sp;
	unsigned v = 0;

	if (*s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (unsigned)(*s - '0');
		if (v > 1000000)
			return -1;
		s++;
	}
	*sp = s;
	*v_r = v;
	return 0;
}

int
hl7_loc_parse(const char *path, struct hl7_loc *loc_r)
{
	const char *s = path;
	struct hl7_loc loc;

	memset(&loc, 0, sizeof(loc));
	for (int i = 0; i < 3; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return -1;
		loc.seg[i] = c;
	}
	s += 3;
	loc.seg_occ = 1;
	if (*s == '[') {
		s++;
		if (parse_num(&s, &loc.seg_occ) != 0 || loc.seg_occ == 0 ||
		    *s++ != ']')
			return -1;
	}
	if (*s != '-' && *s != '.')
		return -1;
	s++;
	if (parse_num(&s, &loc.field) != 0)
		return -1;
	if (*s == '[') {
		s++;
		if (parse_num(&s, &loc.rep) != 0 || loc.rep == 0 ||
		    *s++ != ']')
			return -1;
	}
	if (*s == '.') {
		s++;
		if (parse_num(&s, &loc.comp) != 0 || loc.comp == 0)
			return -1;
		if (*s == '.') {
			s++;
			if (parse_num(&s, &loc.sub) != 0 || loc.sub == 0)
				return -1;
		}
	}
	if (*s != '\0')
		return -1;
	*loc_r = loc;
	return 0;
}

int
hl7_msg_path(const struct hl7_msg *m, const char *path, const uint8_t **p_r,
    size_t *n_r)
{
	struct hl7_loc loc;

	*p_r = (const uint8_t *)"";
	*n_r = 0;
	if (hl7_loc_parse(path, &loc) != 0)
		return -1;
	return hl7_msg_get(m, &loc, p_r, n_r);
}

int
hl7_msg_path_text(const struct hl7_msg *m, const char *path, struct buf *out)
{
	const uint8_t *p;
	size_t n;
	int rc = hl7_msg_path(m, path, &p, &n);

	if (rc != 1)
		return rc;
	return hl7_unescape(&m->d, p, n, out) == 0 ? 1 : -1;
}

int
hl7_msg_path_str(const struct hl7_msg *m, const char *path, char *dst,
    size_t size)
{
	const uint8_t *p;
	size_t n;
	struct buf b;
	int rc;

	if (size > 0)
		dst[0] = '\0';
	rc = hl7_msg_path(m, path, &p, &n);
	if (rc != 1 || size == 0)
		return rc;
	buf_init(&b, BUF_UNLIMITED);
	(void)hl7_unescape(&m->d, p, n, &b);
	str_lcpy(dst, buf_cstr(&b), size);
	buf_release(&b);
	return rc;
}

int
hl7_msg_write(const struct hl7_msg *m, struct buf *out)
{
	for (size_t i = 0; i < m->nsegs; i++) {
		const struct hl7_seg *s = &m->segs[i];
		const struct hl7_span *f = &m->fields[s->first];
		uint32_t k = 1;

		if (buf_append(out, m->data.data + f[0].off, f[0].len) != 0)
			return -1;
		if (s->nfields >= 3 && is_header_name(s->name) &&
		    f[1].off == s->off + 3 && f[1].len == 1 &&
		    f[2].off == s->off + 4) {
			/* MSH-1 is the separator itself. */
			if (buf_append(out, m->data.data + f[1].off, 1) != 0 ||
			    buf_append(out, m->data.data + f[2].off,
			    f[2].len) != 0)
				return -1;
			k = 3;
		}
		for (; k < s->nfields; k++)
			if (buf_putc(out, (uint8_t)m->d.field) != 0 ||
			    buf_append(out, m->data.data + f[k].off,
			    f[k].len) != 0)
				return -1;
		if (buf_putc(out, '\r') != 0)
			return -1;
	}
	return 0;
}

int
hl7_msg_add_segment(struct hl7_msg *m, const void *p, size_t n, struct err *e)
{
	size_t off = m->data.len;

	if (n == 0)
		return err_set(e, ERR_PERM, "empty segment");
	if (memchr(p, '\r', n) != NULL || memchr(p, '\n', n) != NULL)
		return err_set(e, ERR_PERM, "line break inside a segment");
	if (buf_append(&m->data, p, n) != 0 || buf_putc(&m->data, '\r') != 0) {
		buf_truncate(&m->data, off);
		return err_set(e, ERR_PERM, "message too large");
	}
	if (index_segment(m, off, n, e) != 0) {
		buf_truncate(&m->data, off);
		return -1;
	}
	return 0;
}

int
hl7_msg_add_fields(struct hl7_msg *m, const char *name,
    const char *const *values, size_t n, struct err *e)
{
	struct buf seg;
	int rc;

	if (strlen(name) != 3)
		return err_set(e, ERR_PERM, "segment names have 3 characters");
	buf_init(&seg, HL7_MAX_BYTES);
	rc = buf_append_str(&seg, name);
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = buf_putc(&seg, (uint8_t)m->d.field);
		if (rc == 0 && values[i] != NULL)
			rc = hl7_escape(&m->d, values[i], strlen(values[i]),
			    &seg);
	}
	if (rc != 0) {
		buf_release(&seg);
		return err_set(e, ERR_PERM, "segment too large");
	}
	rc = hl7_msg_add_segment(m, seg.data, seg.len, e);
	buf_release(&seg);
	return rc;
}

int
hl7_escape(const struct hl7_delims *d, const void *vp, size_t n,
    struct buf *out)
{
	const uint8_t *p = vp;
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		char code = 0;

		if (c == (uint8_t)d->field)
			code = 'F';
		else if (c == (uint8_t)d->comp)
			code = 'S';
		else if (c == (uint8_t)d->sub)
			code = 'T';
		else if (c == (uint8_t)d->rep)
			code = 'R';
		else if (c == (uint8_t)d->esc)
			code = 'E';
		if (code) {
			const char seq[3] = {d->esc, code, d->esc};

			if (buf_append(out, seq, 3) != 0)
				return -1;
		} else if (c == '\r' || c == '\n') {
			if (c == '\r' && i + 1 < n && p[i + 1] == '\n')
				i++;
			if (buf_putc(out, (uint8_t)d->esc) != 0 ||
			    buf_append(out, ".br", 3) != 0 ||
			    buf_putc(out, (uint8_t)d->esc) != 0)
				return -1;
		} else if (c < 0x20 || c == 0x7f) {
			const char seq[5] = {d->esc, 'X', hex[c >> 4],
			    hex[c & 15], d->esc};

			if (buf_append(out, seq, 5) != 0)
				return -1;
		} else if (buf_putc(out, c) != 0) {
			return -1;
		}
	}
	return 0;
}

static int
hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hl7_unescape(const struct hl7_delims *d, const void *vp, size_t n,
    struct buf *out)
{
	const uint8_t *p = vp, *end = p + n;
	const uint8_t esc = (uint8_t)d->esc;

	if (buf_reserve(out, n) != 0)
		return -1;
	while (p < end) {
		const uint8_t *q = memchr(p, esc, (size_t)(end - p));
		const uint8_t *s, *t;
		size_t len;

		if (q == NULL) {
			return buf_append(out, p, (size_t)(end - p));
		}
		if (buf_append(out, p, (size_t)(q - p)) != 0)
			return -1;
		s = q + 1;
		t = memchr(s, esc, (size_t)(end - s));
		if (t == NULL)
			return buf_append(out, q, (size_t)(end - q));
		len = (size_t)(t - s);
		if (len == 1 && (s[0] == 'F' || s[0] == 'S' || s[0] == 'T' ||
		    s[0] == 'R' || s[0] == 'E')) {
			char c = s[0] == 'F' ? d->field : s[0] == 'S' ?
			    d->comp : s[0] == 'T' ? d->sub : s[0] == 'R' ?
			    d->rep : d->esc;

			if (buf_putc(out, (uint8_t)c) != 0)
				return -1;
		} else if (len == 1 && (s[0] == 'H' || s[0] == 'N')) {
			/* highlighting on/off: no text */
		} else if (len == 3 && memcmp(s, ".br", 3) == 0) {
			if (buf_putc(out, '\n') != 0)
				return -1;
		} else if (len >= 3 && s[0] == 'X' && (len - 1) % 2 == 0) {
			size_t j;

			for (j = 1; j < len; j++)
				if (hexval(s[j]) < 0)
					break;
			if (j < len) {
				if (buf_append(out, q, len + 2) != 0)
					return -1;
			} else {
				for (j = 1; j < len; j += 2)
					if (buf_putc(out, (uint8_t)(
					    hexval(s[j]) * 16 +
					    hexval(s[j + 1]))) != 0)
						return -1;
			}
		} else {
			/* unknown: unchanged, both escape characters kept */
			if (buf_append(out, q, len + 2) != 0)
				return -1;
		}
		p = t + 1;
	}
	return 0;
}
