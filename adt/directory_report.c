#include "adt/directory_report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "core/xmalloc.h"

struct directory_report *
directory_report_new(void)
{
	return xcalloc(1, sizeof(struct directory_report));
}

void
directory_report_free(struct directory_report **rp)
{
	if (rp == NULL || *rp == NULL)
		return;
	free((*rp)->problems);
	free(*rp);
	*rp = NULL;
}

void
directory_report_vadd(struct directory_report *r, bool fatal,
    const char *origin, unsigned long row, const char *column,
    const char *code, const char *prefix, const char *fmt, va_list ap)
{
	struct directory_problem *p;
	size_t n;

	r->total++;
	if (fatal)
		r->fatal = true;
	if (r->nproblems >= DIRECTORY_REPORT_KEEP)
		return;
	if (r->problems == NULL)
		r->problems = xcalloc(DIRECTORY_REPORT_KEEP,
		    sizeof(*r->problems));
	p = &r->problems[r->nproblems++];
	memset(p, 0, sizeof(*p));
	str_lcpy(p->origin, origin != NULL ? origin : "", sizeof(p->origin));
	p->row = row;
	str_lcpy(p->column, column != NULL ? column : "", sizeof(p->column));
	p->code = code;
	n = str_lcpy(p->message, prefix != NULL ? prefix : "",
	    sizeof(p->message));
	if (n < sizeof(p->message))
		vsnprintf(p->message + n, sizeof(p->message) - n, fmt, ap);
}

void
directory_report_add(struct directory_report *r, bool fatal,
    const char *origin, unsigned long row, const char *column,
    const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	directory_report_vadd(r, fatal, origin, row, column, code, NULL, fmt,
	    ap);
	va_end(ap);
}

void
directory_report_json_str(struct buf *out, const char *s)
{
	buf_putc(out, '"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			buf_putc(out, '\\');
			buf_putc(out, c);
		} else if (c == '\n') {
			buf_append_str(out, "\\n");
		} else if (c < 0x20 || c == 0x7f) {
			buf_printf(out, "\\u%04x", c);
		} else {
			buf_putc(out, c);
		}
	}
	buf_putc(out, '"');
}

void
directory_report_text(const struct directory_report *r, struct buf *out)
{
	for (size_t i = 0; i < r->nproblems; i++) {
		const struct directory_problem *p = &r->problems[i];

		buf_printf(out, "%s", p->origin);
		if (p->row > 0)
			buf_printf(out, ":%lu", p->row);
		if (p->column[0] != '\0')
			buf_printf(out, ": column %s", p->column);
		buf_printf(out, ": %s: %s\n", p->code, p->message);
	}
	if (r->total > r->nproblems)
		buf_printf(out, "... and %zu more problems\n",
		    r->total - r->nproblems);
	if (r->fatal) {
		buf_printf(out, "import refused: nothing was loaded\n");
		return;
	}
	buf_printf(out, "%s:", r->committed ? "imported" :
	    "not imported (strict: nothing was loaded)");
	for (int t = 0; t < DIRECTORY_TABLE_COUNT; t++) {
		if (r->rows[t] == 0)
			continue;
		buf_printf(out, " %s %zu", directory_table_name(t),
		    r->loaded[t]);
		if (r->skipped[t] > 0)
			buf_printf(out, " (%zu skipped)", r->skipped[t]);
	}
	buf_printf(out, "; %zu problem%s\n", r->total,
	    r->total == 1 ? "" : "s");
}

void
directory_report_json(const struct directory_report *r, struct buf *out)
{
	buf_printf(out, "{\"ok\":%s,\"committed\":%s,\"fatal\":%s,"
	    "\"problem_count\":%zu,\"tables\":{",
	    !r->fatal && r->committed && r->total == 0 ? "true" : "false",
	    r->committed ? "true" : "false", r->fatal ? "true" : "false",
	    r->total);
	for (int t = 0; t < DIRECTORY_TABLE_COUNT; t++)
		buf_printf(out, "%s\"%s\":{\"rows\":%zu,\"loaded\":%zu,"
		    "\"skipped\":%zu}", t ? "," : "", directory_table_name(t),
		    r->rows[t], r->loaded[t], r->skipped[t]);
	buf_append_str(out, "},\"problems\":[");
	for (size_t i = 0; i < r->nproblems; i++) {
		const struct directory_problem *p = &r->problems[i];

		buf_append_str(out, i ? ",{\"file\":" : "{\"file\":");
		directory_report_json_str(out, p->origin);
		buf_printf(out, ",\"row\":%lu,\"column\":", p->row);
		directory_report_json_str(out, p->column);
		buf_append_str(out, ",\"code\":");
		directory_report_json_str(out, p->code);
		buf_append_str(out, ",\"message\":");
		directory_report_json_str(out, p->message);
		buf_putc(out, '}');
	}
	buf_append_str(out, "]}\n");
}
