/* The notification agent against a real store: policy, match, care team,
 * consent, routing, Z-segments, the dedup key, retractions, test traffic. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adt/acrs_import.h"
#include "adt/acrs_match.h"
#include "adt/directory_import.h"
#include "adt/notify.h"
#include "adt/notify_config.h"
#include "adt/notify_plan.h"
#include "core/store.h"
#include "core/str.h"
#include "tests/lib/testlib.h"
#include "tests/unit/adt/notify_fixture.h"

#define TODAY 20261120
#define NOW_MS INT64_C(1795650000000) /* 2026-11-20 */

static const char acrs_csv[] =
    "patient_id,patient_id_type,assigning_authority,last_name,first_name,"
    "dob,sex,address1,city,state,zip,phone,provider_npi,provider_name,"
    "relationship,organization,last_seen,consent\n"
    "G1,MR,CLINIC,Doe,Jane,1980-01-01,F,12 Main Street,Lansing,MI,48906,"
    "517-555-0101,1234567893,Dr Smith,pcp,Clinic A,2026-06-15,standard\n"
    "G1,MR,CLINIC,Doe,Jane,1980-01-01,F,12 Main Street,Lansing,MI,48906,"
    "517-555-0101,1333333338,Dr Jones,specialist,Heart,2026-06-15,standard\n"
    "G1,MR,CLINIC,Doe,Jane,1980-01-01,F,12 Main Street,Lansing,MI,48906,"
    "517-555-0101,1444444446,Dr Brown,behavioral_health,Mind,2026-06-15,"
    "restricted\n";

static const struct notify_fixture_table dir_csv[] = {
	{DIRECTORY_PROVIDERS, "npi,last_name,first_name,status\n"
	    "1234567893,Smith,Jane,active\n1333333338,Jones,Robert,active\n"
	    "1444444446,Brown,Alice,active\n"},
	{DIRECTORY_ENDPOINTS, "owner_npi,kind,address,rank,active\n"
	    "1234567893,direct,dr.smith@b.example,1,yes\n"
	    "1333333338,mllp,127.0.0.1:2576,1,yes\n"
	    "1444444446,direct,dr.brown@b.example,1,yes\n"},
	{DIRECTORY_PREFERENCES, "owner_npi,events,classes,format,timing\n"
	    "1333333338,\"A01,A03\",*,hl7,realtime\n"},
};

static int
setup(void **state)
{
	*state = notify_fx_new(acrs_csv, TODAY, dir_csv,
	    sizeof(dir_csv) / sizeof(dir_csv[0]));
	return 0;
}

static int
teardown(void **state)
{
	notify_fx_free(*state);
	return 0;
}

static void
add_adt(struct notify_fx *f, const char *cid, const char *event,
    const char *proc, const char *visit, const char *extra)
{
	notify_fixture_add_adt(f->s, NOW_MS, cid, event, proc, visit, extra);
}

static int64_t
count(struct notify_fx *f, const char *sql, const char *arg)
{
	return notify_fixture_count(f->s, sql, arg);
}

static void
run(struct notify_fx *f, unsigned want_n, struct notify_apply_stats *st)
{
	unsigned n = 0;
	struct err e;

	memset(st, 0, sizeof(*st));
	if (notify_run_pending(f->s, f->mt, &f->set, "notify@a.example",
	    NOW_MS, 100, &n, st, &e) != 0)
		fail_msg("run: %s", e.msg);
	assert_int_equal(n, want_n);
}

static void
test_notify_plan_a01_reaches_each_member_once(void **state)
{
	struct notify_fx *f = *state;
	struct notify_apply_stats st;

	add_adt(f, "C1", "A01", "P", "V100", "");
	run(f, 1, &st);
	assert_int_equal(st.direct, 2);
	assert_int_equal(st.mllp, 1);
	assert_int_equal(count(f, "SELECT count(*) FROM queue_msg WHERE"
	    " mail_from = ?", "notify@a.example"), 2);
	assert_int_equal(count(f, "SELECT count(*) FROM notify_sent WHERE"
	    " kind = 'mllp' AND recipient = ? AND instr(payload,"
	    " 'ZNP|ACRSNPI|1333333338' || char(13)) > 0 AND instr(payload,"
	    " 'ZPD|PATIENTID|G1' || char(13)) > 0", "127.0.0.1:2576"), 1);
	/* The MLLP copy carries only its own provider's NPI. */
	assert_int_equal(count(f, "SELECT count(*) FROM notify_sent WHERE"
	    " kind = 'mllp' AND instr(payload, ?) > 0", "1234567893|"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM adt_event WHERE"
	    " state = ?", "done"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM notify_audit WHERE"
	    " step = 'match' AND instr(detail, ?) > 0", "decision=match"), 1);

	/* The same admission again, with a new control id: nothing new. */
	add_adt(f, "C2", "A01", "P", "V100", "");
	run(f, 1, &st);
	assert_int_equal(st.direct + st.mllp + st.digest, 0);
	assert_int_equal(st.duplicates, 3);
	assert_int_equal(count(f, "SELECT count(*) FROM queue_msg WHERE"
	    " mail_from = ?", "notify@a.example"), 2);
}

static void
test_notify_plan_restricted_consent_withholds_sensitive_events(void **state)
{
	struct notify_fx *f = *state;
	struct notify_apply_stats st;

	add_adt(f, "C3", "A01", "P", "V200",
	    "DG1|1||F32.9^Major depressive disorder^I10\r");
	run(f, 1, &st);
	assert_int_equal(st.direct, 1);
	assert_int_equal(st.mllp, 1);
	assert_int_equal(count(f, "SELECT count(*) FROM notify_sent WHERE"
	    " recipient = ?", "dr.brown@b.example"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM notify_audit WHERE"
	    " step = 'suppressed' AND npi = '1444444446' AND instr(detail, ?)"
	    " > 0", "consent_restricted"), 1);
}

static void
test_notify_plan_a11_retracts_what_was_sent(void **state)
{
	struct notify_fx *f = *state;
	struct notify_apply_stats st;

	add_adt(f, "C1", "A01", "P", "V100", "");
	add_adt(f, "C4", "A11", "P", "V100", "");
	run(f, 2, &st);
	assert_int_equal(count(f, "SELECT count(*) FROM notify_sent WHERE"
	    " event = ? AND retracts IS NOT NULL", "A11"), 3);
	assert_int_equal(count(f, "SELECT count(*) FROM notify_sent s JOIN"
	    " notify_sent r ON r.retracts = s.id WHERE s.event = ?", "A01"), 3);
	/* A cancel of a visit nobody was told about sends nothing. */
	add_adt(f, "C5", "A11", "P", "V999", "");
	run(f, 1, &st);
	assert_int_equal(st.direct + st.mllp, 0);
	assert_int_equal(count(f, "SELECT count(*) FROM notify_audit WHERE"
	    " step = 'retract' AND instr(detail, ?) > 0", "nothing_sent"), 1);
}

static void
test_notify_plan_test_traffic_never_reaches_production(void **state)
{
	struct notify_fx *f = *state;
	struct notify_apply_stats st;

	add_adt(f, "T1", "A01", "T", "V300", "");
	run(f, 1, &st);
	assert_int_equal(st.direct + st.mllp + st.digest, 0);
	assert_int_equal(count(f, "SELECT count(*) FROM notify_audit WHERE"
	    " instr(detail, ?) > 0", "reason=test_traffic"), 1);
	/* With a test address, it goes there and nowhere else. */
	str_lcpy(f->set.test_address, "qa@a.example",
	    sizeof(f->set.test_address));
	add_adt(f, "T2", "A01", "D", "V301", "");
	run(f, 1, &st);
	assert_int_equal(st.direct, 1);
	assert_int_equal(count(f, "SELECT count(*) FROM notify_sent WHERE"
	    " visit LIKE '%V301' AND recipient <> ?", "qa@a.example"), 0);
}

static void
test_notify_plan_a08_goes_only_to_subscribers(void **state)
{
	struct notify_fx *f = *state;
	struct notify_apply_stats st;

	add_adt(f, "C6", "A08", "P", "V100", "");
	run(f, 1, &st);
	assert_int_equal(st.direct + st.mllp + st.digest, 0);
	assert_int_equal(count(f, "SELECT count(*) FROM notify_audit WHERE"
	    " instr(detail, ?) > 0", "reason=not_subscribed"), 2);
}

static void
test_notify_plan_unknown_patient_notifies_nobody(void **state)
{
	struct notify_fx *f = *state;
	struct notify_apply_stats st;
	char text[1024];
	struct err e;

	str_fmt(text, sizeof(text), "MSH|^~\\&|EHR|HOSP|DG|DG|20261120||"
	    "ADT^A01^ADT_A01|U1|P|2.5.1\rEVN|A01|20261120\rPID|1||Z9^^^OTHER^MR"
	    "||ROE^RICHARD||19500505|M\rPV1|1|I\r");
	assert_int_equal(store_run(f->s, &e, "INSERT INTO adt_event (received,"
	    " channel, sender, facility, control_id, msg_type, event, size,"
	    " raw, state_changed) VALUES (1, 'cli', 't', 'HOSP', 'U1', 'ADT',"
	    " 'A01', 1, ?, 1)", "b", text, strlen(text)), 0);
	run(f, 1, &st);
	assert_int_equal(st.direct + st.mllp + st.digest, 0);
	assert_int_equal(count(f, "SELECT count(*) FROM notify_audit WHERE"
	    " step = 'match' AND instr(detail, ?) > 0", "decision=none"), 1);
}

static void
test_notify_plan_digest_gathers_the_day_into_one_message(void **state)
{
	struct notify_fx *f = *state;
	struct notify_apply_stats st;
	unsigned n = 0;
	struct err e;

	/* Dr Brown wants a daily digest at 07:00. */
	assert_int_equal(store_run(f->s, &e, "INSERT INTO dir_preference"
	    " (owner_npi, format, timing) VALUES (?, 'hl7+text', '07:00')",
	    "s", "1444444446"), 0);
	add_adt(f, "D1", "A01", "P", "V500", "");
	add_adt(f, "D2", "A03", "P", "V500", "");
	run(f, 2, &st);
	assert_int_equal(st.digest, 2);
	assert_int_equal(count(f, "SELECT count(*) FROM queue_msg WHERE"
	    " instr(CAST(body AS TEXT), ?) > 0", "dr.brown@b.example"), 0);
	/* Not due yet: nothing. */
	assert_int_equal(notify_digest_run(f->s, "notify@a.example", NOW_MS,
	    &n, &e), 0);
	assert_int_equal(n, 0);
	/* The next morning: one message with both events. */
	assert_int_equal(notify_digest_run(f->s, "notify@a.example",
	    NOW_MS + INT64_C(86400000), &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(count(f, "SELECT count(*) FROM queue_msg WHERE"
	    " instr(CAST(body AS TEXT), ?) > 0", "adt-2.hl7"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM queue_msg WHERE"
	    " instr(CAST(body AS TEXT), ?) > 0", "daily digest (2)"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM notify_sent WHERE"
	    " kind = 'digest' AND state = ?", "queued"), 2);
	/* Sent once. */
	assert_int_equal(notify_digest_run(f->s, "notify@a.example",
	    NOW_MS + INT64_C(86400000) * 2, &n, &e), 0);
	assert_int_equal(n, 0);
}

static void
test_notify_plan_a40_links_identities_and_never_fans_out(void **state)
{
	struct notify_fx *f = *state;
	struct notify_apply_stats st;
	const char *a40 = "MSH|^~\\&|EHR|HOSP|DG|DG|20261120||ADT^A40^ADT_A39|"
	    "M1|P|2.5.1\rEVN|A40|20261120\rPID|1||N77^^^HOSP2^MR||SMITH^JO||"
	    "19700707|F\rMRG|G1^^^CLINIC^MR\r";
	const char *a01 = "MSH|^~\\&|EHR|HOSP|DG|DG|20261120||ADT^A01^ADT_A01|"
	    "M2|P|2.5.1\rEVN|A01|20261120\rPID|1||N77^^^HOSP2^MR||SMITH^JO||"
	    "19700707|F\rPV1|1|I|||||||||||||||||||V900\r";
	struct err e;

	assert_int_equal(store_run(f->s, &e, "INSERT INTO adt_event (received,"
	    " channel, sender, facility, control_id, msg_type, event, size,"
	    " raw, state_changed) VALUES (1, 'cli', 't', 'HOSP', 'M1', 'ADT',"
	    " 'A40', 1, ?, 1)", "b", a40, strlen(a40)), 0);
	run(f, 1, &st);
	assert_int_equal(st.direct + st.mllp + st.digest, 0);
	assert_int_equal(count(f, "SELECT count(*) FROM acrs_link WHERE"
	    " ident = ?", "N77"), 1);
	/* The next ADT under the new identifier reaches the care team. */
	assert_int_equal(store_run(f->s, &e, "INSERT INTO adt_event (received,"
	    " channel, sender, facility, control_id, msg_type, event, size,"
	    " raw, state_changed) VALUES (1, 'cli', 't', 'HOSP', 'M2', 'ADT',"
	    " 'A01', 1, ?, 1)", "b", a01, strlen(a01)), 0);
	run(f, 1, &st);
	assert_int_equal(st.direct, 2);
	assert_int_equal(st.mllp, 1);
}

static void
test_notify_plan_possible_match_is_held_for_review_not_sent(void **state)
{
	struct notify_fx *f = *state;
	struct notify_apply_stats st;
	/* Same family, birth date and address, another first name (a twin):
	 * at most a possible match. */
	const char *a01 = "MSH|^~\\&|EHR|HOSP|DG|DG|20261120||ADT^A01^ADT_A01|"
	    "P1|P|2.5.1\rEVN|A01|20261120\rPID|1||Z1^^^OTHER^MR||DOE^MARY||"
	    "19800101|F|||12 MAIN ST^^LANSING^MI^48906\r"
	    "PV1|1|I|||||||||||||||||||V800\r";
	struct err e;

	assert_int_equal(store_run(f->s, &e, "INSERT INTO adt_event (received,"
	    " channel, sender, facility, control_id, msg_type, event, size,"
	    " raw, state_changed) VALUES (1, 'cli', 't', 'HOSP', 'P1', 'ADT',"
	    " 'A01', 1, ?, 1)", "b", a01, strlen(a01)), 0);
	run(f, 1, &st);
	assert_int_equal(st.direct + st.mllp + st.digest, 0);
	assert_int_equal(count(f, "SELECT count(*) FROM notify_audit WHERE"
	    " step = 'held' AND instr(detail, ?) > 0", "possible_match"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM acrs_review WHERE"
	    " state = 'pending' AND event_ref = ?", "P1"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_notify_plan_a01_reaches_each_member_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_notify_plan_restricted_consent_withholds_sensitive_events,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_notify_plan_a11_retracts_what_was_sent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_notify_plan_test_traffic_never_reaches_production,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_notify_plan_a08_goes_only_to_subscribers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_notify_plan_unknown_patient_notifies_nobody, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_notify_plan_digest_gathers_the_day_into_one_message,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_notify_plan_a40_links_identities_and_never_fans_out,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_notify_plan_possible_match_is_held_for_review_not_sent,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
