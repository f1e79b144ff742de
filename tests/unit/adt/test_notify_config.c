/* The [notify] settings. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "adt/acrs_config.h"
#include "adt/notify_config.h"
#include "core/config.h"

static void
test_notify_config_defaults_without_the_table(void **state)
{
	struct config *c = config_new("/tmp");
	struct notify_settings s;
	struct err e;

	(void)state;
	assert_int_equal(notify_config_read(c, &s, &e), 0);
	assert_true(s.enabled);
	assert_int_equal(s.poll_ms, 200);
	assert_string_equal(s.zsegments, "ZNP,ZPD,ZCK,ZPR");
	assert_int_equal(s.mllp_retries, 10);
	config_free(&c);
}

static void
test_notify_config_reads_every_key(void **state)
{
	struct config *c = config_new("/tmp");
	struct notify_settings s;
	struct err e;

	(void)state;
	config_add_defs(c, notify_config_defs);
	config_add_defs(c, acrs_config_defs);
	if (config_load_string(c, "[notify]\nenabled = no\nfrom = n@a.test\n"
	    "poll = 50ms\nbatch = 8\nzsegments = ZPD\n"
	    "sensitive_facilities = PSYCH1, RehabX\ntest_address = qa@a.test\n"
	    "mllp_timeout = 2s\nmllp_retries = 3\nmllp_backoff = 250ms\n"
	    "digest_check = 1m\n[acrs]\nmatch_threshold = 15\n", "t",
	    &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(notify_config_read(c, &s, &e), 0);
	assert_false(s.enabled);
	assert_string_equal(s.from, "n@a.test");
	assert_int_equal(s.poll_ms, 50);
	assert_int_equal(s.batch, 8);
	assert_string_equal(s.zsegments, "ZPD");
	assert_string_equal(s.sensitive_facilities, "PSYCH1, RehabX");
	assert_string_equal(s.test_address, "qa@a.test");
	assert_int_equal(s.mllp_timeout_ms, 2000);
	assert_int_equal(s.mllp_retries, 3);
	assert_int_equal(s.mllp_backoff_ms, 250);
	assert_int_equal(s.digest_check_ms, 60000);
	assert_true(s.acrs.match_threshold > 14.9 &&
	    s.acrs.match_threshold < 15.1);
	config_free(&c);
}

static void
test_notify_config_rejects_out_of_range(void **state)
{
	struct config *c = config_new("/tmp");
	struct err e;

	(void)state;
	config_add_defs(c, notify_config_defs);
	assert_int_equal(config_load_string(c, "[notify]\nbatch = 0\n", "t",
	    &e), -1);
	assert_int_equal(config_load_string(c, "[notify]\nbogus = 1\n", "t",
	    &e), -1);
	config_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notify_config_defaults_without_the_table),
		cmocka_unit_test(test_notify_config_reads_every_key),
		cmocka_unit_test(test_notify_config_rejects_out_of_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
