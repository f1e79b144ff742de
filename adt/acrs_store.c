#include "adt/acrs_store.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adt/acrs_norm.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"

bool
acrs_store_active(int rel, int32_t last_seen, int32_t start_date,
    int32_t end_date, int32_t today, int32_t cutoff)
{
	if (end_date != 0 && end_date <= today)
		return false;
	if (start_date != 0 && start_date > today)
		return false;
	if (rel == ACRS_REL_PAYER)
		return true;
	if (last_seen != 0 && last_seen >= cutoff)
		return true;
	return end_date == 0 && start_date != 0;
}

/* The secondary indexes of acrs_patient, as migration 4 creates them
 * (core/store_schema.c): dropped and rebuilt around a bulk replace, but
 * for acrs_patient_sub (submitter), which new rows extend at its end. */
static const struct {
	const char *name;
	const char *create;
} acrs_store_indexes[] = {
	{"acrs_patient_key", "CREATE UNIQUE INDEX acrs_patient_key ON "
	    "acrs_patient (patient_id, submitter)"},
	{"acrs_patient_dob", "CREATE INDEX acrs_patient_dob ON acrs_patient "
	    "(dob, k_phone, last, first)"},
	{"acrs_patient_name", "CREATE INDEX acrs_patient_name ON acrs_patient "
	    "(k_name) WHERE k_name IS NOT NULL"},
};
#define ACRS_STORE_NIDX (sizeof(acrs_store_indexes) / \
	sizeof(acrs_store_indexes[0]))

#define ACRS_REL_BATCH 32
/* The page cache while indexes are rebuilt, in KiB (see the commit). */
#define ACRS_STORE_SORT_KIB "8192"

struct acrs_pending_rel {
	int64_t patient;
	char npi[11];
	int rel;
	char provider_name[ACRS_TEXT_MAX];
	char organization[ACRS_TEXT_MAX];
	int32_t last_seen, start_date, end_date;
	bool restricted;
};

struct acrs_import {
	struct store *s;
	enum acrs_mode mode;
	int64_t submitter;
	char *submitter_name;
	bool bulk;         /* indexes dropped */
	/* The two statements of every row, prepared once: the cache hands
	 * them out again after store_stmt_done(), and nothing else on this
	 * connection uses their text during the import. */
	struct store_stmt *st_pat, *st_rel, *st_rel_many;
	/* Replace mode writes relationships ACRS_REL_BATCH at a time (one
	 * statement of many rows costs less than many statements). */
	struct acrs_pending_rel *pend;
	size_t n_pend;
	int64_t cache_was; /* PRAGMA cache_size before the import */
	int64_t *pat_ids;  /* row id per patient ordinal of the file */
	size_t pat_cap;
	uint64_t rows;
};

#define SQL_PATIENT_COLS "submitter, patient_id, id_type, authority, last, " \
	"first, middle, suffix, dob, sex, street, city, state, zip5, phone, " \
	"ssn4, k_name, k_phone"
#define SQL_PATIENT_VALS "?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?"

static const char acrs_sql_pat_insert[] =
    "INSERT INTO acrs_patient (" SQL_PATIENT_COLS ") VALUES ("
    SQL_PATIENT_VALS ")";
static const char acrs_sql_pat_upsert[] =
    "INSERT INTO acrs_patient (" SQL_PATIENT_COLS ") VALUES ("
    SQL_PATIENT_VALS ") ON CONFLICT (patient_id, submitter) DO UPDATE SET "
    "id_type = excluded.id_type, authority = excluded.authority, "
    "last = excluded.last, first = excluded.first, "
    "middle = excluded.middle, suffix = excluded.suffix, "
    "dob = excluded.dob, sex = excluded.sex, street = excluded.street, "
    "city = excluded.city, state = excluded.state, zip5 = excluded.zip5, "
    "phone = excluded.phone, ssn4 = excluded.ssn4, "
    "k_name = excluded.k_name, k_phone = excluded.k_phone RETURNING id";
static const char acrs_sql_rel_insert[] =
    "INSERT INTO acrs_rel (patient, npi, relationship, provider_name, "
    "organization, last_seen, start_date, end_date, restricted) "
    "VALUES (?,?,?,?,?,?,?,?,?)";
static const char acrs_sql_rel_upsert[] =
    "INSERT INTO acrs_rel (patient, npi, relationship, provider_name, "
    "organization, last_seen, start_date, end_date, restricted) "
    "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (patient, npi, relationship) "
    "DO UPDATE SET provider_name = excluded.provider_name, "
    "organization = excluded.organization, "
    "last_seen = coalesce(excluded.last_seen, last_seen), "
    "start_date = coalesce(excluded.start_date, start_date), "
    "end_date = excluded.end_date, restricted = excluded.restricted";

static int
acrs_store_bind_date(struct store_stmt *st, int idx, int32_t d)
{
	return d != 0 ? store_bind_int(st, idx, d) : store_bind_null(st, idx);
}

/* The connection's settings as they were before the import. */
static void
acrs_store_import_settle(struct store *s, int64_t cache_was)
{
	struct err e;
	char sql[64];

	store_defer_checkpoints(s, false);
	str_fmt(sql, sizeof(sql), "PRAGMA cache_size=%lld",
	    (long long)cache_was);
	if (store_exec(s, sql, &e) == -1 ||
	    store_exec(s, "PRAGMA temp_store=DEFAULT", &e) == -1 ||
	    store_exec(s, "PRAGMA threads=0", &e) == -1)
		log_warn("acrs", "event=import_settings_not_restored "
		    "reason=\"%s\"", e.msg);
}

int
acrs_store_import_begin(struct store *s, const struct acrs_import_opts *o,
    struct acrs_import **im_r, struct err *e)
{
	struct acrs_import *im;
	int64_t sub_pat = 0, all_pat = 0, cache_was = 0;
	char sql[64];

	*im_r = NULL;
	if (store_query_int(s, &cache_was, e, "PRAGMA cache_size", "") != 1)
		return -1;
	if (o->cache_bytes > 0) {
		str_fmt(sql, sizeof(sql), "PRAGMA cache_size=-%lld",
		    (long long)(o->cache_bytes / 1024));
		if (store_exec(s, sql, e) == -1)
			return -1;
	}
	/* The commit returns once the import is durable in the WAL: copying
	 * it into the database file is left to the server's checkpointer
	 * (or to the close of the last connection). */
	store_defer_checkpoints(s, true);
	if (store_begin(s, e) == -1) {
		acrs_store_import_settle(s, cache_was);
		return -1;
	}
	im = xcalloc(1, sizeof(*im));
	im->s = s;
	im->cache_was = cache_was;
	im->mode = o->mode;
	im->submitter_name = xstrdup(o->submitter);
	if (store_run(s, e, "INSERT INTO acrs_submitter (name) VALUES (?) "
	    "ON CONFLICT (name) DO NOTHING", "s", o->submitter) == -1 ||
	    store_query_int(s, &im->submitter, e, "SELECT id FROM "
	    "acrs_submitter WHERE name = ?", "s", o->submitter) != 1 ||
	    store_query_int(s, &sub_pat, e, "SELECT patients FROM "
	    "acrs_submitter WHERE id = ?", "I", im->submitter) != 1 ||
	    store_query_int(s, &all_pat, e, "SELECT count(*) FROM "
	    "acrs_patient", "") != 1)
		goto fail;
	if (o->mode == ACRS_MODE_REPLACE) {
		/* A replace of (most of) the table: drop the indexes and
		 * rebuild them once at the end. */
		im->bulk = all_pat == 0 || sub_pat * 2 >= all_pat;
		if (im->bulk && sub_pat == all_pat) {
			if (store_exec(s, "DELETE FROM acrs_rel", e) == -1 ||
			    store_exec(s, "DELETE FROM acrs_patient", e) == -1)
				goto fail;
		} else if (store_run(s, e, "DELETE FROM acrs_rel WHERE "
		    "patient IN (SELECT id FROM acrs_patient WHERE "
		    "submitter = ?)", "I", im->submitter) == -1 ||
		    store_run(s, e, "DELETE FROM acrs_patient WHERE "
		    "submitter = ?", "I", im->submitter) == -1) {
			goto fail;
		}
		if (im->bulk)
			for (size_t i = 0; i < ACRS_STORE_NIDX; i++) {
				str_fmt(sql, sizeof(sql), "DROP INDEX IF "
				    "EXISTS %s", acrs_store_indexes[i].name);
				if (store_exec(s, sql, e) == -1)
					goto fail;
			}
	}
	if ((im->st_pat = store_prepare(s, o->mode == ACRS_MODE_DELTA ?
	    acrs_sql_pat_upsert : acrs_sql_pat_insert, e)) == NULL)
		goto fail;
	store_stmt_done(im->st_pat);
	if ((im->st_rel = store_prepare(s, o->mode == ACRS_MODE_DELTA ?
	    acrs_sql_rel_upsert : acrs_sql_rel_insert, e)) == NULL)
		goto fail;
	store_stmt_done(im->st_rel);
	if (o->mode == ACRS_MODE_REPLACE) {
		struct buf many;

		buf_init(&many, BUF_UNLIMITED);
		buf_append_str(&many, "INSERT INTO acrs_rel (patient, npi, "
		    "relationship, provider_name, organization, last_seen, "
		    "start_date, end_date, restricted) VALUES ");
		for (int i = 0; i < ACRS_REL_BATCH; i++)
			buf_append_str(&many, i ? ",(?,?,?,?,?,?,?,?,?)" :
			    "(?,?,?,?,?,?,?,?,?)");
		im->st_rel_many = store_prepare(s, buf_cstr(&many), e);
		buf_release(&many);
		if (im->st_rel_many == NULL)
			goto fail;
		store_stmt_done(im->st_rel_many);
		im->pend = xcalloc(ACRS_REL_BATCH, sizeof(*im->pend));
	}
	*im_r = im;
	return 0;
fail:
	acrs_store_import_abort(&im);
	return -1;
}

static int
acrs_store_import_patient(struct acrs_import *im, const struct acrs_rec *r,
    int64_t *id_r, struct err *e)
{
	bool delta = im->mode == ACRS_MODE_DELTA;
	struct store_stmt *st = im->st_pat;
	char sex[2] = {r->sex, '\0'};
	int64_t kn = acrs_norm_key_name(r->zip5, r->last, r->first, r->sex);
	int64_t kp = acrs_norm_key_phone(r->phone, r->dob);
	int rc;

	store_bind_int(st, 1, im->submitter);
	store_bind_text_static(st, 2, r->patient_id);
	store_bind_text_static(st, 3, r->id_type);
	store_bind_text_static(st, 4, r->authority);
	store_bind_text_static(st, 5, r->last);
	store_bind_text_static(st, 6, r->first);
	store_bind_text_static(st, 7, r->middle);
	store_bind_text_static(st, 8, r->suffix);
	store_bind_int(st, 9, r->dob);
	store_bind_text_static(st, 10, sex);
	store_bind_text_static(st, 11, r->street);
	store_bind_text_static(st, 12, r->city);
	store_bind_text_static(st, 13, r->state);
	store_bind_text_static(st, 14, r->zip5);
	store_bind_text_static(st, 15, r->phone);
	store_bind_text_static(st, 16, r->ssn4);
	if (kn != 0)
		store_bind_int(st, 17, kn);
	else
		store_bind_null(st, 17);
	if (kp != 0)
		store_bind_int(st, 18, kp);
	else
		store_bind_null(st, 18);
	rc = store_step(st, e);
	if (rc == 1 && delta)
		*id_r = store_col_int(st, 0);
	else if (rc == 0 && !delta)
		*id_r = store_last_rowid(im->s);
	else if (rc != -1)
		rc = err_set(e, ERR_INTERNAL, "acrs: patient insert gave no "
		    "row id");
	if (delta && rc == 1) {
		rc = store_step(st, e); /* finish the RETURNING statement */
		if (rc == 1)
			rc = 0;
	}
	store_stmt_done(st);
	return rc == -1 ? -1 : 0;
}

/* Writes the pending relationships: a full batch with the statement of
 * many rows, a partial one row by row. */
static int
acrs_store_import_flush(struct acrs_import *im, struct err *e)
{
	bool many = im->n_pend == ACRS_REL_BATCH;
	struct store_stmt *st = many ? im->st_rel_many : im->st_rel;
	int rc = 0;

	for (size_t i = 0; i < im->n_pend && rc != -1; i++) {
		const struct acrs_pending_rel *p = &im->pend[i];
		int b = many ? (int)i * 9 : 0;

		store_bind_int(st, b + 1, p->patient);
		store_bind_text_static(st, b + 2, p->npi);
		store_bind_text_static(st, b + 3, acrs_file_rel_name(p->rel));
		store_bind_text_static(st, b + 4, p->provider_name);
		store_bind_text_static(st, b + 5, p->organization);
		acrs_store_bind_date(st, b + 6, p->last_seen);
		acrs_store_bind_date(st, b + 7, p->start_date);
		acrs_store_bind_date(st, b + 8, p->end_date);
		store_bind_int(st, b + 9, p->restricted ? 1 : 0);
		if (!many) {
			rc = store_step(st, e);
			store_stmt_done(st);
		}
	}
	if (many && rc != -1) {
		rc = store_step(st, e);
		store_stmt_done(st);
	}
	im->n_pend = 0;
	return rc == -1 ? -1 : 0;
}

int
acrs_store_import_add(struct acrs_import *im, const struct acrs_rec *r,
    struct err *e)
{
	struct store_stmt *st;
	int64_t pid = 0;
	int rc;

	if (r->patient_ord >= im->pat_cap) {
		size_t cap = im->pat_cap ? im->pat_cap * 2 : 1024;

		while (cap <= r->patient_ord)
			cap *= 2;
		im->pat_ids = xreallocarray(im->pat_ids, cap,
		    sizeof(*im->pat_ids));
		im->pat_cap = cap;
	}
	if (r->patient_new) {
		if (acrs_store_import_patient(im, r, &pid, e) == -1)
			return -1;
		im->pat_ids[r->patient_ord] = pid;
	} else {
		pid = im->pat_ids[r->patient_ord];
	}
	if (im->pend != NULL) {
		struct acrs_pending_rel *p = &im->pend[im->n_pend++];

		p->patient = pid;
		memcpy(p->npi, r->npi, sizeof(p->npi));
		p->rel = r->rel;
		str_lcpy(p->provider_name, r->provider_name,
		    sizeof(p->provider_name));
		str_lcpy(p->organization, r->organization,
		    sizeof(p->organization));
		p->last_seen = r->last_seen;
		p->start_date = r->start_date;
		p->end_date = r->end_date;
		p->restricted = r->restricted;
		im->rows++;
		if (im->n_pend == ACRS_REL_BATCH)
			return acrs_store_import_flush(im, e);
		return 0;
	}
	st = im->st_rel;
	store_bind_int(st, 1, pid);
	store_bind_text_static(st, 2, r->npi);
	store_bind_text_static(st, 3, acrs_file_rel_name(r->rel));
	store_bind_text_static(st, 4, r->provider_name);
	store_bind_text_static(st, 5, r->organization);
	acrs_store_bind_date(st, 6, r->last_seen);
	acrs_store_bind_date(st, 7, r->start_date);
	acrs_store_bind_date(st, 8, r->end_date);
	store_bind_int(st, 9, r->restricted ? 1 : 0);
	rc = store_step(st, e);
	store_stmt_done(st);
	if (rc == -1)
		return -1;
	im->rows++;
	return 0;
}

static void
acrs_store_import_free(struct acrs_import **imp)
{
	struct acrs_import *im = *imp;

	if (im == NULL)
		return;
	*imp = NULL;
	acrs_store_import_settle(im->s, im->cache_was);
	free(im->pat_ids);
	free(im->pend);
	free(im->submitter_name);
	free(im);
}

void
acrs_store_import_abort(struct acrs_import **imp)
{
	if (*imp == NULL)
		return;
	store_rollback((*imp)->s);
	acrs_store_import_free(imp);
}

int
acrs_store_import_commit(struct acrs_import **imp,
    const struct acrs_file_stats *fs, struct err *e)
{
	struct acrs_import *im = *imp;
	struct store *s = im->s;
	int64_t pats = 0, rels = 0;

	if (im->n_pend > 0 && acrs_store_import_flush(im, e) == -1)
		goto fail;
	if (im->bulk) {
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		/* SQLite sorts an index's keys in runs of at most the
		 * page cache's size: small runs fit the CPU caches and are
		 * sorted by helper threads (on files in the temporary
		 * directory, unlinked) while this one scans, then merged; one
		 * run as large as the import's cache is sorted on this
		 * thread alone, at 2 to 3 times the cost. */
		if (store_exec(s, "PRAGMA threads=2", e) == -1 ||
		    store_exec(s, "PRAGMA temp_store=FILE", e) == -1 ||
		    store_exec(s, "PRAGMA cache_size=-" ACRS_STORE_SORT_KIB,
		    e) == -1)
			goto fail;
		for (size_t i = 0; i < ACRS_STORE_NIDX; i++) {
			struct timespec a, b, ca, cb;

			clock_gettime(CLOCK_MONOTONIC, &a);
			clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
			if (store_exec(s, acrs_store_indexes[i].create, e) ==
			    -1)
				goto fail;
			clock_gettime(CLOCK_MONOTONIC, &b);
			clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
			log_debug("acrs", "import index=%s seconds=%.2f "
			    "cpu_seconds=%.2f", acrs_store_indexes[i].name,
			    (double)(b.tv_sec - a.tv_sec) +
			    (double)(b.tv_nsec - a.tv_nsec) / 1e9,
			    (double)(cb.tv_sec - ca.tv_sec) +
			    (double)(cb.tv_nsec - ca.tv_nsec) / 1e9);
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		log_info("acrs", "import indexes=%zu rebuilt seconds=%.2f",
		    ACRS_STORE_NIDX, (double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
	if (im->mode == ACRS_MODE_REPLACE) {
		pats = (int64_t)fs->patients;
		rels = (int64_t)im->rows;
	} else if (store_query_int(s, &pats, e, "SELECT count(*) FROM "
	    "acrs_patient WHERE submitter = ?", "I", im->submitter) != 1 ||
	    store_query_int(s, &rels, e, "SELECT count(*) FROM acrs_rel "
	    "WHERE patient IN (SELECT id FROM acrs_patient WHERE "
	    "submitter = ?)", "I", im->submitter) != 1) {
		goto fail;
	}
	if (store_run(s, e, "UPDATE acrs_submitter SET imported = ?, "
	    "mode = ?, patients = ?, relationships = ?, bad_rows = ? "
	    "WHERE id = ?", "IsIIII", (int64_t)time(NULL),
	    im->mode == ACRS_MODE_DELTA ? "delta" : "replace", pats, rels,
	    (int64_t)fs->bad, im->submitter) == -1)
		goto fail;
	{
		struct timespec t0, t1;
		int rc;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = store_commit(s, e);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		log_info("acrs", "import commit=%s seconds=%.2f",
		    rc == 0 ? "ok" : "failed", (double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		acrs_store_import_free(imp);
		return rc;
	}
fail:
	acrs_store_import_abort(imp);
	return -1;
}

/* Lookups. */

static void
acrs_store_push(int64_t **ids_r, size_t *n_r, int64_t id)
{
	for (size_t i = 0; i < *n_r; i++)
		if ((*ids_r)[i] == id)
			return;
	if (*n_r == 0 || (*n_r >= 8 && (*n_r & (*n_r - 1)) == 0))
		*ids_r = xreallocarray(*ids_r, *n_r ? *n_r * 2 : 8,
		    sizeof(**ids_r));
	(*ids_r)[(*n_r)++] = id;
}

static int
acrs_store_ids(struct store *s, const char *sql, const char *a,
    const char *b, int64_t key, int max, int64_t **ids_r, size_t *n_r,
    struct err *e)
{
	struct store_stmt *st = store_prepare(s, sql, e);
	int rc, got = 0;

	if (st == NULL)
		return -1;
	if (a != NULL) {
		store_bind_text(st, 1, a);
		if (b != NULL)
			store_bind_text(st, 2, b);
	} else {
		store_bind_int(st, 1, key);
		store_bind_int(st, 2, max);
	}
	while ((rc = store_step(st, e)) == 1 && (max <= 0 || got++ < max))
		acrs_store_push(ids_r, n_r, store_col_int(st, 0));
	store_stmt_done(st);
	return rc == -1 ? -1 : 0;
}

int
acrs_store_by_ident(struct store *s, const char *ident,
    const char *authority, int64_t **ids_r, size_t *n_r, struct err *e)
{
	if (ident == NULL || ident[0] == '\0' || authority == NULL ||
	    authority[0] == '\0')
		return 0;
	if (acrs_store_ids(s, "SELECT id FROM acrs_patient WHERE "
	    "patient_id = ? AND authority = ?", ident, authority, 0, 0,
	    ids_r, n_r, e) == -1)
		return -1;
	return acrs_store_ids(s, "SELECT p.id FROM acrs_link l JOIN "
	    "acrs_submitter s ON s.name = l.submitter JOIN acrs_patient p ON "
	    "p.submitter = s.id AND p.patient_id = l.patient_id WHERE "
	    "l.authority = ? AND l.ident = ?", authority, ident, 0, 0, ids_r,
	    n_r, e);
}

int
acrs_store_by_member(struct store *s, const char *member_id,
    const char *payer, int64_t **ids_r, size_t *n_r, struct err *e)
{
	if (member_id == NULL || member_id[0] == '\0' || payer == NULL ||
	    payer[0] == '\0')
		return 0;
	return acrs_store_ids(s, "SELECT p.id FROM acrs_patient p JOIN "
	    "acrs_submitter s ON s.id = p.submitter WHERE p.patient_id = ?1 "
	    "AND p.id_type = 'MB' AND (p.authority = upper(?2) OR "
	    "(p.authority = '' AND s.name = ?2))", member_id, payer, 0, 0,
	    ids_r, n_r, e);
}

int
acrs_store_by_key(struct store *s, int which, int64_t key, int max,
    int64_t **ids_r, size_t *n_r, struct err *e)
{
	static const char *const sql[] = {
		"SELECT id FROM acrs_patient WHERE dob = ? LIMIT ?",
		"SELECT id FROM acrs_patient WHERE k_name = ? LIMIT ?",
		("SELECT id FROM acrs_patient WHERE k_phone = ?1 AND dob = "
		 "(?1 - 1) % 100000000 LIMIT ?2"),
	};

	if (key == 0 || which < 0 || which > 2)
		return 0;
	return acrs_store_ids(s, sql[which], NULL, NULL, key, max, ids_r,
	    n_r, e);
}

#define SQL_CAND_COLS "p.id, s.name, p.patient_id, p.id_type, p.authority, " \
	"p.last, p.first, p.middle, p.suffix, p.dob, p.sex, p.street, " \
	"p.city, p.state, p.zip5, p.phone, p.ssn4 FROM acrs_patient p JOIN " \
	"acrs_submitter s ON s.id = p.submitter "

static void
acrs_store_read_cand(struct store_stmt *st, struct acrs_cand *c)
{
	const char *sex;

	c->id = store_col_int(st, 0);
	store_col_copy(st, 1, c->submitter, sizeof(c->submitter));
	store_col_copy(st, 2, c->patient_id, sizeof(c->patient_id));
	store_col_copy(st, 3, c->id_type, sizeof(c->id_type));
	store_col_copy(st, 4, c->authority, sizeof(c->authority));
	store_col_copy(st, 5, c->last, sizeof(c->last));
	store_col_copy(st, 6, c->first, sizeof(c->first));
	store_col_copy(st, 7, c->middle, sizeof(c->middle));
	store_col_copy(st, 8, c->suffix, sizeof(c->suffix));
	c->dob = (int32_t)store_col_int(st, 9);
	sex = store_col_text(st, 10);
	c->sex = sex != NULL && sex[0] != '\0' ? sex[0] : 'U';
	store_col_copy(st, 11, c->street, sizeof(c->street));
	store_col_copy(st, 12, c->city, sizeof(c->city));
	store_col_copy(st, 13, c->state, sizeof(c->state));
	store_col_copy(st, 14, c->zip5, sizeof(c->zip5));
	store_col_copy(st, 15, c->phone, sizeof(c->phone));
	store_col_copy(st, 16, c->ssn4, sizeof(c->ssn4));
}

int
acrs_store_submitter_of(struct store *s, int64_t id, char *name,
    size_t size, struct err *e)
{
	struct store_stmt *st = store_prepare(s, "SELECT s.name FROM "
	    "acrs_patient p JOIN acrs_submitter s ON s.id = p.submitter "
	    "WHERE p.id = ?", e);
	int rc;

	if (st == NULL)
		return -1;
	store_bind_int(st, 1, id);
	rc = store_step(st, e);
	if (rc == 1)
		store_col_copy(st, 0, name, size);
	store_stmt_done(st);
	return rc;
}

int
acrs_store_submitter_count(struct store *s, int64_t *n_r, struct err *e)
{
	return store_query_int(s, n_r, e, "SELECT count(*) FROM "
	    "acrs_submitter WHERE patients > 0", "") == 1 ? 0 : -1;
}

int
acrs_store_cand(struct store *s, int64_t id, struct acrs_cand *c,
    struct err *e)
{
	struct store_stmt *st = store_prepare(s, "SELECT " SQL_CAND_COLS
	    "WHERE p.id = ?", e);
	int rc;

	if (st == NULL)
		return -1;
	store_bind_int(st, 1, id);
	rc = store_step(st, e);
	if (rc == 1)
		acrs_store_read_cand(st, c);
	store_stmt_done(st);
	return rc;
}

int
acrs_store_block(struct store *s, int which, int64_t key, int max,
    acrs_store_keep_fn *keep, void *arg, struct acrs_cand **c_r, size_t *n_r,
    size_t *cap_r, struct err *e)
{
	static const char *const sql[] = {
		"SELECT " SQL_CAND_COLS "WHERE p.dob = ? LIMIT ?",
		"SELECT " SQL_CAND_COLS "WHERE p.k_name = ? LIMIT ?",
		"SELECT " SQL_CAND_COLS "WHERE p.k_phone = ?1 AND p.dob = "
		"(?1 - 1) % 100000000 LIMIT ?2",
	};
	struct store_stmt *st;
	size_t first = 0;
	int rc;

	if (key == 0 || which < 0 || which > 2)
		return 0;
	if ((st = store_prepare(s, sql[which], e)) == NULL)
		return -1;
	store_bind_int(st, 1, key);
	store_bind_int(st, 2, max);
	first = *n_r;
	while ((rc = store_step(st, e)) == 1) {
		int64_t id = store_col_int(st, 0);
		bool seen = false;

		/* Earlier keys' candidates (this key's rows are distinct). */
		for (size_t i = 0; i < first && !seen; i++)
			seen = (*c_r)[i].id == id;
		if (seen)
			continue;
		if (keep != NULL) {
			const char *ln = store_col_text(st, 5);
			const char *fn = store_col_text(st, 6);

			if (!keep(arg, ln != NULL ? ln : "",
			    fn != NULL ? fn : ""))
				continue;
		}
		if (*n_r == *cap_r) {
			*cap_r = *cap_r ? *cap_r * 2 : 64;
			*c_r = xreallocarray(*c_r, *cap_r, sizeof(**c_r));
		}
		acrs_store_read_cand(st, &(*c_r)[(*n_r)++]);
	}
	store_stmt_done(st);
	return rc == -1 ? -1 : 0;
}

int
acrs_store_team(struct store *s, int64_t id, int32_t today,
    int lookback_months, bool all, struct acrs_member **m_r, size_t *n_r,
    struct err *e)
{
	struct store_stmt *st = store_prepare(s, "SELECT r.npi, "
	    "r.relationship, r.provider_name, r.organization, r.last_seen, "
	    "r.start_date, r.end_date, r.restricted, s.name, p.patient_id, "
	    "p.id_type FROM acrs_rel r JOIN acrs_patient p ON p.id = r.patient "
	    "JOIN acrs_submitter s ON s.id = p.submitter WHERE r.patient = ?",
	    e);
	int32_t cutoff = acrs_norm_add_months(today, -lookback_months);
	int rc;

	if (st == NULL)
		return -1;
	store_bind_int(st, 1, id);
	while ((rc = store_step(st, e)) == 1) {
		struct acrs_member m;
		const char *rel = store_col_text(st, 1);

		memset(&m, 0, sizeof(m));
		m.patient = id;
		store_col_copy(st, 0, m.npi, sizeof(m.npi));
		m.rel = acrs_file_rel_parse(rel != NULL ? rel : "");
		store_col_copy(st, 2, m.provider_name, sizeof(m.provider_name));
		store_col_copy(st, 3, m.organization, sizeof(m.organization));
		m.last_seen = (int32_t)store_col_int(st, 4);
		m.start_date = (int32_t)store_col_int(st, 5);
		m.end_date = (int32_t)store_col_int(st, 6);
		m.restricted = store_col_int(st, 7) != 0;
		store_col_copy(st, 8, m.submitter, sizeof(m.submitter));
		store_col_copy(st, 9, m.patient_id, sizeof(m.patient_id));
		store_col_copy(st, 10, m.id_type, sizeof(m.id_type));
		m.active = acrs_store_active(m.rel, m.last_seen, m.start_date,
		    m.end_date, today, cutoff);
		if (!m.active && !all)
			continue;
		if (*n_r == 0 || (*n_r >= 4 && (*n_r & (*n_r - 1)) == 0))
			*m_r = xreallocarray(*m_r, *n_r ? *n_r * 2 : 4,
			    sizeof(**m_r));
		(*m_r)[(*n_r)++] = m;
	}
	store_stmt_done(st);
	return rc == -1 ? -1 : 0;
}

int
acrs_store_stats(struct store *s, int32_t today, int lookback_months,
    struct acrs_store_stats *st, struct err *e)
{
	int32_t cutoff = acrs_norm_add_months(today, -lookback_months);

	memset(st, 0, sizeof(*st));
	if (store_query_int(s, &st->submitters, e, "SELECT count(*) FROM "
	    "acrs_submitter", "") != 1 ||
	    store_query_int(s, &st->patients, e, "SELECT count(*) FROM "
	    "acrs_patient", "") != 1 ||
	    store_query_int(s, &st->relationships, e, "SELECT count(*) FROM "
	    "acrs_rel", "") != 1 ||
	    store_query_int(s, &st->active, e, "SELECT count(*) FROM acrs_rel "
	    "WHERE (end_date IS NULL OR end_date > ?1) AND (start_date IS "
	    "NULL OR start_date <= ?1) AND (relationship = 'payer' OR "
	    "last_seen >= ?2 OR (end_date IS NULL AND start_date IS NOT "
	    "NULL))", "ii", today, cutoff) != 1 ||
	    store_query_int(s, &st->restricted, e, "SELECT count(*) FROM "
	    "acrs_rel WHERE restricted != 0", "") != 1 ||
	    store_query_int(s, &st->review_pending, e, "SELECT count(*) FROM "
	    "acrs_review WHERE state = 'pending'", "") != 1 ||
	    store_query_int(s, &st->links, e, "SELECT count(*) FROM "
	    "acrs_link", "") != 1)
		return -1;
	return 0;
}

int
acrs_store_submitters(struct store *s, acrs_store_sub_fn *fn, void *arg,
    struct err *e)
{
	struct store_stmt *st = store_prepare(s, "SELECT name, imported, "
	    "mode, patients, relationships, bad_rows FROM acrs_submitter "
	    "ORDER BY name", e);
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = store_step(st, e)) == 1) {
		struct acrs_store_sub sub;
		const char *mode = store_col_text(st, 2);

		sub.name = store_col_text(st, 0);
		sub.imported = store_col_int(st, 1);
		sub.mode = mode != NULL ? mode : "";
		sub.patients = store_col_int(st, 3);
		sub.relationships = store_col_int(st, 4);
		sub.bad_rows = store_col_int(st, 5);
		fn(arg, &sub);
	}
	store_stmt_done(st);
	return rc == -1 ? -1 : 0;
}

int
acrs_store_review_add(struct store *s, const char *event_ref,
    const char *ident, const char *authority, int64_t patient, double score,
    int64_t *review_id_r, struct err *e)
{
	struct store_stmt *st;
	int rc;

	st = store_prepare(s, "INSERT INTO acrs_review (event_ref, ident, "
	    "authority, submitter, patient_id, score) SELECT ?, ?, ?, s.name, "
	    "p.patient_id, ? FROM acrs_patient p JOIN acrs_submitter s ON "
	    "s.id = p.submitter WHERE p.id = ?", e);
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, event_ref);
	store_bind_text(st, 2, ident);
	store_bind_text(st, 3, authority);
	store_bind_int(st, 5, patient);
	{
		/* REAL through text keeps core/store.h unchanged. */
		char v[32];

		str_fmt(v, sizeof(v), "%.2f", score);
		store_bind_text(st, 4, v);
	}
	rc = store_step(st, e);
	store_stmt_done(st);
	if (rc == -1)
		return -1;
	if (store_changes(s) == 0)
		return err_set(e, ERR_PERM, "acrs: no patient %lld",
		    (long long)patient);
	if (review_id_r != NULL)
		*review_id_r = store_last_rowid(s);
	return 0;
}

int
acrs_store_review_list(struct store *s, const char *state,
    acrs_review_fn *fn, void *arg, struct err *e)
{
	struct store_stmt *st = store_prepare(s, "SELECT id, created, "
	    "event_ref, ident, authority, submitter, patient_id, state, "
	    "CAST(score AS TEXT) FROM acrs_review WHERE ?1 IS NULL OR "
	    "state = ?1 ORDER BY id", e);
	int rc;

	if (st == NULL)
		return -1;
	store_bindv(st, "s", state);
	while ((rc = store_step(st, e)) == 1) {
		struct acrs_review_item it;
		const char *sc = store_col_text(st, 8);

		it.id = store_col_int(st, 0);
		it.created = store_col_int(st, 1);
		it.event_ref = store_col_text(st, 2);
		it.ident = store_col_text(st, 3);
		it.authority = store_col_text(st, 4);
		it.submitter = store_col_text(st, 5);
		it.patient_id = store_col_text(st, 6);
		it.state = store_col_text(st, 7);
		it.score = sc != NULL ? strtod(sc, NULL) : 0.0;
		fn(arg, &it);
	}
	store_stmt_done(st);
	return rc == -1 ? -1 : 0;
}

int
acrs_store_review_decide(struct store *s, int64_t id, bool accept,
    struct err *e)
{
	if (store_begin(s, e) == -1)
		return -1;
	if (store_run(s, e, "UPDATE acrs_review SET state = ?, decided = "
	    "strftime('%s','now') WHERE id = ? AND state = 'pending'", "sI",
	    accept ? "accepted" : "rejected", id) == -1)
		goto fail;
	if (store_changes(s) == 0) {
		store_rollback(s);
		return err_set(e, ERR_PERM, "no pending review item %lld",
		    (long long)id);
	}
	if (accept && store_run(s, e, "INSERT OR IGNORE INTO acrs_link "
	    "(authority, ident, submitter, patient_id) SELECT authority, "
	    "ident, submitter, patient_id FROM acrs_review WHERE id = ? AND "
	    "ident IS NOT NULL AND ident != '' AND authority IS NOT NULL AND "
	    "authority != ''", "I", id) == -1)
		goto fail;
	if (store_commit(s, e) == -1)
		return -1;
	log_info("acrs", "review=%lld decision=%s", (long long)id,
	    accept ? "accepted" : "rejected");
	return 0;
fail:
	store_rollback(s);
	return -1;
}
