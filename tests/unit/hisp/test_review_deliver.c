/* Review regressions for hisp/deliver.c: a Maildir delivery is found
 * again on a retry (a crash lost its record) by a key that names the
 * queue message, not the recipient's place in this attempt's list: the
 * retry's list may hold more recipients (more came due meanwhile), and a
 * key by position then misses the first copy and delivers a second. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certs/domain.h"
#include "core/loop.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "hisp/address.h"
#include "hisp/deliver.h"
#include "tests/lib/testlib.h"

static int
count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int done_calls;
static struct loop *done_loop;

static void
task_done(struct queue_runner *r, struct queue_task *t)
{
	(void)r;
	(void)t;
	done_calls++;
	/* The loop's own signal handles end with the stop. */
	loop_stop(done_loop);
}

static const char body[] = "From: <mailer-daemon@b.test>\r\n"
    "To: <x@b.test>\r\nSubject: report\r\n\r\nbody\r\n";

/* One attempt of a local task of queue message id to rcpts. */
static void
attempt(struct deliver_ctx *ctx, const char *id, const char *const *rcpts,
    size_t n, int attempts)
{
	struct queue_task *t = xcalloc(1, sizeof(*t));

	str_lcpy(t->id, id, sizeof(t->id));
	t->direction = QUEUE_LOCAL;
	t->mail_from = xstrdup("");
	t->domain = xstrdup("b.test");
	t->body = xmemdup(body, sizeof(body) - 1);
	t->len = sizeof(body) - 1;
	t->attempts = attempts;
	t->received = ctx->started - 100;
	t->expires = ctx->started + 86400;
	t->rcpts = xcalloc(n, sizeof(*t->rcpts));
	t->nrcpt = n;
	for (size_t i = 0; i < n; i++)
		t->rcpts[i].rcpt = xstrdup(rcpts[i]);
	done_calls = 0;
	done_loop = ctx->loop;
	deliver_handle(ctx, NULL, t, task_done);
	assert_int_equal(loop_run(ctx->loop), 0);
	assert_int_equal(done_calls, 1);
	for (size_t i = 0; i < n; i++) {
		if (t->rcpts[i].outcome != QUEUE_DELIVERED)
			fail_msg("%s: got %s (%s), want delivered", rcpts[i],
			    queue_outcome_name(t->rcpts[i].outcome),
			    t->rcpts[i].reason);
		free(t->rcpts[i].rcpt);
		free(t->rcpts[i].relay);
	}
	free(t->rcpts);
	free(t->mail_from);
	free(t->domain);
	free(t->body);
	free(t);
}

static void
test_deliver_retry_with_more_recipients_due_finds_the_first_copy(
    void **state)
{
	char *dir = testlib_tmpdir(), *db, *mail, *cnew;
	static const char *const first[] = {"carol@b.test"};
	static const char *const retry[] = {"bob@b.test", "carol@b.test"};
	struct deliver_ctx ctx = {0};
	struct store *s;
	struct err e;

	(void)state;
	db = xasprintf("%s/t.db", dir);
	mail = xasprintf("%s/mail", dir);
	assert_int_equal(store_open(db, 0, &s, &e), 0);
	assert_int_equal(domain_add(s, "b.test", &e), 0);
	assert_int_equal(address_add(s, "bob@b.test", ADDRESS_MAILBOX, NULL,
	    &e), 0);
	assert_int_equal(address_add(s, "carol@b.test", ADDRESS_MAILBOX, NULL,
	    &e), 0);
	assert_int_equal(loop_new(&ctx.loop, &e), 0);
	ctx.db_path = db;
	ctx.maildir.root = mail;
	ctx.hostname = "mx.b.test";
	ctx.started = (int64_t)time(NULL);
	/* carol's copy is written; then the process dies before the
	 * outcome is recorded. */
	attempt(&ctx, "0123456789ABCDEF", first, 1, 0);
	/* After the restart bob has come due too, and sorts first. */
	attempt(&ctx, "0123456789ABCDEF", retry, 2, 1);
	cnew = xasprintf("%s/b.test/carol/new", mail);
	if (count_files(cnew) != 1)
		fail_msg("got %d copies in carol's Maildir, want 1",
		    count_files(cnew));
	free(cnew);
	cnew = xasprintf("%s/b.test/bob/new", mail);
	assert_int_equal(count_files(cnew), 1);
	free(cnew);
	loop_free(&ctx.loop);
	store_free(&s);
	testlib_rmtree(dir);
	free(mail);
	free(db);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_deliver_retry_with_more_recipients_due_finds_the_first_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
