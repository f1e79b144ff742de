/* Health Directory export: each table as CSV with a header row and the
 * columns of adt/directory_rows.h, in a stable order, so that importing an
 * export gives the same directory (and the same export). */
#ifndef ADT_DIRECTORY_EXPORT_H
#define ADT_DIRECTORY_EXPORT_H

#include "adt/directory.h"
#include "core/buf.h"
#include "core/err.h"

struct store;

/* Appends table t of the store as CSV (CRLF line ends, RFC 4180 quoting)
 * to out. Returns 0, or -1 on a store error or when out's limit is
 * reached (e says which; out then holds a partial table). */
int directory_export_csv(struct store *s, enum directory_table t,
    struct buf *out, struct err *e);

#endif
