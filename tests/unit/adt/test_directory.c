#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "adt/directory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adt/directory_import.h"
#include "core/log.h"
#include "core/store.h"
#include "core/xmalloc.h"
#include "tests/lib/testlib.h"

/* NPIs with a valid Luhn check digit. */
#define P_SMITH "1234567893"
#define P_JONES "1333333338"
#define P_BROWN "1444444446"
#define P_GARCIA "1555555550"
#define P_LEE "1666666668"
#define P_PATEL "1777777776"
#define P_NGUYEN "1888888884"
#define O_MERCY "1222222220"
#define O_RIVER "1987654328"
#define O_LAKE "1111111112"
#define O_CHILD "1100000003"

struct fix {
	char *dir;
	struct store *s;
};

static int
setup(void **state)
{
	struct fix *f = xcalloc(1, sizeof(*f));
	struct err e = {0};
	char *path;

	log_init("test", LOG_LEVEL_ERROR);
	f->dir = testlib_tmpdir();
	path = xasprintf("%s/dir.db", f->dir);
	if (store_open(path, 0, &f->s, &e) != 0)
		fail_msg("store_open: %s", e.msg);
	free(path);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	store_free(&f->s);
	testlib_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Imports csv text as table t; the import must be clean. */
static void
load(struct store *s, enum directory_table t, const char *csv)
{
	struct directory_rows *rows = directory_rows_new();
	struct directory_report *rep = directory_report_new();
	struct err e = {0};

	assert_int_equal(directory_import_csv(rows, t, csv, strlen(csv),
	    "fixture.csv", rep), 0);
	if (directory_import_apply(s, rows, 0, rep, &e) != 0)
		fail_msg("apply: %s", e.msg);
	if (rep->total != 0)
		fail_msg("fixture problem: %s row %lu column %s: %s: %s",
		    rep->problems[0].origin, rep->problems[0].row,
		    rep->problems[0].column, rep->problems[0].code,
		    rep->problems[0].message);
	assert_true(rep->committed);
	directory_rows_free(&rows);
	directory_report_free(&rep);
}

/* The directory of tests/data/directory in small. */
static void
load_base(struct store *s)
{
	load(s, DIRECTORY_ORGANIZATIONS,
	    "npi,name,parent_npi\n"
	    O_MERCY ",Mercy,\n"
	    O_RIVER ",Riverside," O_MERCY "\n"
	    O_LAKE ",Lakeside,\n");
	load(s, DIRECTORY_PROVIDERS,
	    "npi,last_name,status\n"
	    P_SMITH ",Smith,active\n" P_JONES ",Jones,active\n"
	    P_BROWN ",Brown,\n" P_GARCIA ",Garcia,\n" P_LEE ",Lee,inactive\n"
	    P_PATEL ",Patel,\n" P_NGUYEN ",Nguyen,\n");
	load(s, DIRECTORY_MEMBERSHIPS,
	    "provider_npi,organization_npi,role\n"
	    P_SMITH "," O_RIVER ",pcp\n" P_BROWN "," O_RIVER ",pcp\n"
	    P_GARCIA "," O_RIVER ",np\n" P_JONES "," O_LAKE ",cardiology\n");
}

static void
route(struct store *s, const char *npi, const char *event, char pclass,
    struct directory_route *r)
{
	struct err e = {0};

	if (directory_route(s, npi, event, pclass, r, &e) != 0)
		fail_msg("directory_route: %s", e.msg);
}

static void
expect_routed(const struct directory_route *r, const char *address)
{
	if (r->status != DIRECTORY_ROUTED)
		fail_msg("got %s (%s: %s), want routed to %s",
		    directory_route_status_name(r->status), r->reason,
		    r->detail, address);
	if (strcmp(r->targets[0].address, address) != 0)
		fail_msg("got %s, want %s", r->targets[0].address, address);
}

static void
expect_not(const struct directory_route *r, enum directory_route_status st,
    const char *reason)
{
	if (r->status != st || strcmp(r->reason, reason) != 0)
		fail_msg("got %s/%s (%s), want %s/%s",
		    directory_route_status_name(r->status), r->reason,
		    r->detail, directory_route_status_name(st), reason);
	assert_int_equal(r->ntargets, 0);
}

static void
test_npi_valid_accepts_luhn_checked_npis_only(void **state)
{
	static const struct {
		const char *npi;
		bool ok;
	} cases[] = {
		{"1234567893", true}, {"1987654328", true},
		{"1234567890", false}, {"123456789", false},
		{"12345678931", false}, {"12345678a3", false},
		{"", false}, {"0000000006", false}, {"1111111112", true},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = directory_npi_valid(cases[i].npi);

		if (got != cases[i].ok)
			fail_msg("npi %s: got %d, want %d", cases[i].npi, got,
			    cases[i].ok);
	}
	(void)state;
}

static void
test_address_normalize_checks_direct_and_mllp_forms(void **state)
{
	static const struct {
		enum directory_kind k;
		const char *in;
		const char *want; /* NULL: rejected */
	} cases[] = {
		{DIRECTORY_KIND_DIRECT, "Dr.Smith@Direct.B.Test",
		    "Dr.Smith@direct.b.test"},
		{DIRECTORY_KIND_DIRECT, "nobody", NULL},
		{DIRECTORY_KIND_DIRECT, "a@b@c.test", NULL},
		{DIRECTORY_KIND_DIRECT, "a@localhost", NULL},
		{DIRECTORY_KIND_DIRECT, "a b@c.test", NULL},
		{DIRECTORY_KIND_DIRECT, "@c.test", NULL},
		{DIRECTORY_KIND_DIRECT, "a@c..test", NULL},
		{DIRECTORY_KIND_MLLP, "MLLP.Example.Test:2575",
		    "mllp.example.test:2575"},
		{DIRECTORY_KIND_MLLP, "127.0.0.1:2575", "127.0.0.1:2575"},
		{DIRECTORY_KIND_MLLP, "[::1]:2575", "[::1]:2575"},
		{DIRECTORY_KIND_MLLP, "host:0", NULL},
		{DIRECTORY_KIND_MLLP, "host:65536", NULL},
		{DIRECTORY_KIND_MLLP, "host", NULL},
		{DIRECTORY_KIND_MLLP, ":2575", NULL},
		{DIRECTORY_KIND_MLLP, "ho_st:2575", NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char got[DIRECTORY_ADDRESS_MAX];
		struct err e = {0};
		int rc = directory_address_normalize(cases[i].k, cases[i].in,
		    got, &e);

		if (cases[i].want == NULL) {
			if (rc == 0)
				fail_msg("%s: got %s, want rejected",
				    cases[i].in, got);
			assert_true(e.msg[0] != '\0');
		} else if (rc != 0 || strcmp(got, cases[i].want) != 0) {
			fail_msg("%s: got %s (%s), want %s", cases[i].in,
			    rc == 0 ? got : "rejected", e.msg,
			    cases[i].want);
		}
	}
	(void)state;
}

static void
test_events_and_classes_normalize_to_sorted_sets(void **state)
{
	static const struct {
		const char *in;
		const char *want;
	} ev[] = {
		{"A03,A01", "A01,A03"}, {"a01; A01 A08", "A01,A08"},
		{"*", "*"}, {"", "*"}, {" * ", "*"}, {"A00", NULL},
		{"A63", NULL}, {"B01", NULL}, {"A1", NULL}, {"A01,*", NULL},
	}, cl[] = {
		{"I,E", "EI"}, {"vio", "IOV"}, {"*", "*"}, {"", "*"},
		{"P", NULL}, {"EI;X", NULL},
	};
	char got[256];

	for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
		int rc = directory_events_normalize(ev[i].in, got,
		    sizeof(got), NULL);

		if (ev[i].want == NULL ? rc == 0 :
		    (rc != 0 || strcmp(got, ev[i].want) != 0))
			fail_msg("events '%s': got %s, want %s", ev[i].in,
			    rc == 0 ? got : "rejected",
			    ev[i].want ? ev[i].want : "rejected");
	}
	for (size_t i = 0; i < sizeof(cl) / sizeof(cl[0]); i++) {
		int rc = directory_classes_normalize(cl[i].in, got,
		    sizeof(got), NULL);

		if (cl[i].want == NULL ? rc == 0 :
		    (rc != 0 || strcmp(got, cl[i].want) != 0))
			fail_msg("classes '%s': got %s, want %s", cl[i].in,
			    rc == 0 ? got : "rejected",
			    cl[i].want ? cl[i].want : "rejected");
	}
	(void)state;
}

static void
test_timing_parses_realtime_and_digest_times(void **state)
{
	static const struct {
		const char *in;
		int rc;
		bool digest;
		int minute;
	} cases[] = {
		{"realtime", 0, false, 0}, {"", 0, false, 0},
		{"07:00", 0, true, 420}, {"digest 18:30", 0, true, 1110},
		{"daily 00:05", 0, true, 5}, {"24:00", -1, false, 0},
		{"7:00", -1, false, 0}, {"07:60", -1, false, 0},
		{"weekly", -1, false, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool digest;
		int minute, rc;

		rc = directory_timing_parse(cases[i].in, &digest, &minute,
		    NULL);
		if (rc != cases[i].rc || (rc == 0 &&
		    (digest != cases[i].digest || minute != cases[i].minute)))
			fail_msg("timing '%s': got rc %d digest %d minute %d, "
			    "want %d %d %d", cases[i].in, rc, digest, minute,
			    cases[i].rc, cases[i].digest, cases[i].minute);
	}
	(void)state;
}

static void
test_route_takes_the_lowest_rank_and_lists_fallbacks_in_order(void **state)
{
	struct fix *f = *state;
	struct directory_route r;

	load_base(f->s);
	load(f->s, DIRECTORY_ENDPOINTS,
	    "owner_npi,kind,address,rank\n"
	    P_SMITH ",direct,third@b.test,3\n"
	    P_SMITH ",direct,first@b.test,1\n"
	    P_SMITH ",direct,second@b.test,2\n");
	route(f->s, P_SMITH, "A01", 'I', &r);
	expect_routed(&r, "first@b.test");
	assert_int_equal(r.ntargets, 3);
	assert_string_equal(r.targets[1].address, "second@b.test");
	assert_string_equal(r.targets[2].address, "third@b.test");
	assert_false(r.targets[0].via_organization);
	assert_false(r.targets[0].digest);
	assert_int_equal(r.targets[0].format, DIRECTORY_FORMAT_HL7_TEXT);
}

static void
test_route_skips_inactive_endpoints(void **state)
{
	struct fix *f = *state;
	struct directory_route r;

	load_base(f->s);
	load(f->s, DIRECTORY_ENDPOINTS,
	    "owner_npi,kind,address,rank,active\n"
	    P_SMITH ",direct,old@b.test,1,no\n"
	    P_SMITH ",direct,new@b.test,2,yes\n");
	route(f->s, P_SMITH, "A01", 'I', &r);
	expect_routed(&r, "new@b.test");
	assert_int_equal(r.ntargets, 1);
}

static void
test_route_preference_filters_events(void **state)
{
	struct fix *f = *state;
	struct directory_route r;

	load_base(f->s);
	load(f->s, DIRECTORY_ENDPOINTS, "owner_npi,kind,address\n"
	    P_SMITH ",direct,dr.smith@b.test\n");
	load(f->s, DIRECTORY_PREFERENCES, "owner_npi,events,format\n"
	    P_SMITH ",\"A01,A03\",hl7+text\n");
	route(f->s, P_SMITH, "A01", 'I', &r);
	expect_routed(&r, "dr.smith@b.test");
	route(f->s, P_SMITH, "A03", 'O', &r);
	expect_routed(&r, "dr.smith@b.test");
	route(f->s, P_SMITH, "A08", 'I', &r);
	expect_not(&r, DIRECTORY_DECLINED, "not_wanted");
	/* Declined is not "no endpoint": no organization fallback. */
	route(f->s, P_SMITH, "A02", 'I', &r);
	expect_not(&r, DIRECTORY_DECLINED, "not_wanted");
}

static void
test_route_preference_filters_patient_classes(void **state)
{
	struct fix *f = *state;
	struct directory_route r;

	load_base(f->s);
	load(f->s, DIRECTORY_ENDPOINTS, "owner_npi,kind,address\n"
	    P_SMITH ",direct,dr.smith@b.test\n");
	load(f->s, DIRECTORY_PREFERENCES, "owner_npi,events,classes\n"
	    P_SMITH ",*,\"E,I\"\n");
	route(f->s, P_SMITH, "A01", 'E', &r);
	expect_routed(&r, "dr.smith@b.test");
	route(f->s, P_SMITH, "A01", 'i', &r);
	expect_routed(&r, "dr.smith@b.test");
	route(f->s, P_SMITH, "A01", 'O', &r);
	expect_not(&r, DIRECTORY_DECLINED, "not_wanted");
	/* An unknown class passes only an unfiltered preference. */
	route(f->s, P_SMITH, "A01", '\0', &r);
	expect_not(&r, DIRECTORY_DECLINED, "not_wanted");
}

static void
test_route_preference_format_chooses_the_endpoint_kind(void **state)
{
	struct fix *f = *state;
	struct directory_route r;

	load_base(f->s);
	load(f->s, DIRECTORY_ENDPOINTS, "owner_npi,kind,address,rank\n"
	    P_JONES ",direct,jones@b.test,1\n"
	    P_JONES ",mllp,127.0.0.1:2576,2\n");
	/* Only HL7 over MLLP is wanted: the direct address (rank 1) is
	 * passed over. */
	load(f->s, DIRECTORY_PREFERENCES, "owner_npi,events,classes,format\n"
	    P_JONES ",A01 A03,EI,hl7\n");
	route(f->s, P_JONES, "A01", 'I', &r);
	expect_routed(&r, "127.0.0.1:2576");
	assert_int_equal(r.ntargets, 1);
	assert_int_equal(r.targets[0].kind, DIRECTORY_KIND_MLLP);
	assert_int_equal(r.targets[0].format, DIRECTORY_FORMAT_HL7);
}

static void
test_route_reports_the_digest_time_of_the_preference(void **state)
{
	struct fix *f = *state;
	struct directory_route r;

	load_base(f->s);
	load(f->s, DIRECTORY_ENDPOINTS, "owner_npi,kind,address\n"
	    P_PATEL ",direct,raj@b.test\n");
	load(f->s, DIRECTORY_PREFERENCES, "owner_npi,events,timing\n"
	    P_PATEL ",A03,07:00\n" P_PATEL ",A01,realtime\n");
	route(f->s, P_PATEL, "A03", 'I', &r);
	expect_routed(&r, "raj@b.test");
	assert_true(r.targets[0].digest);
	assert_int_equal(r.targets[0].digest_minute, 7 * 60);
	route(f->s, P_PATEL, "A01", 'I', &r);
	expect_routed(&r, "raj@b.test");
	assert_false(r.targets[0].digest);
}

static void
test_route_falls_back_to_the_organization_without_own_endpoint(void **state)
{
	struct fix *f = *state;
	struct directory_route r;

	load_base(f->s);
	load(f->s, DIRECTORY_ENDPOINTS, "owner_npi,kind,address\n"
	    O_RIVER ",direct,inbox@riverside.b.test\n");
	route(f->s, P_BROWN, "A01", 'I', &r);
	expect_routed(&r, "inbox@riverside.b.test");
	assert_true(r.targets[0].via_organization);
	assert_string_equal(r.targets[0].owner_npi, O_RIVER);
}

static void
test_route_lists_the_organization_after_every_own_endpoint(void **state)
{
	struct fix *f = *state;
	struct directory_route r;

	load_base(f->s);
	load(f->s, DIRECTORY_ENDPOINTS, "owner_npi,kind,address,rank\n"
	    O_RIVER ",direct,inbox@riverside.b.test,1\n"
	    P_GARCIA ",direct,second@b.test,5\n"
	    P_GARCIA ",direct,first@b.test,2\n");
	route(f->s, P_GARCIA, "A01", 'I', &r);
	expect_routed(&r, "first@b.test");
	assert_int_equal(r.ntargets, 3);
	assert_string_equal(r.targets[1].address, "second@b.test");
	assert_false(r.targets[1].via_organization);
	assert_string_equal(r.targets[2].address, "inbox@riverside.b.test");
	assert_true(r.targets[2].via_organization);
}

static void
test_route_falls_back_when_every_own_endpoint_is_inactive(void **state)
{
	struct fix *f = *state;
	struct directory_route r;

	load_base(f->s);
	load(f->s, DIRECTORY_ENDPOINTS, "owner_npi,kind,address,active\n"
	    P_GARCIA ",direct,old@b.test,no\n"
	    O_RIVER ",direct,inbox@riverside.b.test,yes\n");
	route(f->s, P_GARCIA, "A03", 'O', &r);
	expect_routed(&r, "inbox@riverside.b.test");
	assert_true(r.targets[0].via_organization);
}

static void
test_route_organization_fallback_honours_both_preferences(void **state)
{
	struct fix *f = *state;
	struct directory_route r;

	load_base(f->s);
	load(f->s, DIRECTORY_ENDPOINTS, "owner_npi,kind,address\n"
	    O_RIVER ",direct,inbox@riverside.b.test\n");
	load(f->s, DIRECTORY_PREFERENCES, "owner_npi,events,timing\n"
	    O_RIVER ",\"A01,A03,A08\",realtime\n"
	    P_BROWN ",\"A01,A02\",06:15\n");
	route(f->s, P_BROWN, "A01", 'I', &r);
	expect_routed(&r, "inbox@riverside.b.test");
	/* The member's own timing wins. */
	assert_true(r.targets[0].digest);
	assert_int_equal(r.targets[0].digest_minute, 6 * 60 + 15);
	/* The organization declines A02, the member A08. */
	route(f->s, P_BROWN, "A02", 'I', &r);
	expect_not(&r, DIRECTORY_DECLINED, "not_wanted");
	route(f->s, P_BROWN, "A08", 'I', &r);
	expect_not(&r, DIRECTORY_DECLINED, "not_wanted");
}

static void
test_route_skips_inactive_memberships_and_organizations(void **state)
{
	struct fix *f = *state;
	struct directory_route r;

	load_base(f->s);
	load(f->s, DIRECTORY_ENDPOINTS, "owner_npi,kind,address\n"
	    O_RIVER ",direct,inbox@riverside.b.test\n"
	    O_LAKE ",mllp,127.0.0.1:2575\n");
	load(f->s, DIRECTORY_MEMBERSHIPS,
	    "provider_npi,organization_npi,role,active\n"
	    P_BROWN "," O_RIVER ",pcp,no\n" P_BROWN "," O_LAKE ",pcp,yes\n");
	route(f->s, P_BROWN, "A01", 'I', &r);
	expect_routed(&r, "127.0.0.1:2575");
	load(f->s, DIRECTORY_ORGANIZATIONS, "npi,name,status\n"
	    O_LAKE ",Lakeside,inactive\n");
	route(f->s, P_BROWN, "A01", 'I', &r);
	expect_not(&r, DIRECTORY_UNDELIVERABLE, "no_endpoint");
}

static void
test_route_organization_member_falls_back_to_its_parent(void **state)
{
	struct fix *f = *state;
	struct directory_route r;

	load_base(f->s);
	load(f->s, DIRECTORY_ENDPOINTS, "owner_npi,kind,address\n"
	    O_MERCY ",direct,hie@mercy.b.test\n");
	route(f->s, O_RIVER, "A04", 'E', &r);
	expect_routed(&r, "hie@mercy.b.test");
	assert_true(r.targets[0].via_organization);
	route(f->s, O_MERCY, "A04", 'E', &r);
	expect_routed(&r, "hie@mercy.b.test");
	assert_false(r.targets[0].via_organization);
}

static void
test_route_undeliverable_says_why(void **state)
{
	struct fix *f = *state;
	struct directory_route r;

	load_base(f->s);
	load(f->s, DIRECTORY_ENDPOINTS, "owner_npi,kind,address,active\n"
	    P_LEE ",direct,lee@b.test,yes\n"
	    O_RIVER ",direct,inbox@riverside.b.test,no\n");
	route(f->s, "1234567890", "A01", 'I', &r);
	expect_not(&r, DIRECTORY_UNDELIVERABLE, "bad_npi");
	route(f->s, "1000000004", "A01", 'I', &r);
	expect_not(&r, DIRECTORY_UNDELIVERABLE, "unknown_npi");
	route(f->s, P_LEE, "A01", 'I', &r);
	expect_not(&r, DIRECTORY_UNDELIVERABLE, "inactive_member");
	route(f->s, P_NGUYEN, "A01", 'I', &r);
	expect_not(&r, DIRECTORY_UNDELIVERABLE, "no_endpoint");
	route(f->s, P_BROWN, "A01", 'I', &r);
	expect_not(&r, DIRECTORY_UNDELIVERABLE, "no_active_endpoint");
	assert_non_null(strstr(r.detail, P_BROWN));
}

static void
test_route_wanted_format_without_such_endpoint_is_undeliverable(void **state)
{
	struct fix *f = *state;
	struct directory_route r;

	load_base(f->s);
	load(f->s, DIRECTORY_ENDPOINTS, "owner_npi,kind,address\n"
	    P_JONES ",direct,jones@b.test\n");
	load(f->s, DIRECTORY_PREFERENCES, "owner_npi,events,format\n"
	    P_JONES ",A01,hl7\n");
	route(f->s, P_JONES, "A01", 'I', &r);
	expect_not(&r, DIRECTORY_UNDELIVERABLE, "no_endpoint_for_format");
	/* An event the preferences do not want stays declined. */
	route(f->s, P_JONES, "A03", 'I', &r);
	expect_not(&r, DIRECTORY_DECLINED, "not_wanted");
}

static void
test_find_address_maps_an_endpoint_to_its_owner(void **state)
{
	struct fix *f = *state;
	char owner[DIRECTORY_NPI_LEN + 1];
	struct err e = {0};

	load_base(f->s);
	load(f->s, DIRECTORY_ENDPOINTS, "owner_npi,kind,address\n"
	    P_SMITH ",direct,mailto:Dr.Smith@B.Test\n"
	    P_JONES ",mllp,mllp://127.0.0.1:2576\n");
	assert_int_equal(directory_find_address(f->s, "Dr.Smith@b.test",
	    owner, &e), 1);
	assert_string_equal(owner, P_SMITH);
	assert_int_equal(directory_find_address(f->s,
	    "mailto:Dr.Smith@b.TEST", owner, &e), 1);
	assert_int_equal(directory_find_address(f->s, "127.0.0.1:2576",
	    owner, &e), 1);
	assert_string_equal(owner, P_JONES);
	assert_int_equal(directory_find_address(f->s, "nobody@b.test",
	    owner, &e), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_npi_valid_accepts_luhn_checked_npis_only),
		cmocka_unit_test(
		    test_address_normalize_checks_direct_and_mllp_forms),
		cmocka_unit_test(
		    test_events_and_classes_normalize_to_sorted_sets),
		cmocka_unit_test(
		    test_timing_parses_realtime_and_digest_times),
		T(test_route_takes_the_lowest_rank_and_lists_fallbacks_in_order),
		T(test_route_skips_inactive_endpoints),
		T(test_route_preference_filters_events),
		T(test_route_preference_filters_patient_classes),
		T(test_route_preference_format_chooses_the_endpoint_kind),
		T(test_route_reports_the_digest_time_of_the_preference),
		T(test_route_falls_back_to_the_organization_without_own_endpoint),
		T(test_route_lists_the_organization_after_every_own_endpoint),
		T(test_route_falls_back_when_every_own_endpoint_is_inactive),
		T(test_route_organization_fallback_honours_both_preferences),
		T(test_route_skips_inactive_memberships_and_organizations),
		T(test_route_organization_member_falls_back_to_its_parent),
		T(test_route_undeliverable_says_why),
		T(test_route_wanted_format_without_such_endpoint_is_undeliverable),
		T(test_find_address_maps_an_endpoint_to_its_owner),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
