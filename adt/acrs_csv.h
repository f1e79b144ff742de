/* A sans-I/O CSV reader per RFC 4180, used for ACRS files: bytes in, one
 * row of fields out. Quoted fields may hold commas, doubled quotes and line
 * breaks; lines end with CRLF, LF or a lone CR; blank lines are skipped; a
 * UTF-8 byte-order mark at the very start is dropped; the last row needs no
 * line break. Every input has a limit (field, row, fields per row).
 *
 * Use: acrs_csv_input() hands over a chunk (borrowed until acrs_csv_next()
 * returns 0), acrs_csv_next() returns 1 (a row is ready), 0 (the chunk is
 * used up: give more, or acrs_csv_finish() at the end of the input) or -1 (a
 * row is broken: e says why, acrs_csv_row() names it; the reader has skipped
 * to the next line and can go on). After acrs_csv_finish(), 0 means the end.
 * Rows are numbered by the line on which they start (the header is line 1).
 * The fields of a row are borrowed until the next call of acrs_csv_next(). */
#ifndef ADT_ACRS_CSV_H
#define ADT_ACRS_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct acrs_csv_limits {
	size_t field_max;  /* bytes in one field (0: 4096) */
	size_t row_max;    /* bytes in one row (0: 65536) */
	size_t fields_max; /* fields in one row (0: 64) */
};

struct acrs_csv;

/* lim may be NULL (defaults). Never fails (allocation aborts). */
struct acrs_csv *acrs_csv_new(const struct acrs_csv_limits *lim);
/* Accepts NULL; clears the pointer. */
void acrs_csv_free(struct acrs_csv **cp);
/* Starts over with no input (the limits stay). */
void acrs_csv_reset(struct acrs_csv *c);

/* The next chunk of input, borrowed until acrs_csv_next() returns 0. Must
 * not be called while unread input remains, nor after acrs_csv_finish(). */
void acrs_csv_input(struct acrs_csv *c, const void *p, size_t n);
/* The end of the input. */
void acrs_csv_finish(struct acrs_csv *c);
/* 1 row ready, 0 need more input (after finish: the end), -1 broken row
 * (ERR_PERM; the reader continues on the next line). An unterminated quoted
 * field at the end of the input is the last error. */
int acrs_csv_next(struct acrs_csv *c, struct err *e);

/* The current row: its fields (NUL-terminated, borrowed; a field may hold
 * NUL bytes, so the length is given), its starting line, and the line after
 * it. */
size_t acrs_csv_nfields(const struct acrs_csv *c);
const char *acrs_csv_field(const struct acrs_csv *c, size_t i, size_t *n_r);
uint64_t acrs_csv_row(const struct acrs_csv *c);
/* Bytes consumed so far (progress). */
uint64_t acrs_csv_offset(const struct acrs_csv *c);

#endif
