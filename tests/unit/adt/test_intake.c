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
#include "core/loop.h"
#include "core/store.h"
#include "core/xmalloc.h"
#include "tests/lib/testlib.h"
#include "tests/unit/adt/intake_fixture.h"


struct outcome {
	enum ack_code outcome;
	bool send;
	unsigned stored;
	unsigned duplicates;
	unsigned messages;
	int64_t first_id;
	struct buf ack;
	int calls;
};

static int
setup(void **state)
{
	struct intake_fx *f = xcalloc(1, sizeof(*f));

	intake_fx_init(f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	intake_fx_release(*state);
	free(*state);
	return 0;
}

static void
on_done(void *arg, const struct intake_result *r)
{
	struct outcome *o = arg;

	o->calls++;
	o->outcome = r->outcome;
	o->send = r->send;
	o->stored = r->stored;
	o->duplicates = r->duplicates;
	o->messages = r->messages;
	o->first_id = r->first_id;
	buf_reset(&o->ack);
	buf_append(&o->ack, r->ack, r->ack_len);
}

static void
submit(struct intake_fx *f, const void *p, size_t n, struct outcome *o)
{
	memset(o, 0, sizeof(*o));
	buf_init(&o->ack, BUF_UNLIMITED);
	intake_submit_wait(f->in, p, n, "cli", "test", 1700000000000LL,
	    on_done, o);
	assert_int_equal(o->calls, 1);
}

static char *
read_rel(const char *rel, size_t *n_r)
{
	char *path = testlib_source_path(rel);
	char *d = testlib_read_file(path, n_r);

	if (d == NULL)
		fail_msg("cannot read %s", path);
	free(path);
	return d;
}

static int64_t
count_rows(struct intake_fx *f)
{
	int64_t v = -1;
	struct err e = {0};

	assert_int_equal(store_query_int(f->reader, &v, &e,
	    "SELECT count(*) FROM adt_event", ""), 1);
	return v;
}

static void
test_intake_stores_valid_adt_and_answers_aa(void **state)
{
	struct intake_fx *f = *state;
	size_t n;
	char *msg = read_rel("../shared/data/hl7/ADT-A01-01.hl7", &n);
	struct outcome o;
	struct ack_info a;
	struct err e = {0};
	struct buf raw;

	submit(f, msg, n, &o);
	assert_int_equal(o.outcome, ACK_AA);
	assert_true(o.send);
	assert_int_equal(o.stored, 1);
	assert_int_equal(ack_parse(o.ack.data, o.ack.len, &a, &e), 0);
	assert_string_equal(a.code, "AA");
	assert_string_equal(a.control_id, "MSG00001");
	assert_int_equal(count_rows(f), 1);
	buf_init(&raw, BUF_UNLIMITED);
	assert_int_equal(intake_get(f->reader, o.first_id, NULL, NULL, &raw,
	    &e), 1);
	/* stored normalized: CR endings, no LF */
	assert_null(memchr(raw.data, '\n', raw.len));
	assert_memory_equal(raw.data, "MSH|^~\\&|ADTApp|", 16);
	buf_release(&raw);
	buf_release(&o.ack);
	free(msg);
}

static void
test_intake_duplicate_is_answered_aa_and_stored_once(void **state)
{
	struct intake_fx *f = *state;
	size_t n;
	char *msg = read_rel("tests/data/hl7/adt_a03_251.hl7", &n);
	struct outcome o;
	struct ack_info a;
	struct err e = {0};

	submit(f, msg, n, &o);
	assert_int_equal(o.stored, 1);
	buf_release(&o.ack);
	submit(f, msg, n, &o);
	assert_int_equal(o.outcome, ACK_AA);
	assert_int_equal(o.stored, 0);
	assert_int_equal(o.duplicates, 1);
	assert_int_equal(ack_parse(o.ack.data, o.ack.len, &a, &e), 0);
	assert_string_equal(a.code, "AA");
	assert_int_equal(a.nerrs, 1);
	assert_int_equal(a.errs[0].code, 205);
	assert_int_equal(a.errs[0].severity, 'I');
	assert_int_equal(count_rows(f), 1);
	buf_release(&o.ack);
	free(msg);
}

static void
test_intake_invalid_content_gets_ae_and_is_not_stored(void **state)
{
	struct intake_fx *f = *state;
	static const char *files[] = {"tests/data/hl7/malformed/bad_dob.hl7",
	    "tests/data/hl7/malformed/no_msh.hl7",
	    "tests/data/hl7/malformed/bad_delims.hl7",
	    "tests/data/hl7/malformed/not_adt.hl7", NULL};

	for (int i = 0; files[i]; i++) {
		size_t n;
		char *msg = read_rel(files[i], &n);
		struct outcome o;
		struct ack_info a;
		struct err e = {0};

		submit(f, msg, n, &o);
		if (o.outcome != ACK_AE)
			fail_msg("%s: got %s, want AE", files[i],
			    ack_code_name(o.outcome));
		assert_int_equal(ack_parse(o.ack.data, o.ack.len, &a, &e), 0);
		assert_string_equal(a.code, "AE");
		assert_true(a.nerrs >= 1);
		assert_true(a.errs[0].text[0] != '\0');
		buf_release(&o.ack);
		free(msg);
	}
	assert_int_equal(count_rows(f), 0);
}

/* The ERR of an unparseable message names its cause: size and delimiters
 * are 102 (at MSH-1/MSH-2 for delimiters), structure 100. */
static void
test_intake_unparseable_message_err_code_matches_cause(void **state)
{
	struct intake_fx *f = *state;
	static const struct {
		const char *file;   /* or text */
		const char *text;
		int code;
		const char *location;
	} cases[] = {
	    {"tests/data/hl7/malformed/no_msh.hl7", NULL, 100, ""},
	    {"tests/data/hl7/malformed/bad_delims.hl7", NULL, 102, "MSH^1^2"},
	    {NULL, "MSH\r^~\\&|A|B|C|D|2025||ADT^A01|X1|P|2.5.1\r", 102,
		"MSH^1^1"},
	    {NULL, "MSH|^~\\&|A|B|C|D|2025||ADT^A01|X1|P|2.5.1\r"
		"EVN|A01\rPID|1||M1^^^H^MR||DOE^J\rPV1|1|I|"
		"0123456789012345678901234567890123456789012345678901234567890"
		"0123456789012345678901234567890123456789012345678901234567890"
		"\r", 102, ""},
	    {NULL, NULL, 0, NULL},
	};
	struct intake_opts io = {0};
	struct intake *small;

	io.writer = f->w;
	io.ack_mode = ACK_MODE_AUTO;
	io.max_msg = 200;
	small = intake_new(&io);
	for (int i = 0; cases[i].code; i++) {
		size_t n;
		char *msg = cases[i].file ? read_rel(cases[i].file, &n) :
		    xstrdup(cases[i].text);
		struct outcome o;
		struct ack_info a;
		struct err e = {0};

		if (!cases[i].file)
			n = strlen(msg);
		memset(&o, 0, sizeof(o));
		buf_init(&o.ack, BUF_UNLIMITED);
		intake_submit_wait(small, msg, n, "cli", "test",
		    1700000000000LL, on_done, &o);
		assert_int_equal(o.calls, 1);
		if (o.outcome != ACK_AE)
			fail_msg("case %d: got %s, want AE", i,
			    ack_code_name(o.outcome));
		assert_int_equal(ack_parse(o.ack.data, o.ack.len, &a, &e), 0);
		assert_true(a.nerrs >= 1);
		if (a.errs[0].code != cases[i].code ||
		    strcmp(a.errs[0].location, cases[i].location) != 0)
			fail_msg("case %d: got ERR %d at \"%s\" (%s), want %d "
			    "at \"%s\"", i, a.errs[0].code, a.errs[0].location,
			    a.errs[0].text, cases[i].code, cases[i].location);
		buf_release(&o.ack);
		free(msg);
	}
	intake_free(&small);
	assert_int_equal(count_rows(f), 0);
}

static void
test_intake_store_failure_gets_ar_then_resend_succeeds(void **state)
{
	struct intake_fx *f = *state;
	size_t n;
	char *msg = read_rel("tests/data/hl7/adt_a08_251.hl7", &n);
	struct outcome o;
	struct ack_info a;
	struct err e = {0};

	assert_int_equal(store_fault_inject(store_writer_store(f->w), "ioerr",
	    1), 0);
	submit(f, msg, n, &o);
	assert_int_equal(o.outcome, ACK_AR);
	assert_int_equal(ack_parse(o.ack.data, o.ack.len, &a, &e), 0);
	assert_string_equal(a.code, "AR");
	assert_int_equal(a.errs[0].code, 207);
	assert_int_equal(count_rows(f), 0);
	buf_release(&o.ack);
	submit(f, msg, n, &o);
	assert_int_equal(o.outcome, ACK_AA);
	assert_int_equal(count_rows(f), 1);
	buf_release(&o.ack);
	free(msg);
}

static void
test_intake_batch_gets_batch_of_acks(void **state)
{
	struct intake_fx *f = *state;
	size_t n;
	char *msg = read_rel("tests/data/hl7/batch.hl7", &n);
	struct outcome o;

	submit(f, msg, n, &o);
	assert_int_equal(o.outcome, ACK_AA);
	assert_int_equal(o.messages, 3);
	assert_int_equal(o.stored, 3);
	assert_memory_equal(o.ack.data, "BHS|", 4);
	assert_non_null(strstr(buf_cstr(&o.ack), "MSA|AA|GEN-B-1\r"));
	assert_non_null(strstr(buf_cstr(&o.ack), "MSA|AA|GEN-B-2\r"));
	assert_non_null(strstr(buf_cstr(&o.ack), "MSA|AA|GEN-B-3\rBTS|3\r"));
	assert_int_equal(count_rows(f), 3);
	buf_release(&o.ack);
	free(msg);
}

static void
test_intake_never_acknowledges_an_ack(void **state)
{
	struct intake_fx *f = *state;
	static const char ack[] = "MSH|^~\\&|A|B|C|D|2025||ACK^A01^ACK|X|P|2.5"
	    "\rMSA|AA|Y\r";
	struct outcome o;

	submit(f, ack, strlen(ack), &o);
	assert_false(o.send);
	assert_int_equal(count_rows(f), 0);
	buf_release(&o.ack);
}

struct listed {
	int count;
	char event[8];
	char state[16];
};

static int
on_row(void *arg, const struct intake_row *r)
{
	struct listed *l = arg;

	l->count++;
	snprintf(l->event, sizeof(l->event), "%s", r->event);
	snprintf(l->state, sizeof(l->state), "%s", r->state);
	return 0;
}

static void
test_intake_lists_and_moves_state(void **state)
{
	struct intake_fx *f = *state;
	size_t n;
	char *msg = read_rel("tests/data/hl7/adt_a40_251.hl7", &n);
	struct outcome o;
	struct listed l = {0};
	struct err e = {0};

	submit(f, msg, n, &o);
	assert_int_equal(o.outcome, ACK_AA);
	assert_int_equal(intake_list(f->reader, "received", 0, on_row, &l, &e),
	    0);
	assert_int_equal(l.count, 1);
	assert_string_equal(l.event, "A40");
	assert_int_equal(intake_set_state(f->reader, o.first_id, "done", 1,
	    &e), 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(intake_list(f->reader, "received", 0, on_row, &l, &e),
	    0);
	assert_int_equal(l.count, 0);
	assert_int_equal(intake_get(f->reader, o.first_id, on_row, &l, NULL,
	    &e), 1);
	assert_string_equal(l.state, "done");
	assert_int_equal(intake_get(f->reader, 999, on_row, &l, NULL, &e), 0);
	assert_int_equal(intake_set_state(f->reader, 999, "done", 1, &e), -1);
	buf_release(&o.ack);
	free(msg);
}

struct offload {
	struct intake *in;
	struct loop *l;
	char *msg;
	size_t n;
	struct outcome o;
};

static void
offload_done(void *arg, const struct intake_result *r)
{
	struct offload *t = arg;

	on_done(&t->o, r);
	if (t->o.calls == 2)
		loop_stop(t->l);
}

static void
offload_submit(void *arg)
{
	struct offload *t = arg;

	intake_submit(t->in, t->msg, t->n, "mllp", "test", 1, offload_done, t);
	/* the same again: a duplicate, also through the worker pool */
	intake_submit(t->in, t->msg, t->n, "mllp", "test", 2, offload_done, t);
	assert_int_equal(t->o.calls, 0); /* both answered later */
}

static void
test_intake_parses_large_inputs_in_the_worker_pool(void **state)
{
	char *dir = testlib_tmpdir();
	char *db = xasprintf("%s/t.db", dir);
	struct store_writer_opts wo = {0};
	struct store_writer *w = NULL;
	struct intake_opts io = {0};
	struct offload t;
	struct err e = {0};
	struct ack_info a;

	(void)state;
	memset(&t, 0, sizeof(t));
	buf_init(&t.o.ack, BUF_UNLIMITED);
	assert_int_equal(loop_new(&t.l, &e), 0);
	wo.loop = t.l;
	assert_int_equal(store_writer_new(db, &wo, &w, &e), 0);
	io.writer = w;
	io.loop = t.l;
	io.offload_bytes = 100;
	t.in = intake_new(&io);
	t.msg = read_rel("../shared/data/hl7/ADT-A03-01.hl7", &t.n);
	loop_post(t.l, offload_submit, &t);
	assert_int_equal(loop_run(t.l), 0);
	assert_int_equal(t.o.calls, 2);
	assert_int_equal(t.o.outcome, ACK_AA);
	assert_int_equal(t.o.duplicates, 1);
	assert_int_equal(ack_parse(t.o.ack.data, t.o.ack.len, &a, &e), 0);
	assert_string_equal(a.code, "AA");
	store_writer_free(&w);
	loop_free(&t.l);
	intake_free(&t.in);
	buf_release(&t.o.ack);
	free(t.msg);
	testlib_rmtree(dir);
	free(dir);
	free(db);
}

static void
test_intake_recognizes_hl7_attachments(void **state)
{
	static const struct {
		const char *type;
		const char *body;
		bool want;
	} cases[] = {
	    {"text/hl7v2", "anything", true},
	    {"Application/HL7-V2+ER7; charset=utf-8", "x", true},
	    {"x-application/hl7-v2+er7", "x", true},
	    {"application/edi-hl7", "x", true},
	    {"application/x-hl7", "x", true},
	    {"application/hl7-v2", "x", true},
	    {"text/plain", "MSH|^~\\&|A", true},
	    {"text/plain", "\xEF\xBB\xBF\r\nMSH|^~\\&|A", true},
	    {"application/octet-stream", "BHS|^~\\&", true},
	    {"text/plain", "FHS|^~\\&", true},
	    {"text/plain", "Dear doctor, MSH|", false},
	    {"text/plain", "MSHA", false},
	    {"text/html", "MSH|^~\\&|A", false},
	    {NULL, "MSH|^~\\&|A", true},
	    {"", "PID|1", false},
	    {"text/plain", "MSH", false},
	    {"text/hl7v2x", "x", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (intake_is_hl7(cases[i].type, cases[i].body,
		    strlen(cases[i].body)) != cases[i].want)
			fail_msg("case %zu (%s): got %d, want %d", i,
			    cases[i].type ? cases[i].type : "NULL",
			    !cases[i].want, cases[i].want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_intake_stores_valid_adt_and_answers_aa, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_intake_duplicate_is_answered_aa_and_stored_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_intake_invalid_content_gets_ae_and_is_not_stored, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_intake_unparseable_message_err_code_matches_cause,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_intake_store_failure_gets_ar_then_resend_succeeds, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_intake_batch_gets_batch_of_acks, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_intake_never_acknowledges_an_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_intake_lists_and_moves_state, setup, teardown),
		cmocka_unit_test(test_intake_recognizes_hl7_attachments),
		cmocka_unit_test(
		    test_intake_parses_large_inputs_in_the_worker_pool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
