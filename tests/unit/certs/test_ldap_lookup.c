/* RFC 2782 ordering of LDAP SRV targets, filter escaping, and the lookup's
 * answer when no server can be reached. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "certs/ldap_lookup.h"
#include "tests/lib/testlib.h"

static void
test_ldap_lookup_orders_by_priority_lowest_first(void **state)
{
	struct ldap_lookup_srv v[] = {
	    {2, 0, 389, "c"}, {0, 0, 389, "a"}, {1, 0, 389, "b"},
	};
	uint64_t seed = 42;

	ldap_lookup_order_srv(v, 3, &seed);
	if (strcmp(v[0].target, "a") != 0 || strcmp(v[1].target, "b") != 0 ||
	    strcmp(v[2].target, "c") != 0)
		fail_msg("got %s %s %s, want a b c", v[0].target, v[1].target,
		    v[2].target);
}

static void
test_ldap_lookup_draws_by_weight_within_a_priority(void **state)
{
	int first_heavy = 0, rounds = 10000;
	uint64_t seed = 1;

	for (int i = 0; i < rounds; i++) {
		struct ldap_lookup_srv v[] = {
		    {0, 10, 389, "light"}, {0, 90, 389, "heavy"},
		    {1, 50, 389, "backup"},
		};

		ldap_lookup_order_srv(v, 3, &seed);
		assert_string_equal(v[2].target, "backup");
		if (strcmp(v[0].target, "heavy") == 0)
			first_heavy++;
	}
	/* 90 of 100 expected */
	if (first_heavy < rounds * 85 / 100 || first_heavy > rounds * 95 / 100)
		fail_msg("heavy first %d of %d times, want about 90%%",
		    first_heavy, rounds);
}

static void
test_ldap_lookup_weight_zero_rarely_first(void **state)
{
	int zero_first = 0, rounds = 10000;
	uint64_t seed = 99;

	for (int i = 0; i < rounds; i++) {
		struct ldap_lookup_srv v[] = {
		    {0, 0, 389, "zero"}, {0, 100, 389, "hundred"},
		};

		ldap_lookup_order_srv(v, 2, &seed);
		if (strcmp(v[0].target, "zero") == 0)
			zero_first++;
	}
	if (zero_first > rounds / 50)
		fail_msg("weight 0 first %d of %d times, want under 2%%",
		    zero_first, rounds);
}

static void
test_ldap_lookup_same_seed_gives_same_order(void **state)
{
	struct ldap_lookup_srv a[] = {
	    {0, 30, 1, "x"}, {0, 30, 2, "y"}, {0, 40, 3, "z"},
	}, b[3];
	uint64_t s1 = 7, s2 = 7;

	memcpy(b, a, sizeof(a));
	ldap_lookup_order_srv(a, 3, &s1);
	ldap_lookup_order_srv(b, 3, &s2);
	for (int i = 0; i < 3; i++)
		assert_string_equal(a[i].target, b[i].target);
}

static void
test_ldap_lookup_escapes_filter_values(void **state)
{
	char out[64];

	assert_int_equal(ldap_lookup_escape("a*(b)\\c@d.test", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "a\\2a\\28b\\29\\5cc@d.test");
	assert_int_equal(ldap_lookup_escape("abcdef", out, 4), -1);
}

static void
test_ldap_lookup_unreachable_servers_are_temporary(void **state)
{
	/* port 1 on loopback: nothing listens, refused at once */
	struct ldap_lookup_server sv[] = {
	    {"ldap://127.0.0.1:1", "dead1"}, {"ldap://127.0.0.1:1", "dead2"},
	};
	struct ldap_lookup_opts o = {500, 500, 16, 65536};
	struct ldap_lookup_result res;
	struct err e;

	assert_int_equal(ldap_lookup_certs(sv, 2, "a@b.test", &o, &res, &e),
	    -1);
	assert_int_equal(e.kind, ERR_TEMP);
	assert_false(res.answered);
	assert_non_null(res.failures);
	assert_non_null(strstr(res.failures, "dead1"));
	assert_non_null(strstr(res.failures, "dead2"));
	ldap_lookup_result_release(&res);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ldap_lookup_orders_by_priority_lowest_first),
	    cmocka_unit_test(test_ldap_lookup_draws_by_weight_within_a_priority),
	    cmocka_unit_test(test_ldap_lookup_weight_zero_rarely_first),
	    cmocka_unit_test(test_ldap_lookup_same_seed_gives_same_order),
	    cmocka_unit_test(test_ldap_lookup_escapes_filter_values),
	    cmocka_unit_test(test_ldap_lookup_unreachable_servers_are_temporary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
