/* certs/bundle_sched: the daemon's timer refreshes a due bundle on a
 * worker, and stops with the loop. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "certs/bundle.h"
#include "certs/bundle_sched.h"
#include "certs/certs_config.h"
#include "certs/domain.h"
#include "core/config.h"
#include "core/loop.h"
#include "core/store.h"
#include "tests/lib/testlib.h"
#include "tests/unit/certs/certgen.h"

static void
stop_cb(uv_timer_t *t)
{
	loop_stop(t->data);
}

static void
stop_closed(uv_handle_t *h)
{
	(void)h;
}

static void
close_stop_timer(void *arg)
{
	uv_close(arg, stop_closed);
}

static void
test_bundle_sched_refreshes_due_bundle_then_stops(void **state)
{
	char *dir = testlib_tmpdir();
	char db[512], p7path[512];
	struct config *cfg = config_new(dir);
	struct store *s;
	struct loop *l;
	struct err e;
	struct buf p7;
	struct bundle_info *v;
	size_t n;
	int64_t id;
	uv_timer_t stop;
	EVP_PKEY *k = cg_ec("P-256");
	struct cg_opts o = cg_defaults("Sched Root");
	X509 *root;

	o.ca = true;
	root = cg_cert(&o, k, NULL, NULL);
	buf_init(&p7, BUF_UNLIMITED);
	cg_p7b(&root, 1, false, &p7);
	snprintf(p7path, sizeof(p7path), "%s/b.p7b", dir);
	testlib_write_file(p7path, p7.data, p7.len);
	snprintf(db, sizeof(db), "%s/db", dir);
	config_add_defs(cfg, certs_config_defs);
	assert_int_equal(store_open(db, 0, &s, &e), 0);
	assert_int_equal(domain_add(s, "a.example", &e), 0);
	assert_int_equal(bundle_add(s, p7path, 0, &id, &e), 0);
	store_free(&s);

	assert_int_equal(loop_new(&l, &e), 0);
	assert_int_equal(bundle_sched_start(l, db, cfg, 10, 100000, &e), 0);
	uv_timer_init(loop_uv(l), &stop);
	stop.data = l;
	uv_timer_start(&stop, stop_cb, 1500, 0);
	loop_on_stop(l, close_stop_timer, &stop);
	assert_int_equal(loop_run(l), 0);
	loop_free(&l);

	assert_int_equal(store_open(db, 0, &s, &e), 0);
	assert_int_equal(bundle_list(s, &v, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].n_anchors, 1);
	assert_true(v[0].last_ok != 0);
	bundle_info_free(&v, n);
	store_free(&s);
	config_free(&cfg);
	buf_release(&p7);
	X509_free(root);
	EVP_PKEY_free(k);
	testlib_rmtree(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_bundle_sched_refreshes_due_bundle_then_stops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
