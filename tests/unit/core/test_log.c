#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "tests/lib/testlib.h"

static void
test_log_writes_one_key_value_line_with_its_id(void **state)
{
	char *dir = testlib_tmpdir(), path[512], *text;

	(void)state;
	snprintf(path, sizeof(path), "%s/log", dir);
	log_init("dgtest", LOG_LEVEL_INFO);
	assert_int_equal(log_open_file(path), 0);
	log_info("Q42", "to=<%s> status=%s", "a@b.test", "sent");
	log_debug("Q43", "hidden=yes");
	log_warn(NULL, "multi=line\ninjected=yes");
	text = testlib_read_file(path, NULL);
	assert_non_null(text);
	assert_non_null(strstr(text,
	    "level=info id=Q42 to=<a@b.test> status=sent\n"));
	assert_null(strstr(text, "hidden"));
	/* A newline in a message cannot forge a second line. */
	assert_non_null(strstr(text, "multi=line injected=yes\n"));
	assert_int_equal(strchr(text, '\n') - text + 1 + (long)strlen(
	    strchr(text, '\n') + 1), (long)strlen(text));
	free(text);
	testlib_rmtree(dir);
	free(dir);
}

static void
test_log_reopen_follows_a_rotated_file(void **state)
{
	char *dir = testlib_tmpdir(), path[512], old[520], *text;

	(void)state;
	snprintf(path, sizeof(path), "%s/log", dir);
	snprintf(old, sizeof(old), "%s.1", path);
	assert_int_equal(log_open_file(path), 0);
	log_info(NULL, "first=1");
	assert_int_equal(rename(path, old), 0);
	log_reopen();
	log_info(NULL, "second=2");
	text = testlib_read_file(path, NULL);
	assert_non_null(strstr(text, "second=2"));
	assert_null(strstr(text, "first=1"));
	free(text);
	testlib_rmtree(dir);
	free(dir);
}

static void
test_log_levels_parse_and_safe_values_are_cleaned(void **state)
{
	enum log_level l;
	char buf[16];

	(void)state;
	assert_int_equal(log_level_parse("WARN", &l), 0);
	assert_int_equal(l, LOG_LEVEL_WARN);
	assert_int_equal(log_level_parse("loud", &l), -1);
	assert_string_equal(log_safe(buf, sizeof(buf), "a b=\"c\"\n"),
	    "a?b??c??");
	assert_string_equal(log_safe(buf, 4, "abcdef"), "abc");
	assert_string_equal(log_safe(buf, sizeof(buf), NULL), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_writes_one_key_value_line_with_its_id),
		cmocka_unit_test(test_log_reopen_follows_a_rotated_file),
		cmocka_unit_test(
		    test_log_levels_parse_and_safe_values_are_cleaned),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
