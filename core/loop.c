#include "core/loop.h"

#include <assert.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "core/log.h"
#include "core/xmalloc.h"

struct loop_hook {
	loop_fn *fn;
	void *arg;
	struct loop_hook *next;
};

struct loop_post_item {
	loop_fn *fn;
	void *arg;
	struct loop_post_item *next;
};

struct loop_work_req {
	uv_work_t req;
	struct loop *l;
	loop_fn *work;
	loop_after_fn *after;
	void *arg;
};

struct loop {
	uv_loop_t uv;
	uv_async_t async;
	uv_signal_t sigterm, sigint, sighup;
	uv_timer_t grace;
	uint64_t grace_ms;
	bool stopping;
	bool forced;
	bool ran;
	unsigned work_pending; /* loop_work requests not yet after'd */
	pthread_mutex_t lock;
	struct loop_post_item *head, *tail;
	bool stop_requested; /* by loop_stop_async */
	struct loop_hook *stop_hooks; /* newest first */
	struct loop_hook *hup_hooks;
};

static void loop_drain(struct loop *l);

void
loop_set_workers(unsigned n)
{
	char v[16];

	if (n == 0) {
		/* Workers also wait on disks (fsync of Maildir files) and on
		 * the network (CRLs, LDAP): twice the cores, at least 4. */
		long c = sysconf(_SC_NPROCESSORS_ONLN);

		n = c > 0 ? 2 * (unsigned)c : 4;
		if (n < 4)
			n = 4;
	}
	if (n > 128)
		n = 128;
	snprintf(v, sizeof(v), "%u", n);
	setenv("UV_THREADPOOL_SIZE", v, 1);
}

static void
loop_async_cb(uv_async_t *h)
{
	struct loop *l = h->data;
	bool stop;

	pthread_mutex_lock(&l->lock);
	stop = l->stop_requested;
	l->stop_requested = false;
	pthread_mutex_unlock(&l->lock);
	loop_drain(l);
	if (stop)
		loop_stop(l);
}

static void
loop_close_any(uv_handle_t *h, void *arg)
{
	struct loop *l = arg;

	(void)l;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* Grace period over, or a second signal: stop waiting. The handles still
 * open belong to their modules, which close them in their teardown after
 * loop_run (with their own close callbacks); closing them here behind
 * their backs made that second close abort in libuv. loop_free closes
 * whatever is left after the teardown. */
static void
loop_force(struct loop *l)
{
	if (l->forced)
		return;
	l->forced = true;
	log_warn(NULL, "event=shutdown_forced");
	uv_stop(&l->uv);
}

static void
loop_grace_cb(uv_timer_t *t)
{
	loop_force(t->data);
}

static void
loop_signal_cb(uv_signal_t *h, int signum)
{
	struct loop *l = h->data;

	if (signum == SIGHUP) {
		log_reopen();
		log_info(NULL, "event=sighup");
		for (struct loop_hook *k = l->hup_hooks; k != NULL; k = k->next)
			k->fn(k->arg);
		return;
	}
	if (l->stopping) {
		loop_force(l);
		return;
	}
	log_info(NULL, "event=shutdown signal=%s",
	    signum == SIGTERM ? "TERM" : "INT");
	loop_stop(l);
}

int
loop_new(struct loop **l_r, struct err *e)
{
	struct loop *l = xcalloc(1, sizeof(*l));
	int rc;

	*l_r = NULL;
	signal(SIGPIPE, SIG_IGN);
	if ((rc = uv_loop_init(&l->uv)) != 0) {
		free(l);
		return err_set(e, ERR_INTERNAL, "uv_loop_init: %s",
		    uv_strerror(rc));
	}
	pthread_mutex_init(&l->lock, NULL);
	l->grace_ms = 10000;
	l->uv.data = l;
	uv_async_init(&l->uv, &l->async, loop_async_cb);
	l->async.data = l;
	uv_timer_init(&l->uv, &l->grace);
	l->grace.data = l;
	uv_signal_init(&l->uv, &l->sigterm);
	uv_signal_init(&l->uv, &l->sigint);
	uv_signal_init(&l->uv, &l->sighup);
	l->sigterm.data = l->sigint.data = l->sighup.data = l;
	uv_signal_start(&l->sigterm, loop_signal_cb, SIGTERM);
	uv_signal_start(&l->sigint, loop_signal_cb, SIGINT);
	uv_signal_start(&l->sighup, loop_signal_cb, SIGHUP);
	*l_r = l;
	return 0;
}

struct uv_loop_s *
loop_uv(struct loop *l)
{
	return &l->uv;
}

int
loop_run(struct loop *l)
{
	l->ran = true;
	uv_run(&l->uv, UV_RUN_DEFAULT);
	/* Forced: work on the pool still finishes, and its after callbacks
	 * run here, while what they use (the store writer) is alive. */
	while (l->forced && l->work_pending > 0)
		uv_run(&l->uv, UV_RUN_ONCE);
	return l->forced ? 1 : 0;
}

void
loop_stop(struct loop *l)
{
	if (l->stopping)
		return;
	l->stopping = true;
	/* Our own handles must not keep the loop alive; what modules still
	 * have open (sessions finishing their work) does. */
	uv_unref((uv_handle_t *)&l->async);
	uv_signal_stop(&l->sighup);
	uv_unref((uv_handle_t *)&l->sigterm);
	uv_unref((uv_handle_t *)&l->sigint);
	uv_timer_start(&l->grace, loop_grace_cb, l->grace_ms, 0);
	uv_unref((uv_handle_t *)&l->grace);
	for (struct loop_hook *k = l->stop_hooks; k != NULL; k = k->next)
		k->fn(k->arg);
}

void
loop_stop_async(struct loop *l)
{
	pthread_mutex_lock(&l->lock);
	l->stop_requested = true;
	pthread_mutex_unlock(&l->lock);
	uv_async_send(&l->async);
}

bool
loop_stopping(const struct loop *l)
{
	return l->stopping;
}

void
loop_set_grace_ms(struct loop *l, uint64_t ms)
{
	l->grace_ms = ms;
}

uint64_t
loop_now_ms(struct loop *l)
{
	return uv_now(&l->uv);
}

void
loop_post(struct loop *l, loop_fn *fn, void *arg)
{
	struct loop_post_item *it = xmalloc(sizeof(*it));

	it->fn = fn;
	it->arg = arg;
	it->next = NULL;
	pthread_mutex_lock(&l->lock);
	if (l->tail != NULL)
		l->tail->next = it;
	else
		l->head = it;
	l->tail = it;
	pthread_mutex_unlock(&l->lock);
	uv_async_send(&l->async);
}

static void
loop_drain(struct loop *l)
{
	struct loop_post_item *it, *next;

	pthread_mutex_lock(&l->lock);
	it = l->head;
	l->head = l->tail = NULL;
	pthread_mutex_unlock(&l->lock);
	for (; it != NULL; it = next) {
		next = it->next;
		it->fn(it->arg);
		free(it);
	}
}

static void
loop_work_cb(uv_work_t *req)
{
	static _Thread_local bool named;
	struct loop_work_req *w = req->data;

	if (!named) {
		/* libuv's pool threads, named for top -H, perf and gdb. */
		(void)pthread_setname_np(pthread_self(), "dg-pool");
		named = true;
	}
	w->work(w->arg);
}

static void
loop_after_work_cb(uv_work_t *req, int status)
{
	struct loop_work_req *w = req->data;

	w->l->work_pending--;
	if (w->after != NULL)
		w->after(w->arg, status == UV_ECANCELED);
	free(w);
}

int
loop_work(struct loop *l, loop_fn *work, loop_after_fn *after, void *arg)
{
	struct loop_work_req *w;

	if (l->forced)
		return -1;
	w = xmalloc(sizeof(*w));
	w->l = l;
	w->work = work;
	w->after = after;
	w->arg = arg;
	w->req.data = w;
	if (uv_queue_work(&l->uv, &w->req, loop_work_cb,
	    loop_after_work_cb) != 0) {
		free(w);
		return -1;
	}
	l->work_pending++;
	return 0;
}

static void
loop_hook_add(struct loop_hook **list, loop_fn *fn, void *arg)
{
	struct loop_hook *k = xmalloc(sizeof(*k));

	k->fn = fn;
	k->arg = arg;
	k->next = *list;
	*list = k;
}

void
loop_on_stop(struct loop *l, loop_fn *fn, void *arg)
{
	loop_hook_add(&l->stop_hooks, fn, arg);
}

void
loop_on_hup(struct loop *l, loop_fn *fn, void *arg)
{
	loop_hook_add(&l->hup_hooks, fn, arg);
}

static void
loop_hooks_free(struct loop_hook *k)
{
	while (k != NULL) {
		struct loop_hook *next = k->next;

		free(k);
		k = next;
	}
}

void
loop_free(struct loop **lp)
{
	struct loop *l;

	if (lp == NULL || (l = *lp) == NULL)
		return;
	/* Posts that arrived after the loop ended (a store writer drained
	 * after loop_run) still run, on this thread. */
	loop_drain(l);
	uv_walk(&l->uv, loop_close_any, l);
	uv_run(&l->uv, UV_RUN_DEFAULT);
	loop_drain(l);
	if (uv_loop_close(&l->uv) != 0)
		log_warn(NULL, "event=loop_close_busy");
	pthread_mutex_destroy(&l->lock);
	loop_hooks_free(l->stop_hooks);
	loop_hooks_free(l->hup_hooks);
	free(l);
	*lp = NULL;
}
