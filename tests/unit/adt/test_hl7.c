#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adt/hl7.h"
#include "adt/hl7_reader.h"
#include "adt/hl7_validate.h"
#include "core/buf.h"
#include "core/xmalloc.h"
#include "tests/lib/testlib.h"

static struct hl7_msg *
parse_ok(const char *text)
{
	struct hl7_msg *m = NULL;
	struct err e = {0};

	if (hl7_parse(text, strlen(text), &m, &e) != 0)
		fail_msg("parse failed: %s", e.msg);
	return m;
}

static void
expect_path(const struct hl7_msg *m, const char *path, const char *want)
{
	const uint8_t *p;
	size_t n;
	int rc = hl7_msg_path(m, path, &p, &n);

	if (want == NULL) {
		if (rc != 0)
			fail_msg("%s: got present, want absent", path);
		return;
	}
	if (rc != 1)
		fail_msg("%s: got rc %d, want \"%s\"", path, rc, want);
	if (n != strlen(want) || memcmp(p, want, n) != 0)
		fail_msg("%s: got \"%.*s\", want \"%s\"", path, (int)n, p, want);
}

static char *
read_sample(const char *rel, size_t *n_r)
{
	char *path = testlib_source_path(rel);
	char *data = testlib_read_file(path, n_r);

	if (data == NULL)
		fail_msg("cannot read %s", path);
	free(path);
	return data;
}

static void
test_hl7_parses_msh_delimiters_and_paths(void **state)
{
	struct hl7_msg *m = parse_ok(
	    "MSH|^~\\&|APP|FAC^1.2^ISO|RA|RF|2025||ADT^A01^ADT_A01|C1|P|2.5.1"
	    "||||||UNICODE UTF-8\r"
	    "PID|1||A1^^^X^MR~B2^^^Y^SS&sub^Z||DOE^JANE||19700101\r");

	(void)state;
	expect_path(m, "MSH-1", "|");
	expect_path(m, "MSH-2", "^~\\&");
	expect_path(m, "MSH-3", "APP");
	expect_path(m, "MSH-4.2", "1.2");
	expect_path(m, "MSH-9", "ADT^A01^ADT_A01");
	expect_path(m, "MSH-9.2", "A01");
	expect_path(m, "MSH-10", "C1");
	expect_path(m, "PID-3", "A1^^^X^MR~B2^^^Y^SS&sub^Z");
	expect_path(m, "PID-3[2]", "B2^^^Y^SS&sub^Z");
	expect_path(m, "PID-3[2].4", "Y");
	expect_path(m, "PID-3[2].5.2", "sub");
	expect_path(m, "PID-3.1", "A1");
	expect_path(m, "PID-3[2].6", "Z");
	expect_path(m, "PID-3[3]", NULL);
	expect_path(m, "PID-3[2].7", NULL);
	expect_path(m, "PID-5.2", "JANE");
	expect_path(m, "PID-7", "19700101");
	expect_path(m, "PID-8", NULL);
	expect_path(m, "PV1-2", NULL);
	expect_path(m, "PID[1]-1", "1");
	expect_path(m, "PID[2]-1", NULL);
	assert_string_equal(hl7_msg_charset(m), "UNICODE UTF-8");
	assert_int_equal(hl7_msg_nsegs(m), 2);
	assert_int_equal(hl7_msg_nfields(m, 1), 8);
	assert_int_equal(hl7_msg_count_reps(m, 1, 3), 2);
	assert_int_equal(hl7_msg_count_comps(m, 1, 3, 2), 6);
	assert_int_equal(hl7_msg_count_subs(m, 1, 3, 2, 5), 2);
	hl7_msg_free(&m);
	hl7_msg_free(&m);
}

static void
test_hl7_rejects_malformed_paths(void **state)
{
	static const char *bad[] = {"", "PI-3", "pid-3", "PID", "PID-",
	    "PID-x", "PID-3[0]", "PID-3[", "PID-3.0", "PID-3.1.", "PID-3 ",
	    "PID[0]-3", NULL};
	struct hl7_loc loc;

	(void)state;
	for (int i = 0; bad[i]; i++)
		if (hl7_loc_parse(bad[i], &loc) != -1)
			fail_msg("path \"%s\": got accepted, want rejected",
			    bad[i]);
	assert_int_equal(hl7_loc_parse("ZNP-2", &loc), 0);
	assert_string_equal(loc.seg, "ZNP");
	assert_int_equal(loc.field, 2);
}

static void
test_hl7_honours_custom_delimiters(void **state)
{
	struct hl7_msg *m = parse_ok(
	    "MSH#$*!@#APP#FAC#RA#RF#2025##ADT$A04#C2#P#2.5.1\r"
	    "PID#1##M1$$$X$MR*S2$$$Y$SS##DOE$JO@E##19700101\r"
	    "NTE#1##a | b ^ c!F!d\r");
	struct buf b;

	(void)state;
	expect_path(m, "MSH-1", "#");
	expect_path(m, "MSH-2", "$*!@");
	expect_path(m, "MSH-9.2", "A04");
	expect_path(m, "PID-3[2].5", "SS");
	expect_path(m, "PID-5.2.2", "E");
	expect_path(m, "NTE-3", "a | b ^ c!F!d");
	buf_init(&b, 100);
	assert_int_equal(hl7_msg_path_text(m, "NTE-3", &b), 1);
	assert_string_equal(buf_cstr(&b), "a | b ^ c#d");
	buf_release(&b);
	hl7_msg_free(&m);
}

static void
test_hl7_normalizes_bom_lf_crlf_and_blank_lines(void **state)
{
	static const char want[] = "MSH|^~\\&|A|B|||||ADT^A01|X|P|2.5\r"
	    "PID|1\rPV1|1\r";
	static const char *inputs[] = {
	    "\xEF\xBB\xBFMSH|^~\\&|A|B|||||ADT^A01|X|P|2.5\nPID|1\nPV1|1\n",
	    "MSH|^~\\&|A|B|||||ADT^A01|X|P|2.5\r\nPID|1\r\n\r\nPV1|1",
	    "MSH|^~\\&|A|B|||||ADT^A01|X|P|2.5\rPID|1\r  \rPV1|1\r\r",
	    "MSH|^~\\&|A|B|||||ADT^A01|X|P|2.5\n\rPID|1\n\nPV1|1\r\n",
	    NULL};

	(void)state;
	for (int i = 0; inputs[i]; i++) {
		struct hl7_msg *m = parse_ok(inputs[i]);
		size_t n;
		const uint8_t *p = hl7_msg_data(m, &n);
		struct buf out;

		if (n != strlen(want) || memcmp(p, want, n) != 0)
			fail_msg("input %d: got \"%.*s\", want \"%s\"", i,
			    (int)n, p, want);
		assert_int_equal(hl7_msg_had_bom(m), i == 0);
		buf_init(&out, BUF_UNLIMITED);
		assert_int_equal(hl7_msg_write(m, &out), 0);
		assert_memory_equal(out.data, want, strlen(want));
		buf_release(&out);
		hl7_msg_free(&m);
	}
}

static void
test_hl7_rejects_unusable_headers(void **state)
{
	static const char *bad[] = {
	    "", "PID|1\r", "MSH", "MSH|\r", "MSH|^^\\&|A\r", "MSHA^~\\&|\r",
	    "MSH|^~\\&|\r" /* fine */, "MSH||^~\\&\r", "MSH|^~\\&&&&|x\r",
	    NULL};
	static const int want[] = {-1, -1, -1, -1, -1, -1, 0, -1, -1};

	(void)state;
	for (int i = 0; bad[i]; i++) {
		struct hl7_msg *m = NULL;
		struct err e = {0};
		int rc = hl7_parse(bad[i], strlen(bad[i]), &m, &e);

		if (rc != want[i])
			fail_msg("input %d: got %d, want %d", i, rc, want[i]);
		if (rc == -1 && (m != NULL || e.kind != ERR_PERM))
			fail_msg("input %d: failed without PERM error", i);
		hl7_msg_free(&m);
	}
}

static void
test_hl7_unescapes_known_sequences_and_keeps_unknown(void **state)
{
	struct hl7_delims d;
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
	    {"a\\F\\b", "a|b"},
	    {"\\S\\\\T\\\\R\\\\E\\", "^&~\\"},
	    {"x\\X414243\\y", "xABCy"},
	    {"1\\.br\\2", "1\n2"},
	    {"\\H\\bold\\N\\", "bold"},
	    {"\\Zcustom\\", "\\Zcustom\\"},
	    {"\\X4\\", "\\X4\\"},
	    {"\\XZZ\\", "\\XZZ\\"},
	    {"tail\\F", "tail\\F"},
	    {"\\\\", "\\\\"},
	    {"plain", "plain"},
	    {NULL, NULL},
	};

	(void)state;
	hl7_delims_default(&d);
	for (int i = 0; cases[i].in; i++) {
		struct buf b;

		buf_init(&b, 256);
		assert_int_equal(hl7_unescape(&d, cases[i].in,
		    strlen(cases[i].in), &b), 0);
		if (strcmp(buf_cstr(&b), cases[i].out) != 0)
			fail_msg("unescape \"%s\": got \"%s\", want \"%s\"",
			    cases[i].in, buf_cstr(&b), cases[i].out);
		buf_release(&b);
	}
}

static void
test_hl7_escape_round_trips_through_unescape(void **state)
{
	struct hl7_delims d;
	static const char in[] = "a|b^c&d~e\\f\r\ng\x01h caf\xC3\xA9";
	struct buf esc, back;

	(void)state;
	hl7_delims_default(&d);
	buf_init(&esc, 256);
	buf_init(&back, 256);
	assert_int_equal(hl7_escape(&d, in, strlen(in), &esc), 0);
	assert_string_equal(buf_cstr(&esc),
	    "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\.br\\g\\X01\\h caf\xC3\xA9");
	assert_int_equal(hl7_unescape(&d, esc.data, esc.len, &back), 0);
	assert_string_equal(buf_cstr(&back), "a|b^c&d~e\\f\ng\x01h caf\xC3\xA9");
	buf_release(&esc);
	buf_release(&back);
}

static void
test_hl7_add_segment_extends_message(void **state)
{
	struct hl7_msg *m = parse_ok("MSH|^~\\&|A|B|||||ADT^A01|X|P|2.5\r");
	struct err e = {0};
	struct buf v, seg, out;

	(void)state;
	buf_init(&v, 256);
	buf_init(&seg, 256);
	buf_init(&out, 256);
	buf_append_str(&seg, "ZCK|CKS|");
	hl7_escape(hl7_msg_delims(m), "K|1", 3, &seg);
	assert_int_equal(hl7_msg_add_segment(m, seg.data, seg.len, &e), 0);
	assert_int_equal(hl7_msg_add_segment(m, "ZZ\r", 3, &e), -1);
	assert_int_equal(hl7_msg_add_segment(m, "", 0, &e), -1);
	assert_int_equal(hl7_msg_path_text(m, "ZCK-2", &v), 1);
	assert_string_equal(buf_cstr(&v), "K|1");
	assert_int_equal(hl7_msg_write(m, &out), 0);
	assert_string_equal(buf_cstr(&out),
	    "MSH|^~\\&|A|B|||||ADT^A01|X|P|2.5\rZCK|CKS|K\\F\\1\r");
	buf_release(&v);
	buf_release(&seg);
	buf_release(&out);
	hl7_msg_free(&m);
}

static void
test_hl7_add_fields_escapes_values(void **state)
{
	struct hl7_msg *m = parse_ok("MSH#$*!@#A#B\r");
	static const char *const vals[] = {"ACRSNPI", "12#34$5", NULL, "x"};
	struct err e = {0};
	struct buf out;

	(void)state;
	assert_int_equal(hl7_msg_add_fields(m, "ZNP", vals, 4, &e), 0);
	assert_int_equal(hl7_msg_add_fields(m, "ZN", vals, 1, &e), -1);
	buf_init(&out, 256);
	assert_int_equal(hl7_msg_write(m, &out), 0);
	assert_string_equal(buf_cstr(&out),
	    "MSH#$*!@#A#B\rZNP#ACRSNPI#12!F!34!S!5##x\r");
	buf_reset(&out);
	assert_int_equal(hl7_msg_path_text(m, "ZNP-2", &out), 1);
	assert_string_equal(buf_cstr(&out), "12#34$5");
	buf_release(&out);
	hl7_msg_free(&m);
}

static void
test_hl7_enforces_segment_limit(void **state)
{
	struct buf b;
	struct hl7_msg *m = NULL;
	struct err e = {0};

	(void)state;
	buf_init(&b, BUF_UNLIMITED);
	buf_append_str(&b, "MSH|^~\\&|A\r");
	for (unsigned i = 0; i < HL7_MAX_SEGMENTS; i++)
		buf_append_str(&b, "NTE|1\r");
	assert_int_equal(hl7_parse(b.data, b.len, &m, &e), -1);
	assert_null(m);
	assert_non_null(strstr(e.msg, "segments"));
	buf_release(&b);
}

/* Every sample and generated message parses and writes back its
 * normalized bytes. */
static void
check_file_round_trips(const char *rel)
{
	size_t n;
	char *data = read_sample(rel, &n);
	struct hl7_split s;
	struct err e = {0};

	if (hl7_reader_split(data, n, HL7_MAX_BYTES, &s, &e) < 1)
		fail_msg("%s: split failed: %s", rel, e.msg);
	for (size_t i = 0; i < s.count; i++) {
		struct hl7_msg *m = NULL;
		struct buf out;
		size_t mn;
		const uint8_t *mp;

		if (hl7_parse(s.data + s.offs[i], s.lens[i], &m, &e) != 0)
			fail_msg("%s message %zu: %s", rel, i, e.msg);
		mp = hl7_msg_data(m, &mn);
		if (mn != s.lens[i] || memcmp(mp, s.data + s.offs[i], mn))
			fail_msg("%s message %zu: reader and parser normalize "
			    "differently", rel, i);
		buf_init(&out, BUF_UNLIMITED);
		assert_int_equal(hl7_msg_write(m, &out), 0);
		if (out.len != mn || memcmp(out.data, mp, mn) != 0)
			fail_msg("%s message %zu: write does not reproduce the "
			    "bytes", rel, i);
		buf_release(&out);
		hl7_msg_free(&m);
	}
	hl7_reader_split_release(&s);
	free(data);
}

static void
for_each_file(const char *reldir, void (*fn)(const char *rel))
{
	char *dir = testlib_source_path(reldir);
	DIR *d = opendir(dir);
	struct dirent *de;
	int count = 0;

	if (d == NULL)
		fail_msg("cannot open %s", dir);
	while ((de = readdir(d)) != NULL) {
		char rel[512];
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 4, ".hl7") != 0)
			continue;
		snprintf(rel, sizeof(rel), "%s/%s", reldir, de->d_name);
		fn(rel);
		count++;
	}
	closedir(d);
	free(dir);
	assert_true(count > 0);
}

static void
test_hl7_every_sample_and_generated_message_round_trips(void **state)
{
	(void)state;
	for_each_file("../shared/data/hl7", check_file_round_trips);
	for_each_file("tests/data/hl7", check_file_round_trips);
}

static void
test_hl7_sample_a01_fields(void **state)
{
	size_t n;
	char *data = read_sample("../shared/data/hl7/ADT-A01-01.hl7", &n);
	struct hl7_msg *m = NULL;
	struct err e = {0};
	struct hl7_validation v;

	(void)state;
	assert_int_equal(hl7_parse(data, n, &m, &e), 0);
	expect_path(m, "MSH-9.3", "ADT_A01");
	expect_path(m, "MSH-10", "MSG00001");
	expect_path(m, "MSH-12", "2.8");
	expect_path(m, "PID-3[2].4", "USSSA");
	expect_path(m, "PID-3.4.2", "2.16.1");
	expect_path(m, "PID-5[2].1.5", "Bing");
	assert_int_equal(hl7_validate(m, &v), 0);
	assert_string_equal(v.hdr.event, "A01");
	assert_string_equal(v.hdr.control_id, "MSG00001");
	hl7_msg_free(&m);
	free(data);
}

/* Trickle: the reader splits the same messages whole, byte by byte and in
 * random chunks. */
struct reader_ctx {
	struct hl7_reader *r;
	uint64_t h;
	unsigned count;
};

static void
reader_begin(void *vctx)
{
	struct reader_ctx *c = vctx;

	hl7_reader_free(&c->r);
	c->r = hl7_reader_new(1 << 20);
	c->h = TESTLIB_FNV_INIT;
	c->count = 0;
}

static void
reader_take(struct reader_ctx *c)
{
	size_t n;
	const uint8_t *p = hl7_reader_msg(c->r, &n);

	c->h = testlib_fnv(c->h, p, n);
	c->h = testlib_fnv(c->h, "|", 1);
	c->count++;
}

static int
reader_feed(void *vctx, const uint8_t *p, size_t n)
{
	struct reader_ctx *c = vctx;
	struct err e = {0};

	while (n > 0) {
		size_t used;
		int rc = hl7_reader_feed(c->r, p, n, &used, &e);

		if (rc < 0)
			return -1;
		if (rc == 1)
			reader_take(c);
		p += used;
		n -= used;
	}
	return 0;
}

static uint64_t
reader_end(void *vctx)
{
	struct reader_ctx *c = vctx;
	struct err e = {0};
	int rc = hl7_reader_finish(c->r, &e);

	if (rc < 0)
		return 0;
	if (rc == 1)
		reader_take(c);
	c->h = testlib_fnv(c->h, &c->count, sizeof(c->count));
	c->h ^= hl7_reader_batch_headers(c->r) * 1000003u +
	    hl7_reader_batch_trailers(c->r);
	return c->h;
}

static void
test_hl7_reader_trickles_batches_and_line_endings(void **state)
{
	static const struct trickle_ops ops = {reader_begin, reader_feed,
	    reader_end};
	static const char *files[] = {"tests/data/hl7/batch.hl7",
	    "tests/data/hl7/batch_bhs_only.hl7",
	    "tests/data/hl7/multi_no_batch.hl7",
	    "tests/data/hl7/adt_a02_24_bom_lf.hl7",
	    "tests/data/hl7/adt_a04_23_crlf.hl7",
	    "../shared/data/hl7/ADT04-251.hl7",
	    "../shared/data/hl7/ADT-A01-01.hl7", NULL};
	struct reader_ctx c = {0};

	(void)state;
	for (int i = 0; files[i]; i++) {
		size_t n;
		char *data = read_sample(files[i], &n);

		testlib_trickle(&ops, &c, data, n, 20);
		free(data);
	}
	hl7_reader_free(&c.r);
}

static void
test_hl7_reader_splits_batch_into_messages(void **state)
{
	size_t n;
	char *data = read_sample("tests/data/hl7/batch.hl7", &n);
	struct hl7_split s;
	struct err e = {0};

	(void)state;
	assert_int_equal(hl7_reader_split(data, n, 1 << 20, &s, &e), 3);
	assert_int_equal(s.batch_headers, 2);
	assert_int_equal(s.batch_trailers, 2);
	for (size_t i = 0; i < s.count; i++)
		assert_memory_equal(s.data + s.offs[i], "MSH|", 4);
	hl7_reader_split_release(&s);
	free(data);
	assert_int_equal(hl7_reader_split("PID|1\rMSH|^~\\&\r", 15, 100, &s,
	    &e), -1);
	assert_int_equal(hl7_reader_split("MSH|^~\\&|" "0123456789\r", 20, 10,
	    &s, &e), -1);
}

/* Validation: each malformed message gets the right ERR. */
static void
test_hl7_validate_reports_location_code_and_severity(void **state)
{
	static const struct {
		const char *file;
		const char *seg;
		unsigned field;
		int code;
	} cases[] = {
	    {"bad_version.hl7", "MSH", 12, HL7_UNSUPPORTED_VERSION},
	    {"no_msh10.hl7", "MSH", 10, HL7_REQUIRED_MISSING},
	    {"no_pid.hl7", "PID", 0, HL7_SEGMENT_SEQUENCE},
	    {"no_pid3.hl7", "PID", 3, HL7_REQUIRED_MISSING},
	    {"bad_dob.hl7", "PID", 7, HL7_DATA_TYPE},
	    {"no_name.hl7", "PID", 5, HL7_REQUIRED_MISSING},
	    {"unknown_event.hl7", "MSH", 9, HL7_UNSUPPORTED_EVENT},
	    {"not_adt.hl7", "MSH", 9, HL7_UNSUPPORTED_TYPE},
	    {"out_of_order.hl7", "PV1", 0, HL7_SEGMENT_SEQUENCE},
	    {"bad_segment.hl7", "", 0, HL7_SEGMENT_SEQUENCE},
	    {"bad_processing.hl7", "MSH", 11, HL7_UNSUPPORTED_PROCESSING},
	    {NULL, NULL, 0, 0},
	};

	(void)state;
	for (int i = 0; cases[i].file; i++) {
		char rel[256];
		size_t n;
		char *data;
		struct hl7_msg *m = NULL;
		struct err e = {0};
		struct hl7_validation v;
		const struct hl7_problem *p;

		snprintf(rel, sizeof(rel), "tests/data/hl7/malformed/%s",
		    cases[i].file);
		data = read_sample(rel, &n);
		if (hl7_parse(data, n, &m, &e) != 0)
			fail_msg("%s: parse failed: %s", rel, e.msg);
		if (hl7_validate(m, &v) < 1)
			fail_msg("%s: got no errors, want code %d", rel,
			    cases[i].code);
		p = &v.problems[0];
		while (p->severity != 'E')
			p++;
		if (p->code != cases[i].code || strcmp(p->seg, cases[i].seg) ||
		    p->field != cases[i].field)
			fail_msg("%s: got %s-%u code %d (%s), want %s-%u code "
			    "%d", rel, p->seg, p->field, p->code, p->text,
			    cases[i].seg, cases[i].field, cases[i].code);
		hl7_msg_free(&m);
		free(data);
	}
}

static void
test_hl7_validate_accepts_generated_structures(void **state)
{
	static const char *files[] = {"adt_a01_251.hl7", "adt_a03_251.hl7",
	    "adt_a08_251.hl7", "adt_a11_251.hl7", "adt_a40_251.hl7",
	    "adt_a04_23_crlf.hl7", "adt_a02_24_bom_lf.hl7",
	    "adt_a01_28_notrail.hl7", "escapes.hl7", "repetitions.hl7",
	    "custom_delims.hl7", "zsegments.hl7", NULL};

	(void)state;
	for (int i = 0; files[i]; i++) {
		char rel[256];
		size_t n;
		char *data;
		struct hl7_msg *m = NULL;
		struct err e = {0};
		struct hl7_validation v;

		snprintf(rel, sizeof(rel), "tests/data/hl7/%s", files[i]);
		data = read_sample(rel, &n);
		assert_int_equal(hl7_parse(data, n, &m, &e), 0);
		if (hl7_validate(m, &v) != 0)
			fail_msg("%s: got error %d %s, want none", rel,
			    v.problems[0].code, v.problems[0].text);
		hl7_msg_free(&m);
		free(data);
	}
}

static void
test_hl7_validate_warns_on_missing_evn(void **state)
{
	size_t n;
	char *data = read_sample("../shared/data/hl7/ADT04-251.hl7", &n);
	struct hl7_msg *m = NULL;
	struct err e = {0};
	struct hl7_validation v;

	(void)state;
	assert_int_equal(hl7_parse(data, n, &m, &e), 0);
	assert_true(hl7_msg_had_bom(m));
	assert_int_equal(hl7_validate(m, &v), 0);
	assert_int_equal(v.nproblems, 1);
	assert_string_equal(v.problems[0].seg, "EVN");
	assert_int_equal(v.problems[0].severity, 'W');
	assert_string_equal(v.hdr.structure, "ADT_A01");
	hl7_msg_free(&m);
	free(data);
}

static void
test_hl7_validate_dtm_table(void **state)
{
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {
	    {"1970", true}, {"197001", true}, {"19700101", true},
	    {"197001011230", true}, {"19700101123045.1234", true},
	    {"198808181126+0215", true}, {"19700101-0500", true},
	    {"197", false}, {"19701301", false}, {"19700132", false},
	    {"1970-01-01", false}, {"19700101+05", false},
	    {"197001011230.5", false}, {"", false}, {"abcd", false},
	    {NULL, false},
	};

	(void)state;
	for (int i = 0; cases[i].s; i++)
		if (hl7_validate_dtm(cases[i].s, strlen(cases[i].s)) !=
		    cases[i].ok)
			fail_msg("dtm \"%s\": got %d, want %d", cases[i].s,
			    !cases[i].ok, cases[i].ok);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hl7_parses_msh_delimiters_and_paths),
		cmocka_unit_test(test_hl7_rejects_malformed_paths),
		cmocka_unit_test(test_hl7_honours_custom_delimiters),
		cmocka_unit_test(test_hl7_normalizes_bom_lf_crlf_and_blank_lines),
		cmocka_unit_test(test_hl7_rejects_unusable_headers),
		cmocka_unit_test(test_hl7_unescapes_known_sequences_and_keeps_unknown),
		cmocka_unit_test(test_hl7_escape_round_trips_through_unescape),
		cmocka_unit_test(test_hl7_add_segment_extends_message),
		cmocka_unit_test(test_hl7_add_fields_escapes_values),
		cmocka_unit_test(test_hl7_enforces_segment_limit),
		cmocka_unit_test(test_hl7_every_sample_and_generated_message_round_trips),
		cmocka_unit_test(test_hl7_sample_a01_fields),
		cmocka_unit_test(test_hl7_reader_trickles_batches_and_line_endings),
		cmocka_unit_test(test_hl7_reader_splits_batch_into_messages),
		cmocka_unit_test(test_hl7_validate_reports_location_code_and_severity),
		cmocka_unit_test(test_hl7_validate_accepts_generated_structures),
		cmocka_unit_test(test_hl7_validate_warns_on_missing_evn),
		cmocka_unit_test(test_hl7_validate_dtm_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
