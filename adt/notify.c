#include "adt/notify.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "adt/acrs_match.h"
#include "adt/intake.h"
#include "adt/notify_config.h"
#include "adt/notify_digest.h"
#include "adt/notify_fallback.h"
#include "adt/notify_mllp_client.h"
#include "adt/notify_plan.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "hisp/hisp.h"
#include "hisp/queue.h"

#define NOTIFY_BATCH_MAX 1024

#define NOTIFY_PLANNERS_MAX 16
#define NOTIFY_SLICE_MIN 8
/* Plans recorded per writer job: a job holds the writer (and the MLLP
 * intake's commits, hence its ACKs) for about 60 us a plan; smaller jobs
 * cut the ACK p99 a little but cost more writer time (measured: 16 a job
 * took 7% more CPU per ADT than 64, the default [notify] batch). */
#define NOTIFY_RECORD_CHUNK 64
/* A listing that did not fill the batch is followed by the next one this
 * much later (while ADTs keep coming: up to NOTIFY_SOON_TRIES empty ones
 * in a row), rather than at once (batches of one or two ADTs cost more
 * per ADT) or at the next poll (up to [notify] poll of delay). A full one
 * is followed at once, while it is recorded. */
#define NOTIFY_SOON_MS 25
#define NOTIFY_SOON_TRIES 8

struct notify;

/* One batch of received ADTs, in id order: listed, planned in slices by
 * the planners, then recorded by one writer job. Two can be in flight:
 * one recording while the next is listed and planned. */
enum notify_batch_state {
	NOTIFY_B_LISTING = 0,  /* the listing job runs */
	NOTIFY_B_WAITING,      /* listed; waits for the batch recording */
	NOTIFY_B_PLANNING,     /* planner jobs run */
	NOTIFY_B_PLANNED,      /* planned; waits for the batch recording */
	NOTIFY_B_RECORDING,    /* its writer job runs */
};

struct notify_batch {
	struct notify *n;
	enum notify_batch_state state;
	int64_t after;         /* listed ids are above this */
	unsigned max;
	int64_t *ids;
	char (*events)[4];
	size_t nids;
	int64_t now;
	char from[256];
	struct notify_plan **slots;
	struct notify_plan **plans;
	size_t nplans;
	size_t recorded, chunk; /* plans recorded; in the writer job */
	unsigned jobs_left;
	bool full;             /* the listing filled the batch */
	bool barrier;          /* the next batch is planned only after this
	                        * one is recorded (a merge, or an ADT left
	                        * unplanned that a later listing must see) */
	bool stale;            /* the batch before it failed: dropped */
	int status;
	struct err err;
	struct notify_apply_stats stats;
};

struct notify_planner {
	struct notify *n;
	struct notify_batch *b;
	struct store *rd;
	struct acrs_matcher *mt;
	size_t first, count;
	int status;
	struct err err;
};

struct notify {
	struct loop *loop;
	struct store_writer *w;
	struct hisp *hisp;
	char *path;
	struct notify_settings set;
	int64_t expire_s;      /* [queue] expire: queued Direct messages */
	uv_timer_t poll, digest, soon;
	unsigned soon_left;    /* quick retries left after an empty listing */
	bool stopping;
	/* The runner: a listing job finds the received ADTs, planners plan
	 * slices of the batch in parallel (each with its read connection),
	 * one writer job records it; the next batch is listed and planned
	 * while the writer records the last. */
	bool again;            /* a round was asked for while one ran */
	bool found;            /* look again at once (a backlog, a failure) */
	struct store *rd;
	struct notify_planner planners[NOTIFY_PLANNERS_MAX];
	unsigned nplanners;
	struct notify_batch *next; /* listing, planning or planned */
	struct notify_batch *rec;  /* recording */
	bool warned_sender;
	bool single;           /* after a failed batch: one ADT per job */
	bool poisoning;        /* the poison job runs */
	int64_t poison;        /* an ADT to give up on, or 0 */
	char poison_why[ERR_MSG_MAX];
	/* The digest. */
	bool dbusy;
	struct store *drd;
	struct notify_digest_set *dset;
	int dstatus;
	struct err derr;
	struct notify_mllp_client *mc;
	struct notify_fallback *fb;  /* adt/notify_fallback.h */
};

static void notify_round(struct notify *n);
static void notify_soon_arm(struct notify *n);
static void notify_record(struct notify *n, struct notify_batch *b);
static void notify_dispatch(struct notify *n, struct notify_batch *b);
static store_done_fn notify_record_done;
static store_write_fn notify_poison_job;
static store_done_fn notify_poison_done;

static void
notify_batch_free(struct notify_batch **bp)
{
	struct notify_batch *b = *bp;

	if (b == NULL)
		return;
	*bp = NULL;
	if (b->slots != NULL)
		for (size_t i = 0; i < b->nids; i++)
			notify_plan_free(&b->slots[i]);
	for (size_t i = 0; i < b->nplans; i++)
		notify_plan_free(&b->plans[i]);
	free(b->slots);
	free(b->plans);
	free(b->ids);
	free(b->events);
	free(b);
}

/* Worker: which ADTs to plan (in id order, up to a retraction). */
static void
notify_work(void *arg)
{
	struct notify_batch *b = arg;
	struct notify *n = b->n;
	unsigned cnt = 0;
	int rc;

	b->status = 0;
	b->full = false;
	b->now = clock_wall_ms();
	if (n->rd == NULL &&
	    store_open(n->path, STORE_READONLY, &n->rd, &b->err) != 0) {
		b->status = -1;
		return;
	}
	b->ids = xcalloc(b->max, sizeof(*b->ids));
	b->events = xcalloc(b->max, sizeof(*b->events));
	if (notify_plan_pending(n->rd, b->after, b->max, b->ids, &cnt,
	    b->events, &b->err) != 0) {
		b->status = -1;
		return;
	}
	if (cnt == 0)
		return;
	rc = notify_plan_sender(n->rd, n->set.from, b->from, sizeof(b->from),
	    &b->err);
	if (rc < 0) {
		b->status = -1;
		return;
	}
	if (rc == 0)
		b->from[0] = '\0';
	b->full = cnt == b->max;
	/* A retraction waits until what came before is recorded. */
	for (unsigned i = 1; i < cnt; i++)
		if (notify_plan_is_retraction(b->events[i])) {
			cnt = i;
			b->full = true;
			break;
		}
	b->nids = cnt;
}

/* Worker: plan one slice of the batch. */
static void
notify_plan_work(void *arg)
{
	struct notify_planner *pl = arg;
	struct notify *n = pl->n;
	struct notify_batch *b = pl->b;

	pl->status = 0;
	if (pl->rd == NULL) {
		if (store_open(n->path, STORE_READONLY, &pl->rd,
		    &pl->err) != 0) {
			pl->status = -1;
			return;
		}
		pl->mt = acrs_matcher_new(pl->rd, &n->set.acrs);
	}
	/* One read transaction for the slice: one snapshot, and one lock
	 * round instead of one per statement. */
	(void)store_exec(pl->rd, "BEGIN", &pl->err);
	for (size_t i = pl->first; i < pl->first + pl->count; i++) {
		struct err e;

		if (notify_plan_adt(pl->rd, pl->mt, &n->set, b->from,
		    b->ids[i], b->now, &b->slots[i], &e) != 0) {
			log_warn(NULL, "event=notify_plan_failed adt=%lld "
			    "kind=%s reason=\"%s\"", (long long)b->ids[i],
			    err_kind_name(e.kind), e.msg);
			if (err_is_temp(&e))
				break;
		}
	}
	(void)store_exec(pl->rd, "COMMIT", &pl->err);
}

static int
notify_record_job(struct store *s, void *arg, struct err *e)
{
	struct notify_batch *b = arg;
	struct notify *n = b->n;
	int64_t now = clock_wall_ms();

	memset(&b->stats, 0, sizeof(b->stats));
	for (size_t i = b->recorded; i < b->recorded + b->chunk; i++)
		if (notify_plan_apply(s, b->plans[i], now, n->expire_s,
		    &b->stats, e) != 0)
			return -1;
	return 0;
}

/* Submits the next chunk of b's plans to the writer: in id order, one
 * chunk after the other, so that intake commits go in between. */
static void
notify_record_chunk(struct notify *n, struct notify_batch *b)
{
	b->chunk = b->nplans - b->recorded;
	if (b->chunk > NOTIFY_RECORD_CHUNK)
		b->chunk = NOTIFY_RECORD_CHUNK;
	store_writer_submit(n->w, notify_record_job, notify_record_done, b);
}

/* Loop thread: start the next step of whatever waits, or a new round. */
static void
notify_next(struct notify *n)
{
	struct notify_batch *b = n->next;

	if (n->stopping || n->poisoning)
		return;
	if (b != NULL && n->rec == NULL) {
		if (b->state == NOTIFY_B_WAITING)
			notify_dispatch(n, b);
		else if (b->state == NOTIFY_B_PLANNED)
			notify_record(n, b);
	}
	if (n->next == NULL && (n->found || n->again || n->single)) {
		n->again = false;
		notify_round(n);
	}
}

static void
notify_record_done(void *arg, int status, const struct err *e)
{
	struct notify_batch *b = arg;
	struct notify *n = b->n;

	if (status == 0) {
		for (size_t i = b->recorded; i < b->recorded + b->chunk; i++) {
			struct notify_plan *p = b->plans[i];

			log_info(p->control_id, "event=notify adt=%lld type=%s "
			    "state=%s visit=%s notifications=%zu", (long long)
			    p->adt, p->event[0] ? p->event : "-", p->state,
			    p->visit_digest[0] ? p->visit_digest : "-",
			    p->n_outs);
			notify_plan_free(&b->plans[i]);
		}
		if (b->stats.direct > 0 && n->hisp != NULL)
			queue_runner_kick(hisp_runner(n->hisp));
		if (b->stats.mllp > 0)
			notify_mllp_client_kick(n->mc);
		b->recorded += b->chunk;
		if (b->recorded < b->nplans && !n->stopping) {
			notify_record_chunk(n, b);
			return;
		}
	}
	n->rec = NULL;
	if (status != 0) {
		log_warn(NULL, "event=notify_record_failed adts=%zu kind=%s "
		    "reason=\"%s\"", b->chunk, err_kind_name(e->kind), e->msg);
		/* Find the culprit one ADT at a time; one that cannot be
		 * recorded for a reason other than a busy store is given up
		 * (state 'failed', audited) instead of blocking the rest. */
		if (b->chunk > 1)
			n->single = true;
		else if (b->chunk == 1 && !err_is_temp(e)) {
			n->poison = b->plans[b->recorded]->adt;
			str_lcpy(n->poison_why, e->msg, sizeof(n->poison_why));
		}
		/* What was planned after it starts over from the failed
		 * batch's first ADT. */
		if (n->next != NULL) {
			if (n->next->state == NOTIFY_B_LISTING ||
			    n->next->state == NOTIFY_B_PLANNING)
				n->next->stale = true;
			else
				notify_batch_free(&n->next);
		}
		n->found = true;
	} else if (!n->stopping) {
		n->single = false;
		/* A full batch leaves more behind it. */
		n->found = b->full;
	}
	notify_batch_free(&b);
	if (n->stopping) {
		/* A batch whose jobs still run is freed when they end. */
		if (n->next != NULL && (n->next->state == NOTIFY_B_WAITING ||
		    n->next->state == NOTIFY_B_PLANNED))
			notify_batch_free(&n->next);
		return;
	}
	if (n->poison != 0) {
		n->poisoning = true;
		store_writer_submit(n->w, notify_poison_job, notify_poison_done,
		    n);
		return;
	}
	notify_next(n);
}

static int
notify_poison_job(struct store *s, void *arg, struct err *e)
{
	struct notify *n = arg;
	int64_t now = clock_wall_ms();

	if (notify_plan_audit(s, n->poison, now, "failed", NULL, NULL,
	    "reason=record_failed", e) != 0)
		return -1;
	return intake_set_state(s, n->poison, "failed", now, e);
}

static void
notify_poison_done(void *arg, int status, const struct err *e)
{
	struct notify *n = arg;

	log_warn(NULL, "event=notify_gave_up adt=%lld status=%d reason=\"%s\"",
	    (long long)n->poison, status, status == 0 ? n->poison_why :
	    e->msg);
	n->poison = 0;
	n->poisoning = false;
	if (!n->stopping) {
		n->found = true;
		notify_next(n);
	}
}

/* Every slice planned: record what was planned, in id order, once the
 * batch before it is recorded. */
static void
notify_planned(struct notify *n, struct notify_batch *b)
{
	if (n->stopping || b->stale) {
		notify_batch_free(&n->next);
		notify_next(n);
		return;
	}
	b->state = NOTIFY_B_PLANNED;
	for (size_t i = 0; i < b->nids; i++)
		if (b->slots[i] == NULL || strcmp(b->events[i], "A40") == 0)
			b->barrier = true;
	if (n->rec == NULL && !n->poisoning)
		notify_record(n, b);
}

static void
notify_plan_after(void *arg, bool cancelled)
{
	struct notify_planner *pl = arg;
	struct notify *n = pl->n;
	struct notify_batch *b = pl->b;

	(void)cancelled;
	pl->b = NULL;
	if (pl->status != 0)
		log_warn(NULL, "event=notify_read_failed reason=\"%s\"",
		    pl->err.msg);
	if (--b->jobs_left == 0)
		notify_planned(n, b);
}

static void
notify_record(struct notify *n, struct notify_batch *b)
{
	assert(n->next == b && n->rec == NULL);
	n->next = NULL;
	b->plans = xcalloc(b->nids ? b->nids : 1, sizeof(*b->plans));
	b->nplans = 0;
	for (size_t i = 0; i < b->nids; i++)
		if (b->slots[i] != NULL) {
			b->plans[b->nplans++] = b->slots[i];
			b->slots[i] = NULL;
		}
	if (n->stopping || b->nplans == 0) {
		/* Nothing planned (a store error): the next poll tries
		 * again. */
		notify_batch_free(&b);
		n->found = false;
		return;
	}
	b->state = NOTIFY_B_RECORDING;
	n->rec = b;
	n->found = b->full;
	notify_record_chunk(n, b);
	/* Behind a full batch, plan the next while this one is recorded. */
	if (b->full && !b->barrier && !n->single)
		notify_round(n);
}

/* Hands the slices of b to the planners. */
static void
notify_dispatch(struct notify *n, struct notify_batch *b)
{
	size_t slice;
	unsigned k;

	b->state = NOTIFY_B_PLANNING;
	b->slots = xcalloc(b->nids, sizeof(*b->slots));
	k = n->nplanners;
	slice = (b->nids + k - 1) / k;
	if (slice < NOTIFY_SLICE_MIN)
		slice = NOTIFY_SLICE_MIN;
	b->jobs_left = 1; /* held until every slice is queued */
	for (unsigned i = 0; i < k && (size_t)i * slice < b->nids; i++) {
		struct notify_planner *pl = &n->planners[i];

		assert(pl->b == NULL);
		pl->b = b;
		pl->first = (size_t)i * slice;
		pl->count = b->nids - pl->first < slice ? b->nids - pl->first :
		    slice;
		b->jobs_left++;
		if (loop_work(n->loop, notify_plan_work, notify_plan_after,
		    pl) != 0) {
			pl->b = NULL;
			b->jobs_left--;
		}
	}
	if (--b->jobs_left == 0)
		notify_planned(n, b);
}

static void
notify_after(void *arg, bool cancelled)
{
	struct notify_batch *b = arg;
	struct notify *n = b->n;

	if (cancelled || n->stopping || b->stale || b->status != 0 ||
	    b->nids == 0) {
		bool again = b->stale && !n->stopping;

		if (b->status != 0)
			log_warn(NULL, "event=notify_read_failed reason=\"%s\"",
			    b->err.msg);
		notify_batch_free(&n->next);
		n->found = again;
		if (!again && !cancelled && !n->stopping && n->soon_left > 0) {
			n->soon_left--;
			notify_soon_arm(n);
		}
		notify_next(n);
		return;
	}
	n->soon_left = NOTIFY_SOON_TRIES;
	if (!b->full)
		notify_soon_arm(n);
	if (b->from[0] == '\0') {
		if (!n->warned_sender)
			log_warn(NULL, "event=notify_no_sender reason=\"no "
			    "address of kind notify with a signing "
			    "certificate%s%s\"", n->set.from[0] ? ": " : "",
			    n->set.from);
		n->warned_sender = true;
	} else
		n->warned_sender = false;
	/* A retraction is planned after what came before is recorded. */
	if (n->rec != NULL && notify_plan_is_retraction(b->events[0])) {
		b->state = NOTIFY_B_WAITING;
		return;
	}
	notify_dispatch(n, b);
}

/* Lists the next batch: after the one being recorded, if any. */
static void
notify_round(struct notify *n)
{
	struct notify_batch *b;

	if (n->stopping)
		return;
	if (n->next != NULL || n->poisoning ||
	    (n->rec != NULL && (n->rec->barrier || n->single))) {
		n->again = true;
		return;
	}
	b = xcalloc(1, sizeof(*b));
	b->n = n;
	b->state = NOTIFY_B_LISTING;
	b->max = (unsigned)n->set.batch;
	if (b->max > NOTIFY_BATCH_MAX)
		b->max = NOTIFY_BATCH_MAX;
	if (n->single)
		b->max = 1;
	b->after = n->rec != NULL ? n->rec->ids[n->rec->nids - 1] : 0;
	n->next = b;
	if (loop_work(n->loop, notify_work, notify_after, b) != 0)
		notify_batch_free(&n->next);
}

static void
notify_poll(uv_timer_t *t)
{
	notify_round(t->data);
}

/* The next listing after a partial one: when the runner is free to list
 * (else a little later). */
static void
notify_soon(uv_timer_t *t)
{
	struct notify *n = t->data;

	if (n->stopping)
		return;
	if (n->next != NULL || n->poisoning) {
		notify_soon_arm(n);
		return;
	}
	notify_round(n);
}

static void
notify_soon_arm(struct notify *n)
{
	if (!n->stopping && !uv_is_active((uv_handle_t *)&n->soon))
		uv_timer_start(&n->soon, notify_soon, NOTIFY_SOON_MS, 0);
}

/* The digest. */
static void
notify_digest_work(void *arg)
{
	struct notify *n = arg;
	char from[256];
	int rc;

	n->dstatus = 0;
	if (n->drd == NULL && store_open(n->path, STORE_READONLY, &n->drd,
	    &n->derr) != 0) {
		n->dstatus = -1;
		return;
	}
	rc = notify_plan_sender(n->drd, n->set.from, from, sizeof(from),
	    &n->derr);
	if (rc <= 0) {
		n->dstatus = rc < 0 ? -1 : 0;
		return;
	}
	if (notify_digest_gather(n->drd, from, clock_wall_ms(), 64, &n->dset,
	    &n->derr) != 0)
		n->dstatus = -1;
}

static int
notify_digest_job(struct store *s, void *arg, struct err *e)
{
	struct notify *n = arg;

	return notify_digest_apply(s, n->dset, clock_wall_ms(), n->expire_s,
	    e);
}

static void
notify_digest_done(void *arg, int status, const struct err *e)
{
	struct notify *n = arg;

	if (status != 0)
		log_warn(NULL, "event=notify_digest_failed reason=\"%s\"",
		    e->msg);
	else {
		log_info(NULL, "event=notify_digest messages=%zu", n->dset->n);
		if (n->hisp != NULL)
			queue_runner_kick(hisp_runner(n->hisp));
	}
	notify_digest_set_free(&n->dset);
	n->dbusy = false;
}

static void
notify_digest_after(void *arg, bool cancelled)
{
	struct notify *n = arg;

	if (cancelled || n->stopping || n->dstatus != 0 || n->dset == NULL ||
	    n->dset->n == 0) {
		if (n->dstatus != 0)
			log_warn(NULL, "event=notify_digest_read_failed "
			    "reason=\"%s\"", n->derr.msg);
		notify_digest_set_free(&n->dset);
		n->dbusy = false;
		return;
	}
	store_writer_submit(n->w, notify_digest_job, notify_digest_done, n);
}

static void
notify_digest_tick(uv_timer_t *t)
{
	struct notify *n = t->data;

	if (n->dbusy || n->stopping)
		return;
	n->dbusy = true;
	if (loop_work(n->loop, notify_digest_work, notify_digest_after, n) !=
	    0)
		n->dbusy = false;
}

static void
notify_stop(void *arg)
{
	struct notify *n = arg;

	n->stopping = true;
	uv_close((uv_handle_t *)&n->poll, NULL);
	uv_close((uv_handle_t *)&n->digest, NULL);
	uv_close((uv_handle_t *)&n->soon, NULL);
}

int
notify_start(const struct notify_params *p, struct notify **n_r,
    struct err *e)
{
	struct notify *n;
	struct notify_settings set;

	*n_r = NULL;
	if (notify_config_read(p->cfg, &set, e) != 0)
		return -1;
	if (!set.enabled)
		return 0;
	n = xcalloc(1, sizeof(*n));
	n->loop = p->loop;
	n->w = p->writer;
	n->hisp = p->hisp;
	n->path = xstrdup(p->store_path);
	n->set = set;
	n->expire_s = p->cfg != NULL ? config_int(p->cfg, "queue", "expire") /
	    1000 : NOTIFY_EXPIRE_S;
	uv_timer_init(loop_uv(n->loop), &n->poll);
	uv_timer_init(loop_uv(n->loop), &n->digest);
	uv_timer_init(loop_uv(n->loop), &n->soon);
	n->soon.data = n;
	n->poll.data = n;
	n->digest.data = n;
	uv_timer_start(&n->poll, notify_poll, (uint64_t)set.poll_ms,
	    (uint64_t)set.poll_ms);
	uv_timer_start(&n->digest, notify_digest_tick,
	    (uint64_t)set.digest_check_ms, (uint64_t)set.digest_check_ms);
	loop_on_stop(n->loop, notify_stop, n);
	{
		long cores = sysconf(_SC_NPROCESSORS_ONLN);

		n->nplanners = cores < 1 ? 1 : cores > NOTIFY_PLANNERS_MAX ?
		    NOTIFY_PLANNERS_MAX : (unsigned)cores;
		for (unsigned i = 0; i < n->nplanners; i++)
			n->planners[i].n = n;
	}
	n->mc = notify_mllp_client_new(n->loop, n->w, n->path, &n->set);
	n->fb = notify_fallback_new(n->loop, n->w, n->path, &n->set,
	    n->expire_s, n->hisp, n->mc);
	log_info(NULL, "event=notify_started poll_ms=%lld zsegments=%s",
	    (long long)set.poll_ms, set.zsegments);
	*n_r = n;
	return 0;
}

void
notify_kick(struct notify *n)
{
	if (n == NULL || n->stopping)
		return;
	/* Not at once: what comes in the next few ms joins the batch. */
	n->soon_left = NOTIFY_SOON_TRIES;
	if (n->next == NULL && n->rec == NULL && !n->poisoning)
		notify_soon_arm(n);
}

void
notify_free(struct notify **np)
{
	struct notify *n;

	if (np == NULL || (n = *np) == NULL)
		return;
	notify_fallback_free(&n->fb);
	notify_mllp_client_free(&n->mc);
	notify_batch_free(&n->next);
	notify_batch_free(&n->rec);
	notify_digest_set_free(&n->dset);
	for (unsigned i = 0; i < n->nplanners; i++) {
		acrs_matcher_free(&n->planners[i].mt);
		store_free(&n->planners[i].rd);
	}
	store_free(&n->rd);
	store_free(&n->drd);
	free(n->path);
	free(n);
	*np = NULL;
}

int
notify_digest_run(struct store *s, const char *from, int64_t now_ms,
    unsigned *n_r, struct err *e)
{
	struct notify_digest_set *set = NULL;
	int rc = -1;

	*n_r = 0;
	if (notify_digest_gather(s, from, now_ms, 1000, &set, e) != 0)
		return -1;
	if (store_begin(s, e) != 0)
		goto out;
	if (notify_digest_apply(s, set, now_ms, NOTIFY_EXPIRE_S, e) != 0) {
		store_rollback(s);
		goto out;
	}
	if (store_commit(s, e) != 0)
		goto out;
	*n_r = (unsigned)set->n;
	rc = 0;
out:
	notify_digest_set_free(&set);
	return rc;
}
