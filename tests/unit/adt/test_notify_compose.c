/* Composition: enrichment Z-segments (escaped), summary, Direct packaging. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "adt/hl7.h"
#include "adt/notify_compose.h"
#include "core/buf.h"

static const char adt[] =
    "MSH|^~\\&|EHR|HOSP|DG|DG|20261101120000||ADT^A01^ADT_A01|C1|P|2.5.1\r"
    "EVN|A01|20261101120000-0500\r"
    "PID|1||G1^^^CLINIC^MR||DOE^JANE^Q||19800101|F\r"
    "PV1|1|I|ICU^12^2^HOSP^^^^^Mercy General||||1234567893^WHO^JOHN^^^DR|||"
    "|||||||||V100|||||||||||||||||01||||||||20261101110000|20261103090000\r"
    "PV2|||CP^Chest pain\r"
    "DG1|1||I21.4^NSTEMI^I10\r";

static void
test_notify_compose_appends_z_segments_escaped(void **state)
{
	const char *npis[] = {"1234567893", "1245319599"};
	const char *pids[] = {"G|1^x"};
	struct notify_risk risk = {"READMIT", "HIGH", "0.82", "20261101",
	    "30-day readmission", "2.16.840.1.1", "20270101"};
	struct notify_enrich z = {npis, 2, pids, 1, "CK&9", &risk, 1, NULL};
	struct buf out;
	struct err e;
	const char *s;

	(void)state;
	buf_init(&out, BUF_UNLIMITED);
	assert_int_equal(notify_compose_enrich(adt, strlen(adt), &z, &out, &e),
	    0);
	s = buf_cstr(&out);
	assert_non_null(strstr(s, "\rZNP|ACRSNPI|1234567893\r"
	    "ZNP|ACRSNPI|1245319599\r"));
	assert_non_null(strstr(s, "\rZCK|CKS|CK\\T\\9\r"));
	assert_non_null(strstr(s, "\rZPD|PATIENTID|G\\F\\1\\S\\x\r"));
	assert_non_null(strstr(s, "\rZPR|1|READMIT|HIGH|0.82|20261101|"
	    "30-day readmission|2.16.840.1.1|20270101\r"));
	/* The original message is kept byte for byte before them. */
	assert_memory_equal(s, adt, strlen(adt));
	buf_release(&out);
}

static void
test_notify_compose_z_segment_set_is_configurable(void **state)
{
	const char *npis[] = {"1234567893"};
	const char *pids[] = {"G1"};
	struct notify_enrich z = {npis, 1, pids, 1, "CK9", NULL, 0, "ZPD"};
	struct buf out;
	struct err e;

	(void)state;
	buf_init(&out, BUF_UNLIMITED);
	assert_int_equal(notify_compose_enrich(adt, strlen(adt), &z, &out, &e),
	    0);
	assert_null(strstr(buf_cstr(&out), "ZNP|"));
	assert_null(strstr(buf_cstr(&out), "ZCK|"));
	assert_non_null(strstr(buf_cstr(&out), "ZPD|PATIENTID|G1\r"));
	buf_release(&out);
}

static void
test_notify_compose_summary_reads_like_a_notice(void **state)
{
	struct hl7_msg *m = NULL;
	struct buf out;
	struct err e;
	const char *s;
	static const char *want[] = {
		"ADT notification: Admission (inpatient)",
		"Patient:               JANE Q DOE",
		"Date of birth:         1980-01-01 (sex F)",
		"Event:                 Admission (inpatient) (A01)",
		"Patient class:         inpatient",
		"Event time:            2026-11-01 12:00 (UTC-05:00)",
		"Facility:              Mercy General",
		"Location:              ICU room 12 bed 2",
		"Treating practitioner: DR JOHN WHO (NPI 1234567893)",
		"Reason:                Chest pain",
		"Diagnosis:             NSTEMI (I21.4)",
		"Disposition:           home or self care (01)",
		"Discharge time:        2026-11-03 09:00",
	};

	(void)state;
	assert_int_equal(hl7_parse(adt, strlen(adt), &m, &e), 0);
	buf_init(&out, BUF_UNLIMITED);
	assert_int_equal(notify_compose_summary(m, "A01", 0, 0, &out), 0);
	s = buf_cstr(&out);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (strstr(s, want[i]) == NULL)
			fail_msg("got:\n%s\nwant a line: %s", s, want[i]);
	buf_reset(&out);
	notify_compose_summary(m, "A11", 1, 1, &out);
	assert_non_null(strstr(buf_cstr(&out), "TEST MESSAGE"));
	assert_non_null(strstr(buf_cstr(&out), "CANCELLATION: Admission "
	    "cancelled"));
	buf_release(&out);
	hl7_msg_free(&m);
}

static void
test_notify_compose_summary_transcodes_windows_1252(void **state)
{
	const char *cp = "MSH|^~\\&|EHR|HOSP|DG|DG|20261101||ADT^A01|C9|P|"
	    "2.5.1\rPID|1||G1||M\xDC" "LLER^REN\xC9" "E\x92" "S||19800101|F\r";
	const char *utf = "MSH|^~\\&|EHR|HOSP|DG|DG|20261101||ADT^A01|C9|P|"
	    "2.5.1\rPID|1||G1||M\xC3\x9C" "LLER^REN\xC3\x89" "E||19800101|F\r";
	struct hl7_msg *m = NULL;
	struct buf out;
	struct err e;

	(void)state;
	buf_init(&out, BUF_UNLIMITED);
	assert_int_equal(hl7_parse(cp, strlen(cp), &m, &e), 0);
	notify_compose_summary(m, "A01", 0, 0, &out);
	if (strstr(buf_cstr(&out), "REN\xC3\x89" "E\xE2\x80\x99" "S M\xC3\x9C" "LLER") ==
	    NULL)
		fail_msg("got:\n%s", buf_cstr(&out));
	hl7_msg_free(&m);
	buf_reset(&out);
	/* UTF-8 stays as it is. */
	assert_int_equal(hl7_parse(utf, strlen(utf), &m, &e), 0);
	notify_compose_summary(m, "A01", 0, 0, &out);
	assert_non_null(strstr(buf_cstr(&out), "REN\xC3\x89" "E M\xC3\x9C" "LLER"));
	hl7_msg_free(&m);
	buf_release(&out);
}

static void
test_notify_compose_direct_message_has_the_packaging(void **state)
{
	const void *parts[] = {adt};
	size_t lens[] = {sizeof(adt) - 1};
	struct notify_direct d = {
		.from = "notify@a.example", .to = "dr.smith@b.example",
		.message_id = "<notify.x@a.example>", .now = 1794000000,
		.event = "A01", .summary = "Hello\n", .summary_len = 6,
		.hl7 = parts, .hl7_len = lens, .n_hl7 = 1,
	};
	struct buf out;
	struct err e;
	const char *s;

	(void)state;
	buf_init(&out, BUF_UNLIMITED);
	assert_int_equal(notify_compose_direct(&d, &out, &e), 0);
	s = buf_cstr(&out);
	assert_non_null(strstr(s, "From: <notify@a.example>\r\n"));
	assert_non_null(strstr(s, "To: <dr.smith@b.example>\r\n"));
	assert_non_null(strstr(s, "Message-ID: <notify.x@a.example>\r\n"));
	assert_non_null(strstr(s, "Subject: ADT notification: Admission "
	    "(inpatient)\r\n"));
	assert_non_null(strstr(s, "Disposition-Notification-To: "
	    "<notify@a.example>\r\n"));
	assert_non_null(strstr(s, "Disposition-Notification-Options: "
	    "X-DIRECT-FINAL-DESTINATION-DELIVERY=optional,true\r\n"));
	assert_non_null(strstr(s, "Content-Type: multipart/mixed;"));
	assert_non_null(strstr(s, "Content-Type: text/plain; charset=UTF-8"));
	assert_non_null(strstr(s, "\r\nHello\r\n"));
	assert_non_null(strstr(s, "Content-Type: text/hl7v2; "
	    "name=\"adt.hl7\""));
	/* No PHI in the Subject. */
	assert_null(strstr(s, "DOE"));
	buf_release(&out);
}

static void
test_notify_compose_message_ids_are_unique(void **state)
{
	char a[160], b[160];

	(void)state;
	notify_compose_message_id("a.example", a, sizeof(a));
	notify_compose_message_id("a.example", b, sizeof(b));
	assert_string_not_equal(a, b);
	assert_true(a[0] == '<' && strstr(a, "@a.example>") != NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_notify_compose_appends_z_segments_escaped),
		cmocka_unit_test(
		    test_notify_compose_z_segment_set_is_configurable),
		cmocka_unit_test(
		    test_notify_compose_summary_reads_like_a_notice),
		cmocka_unit_test(
		    test_notify_compose_summary_transcodes_windows_1252),
		cmocka_unit_test(
		    test_notify_compose_direct_message_has_the_packaging),
		cmocka_unit_test(test_notify_compose_message_ids_are_unique),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
