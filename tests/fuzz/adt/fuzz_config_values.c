/* Fuzz target: the hand-written parsers of configuration values in adt/,
 * hisp/, smime/ and certs/, each run on the input as one value (up to its
 * first NUL): the transport map (hisp/route.h route_map_parse) and the
 * next hop it gives without a resolver (route_lookup), listen addresses
 * (adt_config_split_hostport, hisp_config_listen_addr), digest timing,
 * and the enumerations (checked to read back from their names). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "adt/ack.h"
#include "adt/acrs_file.h"
#include "adt/adt_config.h"
#include "adt/directory.h"
#include "certs/anchor.h"
#include "certs/keystore.h"
#include "certs/validate.h"
#include "hisp/address.h"
#include "hisp/hisp_config.h"
#include "hisp/route.h"
#include "smime/smime_config.h"

#define MAX_VALUE 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_err(int rc, const struct err *e)
{
	if (rc == -1 && (e->msg[0] == '\0' || e->kind != ERR_CONFIG))
		abort();
}

static void
hostports(const char *s)
{
	char host[256], small[4];
	int port = 0, rc;
	struct err e;

	rc = adt_config_split_hostport(s, host, sizeof(host), &port);
	if (rc == 0 && (host[0] == '\0' || strlen(host) >= sizeof(host) ||
	    port < 1 || port > 65535))
		abort();
	rc = adt_config_split_hostport(s, small, sizeof(small), &port);
	if (rc == 0 && (small[0] == '\0' || strlen(small) >= sizeof(small)))
		abort();
	for (size_t i = 0; i < 64; i++) {
		memset(&e, 0, sizeof(e));
		port = 0;
		rc = hisp_config_listen_addr(s, i, host, sizeof(host), &port,
		    &e);
		check_err(rc, &e);
		if (rc == 1 && (host[0] == '\0' ||
		    strlen(host) >= sizeof(host) || port < 1 ||
		    port > 65535))
			abort();
		if (rc != 1)
			break;
	}
	memset(&e, 0, sizeof(e));
	rc = hisp_config_listen_addr(s, 0, small, sizeof(small), &port, &e);
	check_err(rc, &e);
	if (rc == 1 && strlen(small) >= sizeof(small))
		abort();
}

/* A map's next hop for a domain, without a resolver: an address literal
 * answers at once, anything else is a temporary failure. */
static void
route_done(void *arg, const struct route_result *res)
{
	int *calls = arg;

	(*calls)++;
	if (res->status == ROUTE_OK && (res->naddrs != 1 ||
	    (res->addrs[0].ss_family != AF_INET &&
	    res->addrs[0].ss_family != AF_INET6) ||
	    res->server_name[0] == '\0'))
		abort();
	if (res->status != ROUTE_OK && res->reason[0] == '\0')
		abort();
}

static void
routes(const char *s)
{
	static const char *const domains[] = {"b.example", "B.Example",
	    "zz.invalid", "", NULL};
	struct route_map *m;
	struct err e;

	memset(&e, 0, sizeof(e));
	m = route_map_parse(s, &e);
	if (m == NULL && (e.msg[0] == '\0' || e.kind != ERR_CONFIG))
		abort();
	for (int i = 0; m != NULL && domains[i] != NULL; i++) {
		int calls = 0;

		route_lookup(NULL, m, domains[i], 25, route_done, &calls);
		if (calls != 1)
			abort();
	}
	route_map_free(&m);
	if (m != NULL)
		abort();
}

static void
enums(const char *s)
{
	enum ack_mode am;
	unsigned dir;
	enum validate_direction vd, vd2;
	enum keystore_keytype kt;
	enum address_kind ak, ak2;
	enum smime_cipher sc, sc2;
	enum smime_key_transport tr, tr2;
	enum directory_format df;
	int rel;
	bool digest;
	int minute;
	struct err e;

	(void)ack_mode_parse(s, &am);
	if (anchor_direction_parse(s, &dir) == 0 &&
	    (dir < 1 || dir > ANCHOR_BOTH ||
	    anchor_direction_name(dir) == NULL))
		abort();
	if (validate_direction_parse(s, &vd) == 0 &&
	    (validate_direction_parse(validate_direction_name(vd), &vd2) !=
	    0 || vd2 != vd))
		abort();
	(void)keystore_keytype_parse(s, &kt);
	if (address_kind_parse(s, &ak) == 0 &&
	    (address_kind_parse(address_kind_name(ak), &ak2) != 0 ||
	    ak2 != ak))
		abort();
	if (smime_cipher_parse(s, &sc) == 0 &&
	    (smime_cipher_parse(smime_cipher_name(sc), &sc2) != 0 ||
	    sc2 != sc))
		abort();
	if (smime_key_transport_parse(s, &tr) == 0 &&
	    (smime_key_transport_parse(smime_key_transport_name(tr), &tr2) !=
	    0 || tr2 != tr))
		abort();
	if ((rel = acrs_file_rel_parse(s)) != -1 &&
	    acrs_file_rel_parse(acrs_file_rel_name(rel)) != rel)
		abort();
	if (directory_format_parse(s, &df, &e) == 0 &&
	    directory_format_name(df) == NULL)
		abort();
	if (directory_timing_parse(s, &digest, &minute, &e) == 0 &&
	    (minute < 0 || minute >= 24 * 60 || (!digest && minute != 0)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[MAX_VALUE + 1];
	size_t n = size < MAX_VALUE ? size : MAX_VALUE;

	memcpy(s, data, n);
	s[n] = '\0';
	hostports(s);
	routes(s);
	enums(s);
	return 0;
}
