/* The store: SQLite in WAL mode with synchronous=FULL, migrated forward at
 * open by PRAGMA user_version, prepared statements only. SQLite's types stay
 * behind this header: other modules use struct store and struct store_stmt.
 *
 * A struct store is one connection, used by one thread at a time. Readers
 * open their own (WAL lets them read while the writer writes). Durable
 * writes from the daemon go through struct store_writer (group commit): many
 * jobs share one transaction and one fsync, and each caller is told when its
 * own job is durable. */
#ifndef CORE_STORE_H
#define CORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct loop;
struct store;
struct store_stmt;

struct store_migration {
	int version; /* 1, 2, 3... in order */
	const char *name;
	const char *sql;
};
/* The schema of every module, in order (core/store_schema.c), terminated by
 * a zero version. */
extern const struct store_migration store_migrations[];

#define STORE_READONLY 0x1 /* open without migrating or writing */

/* Opens (creating) the database at path and applies every migration newer
 * than its user_version, each in its own transaction. On error *s_r is NULL
 * and e says why (TEMP for busy/IO errors). */
int store_open(const char *path, unsigned flags, struct store **s_r,
    struct err *e);
/* A connection's commits normally copy the WAL into the database file past
 * 1000 frames (SQLite's default) unless a store_writer checkpoints for it.
 * defer = true: this connection's commits leave that to whoever writes or
 * closes next, or to store_wal_checkpoint() (a bulk load commits, then
 * checkpoints apart); false: the default again. No effect on a store_writer's connection. */
void store_defer_checkpoints(struct store *s, bool defer);
/* Copies the WAL into the database file as far as no reader still needs
 * it, waiting for nobody (PASSIVE). 0, or -1 (e). */
int store_wal_checkpoint(struct store *s, struct err *e);
/* Same with another migration list (tests), terminated by a zero version
 * and borrowed for the call only. A database whose user_version is newer
 * than the list's last version is a CONFIG error. */
int store_open_with(const char *path, unsigned flags,
    const struct store_migration *migrations, struct store **s_r,
    struct err *e);
void store_free(struct store **sp);
/* How long a statement waits for a lock before failing TEMP (5 s by
 * default). A connection used on an event loop thread waits less, so that
 * a rare lock (WAL recovery after a crash) costs one temporary error
 * rather than stalling every client of the loop. */
void store_set_busy_timeout(struct store *s, int ms);
int store_user_version(struct store *s);

/* Runs SQL text without parameters (may hold several statements). */
int store_exec(struct store *s, const char *sql, struct err *e);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. A failed commit is rolled back and
 * reported as TEMP. store_rollback never fails. */
int store_begin(struct store *s, struct err *e);
int store_commit(struct store *s, struct err *e);
void store_rollback(struct store *s);

/* Returns a prepared statement for sql, cached on the connection by its
 * text: the caller must not free it, and calls store_stmt_done() when it
 * has finished reading rows. NULL on error. */
struct store_stmt *store_prepare(struct store *s, const char *sql,
    struct err *e);
/* Parameters are numbered from 1. Text and blobs are copied. */
int store_bind_int(struct store_stmt *st, int idx, int64_t v);
int store_bind_text(struct store_stmt *st, int idx, const char *s);
/* Like store_bind_text(), without a copy: s must stay unchanged until the
 * statement is stepped for the last time with it or rebound (bulk loads). */
int store_bind_text_static(struct store_stmt *st, int idx, const char *s);
int store_bind_textn(struct store_stmt *st, int idx, const char *s, size_t n);
int store_bind_blob(struct store_stmt *st, int idx, const void *p, size_t n);
int store_bind_null(struct store_stmt *st, int idx);
/* Binds from parameter 1 on, one letter per value: 'i' int, 'I' int64_t,
 * 's' const char * (NULL binds NULL), 'b' const void *, size_t (blob),
 * 'n' null. */
int store_bindv(struct store_stmt *st, const char *types, ...);
/* 1 a row is ready, 0 done, -1 error: TEMP for busy/locked/IO/full, PERM
 * for a constraint violation, INTERNAL otherwise. */
int store_step(struct store_stmt *st, struct err *e);
int64_t store_col_int(struct store_stmt *st, int col);
/* NULL when the column is NULL. Borrowed until the next step or done. */
const char *store_col_text(struct store_stmt *st, int col);
/* The column's text copied into dst (size bytes, truncated), "" when it
 * is NULL. */
void store_col_copy(struct store_stmt *st, int col, char *dst, size_t size);
const void *store_col_blob(struct store_stmt *st, int col, size_t *n_r);
bool store_col_null(struct store_stmt *st, int col);
/* Resets the statement and clears its bindings. Accepts NULL. */
void store_stmt_done(struct store_stmt *st);
/* Prepare + bindv + step until done; for INSERT/UPDATE/DELETE. */
int store_run(struct store *s, struct err *e, const char *sql,
    const char *types, ...);
/* Prepare + bindv + one step: the first column of the first row as an
 * integer. 1 found, 0 no row, -1 error. */
int store_query_int(struct store *s, int64_t *v_r, struct err *e,
    const char *sql, const char *types, ...);
int64_t store_last_rowid(struct store *s);
int store_changes(struct store *s);

/* Fault seam for tests: the next `count` commits on this connection fail
 * as if SQLite had returned the named error ("busy", "ioerr", "full"),
 * and are rolled back. The environment variable DIRECTGATE_FAULT_STORE
 * ("ioerr:3") arms the same seam on every connection a process opens. */
int store_fault_inject(struct store *s, const char *kind, int count);

/* Group commit. */
struct store_writer;

/* Runs on the writer thread inside the shared transaction, in a savepoint
 * of its own: returning -1 (with e set) rolls back this job only. It must
 * not block on anything but the store. */
typedef int store_write_fn(struct store *s, void *arg, struct err *e);
/* Called once per job: status 0 when the job's writes are durable, -1 when
 * they are not: the job's own error when it failed itself (its savepoint
 * was rolled back, the rest of the batch stands), else TEMP when the batch
 * could not be committed (nothing of the batch was written). e is never
 * NULL and is borrowed for the call. With a loop it runs on the loop
 * thread, otherwise on the writer thread. */
typedef void store_done_fn(void *arg, int status, const struct err *e);

struct store_writer_opts {
	unsigned batch_max;   /* jobs per transaction; 0: 512 */
	/* Under concurrent load (the last batch had several jobs), wait this
	 * long for more jobs before committing; 0: never. */
	unsigned commit_delay_us;
	struct loop *loop;    /* where done runs; NULL: the writer thread */
};

/* Opens (migrating) the database at path with two connections of its own:
 * the writer thread's, and a checkpointer thread's that copies the WAL into
 * the database file while the writer goes on. o may be NULL. On error *w_r
 * is NULL and e says why. */
int store_writer_new(const char *path, const struct store_writer_opts *o,
    struct store_writer **w_r, struct err *e);
/* Thread-safe. fn and done must be non-NULL; done always runs exactly once
 * (after store_writer_free has begun: at once, with TEMP "shutting down"). */
void store_writer_submit(struct store_writer *w, store_write_fn *fn,
    store_done_fn *done, void *arg);
/* Submits and waits until the job is durable or failed; for threads that
 * are not the loop thread (CLI, workers, tests); the loop is not involved.
 * Returns the job's status (0 / -1 with e set). */
int store_writer_run(struct store_writer *w, store_write_fn *fn, void *arg,
    struct err *e);
/* Counters since store_writer_new (thread-safe; NULL pointers skipped):
 * transactions run, jobs taken, transactions that failed as a whole. */
void store_writer_stats(struct store_writer *w, uint64_t *batches_r,
    uint64_t *jobs_r, uint64_t *failed_r);
/* The writer's own connection, for fault injection in tests. */
struct store *store_writer_store(struct store_writer *w);
/* Commits what is queued, stops the thread, frees. Accepts NULL. Not from
 * a job or a done callback running on the writer thread. With a loop, the
 * dones of the last jobs may still be posted: free the writer before
 * loop_free (which runs posts left over). */
void store_writer_free(struct store_writer **wp);

#endif
