#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/domain.h"
#include "core/xmalloc.h"
#include "hisp/address.h"
#include "tests/lib/testlib.h"

struct fixture {
	char *dir;
	struct store *s;
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char *db;
	struct err e;

	f->dir = testlib_tmpdir();
	db = xasprintf("%s/t.db", f->dir);
	assert_int_equal(store_open(db, 0, &f->s, &e), 0);
	free(db);
	assert_int_equal(domain_add(f->s, "b.test", &e), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	store_free(&f->s);
	testlib_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void
test_address_add_requires_a_local_domain_and_a_valid_address(void **state)
{
	struct fixture *f = *state;
	struct err e;

	assert_int_equal(address_add(f->s, "dr.smith@b.test", ADDRESS_MAILBOX,
	    "pw", &e), 0);
	assert_int_equal(address_add(f->s, "Dr.Smith@B.test", ADDRESS_MAILBOX,
	    NULL, &e), -1);
	assert_non_null(strstr(e.msg, "already exists"));
	assert_int_equal(address_add(f->s, "x@c.test", ADDRESS_MAILBOX, NULL,
	    &e), -1);
	assert_non_null(strstr(e.msg, "not a local domain"));
	assert_int_equal(e.kind, ERR_PERM);
	assert_int_equal(address_add(f->s, "no-at-sign", ADDRESS_MAILBOX,
	    NULL, &e), -1);
	assert_int_equal(address_add(f->s, "a..b@b.test", ADDRESS_MAILBOX,
	    NULL, &e), -1);
	assert_int_equal(address_add(f->s, "a b@b.test", ADDRESS_MAILBOX,
	    NULL, &e), -1);
	assert_int_equal(address_lookup(f->s, "DR.SMITH@b.test", NULL, &e), 1);
	assert_int_equal(address_lookup(f->s, "nobody@b.test", NULL, &e), 0);
}

static void
test_address_password_is_hashed_slowly_and_verified(void **state)
{
	struct fixture *f = *state;
	struct store_stmt *st;
	struct err e;

	assert_int_equal(address_add(f->s, "a@b.test", ADDRESS_MAILBOX,
	    "correct horse", &e), 0);
	st = store_prepare(f->s, "SELECT password FROM address", &e);
	assert_int_equal(store_step(st, &e), 1);
	assert_true(strncmp(store_col_text(st, 0), "$y$", 3) == 0);
	assert_null(strstr(store_col_text(st, 0), "correct horse"));
	store_stmt_done(st);
	assert_int_equal(address_verify(f->s, "a@b.test", "correct horse",
	    &e), 1);
	assert_int_equal(address_verify(f->s, "a@b.test", "wrong", &e), 0);
	assert_int_equal(address_verify(f->s, "nobody@b.test", "x", &e), 0);
	assert_int_equal(address_set_password(f->s, "a@b.test", "new", &e), 0);
	assert_int_equal(address_verify(f->s, "a@b.test", "new", &e), 1);
	assert_int_equal(address_verify(f->s, "a@b.test", "correct horse",
	    &e), 0);
	assert_int_equal(address_set_password(f->s, "zz@b.test", "x", &e), -1);
}

static void
test_address_list_kinds_and_passwd_file(void **state)
{
	struct fixture *f = *state;
	struct address_info *v;
	size_t n;
	char *path, *text;
	struct err e;

	assert_int_equal(address_add(f->s, "b@b.test", ADDRESS_MAILBOX, "pw",
	    &e), 0);
	assert_int_equal(address_add(f->s, "adt@b.test", ADDRESS_INTAKE,
	    NULL, &e), 0);
	assert_int_equal(address_list(f->s, NULL, &v, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].address, "adt@b.test");
	assert_int_equal(v[0].kind, ADDRESS_INTAKE);
	assert_false(v[0].has_password);
	assert_true(v[1].has_password);
	address_info_free(&v, n);
	path = xasprintf("%s/passwd", f->dir);
	assert_int_equal(address_write_passwd_file(f->s, path, &e), 0);
	text = testlib_read_file(path, NULL);
	assert_non_null(strstr(text, "b@b.test:{CRYPT}$y$"));
	assert_null(strstr(text, "adt@b.test"));
	free(text);
	free(path);
	assert_int_equal(address_remove(f->s, "b@b.test", &e), 0);
	assert_int_equal(address_remove(f->s, "b@b.test", &e), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_address_add_requires_a_local_domain_and_a_valid_address,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_address_password_is_hashed_slowly_and_verified, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_address_list_kinds_and_passwd_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
