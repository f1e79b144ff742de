#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "adt/adt_config.h"
#include "core/config.h"

static void
test_adt_config_splits_host_and_port(void **state)
{
	static const struct {
		const char *in;
		int rc;
		const char *host;
		int port;
	} cases[] = {
	    {"127.0.0.1:2575", 0, "127.0.0.1", 2575},
	    {"[::1]:2575", 0, "::1", 2575},
	    {"host.example:1", 0, "host.example", 1},
	    {"127.0.0.1", -1, NULL, 0},
	    {":2575", -1, NULL, 0},
	    {"127.0.0.1:0", -1, NULL, 0},
	    {"127.0.0.1:65536", -1, NULL, 0},
	    {"[::1]2575", -1, NULL, 0},
	    {"127.0.0.1:x", -1, NULL, 0},
	    {NULL, 0, NULL, 0},
	};

	(void)state;
	for (int i = 0; cases[i].in; i++) {
		char host[64];
		int port = 0;
		int rc = adt_config_split_hostport(cases[i].in, host,
		    sizeof(host), &port);

		if (rc != cases[i].rc)
			fail_msg("\"%s\": got %d, want %d", cases[i].in, rc,
			    cases[i].rc);
		if (rc == 0 && (strcmp(host, cases[i].host) != 0 ||
		    port != cases[i].port))
			fail_msg("\"%s\": got %s %d, want %s %d", cases[i].in,
			    host, port, cases[i].host, cases[i].port);
	}
}

static void
test_adt_config_checks_listen_and_ack_mode(void **state)
{
	struct config *c = config_new("/tmp");
	struct err e = {0};

	(void)state;
	config_add_defs(c, adt_config_defs);
	assert_int_equal(adt_config_check(c, &e), 0);
	assert_string_equal(config_str(c, "mllp", "listen"), "");
	assert_int_equal(config_int(c, "mllp", "max_frame"), 1 << 20);
	assert_int_equal(config_load_string(c, "[mllp]\nlisten = 127.0.0.1:2575"
	    "\nack_mode = enhanced\nmax_frame = 64k\n", "t", &e), 0);
	assert_int_equal(adt_config_check(c, &e), 0);
	assert_int_equal(config_int(c, "mllp", "max_frame"), 65536);
	assert_int_equal(config_set(c, "mllp", "ack_mode", "sometimes", &e), 0);
	assert_int_equal(adt_config_check(c, &e), -1);
	assert_non_null(strstr(e.msg, "ack_mode"));
	assert_int_equal(config_set(c, "mllp", "ack_mode", "auto", &e), 0);
	assert_int_equal(config_set(c, "mllp", "listen", "nowhere", &e), 0);
	assert_int_equal(adt_config_check(c, &e), -1);
	assert_int_equal(e.kind, ERR_CONFIG);
	assert_int_equal(config_set(c, "mllp", "max_frame", "10", &e), -1);
	config_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adt_config_splits_host_and_port),
		cmocka_unit_test(test_adt_config_checks_listen_and_ack_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
