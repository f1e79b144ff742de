/* Rows of the Health Directory tables as text, gathered from CSV files or
 * FHIR Bundles before an import validates and writes them
 * (adt/directory_import.h). Each row belongs to one table and holds one
 * value per column of that table (NULL: absent), with where it came from.
 *
 * Columns per table (* required):
 *   organizations: npi*, name*, parent_npi, status (active|inactive)
 *   providers:     npi*, last_name*, first_name, middle_name, suffix,
 *                  taxonomy, status (active|inactive)
 *   memberships:   provider_npi*, organization_npi*, role, active (yes|no)
 *   endpoints:     owner_npi*, kind* (direct|mllp), address*, rank (1..),
 *                  active (yes|no), payload_types (';'-separated)
 *   preferences:   owner_npi*, events (A01,A03 or *), classes (E,I,O,V or
 *                  *), format (hl7+text|hl7), timing (realtime|HH:MM) */
#ifndef ADT_DIRECTORY_ROWS_H
#define ADT_DIRECTORY_ROWS_H

#include <stdbool.h>
#include <stddef.h>

#include "adt/directory.h"

#define DIRECTORY_ROWS_COLS_MAX 8

/* The columns of t, NULL-terminated (static). */
const char *const *directory_rows_columns(enum directory_table t);
bool directory_rows_column_required(enum directory_table t, size_t col);
/* The index of column name (case-insensitive) in t, or -1. */
int directory_rows_column_index(enum directory_table t, const char *name);

struct directory_rows;

/* Never NULL; free with directory_rows_free (accepts NULL, clears). */
struct directory_rows *directory_rows_new(void);
void directory_rows_free(struct directory_rows **rp);
size_t directory_rows_count(const struct directory_rows *r);
/* Appends an empty row of table t and returns its index. origin (the file
 * name) and label (may be NULL: names the source in messages, such as
 * "Endpoint/ep1") are copied. */
size_t directory_rows_add(struct directory_rows *r, enum directory_table t,
    const char *origin, unsigned long rowno, const char *label);
/* Sets column name (or index col) of row i to value (n bytes, copied).
 * directory_rows_set returns -1 when t has no such column. */
int directory_rows_set(struct directory_rows *r, size_t i, const char *name,
    const char *value, size_t n);
void directory_rows_set_col(struct directory_rows *r, size_t i, size_t col,
    const char *value, size_t n);

/* Row i's table, origin, row number, label (NULL when none) and the value
 * of column col (NULL when absent); borrowed. */
enum directory_table directory_rows_table(const struct directory_rows *r,
    size_t i);
const char *directory_rows_origin(const struct directory_rows *r, size_t i);
unsigned long directory_rows_rowno(const struct directory_rows *r, size_t i);
const char *directory_rows_label(const struct directory_rows *r, size_t i);
const char *directory_rows_value(const struct directory_rows *r, size_t i,
    size_t col);

#endif
