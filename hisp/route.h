/* Where mail for a domain goes: the transport map first ("domain=host:port"
 * entries, "*" matching every domain: also the way to relay through
 * another MTA), else the domain's MX records by preference (the domain
 * itself when it has none, RFC 5321 5.1), each host's A and AAAA records.
 * Loop thread only. */
#ifndef HISP_ROUTE_H
#define HISP_ROUTE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/err.h"

struct dns;
struct route_map;

/* Parses "b.example=127.0.0.1:2526, *=relay.example:25". NULL with e set
 * (ERR_CONFIG) on a malformed entry. An empty string gives an empty map. */
struct route_map *route_map_parse(const char *text, struct err *e);
void route_map_free(struct route_map **mp);

enum route_status {
	ROUTE_OK = 0,
	ROUTE_NONE, /* permanent: no such domain, null MX, no address */
	ROUTE_TEMP, /* DNS trouble: try later */
};

struct route_result {
	enum route_status status;
	char reason[160];
	char server_name[256];          /* the first host, for SNI and logs */
	struct sockaddr_storage *addrs; /* in the order to try */
	const char *const *names;       /* addrs[i]'s host name (its MX) */
	size_t naddrs;
};

/* res is borrowed for the call. */
typedef void route_done_fn(void *arg, const struct route_result *res);

/* Finds the next hop for domain; done runs exactly once, from the loop or
 * before route_lookup returns. mx_port is the port for MX hosts. */
void route_lookup(struct dns *d, const struct route_map *map,
    const char *domain, uint16_t mx_port, route_done_fn *done, void *arg);

#endif
