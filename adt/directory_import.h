/* Health Directory import and export.
 *
 * An import gathers rows from any number of files first (CSV, one table per
 * file; or FHIR Bundles, adt/directory_fhir.h), then applies them all in
 * one store transaction: a file-level error (bad header, CSV syntax, XML
 * refused) stops the import before anything is written; row-level errors
 * are reported and the row skipped, or, with DIRECTORY_IMPORT_STRICT, roll
 * the whole import back.
 *
 * CSV files follow RFC 4180 with a header row; column names are
 * case-insensitive, in any order; unknown or repeated columns and missing
 * required columns are file-level errors. Columns per table (* required):
 *   organizations: npi*, name*, parent_npi, status (active|inactive)
 *   providers:     npi*, last_name*, first_name, middle_name, suffix,
 *                  taxonomy, status (active|inactive)
 *   memberships:   provider_npi*, organization_npi*, role, active (yes|no)
 *   endpoints:     owner_npi*, kind* (direct|mllp), address*, rank (1..),
 *                  active (yes|no), payload_types (';'-separated)
 *   preferences:   owner_npi*, events (A01,A03 or *), classes (E,I,O,V or
 *                  *), format (hl7+text|hl7), timing (realtime|HH:MM)
 *
 * Organizations and providers are upserted by NPI. The memberships,
 * endpoints and preferences in an import replace, for each provider /
 * owner they name, the rows that provider / owner had in that table (the
 * file is authoritative for whom it mentions): importing an export again
 * changes nothing. References (membership provider and organization,
 * endpoint and preference owner) must exist in the store or earlier in the
 * same import (tables apply in the order organizations, providers,
 * memberships, endpoints, preferences). */
#ifndef ADT_DIRECTORY_IMPORT_H
#define ADT_DIRECTORY_IMPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "adt/directory.h"
#include "core/buf.h"
#include "core/err.h"

struct store;

/* Columns of a table, NULL-terminated; required ones are flagged by
 * directory_import_column_required(). */
const char *const *directory_import_columns(enum directory_table t);
bool directory_import_column_required(enum directory_table t, size_t col);
/* The index of column name (case-insensitive) in t, or -1. */
int directory_import_column_index(enum directory_table t, const char *name);

#define DIRECTORY_IMPORT_COLS_MAX 8
#define DIRECTORY_REPORT_KEEP 1000 /* problems kept; more are counted */
#define DIRECTORY_IMPORT_FILE_MAX (64u << 20) /* bytes per input file */

struct directory_problem {
	char origin[128];       /* the file's base name */
	unsigned long row;      /* CSV record (header = 1) or FHIR entry
	                         * (1-based); 0: the file as a whole */
	char column[48];        /* a column name, or "" */
	const char *code;       /* static: "unknown_column", "bad_npi"... */
	char message[240];      /* one line, no PHI */
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

struct directory_report *directory_report_new(void);
void directory_report_free(struct directory_report **rp);
/* Adds a problem; fatal ones mark the report fatal. */
void directory_report_add(struct directory_report *r, bool fatal,
    const char *origin, unsigned long row, const char *column,
    const char *code, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
/* Renders the report: text (one line per problem, then a summary line) or
 * JSON ({"ok":..,"committed":..,"tables":{..},"problems":[..]}). */
void directory_report_text(const struct directory_report *r, struct buf *out);
void directory_report_json(const struct directory_report *r, struct buf *out);

/* Rows gathered from files, before they are applied. */
struct directory_rows;
struct directory_rows *directory_rows_new(void);
void directory_rows_free(struct directory_rows **rp);
size_t directory_rows_count(const struct directory_rows *r);
/* Appends an empty row of table t and returns its index. label (may be
 * NULL) names the source in messages ("Endpoint/ep1"); origin is copied. */
size_t directory_rows_add(struct directory_rows *r, enum directory_table t,
    const char *origin, unsigned long rowno, const char *label);
/* Sets column name of row i to value (copied; n bytes). Returns -1 when
 * the table has no such column. */
int directory_rows_set(struct directory_rows *r, size_t i, const char *name,
    const char *value, size_t n);

/* Parses one CSV file of table t (n bytes at data) into rows. origin names
 * the file in the report. Returns 0, or -1 after a file-level problem was
 * added to rep (the report is then fatal). */
int directory_import_csv(struct directory_rows *rows, enum directory_table t,
    const void *data, size_t n, const char *origin,
    struct directory_report *rep);

#define DIRECTORY_IMPORT_STRICT 0x1 /* any row problem: load nothing */

/* Validates and writes rows in one transaction on s. Row problems go to
 * rep. Returns 0 (rep->committed tells whether anything was written: not
 * with STRICT and problems), or -1 on a store error (e; rolled back,
 * nothing written). */
int directory_import_apply(struct store *s, struct directory_rows *rows,
    unsigned flags, struct directory_report *rep, struct err *e);

/* Writes table t of the store as CSV (header row, the columns above) to
 * out. Returns 0, or -1 on a store error or when out's limit is reached. */
int directory_export_csv(struct store *s, enum directory_table t,
    struct buf *out, struct err *e);

/* Appends s as a JSON string (quoted and escaped) to out. */
void directory_import_json_str(struct buf *out, const char *s);

#endif
