/* DNS message parser: hand-built packets (compression, truncation, bad
 * pointers, bad lengths), parsed whole (a DNS message always arrives
 * whole: a datagram or a length-prefixed TCP message). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "certs/dns_msg.h"
#include "core/buf.h"
#include "tests/lib/testlib.h"

/* A packet under construction. */
struct pkt {
	struct buf b;
};

static void
pkt_init(struct pkt *k, const char *qname, uint16_t qtype, uint16_t flags,
    uint16_t an, uint16_t ns, uint16_t ar)
{
	struct err e;
	uint8_t hdr[12] = {0x12, 0x34, (uint8_t)(flags >> 8), (uint8_t)flags,
	    0, 1, (uint8_t)(an >> 8), (uint8_t)an, (uint8_t)(ns >> 8),
	    (uint8_t)ns, (uint8_t)(ar >> 8), (uint8_t)ar};

	buf_init(&k->b, DNS_MSG_MAX + 100);
	assert_int_equal(buf_append(&k->b, hdr, sizeof(hdr)), 0);
	assert_int_equal(dns_msg_put_name(&k->b, qname, &e), 0);
	buf_putc(&k->b, (uint8_t)(qtype >> 8));
	buf_putc(&k->b, (uint8_t)qtype);
	buf_putc(&k->b, 0);
	buf_putc(&k->b, 1);
}

static void
put16(struct pkt *k, uint16_t v)
{
	buf_putc(&k->b, (uint8_t)(v >> 8));
	buf_putc(&k->b, (uint8_t)v);
}

static void
put32(struct pkt *k, uint32_t v)
{
	put16(k, (uint16_t)(v >> 16));
	put16(k, (uint16_t)v);
}

/* Record owned by the question name (pointer 0xc00c). */
static void
pkt_rr(struct pkt *k, uint16_t type, uint32_t ttl, const void *rdata,
    uint16_t rdlen)
{
	put16(k, 0xc00c);
	put16(k, type);
	put16(k, 1);
	put32(k, ttl);
	put16(k, rdlen);
	buf_append(&k->b, rdata, rdlen);
}

static struct dns_msg *
parse_ok(struct pkt *k)
{
	struct dns_msg *m = NULL;
	struct err e = {0};

	if (dns_msg_parse(k->b.data, k->b.len, &m, &e) != 0)
		fail_msg("parse failed: %s", e.msg);
	return m;
}

static void
parse_fails(struct pkt *k, const char *want)
{
	struct dns_msg *m = NULL;
	struct err e = {0};

	if (dns_msg_parse(k->b.data, k->b.len, &m, &e) == 0)
		fail_msg("parse succeeded, want failure \"%s\"", want);
	assert_null(m);
	assert_int_equal(e.kind, ERR_PROTO);
	if (strstr(e.msg, want) == NULL)
		fail_msg("got \"%s\", want \"%s\"", e.msg, want);
}

static const uint8_t der[] = {0x30, 0x82, 0x01, 0x00, 0xaa, 0xbb};

static void
test_dns_msg_parses_cert_pkix_with_compressed_owner(void **state)
{
	struct pkt k;
	struct dns_msg *m;
	uint8_t rd[5 + sizeof(der)] = {0, 1, 0x12, 0x34, 8};

	memcpy(rd + 5, der, sizeof(der));
	pkt_init(&k, "Dr.Smith.b.test", DNS_T_CERT, 0x8580, 1, 0, 0);
	pkt_rr(&k, DNS_T_CERT, 3600, rd, sizeof(rd));
	m = parse_ok(&k);
	assert_int_equal(m->id, 0x1234);
	assert_true(m->qr);
	assert_true(m->aa);
	assert_false(m->tc);
	assert_int_equal(m->rcode, DNS_RCODE_NOERROR);
	assert_string_equal(m->qname, "dr.smith.b.test");
	assert_int_equal(m->qtype, DNS_T_CERT);
	assert_int_equal(m->nrr, 1);
	assert_string_equal(m->rr[0].name, "dr.smith.b.test");
	assert_int_equal(m->rr[0].ttl, 3600);
	assert_int_equal(m->rr[0].section, DNS_SEC_ANSWER);
	assert_int_equal(m->rr[0].u.cert.cert_type, DNS_CERT_PKIX);
	assert_int_equal(m->rr[0].u.cert.key_tag, 0x1234);
	assert_int_equal(m->rr[0].u.cert.algorithm, 8);
	assert_int_equal(m->rr[0].u.cert.len, sizeof(der));
	assert_memory_equal(m->rr[0].u.cert.data, der, sizeof(der));
	dns_msg_free(&m);
	assert_null(m);
	buf_release(&k.b);
}

static void
test_dns_msg_parses_cert_url_types_4_and_253(void **state)
{
	static const char url[] = "http://127.0.0.1:8080/c.der";
	uint8_t rd[5 + sizeof(url)] = {0, 4, 0, 0, 0};
	struct pkt k;
	struct dns_msg *m;

	memcpy(rd + 5, url, sizeof(url) - 1);
	pkt_init(&k, "b.test", DNS_T_CERT, 0x8180, 2, 0, 0);
	pkt_rr(&k, DNS_T_CERT, 60, rd, sizeof(rd) - 1);
	rd[1] = 253;
	pkt_rr(&k, DNS_T_CERT, 60, rd, sizeof(rd) - 1);
	m = parse_ok(&k);
	assert_int_equal(m->nrr, 2);
	assert_int_equal(m->rr[0].u.cert.cert_type, DNS_CERT_IPKIX);
	assert_int_equal(m->rr[1].u.cert.cert_type, DNS_CERT_URI);
	assert_int_equal(m->rr[1].u.cert.len, strlen(url));
	assert_memory_equal(m->rr[1].u.cert.data, url, strlen(url));
	dns_msg_free(&m);
	buf_release(&k.b);
}

static void
test_dns_msg_rejects_cert_url_with_control_byte(void **state)
{
	uint8_t rd[] = {0, 4, 0, 0, 0, 'h', 't', '\n', 'p'};
	struct pkt k;

	pkt_init(&k, "b.test", DNS_T_CERT, 0x8180, 1, 0, 0);
	pkt_rr(&k, DNS_T_CERT, 60, rd, sizeof(rd));
	parse_fails(&k, "not printable");
	buf_release(&k.b);
}

static void
test_dns_msg_rejects_cert_shorter_than_5_and_empty_pkix(void **state)
{
	uint8_t rd[] = {0, 1, 0, 0, 0};
	struct pkt k;

	pkt_init(&k, "b.test", DNS_T_CERT, 0x8180, 1, 0, 0);
	pkt_rr(&k, DNS_T_CERT, 60, rd, 4);
	parse_fails(&k, "want at least 5");
	buf_release(&k.b);
	pkt_init(&k, "b.test", DNS_T_CERT, 0x8180, 1, 0, 0);
	pkt_rr(&k, DNS_T_CERT, 60, rd, 5);
	parse_fails(&k, "without a certificate");
	buf_release(&k.b);
}

static void
test_dns_msg_parses_mx_srv_a_aaaa_cname(void **state)
{
	struct pkt k;
	struct dns_msg *m;
	uint8_t mx[] = {0, 10, 2, 'm', 'x', 0xc0, 0x0c};
	uint8_t srv[] = {0, 1, 0, 20, 0x28, 0x9d, 4, 'l', 'd', 'a', 'p', 0};
	uint8_t a[] = {127, 0, 0, 3};
	uint8_t aaaa[16] = {[15] = 1};
	uint8_t cname[] = {3, 'w', 'w', 'w', 0xc0, 0x0c};
	char ip6[64];

	pkt_init(&k, "b.test", DNS_T_MX, 0x8180, 5, 0, 0);
	pkt_rr(&k, DNS_T_MX, 10, mx, sizeof(mx));
	pkt_rr(&k, DNS_T_SRV, 10, srv, sizeof(srv));
	pkt_rr(&k, DNS_T_A, 10, a, sizeof(a));
	pkt_rr(&k, DNS_T_AAAA, 10, aaaa, sizeof(aaaa));
	pkt_rr(&k, DNS_T_CNAME, 10, cname, sizeof(cname));
	m = parse_ok(&k);
	assert_int_equal(m->nrr, 5);
	assert_int_equal(m->rr[0].u.mx.preference, 10);
	assert_string_equal(m->rr[0].u.mx.exchange, "mx.b.test");
	assert_int_equal(m->rr[1].u.srv.priority, 1);
	assert_int_equal(m->rr[1].u.srv.weight, 20);
	assert_int_equal(m->rr[1].u.srv.port, 10397);
	assert_string_equal(m->rr[1].u.srv.target, "ldap");
	assert_memory_equal(m->rr[2].u.a.addr, a, 4);
	snprintf(ip6, sizeof(ip6), "%u", m->rr[3].u.aaaa.addr[15]);
	assert_string_equal(ip6, "1");
	assert_string_equal(m->rr[4].u.name.target, "www.b.test");
	dns_msg_free(&m);
	buf_release(&k.b);
}

static void
test_dns_msg_parses_soa_in_authority_of_nxdomain(void **state)
{
	struct pkt k;
	struct dns_msg *m;
	uint8_t soa[] = {2, 'n', 's', 0xc0, 0x0c, 0xc0, 0x0c, 0, 0, 0, 1,
	    0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 1, 44};

	pkt_init(&k, "b.test", DNS_T_CERT, 0x8183, 0, 1, 0);
	pkt_rr(&k, DNS_T_SOA, 900, soa, sizeof(soa));
	m = parse_ok(&k);
	assert_int_equal(m->rcode, DNS_RCODE_NXDOMAIN);
	assert_int_equal(m->nrr, 1);
	assert_int_equal(m->rr[0].section, DNS_SEC_AUTHORITY);
	assert_string_equal(m->rr[0].u.soa.mname, "ns.b.test");
	assert_string_equal(m->rr[0].u.soa.rname, "b.test");
	assert_int_equal(m->rr[0].u.soa.serial, 1);
	assert_int_equal(m->rr[0].u.soa.minimum, 300);
	dns_msg_free(&m);
	buf_release(&k.b);
}

static void
test_dns_msg_reads_opt_size_and_extended_rcode(void **state)
{
	struct pkt k;
	struct dns_msg *m;

	pkt_init(&k, "b.test", DNS_T_CERT, 0x8181, 0, 0, 1);
	buf_putc(&k.b, 0);
	put16(&k, DNS_T_OPT);
	put16(&k, 1232);
	put32(&k, 0x01000000); /* extended rcode 1 -> 16 | 1 */
	put16(&k, 0);
	m = parse_ok(&k);
	assert_int_equal(m->edns_size, 1232);
	assert_int_equal(m->rcode, 17);
	assert_int_equal(m->nrr, 0);
	dns_msg_free(&m);
	buf_release(&k.b);
}

static void
test_dns_msg_reads_ttl_with_top_bit_as_zero(void **state)
{
	struct pkt k;
	struct dns_msg *m;
	uint8_t a[] = {127, 0, 0, 1};

	pkt_init(&k, "b.test", DNS_T_A, 0x8180, 1, 0, 0);
	pkt_rr(&k, DNS_T_A, 0x80000001u, a, 4);
	m = parse_ok(&k);
	assert_int_equal(m->rr[0].ttl, 0);
	dns_msg_free(&m);
	buf_release(&k.b);
}

static void
test_dns_msg_rejects_every_truncation_of_a_valid_answer(void **state)
{
	struct pkt k;
	uint8_t rd[5 + sizeof(der)] = {0, 1, 0, 0, 0};
	struct dns_msg *m = NULL;
	struct err e;
	uint8_t soa[] = {2, 'n', 's', 0xc0, 0x0c, 0xc0, 0x0c, 0, 0, 0, 1,
	    0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 1, 44};

	memcpy(rd + 5, der, sizeof(der));
	pkt_init(&k, "a.b.test", DNS_T_CERT, 0x8180, 1, 1, 0);
	pkt_rr(&k, DNS_T_CERT, 1, rd, sizeof(rd));
	pkt_rr(&k, DNS_T_SOA, 1, soa, sizeof(soa));
	for (size_t n = 0; n < k.b.len; n++) {
		if (dns_msg_parse(k.b.data, n, &m, &e) == 0)
			fail_msg("prefix of %zu bytes parsed, want failure", n);
		assert_null(m);
	}
	assert_int_equal(dns_msg_parse(k.b.data, k.b.len, &m, &e), 0);
	dns_msg_free(&m);
	buf_release(&k.b);
}

/* Malformed packets: raw bytes after a fixed header. */
struct bad_case {
	const char *what;
	uint16_t an;
	uint8_t body[48];
	size_t body_len;
	const char *want;
};

static void
test_dns_msg_rejects_malformed_packets_with_a_reason(void **state)
{
	static const struct bad_case cases[] = {
	    {"pointer to itself", 1,
		{0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0}, 11,
		"does not point backwards"},
	    {"forward pointer in answer", 1,
		{0xc0, 40, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4}, 16,
		"does not point backwards"},
	    {"label type 0x40", 1,
		{0x41, 'a', 0, 0, 0, 0, 0, 0, 0, 0, 0}, 11,
		"unsupported label type"},
	    {"label past the end", 1,
		{0x3f, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'}, 11,
		"runs past the message"},
	    {"rdlength past the end", 1,
		{0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 9, 1, 2, 3, 4}, 15,
		"truncated"},
	    {"A of 5 bytes", 1,
		{0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5}, 16,
		"A record of 5 bytes"},
	    {"MX name not filling rdata", 1,
		{0, 0, 15, 0, 1, 0, 0, 0, 0, 0, 5, 0, 1, 0, 9, 9}, 16,
		"does not fill"},
	    {"trailing bytes", 0, {0xde, 0xad}, 2, "after the last record"},
	    {"counts beyond the message", 3, {0, 0, 1}, 3, "cannot hold"},
	};
	char what[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_case *c = &cases[i];
		uint8_t pkt[12 + 48] = {0, 1, 0x81, 0x80, 0, 0,
		    (uint8_t)(c->an >> 8), (uint8_t)c->an, 0, 0, 0, 0};
		struct dns_msg *m = NULL;
		struct err e = {0};

		memcpy(pkt + 12, c->body, c->body_len);
		snprintf(what, sizeof(what), "%s", c->what);
		if (dns_msg_parse(pkt, 12 + c->body_len, &m, &e) == 0)
			fail_msg("%s: parsed, want \"%s\"", what, c->want);
		if (strstr(e.msg, c->want) == NULL)
			fail_msg("%s: got \"%s\", want \"%s\"", what, e.msg,
			    c->want);
	}
}

static void
test_dns_msg_rejects_pointer_loop_between_two_names(void **state)
{
	/* question name "a" + pointer to offset 12 (loop back into itself
	 * through the label) must fail, not hang */
	uint8_t pkt[] = {0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0,
	    1, 'a', 0xc0, 12, 0, 1, 0, 1};
	struct dns_msg *m = NULL;
	struct err e;

	assert_int_equal(dns_msg_parse(pkt, sizeof(pkt), &m, &e), -1);
	assert_non_null(strstr(e.msg, "does not point backwards"));
}

static void
test_dns_msg_rejects_name_longer_than_255_octets(void **state)
{
	uint8_t pkt[12 + 300] = {0, 1, 0x81, 0x80, 0, 1};
	size_t o = 12;
	struct dns_msg *m = NULL;
	struct err e;

	for (int i = 0; i < 4; i++) {
		pkt[o++] = 63;
		memset(pkt + o, 'x', 63);
		o += 63;
	}
	pkt[o++] = 0;
	pkt[o++] = 0;
	pkt[o++] = 1;
	pkt[o++] = 0;
	pkt[o++] = 1;
	assert_int_equal(dns_msg_parse(pkt, o, &m, &e), -1);
	assert_non_null(strstr(e.msg, "longer than 255"));
}

static void
test_dns_msg_rejects_two_questions_and_misplaced_opt(void **state)
{
	uint8_t two[] = {0, 1, 0x81, 0x80, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	    0, 1, 0, 0, 1, 0, 1};
	struct pkt k;
	struct dns_msg *m = NULL;
	struct err e;

	assert_int_equal(dns_msg_parse(two, sizeof(two), &m, &e), -1);
	assert_non_null(strstr(e.msg, "questions"));
	pkt_init(&k, "b.test", DNS_T_A, 0x8180, 1, 0, 0);
	buf_putc(&k.b, 0);
	put16(&k, DNS_T_OPT);
	put16(&k, 512);
	put32(&k, 0);
	put16(&k, 0);
	parse_fails(&k, "misplaced OPT");
	buf_release(&k.b);
}

static void
test_dns_msg_escapes_odd_label_bytes(void **state)
{
	uint8_t pkt[] = {0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0,
	    3, 'a', '.', ' ', 1, 'B', 0, 0, 1, 0, 1};
	struct dns_msg *m = NULL;
	struct err e;

	assert_int_equal(dns_msg_parse(pkt, sizeof(pkt), &m, &e), 0);
	assert_string_equal(m->qname, "a\\046\\032.b");
	dns_msg_free(&m);
}

static void
test_dns_msg_builds_query_that_parses_back(void **state)
{
	struct buf b;
	struct dns_msg *m = NULL;
	struct err e;

	buf_init(&b, 512);
	assert_int_equal(dns_msg_build_query(&b, 77, "dr.smith.b.test.",
	    DNS_T_CERT, 1232, &e), 0);
	assert_int_equal(dns_msg_parse(b.data, b.len, &m, &e), 0);
	assert_int_equal(m->id, 77);
	assert_true(m->rd);
	assert_false(m->qr);
	assert_string_equal(m->qname, "dr.smith.b.test");
	assert_int_equal(m->qtype, DNS_T_CERT);
	assert_int_equal(m->edns_size, 1232);
	dns_msg_free(&m);
	buf_reset(&b);
	assert_int_equal(dns_msg_build_query(&b, 1, "b.test", DNS_T_MX, 0,
	    &e), 0);
	assert_int_equal(b.len, 12 + 8 + 4);
	buf_release(&b);
}

static void
test_dns_msg_put_name_rejects_bad_names(void **state)
{
	static const char *bad[] = {"a..b", ".a", "a b.test", "x\\.y",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.t"};
	struct buf b;
	struct err e;

	buf_init(&b, 1024);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (dns_msg_put_name(&b, bad[i], &e) == 0)
			fail_msg("\"%s\": got accepted, want rejected", bad[i]);
		assert_int_equal(e.kind, ERR_PERM);
	}
	assert_int_equal(dns_msg_put_name(&b, ".", &e), 0);
	assert_int_equal(b.len, 1);
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dns_msg_parses_cert_pkix_with_compressed_owner),
	    cmocka_unit_test(test_dns_msg_parses_cert_url_types_4_and_253),
	    cmocka_unit_test(test_dns_msg_rejects_cert_url_with_control_byte),
	    cmocka_unit_test(test_dns_msg_rejects_cert_shorter_than_5_and_empty_pkix),
	    cmocka_unit_test(test_dns_msg_parses_mx_srv_a_aaaa_cname),
	    cmocka_unit_test(test_dns_msg_parses_soa_in_authority_of_nxdomain),
	    cmocka_unit_test(test_dns_msg_reads_opt_size_and_extended_rcode),
	    cmocka_unit_test(test_dns_msg_reads_ttl_with_top_bit_as_zero),
	    cmocka_unit_test(test_dns_msg_rejects_every_truncation_of_a_valid_answer),
	    cmocka_unit_test(test_dns_msg_rejects_malformed_packets_with_a_reason),
	    cmocka_unit_test(test_dns_msg_rejects_pointer_loop_between_two_names),
	    cmocka_unit_test(test_dns_msg_rejects_name_longer_than_255_octets),
	    cmocka_unit_test(test_dns_msg_rejects_two_questions_and_misplaced_opt),
	    cmocka_unit_test(test_dns_msg_escapes_odd_label_bytes),
	    cmocka_unit_test(test_dns_msg_builds_query_that_parses_back),
	    cmocka_unit_test(test_dns_msg_put_name_rejects_bad_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
