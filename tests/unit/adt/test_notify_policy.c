/* The notification agent's event policy. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "adt/hl7.h"
#include "adt/notify_policy.h"
#include "core/str.h"

static struct hl7_msg *
msg(const char *event, const char *proc, const char *cls, const char *extra)
{
	char text[2048];
	struct hl7_msg *m = NULL;
	struct err e;

	str_fmt(text, sizeof(text),
	    "MSH|^~\\&|EHR|HOSP|DG|DG|20261101120000||ADT^%s^ADT_A01|C1|%s|2.5.1\r"
	    "EVN|%s|20261101120000\r"
	    "PID|1||G1^^^CLINIC^MR||DOE^JANE||19800101|F\r"
	    "PV1|1|%s|ICU^1^2^HOSP|||||||%s|||||||||V100\r%s",
	    event, proc, event, cls, strstr(extra, "SVC=") == extra ?
	    extra + 4 : "", strstr(extra, "SVC=") == extra ? "" : extra);
	if (hl7_parse(text, strlen(text), &m, &e) != 0)
		fail_msg("parse: %s", e.msg);
	return m;
}

static void
test_notify_policy_follows_the_event_table(void **state)
{
	static const struct {
		const char *event, *cls;
		enum notify_action want;
		const char *cancels;
	} cases[] = {
		{"A01", "I", NOTIFY_SEND, ""},
		{"A02", "I", NOTIFY_SEND, ""},
		{"A03", "I", NOTIFY_SEND, ""},
		{"A04", "E", NOTIFY_SEND, ""},
		{"A04", "O", NOTIFY_SUBSCRIBED, ""},
		{"A05", "I", NOTIFY_IGNORE, ""},
		{"A08", "I", NOTIFY_SUBSCRIBED, ""},
		{"A11", "I", NOTIFY_RETRACT, "A01"},
		{"A12", "I", NOTIFY_RETRACT, "A02"},
		{"A13", "I", NOTIFY_RETRACT, "A03"},
		{"A28", "", NOTIFY_IGNORE, ""},
		{"A31", "", NOTIFY_IGNORE, ""},
		{"A40", "", NOTIFY_MERGE, ""},
	};
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hl7_msg *m = msg(cases[i].event, "P", cases[i].cls, "");
		struct notify_policy p;

		notify_policy_decide(m, NULL, &p);
		if (p.action != cases[i].want ||
		    strcmp(p.cancels, cases[i].cancels) != 0) {
			printf("%s class %s: got %s cancels '%s', want %s "
			    "cancels '%s'\n", cases[i].event, cases[i].cls,
			    notify_action_name(p.action), p.cancels,
			    notify_action_name(cases[i].want),
			    cases[i].cancels);
			bad++;
		}
		assert_false(p.test);
		hl7_msg_free(&m);
	}
	assert_int_equal(bad, 0);
}

static void
test_notify_policy_marks_test_and_debug_traffic(void **state)
{
	const char *procs[] = {"T", "D", "P"};
	const bool want[] = {true, true, false};

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct hl7_msg *m = msg("A01", procs[i], "I", "");
		struct notify_policy p;

		notify_policy_decide(m, NULL, &p);
		if (p.test != want[i])
			fail_msg("MSH-11 %s: got test=%d, want %d", procs[i],
			    p.test, want[i]);
		hl7_msg_free(&m);
	}
}

static void
test_notify_policy_finds_sensitive_events(void **state)
{
	struct hl7_msg *m;
	struct notify_policy p;

	(void)state;
	m = msg("A01", "P", "I", "DG1|1||F32.9^Major depressive disorder^I10\r");
	notify_policy_decide(m, NULL, &p);
	assert_true(p.sensitive);
	assert_string_equal(p.sensitive_why, "diagnosis");
	hl7_msg_free(&m);

	m = msg("A01", "P", "I", "DG1|1||I21.4^NSTEMI^I10\r");
	notify_policy_decide(m, NULL, &p);
	assert_false(p.sensitive);
	hl7_msg_free(&m);

	m = msg("A01", "P", "I", "SVC=PSY");
	notify_policy_decide(m, NULL, &p);
	assert_true(p.sensitive);
	assert_string_equal(p.sensitive_why, "service");
	hl7_msg_free(&m);

	m = msg("A01", "P", "I", "");
	notify_policy_decide(m, "OTHER, HOSP", &p);
	assert_true(p.sensitive);
	assert_string_equal(p.sensitive_why, "facility");
	notify_policy_decide(m, "OTHER", &p);
	assert_false(p.sensitive);
	hl7_msg_free(&m);
}

static void
test_notify_policy_visit_key_is_facility_and_visit_number(void **state)
{
	struct hl7_msg *a = msg("A01", "P", "I", ""), *b = msg("A11", "P",
	    "I", "");
	struct notify_policy pa, pb;
	char d[17];

	(void)state;
	notify_policy_decide(a, NULL, &pa);
	notify_policy_decide(b, NULL, &pb);
	assert_string_equal(pa.visit, "HOSP|v|V100");
	assert_string_equal(pa.visit, pb.visit);
	notify_policy_digest(pa.visit, d);
	assert_int_equal(strlen(d), 16);
	hl7_msg_free(&a);
	hl7_msg_free(&b);
}

static void
test_notify_policy_list_has_matches_whole_words(void **state)
{
	(void)state;
	assert_true(notify_policy_list_has("ZNP,ZPD", "zpd"));
	assert_true(notify_policy_list_has(" A01 ; A03", "A03"));
	assert_false(notify_policy_list_has("ZNPX", "ZNP"));
	assert_false(notify_policy_list_has(NULL, "ZNP"));
	assert_false(notify_policy_list_has("", "ZNP"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notify_policy_follows_the_event_table),
		cmocka_unit_test(test_notify_policy_marks_test_and_debug_traffic),
		cmocka_unit_test(test_notify_policy_finds_sensitive_events),
		cmocka_unit_test(
		    test_notify_policy_visit_key_is_facility_and_visit_number),
		cmocka_unit_test(test_notify_policy_list_has_matches_whole_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
