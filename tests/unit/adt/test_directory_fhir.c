#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "adt/directory_fhir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adt/directory.h"
#include "adt/directory_import.h"
#include "core/log.h"
#include "core/store.h"
#include "core/xmalloc.h"
#include "tests/lib/testlib.h"

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

static char *
read_data(const char *name, size_t *n_r)
{
	char *rel = xasprintf("tests/data/directory/fhir/%s", name);
	char *path = testlib_source_path(rel);
	char *text = testlib_read_file(path, n_r);

	if (text == NULL)
		fail_msg("cannot read %s", path);
	free(rel);
	free(path);
	return text;
}

/* Parses text; returns the parse status, rows and report to the caller. */
static int
parse(const char *text, size_t n, struct directory_rows **rows_r,
    struct directory_report **rep_r, struct err *e)
{
	*rows_r = directory_rows_new();
	*rep_r = directory_report_new();
	return directory_fhir_parse(text, n, "bundle.xml", *rows_r, *rep_r,
	    e);
}

static void
test_fhir_bundle_maps_ndh_resources_to_the_directory(void **state)
{
	struct fix *f = *state;
	struct directory_rows *rows;
	struct directory_report *rep;
	struct directory_provider p;
	struct directory_organization o;
	struct directory_endpoint *eps;
	struct directory_membership *ms;
	struct directory_route r;
	struct err e = {0};
	size_t n, len;
	char *text = read_data("bundle_valid.xml", &len);

	assert_int_equal(parse(text, len, &rows, &rep, &e), 0);
	assert_int_equal(directory_import_apply(f->s, rows, 0, rep, &e), 0);
	if (rep->total != 0)
		fail_msg("problem: %s", rep->problems[0].message);
	assert_true(rep->committed);
	assert_int_equal(rep->loaded[DIRECTORY_ORGANIZATIONS], 1);
	assert_int_equal(rep->loaded[DIRECTORY_PROVIDERS], 2);
	assert_int_equal(rep->loaded[DIRECTORY_MEMBERSHIPS], 2);
	/* Ortiz: direct + mllp; Harbor: direct; the FHIR REST one is not
	 * for notifications. */
	assert_int_equal(rep->loaded[DIRECTORY_ENDPOINTS], 3);

	assert_int_equal(directory_provider_get(f->s, "1200000002", &p, &e),
	    1);
	assert_string_equal(p.last_name, "Ortiz");
	assert_string_equal(p.first_name, "Elena");
	assert_string_equal(p.middle_name, "Maria");
	assert_string_equal(p.suffix, "MD");
	assert_string_equal(p.taxonomy, "207R00000X");
	assert_true(p.active);
	assert_int_equal(directory_organization_get(f->s, "1100000003", &o,
	    &e), 1);
	assert_string_equal(o.name, "Harbor Clinic");

	assert_int_equal(directory_endpoint_list(f->s, "1200000002", &eps, &n,
	    &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(eps[0].kind, DIRECTORY_KIND_DIRECT);
	assert_string_equal(eps[0].address,
	    "elena.ortiz@direct.harbor.b.test");
	assert_int_equal(eps[0].rank, 1);
	assert_string_equal(eps[0].payload_types, "HL7v2");
	assert_int_equal(eps[1].kind, DIRECTORY_KIND_MLLP);
	assert_string_equal(eps[1].address, "127.0.0.1:2577");
	assert_int_equal(eps[1].rank, 2);
	free(eps);
	assert_int_equal(directory_endpoint_list(f->s, "1100000003", &eps, &n,
	    &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(eps[0].address, "frontdesk@direct.harbor.b.test");
	free(eps);

	/* Kim's taxonomy comes from the specialty of the role. */
	assert_int_equal(directory_provider_get(f->s, "1999999992", &p, &e),
	    1);
	assert_string_equal(p.taxonomy, "207Q00000X");
	/* Kim's role names the organization by identifier. */
	assert_int_equal(directory_membership_list(f->s, "1999999992", NULL,
	    &ms, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ms[0].org_npi, "1100000003");
	free(ms);
	/* Kim has no endpoint: Harbor's front desk gets it. */
	assert_int_equal(directory_route(f->s, "1999999992", "A01", 'I', &r,
	    &e), 0);
	assert_int_equal(r.status, DIRECTORY_ROUTED);
	assert_string_equal(r.targets[0].address,
	    "frontdesk@direct.harbor.b.test");
	assert_true(r.targets[0].via_organization);

	directory_rows_free(&rows);
	directory_report_free(&rep);
	free(text);
}

static void
test_fhir_refuses_hostile_and_broken_documents(void **state)
{
	static const struct {
		const char *file;
		const char *why;
	} cases[] = {
		{"billion_laughs.xml", "declares entities"},
		{"xxe_passwd.xml", "external entity"},
		{"external_dtd.xml", "external DTD"},
		{"malformed.xml", "not well-formed"},
		{"deep_nesting.xml", "nested deeper"},
		{"not_a_bundle.xml", "not a FHIR Bundle"},
	};
	struct fix *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct directory_rows *rows;
		struct directory_report *rep;
		struct err e = {0};
		size_t len;
		char *text = read_data(cases[i].file, &len);
		int rc = parse(text, len, &rows, &rep, &e);

		if (rc != -1 || strstr(e.msg, cases[i].why) == NULL)
			fail_msg("%s: got rc %d '%s', want -1 '%s'",
			    cases[i].file, rc, e.msg, cases[i].why);
		assert_true(rep->fatal);
		assert_int_equal(directory_rows_count(rows), 0);
		assert_null(strchr(e.msg, '\n'));
		assert_null(strstr(e.msg, "root:"));
		/* Applying a fatal report writes nothing. */
		assert_int_equal(directory_import_apply(f->s, rows, 0, rep,
		    &e), 0);
		assert_false(rep->committed);
		directory_rows_free(&rows);
		directory_report_free(&rep);
		free(text);
	}
}

static void
test_fhir_accepts_a_doctype_without_entities(void **state)
{
	static const char doc[] =
	    "<?xml version=\"1.0\"?>\n<!DOCTYPE Bundle>\n"
	    "<Bundle xmlns=\"http://hl7.org/fhir\"><entry><resource>"
	    "<Organization><identifier><system value=\"http://hl7.org/fhir/"
	    "sid/us-npi\"/><value value=\"1100000003\"/></identifier>"
	    "<name value=\"A &amp; B\"/></Organization></resource></entry>"
	    "</Bundle>";
	struct directory_rows *rows;
	struct directory_report *rep;
	struct err e = {0};

	assert_int_equal(parse(doc, sizeof(doc) - 1, &rows, &rep, &e), 0);
	assert_int_equal(directory_rows_count(rows), 1);
	directory_rows_free(&rows);
	directory_report_free(&rep);
	(void)state;
}

static void
test_fhir_refuses_documents_over_the_size_limit(void **state)
{
	size_t n = DIRECTORY_FHIR_MAX_SIZE + 1;
	char *big = xcalloc(1, n);
	struct directory_rows *rows;
	struct directory_report *rep;
	struct err e = {0};

	memset(big, ' ', n);
	assert_int_equal(parse(big, n, &rows, &rep, &e), -1);
	assert_non_null(strstr(e.msg, "larger than"));
	directory_rows_free(&rows);
	directory_report_free(&rep);
	free(big);
	(void)state;
}

static void
test_fhir_resource_problems_name_the_resource(void **state)
{
	static const char doc[] =
	    "<Bundle xmlns=\"http://hl7.org/fhir\">"
	    "<entry><resource><Practitioner><id value=\"no-npi\"/>"
	    "<name><family value=\"X\"/></name></Practitioner></resource>"
	    "</entry>"
	    "<entry><resource><Endpoint><id value=\"orphan\"/>"
	    "<status value=\"active\"/><connectionType><code "
	    "value=\"direct-project\"/></connectionType><address "
	    "value=\"mailto:a@b.test\"/></Endpoint></resource></entry>"
	    "<entry><resource><Patient><id value=\"ignored\"/></Patient>"
	    "</resource></entry>"
	    "</Bundle>";
	struct fix *f = *state;
	struct directory_rows *rows;
	struct directory_report *rep;
	struct err e = {0};

	assert_int_equal(parse(doc, sizeof(doc) - 1, &rows, &rep, &e), 0);
	assert_int_equal(directory_import_apply(f->s, rows, 0, rep, &e), 0);
	assert_int_equal(rep->nproblems, 2);
	/* The orphan endpoint is found while parsing (entry 2), the
	 * practitioner without NPI while applying (entry 1). */
	assert_string_equal(rep->problems[0].code, "no_owner");
	assert_int_equal(rep->problems[0].row, 2);
	assert_non_null(strstr(rep->problems[0].message, "Endpoint/orphan"));
	assert_string_equal(rep->problems[1].code, "required");
	assert_string_equal(rep->problems[1].column, "npi");
	assert_int_equal(rep->problems[1].row, 1);
	assert_non_null(strstr(rep->problems[1].message,
	    "Practitioner/no-npi"));
	directory_rows_free(&rows);
	directory_report_free(&rep);
}


static void
test_fhir_maps_status_rank_variants_and_inactive_resources(void **state)
{
	static const char doc[] =
	    "<Bundle xmlns=\"http://hl7.org/fhir\">"
	    "<entry><fullUrl value=\"urn:uuid:p1\"/><resource><Practitioner>"
	    "<identifier><system value=\"http://hl7.org/fhir/sid/us-npi\"/>"
	    "<value value=\"1234567893\"/></identifier><active "
	    "value=\"false\"/><name><use value=\"usual\"/><family "
	    "value=\"Nick\"/></name><name><use value=\"official\"/>"
	    "<family value=\"Smith\"/><given value=\"Jane\"/></name>"
	    "</Practitioner></resource></entry>"
	    "<entry><resource><PractitionerRole><practitioner><reference "
	    "value=\"urn:uuid:p1\"/></practitioner><endpoint><reference "
	    "value=\"http://x.test/fhir/Endpoint/e1\"/></endpoint>"
	    "<endpoint><reference value=\"Endpoint/e2\"/></endpoint>"
	    "</PractitionerRole></resource></entry>"
	    "<entry><resource><Endpoint><id value=\"e1\"/><extension "
	    "url=\"http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/"
	    "base-ext-endpoint-rank\"><valuePositiveInt value=\"3\"/>"
	    "</extension><status value=\"off\"/><connectionType><code "
	    "value=\"direct-project\"/></connectionType><address "
	    "value=\"mailto:Jane@Old.B.Test\"/></Endpoint></resource></entry>"
	    "<entry><resource><Endpoint><id value=\"e2\"/><status "
	    "value=\"entered-in-error\"/><connectionType><code "
	    "value=\"direct-project\"/></connectionType><address "
	    "value=\"mailto:x@b.test\"/></Endpoint></resource></entry>"
	    "</Bundle>";
	struct fix *f = *state;
	struct directory_rows *rows;
	struct directory_report *rep;
	struct directory_provider p;
	struct directory_endpoint *eps;
	struct err e = {0};
	size_t n;

	assert_int_equal(parse(doc, sizeof(doc) - 1, &rows, &rep, &e), 0);
	assert_int_equal(directory_import_apply(f->s, rows, 0, rep, &e), 0);
	if (rep->total != 0)
		fail_msg("problem: %s", rep->problems[0].message);
	assert_int_equal(directory_provider_get(f->s, "1234567893", &p, &e),
	    1);
	assert_string_equal(p.last_name, "Smith");
	assert_false(p.active);
	/* No organization: no membership; entered-in-error is dropped. */
	assert_int_equal(rep->loaded[DIRECTORY_MEMBERSHIPS], 0);
	assert_int_equal(directory_endpoint_list(f->s, "1234567893", &eps, &n,
	    &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(eps[0].address, "Jane@old.b.test");
	assert_int_equal(eps[0].rank, 3);
	assert_false(eps[0].active);
	free(eps);
	directory_rows_free(&rows);
	directory_report_free(&rep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_fhir_bundle_maps_ndh_resources_to_the_directory,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_fhir_refuses_hostile_and_broken_documents,
		    setup, teardown),
		cmocka_unit_test(test_fhir_accepts_a_doctype_without_entities),
		cmocka_unit_test(
		    test_fhir_refuses_documents_over_the_size_limit),
		cmocka_unit_test_setup_teardown(
		    test_fhir_resource_problems_name_the_resource,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_fhir_maps_status_rank_variants_and_inactive_resources,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
