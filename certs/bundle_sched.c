#include "certs/bundle_sched.h"

#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <uv.h>

#include "certs/bundle.h"
#include "core/log.h"
#include "core/store.h"
#include "core/xmalloc.h"

struct bundle_sched {
	struct loop *loop;
	const struct config *cfg;
	char *db_path;
	uv_timer_t timer;
	bool running; /* a refresh job is on a worker */
	bool closed;  /* the timer is closing; free when the job is done */
	bool handle_closed;
};

struct sched_job {
	struct bundle_sched *bs;
	struct bundle_fetch_opts fo;
	int refreshed;
	struct err err;
};

static void
sched_maybe_free(struct bundle_sched *bs)
{
	if (bs->closed && bs->handle_closed && !bs->running) {
		free(bs->db_path);
		free(bs);
	}
}

/* On a worker: fetching blocks on HTTP. */
static void
sched_work(void *arg)
{
	struct sched_job *j = arg;
	struct store *s;

	j->refreshed = -1;
	if (store_open(j->bs->db_path, 0, &s, &j->err) != 0)
		return;
	j->refreshed = bundle_refresh_due(s, time(NULL), false, &j->fo,
	    &j->err);
	store_free(&s);
}

static void
sched_after(void *arg, bool cancelled)
{
	struct sched_job *j = arg;
	struct bundle_sched *bs = j->bs;

	bs->running = false;
	if (!cancelled && j->refreshed < 0)
		log_warn(NULL, "event=bundle-refresh-failed reason=\"%s\"",
		    j->err.msg);
	else if (j->refreshed > 0)
		log_info(NULL, "event=bundles-refreshed count=%d", j->refreshed);
	free(j);
	sched_maybe_free(bs);
}

static void
sched_tick(uv_timer_t *t)
{
	struct bundle_sched *bs = t->data;
	struct sched_job *j;

	if (bs->running || bs->closed)
		return;
	j = xcalloc(1, sizeof(*j));
	j->bs = bs;
	j->fo.timeout_ms = config_int(bs->cfg, "certs", "bundle_timeout");
	j->fo.max_size = (size_t)config_int(bs->cfg, "certs",
	    "bundle_max_size");
	bs->running = true;
	if (loop_work(bs->loop, sched_work, sched_after, j) != 0) {
		bs->running = false;
		free(j);
	}
}

static void
sched_closed(uv_handle_t *h)
{
	struct bundle_sched *bs = h->data;

	bs->handle_closed = true;
	sched_maybe_free(bs);
}

static void
sched_stop(void *arg)
{
	struct bundle_sched *bs = arg;

	bs->closed = true;
	uv_timer_stop(&bs->timer);
	uv_close((uv_handle_t *)&bs->timer, sched_closed);
}

int
bundle_sched_start(struct loop *l, const char *db_path,
    const struct config *cfg, uint64_t first_ms, uint64_t period_ms,
    struct err *e)
{
	struct bundle_sched *bs = xcalloc(1, sizeof(*bs));

	bs->loop = l;
	bs->cfg = cfg;
	bs->db_path = xstrdup(db_path);
	if (uv_timer_init(loop_uv(l), &bs->timer) != 0) {
		free(bs->db_path);
		free(bs);
		return err_set(e, ERR_INTERNAL, "bundle refresher: timer");
	}
	bs->timer.data = bs;
	uv_timer_start(&bs->timer, sched_tick, first_ms != 0 ? first_ms : 5000,
	    period_ms != 0 ? period_ms : 60000);
	uv_unref((uv_handle_t *)&bs->timer);
	loop_on_stop(l, sched_stop, bs);
	return 0;
}
