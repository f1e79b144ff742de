#include "adt/notify.h"

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
#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "hisp/hisp.h"
#include "hisp/queue.h"

#define NOTIFY_EXPIRE_S 432000 /* 5 days, like any queued message */
#define NOTIFY_BATCH_MAX 1024

#define NOTIFY_PLANNERS_MAX 16
#define NOTIFY_SLICE_MIN 8

struct notify;

struct notify_planner {
	struct notify *n;
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
	uv_timer_t poll, digest;
	int open_timers;
	bool stopping;
	/* The runner: one job lists the received ADTs, planners plan slices
	 * of the batch in parallel (each with its read connection), one
	 * writer job records it. */
	bool busy, again;
	struct store *rd;
	struct notify_planner planners[NOTIFY_PLANNERS_MAX];
	unsigned nplanners, jobs_left;
	int64_t *ids;
	char (*events)[4];
	size_t nids;
	int64_t now;
	struct notify_plan **slots;
	char from[256];
	bool warned_sender;
	struct notify_plan **plans;
	size_t nplans;
	bool full;
	bool single;           /* after a failed batch: one ADT per job */
	int64_t poison;        /* an ADT to give up on, or 0 */
	char poison_why[ERR_MSG_MAX];
	int status;
	struct err err;
	struct notify_apply_stats stats;
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
static store_write_fn notify_poison_job;
static store_done_fn notify_poison_done;

static int64_t
notify_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
notify_plans_free(struct notify *n)
{
	for (size_t i = 0; i < n->nplans; i++)
		notify_plan_free(&n->plans[i]);
	free(n->plans);
	n->plans = NULL;
	n->nplans = 0;
}

static void
notify_batch_free(struct notify *n)
{
	if (n->slots != NULL)
		for (size_t i = 0; i < n->nids; i++)
			notify_plan_free(&n->slots[i]);
	free(n->slots);
	free(n->ids);
	free(n->events);
	n->slots = NULL;
	n->ids = NULL;
	n->events = NULL;
	n->nids = 0;
}

/* Worker: which ADTs to plan (in id order, up to a retraction). */
static void
notify_work(void *arg)
{
	struct notify *n = arg;
	unsigned cnt = 0, max = (unsigned)n->set.batch;
	int rc;

	n->status = 0;
	n->full = false;
	n->now = notify_now_ms();
	if (max > NOTIFY_BATCH_MAX)
		max = NOTIFY_BATCH_MAX;
	if (n->single)
		max = 1;
	if (n->rd == NULL &&
	    store_open(n->path, STORE_READONLY, &n->rd, &n->err) != 0) {
		n->status = -1;
		return;
	}
	n->ids = xcalloc(max, sizeof(*n->ids));
	n->events = xcalloc(max, sizeof(*n->events));
	if (notify_plan_pending(n->rd, 0, max, n->ids, &cnt, n->events,
	    &n->err) != 0) {
		n->status = -1;
		return;
	}
	if (cnt == 0)
		return;
	rc = notify_plan_sender(n->rd, n->set.from, n->from, sizeof(n->from),
	    &n->err);
	if (rc < 0) {
		n->status = -1;
		return;
	}
	if (rc == 0) {
		if (!n->warned_sender)
			log_warn(NULL, "event=notify_no_sender reason=\"no "
			    "address of kind notify with a signing "
			    "certificate%s%s\"", n->set.from[0] ? ": " : "",
			    n->set.from);
		n->warned_sender = true;
		n->from[0] = '\0';
	} else
		n->warned_sender = false;
	n->full = cnt == max;
	/* A retraction waits until what came before is recorded. */
	for (unsigned i = 1; i < cnt; i++)
		if (notify_plan_is_retraction(n->events[i])) {
			cnt = i;
			n->full = true;
			break;
		}
	n->nids = cnt;
}

/* Worker: plan one slice of the batch. */
static void
notify_plan_work(void *arg)
{
	struct notify_planner *pl = arg;
	struct notify *n = pl->n;

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

		if (notify_plan_adt(pl->rd, pl->mt, &n->set, n->from,
		    n->ids[i], n->now, &n->slots[i], &e) != 0) {
			log_warn(NULL, "event=notify_plan_failed adt=%lld "
			    "kind=%s reason=\"%s\"", (long long)n->ids[i],
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
	struct notify *n = arg;
	int64_t now = notify_now_ms();

	memset(&n->stats, 0, sizeof(n->stats));
	for (size_t i = 0; i < n->nplans; i++)
		if (notify_plan_apply(s, n->plans[i], now, n->expire_s,
		    &n->stats, e) != 0)
			return -1;
	return 0;
}

static void
notify_record_done(void *arg, int status, const struct err *e)
{
	struct notify *n = arg;

	if (status != 0) {
		log_warn(NULL, "event=notify_record_failed adts=%zu kind=%s "
		    "reason=\"%s\"", n->nplans, err_kind_name(e->kind), e->msg);
		/* Find the culprit one ADT at a time; one that cannot be
		 * recorded for a reason other than a busy store is given up
		 * (state 'failed', audited) instead of blocking the rest. */
		if (n->nplans > 1)
			n->single = true;
		else if (n->nplans == 1 && !err_is_temp(e)) {
			n->poison = n->plans[0]->adt;
			str_lcpy(n->poison_why, e->msg, sizeof(n->poison_why));
		}
	} else {
		n->single = false;
		for (size_t i = 0; i < n->nplans; i++) {
			struct notify_plan *p = n->plans[i];

			log_info(p->control_id, "event=notify adt=%lld type=%s "
			    "state=%s visit=%s notifications=%zu", (long long)
			    p->adt, p->event[0] ? p->event : "-", p->state,
			    p->visit_digest[0] ? p->visit_digest : "-",
			    p->n_outs);
		}
		if (n->stats.direct > 0 && n->hisp != NULL)
			queue_runner_kick(hisp_runner(n->hisp));
		if (n->stats.mllp > 0)
			notify_mllp_client_kick(n->mc);
	}
	notify_plans_free(n);
	if (n->poison != 0 && !n->stopping) {
		store_writer_submit(n->w, notify_poison_job, notify_poison_done,
		    n);
		return;
	}
	n->busy = false;
	if (!n->stopping && (n->full || n->again || n->single)) {
		n->again = false;
		notify_round(n);
	}
}

static int
notify_poison_job(struct store *s, void *arg, struct err *e)
{
	struct notify *n = arg;
	int64_t now = notify_now_ms();

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
	n->busy = false;
	if (!n->stopping)
		notify_round(n);
}

static void notify_record(struct notify *n);

static void
notify_plan_after(void *arg, bool cancelled)
{
	struct notify_planner *pl = arg;
	struct notify *n = pl->n;

	(void)cancelled;
	if (pl->status != 0)
		log_warn(NULL, "event=notify_read_failed reason=\"%s\"",
		    pl->err.msg);
	if (--n->jobs_left == 0)
		notify_record(n);
}

/* Every slice planned: record what was planned, in id order. */
static void
notify_record(struct notify *n)
{
	n->plans = xcalloc(n->nids ? n->nids : 1, sizeof(*n->plans));
	n->nplans = 0;
	for (size_t i = 0; i < n->nids; i++)
		if (n->slots[i] != NULL) {
			n->plans[n->nplans++] = n->slots[i];
			n->slots[i] = NULL;
		}
	notify_batch_free(n);
	if (n->stopping || n->nplans == 0) {
		notify_plans_free(n);
		n->busy = false;
		return;
	}
	store_writer_submit(n->w, notify_record_job, notify_record_done, n);
}

static void
notify_after(void *arg, bool cancelled)
{
	struct notify *n = arg;
	size_t slice;
	unsigned k;

	if (cancelled || n->stopping || n->status != 0 || n->nids == 0) {
		if (n->status != 0)
			log_warn(NULL, "event=notify_read_failed reason=\"%s\"",
			    n->err.msg);
		notify_batch_free(n);
		n->busy = false;
		return;
	}
	n->slots = xcalloc(n->nids, sizeof(*n->slots));
	k = n->nplanners;
	slice = (n->nids + k - 1) / k;
	if (slice < NOTIFY_SLICE_MIN)
		slice = NOTIFY_SLICE_MIN;
	n->jobs_left = 1; /* held until every slice is queued */
	for (unsigned i = 0; i < k && (size_t)i * slice < n->nids; i++) {
		struct notify_planner *pl = &n->planners[i];

		pl->first = (size_t)i * slice;
		pl->count = n->nids - pl->first < slice ? n->nids - pl->first :
		    slice;
		n->jobs_left++;
		if (loop_work(n->loop, notify_plan_work, notify_plan_after,
		    pl) != 0)
			n->jobs_left--;
	}
	if (--n->jobs_left == 0)
		notify_record(n);
}

static void
notify_round(struct notify *n)
{
	if (n->stopping)
		return;
	if (n->busy) {
		n->again = true;
		return;
	}
	n->busy = true;
	if (loop_work(n->loop, notify_work, notify_after, n) != 0)
		n->busy = false;
}

static void
notify_poll(uv_timer_t *t)
{
	notify_round(t->data);
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
	if (notify_digest_gather(n->drd, from, notify_now_ms(), 64, &n->dset,
	    &n->derr) != 0)
		n->dstatus = -1;
}

static int
notify_digest_job(struct store *s, void *arg, struct err *e)
{
	struct notify *n = arg;

	return notify_digest_apply(s, n->dset, notify_now_ms(), n->expire_s,
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
	if (n != NULL)
		notify_round(n);
}

void
notify_free(struct notify **np)
{
	struct notify *n;

	if (np == NULL || (n = *np) == NULL)
		return;
	notify_fallback_free(&n->fb);
	notify_mllp_client_free(&n->mc);
	notify_plans_free(n);
	notify_digest_set_free(&n->dset);
	notify_batch_free(n);
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
