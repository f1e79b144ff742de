/* MLLP notifications: acknowledgement outcomes and retry schedule. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "adt/notify_mllp.h"
#include "core/str.h"

static void
test_notify_mllp_classifies_acknowledgements(void **state)
{
	static const struct {
		const char *code, *cid;
		enum notify_mllp_outcome want;
	} cases[] = {
		{"AA", "C1", NOTIFY_MLLP_DELIVERED},
		{"CA", "C1", NOTIFY_MLLP_DELIVERED},
		{"AE", "C1", NOTIFY_MLLP_FAILED},
		{"CE", "C1", NOTIFY_MLLP_FAILED},
		{"AR", "C1", NOTIFY_MLLP_RETRY},
		{"CR", "C1", NOTIFY_MLLP_RETRY},
		{"AA", "OTHER", NOTIFY_MLLP_RETRY}, /* not our message */
	};
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char ack[256], code[4];
		enum notify_mllp_outcome o;

		str_fmt(ack, sizeof(ack), "MSH|^~\\&|R|R|DG|DG|20261101||"
		    "ACK^A01^ACK|K%zu|P|2.5.1\rMSA|%s|%s\r", i, cases[i].code,
		    cases[i].cid);
		o = notify_mllp_classify(ack, strlen(ack), "C1", code);
		if (o != cases[i].want) {
			printf("%s for %s: got %s, want %s\n", cases[i].code,
			    cases[i].cid, notify_mllp_outcome_name(o),
			    notify_mllp_outcome_name(cases[i].want));
			bad++;
		}
		assert_string_equal(code, cases[i].code);
	}
	assert_int_equal(bad, 0);
}

static void
test_notify_mllp_garbage_answer_is_retried(void **state)
{
	char code[4];

	(void)state;
	assert_int_equal(notify_mllp_classify("hello", 5, "C1", code),
	    NOTIFY_MLLP_RETRY);
	assert_string_equal(code, "-");
	assert_int_equal(notify_mllp_classify("", 0, "C1", code),
	    NOTIFY_MLLP_RETRY);
}

static void
test_notify_mllp_backoff_doubles_up_to_an_hour(void **state)
{
	(void)state;
	assert_int_equal(notify_mllp_backoff(1, 5000), 5000);
	assert_int_equal(notify_mllp_backoff(2, 5000), 10000);
	assert_int_equal(notify_mllp_backoff(3, 5000), 20000);
	assert_int_equal(notify_mllp_backoff(40, 5000), 3600000);
	assert_int_equal(notify_mllp_backoff(0, 5000), 5000);
}

static void
test_notify_mllp_next_state_after_each_outcome(void **state)
{
	int64_t next;

	(void)state;
	assert_string_equal(notify_mllp_next(NOTIFY_MLLP_DELIVERED, 1, 3, 1000,
	    50, &next), "delivered");
	/* AE: failed at once, never retried. */
	assert_string_equal(notify_mllp_next(NOTIFY_MLLP_FAILED, 1, 3, 1000,
	    50, &next), "failed");
	/* AR / timeout: pending with backoff until retries are used up. */
	assert_string_equal(notify_mllp_next(NOTIFY_MLLP_RETRY, 1, 3, 1000,
	    50, &next), "pending");
	assert_int_equal(next, 1050);
	assert_string_equal(notify_mllp_next(NOTIFY_MLLP_RETRY, 3, 3, 1000,
	    50, &next), "pending");
	assert_int_equal(next, 4050);
	assert_string_equal(notify_mllp_next(NOTIFY_MLLP_RETRY, 4, 3, 1000,
	    50, &next), "failed");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notify_mllp_classifies_acknowledgements),
		cmocka_unit_test(test_notify_mllp_garbage_answer_is_retried),
		cmocka_unit_test(test_notify_mllp_backoff_doubles_up_to_an_hour),
		cmocka_unit_test(
		    test_notify_mllp_next_state_after_each_outcome),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
