#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "tests/lib/testlib.h"

static const struct config_def defs[] = {
	{"smtp", "listen", CONFIG_STR, "127.0.0.1:25", 0, 0, "address"},
	{"smtp", "max_recipients", CONFIG_INT, "100", 1, 1000, "limit"},
	{"smtp", "tls", CONFIG_BOOL, "yes", 0, 0, "starttls"},
	{"smtp", "timeout", CONFIG_DURATION, "5m", 1000, 3600000, "t"},
	{"smtp", "max_size", CONFIG_SIZE, "10M", 1024, 1073741824, "s"},
	{"core", "store", CONFIG_PATH, "directgate.db", 0, 0, "db"},
	CONFIG_DEF_END,
};

static struct config *
new_config(void)
{
	struct config *c = config_new("/srv/dg");

	config_add_defs(c, defs);
	return c;
}

static void
test_config_defaults_apply_without_a_file(void **state)
{
	struct config *c = new_config();

	(void)state;
	assert_string_equal(config_str(c, "smtp", "listen"), "127.0.0.1:25");
	assert_int_equal(config_int(c, "smtp", "max_recipients"), 100);
	assert_true(config_bool(c, "smtp", "tls"));
	assert_int_equal(config_int(c, "smtp", "timeout"), 300000);
	assert_int_equal(config_int(c, "smtp", "max_size"), 10485760);
	assert_string_equal(config_path(c, "core", "store"),
	    "/srv/dg/directgate.db");
	config_free(&c);
	assert_null(c);
	config_free(&c);
}

static void
test_config_reads_typed_values(void **state)
{
	struct config *c = new_config();
	struct err e;

	(void)state;
	assert_int_equal(config_load_string(c,
	    "; comment\n[smtp]\nlisten = 0.0.0.0:2525\nmax_recipients=5\n"
	    "tls = no\ntimeout = 30s\nmax_size = 4k\n[core]\n"
	    "store = /var/db.sqlite\n", "t.conf", &e), 0);
	assert_string_equal(config_str(c, "smtp", "listen"), "0.0.0.0:2525");
	assert_int_equal(config_int(c, "smtp", "max_recipients"), 5);
	assert_false(config_bool(c, "smtp", "tls"));
	assert_int_equal(config_int(c, "smtp", "timeout"), 30000);
	assert_int_equal(config_int(c, "smtp", "max_size"), 4096);
	assert_string_equal(config_path(c, "core", "store"), "/var/db.sqlite");
	config_free(&c);
}

struct bad_case {
	const char *text;
	const char *want; /* substring of the error */
};

static void
test_config_errors_name_file_line_and_key(void **state)
{
	static const struct bad_case cases[] = {
		{"[smtp]\nlisten = x\nlisen = y\n", "t.conf:3: [smtp] lisen: unknown key"},
		{"[nope]\nx = 1\n", "t.conf:2: [nope]: unknown section"},
		{"[smtp]\nmax_recipients = 0\n", "t.conf:2: [smtp] max_recipients: '0' is not a whole number from 1 to 1000"},
		{"[smtp]\nmax_recipients = 12x\n", "max_recipients"},
		{"[smtp]\ntls = perhaps\n", "t.conf:2: [smtp] tls: 'perhaps' is not yes or no"},
		{"[smtp]\ntimeout = 100ms\n", "timeout: '100ms' is outside"},
		{"[smtp]\ntimeout = soon\n", "not a duration"},
		{"[smtp]\nmax_size = 2G\n", "max_size"},
		{"[smtp\nlisten = x\n", "t.conf:1: syntax error"},
		{"[smtp]\njust a line\n", "t.conf:2: syntax error"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *c = new_config();
		struct err e;

		err_clear(&e);
		if (config_load_string(c, cases[i].text, "t.conf", &e) != -1)
			fail_msg("case %zu: got success, want '%s'", i,
			    cases[i].want);
		if (strstr(e.msg, cases[i].want) == NULL)
			fail_msg("case %zu: got '%s', want '%s'", i, e.msg,
			    cases[i].want);
		assert_int_equal(e.kind, ERR_CONFIG);
		config_free(&c);
	}
}

static void
test_config_file_missing_is_an_error(void **state)
{
	struct config *c = new_config();
	char *dir = testlib_tmpdir(), path[512];
	struct err e;

	(void)state;
	snprintf(path, sizeof(path), "%s/none.conf", dir);
	assert_int_equal(config_load_file(c, path, &e), -1);
	assert_non_null(strstr(e.msg, "cannot open"));
	snprintf(path, sizeof(path), "%s/ok.conf", dir);
	testlib_write_file(path, "[smtp]\nmax_recipients = 7\n", 26);
	assert_int_equal(config_load_file(c, path, &e), 0);
	assert_int_equal(config_int(c, "smtp", "max_recipients"), 7);
	testlib_rmtree(dir);
	free(dir);
	config_free(&c);
}

static void
test_config_dump_prints_every_key_by_section(void **state)
{
	struct config *c = new_config();
	struct buf out;
	const char *s;

	(void)state;
	buf_init(&out, BUF_UNLIMITED);
	config_dump(c, &out);
	s = buf_cstr(&out);
	assert_non_null(strstr(s, "[smtp]\n"));
	assert_non_null(strstr(s, "max_size = 10M\n"));
	assert_non_null(strstr(s, "[core]\n"));
	/* Each section once, in table order, each key under its own. */
	assert_null(strstr(strstr(s, "[smtp]") + 1, "[smtp]"));
	assert_null(strstr(strstr(s, "[core]") + 1, "[core]"));
	assert_true(strstr(s, "[smtp]") < strstr(s, "[core]"));
	assert_true(strstr(s, "max_size = 10M\n") < strstr(s, "[core]"));
	assert_true(strstr(s, "store = directgate.db\n") > strstr(s, "[core]"));
	buf_release(&out);
	config_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults_apply_without_a_file),
		cmocka_unit_test(test_config_reads_typed_values),
		cmocka_unit_test(test_config_errors_name_file_line_and_key),
		cmocka_unit_test(test_config_file_missing_is_an_error),
		cmocka_unit_test(test_config_dump_prints_every_key_by_section),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
