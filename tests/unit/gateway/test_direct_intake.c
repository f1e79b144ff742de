#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adt/ack.h"
#include "adt/intake.h"
#include "core/buf.h"
#include "core/store.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "gateway/direct_intake.h"
#include "smime/mime.h"
#include "tests/lib/testlib.h"
#include "tests/unit/adt/intake_fixture.h"

/* Two valid ADTs with different MSH-10 (segments end in CR). */
static const char adt1[] =
    "MSH|^~\\&|SENDAPP|GENHOSP|DIRECTGATE|DGFAC|20250101120000||"
    "ADT^A01^ADT_A01|DI-TEST-1|P|2.5.1\r"
    "EVN|A01|20250101120000\r"
    "PID|1||12345^^^GENHOSP^MR||DOE^JANE||19800101|F\r"
    "PV1|1|I|W^1^1\r";
static const char adt2[] =
    "MSH|^~\\&|SENDAPP|GENHOSP|DIRECTGATE|DGFAC|20250101120500||"
    "ADT^A03^ADT_A03|DI-TEST-2|P|2.5.1\r"
    "EVN|A03|20250101120500\r"
    "PID|1||12345^^^GENHOSP^MR||DOE^JANE||19800101|F\r"
    "PV1|1|I|W^1^1\r";

/* A multipart message: a text part, then each HL7 in base64 (text/hl7v2). */
static void
build_message(struct buf *m, const char *const *hl7, size_t n)
{
	buf_init(m, BUF_UNLIMITED);
	buf_append_str(m, "From: <h@a.test>\r\nTo: <adt@b.test>\r\n"
	    "Message-ID: <di.1@a.test>\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
	    "--b1\r\nContent-Type: text/plain\r\n\r\nADTs attached.\r\n");
	for (size_t i = 0; i < n; i++) {
		buf_append_str(m, "--b1\r\nContent-Type: text/hl7v2\r\n"
		    "Content-Transfer-Encoding: base64\r\n\r\n");
		assert_int_equal(mime_base64_encode((const uint8_t *)hl7[i],
		    strlen(hl7[i]), m), 0);
	}
	buf_append_str(m, "--b1--\r\n");
}

/* The decision: table-driven. */
static void
test_direct_intake_decide_retries_whenever_a_part_failed(void **state)
{
	static const struct {
		unsigned found, stored, invalid, failed;
		int rc;
		enum err_kind kind;
	} cases[] = {
		{0, 0, 0, 0, -1, ERR_PERM},
		{1, 1, 0, 0, 0, ERR_NONE},
		{2, 1, 1, 0, 0, ERR_NONE},
		{1, 0, 1, 0, 0, ERR_NONE},
		{1, 0, 0, 1, -1, ERR_TEMP},
		{2, 1, 0, 1, -1, ERR_TEMP}, /* mixed: was taken */
		{2, 0, 1, 1, -1, ERR_TEMP}, /* mixed: was taken */
		{3, 1, 1, 1, -1, ERR_TEMP}, /* mixed: was taken */
		{1, 0, 0, 0, 0, ERR_NONE},  /* an ACK: nothing to do */
	};
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct err e = {0};
		int rc = direct_intake_decide(cases[i].found,
		    cases[i].failed, &e);

		if (rc != cases[i].rc || e.kind != cases[i].kind) {
			printf("case %zu (found=%u stored=%u invalid=%u "
			    "failed=%u): got rc=%d kind=%s, want rc=%d "
			    "kind=%s\n", i, cases[i].found, cases[i].stored,
			    cases[i].invalid, cases[i].failed, rc,
			    err_kind_name(e.kind), cases[i].rc,
			    err_kind_name(cases[i].kind));
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* The walk. */
struct found {
	unsigned n;
	struct buf types;
	struct buf bodies;
};

static void
on_part(void *arg, const char *content_type, const uint8_t *body, size_t n)
{
	struct found *f = arg;

	f->n++;
	buf_printf(&f->types, "%s;", content_type);
	buf_append(&f->bodies, body, n);
	buf_append_str(&f->bodies, "|");
}

static void
walk_case(const char *msg, unsigned want, const char *want_types)
{
	struct found f = {0};
	unsigned got;

	buf_init(&f.types, BUF_UNLIMITED);
	buf_init(&f.bodies, BUF_UNLIMITED);
	got = direct_intake_walk((const uint8_t *)msg, strlen(msg), on_part,
	    &f);
	if (got != want || f.n != want ||
	    strcmp(buf_cstr(&f.types), want_types) != 0)
		fail_msg("got %u parts (%s), want %u (%s)", got,
		    buf_cstr(&f.types), want, want_types);
	buf_release(&f.types);
	buf_release(&f.bodies);
}

static void
test_direct_intake_walk_finds_hl7_parts_by_type_and_by_content(void **state)
{
	(void)state;
	/* nested multipart, both registered types, bare MSH text */
	walk_case("Content-Type: multipart/mixed; boundary=\"o\"\r\n\r\n"
	    "--o\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
	    "--o\r\nContent-Type: multipart/alternative; boundary=\"i\"\r\n\r\n"
	    "--i\r\nContent-Type: application/hl7-v2\r\n\r\n"
	    "MSH|^~\\&|A|B|C|D|20250101||ADT^A01|X1|P|2.5.1\r\n"
	    "--i--\r\n"
	    "--o\r\nContent-Type: text/plain\r\n\r\n"
	    "MSH|^~\\&|A|B|C|D|20250101||ADT^A01|X2|P|2.5.1\r\n"
	    "--o\r\nContent-Type: image/png\r\n\r\n"
	    "MSH|^~\\&|not by this type\r\n"
	    "--o--\r\n", 2, "application/hl7-v2;text/plain;");
	/* a single-part message that is HL7 */
	walk_case("Content-Type: text/hl7v2\r\n\r\nanything\r\n", 1,
	    "text/hl7v2;");
	/* an unclosed multipart is skipped whole */
	walk_case("Content-Type: multipart/mixed; boundary=\"o\"\r\n\r\n"
	    "--o\r\nContent-Type: text/hl7v2\r\n\r\nMSH|^~\\&|A\r\n", 0, "");
	/* nesting deeper than the limit is not walked */
	walk_case("Content-Type: multipart/mixed; boundary=\"a\"\r\n\r\n--a\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
	    "Content-Type: multipart/mixed; boundary=\"c\"\r\n\r\n--c\r\n"
	    "Content-Type: multipart/mixed; boundary=\"d\"\r\n\r\n--d\r\n"
	    "Content-Type: multipart/mixed; boundary=\"e\"\r\n\r\n--e\r\n"
	    "Content-Type: text/hl7v2\r\n\r\nMSH|^~\\&|A\r\n"
	    "--e--\r\n--d--\r\n--c--\r\n--b--\r\n--a--\r\n", 0, "");
	walk_case("", 0, "");
}

static void
test_direct_intake_walk_decodes_base64_parts(void **state)
{
	const char *hl7[] = {adt1, adt2};
	struct found f = {0};
	struct buf m, want;

	(void)state;
	build_message(&m, hl7, 2);
	buf_init(&f.types, BUF_UNLIMITED);
	buf_init(&f.bodies, BUF_UNLIMITED);
	buf_init(&want, BUF_UNLIMITED);
	buf_printf(&want, "%s|%s|", adt1, adt2);
	assert_int_equal(direct_intake_walk(m.data, m.len, on_part, &f), 2);
	assert_string_equal(buf_cstr(&f.bodies), buf_cstr(&want));
	buf_release(&f.types);
	buf_release(&f.bodies);
	buf_release(&want);
	buf_release(&m);
}

/* The hook, over a real store and intake. */
struct fixture {
	struct intake_fx x;
	struct direct_intake di;
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	intake_fx_init(&f->x);
	f->di.intake = f->x.in;
	f->di.hisp = NULL;
	f->di.send_ack = true;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	intake_fx_release(&f->x);
	free(f);
	return 0;
}

static int64_t
count_rows(struct fixture *f)
{
	int64_t n = -1;
	struct err e = {0};

	if (store_query_int(f->x.reader, &n, &e,
	    "SELECT count(*) FROM adt_event", "") != 1)
		fail_msg("count: %s", e.msg);
	return n;
}

static void
test_direct_intake_hook_retries_message_when_one_part_failed_to_store(
    void **state)
{
	struct fixture *f = *state;
	const char *hl7[] = {adt1, adt2};
	struct buf m;
	struct err e = {0};
	int rc;

	build_message(&m, hl7, 2);
	/* The first part's commit fails; the second is stored. */
	assert_int_equal(store_fault_inject(store_writer_store(f->x.w), "ioerr",
	    1), 0);
	rc = direct_intake_hook(&f->di, "adt@b.test", "h@a.test", m.data, m.len,
	    &e);
	if (rc != -1 || e.kind != ERR_TEMP)
		fail_msg("got rc=%d kind=%s, want rc=-1 kind=temp", rc,
		    err_kind_name(e.kind));
	assert_int_equal(count_rows(f), 1);
	/* The retry stores the missing part; the other is a duplicate. */
	err_clear(&e);
	rc = direct_intake_hook(&f->di, "adt@b.test", "h@a.test", m.data, m.len,
	    &e);
	if (rc != 0)
		fail_msg("got rc=%d (%s), want 0", rc, e.msg);
	assert_int_equal(count_rows(f), 2);
	/* And again: all duplicates, stored once. */
	rc = direct_intake_hook(&f->di, "adt@b.test", "h@a.test", m.data, m.len,
	    &e);
	assert_int_equal(rc, 0);
	assert_int_equal(count_rows(f), 2);
	buf_release(&m);
}

static void
test_direct_intake_hook_refuses_message_without_hl7(void **state)
{
	struct fixture *f = *state;
	static const char msg[] = "Content-Type: text/plain\r\n\r\nhello\r\n";
	struct err e = {0};

	assert_int_equal(direct_intake_hook(&f->di, "adt@b.test", "h@a.test",
	    (const uint8_t *)msg, strlen(msg), &e), -1);
	assert_int_equal(e.kind, ERR_PERM);
	assert_int_equal(count_rows(f), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_direct_intake_decide_retries_whenever_a_part_failed),
		cmocka_unit_test(
		    test_direct_intake_walk_finds_hl7_parts_by_type_and_by_content),
		cmocka_unit_test(test_direct_intake_walk_decodes_base64_parts),
		cmocka_unit_test_setup_teardown(
		    test_direct_intake_hook_retries_message_when_one_part_failed_to_store,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_direct_intake_hook_refuses_message_without_hl7, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
