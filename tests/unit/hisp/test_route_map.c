/* The transport map's syntax (hisp/route.h route_map_parse), and the next
 * hop it gives for an address literal without a resolver. Found by
 * tests/fuzz/adt/fuzz_config_values.c: "[relay];2526" was taken as
 * [relay] on port 25. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "core/str.h"
#include "hisp/route.h"
#include "tests/lib/testlib.h"

static void
test_route_map_rejects_malformed_entries(void **state)
{
	static const char *const bad[] = {"[relay];2526", "[relay]x",
	    "b=[relay", "b=[]:25", "b=relay:", "b=relay:0", "b=relay:65536",
	    "=relay", "b.example", "b=", "b=[::1]:25x", NULL};
	static const char *const prefix = "a.example=127.0.0.1, ";

	(void)state;
	for (int i = 0; bad[i] != NULL; i++) {
		char text[128];
		struct route_map *m;
		struct err e;

		str_fmt(text, sizeof(text), "%s%s%s", prefix,
		    bad[i][0] == '[' ? "b=" : "", bad[i]);
		memset(&e, 0, sizeof(e));
		m = route_map_parse(text, &e);
		if (m != NULL || e.kind != ERR_CONFIG)
			fail_msg("%s: got a map, want ERR_CONFIG", text);
		route_map_free(&m);
	}
}

struct hop {
	int calls;
	enum route_status status;
	int family;
	uint16_t port;
};

static void
hop_done(void *arg, const struct route_result *res)
{
	struct hop *h = arg;

	h->calls++;
	h->status = res->status;
	if (res->naddrs > 0) {
		h->family = res->addrs[0].ss_family;
		h->port = ntohs(h->family == AF_INET ?
		    ((const struct sockaddr_in *)&res->addrs[0])->sin_port :
		    ((const struct sockaddr_in6 *)&res->addrs[0])->sin6_port);
	}
}

static void
test_route_map_gives_literal_hosts_and_ports(void **state)
{
	static const struct {
		const char *domain;
		int family;
		uint16_t port;
	} cases[] = {
		{"b.example", AF_INET, 2526},
		{"C.Example", AF_INET6, 2527},
		{"d.example", AF_INET, 25},
		{"other.test", AF_INET, 25}, /* the "*" entry */
	};
	struct route_map *m;
	struct err e;

	(void)state;
	m = route_map_parse(" b.example=127.0.0.1:2526 ,c.example=[::1]:2527,"
	    ",d.example = [127.0.0.2], *=127.0.0.3", &e);
	if (m == NULL)
		fail_msg("got %s, want a map", e.msg);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hop h = {0};

		route_lookup(NULL, m, cases[i].domain, 25, hop_done, &h);
		if (h.calls != 1 || h.status != ROUTE_OK ||
		    h.family != cases[i].family || h.port != cases[i].port)
			fail_msg("%s: got calls %d status %d family %d port %u, "
			    "want 1 0 %d %u", cases[i].domain, h.calls,
			    (int)h.status, h.family, (unsigned)h.port,
			    cases[i].family, (unsigned)cases[i].port);
	}
	route_map_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_map_rejects_malformed_entries),
		cmocka_unit_test(test_route_map_gives_literal_hosts_and_ports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
