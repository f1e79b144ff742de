/* Review regressions for core/loop.c: a forced shutdown (grace period
 * over) must leave each module's handles to the module, which closes them
 * in its own teardown after loop_run (dns_free, listeners): closing them
 * behind its back made that close abort in libuv (a handle closed twice),
 * seen as `directgate serve` dying with SIGABRT on SIGTERM while an
 * outgoing delivery was stalled. Work on the pool still finishes before
 * loop_run returns, while what its callbacks use is alive. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

#include "core/loop.h"

struct module {
	struct loop *loop;
	uv_timer_t timer;   /* kept open until the module's teardown */
	int closed;         /* its close callback ran */
	atomic_int worked;
	int after;
	bool after_cancelled;
};

static void
send_term(uv_timer_t *t)
{
	(void)t;
	raise(SIGTERM);
}

static void
module_timer_cb(uv_timer_t *t)
{
	(void)t;
}

static void
module_closed(uv_handle_t *h)
{
	struct module *m = h->data;

	m->closed++;
}

static void
slow_work(void *arg)
{
	struct module *m = arg;

	usleep(300 * 1000);
	m->worked++;
}

static void
slow_after(void *arg, bool cancelled)
{
	struct module *m = arg;

	m->after++;
	m->after_cancelled = cancelled;
}

static void
test_loop_forced_stop_leaves_module_handles_to_their_module(void **state)
{
	struct module m = {0};
	uv_timer_t term;
	struct err e;

	(void)state;
	assert_int_equal(loop_new(&m.loop, &e), 0);
	loop_set_grace_ms(m.loop, 50);
	/* A module handle that stays open past the grace period. */
	uv_timer_init(loop_uv(m.loop), &m.timer);
	m.timer.data = &m;
	uv_timer_start(&m.timer, module_timer_cb, 100000, 100000);
	uv_timer_init(loop_uv(m.loop), &term);
	uv_timer_start(&term, send_term, 10, 0);
	uv_unref((uv_handle_t *)&term);
	assert_int_equal(loop_run(m.loop), 1);
	/* The module's teardown closes its own handle, as dns_free does. */
	if (uv_is_closing((uv_handle_t *)&m.timer))
		fail_msg("got the module's timer closed by the loop, want it "
		    "left to the module");
	uv_close((uv_handle_t *)&m.timer, module_closed);
	loop_free(&m.loop);
	assert_int_equal(m.closed, 1);
}

static void
test_loop_forced_stop_still_finishes_work_in_flight(void **state)
{
	struct module m = {0};
	uv_timer_t term;
	struct err e;

	(void)state;
	assert_int_equal(loop_new(&m.loop, &e), 0);
	loop_set_grace_ms(m.loop, 20);
	uv_timer_init(loop_uv(m.loop), &m.timer);
	m.timer.data = &m;
	uv_timer_start(&m.timer, module_timer_cb, 100000, 100000);
	uv_timer_init(loop_uv(m.loop), &term);
	uv_timer_start(&term, send_term, 5, 0);
	uv_unref((uv_handle_t *)&term);
	assert_int_equal(loop_work(m.loop, slow_work, slow_after, &m), 0);
	assert_int_equal(loop_run(m.loop), 1);
	/* The after callback ran inside loop_run, before teardown. */
	assert_int_equal(m.worked, 1);
	assert_int_equal(m.after, 1);
	/* No new work once forced. */
	assert_int_equal(loop_work(m.loop, slow_work, slow_after, &m), -1);
	uv_close((uv_handle_t *)&m.timer, module_closed);
	loop_free(&m.loop);
	assert_int_equal(m.closed, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_loop_forced_stop_leaves_module_handles_to_their_module),
		cmocka_unit_test(
		    test_loop_forced_stop_still_finishes_work_in_flight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
