#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "certs/domain.h"
#include "core/xmalloc.h"
#include "hisp/queue.h"
#include "tests/lib/testlib.h"

/* A fake handler (the real ones deliver to Maildirs and remote HISPs):
 * decides each recipient's outcome from its local part. */
struct fixture {
	char *dir, *db;
	struct loop *loop;
	struct store_writer *w;
	struct queue_runner *r;
	int submitted, durable, handled;
	int handled_local;
	char last_id[QUEUE_ID_LEN + 1];
	int stop_after;
	char local_body[4096];
};

static void
fake_handler(void *ctx, struct queue_runner *r, struct queue_task *t,
    queue_task_done_fn *done)
{
	struct fixture *f = ctx;

	for (size_t i = 0; i < t->nrcpt; i++) {
		struct queue_rcpt_result *res = &t->rcpts[i];

		if (strncmp(res->rcpt, "ok", 2) == 0) {
			res->outcome = QUEUE_SENT;
			snprintf(res->status, sizeof(res->status), "2.0.0");
		} else if (strncmp(res->rcpt, "bad", 3) == 0) {
			res->outcome = QUEUE_FAILED;
			snprintf(res->status, sizeof(res->status), "5.1.1");
			snprintf(res->reason, sizeof(res->reason),
			    "550 5.1.1 no such user");
		} else {
			res->outcome = QUEUE_DEFERRED;
			snprintf(res->reason, sizeof(res->reason),
			    "451 try later");
		}
		res->relay = xstrdup("fake");
	}
	if (t->direction == QUEUE_LOCAL) {
		f->handled_local++;
		snprintf(f->local_body, sizeof(f->local_body), "%.*s",
		    (int)t->len, (const char *)t->body);
	}
	f->handled++;
	done(r, t);
	if (f->stop_after > 0 && f->handled >= f->stop_after)
		loop_stop(f->loop);
}

static void
on_durable(void *arg, int status, const char *id, const struct err *e)
{
	struct fixture *f = arg;

	assert_int_equal(status, 0);
	(void)e;
	f->durable++;
	memcpy(f->last_id, id, QUEUE_ID_LEN + 1);
	queue_runner_kick(f->r);
}

static void
start(struct fixture *f)
{
	struct store_writer_opts wo = {0};
	struct queue_runner_opts ro = {0};
	struct err e;

	assert_int_equal(loop_new(&f->loop, &e), 0);
	loop_set_grace_ms(f->loop, 2000);
	wo.loop = f->loop;
	assert_int_equal(store_writer_new(f->db, &wo, &f->w, &e), 0);
	ro.db_path = f->db;
	ro.retry_min_s = 1;
	ro.retry_max_s = 1;
	ro.scan_ms = 50;
	ro.hostname = "mx.a.test";
	f->r = queue_runner_new(f->loop, f->w, &ro);
	queue_runner_set_handler(f->r, QUEUE_OUT, fake_handler, f);
	queue_runner_set_handler(f->r, QUEUE_LOCAL, fake_handler, f);
	queue_runner_start(f->r);
}

static void
finish(struct fixture *f)
{
	store_writer_free(&f->w);
	loop_free(&f->loop);
	queue_runner_free(&f->r);
}

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct store *s;
	struct err e;

	f->dir = testlib_tmpdir();
	f->db = xasprintf("%s/q.db", f->dir);
	assert_int_equal(store_open(f->db, 0, &s, &e), 0);
	assert_int_equal(domain_add(s, "a.test", &e), 0);
	store_free(&s);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	testlib_rmtree(f->dir);
	free(f->dir);
	free(f->db);
	free(f);
	return 0;
}

static const char msg[] = "From: a@a.test\r\nTo: x@b.test\r\n"
    "Message-ID: <m1@a.test>\r\nSubject: hi\r\n\r\nbody\r\n";

static void
submit(struct fixture *f, const char *from, const char *const *rcpts,
    size_t n, int64_t expires)
{
	struct queue_envelope env = {0};

	env.direction = QUEUE_OUT;
	env.mail_from = from;
	env.rcpts = rcpts;
	env.nrcpt = n;
	env.client = "127.0.0.1";
	queue_submit(f->w, &env, msg, sizeof(msg) - 1, expires, on_durable,
	    f);
	f->submitted++;
}

static int64_t
count(struct fixture *f, const char *sql)
{
	struct store *s;
	int64_t v = -1;
	struct err e;

	assert_int_equal(store_open(f->db, 0, &s, &e), 0);
	assert_int_equal(store_query_int(s, &v, &e, sql, ""), 1);
	store_free(&s);
	return v;
}

static void
test_queue_sent_recipients_are_final_and_the_message_is_removed(void **state)
{
	struct fixture *f = *state;
	static const char *const rc[] = {"ok1@b.test", "ok2@c.test"};

	start(f);
	f->stop_after = 2; /* one task per destination domain */
	submit(f, "a@a.test", rc, 2, 3600);
	assert_int_equal(loop_run(f->loop), 0);
	finish(f);
	assert_int_equal(f->durable, 1);
	assert_int_equal(f->handled, 2);
	assert_int_equal(count(f, "SELECT count(*) FROM queue_msg"), 0);
}

static void
test_queue_failed_recipient_sends_one_dsn_to_a_local_sender(void **state)
{
	struct fixture *f = *state;
	static const char *const rc[] = {"bad@b.test", "ok@b.test"};

	start(f);
	f->stop_after = 2; /* the task, then the DSN's local delivery */
	submit(f, "a@a.test", rc, 2, 3600);
	assert_int_equal(loop_run(f->loop), 0);
	finish(f);
	assert_int_equal(f->handled_local, 1);
	assert_non_null(strstr(f->local_body,
	    "report-type=delivery-status"));
	assert_non_null(strstr(f->local_body,
	    "Final-Recipient: rfc822; bad@b.test"));
	assert_non_null(strstr(f->local_body, "Status: 5.1.1"));
	assert_non_null(strstr(f->local_body,
	    "X-Original-Message-ID: <m1@a.test>"));
	assert_null(strstr(f->local_body, "ok@b.test>:"));
	/* The original body is not returned. */
	assert_null(strstr(f->local_body, "\r\nbody\r\n"));
}

static void
test_queue_null_sender_gets_no_dsn(void **state)
{
	struct fixture *f = *state;
	static const char *const rc[] = {"bad@b.test"};

	start(f);
	f->stop_after = 1;
	submit(f, "", rc, 1, 3600);
	assert_int_equal(loop_run(f->loop), 0);
	finish(f);
	assert_int_equal(f->handled_local, 0);
	assert_int_equal(count(f, "SELECT count(*) FROM queue_msg"), 0);
}

static void
test_queue_deferred_recipient_is_retried_then_expires(void **state)
{
	struct fixture *f = *state;
	static const char *const rc[] = {"later@b.test"};

	start(f);
	/* Two attempts a second apart, then the expiry fails it. */
	f->stop_after = 4;
	submit(f, "a@a.test", rc, 1, 2);
	assert_int_equal(loop_run(f->loop), 0);
	finish(f);
	assert_true(f->handled >= 3);
	assert_int_equal(f->handled_local, 1);
	assert_non_null(strstr(f->local_body, "expired after"));
}

static void
test_queue_restart_resumes_pending_recipients(void **state)
{
	struct fixture *f = *state;
	static const char *const rc[] = {"ok@b.test"};

	/* Queue durably with no handler, as if the daemon died. */
	start(f);
	queue_runner_set_handler(f->r, QUEUE_OUT, NULL, NULL);
	submit(f, "a@a.test", rc, 1, 3600);
	f->stop_after = 0;
	{
		/* Run until durable. */
		while (f->durable == 0)
			uv_run(loop_uv(f->loop), UV_RUN_ONCE);
	}
	loop_stop(f->loop);
	loop_run(f->loop);
	finish(f);
	assert_int_equal(count(f, "SELECT count(*) FROM queue_rcpt"
	    " WHERE state = 'pending'"), 1);
	start(f);
	f->stop_after = 1;
	assert_int_equal(loop_run(f->loop), 0);
	finish(f);
	assert_int_equal(count(f, "SELECT count(*) FROM queue_msg"), 0);
}

static void
test_queue_backoff_doubles_up_to_the_maximum(void **state)
{
	(void)state;
	assert_int_equal(queue_backoff_s(1, 5, 3600), 5);
	assert_in_range(queue_backoff_s(2, 5, 3600), 9, 10);
	assert_true(queue_backoff_s(4, 60, 3600) <= 480);
	assert_true(queue_backoff_s(4, 60, 3600) >= 432);
	assert_true(queue_backoff_s(30, 60, 3600) <= 3600);
	assert_true(queue_backoff_s(30, 60, 3600) >= 3240);
}

static void
test_queue_message_id_is_read_from_the_header_only(void **state)
{
	char *id;

	(void)state;
	id = queue_message_id(msg, sizeof(msg) - 1);
	assert_string_equal(id, "<m1@a.test>");
	free(id);
	id = queue_message_id("Subject: x\r\n\r\nMessage-ID: <no>\r\n", 32);
	assert_null(id);
}

static int
id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Queue ids: 16 upper-case hex digits, unique, later ones (a millisecond
 * on) sorting after earlier ones. */
static void
test_queue_ids_are_unique_and_ordered_by_time(void **state)
{
	enum { N = 20000 };
	char (*ids)[QUEUE_ID_LEN + 1] = xcalloc(N, sizeof(*ids));
	char later[QUEUE_ID_LEN + 1];
	struct timespec ms = {0, 2000000};

	(void)state;
	for (size_t i = 0; i < N; i++) {
		queue_id_next(ids[i]);
		assert_int_equal(strlen(ids[i]), QUEUE_ID_LEN);
		assert_int_equal(strspn(ids[i], "0123456789ABCDEF"),
		    QUEUE_ID_LEN);
	}
	nanosleep(&ms, NULL);
	queue_id_next(later);
	qsort(ids, N, sizeof(*ids), id_cmp);
	for (size_t i = 1; i < N; i++)
		if (strcmp(ids[i - 1], ids[i]) == 0)
			fail_msg("id %s twice", ids[i]);
	if (strcmp(later, ids[N - 1]) <= 0)
		fail_msg("got %s after %s, want a larger id", later,
		    ids[N - 1]);
	free(ids);
}

/* queue_insert_as: the message is stored under the id drawn first; when
 * that id is taken (another process drew it), another is drawn and
 * returned, and the message is stored under it. */
static void
test_queue_insert_as_keeps_the_drawn_id_or_draws_another(void **state)
{
	struct fixture *f = *state;
	const char *rcpts[1] = {"ok@b.test"};
	struct queue_envelope env = {
		.direction = QUEUE_OUT,
		.mail_from = "a@a.test",
		.rcpts = rcpts,
		.nrcpt = 1,
	};
	static const char body[] = "Message-ID: <m@a.test>\r\n\r\nhi\r\n";
	char drawn[QUEUE_ID_LEN + 1], id[QUEUE_ID_LEN + 1];
	struct store *s = NULL;
	struct err e = {0};
	int64_t n = 0;

	if (store_open(f->db, 0, &s, &e) != 0)
		fail_msg("open: %s", e.msg);
	queue_id_next(drawn);
	memcpy(id, drawn, sizeof(id));
	assert_int_equal(queue_insert_as(s, &env, body, sizeof(body) - 1, 60,
	    id, &e), 0);
	assert_string_equal(id, drawn);
	/* The same id again: taken, so another one. */
	assert_int_equal(queue_insert_as(s, &env, body, sizeof(body) - 1, 60,
	    id, &e), 0);
	if (strcmp(id, drawn) == 0)
		fail_msg("got %s again, want another id", id);
	assert_int_equal(store_query_int(s, &n, &e, "SELECT count(*) FROM"
	    " queue_msg WHERE id IN (?, ?)", "ss", drawn, id), 1);
	assert_int_equal(n, 2);
	assert_int_equal(store_query_int(s, &n, &e, "SELECT count(*) FROM"
	    " queue_rcpt WHERE msg = ?", "s", id), 1);
	assert_int_equal(n, 1);
	store_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_queue_sent_recipients_are_final_and_the_message_is_removed,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_queue_failed_recipient_sends_one_dsn_to_a_local_sender,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_null_sender_gets_no_dsn,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_queue_deferred_recipient_is_retried_then_expires,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_queue_restart_resumes_pending_recipients, setup,
		    teardown),
		cmocka_unit_test(test_queue_backoff_doubles_up_to_the_maximum),
		cmocka_unit_test(test_queue_message_id_is_read_from_the_header_only),
		cmocka_unit_test(test_queue_ids_are_unique_and_ordered_by_time),
		cmocka_unit_test_setup_teardown(
		    test_queue_insert_as_keeps_the_drawn_id_or_draws_another,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
