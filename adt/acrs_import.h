/* Reading an ACRS file into the store: the file (by path) is read in
 * chunks through adt/acrs_file.h and written with adt/acrs_store.h in one
 * transaction. validate (no store) only reports. Problems go to the issue
 * callback as they are found (row, column, code, message; no PHI).
 *
 * Test seam: with DIRECTGATE_TEST_ACRS_STALL_AFTER=N in the environment an
 * import stops after N rows inside its transaction, writes "acrs: stalled"
 * on stderr and waits to be killed (the crash test). */
#ifndef ADT_ACRS_IMPORT_H
#define ADT_ACRS_IMPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "adt/acrs_file.h"
#include "adt/acrs_store.h"
#include "core/err.h"
#include "core/store.h"

struct acrs_import_result {
	struct acrs_file_stats file;
	bool header_ok;  /* false: nothing could be read */
	bool committed;  /* the roster was replaced or updated */
	bool rejected;   /* --strict and problems: nothing was written */
	double seconds;  /* wall time of the import, to its commit */
	/* Then copying the committed roster from the WAL into the database
	 * file (after the import is durable and visible). */
	double checkpoint_seconds;
	/* CPU time of the reading thread (CSV and checks) and of the
	 * writing thread (the store), for throughput on a busy machine. */
	double cpu_read, cpu_write;
};

struct acrs_import_file_opts {
	const char *submitter;     /* NULL: validate only */
	enum acrs_mode mode;
	bool strict;
	int64_t cache_bytes;
	int32_t today;             /* YYYYMMDD */
	acrs_issue_fn *issue;      /* may be NULL */
	void *arg;
};

/* Validates (s may be NULL when o->submitter is NULL) or imports path.
 * Returns 0 when the file was read (see r: a bad header, a strict
 * rejection and row problems are results, not errors), -1 on an I/O or
 * store error (e; nothing written). */
int acrs_import_file(struct store *s, const char *path,
    const struct acrs_import_file_opts *o, struct acrs_import_result *r_r,
    struct err *e);

#endif
