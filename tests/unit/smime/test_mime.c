/* MIME for the agent: entity headers and parameters, exact multipart
 * spans (what a multipart/signed signature covers), base64 in any line
 * length, CRLF canonicalization, message headers, the writers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "smime/mime.h"
#include "tests/lib/testlib.h"

#define S(x) (const uint8_t *)(x), strlen(x)

static void
test_mime_entity_parse_reads_type_parameters_and_encoding(void **state)
{
	static const char m[] =
	    "Content-Type: Multipart/Signed; protocol=\"application/"
	    "pkcs7-signature\";\r\n micalg=SHA-256; boundary=\"b=1\"\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\nbody";
	static const char p7[] =
	    "Content-Type: application/x-pkcs7-mime; smime-type=enveloped-data;"
	    " name=smime.p7m\r\nContent-Transfer-Encoding: BASE64\r\n\r\nAA==";
	struct mime_entity ent;
	struct err e;

	assert_int_equal(mime_entity_parse(S(m), &ent, &e), 0);
	assert_string_equal(ent.type, "multipart/signed");
	assert_string_equal(ent.protocol, "application/pkcs7-signature");
	assert_string_equal(ent.micalg, "sha-256");
	assert_string_equal(ent.boundary, "b=1");
	assert_int_equal(ent.cte, MIME_CTE_IDENTITY);
	assert_string_equal(m + ent.body_off, "body");

	assert_int_equal(mime_entity_parse(S(p7), &ent, &e), 0);
	assert_string_equal(ent.type, "application/x-pkcs7-mime");
	assert_string_equal(ent.smime_type, "enveloped-data");
	assert_int_equal(ent.cte, MIME_CTE_BASE64);

	/* No header at all: text/plain, body from the start. */
	assert_int_equal(mime_entity_parse(S("\r\nhello"), &ent, &e), 0);
	assert_string_equal(ent.type, "text/plain");
	assert_int_equal(ent.body_off, 2);
	(void)state;
}

static void
test_mime_multipart_split_gives_the_exact_signed_octets(void **state)
{
	static const char m[] =
	    "Content-Type: multipart/signed; boundary=XX\r\n\r\n"
	    "preamble\r\n--XX\r\nContent-Type: text/plain\r\n\r\nline 1\r\n"
	    "line 2\r\n\r\n--XX  \r\nContent-Type: application/pkcs7-signature"
	    "\r\n\r\nSIG\r\n--XX--\r\nepilogue\r\n";
	struct mime_entity ent;
	struct mime_span parts[4];
	size_t n = 0;
	struct err e;

	assert_int_equal(mime_entity_parse(S(m), &ent, &e), 0);
	assert_int_equal(mime_multipart_split(S(m), &ent, parts, 4, &n, &e),
	    0);
	assert_int_equal(n, 2);
	/* The CRLF before the delimiter is not part of the first part; the
	 * empty line before it is. */
	assert_int_equal(parts[0].len,
	    strlen("Content-Type: text/plain\r\n\r\nline 1\r\nline 2\r\n"));
	assert_memory_equal(m + parts[0].off,
	    "Content-Type: text/plain\r\n\r\nline 1\r\nline 2\r\n",
	    parts[0].len);
	assert_memory_equal(m + parts[1].off,
	    "Content-Type: application/pkcs7-signature\r\n\r\nSIG",
	    parts[1].len);
	/* Without the closing delimiter: an error, not a guess. */
	assert_int_equal(mime_multipart_split((const uint8_t *)m,
	    strlen(m) - 18, &ent, parts, 4, &n, &e), -1);
	/* A boundary that only prefixes a line is no delimiter. */
	assert_int_equal(mime_multipart_split(S("Content-Type: multipart/"
	    "mixed; boundary=XX\r\n\r\n--XX\r\na\r\n--XXY\r\nb\r\n--XX--\r\n"),
	    &ent, parts, 4, &n, &e), 0);
	(void)state;
}

static void
test_mime_base64_decodes_one_long_line_and_folded_lines(void **state)
{
	static const struct {
		const char *in;
		const char *want; /* NULL: an error */
	} cases[] = {
		{"SGVsbG8sIERpcmVjdCE=", "Hello, Direct!"},
		{"SGVs\r\nbG8s\r\n IERp\tcmVjdCE=\r\n", "Hello, Direct!"},
		{"SGVsbG8", "Hello"}, /* padding left out: accepted */
		{"SGVsb", NULL},      /* a lone sextet: truncated */
		{"SGV$bG8=", NULL},
		{"SGVsbG8=x", NULL},
		{"", ""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct buf out;
		struct err e;
		int rc;

		buf_init(&out, 1024);
		rc = mime_body_decode(S(cases[i].in), MIME_CTE_BASE64, &out,
		    &e);
		if (cases[i].want == NULL) {
			if (rc != -1)
				fail_msg("case %zu: got %d, want -1", i, rc);
		} else {
			if (rc != 0 || strcmp(buf_cstr(&out), cases[i].want))
				fail_msg("case %zu: got %d '%s', want '%s'", i,
				    rc, buf_cstr(&out), cases[i].want);
		}
		buf_release(&out);
	}
	{
		/* 100 KiB on one line, and the limit. */
		struct buf raw, enc, dec;
		struct err e;
		size_t j = 0;

		buf_init(&raw, BUF_UNLIMITED);
		buf_init(&enc, BUF_UNLIMITED);
		buf_init(&dec, BUF_UNLIMITED);
		for (int i = 0; i < 102400; i++)
			buf_putc(&raw, (uint8_t)(i * 7));
		mime_base64_encode(raw.data, raw.len, &enc);
		for (size_t i = 0; i < enc.len; i++)
			if (enc.data[i] != '\r' && enc.data[i] != '\n')
				enc.data[j++] = enc.data[i];
		enc.len = j;
		assert_int_equal(mime_body_decode(enc.data, enc.len,
		    MIME_CTE_BASE64, &dec, &e), 0);
		assert_int_equal(dec.len, raw.len);
		assert_memory_equal(dec.data, raw.data, raw.len);
		buf_release(&dec);
		buf_init(&dec, 1000);
		assert_int_equal(mime_body_decode(enc.data, enc.len,
		    MIME_CTE_BASE64, &dec, &e), -1);
		buf_release(&raw);
		buf_release(&enc);
		buf_release(&dec);
	}
	(void)state;
}

static void
test_mime_base64_encode_writes_76_column_lines_that_decode_back(void **state)
{
	struct buf raw, enc, dec;
	struct err e;

	buf_init(&enc, BUF_UNLIMITED);
	mime_base64_encode(S("Hello, Direct!"), &enc);
	assert_string_equal(buf_cstr(&enc), "SGVsbG8sIERpcmVjdCE=\r\n");
	buf_release(&enc);
	buf_init(&raw, BUF_UNLIMITED);
	for (size_t n = 0; n < 400; n++) {
		size_t col = 0;

		buf_reset(&raw);
		for (size_t i = 0; i < n; i++)
			buf_putc(&raw, (uint8_t)(i * 131 + n));
		buf_init(&enc, BUF_UNLIMITED);
		buf_init(&dec, BUF_UNLIMITED);
		assert_int_equal(mime_base64_encode(raw.data, raw.len, &enc), 0);
		for (size_t i = 0; i < enc.len; i++) {
			if (enc.data[i] == '\n') {
				col = 0;
				continue;
			}
			if (++col > 77)
				fail_msg("n=%zu: line longer than 76", n);
		}
		assert_int_equal(enc.len % 78 == 0 || n % 57 != 0 || n == 0, 1);
		assert_int_equal(mime_body_decode(enc.data, enc.len,
		    MIME_CTE_BASE64, &dec, &e), 0);
		if (dec.len != n || (n > 0 && memcmp(dec.data, raw.data, n)))
			fail_msg("n=%zu: got %zu bytes back", n, dec.len);
		buf_release(&enc);
		buf_release(&dec);
	}
	buf_release(&raw);
	(void)state;
}

static void
test_mime_canon_crlf_turns_bare_lf_into_crlf_once(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"a\nb\n", "a\r\nb\r\n"},
		{"a\r\nb\r\n", "a\r\nb\r\n"},
		{"a\n\nb", "a\r\n\r\nb\r\n"},
		{"\n", "\r\n"},
		{"", "\r\n"},
		{"x\r\n\ny", "x\r\n\r\ny\r\n"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct buf out;

		buf_init(&out, 100);
		assert_int_equal(mime_canon_crlf(S(cases[i].in), &out), 0);
		if (strcmp(buf_cstr(&out), cases[i].want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i,
			    buf_cstr(&out), cases[i].want);
		buf_release(&out);
	}
	(void)state;
}

static void
test_mime_headers_parse_collects_from_sender_and_recipients(void **state)
{
	static const char m[] =
	    "From: \"Dr. A\" <a@x.test>\r\nSender: s@x.test\r\n"
	    "To: b@y.test, Group: c@y.test, d@y.test;\r\n"
	    "Cc: <e@y.test>\r\nMessage-ID: <id-1@x.test>\r\n\r\nbody\r\n";
	struct mime_headers h;
	struct err e;

	assert_int_equal(mime_headers_parse(S(m), &h, &e), 0);
	assert_string_equal(h.from, "a@x.test");
	assert_int_equal(h.n_from, 1);
	assert_string_equal(h.sender, "s@x.test");
	assert_string_equal(h.message_id, "id-1@x.test");
	assert_int_equal(h.n_rcpts, 4);
	assert_string_equal(h.rcpts[0], "b@y.test");
	assert_string_equal(h.rcpts[1], "c@y.test");
	assert_string_equal(h.rcpts[2], "d@y.test");
	assert_string_equal(h.rcpts[3], "e@y.test");
	mime_headers_release(&h);
	(void)state;
}

static void
test_mime_writers_keep_routing_headers_and_quote_parameters(void **state)
{
	static const char m[] =
	    "From: a@x.test\r\nTo: b@y.test\r\nSubject: secret\r\n"
	    "X-Other: no\r\nDisposition-Notification-To: a@x.test\r\n"
	    "Content-Type: text/plain\r\n\r\nbody\r\n";
	static const char *const params[] = {"boundary", "a b", NULL};
	struct buf out;
	struct err e;

	buf_init(&out, BUF_UNLIMITED);
	assert_int_equal(mime_write_routing_headers(S(m), "neutral", &out, &e),
	    0);
	assert_non_null(strstr(buf_cstr(&out), "From: a@x.test\r\n"));
	assert_non_null(strstr(buf_cstr(&out), "Subject: neutral\r\n"));
	assert_non_null(strstr(buf_cstr(&out), "Disposition-Notification-To"));
	assert_null(strstr(buf_cstr(&out), "secret"));
	assert_null(strstr(buf_cstr(&out), "X-Other"));
	assert_null(strstr(buf_cstr(&out), "Content-Type"));
	buf_reset(&out);
	assert_int_equal(mime_write_content_type(&out, "multipart/mixed",
	    params, &e), 0);
	assert_string_equal(buf_cstr(&out),
	    "Content-Type: multipart/mixed; boundary=\"a b\"\r\n");
	buf_reset(&out);
	assert_int_equal(mime_write_headers_except_content(S(m), &out), 0);
	assert_null(strstr(buf_cstr(&out), "Content-Type"));
	assert_non_null(strstr(buf_cstr(&out), "X-Other: no\r\n"));
	buf_release(&out);
	(void)state;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_mime_entity_parse_reads_type_parameters_and_encoding),
		cmocka_unit_test(
		    test_mime_multipart_split_gives_the_exact_signed_octets),
		cmocka_unit_test(
		    test_mime_base64_decodes_one_long_line_and_folded_lines),
		cmocka_unit_test(
		    test_mime_base64_encode_writes_76_column_lines_that_decode_back),
		cmocka_unit_test(
		    test_mime_canon_crlf_turns_bare_lf_into_crlf_once),
		cmocka_unit_test(
		    test_mime_headers_parse_collects_from_sender_and_recipients),
		cmocka_unit_test(
		    test_mime_writers_keep_routing_headers_and_quote_parameters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
