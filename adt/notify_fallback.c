#include "adt/notify_fallback.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <uv.h>

#include "adt/hl7.h"
#include "adt/intake.h"
#include "adt/notify_mllp_client.h"
#include "adt/notify_plan_private.h"
#include "adt/notify_policy.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "hisp/hisp.h"
#include "hisp/queue.h"

#define FB_BATCH_MAX 64
#define FB_TRIED_MAX 256
#define FB_MEMBERS_MAX 64

int
notify_fallback_pick(const struct directory_route *r,
    const char *const *tried, size_t ntried)
{
	for (size_t i = 0; i < r->ntargets && i < DIRECTORY_ROUTE_MAX; i++) {
		bool seen = false;

		for (size_t j = 0; j < ntried && !seen; j++)
			if (strcasecmp(r->targets[i].address, tried[j]) == 0)
				seen = true;
		if (!seen)
			return (int)i;
	}
	return -1;
}

int
notify_fallback_due(struct store *s, unsigned max, int64_t *ids,
    unsigned *n_r, struct err *e)
{
	struct store_stmt *st;
	int rc;

	*n_r = 0;
	st = store_prepare(s, "SELECT id FROM notify_sent WHERE fallback ="
	    " 'due' ORDER BY id LIMIT ?", e);
	if (st == NULL)
		return -1;
	store_bindv(st, "i", (int)max);
	while ((rc = store_step(st, e)) == 1 && *n_r < max)
		ids[(*n_r)++] = store_col_int(st, 0);
	store_stmt_done(st);
	return rc < 0 ? -1 : 0;
}

void
notify_fallback_plan_free(struct notify_fallback_plan **pp)
{
	struct notify_fallback_plan *p;

	if (pp == NULL || (p = *pp) == NULL)
		return;
	notify_plan_free(&p->plan);
	free(p);
	*pp = NULL;
}

/* The failed notification. */
struct fb_row {
	int64_t adt, retracts;
	char visit[NOTIFY_VISIT_MAX];
	char event[8];
	char recipient[256];
	char kind[8];
	char npis[NOTIFY_LIST_MAX];
	char patient_ids[NOTIFY_LIST_MAX];
	char reason[256];
	char fallback[16];
};

/* 1 found, 0 not, -1 error. */
static int
fb_row_get(struct store *s, int64_t id, struct fb_row *r, struct err *e)
{
	struct store_stmt *st;
	int rc;

	memset(r, 0, sizeof(*r));
	st = store_prepare(s, "SELECT adt, retracts, visit, event, recipient,"
	    " kind, npis, patient_ids, reason, fallback FROM notify_sent"
	    " WHERE id = ?", e);
	if (st == NULL)
		return -1;
	store_bindv(st, "I", id);
	rc = store_step(st, e);
	if (rc == 1) {
		r->adt = store_col_int(st, 0);
		r->retracts = store_col_int(st, 1);
		store_col_copy(st, 2, r->visit, sizeof(r->visit));
		store_col_copy(st, 3, r->event, sizeof(r->event));
		store_col_copy(st, 4, r->recipient, sizeof(r->recipient));
		store_col_copy(st, 5, r->kind, sizeof(r->kind));
		store_col_copy(st, 6, r->npis, sizeof(r->npis));
		store_col_copy(st, 7, r->patient_ids, sizeof(r->patient_ids));
		store_col_copy(st, 8, r->reason, sizeof(r->reason));
		store_col_copy(st, 9, r->fallback, sizeof(r->fallback));
	}
	store_stmt_done(st);
	return rc;
}

/* Why r failed, as a code without PHI: the triggers' reason for Direct
 * notifications, the MSA-1 code for MLLP ones. */
static void
fb_cause(const struct fb_row *r, char *dst, size_t size)
{
	const char *c;
	size_t n = 0;

	if (strcmp(r->kind, "mllp") != 0) {
		str_lcpy(dst, r->reason[0] ? r->reason : "failed", size);
		return;
	}
	c = strstr(r->reason, "code=");
	if (c != NULL) {
		c += 5;
		while (c[n] != '\0' && c[n] != ' ' && n < 3)
			n++;
	}
	if (n == 0)
		str_lcpy(dst, "mllp_failed code=-", size);
	else
		str_fmt(dst, size, "mllp_failed code=%.*s", (int)n, c);
}

/* Every recipient notified (or tried) for (visit, event). */
static int
fb_tried(struct store *s, const struct fb_row *r, char ***v_r, size_t *n_r,
    struct err *e)
{
	struct store_stmt *st;
	int rc;

	*v_r = NULL;
	*n_r = 0;
	st = store_prepare(s, "SELECT recipient FROM notify_sent WHERE"
	    " visit = ? AND event = ? ORDER BY id LIMIT ?", e);
	if (st == NULL)
		return -1;
	store_bindv(st, "ssi", r->visit, r->event, FB_TRIED_MAX);
	while ((rc = store_step(st, e)) == 1) {
		const char *rcpt = store_col_text(st, 0);

		*v_r = xreallocarray(*v_r, *n_r + 1, sizeof(**v_r));
		(*v_r)[(*n_r)++] = xstrdup(rcpt != NULL ? rcpt : "");
	}
	store_stmt_done(st);
	return rc < 0 ? -1 : 0;
}

static void
fb_tried_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
fb_adt_row(void *arg, const struct intake_row *r)
{
	struct notify_plan *p = arg;

	str_lcpy(p->control_id, r->control_id, sizeof(p->control_id));
	return 0;
}

/* Routes each member of r again and adds a notification to its next
 * target. */
static int
fb_route(struct store *s, struct notify_plan *p, const struct fb_row *r,
    int64_t failed, const struct notify_policy *pol, int64_t now_ms,
    struct err *e)
{
	const char *route_event = r->event;
	char *copy, *save = NULL, *npi, **tried = NULL;
	size_t ntried = 0, members = 0;
	int rc = -1;

	/* A retraction goes where the event it cancels would go. */
	if (r->retracts != 0 && pol->cancels[0] != '\0')
		route_event = pol->cancels;
	if (fb_tried(s, r, &tried, &ntried, e) != 0)
		return -1;
	copy = xstrdup(r->npis);
	for (npi = strtok_r(copy, ",", &save); npi != NULL &&
	    members < FB_MEMBERS_MAX; npi = strtok_r(NULL, ",", &save)) {
		struct directory_route rt;
		const struct directory_target *t;
		struct notify_out *o;
		int i;

		members++;
		if (directory_route(s, npi, route_event, pol->patient_class,
		    &rt, e) != 0)
			goto out;
		if (rt.status != DIRECTORY_ROUTED) {
			notify_plan_note(p, "exhausted", npi, NULL,
			    "notification=%lld status=%s reason=%s", (long long)failed,
			    directory_route_status_name(rt.status), rt.reason);
			continue;
		}
		i = notify_fallback_pick(&rt, (const char *const *)tried,
		    ntried);
		if (i < 0) {
			notify_plan_note(p, "exhausted", npi, NULL,
			    "notification=%lld reason=no_further_target "
			    "targets=%zu",
			    (long long)failed, rt.ntargets);
			continue;
		}
		t = &rt.targets[i];
		o = notify_plan_group(p, 0, t, now_ms);
		o->fallback_of = failed;
		o->retracts = r->retracts;
		notify_plan_list_add(o->npis, sizeof(o->npis), npi);
		str_lcpy(o->patient_ids, r->patient_ids,
		    sizeof(o->patient_ids));
		notify_plan_note(p, "fallback", npi, t->address,
		    "from_notification=%lld endpoint=%lld rank=%d",
		    (long long)failed, (long long)t->endpoint_id, t->rank);
		notify_plan_note(p, "routed", npi, o->recipient, "kind=%s "
		    "endpoint=%lld rank=%d fallback_of=%lld%s", notify_kind_name(o->kind),
		    (long long)t->endpoint_id, t->rank, (long long)failed,
		    t->via_organization ? " via=organization" : "");
	}
	if (members == 0)
		notify_plan_note(p, "exhausted", NULL, NULL, "notification=%lld "
		    "reason=no_members", (long long)failed);
	rc = 0;
out:
	free(copy);
	fb_tried_free(tried, ntried);
	return rc;
}

int
notify_fallback_plan(struct store *s, const struct notify_settings *set,
    const char *from, int64_t failed, int64_t now_ms,
    struct notify_fallback_plan **p_r, struct err *e)
{
	struct notify_fallback_plan *fp;
	struct notify_plan *p;
	struct notify_policy pol;
	struct fb_row *r;
	struct hl7_msg *m = NULL;
	struct buf raw;
	struct err pe;
	char cause[64];
	int rc;

	*p_r = NULL;
	r = xcalloc(1, sizeof(*r));
	rc = fb_row_get(s, failed, r, e);
	if (rc <= 0 || strcmp(r->fallback, "due") != 0) {
		free(r);
		return rc < 0 ? -1 : 0;
	}
	fp = xcalloc(1, sizeof(*fp));
	fp->failed = failed;
	fp->outcome = "exhausted";
	p = fp->plan = xcalloc(1, sizeof(*p));
	p->adt = r->adt;
	p->state = NULL;
	str_lcpy(p->from, from != NULL ? from : "", sizeof(p->from));
	str_lcpy(p->visit, r->visit, sizeof(p->visit));
	str_lcpy(p->event, r->event, sizeof(p->event));
	notify_policy_digest(r->visit, p->visit_digest);
	fb_cause(r, cause, sizeof(cause));
	notify_plan_note(p, "failed", NULL, r->recipient, "kind=%s "
	    "notification=%lld cause=%s", r->kind, (long long)failed, cause);
	buf_init(&raw, HL7_MAX_BYTES);
	rc = intake_get(s, r->adt, fb_adt_row, p, &raw, e);
	if (rc < 0)
		goto fail;
	if (rc == 0 || hl7_parse(raw.data, raw.len, &m, &pe) != 0) {
		notify_plan_note(p, "exhausted", NULL, NULL, "notification=%lld "
		    "reason=%s", (long long)failed,
		    rc == 0 ? "no_adt" : "parse");
		goto done;
	}
	notify_policy_decide(m, set->sensitive_facilities, &pol);
	if (fb_route(s, p, r, failed, &pol, now_ms, e) != 0)
		goto fail;
	for (size_t i = 0; i < p->n_outs; i++)
		if (notify_plan_compose(p, &p->outs[i], m, raw.data, raw.len,
		    set, r->retracts != 0, pol.test, now_ms, e) != 0)
			goto fail;
	if (p->n_outs > 0)
		fp->outcome = "done";
done:
	hl7_msg_free(&m);
	buf_release(&raw);
	free(r);
	*p_r = fp;
	return 0;
fail:
	hl7_msg_free(&m);
	buf_release(&raw);
	free(r);
	notify_fallback_plan_free(&fp);
	return -1;
}

/* A row that cannot be planned for a reason other than a busy store is
 * given up (audited) rather than tried again at every poll. */
static struct notify_fallback_plan *
fb_gave_up(int64_t failed, int64_t adt, const struct err *why)
{
	struct notify_fallback_plan *fp = xcalloc(1, sizeof(*fp));

	fp->failed = failed;
	fp->outcome = "exhausted";
	fp->plan = xcalloc(1, sizeof(*fp->plan));
	fp->plan->adt = adt;
	notify_plan_note(fp->plan, "exhausted", NULL, NULL, "notification=%lld "
	    "reason=plan_error kind=%s", (long long)failed,
	    err_kind_name(why->kind));
	return fp;
}

int
notify_fallback_apply(struct store *s, const struct notify_fallback_plan *p,
    int64_t now_ms, int64_t expire_s, struct notify_apply_stats *stats,
    struct err *e)
{
	if (store_run(s, e, "UPDATE notify_sent SET fallback = ?, updated = ?"
	    " WHERE id = ? AND fallback = 'due'", "sII", p->outcome, now_ms,
	    p->failed) != 0)
		return -1;
	if (store_changes(s) == 0)
		return 0; /* recorded already */
	return notify_plan_apply(s, p->plan, now_ms, expire_s, stats, e);
}

/* The ADT row of a notification (for a plan given up), 0 when unknown. */
static int64_t
fb_adt_of(struct store *s, int64_t id)
{
	int64_t adt = 0;
	struct err e;

	(void)store_query_int(s, &adt, &e, "SELECT adt FROM notify_sent"
	    " WHERE id = ?", "I", id);
	return adt;
}

static void
fb_log(const struct notify_fallback_plan *p)
{
	log_info(p->plan->control_id[0] ? p->plan->control_id : NULL,
	    "event=notify_fallback notification=%lld adt=%lld outcome=%s "
	    "notifications=%zu", (long long)p->failed, (long long)p->plan->adt,
	    p->outcome, p->plan->n_outs);
}

int
notify_fallback_run(struct store *s, const struct notify_settings *set,
    const char *from, int64_t now_ms, unsigned max, unsigned *n_r,
    struct notify_apply_stats *stats, struct err *e)
{
	int64_t ids[FB_BATCH_MAX];
	unsigned n = 0;

	*n_r = 0;
	while (*n_r < max) {
		unsigned want = max - *n_r > FB_BATCH_MAX ? FB_BATCH_MAX :
		    max - *n_r, before = *n_r;

		if (notify_fallback_due(s, want, ids, &n, e) != 0)
			return -1;
		if (n == 0)
			break;
		for (unsigned i = 0; i < n; i++) {
			struct notify_fallback_plan *p = NULL;

			if (notify_fallback_plan(s, set, from, ids[i], now_ms,
			    &p, e) != 0) {
				if (err_is_temp(e))
					return -1;
				p = fb_gave_up(ids[i], fb_adt_of(s, ids[i]), e);
			}
			if (p == NULL)
				continue;
			if (store_begin(s, e) != 0) {
				notify_fallback_plan_free(&p);
				return -1;
			}
			if (notify_fallback_apply(s, p, now_ms,
			    NOTIFY_EXPIRE_S, stats, e) != 0) {
				store_rollback(s);
				notify_fallback_plan_free(&p);
				return -1;
			}
			if (store_commit(s, e) != 0) {
				notify_fallback_plan_free(&p);
				return -1;
			}
			fb_log(p);
			notify_fallback_plan_free(&p);
			(*n_r)++;
		}
		if (*n_r == before)
			break;
	}
	return 0;
}

/* The daemon's side. */
struct notify_fallback {
	struct loop *loop;
	struct store_writer *w;
	char *path;
	struct notify_settings set;
	int64_t expire_s;
	struct hisp *hisp;
	struct notify_mllp_client *mc;
	uv_timer_t timer;
	bool timer_open;
	bool busy, again, stopping, full;
	struct store *rd;
	struct notify_fallback_plan **plans;
	size_t nplans;
	int status;
	struct err err;
	struct notify_apply_stats stats;
};

static void fb_round(struct notify_fallback *f);

static void
fb_plans_free(struct notify_fallback *f)
{
	for (size_t i = 0; i < f->nplans; i++)
		notify_fallback_plan_free(&f->plans[i]);
	free(f->plans);
	f->plans = NULL;
	f->nplans = 0;
}

/* Worker: plan the due fallbacks on a read connection. */
static void
fb_work(void *arg)
{
	struct notify_fallback *f = arg;
	int64_t ids[FB_BATCH_MAX], now = clock_wall_ms();
	unsigned n = 0;
	char from[256] = "";
	int rc;

	f->status = 0;
	f->full = false;
	if (f->rd == NULL && store_open(f->path, STORE_READONLY, &f->rd,
	    &f->err) != 0) {
		f->status = -1;
		return;
	}
	(void)store_exec(f->rd, "BEGIN", &f->err);
	if (notify_fallback_due(f->rd, FB_BATCH_MAX, ids, &n, &f->err) != 0) {
		f->status = -1;
		goto out;
	}
	if (n == 0)
		goto out;
	rc = notify_plan_sender(f->rd, f->set.from, from, sizeof(from),
	    &f->err);
	if (rc < 0) {
		f->status = -1;
		goto out;
	}
	if (rc == 0)
		from[0] = '\0';
	f->full = n == FB_BATCH_MAX;
	f->plans = xcalloc(n, sizeof(*f->plans));
	for (unsigned i = 0; i < n; i++) {
		struct notify_fallback_plan *p = NULL;
		struct err e;

		if (notify_fallback_plan(f->rd, &f->set, from, ids[i], now, &p,
		    &e) != 0) {
			log_warn(NULL, "event=notify_fallback_plan_failed "
			    "notification=%lld kind=%s reason=\"%s\"",
			    (long long)ids[i], err_kind_name(e.kind), e.msg);
			if (err_is_temp(&e))
				break;
			p = fb_gave_up(ids[i], fb_adt_of(f->rd, ids[i]), &e);
		}
		if (p != NULL)
			f->plans[f->nplans++] = p;
	}
out:
	(void)store_exec(f->rd, "COMMIT", &f->err);
}

static int
fb_record_job(struct store *s, void *arg, struct err *e)
{
	struct notify_fallback *f = arg;
	int64_t now = clock_wall_ms();

	memset(&f->stats, 0, sizeof(f->stats));
	for (size_t i = 0; i < f->nplans; i++)
		if (notify_fallback_apply(s, f->plans[i], now, f->expire_s,
		    &f->stats, e) != 0)
			return -1;
	return 0;
}

static void
fb_record_done(void *arg, int status, const struct err *e)
{
	struct notify_fallback *f = arg;

	if (status != 0)
		log_warn(NULL, "event=notify_fallback_record_failed "
		    "notifications=%zu kind=%s reason=\"%s\"", f->nplans,
		    err_kind_name(e->kind), e->msg);
	else {
		for (size_t i = 0; i < f->nplans; i++)
			fb_log(f->plans[i]);
		if (!f->stopping && f->stats.direct > 0 && f->hisp != NULL)
			queue_runner_kick(hisp_runner(f->hisp));
		if (!f->stopping && f->stats.mllp > 0)
			notify_mllp_client_kick(f->mc);
	}
	fb_plans_free(f);
	f->busy = false;
	if (!f->stopping && status == 0 && (f->again || f->full)) {
		f->again = false;
		fb_round(f);
	}
}

static void
fb_after(void *arg, bool cancelled)
{
	struct notify_fallback *f = arg;

	if (cancelled || f->stopping || f->status != 0 || f->nplans == 0) {
		if (f->status != 0)
			log_warn(NULL, "event=notify_fallback_read_failed "
			    "reason=\"%s\"", f->err.msg);
		fb_plans_free(f);
		f->busy = false;
		return;
	}
	store_writer_submit(f->w, fb_record_job, fb_record_done, f);
}

static void
fb_round(struct notify_fallback *f)
{
	if (f->stopping)
		return;
	if (f->busy) {
		f->again = true;
		return;
	}
	f->busy = true;
	if (loop_work(f->loop, fb_work, fb_after, f) != 0)
		f->busy = false;
}

static void
fb_tick(uv_timer_t *t)
{
	fb_round(t->data);
}

static void
fb_stop(void *arg)
{
	struct notify_fallback *f = arg;

	f->stopping = true;
	if (f->timer_open) {
		uv_close((uv_handle_t *)&f->timer, NULL);
		f->timer_open = false;
	}
}

struct notify_fallback *
notify_fallback_new(struct loop *l, struct store_writer *w,
    const char *store_path, const struct notify_settings *set,
    int64_t expire_s, struct hisp *hisp, struct notify_mllp_client *mc)
{
	struct notify_fallback *f = xcalloc(1, sizeof(*f));
	uint64_t ms = set->poll_ms > 0 ? (uint64_t)set->poll_ms : 200;

	f->loop = l;
	f->w = w;
	f->path = xstrdup(store_path);
	f->set = *set;
	f->expire_s = expire_s;
	f->hisp = hisp;
	f->mc = mc;
	uv_timer_init(loop_uv(l), &f->timer);
	f->timer.data = f;
	f->timer_open = true;
	uv_timer_start(&f->timer, fb_tick, ms, ms);
	uv_unref((uv_handle_t *)&f->timer);
	loop_on_stop(l, fb_stop, f);
	return f;
}

void
notify_fallback_free(struct notify_fallback **fp)
{
	struct notify_fallback *f;

	if (fp == NULL || (f = *fp) == NULL)
		return;
	fb_plans_free(f);
	store_free(&f->rd);
	free(f->path);
	free(f);
	*fp = NULL;
}
