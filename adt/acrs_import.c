#include "adt/acrs_import.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"

#define ACRS_IMPORT_CHUNK (1u << 20)

static double
acrs_import_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
acrs_import_stall_after(void)
{
	const char *v = getenv("DIRECTGATE_TEST_ACRS_STALL_AFTER");
	uint64_t n;

	if (v == NULL || str_to_u64(v, 1, UINT64_MAX, &n) == -1)
		return 0;
	return n;
}

static void
acrs_import_stall(void)
{
	static const char msg[] = "acrs: stalled\n";

	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	for (;;)
		pause();
}

int
acrs_import_file(struct store *s, const char *path,
    const struct acrs_import_file_opts *o, struct acrs_import_result *r,
    struct err *e)
{
	struct acrs_file_opts fo = {o->today, NULL, o->issue, o->arg};
	struct acrs_file *f = NULL;
	struct acrs_import *im = NULL;
	struct acrs_import_opts io = {o->submitter, o->mode, o->cache_bytes};
	uint8_t *chunk = NULL;
	uint64_t stall = acrs_import_stall_after(), added = 0;
	double t0 = acrs_import_now();
	int fd, rc = -1;
	bool eof = false;

	memset(r, 0, sizeof(*r));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return err_set(e, ERR_PERM, "%s: %s", path, strerror(errno));
	f = acrs_file_new(&fo);
	chunk = xmalloc(ACRS_IMPORT_CHUNK);
	if (o->submitter != NULL &&
	    acrs_store_import_begin(s, &io, &im, e) == -1)
		goto out;
	while (!eof) {
		ssize_t got = read(fd, chunk, ACRS_IMPORT_CHUNK);
		const struct acrs_rec *rec;
		int n;

		if (got < 0) {
			if (errno == EINTR)
				continue;
			err_set(e, ERR_TEMP, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (got == 0) {
			eof = true;
			acrs_file_finish(f);
		} else {
			acrs_file_input(f, chunk, (size_t)got);
		}
		while ((n = acrs_file_next(f, &rec, e)) == 1) {
			if (im == NULL)
				continue;
			if (acrs_store_import_add(im, rec, e) == -1)
				goto out;
			if (++added == stall)
				acrs_import_stall();
		}
		if (n == -1) {
			/* A bad header: nothing can be read. */
			acrs_file_stats(f, &r->file);
			r->header_ok = false;
			acrs_store_import_abort(&im);
			rc = 0;
			goto out;
		}
	}
	acrs_file_stats(f, &r->file);
	r->header_ok = true;
	if (im != NULL) {
		if (o->strict && (r->file.bad > 0 || r->file.issues > 0)) {
			r->rejected = true;
			acrs_store_import_abort(&im);
		} else {
			if (acrs_store_import_commit(&im, &r->file, e) == -1)
				goto out;
			r->committed = true;
		}
	}
	rc = 0;
out:
	if (rc == -1)
		acrs_store_import_abort(&im);
	r->seconds = acrs_import_now() - t0;
	if (o->submitter != NULL)
		log_info("acrs", "import rows=%llu good=%llu bad=%llu "
		    "patients=%llu mode=%s status=%s seconds=%.2f",
		    (unsigned long long)r->file.rows,
		    (unsigned long long)r->file.good,
		    (unsigned long long)r->file.bad,
		    (unsigned long long)r->file.patients,
		    o->mode == ACRS_MODE_DELTA ? "delta" : "replace",
		    rc == -1 ? "error" : r->committed ? "committed" :
		    r->rejected ? "rejected" : "not-loaded", r->seconds);
	free(chunk);
	acrs_file_free(&f);
	close(fd);
	return rc;
}
