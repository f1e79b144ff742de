/* Fuzz target: the Health Directory's CSV import (header mapping over the
 * RFC 4180 reader, then every row validator) applied to a scratch store
 * and cleared again. The first byte picks the table. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adt/directory.h"
#include "adt/directory_import.h"
#include "core/log.h"
#include "core/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *fuzz_store;
static char fuzz_path[256];

static void
fuzz_cleanup(void)
{
	char p[300];

	store_free(&fuzz_store);
	unlink(fuzz_path);
	snprintf(p, sizeof(p), "%s-wal", fuzz_path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", fuzz_path);
	unlink(p);
}

/* SQLite needs a file for WAL mode: one per process, removed at exit,
 * without fsync (nothing here needs to survive). */
static void
fuzz_open(void)
{
	const char *tmp = getenv("TMPDIR");
	struct err e;

	log_init("fuzz", LOG_LEVEL_ERROR);
	snprintf(fuzz_path, sizeof(fuzz_path), "%s/dg-fuzz-dircsv-%ld.db",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp", (long)getpid());
	unlink(fuzz_path);
	if (store_open(fuzz_path, 0, &fuzz_store, &e) != 0 ||
	    store_exec(fuzz_store, "PRAGMA synchronous=OFF", &e) != 0) {
		fprintf(stderr, "fuzz: %s\n", e.msg);
		abort();
	}
	atexit(fuzz_cleanup);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct directory_rows *rows = directory_rows_new();
	struct directory_report *rep = directory_report_new();
	struct err e;
	int rc;

	if (fuzz_store == NULL)
		fuzz_open();
	if (size < 1)
		goto out;
	rc = directory_import_csv(rows, data[0] % DIRECTORY_TABLE_COUNT,
	    data + 1, size - 1, "fuzz.csv", rep);
	if (rc != 0) {
		if (!rep->fatal)
			abort();
	} else {
		if (rep->fatal)
			abort();
		if (directory_import_apply(fuzz_store, rows, 0, rep, &e) != 0)
			abort();
		store_exec(fuzz_store, "DELETE FROM dir_organization;"
		    "DELETE FROM dir_provider; DELETE FROM dir_membership;"
		    "DELETE FROM dir_endpoint; DELETE FROM dir_preference;",
		    &e);
	}
out:
	directory_rows_free(&rows);
	directory_report_free(&rep);
	return 0;
}
