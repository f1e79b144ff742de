/* Review regressions for hisp/maildir.c: a delivery that fails after its
 * file was written (the rename into new/ refused) leaves nothing in tmp/:
 * every retry of the queue (every hour for days) would otherwise leave
 * one more copy of the message there. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/xmalloc.h"
#include "hisp/maildir.h"
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

static void
test_maildir_failed_rename_leaves_tmp_empty(void **state)
{
	char *root = testlib_tmpdir(), *box, *newp, *tmpp;
	struct maildir_opts o = {.root = root};
	struct err e;

	(void)state;
	box = maildir_path(&o, "bob@b.test", &e);
	assert_non_null(box);
	/* new/ is not a directory: the rename into it fails. */
	newp = xasprintf("%s/new", box);
	tmpp = xasprintf("%s/tmp", box);
	assert_int_equal(rmdir(newp), 0);
	testlib_write_file(newp, "x", 1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(maildir_deliver(&o, "bob@b.test", "Subject: x\r\n"
		    "\r\nbody\r\n", 20, NULL, &e), -1);
		assert_int_equal(e.kind, ERR_TEMP);
	}
	if (count_files(tmpp) != 0)
		fail_msg("got %d files left in tmp/, want 0", count_files(tmpp));
	free(newp);
	free(tmpp);
	free(box);
	testlib_rmtree(root);
	free(root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maildir_failed_rename_leaves_tmp_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
