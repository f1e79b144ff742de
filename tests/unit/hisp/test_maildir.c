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
test_maildir_delivers_into_new_and_leaves_tmp_empty(void **state)
{
	char *root = testlib_tmpdir(), *name, *path, *text;
	struct maildir_opts o = {.root = root};
	struct err e;

	(void)state;
	assert_int_equal(maildir_deliver(&o, "Dr.Smith@B.test", "Subject: x\r\n"
	    "\r\nbody\r\n", 20, &name, &e), 0);
	assert_non_null(strstr(name, ",S=20"));
	path = xasprintf("%s/b.test/dr.smith/new/%s", root, name);
	text = testlib_read_file(path, NULL);
	assert_non_null(text);
	assert_string_equal(text, "Subject: x\r\n\r\nbody\r\n");
	free(text);
	free(path);
	free(name);
	path = xasprintf("%s/b.test/dr.smith/tmp", root);
	assert_int_equal(count_files(path), 0);
	free(path);
	path = xasprintf("%s/b.test/dr.smith/cur", root);
	assert_int_equal(count_files(path), 0);
	free(path);
	/* Two deliveries never share a name. */
	assert_int_equal(maildir_deliver(&o, "dr.smith@b.test", "a", 1, NULL,
	    &e), 0);
	assert_int_equal(maildir_deliver(&o, "dr.smith@b.test", "a", 1, NULL,
	    &e), 0);
	path = xasprintf("%s/b.test/dr.smith/new", root);
	assert_int_equal(count_files(path), 3);
	free(path);
	testlib_rmtree(root);
	free(root);
}

static void
test_maildir_refuses_addresses_that_escape_the_root(void **state)
{
	static const char *const bad[] = {
		"../x@b.test", "x@../etc", "a/b@b.test", ".hidden@b.test",
		"x@", "@b.test", "nobody",
	};
	char *root = testlib_tmpdir();
	struct maildir_opts o = {.root = root};
	struct err e;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (maildir_deliver(&o, bad[i], "x", 1, NULL, &e) != -1)
			fail_msg("'%s': got delivered, want refused", bad[i]);
		assert_int_equal(e.kind, ERR_PERM);
	}
	testlib_rmtree(root);
	free(root);
}

static void
test_maildir_unwritable_root_is_a_temporary_failure(void **state)
{
	struct maildir_opts o = {.root = "/proc/no/such/dir"};
	struct err e;

	(void)state;
	assert_int_equal(maildir_deliver(&o, "a@b.test", "x", 1, NULL, &e), -1);
	assert_int_equal(e.kind, ERR_TEMP);
}

static void
test_maildir_once_finds_its_first_copy_on_a_retry(void **state)
{
	char *root = testlib_tmpdir(), *n1, *n2, *path, *from, *to;
	struct maildir_opts o = {.root = root};
	struct err e;

	(void)state;
	assert_int_equal(maildir_deliver_once(&o, "a@b.test", "Q1x0", false,
	    "one", 3, &n1, &e), 0);
	assert_non_null(strstr(n1, "XQ1x0."));
	/* A retry: the copy in new/ counts as delivered. */
	assert_int_equal(maildir_deliver_once(&o, "a@b.test", "Q1x0", true,
	    "one", 3, &n2, &e), 0);
	assert_string_equal(n1, n2);
	free(n2);
	/* Also once the reader moved it to cur/ with flags. */
	from = xasprintf("%s/b.test/a/new/%s", root, n1);
	to = xasprintf("%s/b.test/a/cur/%s:2,S", root, n1);
	assert_int_equal(rename(from, to), 0);
	assert_int_equal(maildir_deliver_once(&o, "a@b.test", "Q1x0", true,
	    "one", 3, &n2, &e), 0);
	assert_non_null(strstr(n2, "XQ1x0."));
	free(n2);
	path = xasprintf("%s/b.test/a/new", root);
	assert_int_equal(count_files(path), 0);
	free(path);
	/* Another key is another message; a bad key is refused. */
	assert_int_equal(maildir_deliver_once(&o, "a@b.test", "Q1x1", true,
	    "two", 3, NULL, &e), 0);
	assert_int_equal(maildir_deliver_once(&o, "a@b.test", "../x", true,
	    "two", 3, NULL, &e), -1);
	free(from);
	free(to);
	free(n1);
	testlib_rmtree(root);
	free(root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_maildir_delivers_into_new_and_leaves_tmp_empty),
		cmocka_unit_test(
		    test_maildir_refuses_addresses_that_escape_the_root),
		cmocka_unit_test(
		    test_maildir_unwritable_root_is_a_temporary_failure),
		cmocka_unit_test(
		    test_maildir_once_finds_its_first_copy_on_a_retry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
