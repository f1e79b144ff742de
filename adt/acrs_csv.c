#include "adt/acrs_csv.h"

#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"

enum acrs_csv_state {
	CSV_START,  /* at the start of a field */
	CSV_UNQ,    /* inside an unquoted field */
	CSV_Q,      /* inside a quoted field */
	CSV_QQ,     /* a quote inside a quoted field: end or escape */
	CSV_CR,     /* after a CR that ends a row: swallow one LF */
	CSV_SKIP,   /* after an error: skip to the end of the line */
	CSV_SKIPCR, /* the same, after its CR */
};

struct acrs_csv {
	size_t field_max, row_max, fields_max;
	char *row;        /* row_max + fields_max + 1 bytes: fields, NULs */
	size_t len;       /* bytes used in row */
	size_t fstart;    /* start of the field being read */
	size_t *starts;   /* per field */
	size_t *lens;
	size_t nf;
	bool content;     /* the current row has something (not blank) */
	bool ready;       /* a row was returned: clear it on the next call */
	enum acrs_csv_state st;
	uint64_t line;    /* current line, from 1 */
	uint64_t rec_line;
	uint64_t offset;
	unsigned bom_n;   /* BOM bytes matched at the start */
	bool bom_active;
	bool q_cr;        /* the last byte in quotes was a CR */
	const uint8_t *in;
	size_t in_n, pos;
	bool finished, eof_done;
};

static const uint8_t acrs_csv_bom[3] = {0xef, 0xbb, 0xbf};

struct acrs_csv *
acrs_csv_new(const struct acrs_csv_limits *lim)
{
	struct acrs_csv *c = xcalloc(1, sizeof(*c));

	c->field_max = lim != NULL && lim->field_max ? lim->field_max : 4096;
	c->row_max = lim != NULL && lim->row_max ? lim->row_max : 65536;
	c->fields_max = lim != NULL && lim->fields_max ? lim->fields_max : 64;
	c->row = xmalloc(c->row_max + c->fields_max + 1);
	c->starts = xcalloc(c->fields_max, sizeof(*c->starts));
	c->lens = xcalloc(c->fields_max, sizeof(*c->lens));
	acrs_csv_reset(c);
	return c;
}

void
acrs_csv_free(struct acrs_csv **cp)
{
	struct acrs_csv *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	free(c->row);
	free(c->starts);
	free(c->lens);
	free(c);
}

static void
acrs_csv_clear_row(struct acrs_csv *c)
{
	c->len = 0;
	c->fstart = 0;
	c->nf = 0;
	c->content = false;
	c->rec_line = c->line;
}

void
acrs_csv_reset(struct acrs_csv *c)
{
	c->line = 1;
	acrs_csv_clear_row(c);
	c->ready = false;
	c->st = CSV_START;
	c->offset = 0;
	c->bom_n = 0;
	c->bom_active = true;
	c->q_cr = false;
	c->in = NULL;
	c->in_n = c->pos = 0;
	c->finished = c->eof_done = false;
}

void
acrs_csv_input(struct acrs_csv *c, const void *p, size_t n)
{
	c->in = p;
	c->in_n = n;
	c->pos = 0;
}

void
acrs_csv_finish(struct acrs_csv *c)
{
	c->finished = true;
}

size_t
acrs_csv_nfields(const struct acrs_csv *c)
{
	return c->nf;
}

const char *
acrs_csv_field(const struct acrs_csv *c, size_t i, size_t *n_r)
{
	if (i >= c->nf) {
		if (n_r != NULL)
			*n_r = 0;
		return "";
	}
	if (n_r != NULL)
		*n_r = c->lens[i];
	return c->row + c->starts[i];
}

uint64_t
acrs_csv_row(const struct acrs_csv *c)
{
	return c->rec_line;
}

uint64_t
acrs_csv_offset(const struct acrs_csv *c)
{
	return c->offset;
}

/* Sets the error, skips the rest of the line (unless at its end). */
static int
acrs_csv_fail(struct acrs_csv *c, bool at_eol, struct err *e,
    const char *msg)
{
	err_set(e, ERR_PERM, "%s", msg);
	c->st = at_eol ? CSV_START : CSV_SKIP;
	c->ready = true; /* the row is dropped on the next call */
	return -1;
}

/* The same when e is already set. */
static int
acrs_csv_skip(struct acrs_csv *c, bool at_eol)
{
	c->st = at_eol ? CSV_START : CSV_SKIP;
	c->ready = true;
	return -1;
}

static inline int
acrs_csv_put(struct acrs_csv *c, uint8_t ch, struct err *e)
{
	if (c->len - c->fstart >= c->field_max) {
		err_set(e, ERR_PERM, "field longer than %zu bytes",
		    c->field_max);
		return -1;
	}
	if (c->len - c->nf >= c->row_max) {
		err_set(e, ERR_PERM, "row longer than %zu bytes", c->row_max);
		return -1;
	}
	c->row[c->len++] = (char)ch;
	return 0;
}

static int
acrs_csv_end_field(struct acrs_csv *c, struct err *e)
{
	if (c->nf >= c->fields_max) {
		err_set(e, ERR_PERM, "more than %zu fields", c->fields_max);
		return -1;
	}
	c->starts[c->nf] = c->fstart;
	c->lens[c->nf] = c->len - c->fstart;
	c->nf++;
	c->row[c->len++] = '\0';
	c->fstart = c->len;
	return 0;
}

/* Ends the row at a line end. 1 a row, 0 a blank line (skipped). */
static int
acrs_csv_end_row(struct acrs_csv *c, struct err *e)
{
	if (!c->content) {
		acrs_csv_clear_row(c);
		return 0;
	}
	if (acrs_csv_end_field(c, e) == -1)
		return -1;
	c->ready = true;
	return 1;
}

int
acrs_csv_next(struct acrs_csv *c, struct err *e)
{
	int rc;

	if (c->ready) {
		c->ready = false;
		acrs_csv_clear_row(c);
	}
	while (c->pos < c->in_n) {
		uint8_t ch;

		if (c->st == CSV_UNQ || c->st == CSV_Q) {
			/* Fast path: a run of ordinary bytes, within the
			 * limits, is copied at once. */
			const uint8_t *p = c->in + c->pos;
			size_t k = 0, max = c->in_n - c->pos;
			size_t room = c->field_max - (c->len - c->fstart);
			size_t room_row = c->row_max - (c->len - c->nf);

			if (room_row < room)
				room = room_row;
			if (max > room)
				max = room;
			if (c->st == CSV_UNQ)
				while (k < max && p[k] != ',' && p[k] != '"' &&
				    p[k] != '\r' && p[k] != '\n')
					k++;
			else
				while (k < max && p[k] != '"' &&
				    p[k] != '\r' && p[k] != '\n')
					k++;
			if (k > 0) {
				memcpy(c->row + c->len, p, k);
				c->len += k;
				c->pos += k;
				c->offset += k;
				c->q_cr = false;
				continue;
			}
		}
		ch = c->in[c->pos++];
		c->offset++;
		if (c->bom_active) {
			if (ch == acrs_csv_bom[c->bom_n]) {
				if (++c->bom_n == 3)
					c->bom_active = false;
				continue;
			}
			c->bom_active = false;
			if (c->bom_n > 0) {
				/* Not a BOM after all: the bytes are data. */
				for (unsigned i = 0; i < c->bom_n; i++)
					c->row[c->len++] =
					    (char)acrs_csv_bom[i];
				c->content = true;
				c->st = CSV_UNQ;
			}
		}
		switch (c->st) {
		case CSV_CR:
			c->st = CSV_START;
			if (ch == '\n')
				continue;
			/* A lone CR ended the line. */
			__attribute__((fallthrough));
		case CSV_START:
			if (ch == '"') {
				c->content = true;
				c->st = CSV_Q;
				continue;
			}
			__attribute__((fallthrough));
		case CSV_UNQ:
			switch (ch) {
			case ',':
				c->content = true;
				if (acrs_csv_end_field(c, e) == -1)
					return acrs_csv_skip(c, false);
				c->st = CSV_START;
				continue;
			case '\r':
			case '\n':
				c->line++;
				c->st = ch == '\r' ? CSV_CR : CSV_START;
				rc = acrs_csv_end_row(c, e);
				if (rc == -1)
					return acrs_csv_skip(c, true);
				if (rc == 1)
					return 1;
				c->rec_line = c->line;
				continue;
			case '"':
				return acrs_csv_fail(c, false, e,
				    "quote inside an unquoted field");
			default:
				c->content = true;
				if (acrs_csv_put(c, ch, e) == -1)
					return acrs_csv_skip(c, false);
				c->st = CSV_UNQ;
				continue;
			}
		case CSV_Q:
			if (ch == '"') {
				c->q_cr = false;
				c->st = CSV_QQ;
				continue;
			}
			/* CR, LF and CRLF inside quotes: one line each. */
			if (ch == '\r' || (ch == '\n' && !c->q_cr))
				c->line++;
			c->q_cr = ch == '\r';
			if (acrs_csv_put(c, ch, e) == -1)
				return acrs_csv_skip(c, false);
			continue;
		case CSV_QQ:
			switch (ch) {
			case '"':
				if (acrs_csv_put(c, ch, e) == -1)
					return acrs_csv_skip(c, false);
				c->st = CSV_Q;
				continue;
			case ',':
				if (acrs_csv_end_field(c, e) == -1)
					return acrs_csv_skip(c, false);
				c->st = CSV_START;
				continue;
			case '\r':
			case '\n':
				c->line++;
				c->st = ch == '\r' ? CSV_CR : CSV_START;
				rc = acrs_csv_end_row(c, e);
				if (rc == -1)
					return acrs_csv_skip(c, true);
				return 1; /* a quoted field is content */
			default:
				return acrs_csv_fail(c, false, e,
				    "text after a closing quote");
			}
		case CSV_SKIPCR:
			c->st = CSV_START;
			acrs_csv_clear_row(c);
			if (ch == '\n') {
				c->rec_line = c->line;
				continue;
			}
			c->pos--; /* a lone CR: this byte starts the row */
			c->offset--;
			continue;
		case CSV_SKIP:
			if (ch == '\n' || ch == '\r') {
				c->line++;
				acrs_csv_clear_row(c);
				c->st = ch == '\r' ? CSV_SKIPCR : CSV_START;
			}
			continue;
		}
	}
	if (!c->finished || c->eof_done)
		return 0;
	c->eof_done = true;
	switch (c->st) {
	case CSV_Q:
		c->st = CSV_SKIP;
		c->ready = true;
		return err_set(e, ERR_PERM, "quoted field not closed at the "
		    "end of the file");
	case CSV_SKIP:
	case CSV_SKIPCR:
	case CSV_CR:
		return 0;
	default:
		rc = acrs_csv_end_row(c, e);
		if (rc == -1) {
			c->ready = true;
			return -1;
		}
		return rc;
	}
}
