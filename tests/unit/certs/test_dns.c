/* The resolver against a small DNS server in a thread (UDP on loopback):
 * positive and negative caching, lookups in flight shared, permanent
 * (NXDOMAIN, NODATA) versus temporary (SERVFAIL, timeout) answers. */
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
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "certs/dns.h"
#include "certs/dns_msg.h"
#include "core/buf.h"
#include "core/loop.h"
#include "core/str.h"
#include "tests/lib/testlib.h"

struct fake {
	int fd;
	uint16_t port;
	pthread_t th;
	atomic_int stop;
	atomic_int queries;
	atomic_int nx_queries, sf_queries, a_queries, zero_queries;
};

static void
put16(struct buf *b, uint16_t v)
{
	buf_putc(b, (uint8_t)(v >> 8));
	buf_putc(b, (uint8_t)v);
}

static void
put32(struct buf *b, uint32_t v)
{
	put16(b, (uint16_t)(v >> 16));
	put16(b, (uint16_t)v);
}

/* Answers by name: a.test (A, TTL 300), zero.test (A, TTL 0), nx.test
 * (NXDOMAIN, SOA TTL 10 minimum 5), nodata.test (NOERROR, nothing),
 * sf.test (SERVFAIL), slow.test (no answer). */
static void
answer(struct fake *f, const uint8_t *q, size_t n, struct sockaddr_in *from)
{
	struct dns_msg *m = NULL;
	struct err e;
	struct buf b;
	uint16_t rcode = 0, an = 0, ns = 0;
	size_t qend;

	if (dns_msg_parse(q, n, &m, &e) != 0 || m->qname == NULL)
		return;
	atomic_fetch_add(&f->queries, 1);
	if (strcmp(m->qname, "slow.test") == 0) {
		dns_msg_free(&m);
		return;
	}
	if (strcmp(m->qname, "a.test") == 0) {
		an = 1;
		atomic_fetch_add(&f->a_queries, 1);
	} else if (strcmp(m->qname, "zero.test") == 0) {
		an = 1;
		atomic_fetch_add(&f->zero_queries, 1);
	} else if (strcmp(m->qname, "nx.test") == 0) {
		rcode = DNS_RCODE_NXDOMAIN;
		ns = 1;
		atomic_fetch_add(&f->nx_queries, 1);
	} else if (strcmp(m->qname, "sf.test") == 0) {
		rcode = DNS_RCODE_SERVFAIL;
		atomic_fetch_add(&f->sf_queries, 1);
	}
	buf_init(&b, 4096);
	put16(&b, m->id);
	put16(&b, (uint16_t)(0x8580 | rcode));
	put16(&b, 1);
	put16(&b, an);
	put16(&b, ns);
	put16(&b, 0);
	/* question copied from the query (without its OPT record) */
	qend = 12;
	while (q[qend] != 0)
		qend += 1u + q[qend];
	qend += 5;
	buf_append(&b, q + 12, qend - 12);
	if (an) {
		static const uint8_t ip[4] = {127, 0, 0, 9};

		put16(&b, 0xc00c);
		put16(&b, DNS_T_A);
		put16(&b, 1);
		put32(&b, strcmp(m->qname, "zero.test") == 0 ? 0 : 300);
		put16(&b, 4);
		buf_append(&b, ip, 4);
	}
	if (ns) {
		static const uint8_t soa[] = {2, 'n', 's', 0xc0, 0x0c, 0xc0,
		    0x0c, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0,
		    0, 5};

		put16(&b, 0xc00c);
		put16(&b, DNS_T_SOA);
		put16(&b, 1);
		put32(&b, 10);
		put16(&b, sizeof(soa));
		buf_append(&b, soa, sizeof(soa));
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

		if (poll(&p, 1, 50) <= 0)
			continue;
		n = recvfrom(f->fd, pkt, sizeof(pkt), 0,
		    (struct sockaddr *)&from, &fl);
		if (n > 0)
			answer(f, pkt, (size_t)n, &from);
	}
	return NULL;
}

static struct fake *
fake_start(void)
{
	static struct fake f;
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);

	memset(&f, 0, sizeof(f));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f.fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(f.fd >= 0);
	assert_int_equal(bind(f.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(f.fd, (struct sockaddr *)&a, &al);
	f.port = ntohs(a.sin_port);
	pthread_create(&f.th, NULL, fake_main, &f);
	return &f;
}

static void
fake_stop(struct fake *f)
{
	atomic_store(&f->stop, 1);
	pthread_join(f->th, NULL);
	close(f->fd);
}

/* A test's loop, resolver and fake server. */
struct t {
	struct fake *f;
	struct loop *l;
	struct dns *d;
	int done;
	struct dns_answer *last[8];
	int n;
};

static size_t cache_max_override;

static void
t_setup(struct t *t, int64_t timeout_ms)
{
	struct dns_settings s;
	struct err e;
	char servers[64];

	memset(t, 0, sizeof(*t));
	t->f = fake_start();
	str_fmt(servers, sizeof(servers), "127.0.0.1:%u", t->f->port);
	dns_settings_default(&s);
	s.servers = servers;
	s.timeout_ms = timeout_ms;
	s.tries = 1;
	s.negative_ttl_ms = 2000;
	if (cache_max_override != 0)
		s.cache_max = cache_max_override;
	assert_int_equal(loop_new(&t->l, &e), 0);
	if (dns_new(t->l, &s, &t->d, &e) != 0)
		fail_msg("dns_new: %s", e.msg);
}

static void
t_teardown(struct t *t)
{
	for (int i = 0; i < t->n; i++)
		dns_answer_unref(&t->last[i]);
	dns_free(&t->d);
	loop_stop(t->l);
	loop_run(t->l);
	loop_free(&t->l);
	fake_stop(t->f);
}

static void
got(void *arg, struct dns_answer *a)
{
	struct t *t = arg;

	assert_true(t->n < 8);
	t->last[t->n++] = dns_answer_ref(a);
	t->done++;
}

static void
wait_done(struct t *t, int want)
{
	while (t->done < want)
		uv_run(loop_uv(t->l), UV_RUN_ONCE);
}

static void
test_dns_caches_positive_answer_for_its_ttl(void **state)
{
	struct t t;
	struct err e;
	struct dns_stats st;
	const struct dns_rr *rr;
	size_t it = 0;

	t_setup(&t, 1000);
	assert_int_equal(dns_resolve(t.d, "A.test.", DNS_T_A, got, &t, &e), 0);
	wait_done(&t, 1);
	assert_int_equal(t.last[0]->status, DNS_OK);
	assert_int_equal(t.last[0]->ttl_s, 300);
	rr = dns_answer_next(t.last[0], &it);
	assert_non_null(rr);
	assert_int_equal(rr->u.a.addr[3], 9);
	assert_null(dns_answer_next(t.last[0], &it));
	/* second time from the cache, inside the call */
	assert_int_equal(dns_resolve(t.d, "a.test", DNS_T_A, got, &t, &e), 0);
	assert_int_equal(t.done, 2);
	assert_ptr_equal(t.last[1], t.last[0]);
	dns_get_stats(t.d, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.sent, 1);
	assert_int_equal(atomic_load(&t.f->a_queries), 1);
	t_teardown(&t);
}

static void
test_dns_shares_a_lookup_in_flight(void **state)
{
	struct t t;
	struct err e;
	struct dns_stats st;

	t_setup(&t, 1000);
	for (int i = 0; i < 3; i++)
		assert_int_equal(dns_resolve(t.d, "a.test", DNS_T_A, got, &t,
		    &e), 0);
	assert_int_equal(t.done, 0);
	wait_done(&t, 3);
	dns_get_stats(t.d, &st);
	assert_int_equal(st.joined, 2);
	assert_int_equal(st.sent, 1);
	assert_int_equal(atomic_load(&t.f->a_queries), 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(t.last[i]->status, DNS_OK);
	t_teardown(&t);
}

static void
test_dns_nxdomain_is_permanent_and_cached_briefly(void **state)
{
	struct t t;
	struct err e;

	t_setup(&t, 1000);
	assert_int_equal(dns_resolve(t.d, "nx.test", DNS_T_CERT, got, &t, &e),
	    0);
	wait_done(&t, 1);
	assert_int_equal(t.last[0]->status, DNS_NXDOMAIN);
	/* min(SOA TTL 10, minimum 5) capped by negative_ttl 2 s */
	assert_int_equal(t.last[0]->ttl_s, 2);
	assert_int_equal(dns_resolve(t.d, "nx.test", DNS_T_CERT, got, &t, &e),
	    0);
	assert_int_equal(t.done, 2);
	assert_int_equal(atomic_load(&t.f->nx_queries), 1);
	t_teardown(&t);
}

static void
test_dns_nodata_is_permanent(void **state)
{
	struct t t;
	struct err e;

	t_setup(&t, 1000);
	assert_int_equal(dns_resolve(t.d, "nodata.test", DNS_T_CERT, got, &t,
	    &e), 0);
	wait_done(&t, 1);
	assert_int_equal(t.last[0]->status, DNS_NODATA);
	t_teardown(&t);
}

static void
test_dns_servfail_is_temporary_and_not_cached(void **state)
{
	struct t t;
	struct err e;

	t_setup(&t, 1000);
	assert_int_equal(dns_resolve(t.d, "sf.test", DNS_T_CERT, got, &t, &e),
	    0);
	wait_done(&t, 1);
	assert_int_equal(t.last[0]->status, DNS_TEMP);
	assert_int_equal(dns_resolve(t.d, "sf.test", DNS_T_CERT, got, &t, &e),
	    0);
	wait_done(&t, 2);
	assert_int_equal(t.last[1]->status, DNS_TEMP);
	assert_true(atomic_load(&t.f->sf_queries) >= 2);
	t_teardown(&t);
}

static void
test_dns_timeout_is_temporary(void **state)
{
	struct t t;
	struct err e;

	t_setup(&t, 100);
	assert_int_equal(dns_resolve(t.d, "slow.test", DNS_T_CERT, got, &t,
	    &e), 0);
	wait_done(&t, 1);
	assert_int_equal(t.last[0]->status, DNS_TEMP);
	assert_string_equal(t.last[0]->reason, "timeout");
	t_teardown(&t);
}

static void
test_dns_ttl_zero_is_not_cached(void **state)
{
	struct t t;
	struct err e;

	t_setup(&t, 1000);
	assert_int_equal(dns_resolve(t.d, "zero.test", DNS_T_A, got, &t, &e),
	    0);
	wait_done(&t, 1);
	assert_int_equal(dns_resolve(t.d, "zero.test", DNS_T_A, got, &t, &e),
	    0);
	wait_done(&t, 2);
	assert_int_equal(atomic_load(&t.f->zero_queries), 2);
	t_teardown(&t);
}

static void
test_dns_free_fires_pending_callbacks_as_temporary(void **state)
{
	struct t t;
	struct err e;

	t_setup(&t, 5000);
	assert_int_equal(dns_resolve(t.d, "slow.test", DNS_T_A, got, &t, &e),
	    0);
	dns_free(&t.d);
	assert_int_equal(t.done, 1);
	assert_int_equal(t.last[0]->status, DNS_TEMP);
	assert_string_equal(t.last[0]->reason, "resolver closed");
	t_teardown(&t);
}

static void
test_dns_rejects_a_name_that_cannot_be_queried(void **state)
{
	struct t t;
	struct err e;

	t_setup(&t, 1000);
	assert_int_equal(dns_resolve(t.d, "a..test", DNS_T_A, got, &t, &e), -1);
	assert_int_equal(e.kind, ERR_PERM);
	assert_int_equal(t.done, 0);
	t_teardown(&t);
}

static void
test_dns_cache_evicts_the_oldest_answers(void **state)
{
	struct t t;
	struct err e;
	struct dns_stats st;
	static const char *names[] = {"a.test", "nx.test", "nodata.test"};

	cache_max_override = 2;
	t_setup(&t, 1000);
	cache_max_override = 0;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(dns_resolve(t.d, names[i], DNS_T_A, got, &t,
		    &e), 0);
		wait_done(&t, i + 1);
	}
	dns_get_stats(t.d, &st);
	assert_int_equal(st.cached, 2);
	/* a.test was the oldest: asked again */
	assert_int_equal(dns_resolve(t.d, "a.test", DNS_T_A, got, &t, &e), 0);
	wait_done(&t, 4);
	assert_int_equal(atomic_load(&t.f->a_queries), 2);
	t_teardown(&t);
}

static void
test_dns_answer_from_reply_follows_cname(void **state)
{
	/* www.b.test CNAME web.b.test; web.b.test A 127.0.0.5 */
	static const uint8_t pkt[] = {0, 1, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
	    3, 'w', 'w', 'w', 1, 'b', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1,
	    0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, 'w', 'e', 'b', 0xc0, 16,
	    0xc0, 40, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 127, 0, 0, 5};
	struct dns_answer *a = dns_answer_from_reply("www.b.test", DNS_T_A,
	    pkt, sizeof(pkt), 60000, 86400000);
	const struct dns_rr *rr;
	size_t it = 0;

	assert_int_equal(a->status, DNS_OK);
	assert_string_equal(a->owner, "web.b.test");
	assert_int_equal(a->ttl_s, 30);
	rr = dns_answer_next(a, &it);
	assert_non_null(rr);
	assert_int_equal(rr->u.a.addr[3], 5);
	dns_answer_unref(&a);
	assert_null(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dns_caches_positive_answer_for_its_ttl),
	    cmocka_unit_test(test_dns_shares_a_lookup_in_flight),
	    cmocka_unit_test(test_dns_nxdomain_is_permanent_and_cached_briefly),
	    cmocka_unit_test(test_dns_nodata_is_permanent),
	    cmocka_unit_test(test_dns_servfail_is_temporary_and_not_cached),
	    cmocka_unit_test(test_dns_timeout_is_temporary),
	    cmocka_unit_test(test_dns_ttl_zero_is_not_cached),
	    cmocka_unit_test(test_dns_free_fires_pending_callbacks_as_temporary),
	    cmocka_unit_test(test_dns_rejects_a_name_that_cannot_be_queried),
	    cmocka_unit_test(test_dns_cache_evicts_the_oldest_answers),
	    cmocka_unit_test(test_dns_answer_from_reply_follows_cname),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
