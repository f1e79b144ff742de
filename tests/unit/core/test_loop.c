#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>
#include <uv.h>

#include "core/loop.h"

struct counter {
	struct loop *loop;
	atomic_int posted;
	atomic_int worked;
	int after;
	int stopped;
	pthread_t loop_thread;
	bool after_on_loop_thread;
};

static void
on_post(void *arg)
{
	struct counter *c = arg;

	c->posted++;
	if (c->posted == 100)
		loop_stop(c->loop);
}

static void *
poster(void *arg)
{
	struct counter *c = arg;

	for (int i = 0; i < 50; i++)
		loop_post(c->loop, on_post, c);
	return NULL;
}

static void
test_loop_post_runs_callbacks_from_other_threads(void **state)
{
	struct counter c = {0};
	pthread_t t1, t2;
	struct err e;

	(void)state;
	assert_int_equal(loop_new(&c.loop, &e), 0);
	pthread_create(&t1, NULL, poster, &c);
	pthread_create(&t2, NULL, poster, &c);
	assert_int_equal(loop_run(c.loop), 0);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	loop_free(&c.loop);
	assert_int_equal(c.posted, 100);
	assert_null(c.loop);
}

static void
work(void *arg)
{
	struct counter *c = arg;

	c->worked++;
}

static void
after(void *arg, bool cancelled)
{
	struct counter *c = arg;

	assert_false(cancelled);
	c->after_on_loop_thread = pthread_equal(pthread_self(),
	    c->loop_thread);
	if (++c->after == 20)
		loop_stop(c->loop);
}

static void
test_loop_work_runs_on_workers_and_returns_to_the_loop(void **state)
{
	struct counter c = {0};
	struct err e;

	(void)state;
	loop_set_workers(2);
	assert_int_equal(loop_new(&c.loop, &e), 0);
	c.loop_thread = pthread_self();
	for (int i = 0; i < 20; i++)
		assert_int_equal(loop_work(c.loop, work, after, &c), 0);
	assert_int_equal(loop_run(c.loop), 0);
	assert_int_equal(c.worked, 20);
	assert_int_equal(c.after, 20);
	assert_true(c.after_on_loop_thread);
	loop_free(&c.loop);
}

static void
on_stop(void *arg)
{
	struct counter *c = arg;

	c->stopped = c->stopped * 10 + 1;
}

static void
on_stop2(void *arg)
{
	struct counter *c = arg;

	c->stopped = c->stopped * 10 + 2;
}

static void
send_term(uv_timer_t *t)
{
	(void)t;
	kill(getpid(), SIGTERM);
}

static void
test_loop_sigterm_runs_stop_hooks_newest_first(void **state)
{
	struct counter c = {0};
	uv_timer_t timer;
	struct err e;

	(void)state;
	assert_int_equal(loop_new(&c.loop, &e), 0);
	loop_on_stop(c.loop, on_stop, &c);
	loop_on_stop(c.loop, on_stop2, &c);
	uv_timer_init(loop_uv(c.loop), &timer);
	uv_timer_start(&timer, send_term, 10, 0);
	/* The fired one-shot timer is inactive; the loop ends at stop. */
	assert_int_equal(loop_run(c.loop), 0);
	assert_int_equal(c.stopped, 21);
	assert_true(loop_stopping(c.loop));
	loop_free(&c.loop);
}

static void
on_stop_keep_open(void *arg)
{
	(void)arg;
	/* A module that never closes its handle. */
}

static void
test_loop_grace_period_closes_what_is_left(void **state)
{
	struct counter c = {0};
	uv_timer_t busy;
	struct err e;

	(void)state;
	assert_int_equal(loop_new(&c.loop, &e), 0);
	loop_set_grace_ms(c.loop, 50);
	loop_on_stop(c.loop, on_stop_keep_open, &c);
	uv_timer_init(loop_uv(c.loop), &busy);
	uv_timer_start(&busy, send_term, 10, 0);
	/* A repeating timer that would keep the loop alive forever. */
	uv_timer_set_repeat(&busy, 100000);
	assert_int_equal(loop_run(c.loop), 1);
	loop_free(&c.loop);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_loop_post_runs_callbacks_from_other_threads),
		cmocka_unit_test(
		    test_loop_work_runs_on_workers_and_returns_to_the_loop),
		cmocka_unit_test(test_loop_sigterm_runs_stop_hooks_newest_first),
		cmocka_unit_test(test_loop_grace_period_closes_what_is_left),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
