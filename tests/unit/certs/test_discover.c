/* The discovery sequence against a small DNS server in a thread: which
 * step's certificates are used, fall-through on all-invalid results,
 * permanent versus temporary outcomes, cancellation, and DNS lookups
 * shared between requests. The validation step is injected: it judges a
 * certificate by the word in its CN ("valid", "temp", anything else). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "certs/discover.h"
#include "certs/dns.h"
#include "certs/dns_msg.h"
#include "core/buf.h"
#include "core/loop.h"
#include "core/str.h"
#include "tests/lib/testlib.h"

#define MAX_CERTS 3

/* What the fake server holds for a name's CERT query. */
struct zname {
	const char *name;
	bool silent;
	const char *cns[MAX_CERTS]; /* a certificate per CN; none: NODATA */
};

struct fake {
	int fd;
	uint16_t port;
	pthread_t th;
	atomic_int stop;
	atomic_int queries;
	const struct zname *zone;
	size_t nzone;
	atomic_int per_name[8];
};

static uint8_t *
make_cert(const char *cn, size_t *len_r)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n;
	unsigned char *der = NULL;
	int len;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_set_pubkey(x, k);
	X509_sign(x, k, EVP_sha256());
	len = i2d_X509(x, &der);
	assert_true(len > 0);
	X509_free(x);
	EVP_PKEY_free(k);
	*len_r = (size_t)len;
	return der;
}

static void
put16(struct buf *b, uint16_t v)
{
	buf_putc(b, (uint8_t)(v >> 8));
	buf_putc(b, (uint8_t)v);
}

static void
answer(struct fake *f, const uint8_t *q, size_t n, struct sockaddr_in *from)
{
	struct dns_msg *m = NULL;
	struct err e;
	struct buf b;
	const struct zname *z = NULL;
	uint16_t an = 0, rcode = DNS_RCODE_NXDOMAIN;
	size_t qend = 12;

	if (dns_msg_parse(q, n, &m, &e) != 0 || m->qname == NULL)
		return;
	atomic_fetch_add(&f->queries, 1);
	for (size_t i = 0; i < f->nzone; i++)
		if (strcmp(f->zone[i].name, m->qname) == 0 &&
		    m->qtype == DNS_T_CERT) {
			z = &f->zone[i];
			atomic_fetch_add(&f->per_name[i], 1);
		}
	if (z != NULL && z->silent) {
		dns_msg_free(&m);
		return;
	}
	if (z != NULL) {
		rcode = DNS_RCODE_NOERROR;
		while (an < MAX_CERTS && z->cns[an] != NULL)
			an++;
	}
	buf_init(&b, 16384);
	put16(&b, m->id);
	put16(&b, (uint16_t)(0x8580 | rcode));
	put16(&b, 1);
	put16(&b, an);
	put16(&b, 0);
	put16(&b, 0);
	while (q[qend] != 0)
		qend += 1u + q[qend];
	qend += 5;
	buf_append(&b, q + 12, qend - 12);
	for (uint16_t i = 0; i < an; i++) {
		size_t len;
		uint8_t *der = make_cert(z->cns[i], &len);

		put16(&b, 0xc00c);
		put16(&b, DNS_T_CERT);
		put16(&b, 1);
		put16(&b, 0);
		put16(&b, 300);
		put16(&b, (uint16_t)(len + 5));
		put16(&b, DNS_CERT_PKIX);
		put16(&b, 0);
		buf_putc(&b, 0);
		buf_append(&b, der, len);
		OPENSSL_free(der);
	}
	sendto(f->fd, b.data, b.len, 0, (struct sockaddr *)from,
	    sizeof(*from));
	buf_release(&b);
	dns_msg_free(&m);
}

static void *
fake_main(void *arg)
{
	struct fake *f = arg;
	uint8_t pkt[4096];

	while (!atomic_load(&f->stop)) {
		struct pollfd p = {.fd = f->fd, .events = POLLIN};
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n;

		if (poll(&p, 1, 20) <= 0)
			continue;
		n = recvfrom(f->fd, pkt, sizeof(pkt), 0,
		    (struct sockaddr *)&from, &fl);
		if (n > 0)
			answer(f, pkt, (size_t)n, &from);
	}
	return NULL;
}

struct t {
	struct fake f;
	struct loop *l;
	struct dns *d;
	struct discover *dc;
	int calls;
	struct discover_result *res[4];
};

static void
judge(void *arg, const char *address, struct discover_cand *c)
{
	c->temporary = false;
	if (c->subject != NULL && strstr(c->subject, "valid") != NULL) {
		c->verdict = DISCOVER_VALID;
		str_lcpy(c->reason, "ok", sizeof(c->reason));
	} else if (c->subject != NULL && strstr(c->subject, "temp") != NULL) {
		c->verdict = DISCOVER_INVALID;
		c->temporary = true;
		str_lcpy(c->reason, "crl-unavailable", sizeof(c->reason));
	} else {
		c->verdict = DISCOVER_INVALID;
		str_lcpy(c->reason, "expired", sizeof(c->reason));
	}
}

static void
t_setup(struct t *t, const struct zname *zone, size_t n)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	struct dns_settings ds;
	struct discover_settings ss;
	struct err e;
	char servers[64];

	memset(t, 0, sizeof(*t));
	t->f.zone = zone;
	t->f.nzone = n;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	t->f.fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(bind(t->f.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(t->f.fd, (struct sockaddr *)&a, &al);
	t->f.port = ntohs(a.sin_port);
	pthread_create(&t->f.th, NULL, fake_main, &t->f);

	str_fmt(servers, sizeof(servers), "127.0.0.1:%u", t->f.port);
	dns_settings_default(&ds);
	ds.servers = servers;
	ds.timeout_ms = 150;
	ds.tries = 1;
	discover_settings_default(&ss);
	ss.ldap = true; /* SRV answers NXDOMAIN: no server */
	assert_int_equal(loop_new(&t->l, &e), 0);
	assert_int_equal(dns_new(t->l, &ds, &t->d, &e), 0);
	t->dc = discover_new(t->l, t->d, &ss, judge, NULL);
}

static void
t_teardown(struct t *t)
{
	for (int i = 0; i < t->calls; i++)
		discover_result_free(&t->res[i]);
	discover_free(&t->dc);
	dns_free(&t->d);
	loop_stop(t->l);
	loop_run(t->l);
	loop_free(&t->l);
	atomic_store(&t->f.stop, 1);
	pthread_join(t->f.th, NULL);
	close(t->f.fd);
}

static void
done(void *arg, struct discover_result *res)
{
	struct t *t = arg;

	assert_true(t->calls < 4);
	t->res[t->calls++] = res;
}

static struct discover_result *
run_one(struct t *t, const char *address)
{
	struct err e;

	assert_non_null(discover_start(t->dc, address, done, t, &e));
	assert_int_equal(t->calls, 0);
	while (t->calls < 1)
		uv_run(loop_uv(t->l), UV_RUN_ONCE);
	return t->res[0];
}

static size_t
count_used(const struct discover_result *r, const char *cn)
{
	size_t n = 0;

	for (size_t i = 0; i < r->ncands; i++)
		if (r->cands[i].used && strstr(r->cands[i].subject, cn) != NULL)
			n++;
	return n;
}

static void
test_discover_uses_valid_address_cert_and_skips_domain(void **state)
{
	static const struct zname zone[] = {
	    {"a.b.test", false, {"valid-a", "old-a"}},
	    {"b.test", false, {"valid-d"}},
	};
	struct t t;
	struct discover_result *r;

	t_setup(&t, zone, 2);
	r = run_one(&t, "a@B.test");
	assert_int_equal(r->outcome, DISCOVER_FOUND);
	assert_string_equal(r->address, "a@b.test");
	assert_int_equal(r->ncands, 2);
	assert_int_equal(r->nused, 1);
	assert_int_equal(count_used(r, "valid-a"), 1);
	assert_int_equal(r->cands[0].source, DISCOVER_DNS_ADDRESS);
	assert_int_equal(atomic_load(&t.f.per_name[1]), 0);
	t_teardown(&t);
}

static void
test_discover_falls_through_when_address_certs_all_invalid(void **state)
{
	static const struct zname zone[] = {
	    {"a.b.test", false, {"old-1", "old-2"}},
	    {"b.test", false, {"valid-d"}},
	};
	struct t t;
	struct discover_result *r;

	t_setup(&t, zone, 2);
	r = run_one(&t, "a@b.test");
	assert_int_equal(r->outcome, DISCOVER_FOUND);
	assert_int_equal(r->ncands, 3);
	assert_int_equal(r->nused, 1);
	assert_int_equal(count_used(r, "valid-d"), 1);
	assert_int_equal(r->cands[2].source, DISCOVER_DNS_DOMAIN);
	t_teardown(&t);
}

static void
test_discover_finds_nothing_permanently(void **state)
{
	struct t t;
	struct discover_result *r;

	t_setup(&t, NULL, 0);
	r = run_one(&t, "a@b.test");
	assert_int_equal(r->outcome, DISCOVER_NONE);
	assert_int_equal(r->ncands, 0);
	assert_non_null(strstr(r->trace, "dns a.b.test CERT: nxdomain"));
	assert_non_null(strstr(r->trace, "SRV: nxdomain"));
	t_teardown(&t);
}

static void
test_discover_is_temporary_when_a_verdict_may_change(void **state)
{
	static const struct zname zone[] = {
	    {"a.b.test", false, {"temp-a"}},
	};
	struct t t;
	struct discover_result *r;

	t_setup(&t, zone, 1);
	r = run_one(&t, "a@b.test");
	assert_int_equal(r->outcome, DISCOVER_TEMP);
	assert_non_null(strstr(r->reason, "crl-unavailable"));
	t_teardown(&t);
}

static void
test_discover_uses_domain_cert_after_address_timeout(void **state)
{
	static const struct zname zone[] = {
	    {"a.b.test", true, {NULL}},
	    {"b.test", false, {"valid-d"}},
	};
	struct t t;
	struct discover_result *r;

	t_setup(&t, zone, 2);
	r = run_one(&t, "a@b.test");
	assert_int_equal(r->outcome, DISCOVER_FOUND);
	assert_int_equal(count_used(r, "valid-d"), 1);
	assert_non_null(strstr(r->trace, "temporary failure: timeout"));
	t_teardown(&t);
}

static void
test_discover_timeouts_everywhere_are_temporary(void **state)
{
	static const struct zname zone[] = {
	    {"a.b.test", true, {NULL}},
	    {"b.test", true, {NULL}},
	};
	struct t t;
	struct discover_result *r;

	t_setup(&t, zone, 2);
	r = run_one(&t, "a@b.test");
	assert_int_equal(r->outcome, DISCOVER_TEMP);
	assert_non_null(strstr(r->reason, "timeout"));
	t_teardown(&t);
}

static void
test_discover_shares_dns_lookups_between_requests(void **state)
{
	static const struct zname zone[] = {
	    {"a.b.test", false, {"valid-a"}},
	};
	struct t t;
	struct err e;

	t_setup(&t, zone, 1);
	assert_non_null(discover_start(t.dc, "a@b.test", done, &t, &e));
	assert_non_null(discover_start(t.dc, "a@b.test", done, &t, &e));
	while (t.calls < 2)
		uv_run(loop_uv(t.l), UV_RUN_ONCE);
	assert_int_equal(t.res[0]->outcome, DISCOVER_FOUND);
	assert_int_equal(t.res[1]->outcome, DISCOVER_FOUND);
	assert_int_equal(atomic_load(&t.f.per_name[0]), 1);
	t_teardown(&t);
}

static void
test_discover_cancelled_request_never_calls_back(void **state)
{
	static const struct zname zone[] = {
	    {"a.b.test", false, {"valid-a"}},
	};
	struct t t;
	struct err e;
	struct discover_req *rq;

	t_setup(&t, zone, 1);
	rq = discover_start(t.dc, "a@b.test", done, &t, &e);
	assert_non_null(rq);
	/* let the DNS query go out, then cancel while it is in flight */
	while (atomic_load(&t.f.queries) < 1)
		uv_run(loop_uv(t.l), UV_RUN_NOWAIT);
	discover_cancel(&rq);
	assert_null(rq);
	for (int i = 0; i < 40; i++) {
		uv_run(loop_uv(t.l), UV_RUN_NOWAIT);
		usleep(10000);
	}
	assert_int_equal(t.calls, 0);
	t_teardown(&t);
}

static void
released(void *arg)
{
	(*(int *)arg)++;
}

static void
test_discover_free_with_requests_pending(void **state)
{
	/* Both silent: no answer can finish a request before the free. */
	static const struct zname zone[] = {
	    {"a.b.test", true, {NULL}},
	    {"c.b.test", true, {NULL}},
	};
	struct t t;
	struct err e;
	int rel = 0;

	t_setup(&t, zone, 2);
	discover_on_release(t.dc, released, &rel);
	assert_non_null(discover_start(t.dc, "a@b.test", done, &t, &e));
	assert_non_null(discover_start(t.dc, "c@b.test", done, &t, &e));
	while (atomic_load(&t.f.queries) < 2)
		uv_run(loop_uv(t.l), UV_RUN_NOWAIT);
	discover_free(&t.dc);
	assert_null(t.dc);
	assert_int_equal(rel, 0); /* a.b.test is still waiting on DNS */
	for (int i = 0; i < 60 && rel == 0; i++) {
		uv_run(loop_uv(t.l), UV_RUN_NOWAIT);
		usleep(10000);
	}
	assert_int_equal(rel, 1);
	assert_int_equal(t.calls, 0);
	t_teardown(&t);
}

static void
test_discover_serves_repeated_requests_from_its_cache(void **state)
{
	static const struct zname zone[] = {
	    {"a.b.test", false, {"valid-a"}},
	};
	struct t t;
	struct err e;
	int before;

	t_setup(&t, zone, 1);
	run_one(&t, "a@b.test");
	before = atomic_load(&t.f.queries);
	assert_non_null(discover_start(t.dc, "a@B.TEST", done, &t, &e));
	assert_int_equal(t.calls, 1); /* not inside the call */
	while (t.calls < 2)
		uv_run(loop_uv(t.l), UV_RUN_ONCE);
	assert_int_equal(atomic_load(&t.f.queries), before);
	assert_ptr_not_equal(t.res[1], t.res[0]);
	assert_int_equal(t.res[1]->outcome, DISCOVER_FOUND);
	assert_int_equal(count_used(t.res[1], "valid-a"), 1);
	/* after a flush the lookup runs again (from the DNS cache) */
	discover_flush(t.dc);
	assert_non_null(discover_start(t.dc, "a@b.test", done, &t, &e));
	while (t.calls < 3)
		uv_run(loop_uv(t.l), UV_RUN_ONCE);
	assert_int_equal(t.res[2]->outcome, DISCOVER_FOUND);
	t_teardown(&t);
}

static void
test_discover_does_not_cache_temporary_outcomes(void **state)
{
	static const struct zname zone[] = {
	    {"a.b.test", true, {NULL}},
	    {"b.test", true, {NULL}},
	};
	struct t t;
	struct err e;

	t_setup(&t, zone, 2);
	run_one(&t, "a@b.test");
	assert_int_equal(t.res[0]->outcome, DISCOVER_TEMP);
	assert_non_null(discover_start(t.dc, "a@b.test", done, &t, &e));
	while (t.calls < 2)
		uv_run(loop_uv(t.l), UV_RUN_ONCE);
	assert_int_equal(t.res[1]->outcome, DISCOVER_TEMP);
	assert_int_equal(atomic_load(&t.f.per_name[0]), 2);
	t_teardown(&t);
}

static void
test_discover_cancelling_one_joined_request_keeps_the_other(void **state)
{
	static const struct zname zone[] = {
	    {"a.b.test", false, {"valid-a"}},
	};
	struct t t;
	struct err e;
	struct discover_req *first;

	t_setup(&t, zone, 1);
	first = discover_start(t.dc, "a@b.test", done, &t, &e);
	assert_non_null(discover_start(t.dc, "a@b.test", done, &t, &e));
	discover_cancel(&first);
	while (t.calls < 1)
		uv_run(loop_uv(t.l), UV_RUN_ONCE);
	for (int i = 0; i < 10; i++) {
		uv_run(loop_uv(t.l), UV_RUN_NOWAIT);
		usleep(5000);
	}
	assert_int_equal(t.calls, 1);
	assert_int_equal(t.res[0]->outcome, DISCOVER_FOUND);
	t_teardown(&t);
}

static void
test_discover_rejects_malformed_addresses(void **state)
{
	static const char *bad[] = {"nobody", "@b.test", "a@", "a b@c.test",
	    "a@b\x80.test"};
	struct t t;
	struct err e;

	t_setup(&t, NULL, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (discover_start(t.dc, bad[i], done, &t, &e) != NULL)
			fail_msg("\"%s\": got accepted, want rejected", bad[i]);
		assert_int_equal(e.kind, ERR_PERM);
	}
	t_teardown(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_discover_uses_valid_address_cert_and_skips_domain),
	    cmocka_unit_test(test_discover_falls_through_when_address_certs_all_invalid),
	    cmocka_unit_test(test_discover_finds_nothing_permanently),
	    cmocka_unit_test(test_discover_is_temporary_when_a_verdict_may_change),
	    cmocka_unit_test(test_discover_uses_domain_cert_after_address_timeout),
	    cmocka_unit_test(test_discover_timeouts_everywhere_are_temporary),
	    cmocka_unit_test(test_discover_shares_dns_lookups_between_requests),
	    cmocka_unit_test(test_discover_cancelled_request_never_calls_back),
	    cmocka_unit_test(test_discover_free_with_requests_pending),
	    cmocka_unit_test(test_discover_serves_repeated_requests_from_its_cache),
	    cmocka_unit_test(test_discover_does_not_cache_temporary_outcomes),
	    cmocka_unit_test(test_discover_cancelling_one_joined_request_keeps_the_other),
	    cmocka_unit_test(test_discover_rejects_malformed_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
