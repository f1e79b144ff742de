/* The report of a Health Directory import: every problem with file, row,
 * column, code and message (no PHI: directory data is provider data, and
 * messages quote ids, not free text), and per-table counts. Rendered as
 * text or JSON. */
#ifndef ADT_DIRECTORY_REPORT_H
#define ADT_DIRECTORY_REPORT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "adt/directory.h"
#include "core/buf.h"

#define DIRECTORY_REPORT_KEEP 1000 /* problems kept; more are counted */

struct directory_problem {
	char origin[128];       /* the file's base name */
	unsigned long row;      /* CSV line where the row starts (header =
	                         * 1) or FHIR entry (1-based); 0: the file */
	char column[48];        /* a column name, or "" */
	const char *code;       /* static: "unknown_column", "bad_npi"... */
	char message[240];      /* one line */
};

struct directory_report {
	struct directory_problem *problems;
	size_t nproblems;       /* kept (at most DIRECTORY_REPORT_KEEP) */
	size_t total;           /* every problem, kept or not */
	bool fatal;             /* a file-level error: nothing was loaded */
	bool committed;         /* the import was written */
	size_t rows[DIRECTORY_TABLE_COUNT];    /* rows read */
	size_t loaded[DIRECTORY_TABLE_COUNT];  /* rows written */
	size_t skipped[DIRECTORY_TABLE_COUNT]; /* rows with a problem */
};

/* Never NULL; the caller frees with directory_report_free (accepts NULL,
 * clears the pointer). */
struct directory_report *directory_report_new(void);
void directory_report_free(struct directory_report **rp);
/* Adds a problem (code is a static string; origin and column are copied);
 * fatal ones mark the report fatal. The vadd form puts prefix (may be
 * NULL) before the message. */
void directory_report_add(struct directory_report *r, bool fatal,
    const char *origin, unsigned long row, const char *column,
    const char *code, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
void directory_report_vadd(struct directory_report *r, bool fatal,
    const char *origin, unsigned long row, const char *column,
    const char *code, const char *prefix, const char *fmt, va_list ap)
	__attribute__((format(printf, 8, 0)));
/* Appends the report to out: text (one line per problem, then a summary
 * line) or JSON ({"ok":..,"committed":..,"fatal":..,"problem_count":..,
 * "tables":{..},"problems":[{"file","row","column","code","message"}]}). */
void directory_report_text(const struct directory_report *r, struct buf *out);
void directory_report_json(const struct directory_report *r, struct buf *out);
/* Appends s as a JSON string (quoted and escaped) to out. */
void directory_report_json_str(struct buf *out, const char *s);

#endif
