#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "tests/lib/testlib.h"

#include "core/config.h"
#include "hisp/hisp_config.h"

static struct config *
load(const char *text, struct err *e)
{
	struct config *c = config_new("/inst");

	config_add_defs(c, hisp_config_defs);
	if (config_load_string(c, text, "test.conf", e) != 0)
		config_free(&c);
	return c;
}

static void
test_hisp_config_defaults_follow_rfc5321(void **state)
{
	struct err e = {0};
	struct config *c = load("", &e);
	struct smtp_server_params p;
	struct smtp_client_params cp;

	assert_non_null(c);
	assert_int_equal(hisp_config_server_params(c, HISP_LISTENER_MX, false,
	    "mx.test", &p, &e), 0);
	assert_string_equal(p.hostname, "mx.test");
	assert_int_equal(p.max_command_line, 512);
	assert_int_equal(p.max_text_line, 1000);
	assert_int_equal(p.max_recipients, 100);
	assert_int_equal(p.max_message_size, 50 * 1024 * 1024);
	assert_int_equal(p.timeout_command_ms, 300000);
	assert_int_equal(p.timeout_data_ms, 600000);
	assert_int_equal(p.bare_lf, SMTP_SERVER_BARE_LF_NORMALIZE);
	assert_int_equal(config_int(c, "smtp", "max_sessions"), 1000);
	assert_int_equal(config_int(c, "smtp", "max_sessions_per_ip"), 50);
	assert_false(p.auth_enabled);
	assert_false(p.require_tls);
	assert_int_equal(hisp_config_client_params(c, "mx.test", &cp, &e), 0);
	assert_int_equal(cp.tls, SMTP_CLIENT_TLS_OPPORTUNISTIC);
	assert_int_equal(cp.timeout_greeting_ms, 300000);
	assert_int_equal(cp.timeout_data_ms, 120000);
	assert_int_equal(cp.timeout_block_ms, 180000);
	assert_int_equal(cp.timeout_final_ms, 600000);
	/* Submission needs TLS by default. */
	assert_int_equal(hisp_config_server_params(c,
	    HISP_LISTENER_SUBMISSION, false, "mx.test", &p, &e), -1);
	assert_int_equal(e.kind, ERR_CONFIG);
	assert_int_equal(hisp_config_server_params(c,
	    HISP_LISTENER_SUBMISSION, true, "mx.test", &p, &e), 0);
	assert_true(p.auth_enabled && p.auth_requires_tls && p.require_tls &&
	    p.require_auth && p.tls_available);
	config_free(&c);
}

static void
test_hisp_config_reads_values(void **state)
{
	struct err e = {0};
	struct config *c = load("[smtp]\nmax_message_size = 10M\n"
	    "max_recipients = 250\ntimeout_command = 2s\nbare_lf = reject\n"
	    "tls_cert = tls/cert.pem\n[smtp_client]\ntls = required\n", &e);
	struct smtp_server_params p;
	struct smtp_client_params cp;

	assert_non_null(c);
	assert_int_equal(hisp_config_server_params(c, HISP_LISTENER_MX, true,
	    "h", &p, &e), 0);
	assert_int_equal(p.max_message_size, 10 * 1024 * 1024);
	assert_int_equal(p.max_recipients, 250);
	assert_int_equal(p.timeout_command_ms, 2000);
	assert_int_equal(p.bare_lf, SMTP_SERVER_BARE_LF_REJECT);
	assert_string_equal(config_path(c, "smtp", "tls_cert"),
	    "/inst/tls/cert.pem");
	assert_int_equal(hisp_config_client_params(c, "h", &cp, &e), 0);
	assert_int_equal(cp.tls, SMTP_CLIENT_TLS_REQUIRED);
	config_free(&c);
}

static void
test_hisp_config_rejects_bad_values(void **state)
{
	static const char *const bad[] = {
		"[smtp]\nmax_recipients = 99\n",
		"[smtp]\nmax_command_line = 511\n",
		"[smtp]\nmax_text_line = 999\n",
		"[smtp]\nno_such_key = 1\n",
		"[smtp]\nmax_sessions = 0\n",
		"[smtp]\nmax_sessions_per_ip = -1\n",
	};
	struct err e = {0};
	struct smtp_server_params p;
	struct smtp_client_params cp;
	struct config *c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = load(bad[i], &e);
		if (c != NULL)
			fail_msg("case %zu: got accepted, want an error", i);
	}
	c = load("[smtp]\nbare_lf = maybe\n[smtp_client]\ntls = sometimes\n", &e);
	assert_non_null(c);
	assert_int_equal(hisp_config_server_params(c, HISP_LISTENER_MX, false,
	    "h", &p, &e), -1);
	assert_non_null(strstr(e.msg, "bare_lf"));
	assert_int_equal(hisp_config_client_params(c, "h", &cp, &e), -1);
	assert_non_null(strstr(e.msg, "tls"));
	config_free(&c);
}

static void
test_hisp_config_splits_listen_addresses(void **state)
{
	static const struct {
		const char *value;
		size_t i;
		int want_rc;
		const char *want_host;
		int want_port;
	} cases[] = {
		{"0.0.0.0:25", 0, 1, "0.0.0.0", 25},
		{"0.0.0.0:25, [::1]:2525", 1, 1, "::1", 2525},
		{"0.0.0.0:25,127.0.0.1:26", 1, 1, "127.0.0.1", 26},
		{"0.0.0.0:25", 1, 0, NULL, 0},
		{"", 0, 0, NULL, 0},
		{"localhost", 0, -1, NULL, 0},
		{"h:0", 0, -1, NULL, 0},
		{"h:70000", 0, -1, NULL, 0},
		{"[::1]25", 0, -1, NULL, 0},
		{":25", 0, -1, NULL, 0},
	};
	int failures = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char host[64] = "";
		int port = 0, rc;
		struct err e = {0};

		rc = hisp_config_listen_addr(cases[i].value, cases[i].i, host,
		    sizeof(host), &port, &e);
		if (rc != cases[i].want_rc || (rc == 1 &&
		    (strcmp(host, cases[i].want_host) != 0 ||
		    port != cases[i].want_port))) {
			print_error("\"%s\" #%zu: got %d %s %d, want %d %s %d\n",
			    cases[i].value, cases[i].i, rc, host, port,
			    cases[i].want_rc, cases[i].want_host ?
			    cases[i].want_host : "-", cases[i].want_port);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void
test_hisp_config_hostname_falls_back_to_system(void **state)
{
	struct err e = {0};
	struct config *c = load("", &e);
	char h[256];

	assert_int_equal(hisp_config_hostname(c, h, sizeof(h), &e), 0);
	assert_true(strlen(h) > 0);
	config_free(&c);
	c = load("[smtp]\nhostname = mx.a.test\n", &e);
	assert_int_equal(hisp_config_hostname(c, h, sizeof(h), &e), 0);
	assert_string_equal(h, "mx.a.test");
	assert_int_equal(hisp_config_hostname(c, h, 4, &e), -1);
	config_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hisp_config_defaults_follow_rfc5321),
		cmocka_unit_test(test_hisp_config_reads_values),
		cmocka_unit_test(test_hisp_config_rejects_bad_values),
		cmocka_unit_test(test_hisp_config_splits_listen_addresses),
		cmocka_unit_test(test_hisp_config_hostname_falls_back_to_system),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
