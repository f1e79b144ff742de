/* The store: one SQLite connection per struct store, statements cached by
 * their SQL text, migrations by PRAGMA user_version, and the group-commit
 * writer (one thread, one connection, many jobs per transaction). */
#include "core/store.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "core/log.h"
#include "core/loop.h"
#include "core/str.h"
#include "core/xmalloc.h"

#define STORE_BUSY_TIMEOUT_MS 5000
#define STORE_BATCH_MAX_DEFAULT 512
#define STORE_FAULT_ENV "DIRECTGATE_FAULT_STORE"
/* The writer does not checkpoint in its commits: past this many WAL frames
 * a checkpointer thread copies them into the database file while the
 * writer goes on (PASSIVE). */
#define STORE_CKPT_FRAMES 1000
/* Past this many the writer checkpoints itself before its next batch (most
 * frames are usually copied already), so that the WAL starts over. */
#define STORE_CKPT_SYNC_FRAMES 8000
#define STORE_MMAP_BYTES "2147418112"

struct store_stmt {
	struct store *s;
	sqlite3_stmt *st;
	char *sql;
	struct store_stmt *next;  /* hash chain, or the transient list */
	const char *bind_problem; /* why the last bind failed, if ours */
	bool in_use;
	bool transient; /* a second copy of a busy cached statement */
};

struct store {
	sqlite3 *db;
	struct store_stmt **tab; /* statement cache, by SQL text */
	size_t tab_size;         /* a power of two */
	size_t n_stmts;
	struct store_stmt *transient;
	bool readonly;
	bool wal_hooked;         /* a store_writer's checkpoint hook is set */
	pthread_mutex_t
	    fault_mu; /* store_fault_inject may come from any thread */
	int fault_code;
	int fault_count;
};

/* Error mapping. */

static enum err_kind
store_kind(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
		return ERR_TEMP;
	case SQLITE_CONSTRAINT:
		return ERR_PERM;
	default:
		return ERR_INTERNAL;
	}
}

/* SQLite's message names tables, columns and constraints, never values. */
static int
store_fail(sqlite3 *db, int rc, struct err *e, const char *what)
{
	const char *msg = db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc);

	return err_set(e, store_kind(rc), "store: %s: %s", what, msg);
}

/* Statement cache. */

static size_t
store_hash(const char *sql)
{
	uint64_t h = 14695981039346656037ULL;

	for (const unsigned char *p = (const unsigned char *)sql; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

static void
store_stmt_destroy(struct store_stmt *st)
{
	sqlite3_finalize(st->st);
	free(st->sql);
	free(st);
}

static void
store_cache_grow(struct store *s)
{
	size_t size = s->tab_size * 2;
	struct store_stmt **tab = xcalloc(size, sizeof *tab);

	for (size_t i = 0; i < s->tab_size; i++) {
		struct store_stmt *st, *next;

		for (st = s->tab[i]; st != NULL; st = next) {
			size_t h = store_hash(st->sql) & (size - 1);

			next = st->next;
			st->next = tab[h];
			tab[h] = st;
		}
	}
	free(s->tab);
	s->tab = tab;
	s->tab_size = size;
}

static bool
store_only_space(const char *p)
{
	for (; *p; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' &&
		    *p != ';')
			return false;
	return true;
}

static struct store_stmt *
store_stmt_make(struct store *s, const char *sql, bool transient, struct err *e)
{
	sqlite3_stmt *raw = NULL;
	const char *tail = NULL;
	int rc = sqlite3_prepare_v3(s->db, sql, -1,
	                            transient ? 0 : SQLITE_PREPARE_PERSISTENT,
	                            &raw, &tail);

	if (rc != SQLITE_OK) {
		store_fail(s->db, rc, e, "prepare");
		return NULL;
	}
	if (raw == NULL) {
		err_set(e, ERR_INTERNAL, "store: prepare: empty statement");
		return NULL;
	}
	if (tail != NULL && !store_only_space(tail)) {
		sqlite3_finalize(raw);
		err_set(e, ERR_INTERNAL,
		        "store: prepare: more than one statement");
		return NULL;
	}
	struct store_stmt *st = xcalloc(1, sizeof *st);

	st->s = s;
	st->st = raw;
	st->sql = xstrdup(sql);
	st->transient = transient;
	st->in_use = true;
	return st;
}

struct store_stmt *
store_prepare(struct store *s, const char *sql, struct err *e)
{
	size_t h = store_hash(sql) & (s->tab_size - 1);
	struct store_stmt *st;

	for (st = s->tab[h]; st != NULL; st = st->next)
		if (strcmp(st->sql, sql) == 0)
			break;
	if (st != NULL) {
		if (!st->in_use) {
			st->in_use = true;
			return st;
		}
		if (!sqlite3_stmt_busy(st->st)) {
			/* Handed out before and never given back with
			 * store_stmt_done(): nobody is reading its rows. */
			sqlite3_reset(st->st);
			sqlite3_clear_bindings(st->st);
			return st;
		}
		/* The same text is still being read (nested use): a copy
		 * of its own, finalized by store_stmt_done(). */
		st = store_stmt_make(s, sql, true, e);
		if (st != NULL) {
			st->next = s->transient;
			s->transient = st;
		}
		return st;
	}
	st = store_stmt_make(s, sql, false, e);
	if (st == NULL)
		return NULL;
	st->next = s->tab[h];
	s->tab[h] = st;
	if (++s->n_stmts > s->tab_size)
		store_cache_grow(s);
	return st;
}

void
store_stmt_done(struct store_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_reset(st->st);
	sqlite3_clear_bindings(st->st);
	st->bind_problem = NULL;
	if (!st->transient) {
		st->in_use = false;
		return;
	}
	struct store_stmt **pp;

	for (pp = &st->s->transient; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == st) {
			*pp = st->next;
			break;
		}
	}
	store_stmt_destroy(st);
}

/* Binding. */

int
store_bind_int(struct store_stmt *st, int idx, int64_t v)
{
	return sqlite3_bind_int64(st->st, idx, v) == SQLITE_OK ? 0 : -1;
}

int
store_bind_text(struct store_stmt *st, int idx, const char *s)
{
	if (s == NULL)
		return store_bind_null(st, idx);
	return store_bind_textn(st, idx, s, strlen(s));
}

int
store_bind_text_static(struct store_stmt *st, int idx, const char *s)
{
	if (s == NULL)
		return store_bind_null(st, idx);
	return sqlite3_bind_text64(st->st, idx, s, strlen(s), SQLITE_STATIC,
	                           SQLITE_UTF8) == SQLITE_OK
	           ? 0
	           : -1;
}

int
store_bind_textn(struct store_stmt *st, int idx, const char *s, size_t n)
{
	if (s == NULL)
		return store_bind_null(st, idx);
	return sqlite3_bind_text64(st->st, idx, s, n, SQLITE_TRANSIENT,
	                           SQLITE_UTF8) == SQLITE_OK
	           ? 0
	           : -1;
}

int
store_bind_blob(struct store_stmt *st, int idx, const void *p, size_t n)
{
	int rc;

	/* sqlite3_bind_blob() binds NULL for a NULL pointer: an empty blob
	 * stays a blob. */
	if (n == 0)
		rc = sqlite3_bind_zeroblob(st->st, idx, 0);
	else
		rc = sqlite3_bind_blob64(st->st, idx, p, n, SQLITE_TRANSIENT);
	return rc == SQLITE_OK ? 0 : -1;
}

int
store_bind_null(struct store_stmt *st, int idx)
{
	return sqlite3_bind_null(st->st, idx) == SQLITE_OK ? 0 : -1;
}

static int
store_vbind(struct store_stmt *st, const char *types, va_list ap)
{
	int idx = 1, rc = 0;

	if (types == NULL)
		types = "";
	if (strlen(types) != (size_t)sqlite3_bind_parameter_count(st->st)) {
		st->bind_problem = "number of values differs from parameters";
		return -1;
	}
	for (const char *t = types; *t; t++, idx++) {
		switch (*t) {
		case 'i':
			rc = store_bind_int(st, idx, va_arg(ap, int));
			break;
		case 'I':
			rc = store_bind_int(st, idx, va_arg(ap, int64_t));
			break;
		case 's':
			rc = store_bind_text(st, idx, va_arg(ap, const char *));
			break;
		case 'b': {
			const void *p = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);

			rc = store_bind_blob(st, idx, p, n);
			break;
		}
		case 'n':
			rc = store_bind_null(st, idx);
			break;
		default:
			st->bind_problem = "unknown type letter";
			return -1;
		}
		if (rc == -1)
			return -1;
	}
	return 0;
}

int
store_bindv(struct store_stmt *st, const char *types, ...)
{
	va_list ap;
	int rc;

	va_start(ap, types);
	rc = store_vbind(st, types, ap);
	va_end(ap);
	return rc;
}

static int
store_bind_fail(struct store_stmt *st, struct err *e)
{
	if (st->bind_problem != NULL)
		return err_set(e, ERR_INTERNAL, "store: bind: %s",
		               st->bind_problem);
	return err_set(e, ERR_INTERNAL, "store: bind: %s",
	               sqlite3_errmsg(st->s->db));
}

/* Stepping and columns. */

int
store_step(struct store_stmt *st, struct err *e)
{
	int rc = sqlite3_step(st->st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_fail(st->s->db, rc, e, "step");
}

int64_t
store_col_int(struct store_stmt *st, int col)
{
	return sqlite3_column_int64(st->st, col);
}

const char *
store_col_text(struct store_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st->st, col);
}

void
store_col_copy(struct store_stmt *st, int col, char *dst, size_t size)
{
	const char *v = store_col_text(st, col);

	str_lcpy(dst, v != NULL ? v : "", size);
}

const void *
store_col_blob(struct store_stmt *st, int col, size_t *n_r)
{
	const void *p = sqlite3_column_blob(st->st, col);

	if (n_r != NULL)
		*n_r = (size_t)sqlite3_column_bytes(st->st, col);
	return p;
}

bool
store_col_null(struct store_stmt *st, int col)
{
	return sqlite3_column_type(st->st, col) == SQLITE_NULL;
}

static int
store_vrun(struct store *s, struct err *e, const char *sql, const char *types,
           va_list ap)
{
	struct store_stmt *st = store_prepare(s, sql, e);
	int rc;

	if (st == NULL)
		return -1;
	if (store_vbind(st, types, ap) == -1) {
		store_bind_fail(st, e);
		store_stmt_done(st);
		return -1;
	}
	while ((rc = store_step(st, e)) == 1)
		;
	store_stmt_done(st);
	return rc;
}

int
store_run(struct store *s, struct err *e, const char *sql, const char *types,
          ...)
{
	va_list ap;
	int rc;

	va_start(ap, types);
	rc = store_vrun(s, e, sql, types, ap);
	va_end(ap);
	return rc;
}

int
store_query_int(struct store *s, int64_t *v_r, struct err *e, const char *sql,
                const char *types, ...)
{
	struct store_stmt *st = store_prepare(s, sql, e);
	va_list ap;
	int rc;

	if (st == NULL)
		return -1;
	va_start(ap, types);
	rc = store_vbind(st, types, ap);
	va_end(ap);
	if (rc == -1) {
		store_bind_fail(st, e);
		store_stmt_done(st);
		return -1;
	}
	rc = store_step(st, e);
	if (rc == 1 && v_r != NULL)
		*v_r = store_col_int(st, 0);
	store_stmt_done(st);
	return rc;
}

int64_t
store_last_rowid(struct store *s)
{
	return sqlite3_last_insert_rowid(s->db);
}

int
store_changes(struct store *s)
{
	return sqlite3_changes(s->db);
}

int
store_exec(struct store *s, const char *sql, struct err *e)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return store_fail(s->db, rc, e, "exec");
	return 0;
}

/* Transactions and the fault seam. */

static int
store_fault_code(const char *kind)
{
	if (strcmp(kind, "busy") == 0)
		return SQLITE_BUSY;
	if (strcmp(kind, "ioerr") == 0)
		return SQLITE_IOERR;
	if (strcmp(kind, "full") == 0)
		return SQLITE_FULL;
	return 0;
}

int
store_fault_inject(struct store *s, const char *kind, int count)
{
	int code = kind != NULL ? store_fault_code(kind) : 0;

	if (code == 0 || count < 0)
		return -1;
	pthread_mutex_lock(&s->fault_mu);
	s->fault_code = code;
	s->fault_count = count;
	pthread_mutex_unlock(&s->fault_mu);
	return 0;
}

/* The code of the fault armed for this commit, or 0. */
static int
store_fault_take(struct store *s)
{
	int code = 0;

	pthread_mutex_lock(&s->fault_mu);
	if (s->fault_count > 0) {
		s->fault_count--;
		code = s->fault_code;
	}
	pthread_mutex_unlock(&s->fault_mu);
	return code;
}

/* "ioerr:3", or "ioerr" for one. */
static int
store_fault_from_env(struct store *s, struct err *e)
{
	const char *v = getenv(STORE_FAULT_ENV);
	char kind[16];
	int count = 1;

	if (v == NULL || *v == '\0')
		return 0;
	const char *colon = strchr(v, ':');
	size_t n = colon != NULL ? (size_t)(colon - v) : strlen(v);

	if (n >= sizeof kind)
		goto bad;
	memcpy(kind, v, n);
	kind[n] = '\0';
	if (colon != NULL && str_to_int(colon + 1, 0, INT_MAX, &count) == -1)
		goto bad;
	if (store_fault_inject(s, kind, count) == -1)
		goto bad;
	log_warn("store", "fault=%s count=%d armed by " STORE_FAULT_ENV, kind,
	         count);
	return 0;
bad:
	return err_set(e, ERR_CONFIG,
	               "store: " STORE_FAULT_ENV
	               " must be busy|ioerr|full[:COUNT]");
}

int
store_begin(struct store *s, struct err *e)
{
	return store_run(s, e, "BEGIN IMMEDIATE", "");
}

void
store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* COMMIT, without the fault seam (migrations). On failure the transaction
 * is rolled back. */
static int
store_commit_raw(struct store *s, struct err *e)
{
	struct store_stmt *st = store_prepare(s, "COMMIT", e);
	enum err_kind kind;
	int rc;

	if (st == NULL) {
		store_rollback(s);
		return -1;
	}
	rc = sqlite3_step(st->st);
	if (rc == SQLITE_DONE) {
		store_stmt_done(st);
		return 0;
	}
	kind = store_kind(rc);
	if (kind != ERR_PERM)
		kind = ERR_TEMP;
	/* No transaction to commit is the caller's mistake; SQLite may also
	 * have rolled it back itself after an I/O error (TEMP). */
	if (sqlite3_get_autocommit(s->db) && (rc & 0xff) == SQLITE_ERROR)
		kind = ERR_INTERNAL;
	err_set(e, kind, "store: commit: %s", sqlite3_errmsg(s->db));
	store_stmt_done(st);
	store_rollback(s);
	return -1;
}

int
store_commit(struct store *s, struct err *e)
{
	int code = store_fault_take(s);

	if (code != 0) {
		store_rollback(s);
		return err_set(
		    e, ERR_TEMP,
		    "store: commit: %s (injected fault; rolled back)",
		    sqlite3_errstr(code));
	}
	return store_commit_raw(s, e);
}

/* Open and migrate. */

void
store_set_busy_timeout(struct store *s, int ms)
{
	sqlite3_busy_timeout(s->db, ms);
}

int
store_user_version(struct store *s)
{
	int64_t v = -1;

	if (store_query_int(s, &v, NULL, "PRAGMA user_version", "") != 1)
		return -1;
	return (int)v;
}

static int
store_migrate(struct store *s, const struct store_migration *migs,
              struct err *e)
{
	const struct store_migration *m;
	int latest = 0, cur;
	char sql[64];

	for (m = migs; m->version != 0; m++) {
		assert(m->version == latest + 1 && m->sql != NULL);
		latest = m->version;
	}
	if ((cur = store_user_version(s)) == -1)
		return store_fail(s->db, sqlite3_errcode(s->db), e,
		                  "user_version");
	if (cur > latest)
		goto newer;
	if (s->readonly)
		return 0;
	for (m = migs; m->version != 0; m++) {
		if (m->version <= cur)
			continue;
		if (store_begin(s, e) == -1)
			return err_prefix(e, "migration %d", m->version);
		/* Another connection may have migrated meanwhile. */
		if ((cur = store_user_version(s)) == -1) {
			store_fail(s->db, sqlite3_errcode(s->db), e,
			           "user_version");
			store_rollback(s);
			return -1;
		}
		if (cur > latest) {
			store_rollback(s);
			goto newer;
		}
		if (m->version <= cur) {
			store_rollback(s);
			continue;
		}
		if (store_exec(s, m->sql, e) == -1) {
			store_rollback(s);
			return err_prefix(e, "migration %d", m->version);
		}
		str_fmt(sql, sizeof sql, "PRAGMA user_version = %d",
		        m->version);
		if (store_exec(s, sql, e) == -1) {
			store_rollback(s);
			return err_prefix(e, "migration %d", m->version);
		}
		if (store_commit_raw(s, e) == -1)
			return err_prefix(e, "migration %d", m->version);
		cur = m->version;
		log_info("store", "migrated version=%d", m->version);
	}
	return 0;
newer:
	return err_set(e, ERR_CONFIG,
	               "store: database schema version %d is newer than this "
	               "program's (%d)",
	               cur, latest);
}

static int
store_pragma_text(struct store *s, const char *sql, char *dst, size_t size,
                  struct err *e)
{
	struct store_stmt *st = store_prepare(s, sql, e);
	int rc;

	if (st == NULL)
		return -1;
	rc = store_step(st, e);
	if (rc == 1)
		store_col_copy(st, 0, dst, size);
	store_stmt_done(st);
	return rc == -1 ? -1 : 0;
}

void
store_defer_checkpoints(struct store *s, bool defer)
{
	if (s->wal_hooked)
		return;
	(void)sqlite3_wal_autocheckpoint(s->db, defer ? 0 : 1000);
}

int
store_wal_checkpoint(struct store *s, struct err *e)
{
	int rc = sqlite3_wal_checkpoint_v2(s->db, NULL,
	                                   SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);

	/* BUSY: someone else is checkpointing; nothing lost either way. */
	if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY)
		return store_fail(s->db, rc, e, "checkpoint");
	return 0;
}

/* Before SQLite initializes: no memory statistics (nothing reads them, and
 * keeping them takes a global mutex on every allocation of every thread). */
static pthread_once_t store_global_once = PTHREAD_ONCE_INIT;

static void
store_global_init(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int
store_open_with(const char *path, unsigned flags,
                const struct store_migration *migs, struct store **s_r,
                struct err *e)
{
	struct store *s = xcalloc(1, sizeof *s);
	int oflags = SQLITE_OPEN_NOMUTEX;
	char mode[16];
	int rc;

	*s_r = NULL;
	pthread_once(&store_global_once, store_global_init);
	pthread_mutex_init(&s->fault_mu, NULL);
	s->tab_size = 32;
	s->tab = xcalloc(s->tab_size, sizeof *s->tab);
	s->readonly = (flags & STORE_READONLY) != 0;
	oflags |= s->readonly ? SQLITE_OPEN_READONLY
	                      : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &s->db, oflags, NULL);
	if (rc != SQLITE_OK) {
		store_fail(s->db, rc, e, "open");
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	if (!s->readonly) {
		if (store_pragma_text(s, "PRAGMA journal_mode=WAL", mode,
		                      sizeof mode, e) == -1)
			goto fail;
		if (strcmp(mode, "wal") != 0) {
			err_set(e, ERR_CONFIG,
			        "store: cannot use WAL mode (journal_mode=%s)",
			        mode);
			goto fail;
		}
	}
	/* Reads map the database file instead of copying its pages into
	 * each connection's cache (SQLite's limit on Linux: 2 GiB less
	 * 64 KiB of address space per connection; the rest is read). */
	if (store_exec(s, "PRAGMA mmap_size=" STORE_MMAP_BYTES, e) == -1 ||
	    store_exec(s, "PRAGMA synchronous=FULL", e) == -1 ||
	    store_exec(s, "PRAGMA foreign_keys=ON", e) == -1)
		goto fail;
	if (store_fault_from_env(s, e) == -1)
		goto fail;
	if (store_migrate(s, migs, e) == -1)
		goto fail;
	*s_r = s;
	return 0;
fail:
	store_free(&s);
	return -1;
}

int
store_open(const char *path, unsigned flags, struct store **s_r, struct err *e)
{
	return store_open_with(path, flags, store_migrations, s_r, e);
}

void
store_free(struct store **sp)
{
	struct store *s = *sp;

	if (s == NULL)
		return;
	*sp = NULL;
	for (size_t i = 0; i < s->tab_size; i++) {
		struct store_stmt *st, *next;

		for (st = s->tab[i]; st != NULL; st = next) {
			next = st->next;
			store_stmt_destroy(st);
		}
	}
	while (s->transient != NULL) {
		struct store_stmt *st = s->transient;

		s->transient = st->next;
		store_stmt_destroy(st);
	}
	free(s->tab);
	if (s->db != NULL && sqlite3_close(s->db) != SQLITE_OK)
		log_error("store", "close failed: %s", sqlite3_errmsg(s->db));
	pthread_mutex_destroy(&s->fault_mu);
	free(s);
}

/* The group-commit writer. */

struct store_job {
	struct store_job *next;
	store_write_fn *fn;
	store_done_fn *done;
	void *arg;         /* for fn */
	void *done_arg;    /* for done: arg, but for store_writer_run */
	struct loop *loop; /* where done runs; NULL: the writer thread */
	int status;
	struct err err;
};

struct store_writer {
	struct store *s; /* the writer thread's own */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct store_job *head, **tailp; /* the queue, under mu */
	bool stopping;                   /* under mu */
	unsigned batch_max;
	unsigned commit_delay_us;
	unsigned last_batch; /* jobs in the previous batch */
	struct loop *loop;
	atomic_uint_least64_t n_batches, n_jobs, n_failed_batches;
	/* The checkpointer: its own connection and thread. */
	struct store *ckpt_s;
	pthread_t ckpt_thread;
	pthread_mutex_t ckpt_mu;
	pthread_cond_t ckpt_cv;
	bool ckpt_wanted, ckpt_stop; /* under ckpt_mu */
	pthread_mutex_t ckpt_run_mu; /* held by whoever checkpoints */
	int wal_frames;              /* writer thread: frames in the WAL */
	int ckpt_mark; /* writer thread: frames at the last call */
};

static void
store_job_done_cb(void *arg)
{
	struct store_job *j = arg;

	j->done(j->done_arg, j->status, &j->err);
	free(j);
}

static void
store_job_tell(struct store_job *j)
{
	if (j->loop != NULL)
		loop_post(j->loop, store_job_done_cb, j);
	else
		store_job_done_cb(j);
}

/* The whole batch failed: every job is told so (a job that failed on its
 * own keeps its own error). */
static void
store_batch_fail(struct store_job *batch, const struct err *why)
{
	for (struct store_job *j = batch; j != NULL; j = j->next) {
		if (j->status == -1)
			continue;
		j->status = -1;
		err_set(&j->err, ERR_TEMP, "%s", why->msg);
	}
}

/* After each commit of the writer's connection (writer thread). */
static int
store_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store_writer *w = arg;

	w->wal_frames = frames;
	if (frames < w->ckpt_mark)
		w->ckpt_mark = 0; /* the WAL started over */
	if (frames - w->ckpt_mark >= STORE_CKPT_FRAMES) {
		w->ckpt_mark = frames;
		pthread_mutex_lock(&w->ckpt_mu);
		w->ckpt_wanted = true;
		pthread_cond_signal(&w->ckpt_cv);
		pthread_mutex_unlock(&w->ckpt_mu);
	}
	return SQLITE_OK;
}

static void
store_checkpoint(struct store *s, const char *who)
{
	struct err e;

	if (store_wal_checkpoint(s, &e) == -1)
		log_warn("store", "event=checkpoint_failed by=%s reason=\"%s\"",
		         who, e.msg);
}

static void *
store_ckpt_main(void *arg)
{
	struct store_writer *w = arg;

	(void)pthread_setname_np(pthread_self(), "dg-checkpoint");

	for (;;) {
		pthread_mutex_lock(&w->ckpt_mu);
		while (!w->ckpt_wanted && !w->ckpt_stop)
			pthread_cond_wait(&w->ckpt_cv, &w->ckpt_mu);
		if (w->ckpt_stop) {
			pthread_mutex_unlock(&w->ckpt_mu);
			break;
		}
		w->ckpt_wanted = false;
		pthread_mutex_unlock(&w->ckpt_mu);
		pthread_mutex_lock(&w->ckpt_run_mu);
		store_checkpoint(w->ckpt_s, "checkpointer");
		pthread_mutex_unlock(&w->ckpt_run_mu);
	}
	return NULL;
}

static void
store_writer_batch(struct store_writer *w, struct store_job *batch, unsigned n)
{
	struct store *s = w->s;
	struct err e;
	bool failed = false;

	atomic_fetch_add_explicit(&w->n_batches, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&w->n_jobs, n, memory_order_relaxed);
	if (w->wal_frames >= STORE_CKPT_SYNC_FRAMES) {
		/* Its checkpoints run while the writer writes, so they never
		 * reach the end of the WAL: once the checkpointer's pass is
		 * over, copy the rest, so that this transaction starts the WAL
		 * over (unless a reader still needs old frames). */
		pthread_mutex_lock(&w->ckpt_run_mu);
		store_checkpoint(s, "writer");
		pthread_mutex_unlock(&w->ckpt_run_mu);
		w->wal_frames = 0;
	}
	if (store_begin(s, &e) == -1) {
		failed = true;
		goto tell;
	}
	for (struct store_job *j = batch; j != NULL; j = j->next) {
		if (store_run(s, &e, "SAVEPOINT store_writer_job", "") == -1) {
			failed = true;
			break;
		}
		err_clear(&j->err);
		j->status = j->fn(s, j->arg, &j->err);
		if (sqlite3_get_autocommit(s->db)) {
			/* SQLite rolled the whole transaction back (I/O error,
			 * disk full), or the job ended it: nothing of the batch
			 * stands. */
			err_set(&e, ERR_TEMP,
			        "store: transaction lost in "
			        "a job (%s)",
			        j->status == -1 ? j->err.msg
			                        : "ended by the job");
			j->status = 0;
			failed = true;
			break;
		}
		if (j->status == 0) {
			if (store_run(s, &e, "RELEASE store_writer_job", "") ==
			    -1) {
				failed = true;
				break;
			}
			continue;
		}
		j->status = -1;
		if (j->err.kind == ERR_NONE)
			err_set(&j->err, ERR_INTERNAL,
			        "store: job failed without a reason");
		if (store_run(s, &e, "ROLLBACK TO store_writer_job", "") ==
		        -1 ||
		    store_run(s, &e, "RELEASE store_writer_job", "") == -1) {
			failed = true;
			break;
		}
	}
	if (failed)
		store_rollback(s);
	else if (store_commit(s, &e) == -1)
		failed = true;
tell:
	if (failed) {
		atomic_fetch_add_explicit(&w->n_failed_batches, 1,
		                          memory_order_relaxed);
		/* Whatever the cause, nothing of the batch was written and
		 * trying again later may work. */
		log_warn("store", "event=batch_failed jobs=%u reason=\"%s\"", n,
		         e.msg);
		store_batch_fail(batch, &e);
	} else {
		for (struct store_job *j = batch; j != NULL; j = j->next)
			if (j->status == 0)
				err_clear(&j->err);
	}
	struct store_job *j, *next;

	for (j = batch; j != NULL; j = next) {
		next = j->next;
		store_job_tell(j);
	}
}

static void *
store_writer_main(void *arg)
{
	struct store_writer *w = arg;

	/* Named for top -H, perf and gdb (15 characters at most). */
	(void)pthread_setname_np(pthread_self(), "dg-writer");

	for (;;) {
		struct store_job *batch, *last;
		unsigned n = 1;

		pthread_mutex_lock(&w->mu);
		while (w->head == NULL && !w->stopping)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->head == NULL) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		/* Under concurrent load, wait a moment for more jobs so that
		 * they share this fsync (PostgreSQL's commit_delay). */
		if (w->commit_delay_us > 0 && w->last_batch > 1 &&
		    !w->stopping) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += (long)w->commit_delay_us * 1000;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			while (pthread_cond_timedwait(&w->cv, &w->mu, &ts) == 0 &&
			    !w->stopping)
				;
		}
		batch = last = w->head;
		while (last->next != NULL && n < w->batch_max) {
			last = last->next;
			n++;
		}
		w->head = last->next;
		if (w->head == NULL)
			w->tailp = &w->head;
		last->next = NULL;
		w->last_batch = n;
		pthread_mutex_unlock(&w->mu);
		store_writer_batch(w, batch, n);
	}
	return NULL;
}

int
store_writer_new(const char *path, const struct store_writer_opts *o,
                 struct store_writer **w_r, struct err *e)
{
	struct store_writer *w = xcalloc(1, sizeof *w);
	bool ckpt_started = false;
	sigset_t all, old;
	int rc;

	*w_r = NULL;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	pthread_mutex_init(&w->ckpt_mu, NULL);
	pthread_cond_init(&w->ckpt_cv, NULL);
	pthread_mutex_init(&w->ckpt_run_mu, NULL);
	w->commit_delay_us = o != NULL ? o->commit_delay_us : 0;
	w->batch_max = o != NULL && o->batch_max > 0 ? o->batch_max
	                                             : STORE_BATCH_MAX_DEFAULT;
	w->loop = o != NULL ? o->loop : NULL;
	w->tailp = &w->head;
	if (store_open(path, 0, &w->s, e) == -1 ||
	    store_open(path, 0, &w->ckpt_s, e) == -1)
		goto fail;
	/* Replaces the automatic checkpoint of the writer's commits. */
	sqlite3_wal_hook(w->s->db, store_wal_hook, w);
	w->s->wal_hooked = true;
	/* Signals belong to the loop thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w->ckpt_thread, NULL, store_ckpt_main, w);
	if (rc == 0) {
		ckpt_started = true;
		rc = pthread_create(&w->thread, NULL, store_writer_main, w);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		err_set(e, ERR_TEMP,
		        "store: cannot start the writer "
		        "thread (error %d)",
		        rc);
		goto fail;
	}
	*w_r = w;
	return 0;
fail:
	if (ckpt_started) {
		pthread_mutex_lock(&w->ckpt_mu);
		w->ckpt_stop = true;
		pthread_cond_signal(&w->ckpt_cv);
		pthread_mutex_unlock(&w->ckpt_mu);
		pthread_join(w->ckpt_thread, NULL);
	}
	store_free(&w->ckpt_s);
	store_free(&w->s);
	pthread_mutex_destroy(&w->ckpt_run_mu);
	pthread_cond_destroy(&w->ckpt_cv);
	pthread_mutex_destroy(&w->ckpt_mu);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
	return -1;
}

static void
store_writer_submit_job(struct store_writer *w, store_write_fn *fn, void *arg,
                        store_done_fn *done, void *done_arg, struct loop *loop)
{
	struct store_job *j = xcalloc(1, sizeof *j);

	assert(fn != NULL && done != NULL);
	j->fn = fn;
	j->done = done;
	j->arg = arg;
	j->done_arg = done_arg;
	j->loop = loop;
	pthread_mutex_lock(&w->mu);
	if (w->stopping) {
		pthread_mutex_unlock(&w->mu);
		j->status = -1;
		err_set(&j->err, ERR_TEMP, "store: writer shutting down");
		store_job_tell(j);
		return;
	}
	*w->tailp = j;
	w->tailp = &j->next;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void
store_writer_submit(struct store_writer *w, store_write_fn *fn,
                    store_done_fn *done, void *arg)
{
	store_writer_submit_job(w, fn, arg, done, arg, w->loop);
}

/* store_writer_run waits on a semaphore: one wake-up, and the writer never
 * holds a lock the waiter then has to wait for. */
struct store_wait {
	sem_t sem;
	int status;
	struct err err;
};

static void
store_wait_done(void *arg, int status, const struct err *e)
{
	struct store_wait *wt = arg;

	wt->status = status;
	wt->err = *e;
	sem_post(&wt->sem);
}

int
store_writer_run(struct store_writer *w, store_write_fn *fn, void *arg,
                 struct err *e)
{
	struct store_wait wt;

	memset(&wt, 0, sizeof wt);
	if (sem_init(&wt.sem, 0, 0) == -1)
		abort();
	/* Told on the writer thread: the caller may be anything but the
	 * loop thread, and need not wait for the loop. */
	store_writer_submit_job(w, fn, arg, store_wait_done, &wt, NULL);
	while (sem_wait(&wt.sem) == -1)
		assert(errno == EINTR);
	sem_destroy(&wt.sem);
	if (wt.status == -1 && e != NULL)
		*e = wt.err;
	return wt.status;
}

void
store_writer_stats(struct store_writer *w, uint64_t *batches_r,
                   uint64_t *jobs_r, uint64_t *failed_r)
{
	if (batches_r != NULL)
		*batches_r = atomic_load(&w->n_batches);
	if (jobs_r != NULL)
		*jobs_r = atomic_load(&w->n_jobs);
	if (failed_r != NULL)
		*failed_r = atomic_load(&w->n_failed_batches);
}

struct store *
store_writer_store(struct store_writer *w)
{
	return w->s;
}

void
store_writer_free(struct store_writer **wp)
{
	struct store_writer *w = *wp;

	if (w == NULL)
		return;
	*wp = NULL;
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	log_debug("store", "writer stopped batches=%llu jobs=%llu failed=%llu",
	          (unsigned long long)atomic_load(&w->n_batches),
	          (unsigned long long)atomic_load(&w->n_jobs),
	          (unsigned long long)atomic_load(&w->n_failed_batches));
	assert(w->head == NULL);
	pthread_mutex_lock(&w->ckpt_mu);
	w->ckpt_stop = true;
	pthread_cond_signal(&w->ckpt_cv);
	pthread_mutex_unlock(&w->ckpt_mu);
	pthread_join(w->ckpt_thread, NULL);
	store_free(&w->ckpt_s);
	/* The last connection to close checkpoints what is left. */
	store_free(&w->s);
	pthread_mutex_destroy(&w->ckpt_run_mu);
	pthread_cond_destroy(&w->ckpt_cv);
	pthread_mutex_destroy(&w->ckpt_mu);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
