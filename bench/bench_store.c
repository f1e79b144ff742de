/* bench_store: acknowledged durable writes per second of 4 KiB records
 * from 64 concurrent writer threads, through the group-commit writer
 * (store_writer_run: each thread waits until its record is durable),
 * against the baseline of one commit per write (BEGIN IMMEDIATE, INSERT,
 * COMMIT on one shared connection, serialized by a mutex as SQLite
 * requires), in the same run. Both use synchronous=FULL in WAL mode, so
 * every acknowledged record has been fsync'ed. The two modes take turns
 * in rounds of one second, so that both see the same disk.
 *
 * What bounds each: the baseline waits for one fsync per record (the
 * disk's flush latency); group commit shares an fsync among the records of
 * a batch and is bounded instead by what it writes (a 4 KiB record costs
 * about 9 KB: its WAL frames, then the checkpoint into the database file)
 * and by the writer thread's CPU. The ratio is therefore the disk's flush
 * latency times its write bandwidth, over about 9 KB.
 *
 * usage: bench_store [--seconds N] [--threads N] [--dir DIR]
 * The database lives on a real disk: DIR, else $TMPDIR or /tmp unless that
 * is a tmpfs, else the directory of this program (the build directory). */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/store.h"
#include "core/str.h"
#include "core/xmalloc.h"

#define RECORD_SIZE 4096
#define TMPFS_MAGIC_NUMBER 0x01021994
#define MAX_THREADS 1024

static atomic_bool stop;

struct worker {
	pthread_t thread;
	int id;
	uint64_t writes;
	uint64_t failures;
	struct err last;
	uint8_t body[RECORD_SIZE];
	/* one of: */
	struct store_writer *w;
	struct store *shared;
	pthread_mutex_t *shared_mu;
};

struct record {
	int thread;
	const uint8_t *body;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
fill(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

static int
insert_record(struct store *s, void *arg, struct err *e)
{
	struct record *r = arg;

	return store_run(s, e, "INSERT INTO rec (thread, body) VALUES (?, ?)",
	                 "ib", r->thread, r->body, (size_t)RECORD_SIZE);
}

static void *
group_worker(void *arg)
{
	struct worker *wk = arg;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		struct record r = {wk->id, wk->body};
		struct err e = {0};

		wk->body[0]++;
		if (store_writer_run(wk->w, insert_record, &r, &e) == 0)
			wk->writes++;
		else {
			wk->failures++;
			wk->last = e;
		}
	}
	return NULL;
}

static void *
single_worker(void *arg)
{
	struct worker *wk = arg;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		struct record r = {wk->id, wk->body};
		struct err e = {0};
		int rc;

		wk->body[0]++;
		pthread_mutex_lock(wk->shared_mu);
		if (atomic_load(&stop)) {
			pthread_mutex_unlock(wk->shared_mu);
			break;
		}
		rc = store_begin(wk->shared, &e);
		if (rc == 0 && insert_record(wk->shared, &r, &e) == -1) {
			store_rollback(wk->shared);
			rc = -1;
		}
		if (rc == 0)
			rc = store_commit(wk->shared, &e);
		pthread_mutex_unlock(wk->shared_mu);
		if (rc == 0)
			wk->writes++;
		else {
			wk->failures++;
			wk->last = e;
		}
	}
	return NULL;
}

static void
die(const char *what, const struct err *e)
{
	fprintf(stderr, "bench_store: %s: %s\n", what, e != NULL ? e->msg : "");
	exit(1);
}

/* A fresh database with the record table. */
static char *
make_db(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);
	char *wal = xasprintf("%s-wal", path), *shm = xasprintf("%s-shm", path);
	struct store *s = NULL;
	struct err e = {0};

	unlink(path);
	unlink(wal);
	unlink(shm);
	free(wal);
	free(shm);
	if (store_open(path, 0, &s, &e) == -1)
		die("open", &e);
	if (store_exec(s,
	               "CREATE TABLE rec (id INTEGER PRIMARY KEY,"
	               " thread INTEGER NOT NULL, body BLOB NOT NULL)",
	               &e) == -1)
		die("create", &e);
	store_free(&s);
	return path;
}

/* Every acknowledged record is in the file, read back through a fresh
 * connection. */
static void
verify(const char *path, uint64_t acked)
{
	struct store *s = NULL;
	struct err e = {0};
	int64_t n = -1;

	if (store_open(path, STORE_READONLY, &s, &e) == -1 ||
	    store_query_int(s, &n, &e,
	                    "SELECT count(*) FROM rec WHERE"
	                    " length(body) = ?",
	                    "i", RECORD_SIZE) != 1)
		die("verify", &e);
	store_free(&s);
	if ((uint64_t)n != acked) {
		fprintf(stderr,
		        "bench_store: %s holds %lld records, %llu "
		        "were acknowledged\n",
		        path, (long long)n, (unsigned long long)acked);
		exit(1);
	}
}

struct result {
	double rate;
	uint64_t writes;
	double seconds;
	double cpu; /* user + system seconds of the process */
};

static double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* One round of one mode: n threads writing for `seconds`; adds to r. */
static void
run(struct worker *wk, int n, void *(*fn)(void *), double seconds,
    struct result *r)
{
	double t0, t1, c0;

	atomic_store(&stop, false);
	for (int i = 0; i < n; i++)
		wk[i].writes = wk[i].failures = 0;
	c0 = cpu_s();
	t0 = now_s();
	for (int i = 0; i < n; i++)
		if (pthread_create(&wk[i].thread, NULL, fn, &wk[i]) != 0) {
			fprintf(stderr, "bench_store: pthread_create\n");
			exit(1);
		}
	struct timespec ts = {
	    (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	atomic_store(&stop, true);
	for (int i = 0; i < n; i++) {
		pthread_join(wk[i].thread, NULL);
		r->writes += wk[i].writes;
		if (wk[i].failures > 0)
			die("write failed", &wk[i].last);
	}
	t1 = now_s();
	r->seconds += t1 - t0;
	r->cpu += cpu_s() - c0;
	r->rate = (double)r->writes / r->seconds;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static bool
is_tmpfs(const char *dir)
{
	struct statfs sf;

	return statfs(dir, &sf) == 0 &&
	       (unsigned long)sf.f_type == TMPFS_MAGIC_NUMBER;
}

static char *
pick_dir(const char *arg)
{
	const char *tmp = getenv("TMPDIR");
	char exe[PATH_MAX];
	ssize_t n;

	if (arg != NULL)
		return xstrdup(arg);
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	if (!is_tmpfs(tmp))
		return xstrdup(tmp);
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return xstrdup(".");
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash != NULL)
		*slash = '\0';
	return xstrdup(exe);
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_store [--seconds N] [--threads N] "
	                "[--dir DIR]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	int seconds = 3, threads = 64;
	const char *dir_arg = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			if (str_to_int(argv[++i], 1, 3600, &seconds) == -1)
				usage();
		} else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
			if (str_to_int(argv[++i], 1, MAX_THREADS, &threads) ==
			    -1)
				usage();
		} else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
			dir_arg = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0) {
			fprintf(stdout, "usage: bench_store [--seconds N] "
			                "[--threads N] [--dir DIR]\n");
			return 0;
		} else {
			usage();
		}
	}
	log_init("bench_store", LOG_LEVEL_WARN);

	char *base = pick_dir(dir_arg);
	char *dir = xasprintf("%s/bench_store.XXXXXX", base);
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "bench_store: mkdtemp %s: %s\n", dir,
		        strerror(errno));
		return 1;
	}
	struct worker *sw = xcalloc((size_t)threads, sizeof *sw);
	struct worker *gw = xcalloc((size_t)threads, sizeof *gw);
	struct err e = {0};

	printf("bench_store: %d writer threads, %d-byte records, %d s per "
	       "mode (alternating 1 s rounds), synchronous=FULL WAL, in %s%s\n",
	       threads, RECORD_SIZE, seconds, dir,
	       is_tmpfs(dir) ? " (tmpfs!)" : "");

	/* Baseline: one commit (one fsync) per write, on one shared
	 * connection. */
	char *single_path = make_db(dir, "single.db");
	struct store *shared = NULL;
	pthread_mutex_t shared_mu = PTHREAD_MUTEX_INITIALIZER;

	if (store_open(single_path, 0, &shared, &e) == -1)
		die("open", &e);
	for (int i = 0; i < threads; i++) {
		sw[i].id = i;
		fill(sw[i].body, RECORD_SIZE, (uint64_t)i);
		sw[i].shared = shared;
		sw[i].shared_mu = &shared_mu;
	}

	/* Group commit through the writer thread. */
	char *group_path = make_db(dir, "group.db");
	struct store_writer *w = NULL;
	uint64_t batches = 0, jobs = 0;

	if (store_writer_new(group_path, NULL, &w, &e) == -1)
		die("writer", &e);
	for (int i = 0; i < threads; i++) {
		gw[i].id = i;
		fill(gw[i].body, RECORD_SIZE, (uint64_t)i + MAX_THREADS);
		gw[i].w = w;
	}

	/* The disk's fsync latency drifts: the two modes take turns, one
	 * second each, so that both see the same disk. */
	struct result single = {0}, group = {0};

	double *rr = xcalloc((size_t)seconds, sizeof *rr);

	for (int round = 0; round < seconds; round++) {
		uint64_t s0 = single.writes, g0 = group.writes;
		double st0 = single.seconds, gt0 = group.seconds;

		run(sw, threads, single_worker, 1.0, &single);
		run(gw, threads, group_worker, 1.0, &group);
		double sr =
		    (double)(single.writes - s0) / (single.seconds - st0);
		double gr = (double)(group.writes - g0) / (group.seconds - gt0);
		rr[round] = sr > 0 ? gr / sr : 0;
	}
	qsort(rr, (size_t)seconds, sizeof *rr, cmp_double);
	store_writer_stats(w, &batches, &jobs, NULL);
	store_writer_free(&w);
	store_free(&shared);
	verify(single_path, single.writes);
	verify(group_path, group.writes);

	double ratio = single.rate > 0 ? group.rate / single.rate : 0;

	printf("one-commit-per-write: %8.0f writes/s  (%llu writes in "
	       "%.2f s, %.0f us CPU per write)\n",
	       single.rate, (unsigned long long)single.writes, single.seconds,
	       single.writes > 0 ? single.cpu * 1e6 / (double)single.writes
	                         : 0);
	printf("group commit:         %8.0f writes/s  (%llu writes in "
	       "%.2f s, %.0f us CPU per write, %llu commits, %.1f writes per "
	       "commit)\n",
	       group.rate, (unsigned long long)group.writes, group.seconds,
	       group.writes > 0 ? group.cpu * 1e6 / (double)group.writes : 0,
	       (unsigned long long)batches,
	       batches > 0 ? (double)jobs / (double)batches : 0.0);
	printf("ratio: %.1fx (goal >= 10x): %s\n", ratio,
	       ratio >= 10.0 ? "met" : "NOT met");
	printf("per-round ratio: min %.1fx, median %.1fx, max %.1fx\n", rr[0],
	       rr[seconds / 2], rr[seconds - 1]);
	printf("all acknowledged records verified after reopen\n");
	free(rr);

	unlink(single_path);
	unlink(group_path);
	for (int k = 0; k < 2; k++) {
		const char *p = k == 0 ? single_path : group_path;
		char *wal = xasprintf("%s-wal", p),
		     *shm = xasprintf("%s-shm", p);

		unlink(wal);
		unlink(shm);
		free(wal);
		free(shm);
	}
	rmdir(dir);
	free(single_path);
	free(group_path);
	free(dir);
	free(base);
	free(sw);
	free(gw);
	return 0;
}
