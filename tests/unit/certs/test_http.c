/* certs/http: the libcurl fetch with its limits, on local files (the
 * HTTP side runs against a real server in the integration tests). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/http.h"
#include "tests/lib/testlib.h"

static void
test_http_fetch_reads_file_within_limit(void **state)
{
	char *dir = testlib_tmpdir();
	char path[512], url[600];
	char data[2048];
	struct buf b;
	struct err e;

	memset(data, 'x', sizeof(data));
	snprintf(path, sizeof(path), "%s/f.bin", dir);
	testlib_write_file(path, data, sizeof(data));
	buf_init(&b, BUF_UNLIMITED);
	snprintf(url, sizeof(url), "file://%s", path);
	assert_int_equal(http_fetch_default(NULL, url, 4096, 5000, &b, &e), 0);
	assert_int_equal(b.len, sizeof(data));
	buf_reset(&b);
	/* A bare absolute path works too. */
	assert_int_equal(http_fetch_default(NULL, path, 4096, 5000, &b, &e), 0);
	assert_int_equal(b.len, sizeof(data));
	buf_reset(&b);
	assert_int_equal(http_fetch_default(NULL, url, 1024, 5000, &b, &e), -1);
	assert_int_equal(e.kind, ERR_PERM);
	assert_non_null(strstr(e.msg, "larger than"));
	buf_release(&b);
	testlib_rmtree(dir);
	free(dir);
}

static void
test_http_fetch_refuses_bad_urls(void **state)
{
	struct buf b;
	struct err e;

	buf_init(&b, BUF_UNLIMITED);
	assert_int_equal(http_fetch_default(NULL, "ldap://x.example/", 1024,
	    1000, &b, &e), -1);
	assert_int_equal(e.kind, ERR_PERM);
	assert_int_equal(http_fetch_default(NULL, "", 1024, 1000, &b, &e), -1);
	assert_int_equal(http_fetch_default(NULL, "file:///nonexistent/x",
	    1024, 1000, &b, &e), -1);
	/* Nothing listens on port 1 of loopback: temporary. */
	assert_int_equal(http_fetch_default(NULL, "http://127.0.0.1:1/x.crl",
	    1024, 2000, &b, &e), -1);
	assert_int_equal(e.kind, ERR_TEMP);
	assert_true(http_url_is_http("HTTPS://a.example/"));
	assert_false(http_url_is_http("file:///x"));
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_fetch_reads_file_within_limit),
		cmocka_unit_test(test_http_fetch_refuses_bad_urls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
