/* Health Directory import.
 *
 * An import gathers rows from any number of files first (CSV, one table per
 * file; or FHIR Bundles, adt/directory_fhir.h), then applies them all in
 * one store transaction: a file-level error (bad header, CSV syntax, XML
 * refused) stops the import before anything is written; row-level errors
 * are reported and the row skipped, or, with DIRECTORY_IMPORT_STRICT, roll
 * the whole import back.
 *
 * CSV files follow RFC 4180 (read with adt/acrs_csv.h) with a header
 * row; column names (adt/directory_rows.h) are case-insensitive, in any
 * order; unknown or repeated columns and missing required columns are
 * file-level errors.
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
#include "adt/directory_report.h"
#include "adt/directory_rows.h"
#include "core/err.h"

struct store;

#define DIRECTORY_IMPORT_FILE_MAX (64u << 20) /* bytes per input file */

/* Parses one CSV file of table t (n bytes at data) into rows; origin names
 * the file in the report. Broken rows (CSV syntax, field count) are
 * reported and skipped. Returns 0, or -1 after a file-level problem (bad
 * header, unknown / repeated / missing column, no header) was added to rep
 * (the report is then fatal). */
int directory_import_csv(struct directory_rows *rows, enum directory_table t,
    const void *data, size_t n, const char *origin,
    struct directory_report *rep);

#define DIRECTORY_IMPORT_STRICT 0x1 /* any row problem: load nothing */

/* Validates and writes rows in one transaction on s. Row problems go to
 * rep. With a fatal report it writes nothing and returns 0. Returns 0
 * (rep->committed tells whether anything was written: not with STRICT and
 * problems), or -1 on a store error (e; rolled back, nothing written). */
int directory_import_apply(struct store *s, struct directory_rows *rows,
    unsigned flags, struct directory_report *rep, struct err *e);

#endif
