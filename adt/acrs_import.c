#include "adt/acrs_import.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/store.h"
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

static double
acrs_import_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
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

/* An import reads and checks the file on a thread of its own while the
 * caller's thread writes rows to the store: batches of good rows pass
 * between them through a small ring. Problems are reported from the
 * reader thread only. */
#define ACRS_PIPE_SLOTS 4
#define ACRS_PIPE_BATCH 2048

struct acrs_pipe {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct acrs_rec *slot[ACRS_PIPE_SLOTS];
	size_t count[ACRS_PIPE_SLOTS];
	size_t filled;         /* slots ready for the writer */
	size_t head, tail;     /* reader fills head, writer takes tail */
	bool eof, stop, header_bad, failed;
	struct err err;
	double cpu;            /* the reader's CPU time */
	int fd;
	struct acrs_file *f;
	uint8_t *chunk;
};

/* The reader: 0 at the end of the file, -1 on a read error or a bad
 * header (flags set). */
static int
acrs_pipe_read(struct acrs_pipe *pp, bool (*deliver)(struct acrs_pipe *,
    const struct acrs_rec *), struct err *e)
{
	bool eof = false;

	while (!eof) {
		ssize_t got = read(pp->fd, pp->chunk, ACRS_IMPORT_CHUNK);
		const struct acrs_rec *rec;
		int n;

		if (got < 0) {
			if (errno == EINTR)
				continue;
			return err_set(e, ERR_TEMP, "read: %s",
			    strerror(errno));
		}
		if (got == 0) {
			eof = true;
			acrs_file_finish(pp->f);
		} else {
			acrs_file_input(pp->f, pp->chunk, (size_t)got);
		}
		while ((n = acrs_file_next(pp->f, &rec, e)) == 1)
			if (deliver != NULL && !deliver(pp, rec))
				return 0; /* the writer stopped */
		if (n == -1) {
			pp->header_bad = true;
			return -1;
		}
	}
	return 0;
}

/* Copies a row into the current batch; publishes full batches. false
 * when the writer has stopped. */
static bool
acrs_pipe_deliver(struct acrs_pipe *pp, const struct acrs_rec *rec)
{
	size_t h = pp->head;
	bool stop;

	pp->slot[h][pp->count[h]++] = *rec;
	if (pp->count[h] < ACRS_PIPE_BATCH)
		return true;
	pthread_mutex_lock(&pp->mu);
	pp->filled++;
	pp->head = (h + 1) % ACRS_PIPE_SLOTS;
	pthread_cond_broadcast(&pp->cv);
	while (pp->filled == ACRS_PIPE_SLOTS && !pp->stop)
		pthread_cond_wait(&pp->cv, &pp->mu);
	pp->count[pp->head] = 0;
	stop = pp->stop;
	pthread_mutex_unlock(&pp->mu);
	return !stop;
}

static void *
acrs_pipe_reader(void *arg)
{
	struct acrs_pipe *pp = arg;
	struct err e;
	double c0 = acrs_import_cpu();
	int rc = acrs_pipe_read(pp, acrs_pipe_deliver, &e);

	pthread_mutex_lock(&pp->mu);
	pp->cpu = acrs_import_cpu() - c0;
	if (rc == -1 && !pp->header_bad) {
		pp->failed = true;
		pp->err = e;
	}
	if (!pp->stop && pp->count[pp->head] > 0) {
		/* The last, partial batch (the ring has room: the reader
		 * waited for it). */
		pp->filled++;
		pp->head = (pp->head + 1) % ACRS_PIPE_SLOTS;
	}
	pp->eof = true;
	pthread_cond_broadcast(&pp->cv);
	pthread_mutex_unlock(&pp->mu);
	return NULL;
}

/* The writer: takes batches until the reader is done. */
static int
acrs_pipe_write(struct acrs_pipe *pp, struct acrs_import *im,
    uint64_t stall, struct err *e)
{
	uint64_t added = 0;

	for (;;) {
		size_t t, n;

		pthread_mutex_lock(&pp->mu);
		while (pp->filled == 0 && !pp->eof)
			pthread_cond_wait(&pp->cv, &pp->mu);
		if (pp->filled == 0) {
			pthread_mutex_unlock(&pp->mu);
			return 0;
		}
		t = pp->tail;
		n = pp->count[t];
		pthread_mutex_unlock(&pp->mu);
		for (size_t i = 0; i < n; i++) {
			if (acrs_store_import_add(im, &pp->slot[t][i], e) ==
			    -1)
				return -1;
			if (++added == stall)
				acrs_import_stall();
		}
		pthread_mutex_lock(&pp->mu);
		pp->tail = (t + 1) % ACRS_PIPE_SLOTS;
		pp->filled--;
		pthread_cond_broadcast(&pp->cv);
		pthread_mutex_unlock(&pp->mu);
	}
}

int
acrs_import_file(struct store *s, const char *path,
    const struct acrs_import_file_opts *o, struct acrs_import_result *r,
    struct err *e)
{
	struct acrs_file_opts fo = {o->today, NULL, o->issue, o->arg};
	struct acrs_import *im = NULL;
	struct acrs_import_opts io = {o->submitter, o->mode, o->cache_bytes};
	struct acrs_pipe pp;
	pthread_t th;
	double t0 = acrs_import_now(), c0 = acrs_import_cpu();
	int rc = -1, wrc = 0;

	memset(r, 0, sizeof(*r));
	memset(&pp, 0, sizeof(pp));
	pp.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pp.fd == -1)
		return err_set(e, ERR_PERM, "%s: %s", path, strerror(errno));
	pp.f = acrs_file_new(&fo);
	pp.chunk = xmalloc(ACRS_IMPORT_CHUNK);
	if (o->submitter == NULL) {
		/* Validation only: no store, no thread. */
		if (acrs_pipe_read(&pp, NULL, e) == -1 && !pp.header_bad) {
			err_prefix(e, "%s", path);
			goto out;
		}
		acrs_file_stats(pp.f, &r->file);
		r->header_ok = !pp.header_bad;
		r->cpu_read = acrs_import_cpu() - c0;
		rc = 0;
		goto out;
	}
	if (acrs_store_import_begin(s, &io, &im, e) == -1)
		goto out;
	pthread_mutex_init(&pp.mu, NULL);
	pthread_cond_init(&pp.cv, NULL);
	for (size_t i = 0; i < ACRS_PIPE_SLOTS; i++)
		pp.slot[i] = xcalloc(ACRS_PIPE_BATCH, sizeof(struct acrs_rec));
	if (pthread_create(&th, NULL, acrs_pipe_reader, &pp) != 0)
		abort();
	wrc = acrs_pipe_write(&pp, im, acrs_import_stall_after(), e);
	pthread_mutex_lock(&pp.mu);
	pp.stop = true;
	pthread_cond_broadcast(&pp.cv);
	pthread_mutex_unlock(&pp.mu);
	pthread_join(th, NULL);
	for (size_t i = 0; i < ACRS_PIPE_SLOTS; i++)
		free(pp.slot[i]);
	pthread_cond_destroy(&pp.cv);
	pthread_mutex_destroy(&pp.mu);
	acrs_file_stats(pp.f, &r->file);
	r->header_ok = !pp.header_bad;
	if (wrc == -1)
		goto out;
	if (pp.failed) {
		*e = pp.err;
		err_prefix(e, "%s", path);
		goto out;
	}
	if (pp.header_bad) {
		acrs_store_import_abort(&im);
		rc = 0;
		goto out;
	}
	if (o->strict && (r->file.bad > 0 || r->file.issues > 0)) {
		r->rejected = true;
		acrs_store_import_abort(&im);
	} else {
		if (acrs_store_import_commit(&im, &r->file, e) == -1)
			goto out;
		r->committed = true;
	}
	r->cpu_read = pp.cpu;
	r->cpu_write = acrs_import_cpu() - c0;
	rc = 0;
out:
	acrs_store_import_abort(&im);
	r->seconds = acrs_import_now() - t0;
	if (r->committed) {
		/* The commit wrote the roster to the WAL; copy it into the
		 * database file now, from this connection, rather than leave
		 * seconds of copying to the server's next commit. */
		struct err ce;
		double t1 = acrs_import_now();

		if (store_wal_checkpoint(s, &ce) == -1)
			log_warn("acrs", "event=import_checkpoint_failed "
			    "reason=\"%s\"", ce.msg);
		r->checkpoint_seconds = acrs_import_now() - t1;
	}
	if (o->submitter != NULL)
		log_info("acrs", "import rows=%llu good=%llu bad=%llu "
		    "patients=%llu mode=%s status=%s seconds=%.2f "
		    "checkpoint_seconds=%.2f",
		    (unsigned long long)r->file.rows,
		    (unsigned long long)r->file.good,
		    (unsigned long long)r->file.bad,
		    (unsigned long long)r->file.patients,
		    o->mode == ACRS_MODE_DELTA ? "delta" : "replace",
		    rc == -1 ? "error" : r->committed ? "committed" :
		    r->rejected ? "rejected" : "not-loaded", r->seconds,
		    r->checkpoint_seconds);
	free(pp.chunk);
	acrs_file_free(&pp.f);
	close(pp.fd);
	return rc;
}
