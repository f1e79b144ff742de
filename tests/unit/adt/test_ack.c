#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "adt/ack.h"
#include "adt/hl7.h"
#include "adt/hl7_validate.h"
#include "core/buf.h"
#include "core/str.h"
#include "tests/lib/testlib.h"

static const char msg_text[] =
    "MSH|^~\\&|SAPP|SFAC|RAPP|RFAC|20250101||ADT^A03^ADT_A03|CTRL9|P|2.5.1\r"
    "EVN|A03|20250101\r"
    "PID|1||M1^^^H^MR||DOE^J||1970-01-01\r"
    "PV1|1|I\r";

static struct hl7_msg *
parse(const char *t)
{
	struct hl7_msg *m = NULL;
	struct err e = {0};

	assert_int_equal(hl7_parse(t, strlen(t), &m, &e), 0);
	return m;
}

static const struct ack_opts opts = {"ACK1", "20250102030405", "DG", "DGF"};

static void
test_ack_aa_swaps_sender_and_receiver(void **state)
{
	struct hl7_msg *m = parse(msg_text);
	struct buf out;
	struct err e = {0};
	struct ack_info a;

	(void)state;
	buf_init(&out, 4096);
	assert_int_equal(ack_build(m, ACK_AA, NULL, 0, &opts, &out, &e), 0);
	assert_string_equal(buf_cstr(&out),
	    "MSH|^~\\&|RAPP|RFAC|SAPP|SFAC|20250102030405||ACK^A03^ACK|ACK1|P|"
	    "2.5.1\rMSA|AA|CTRL9\r");
	assert_int_equal(ack_parse(out.data, out.len, &a, &e), 0);
	assert_string_equal(a.code, "AA");
	assert_string_equal(a.control_id, "CTRL9");
	assert_string_equal(a.ack_control_id, "ACK1");
	assert_int_equal(a.nerrs, 0);
	buf_release(&out);
	hl7_msg_free(&m);
}

static void
test_ack_ae_carries_err_segments_v25(void **state)
{
	struct hl7_msg *m = parse(msg_text);
	struct hl7_validation v;
	struct buf out;
	struct err e = {0};
	struct ack_info a;

	(void)state;
	assert_int_equal(hl7_validate(m, &v), 1);
	buf_init(&out, 4096);
	assert_int_equal(ack_build(m, ACK_AE, v.problems, v.nproblems, &opts,
	    &out, &e), 0);
	assert_non_null(strstr(buf_cstr(&out),
	    "\rERR||PID^1^7^1^1|102^Data type error^HL70357|E||||PID-7 (date of"
	    " birth) is not a valid date/time (DTM)\r"));
	assert_int_equal(ack_parse(out.data, out.len, &a, &e), 0);
	assert_string_equal(a.code, "AE");
	assert_int_equal(a.nerrs, 1);
	assert_int_equal(a.errs[0].code, 102);
	assert_int_equal(a.errs[0].severity, 'E');
	assert_string_equal(a.errs[0].location, "PID^1^7^1^1");
	buf_release(&out);
	hl7_msg_free(&m);
}

static void
test_ack_escapes_texts_and_keeps_custom_delimiters(void **state)
{
	struct hl7_msg *m = parse(
	    "MSH#$*!@#SA#SF###2025##ADT$A01#C#P#2.4\rEVN#A01\r");
	struct hl7_problem p = {"", 0, 0, 0, 0, 0, 207, 'E',
	    "a # b $ c ! d"};
	struct buf out;
	struct err e = {0};
	struct ack_info a;

	(void)state;
	buf_init(&out, 4096);
	assert_int_equal(ack_build(m, ACK_AR, &p, 1, &opts, &out, &e), 0);
	assert_string_equal(buf_cstr(&out),
	    "MSH#$*!@#DG#DGF#SA#SF#20250102030405##ACK$A01$ACK#ACK1#P#2.4\r"
	    "MSA#AR#C\r"
	    "ERR###207$Application internal error$HL70357#E####"
	    "a !F! b !S! c !E! d\r");
	assert_int_equal(ack_parse(out.data, out.len, &a, &e), 0);
	assert_string_equal(a.errs[0].text, "a # b $ c ! d");
	buf_release(&out);
	hl7_msg_free(&m);
}

static void
test_ack_without_original_uses_defaults(void **state)
{
	struct buf out;
	struct err e = {0};

	(void)state;
	buf_init(&out, 4096);
	assert_int_equal(ack_build(NULL, ACK_AE, NULL, 0, &opts, &out, &e), 0);
	assert_string_equal(buf_cstr(&out),
	    "MSH|^~\\&|DG|DGF|||20250102030405||ACK^^ACK|ACK1|P|2.5.1\r"
	    "MSA|AE|\r");
	buf_release(&out);
	buf_init(&out, 10);
	assert_int_equal(ack_build(NULL, ACK_AE, NULL, 0, &opts, &out, &e), -1);
	assert_int_equal(out.len, 0);
	buf_release(&out);
}

static void
test_ack_decide_table(void **state)
{
	static const struct {
		enum ack_mode mode;
		const char *accept;
		const char *app;
		enum ack_code outcome;
		bool send;
		enum ack_code code;
	} cases[] = {
	    {ACK_MODE_AUTO, "", "", ACK_AA, true, ACK_AA},
	    {ACK_MODE_AUTO, "", "", ACK_AE, true, ACK_AE},
	    {ACK_MODE_AUTO, "", "", ACK_AR, true, ACK_AR},
	    {ACK_MODE_AUTO, "AL", "NE", ACK_AA, true, ACK_CA},
	    {ACK_MODE_AUTO, "AL", "", ACK_AE, true, ACK_CE},
	    {ACK_MODE_AUTO, "", "AL", ACK_AR, true, ACK_CR},
	    {ACK_MODE_AUTO, "NE", "AL", ACK_AA, false, ACK_CA},
	    {ACK_MODE_AUTO, "ER", "", ACK_AA, false, ACK_CA},
	    {ACK_MODE_AUTO, "ER", "", ACK_AE, true, ACK_CE},
	    {ACK_MODE_AUTO, "SU", "", ACK_AA, true, ACK_CA},
	    {ACK_MODE_AUTO, "SU", "", ACK_AR, false, ACK_CR},
	    {ACK_MODE_ORIGINAL, "AL", "AL", ACK_AA, true, ACK_AA},
	    {ACK_MODE_ENHANCED, "", "", ACK_AA, true, ACK_CA},
	    {ACK_MODE_ENHANCED, "", "", ACK_AE, true, ACK_CE},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hl7_header h;
		enum ack_code code;
		bool send;

		memset(&h, 0, sizeof(h));
		str_lcpy(h.accept_ack, cases[i].accept, sizeof(h.accept_ack));
		str_lcpy(h.app_ack, cases[i].app, sizeof(h.app_ack));
		send = ack_decide(cases[i].mode, &h, cases[i].outcome, &code);
		if (send != cases[i].send || code != cases[i].code)
			fail_msg("case %zu: got send=%d %s, want send=%d %s", i,
			    send, ack_code_name(code), cases[i].send,
			    ack_code_name(cases[i].code));
	}
}

static void
test_ack_mode_parse(void **state)
{
	enum ack_mode m;

	(void)state;
	assert_int_equal(ack_mode_parse("auto", &m), 0);
	assert_int_equal(m, ACK_MODE_AUTO);
	assert_int_equal(ack_mode_parse("enhanced", &m), 0);
	assert_int_equal(m, ACK_MODE_ENHANCED);
	assert_int_equal(ack_mode_parse("original", &m), 0);
	assert_int_equal(ack_mode_parse("x", &m), -1);
}

static void
test_ack_parse_rejects_non_ack(void **state)
{
	struct ack_info a;
	struct err e = {0};

	(void)state;
	assert_int_equal(ack_parse(msg_text, strlen(msg_text), &a, &e), -1);
	assert_int_equal(ack_parse("garbage", 7, &a, &e), -1);
}

/* A frame cut at the size limit is answered from its head's MSH: AE in
 * original mode, CE in enhanced mode, nothing for MSH-15 NE or an ACK, and
 * -1 when the head has no complete MSH. */
static void
test_ack_build_too_large_table(void **state)
{
	static const struct {
		const char *head;
		enum ack_mode mode;
		int rc;
		const char *code;
	} cases[] = {
	    {"MSH|^~\\&|SAPP|SFAC|RAPP|RFAC|2025||ADT^A01|BIG1|P|2.5.1\r"
		"EVN|A01\rPID|1||M1^^^H^MR||DO", ACK_MODE_AUTO, 1, "AE"},
	    {"\r\nMSH|^~\\&|SAPP|SFAC|RAPP|RFAC|2025||ADT^A01|BIG1|P|2.5.1\n"
		"EVN", ACK_MODE_AUTO, 1, "AE"},
	    {"MSH|^~\\&|SAPP|SFAC|RAPP|RFAC|2025||ADT^A01|BIG1|P|2.5.1|||AL|NE"
		"\rEVN|A01", ACK_MODE_AUTO, 1, "CE"},
	    {"MSH|^~\\&|SAPP|SFAC|RAPP|RFAC|2025||ADT^A01|BIG1|P|2.5.1\rEVN",
		ACK_MODE_ENHANCED, 1, "CE"},
	    {"MSH|^~\\&|SAPP|SFAC|RAPP|RFAC|2025||ADT^A01|BIG1|P|2.5.1|||NE|NE"
		"\rEVN|A01", ACK_MODE_AUTO, 0, ""},
	    {"MSH|^~\\&|SAPP|SFAC|RAPP|RFAC|2025||ACK^A01|BIG1|P|2.5.1\rMSA|AA",
		ACK_MODE_AUTO, 0, ""},
	    {"MSH|^~\\&|SAPP|SFAC|RAPP|RFAC|2025||ADT^A01|BIG1|P|2.5.", ACK_MODE_AUTO,
		-1, ""},
	    {"XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\rMSH|^~\\&|", ACK_MODE_AUTO, -1,
		""},
	    {"MSH|^^\\&|SAPP\r", ACK_MODE_AUTO, -1, ""},
	    {NULL, ACK_MODE_AUTO, 0, NULL},
	};

	(void)state;
	for (int i = 0; cases[i].head; i++) {
		struct buf out;
		struct err e = {0};
		struct ack_info a;
		int rc;

		buf_init(&out, 4096);
		rc = ack_build_too_large(cases[i].head, strlen(cases[i].head),
		    5000000, 1048576, cases[i].mode, &opts, &out, &e);
		if (rc != cases[i].rc)
			fail_msg("case %d: got rc %d (%s), want %d", i, rc, e.msg,
			    cases[i].rc);
		if (rc != 1) {
			if (out.len != 0)
				fail_msg("case %d: got %zu bytes, want none", i,
				    out.len);
			buf_release(&out);
			continue;
		}
		assert_int_equal(ack_parse(out.data, out.len, &a, &e), 0);
		if (strcmp(a.code, cases[i].code) != 0)
			fail_msg("case %d: got %s, want %s", i, a.code,
			    cases[i].code);
		assert_string_equal(a.control_id, "BIG1");
		assert_int_equal(a.nerrs, 1);
		assert_int_equal(a.errs[0].code, 102);
		assert_int_equal(a.errs[0].severity, 'E');
		assert_string_equal(a.errs[0].location, "");
		if (strstr(a.errs[0].text, "too large") == NULL ||
		    strstr(a.errs[0].text, "5000000") == NULL)
			fail_msg("case %d: got ERR-8 \"%s\", want too large "
			    "with the size", i, a.errs[0].text);
		/* Sender and receiver swapped, as for any ACK. */
		assert_memory_equal(out.data, "MSH|^~\\&|RAPP|RFAC|SAPP|SFAC|",
		    28);
		buf_release(&out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ack_aa_swaps_sender_and_receiver),
		cmocka_unit_test(test_ack_ae_carries_err_segments_v25),
		cmocka_unit_test(test_ack_escapes_texts_and_keeps_custom_delimiters),
		cmocka_unit_test(test_ack_without_original_uses_defaults),
		cmocka_unit_test(test_ack_decide_table),
		cmocka_unit_test(test_ack_mode_parse),
		cmocka_unit_test(test_ack_parse_rejects_non_ack),
		cmocka_unit_test(test_ack_build_too_large_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
