#include "hisp/queue.h"

#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <uv.h>

#include "certs/domain.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "hisp/dsn.h"
#include "hisp/header.h"
#include "hisp/track.h"

static const char *const direction_names[] = {"in", "out", "local"};

const char *
queue_direction_name(enum queue_direction d)
{
	return (unsigned)d < 3 ? direction_names[d] : "unknown";
}

int
queue_direction_parse(const char *s, enum queue_direction *d_r)
{
	for (int i = 0; i < 3; i++) {
		if (strcmp(s, direction_names[i]) == 0) {
			*d_r = (enum queue_direction)i;
			return 0;
		}
	}
	return -1;
}

const char *
queue_outcome_name(enum queue_outcome o)
{
	switch (o) {
	case QUEUE_PENDING:
		return "pending";
	case QUEUE_DELIVERED:
		return "delivered";
	case QUEUE_SENT:
		return "sent";
	case QUEUE_DEFERRED:
		return "deferred";
	case QUEUE_FAILED:
		return "failed";
	}
	return "unknown";
}

void
queue_id_new(char id_r[QUEUE_ID_LEN + 1])
{
	uint8_t r[QUEUE_ID_LEN / 2];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		abort();
	str_hex(id_r, r, sizeof(r));
	for (char *p = id_r; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
}

/* Queue ids sort by time, like Postfix's long queue ids: 44 bits of
 * milliseconds since 2020, then 20 bits of a counter that starts at a
 * random value in each process. Rows keyed by them go to the end of their
 * indexes (random keys would dirty a random page of each per message and
 * commit). Two processes meet only in the same millisecond at the same
 * counter value: queue_insert() then takes another. */
#define QUEUE_ID_EPOCH_MS INT64_C(1577836800000)

static atomic_uint_fast32_t queue_id_seq;
static pthread_once_t queue_id_once = PTHREAD_ONCE_INIT;

static void
queue_id_seed(void)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		abort();
	atomic_store(&queue_id_seq, r);
}

void
queue_id_next(char id_r[QUEUE_ID_LEN + 1])
{
	uint64_t ms, v;

	pthread_once(&queue_id_once, queue_id_seed);
	ms = (uint64_t)(clock_wall_ms() - QUEUE_ID_EPOCH_MS);
	v = (ms << 20) | (atomic_fetch_add(&queue_id_seq, 1) & 0xfffffu);
	str_fmt(id_r, QUEUE_ID_LEN + 1, "%016" PRIX64, v);
}

char *
queue_message_id(const void *body, size_t len)
{
	/* Unfolded: a long id is often written on the next line. */
	return header_message_id(body, len);
}

void
queue_rcpt_set(struct queue_rcpt_result *res, enum queue_outcome o,
    const char *status, const char *relay, const char *fmt, ...)
{
	va_list ap;

	res->outcome = o;
	str_lcpy(res->status, status, sizeof(res->status));
	free(res->relay);
	res->relay = xstrdup(relay);
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
}

int64_t
queue_backoff_s(int attempts, int64_t min_s, int64_t max_s)
{
	int64_t d = min_s > 0 ? min_s : 1;
	uint32_t r;

	for (int i = 1; i < attempts && d < max_s; i++)
		d *= 2;
	if (d > max_s)
		d = max_s;
	/* Up to 10% jitter so that a burst of failures spreads out. */
	if (d >= 10 && getrandom(&r, sizeof(r), 0) == (ssize_t)sizeof(r))
		d -= (int64_t)(r % (uint32_t)(d / 10 + 1));
	return d;
}

static int
queue_insert_with(struct store *s, const struct queue_envelope *env,
    const void *body, size_t len, int64_t expires_s, bool drawn,
    char id_r[QUEUE_ID_LEN + 1], struct err *e)
{
	int64_t now = (int64_t)time(NULL);
	char *mid = NULL;
	int rc, tries = 0;

	if (env->message_id == NULL)
		mid = queue_message_id(body, len);
	if (!drawn)
		queue_id_next(id_r);
	for (;;) {
		rc = store_run(s, e,
		    "INSERT INTO queue_msg (id, direction, mail_from,"
		    " message_id, size, body, auth_user, client, flags,"
		    " received, expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
		    " ?8, ?9, ?10, ?11) ON CONFLICT (id) DO NOTHING",
		    "ssssIbssiII", id_r, queue_direction_name(env->direction),
		    env->mail_from, env->message_id != NULL ? env->message_id :
		    mid, (int64_t)len, body, len, env->auth_user, env->client,
		    (int)env->flags, now, now + expires_s);
		if (rc != 0 || store_changes(s) > 0)
			break;
		if (++tries == 4) {
			rc = err_set(e, ERR_TEMP, "queue: no free queue id");
			break;
		}
		queue_id_next(id_r); /* another process took this id */
	}
	free(mid);
	if (rc != 0)
		return -1;
	for (size_t i = 0; i < env->nrcpt; i++) {
		const char *dom = strrchr(env->rcpts[i], '@');

		if (store_run(s, e,
		    "INSERT OR IGNORE INTO queue_rcpt (msg, rcpt, domain,"
		    " next_try, updated) VALUES (?1, lower(?2), lower(?3),"
		    " ?4, ?4)", "sssI", id_r, env->rcpts[i],
		    dom != NULL ? dom + 1 : "", now) != 0)
			return -1;
	}
	return 0;
}

int
queue_insert(struct store *s, const struct queue_envelope *env,
    const void *body, size_t len, int64_t expires_s,
    char id_r[QUEUE_ID_LEN + 1], struct err *e)
{
	return queue_insert_with(s, env, body, len, expires_s, false, id_r, e);
}

int
queue_insert_as(struct store *s, const struct queue_envelope *env,
    const void *body, size_t len, int64_t expires_s,
    char id_io[QUEUE_ID_LEN + 1], struct err *e)
{
	return queue_insert_with(s, env, body, len, expires_s, true, id_io, e);
}

/* A submission: a copy of everything, for the writer thread. */
struct queue_job {
	struct queue_envelope env;
	char **rcpts;
	uint8_t *body;
	size_t len;
	int64_t expires_s;
	char id[QUEUE_ID_LEN + 1];
	queue_done_fn *done;
	void *arg;
};

static int
queue_job_write(struct store *s, void *arg, struct err *e)
{
	struct queue_job *j = arg;

	return queue_insert(s, &j->env, j->body, j->len, j->expires_s, j->id,
	    e);
}

static void
queue_job_done(void *arg, int status, const struct err *e)
{
	struct queue_job *j = arg;

	j->done(j->arg, status, status == 0 ? j->id : NULL, e);
	for (size_t i = 0; i < j->env.nrcpt; i++)
		free(j->rcpts[i]);
	free(j->rcpts);
	free((char *)j->env.mail_from);
	free((char *)j->env.auth_user);
	free((char *)j->env.client);
	free((char *)j->env.message_id);
	free(j->body);
	free(j);
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

void
queue_submit(struct store_writer *w, const struct queue_envelope *env,
    const void *body, size_t len, int64_t expires_s, queue_done_fn *done,
    void *arg)
{
	struct queue_job *j = xcalloc(1, sizeof(*j));

	j->env = *env;
	j->env.mail_from = xstrdup(env->mail_from);
	j->env.auth_user = dup_or_null(env->auth_user);
	j->env.client = dup_or_null(env->client);
	j->env.message_id = dup_or_null(env->message_id);
	j->rcpts = xcalloc(env->nrcpt + 1, sizeof(*j->rcpts));
	for (size_t i = 0; i < env->nrcpt; i++)
		j->rcpts[i] = xstrdup(env->rcpts[i]);
	j->env.rcpts = (const char *const *)j->rcpts;
	j->body = xmemdup(body, len);
	j->len = len;
	j->expires_s = expires_s;
	j->done = done;
	j->arg = arg;
	store_writer_submit(w, queue_job_write, queue_job_done, j);
}

/* The runner. */

struct queue_runner {
	struct loop *loop;
	struct store_writer *writer;
	struct queue_runner_opts o;
	char *db_path;
	char *hostname;
	uv_timer_t timer;
	bool started, stopping, scanning, rescan;
	/* The last scan found as many due tasks as it asked for: more are
	 * waiting, scan again as room frees up (not only at scan_ms). */
	bool backlog;
	unsigned in_flight;
	struct {
		queue_handler_fn *fn;
		void *ctx;
	} handlers[3];
	/* Keys ("id domain") of tasks in flight. */
	char **keys;
	size_t nkeys;
	/* Keys of tasks recorded while a scan ran: the scan may have read
	 * them as still pending, so its results for them are stale. */
	char **done_keys;
	size_t ndone;
};

void
queue_task_add_followup(struct queue_task *t, enum queue_direction d,
    const char *mail_from, const char *rcpt, unsigned flags,
    const void *body, size_t len)
{
	struct queue_followup *f;

	t->followups = xreallocarray(t->followups, t->nfollowups + 1,
	    sizeof(*t->followups));
	f = &t->followups[t->nfollowups++];
	f->direction = d;
	f->mail_from = xstrdup(mail_from);
	f->rcpt = xstrdup(rcpt);
	f->flags = flags;
	buf_init(&f->body, BUF_UNLIMITED);
	buf_append(&f->body, body, len);
}

static void
task_free(struct queue_task *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nfollowups; i++) {
		free(t->followups[i].mail_from);
		free(t->followups[i].rcpt);
		buf_release(&t->followups[i].body);
	}
	free(t->followups);
	for (size_t i = 0; i < t->nrcpt; i++) {
		free(t->rcpts[i].rcpt);
		free(t->rcpts[i].relay);
	}
	free(t->rcpts);
	free(t->mail_from);
	free(t->domain);
	free(t->message_id);
	free(t->auth_user);
	free(t->body);
	free(t);
}

static char *
task_key(const struct queue_task *t)
{
	return xasprintf("%s %s", t->id, t->domain);
}

static bool
runner_key_busy(struct queue_runner *r, const char *key)
{
	for (size_t i = 0; i < r->nkeys; i++)
		if (strcmp(r->keys[i], key) == 0)
			return true;
	return false;
}

static void
runner_key_drop(struct queue_runner *r, const char *key)
{
	/* A scan running now may have read this task before its outcome
	 * was committed: scan_after must not start it again. */
	if (r->scanning) {
		r->done_keys = xreallocarray(r->done_keys, r->ndone + 1,
		    sizeof(*r->done_keys));
		r->done_keys[r->ndone++] = xstrdup(key);
	}
	for (size_t i = 0; i < r->nkeys; i++) {
		if (strcmp(r->keys[i], key) == 0) {
			free(r->keys[i]);
			r->keys[i] = r->keys[--r->nkeys];
			return;
		}
	}
}

static bool
runner_key_done_during_scan(const struct queue_runner *r, const char *key)
{
	for (size_t i = 0; i < r->ndone; i++)
		if (strcmp(r->done_keys[i], key) == 0)
			return true;
	return false;
}

static void
runner_done_keys_clear(struct queue_runner *r)
{
	for (size_t i = 0; i < r->ndone; i++)
		free(r->done_keys[i]);
	free(r->done_keys);
	r->done_keys = NULL;
	r->ndone = 0;
}

/* Each worker thread keeps its own read connection. */
static __thread struct store *tl_store;
static __thread char *tl_path;

struct store *
queue_thread_store(const char *path, struct err *e)
{
	if (tl_store != NULL && strcmp(tl_path, path) != 0) {
		store_free(&tl_store);
		free(tl_path);
		tl_path = NULL;
	}
	if (tl_store == NULL) {
		if (store_open(path, STORE_READONLY, &tl_store, e) != 0)
			return NULL;
		tl_path = xstrdup(path);
	}
	return tl_store;
}

struct scan {
	struct queue_runner *r;
	char *db_path;
	unsigned limit;
	char **busy;     /* keys in flight when the scan started: no body */
	size_t nbusy;
	int64_t now;
	struct queue_task **tasks;
	size_t ntasks;
	struct err err;
	int status;
};

static int
scan_load_task(struct store *s, struct queue_task *t, int64_t now,
    struct err *e)
{
	struct store_stmt *st;
	const void *p;
	size_t n;
	int rc;

	st = store_prepare(s, "SELECT rcpt FROM queue_rcpt WHERE msg = ?1"
	    " AND domain = ?2 AND state = 'pending' AND next_try <= ?3"
	    " ORDER BY rcpt", e);
	if (st == NULL)
		return -1;
	store_bindv(st, "ssI", t->id, t->domain, now);
	while ((rc = store_step(st, e)) == 1) {
		t->rcpts = xreallocarray(t->rcpts, t->nrcpt + 1,
		    sizeof(*t->rcpts));
		memset(&t->rcpts[t->nrcpt], 0, sizeof(*t->rcpts));
		t->rcpts[t->nrcpt++].rcpt = xstrdup(store_col_text(st, 0));
	}
	store_stmt_done(st);
	if (rc < 0)
		return -1;
	st = store_prepare(s, "SELECT body FROM queue_msg WHERE id = ?1", e);
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, t->id);
	rc = store_step(st, e);
	if (rc == 1) {
		p = store_col_blob(st, 0, &n);
		t->body = xmemdup(p != NULL ? p : "", n);
		t->len = n;
	}
	store_stmt_done(st);
	return rc == 1 ? 0 : -1;
}

static void
scan_work(void *arg)
{
	struct scan *sc = arg;
	struct store_stmt *st;
	struct store *s;
	int rc;

	sc->status = -1;
	if ((s = queue_thread_store(sc->db_path, &sc->err)) == NULL)
		return;
	if (store_exec(s, "BEGIN", &sc->err) != 0)
		return;
	st = store_prepare(s,
	    "SELECT r.msg, r.domain, m.direction, m.flags, m.mail_from,"
	    " m.message_id, m.auth_user, m.received, m.expires,"
	    " max(r.attempts)"
	    " FROM queue_rcpt r JOIN queue_msg m ON m.id = r.msg"
	    " WHERE r.state = 'pending' AND r.next_try <= ?1"
	    " GROUP BY r.msg, r.domain ORDER BY min(r.next_try) LIMIT ?2",
	    &sc->err);
	if (st == NULL)
		goto out;
	store_bindv(st, "Ii", sc->now, (int)sc->limit);
	while ((rc = store_step(st, &sc->err)) == 1) {
		struct queue_task *t = xcalloc(1, sizeof(*t));
		enum queue_direction d;

		str_lcpy(t->id, store_col_text(st, 0), sizeof(t->id));
		t->domain = xstrdup(store_col_text(st, 1));
		if (queue_direction_parse(store_col_text(st, 2), &d) != 0)
			d = QUEUE_LOCAL;
		t->direction = d;
		t->flags = (unsigned)store_col_int(st, 3);
		t->mail_from = xstrdup(store_col_text(st, 4));
		t->message_id = dup_or_null(store_col_text(st, 5));
		t->auth_user = dup_or_null(store_col_text(st, 6));
		t->received = store_col_int(st, 7);
		t->expires = store_col_int(st, 8);
		t->attempts = (int)store_col_int(st, 9);
		sc->tasks = xreallocarray(sc->tasks, sc->ntasks + 1,
		    sizeof(*sc->tasks));
		sc->tasks[sc->ntasks++] = t;
	}
	store_stmt_done(st);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < sc->ntasks; i++) {
		char *key = task_key(sc->tasks[i]);
		bool busy = false;

		/* A task in flight is dropped by scan_after: skip its body. */
		for (size_t j = 0; j < sc->nbusy && !busy; j++)
			busy = strcmp(sc->busy[j], key) == 0;
		free(key);
		if (!busy && scan_load_task(s, sc->tasks[i], sc->now,
		    &sc->err) != 0)
			goto out;
	}
	sc->status = 0;
out:
	store_rollback(s);
}

static void runner_schedule(struct queue_runner *r, uint64_t ms);
static void runner_task_done(struct queue_runner *r, struct queue_task *t);

static void
scan_after(void *arg, bool cancelled)
{
	struct scan *sc = arg;
	struct queue_runner *r = sc->r;

	r->scanning = false;
	if (sc->status != 0 && !cancelled)
		log_error(NULL, "event=queue_scan_failed reason=\"%s\"",
		    sc->err.msg);
	r->backlog = sc->status == 0 && sc->ntasks >= sc->limit;
	for (size_t i = 0; i < sc->ntasks; i++) {
		struct queue_task *t = sc->tasks[i];
		char *key = task_key(t);

		if (sc->status != 0 || cancelled || r->stopping ||
		    t->nrcpt == 0 || runner_key_busy(r, key) ||
		    runner_key_done_during_scan(r, key) ||
		    r->handlers[t->direction].fn == NULL) {
			free(key);
			task_free(t);
			continue;
		}
		r->keys = xreallocarray(r->keys, r->nkeys + 1,
		    sizeof(*r->keys));
		r->keys[r->nkeys++] = key;
		r->in_flight++;
		r->handlers[t->direction].fn(r->handlers[t->direction].ctx, r,
		    t, runner_task_done);
	}
	runner_done_keys_clear(r);
	for (size_t i = 0; i < sc->nbusy; i++)
		free(sc->busy[i]);
	free(sc->busy);
	free(sc->tasks);
	free(sc->db_path);
	free(sc);
	if (r->stopping)
		return;
	if (r->rescan) {
		r->rescan = false;
		runner_schedule(r, 0);
	} else {
		runner_schedule(r, (uint64_t)r->o.scan_ms);
	}
}

static void
runner_scan(struct queue_runner *r)
{
	struct scan *sc;
	unsigned room;

	if (r->stopping)
		return;
	if (r->scanning) {
		r->rescan = true;
		return;
	}
	room = r->o.max_tasks > r->in_flight ? r->o.max_tasks - r->in_flight
	    : 0;
	if (room == 0) {
		runner_schedule(r, (uint64_t)r->o.scan_ms);
		return;
	}
	sc = xcalloc(1, sizeof(*sc));
	sc->r = r;
	sc->db_path = xstrdup(r->db_path);
	/* Ask for more than there is room for: some may be in flight. */
	sc->limit = room + (unsigned)r->nkeys;
	sc->busy = xcalloc(r->nkeys + 1, sizeof(*sc->busy));
	for (size_t i = 0; i < r->nkeys; i++)
		sc->busy[sc->nbusy++] = xstrdup(r->keys[i]);
	sc->now = (int64_t)time(NULL);
	r->scanning = true;
	if (loop_work(r->loop, scan_work, scan_after, sc) != 0) {
		r->scanning = false;
		for (size_t i = 0; i < sc->nbusy; i++)
			free(sc->busy[i]);
		free(sc->busy);
		free(sc->db_path);
		free(sc);
	}
}

static void
runner_timer_cb(uv_timer_t *t)
{
	runner_scan(t->data);
}

static void
runner_schedule(struct queue_runner *r, uint64_t ms)
{
	if (!r->stopping)
		uv_timer_start(&r->timer, runner_timer_cb, ms, 0);
}

/* Recording the outcome of a task. */

struct record {
	struct queue_runner *r;
	struct queue_task *t;
	int64_t now;
	int64_t retry_min_s, retry_max_s;
	struct track_opts track;
	const char *hostname;
	bool queued_dsn;
	bool kick; /* follow-ups were queued */
	char dsn_id[QUEUE_ID_LEN + 1];
};

/* Builds and queues a DSN to the sender for the failed recipients. */
static int
record_dsn(struct store *s, struct record *rec, struct err *e)
{
	struct queue_task *t = rec->t;
	struct dsn_rcpt *v = xcalloc(t->nrcpt, sizeof(*v));
	const char *sdom = strrchr(t->mail_from, '@');
	char from[300];
	struct queue_envelope env = {0};
	const char *rcpts[1];
	struct dsn_params p = {0};
	struct buf out;
	size_t n = 0;
	int rc, local;

	for (size_t i = 0; i < t->nrcpt; i++) {
		if (t->rcpts[i].outcome != QUEUE_FAILED)
			continue;
		v[n].rcpt = t->rcpts[i].rcpt;
		v[n].status = t->rcpts[i].status;
		v[n].diagnostic = t->rcpts[i].reason;
		n++;
	}
	/* Never for <> or for a notification (no loops), and not for what
	 * came from another HISP: its sender hears through MDNs. */
	if (n == 0 || t->mail_from[0] == '\0' || t->direction == QUEUE_IN ||
	    (t->flags & QUEUE_F_NOTIFICATION) || sdom == NULL) {
		free(v);
		return 0;
	}
	local = domain_exists(s, sdom + 1, e);
	if (local < 0) {
		free(v);
		return -1;
	}
	/* Reported from the domain of the failed recipient when it is ours,
	 * else from the sender's (a local sender's domain is ours). */
	snprintf(from, sizeof(from), "mailer-daemon@%s",
	    local ? sdom + 1 : t->domain);
	p.reporting_mta = rec->hostname;
	p.from = from;
	p.to = t->mail_from;
	p.orig_message_id = t->message_id;
	p.arrival = t->received;
	p.now = rec->now;
	p.orig = t->body;
	p.orig_len = t->len;
	p.rcpts = v;
	p.nrcpt = n;
	buf_init(&out, 64 * 1024 * 1024);
	dsn_build(&out, &p);
	rcpts[0] = t->mail_from;
	env.direction = local ? QUEUE_LOCAL : QUEUE_OUT;
	env.mail_from = "";
	env.rcpts = rcpts;
	env.nrcpt = 1;
	env.flags = QUEUE_F_NOTIFICATION;
	rc = queue_insert(s, &env, out.data, out.len, 5 * 86400, rec->dsn_id,
	    e);
	buf_release(&out);
	free(v);
	if (rc == 0)
		rec->queued_dsn = true;
	return rc;
}

/* What left for another HISP (or our own domains) is tracked until its
 * MDNs arrive. */
static int
record_track(struct store *s, struct record *rec, struct err *e)
{
	struct queue_task *t = rec->t;
	bool final;

	if (t->direction != QUEUE_OUT || (t->flags & QUEUE_F_NOTIFICATION))
		return 0;
	final = header_final_delivery_requested(t->body, t->len);
	for (size_t i = 0; i < t->nrcpt; i++) {
		if (t->rcpts[i].outcome != QUEUE_SENT)
			continue;
		if (t->message_id == NULL) {
			log_warn(t->id, "event=untracked to=<%s> reason="
			    "no-message-id", t->rcpts[i].rcpt);
			continue;
		}
		if (track_sent(s, t->message_id, t->rcpts[i].rcpt,
		    t->mail_from, t->id, final, rec->now, &rec->track, e) != 0)
			return -1;
	}
	return 0;
}

/* What came from another HISP and reached its recipient is remembered by
 * Message-ID, in the transaction that records the delivery: the same
 * message sent again is then not delivered twice (hisp/deliver.c). */
static int
record_received(struct store *s, struct record *rec, struct err *e)
{
	struct queue_task *t = rec->t;

	if (t->direction != QUEUE_IN || t->message_id == NULL)
		return 0;
	for (size_t i = 0; i < t->nrcpt; i++) {
		if (t->rcpts[i].outcome != QUEUE_DELIVERED)
			continue;
		if (store_run(s, e, "INSERT OR IGNORE INTO received (message_id,"
		    " rcpt, sender, at, queue_id) VALUES (?1, lower(?2),"
		    " lower(?3), ?4, ?5)", "sssIs", t->message_id,
		    t->rcpts[i].rcpt, t->mail_from, rec->now, t->id) != 0)
			return -1;
	}
	return 0;
}

static int
record_write(struct store *s, void *arg, struct err *e)
{
	struct record *rec = arg;
	struct queue_task *t = rec->t;

	rec->queued_dsn = false;
	rec->kick = false;
	for (size_t i = 0; i < t->nrcpt; i++) {
		struct queue_rcpt_result *res = &t->rcpts[i];
		const char *state;
		int64_t next = rec->now;

		switch (res->outcome) {
		case QUEUE_DELIVERED:
			state = "delivered";
			break;
		case QUEUE_SENT:
			state = "sent";
			break;
		case QUEUE_FAILED:
			state = "failed";
			break;
		default:
			if (rec->now >= t->expires) {
				res->outcome = QUEUE_FAILED;
				if (res->status[0] != '5')
					str_lcpy(res->status, "4.4.7",
					    sizeof(res->status));
				snprintf(res->reason, sizeof(res->reason),
				    "expired after %d attempts",
				    t->attempts + 1);
				state = "failed";
				break;
			}
			res->outcome = QUEUE_DEFERRED;
			state = "pending";
			next = rec->now + queue_backoff_s(t->attempts + 1,
			    rec->retry_min_s, rec->retry_max_s);
			break;
		}
		if (store_run(s, e,
		    "UPDATE queue_rcpt SET state = ?1, attempts = attempts + 1,"
		    " next_try = ?2, updated = ?3, status = ?4, reason = ?5"
		    " WHERE msg = ?6 AND rcpt = ?7", "sIIssss", state, next,
		    rec->now, res->status, res->reason, t->id, res->rcpt) != 0)
			return -1;
	}
	if (record_dsn(s, rec, e) != 0)
		return -1;
	if (record_track(s, rec, e) != 0)
		return -1;
	if (record_received(s, rec, e) != 0)
		return -1;
	for (size_t i = 0; i < t->nfollowups; i++) {
		struct queue_followup *f = &t->followups[i];
		const char *rcpts[1] = {f->rcpt};
		struct queue_envelope env = {0};
		char id[QUEUE_ID_LEN + 1];

		env.direction = f->direction;
		env.mail_from = f->mail_from;
		env.rcpts = rcpts;
		env.nrcpt = 1;
		env.flags = f->flags;
		env.client = "local";
		if (queue_insert(s, &env, f->body.data, f->body.len, 5 * 86400,
		    id, e) != 0)
			return -1;
		rec->kick = true;
	}
	/* A message with no recipient left to try is done. */
	return store_run(s, e, "DELETE FROM queue_msg WHERE id = ?1 AND"
	    " NOT EXISTS (SELECT 1 FROM queue_rcpt WHERE msg = ?1 AND"
	    " state = 'pending')", "s", t->id);
}

static void
record_done(void *arg, int status, const struct err *e)
{
	struct record *rec = arg;
	struct queue_runner *r = rec->r;
	struct queue_task *t = rec->t;
	char *key = task_key(t);

	if (status != 0) {
		/* Nothing was recorded: the recipients stay pending and are
		 * tried again at the next scan (delivery is idempotent by
		 * Message-ID at worst a duplicate, never a loss). */
		log_error(t->id, "event=queue_record_failed reason=\"%s\"",
		    e != NULL ? e->msg : "");
	} else {
		for (size_t i = 0; i < t->nrcpt; i++) {
			struct queue_rcpt_result *res = &t->rcpts[i];

			log_info(t->id, "to=<%s> relay=%s attempts=%d"
			    " status=%s dsn=%s reason=\"%s\"", res->rcpt,
			    res->relay != NULL ? res->relay : "none",
			    t->attempts + 1, queue_outcome_name(res->outcome),
			    res->status[0] ? res->status : "-", res->reason);
		}
		if (rec->queued_dsn)
			log_info(rec->dsn_id, "event=dsn_queued orig=%s to=<%s>",
			    t->id, t->mail_from);
	}
	runner_key_drop(r, key);
	free(key);
	r->in_flight--;
	/* With a backlog, refill once half the room is free. */
	if (rec->queued_dsn || rec->kick ||
	    (r->backlog && r->in_flight <= r->o.max_tasks / 2))
		queue_runner_kick(r);
	task_free(t);
	free(rec);
}

static void
runner_task_done(struct queue_runner *r, struct queue_task *t)
{
	struct record *rec = xcalloc(1, sizeof(*rec));

	rec->r = r;
	rec->t = t;
	rec->now = (int64_t)time(NULL);
	rec->retry_min_s = r->o.retry_min_s;
	rec->retry_max_s = r->o.retry_max_s;
	rec->track.processed_timeout_s = r->o.processed_timeout_s;
	rec->track.dispatched_timeout_s = r->o.dispatched_timeout_s;
	rec->hostname = r->hostname;
	store_writer_submit(r->writer, record_write, record_done, rec);
}

struct queue_runner *
queue_runner_new(struct loop *l, struct store_writer *w,
    const struct queue_runner_opts *o)
{
	struct queue_runner *r = xcalloc(1, sizeof(*r));

	r->loop = l;
	r->writer = w;
	r->o = *o;
	r->db_path = xstrdup(o->db_path);
	r->hostname = xstrdup(o->hostname != NULL ? o->hostname :
	    "localhost");
	r->o.db_path = r->db_path;
	r->o.hostname = r->hostname;
	if (r->o.max_tasks == 0)
		r->o.max_tasks = 64;
	if (r->o.scan_ms <= 0)
		r->o.scan_ms = 1000;
	if (r->o.retry_min_s <= 0)
		r->o.retry_min_s = 60;
	if (r->o.processed_timeout_s <= 0)
		r->o.processed_timeout_s = 3600;
	if (r->o.dispatched_timeout_s <= 0)
		r->o.dispatched_timeout_s = 3600;
	if (r->o.retry_max_s < r->o.retry_min_s)
		r->o.retry_max_s = r->o.retry_min_s;
	uv_timer_init(loop_uv(l), &r->timer);
	r->timer.data = r;
	return r;
}

void
queue_runner_set_handler(struct queue_runner *r, enum queue_direction d,
    queue_handler_fn *fn, void *ctx)
{
	r->handlers[d].fn = fn;
	r->handlers[d].ctx = ctx;
}

static void
runner_stop_hook(void *arg)
{
	queue_runner_stop(arg);
}

void
queue_runner_start(struct queue_runner *r)
{
	if (r->started)
		return;
	r->started = true;
	loop_on_stop(r->loop, runner_stop_hook, r);
	runner_schedule(r, 0);
}

void
queue_runner_kick(struct queue_runner *r)
{
	if (r->started && !r->stopping)
		runner_scan(r);
}

void
queue_runner_stop(struct queue_runner *r)
{
	if (r->stopping)
		return;
	r->stopping = true;
	uv_timer_stop(&r->timer);
	uv_close((uv_handle_t *)&r->timer, NULL);
}

void
queue_runner_free(struct queue_runner **rp)
{
	struct queue_runner *r;

	if (rp == NULL || (r = *rp) == NULL)
		return;
	for (size_t i = 0; i < r->nkeys; i++)
		free(r->keys[i]);
	free(r->keys);
	runner_done_keys_clear(r);
	free(r->db_path);
	free(r->hostname);
	free(r);
	*rp = NULL;
}
