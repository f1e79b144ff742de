/* Certificate lookup in LDAP for Direct discovery, with OpenLDAP's client
 * library, and the RFC 2782 ordering of the SRV records that name the
 * servers.
 *
 * ldap_lookup_certs blocks (network I/O with timeouts): call it from a
 * worker (loop_work) or a command, never from the loop thread. It is
 * thread-safe. The ordering function is pure. */
#ifndef CERTS_LDAP_LOOKUP_H
#define CERTS_LDAP_LOOKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* One SRV target to order. */
struct ldap_lookup_srv {
	uint16_t priority;
	uint16_t weight;
	uint16_t port;
	const char *target; /* borrowed */
};

/* Orders v in place as RFC 2782 asks: ascending priority; within one
 * priority a weighted random order (weight-0 records rarely first), drawn
 * from *seed (xorshift state, updated; must not be 0). */
void ldap_lookup_order_srv(struct ldap_lookup_srv *v, size_t n,
    uint64_t *seed);

/* A server to try, in order. */
struct ldap_lookup_server {
	const char *url;   /* "ldap://127.0.0.1:10389"; borrowed */
	const char *label; /* for reports: "ldap1.b.test:10389"; borrowed */
};

struct ldap_lookup_opts {
	int64_t net_timeout_ms; /* connecting */
	int64_t op_timeout_ms;  /* each bind and search */
	size_t max_certs;       /* certificates kept in all (excess dropped) */
	size_t max_cert_size;   /* bytes per certificate value */
};

/* A certificate found. */
struct ldap_lookup_cert {
	uint8_t *der;
	size_t len;
	char *dn;     /* the entry's DN */
	bool by_address; /* found by (mail=address); else by (mail=domain) */
};

struct ldap_lookup_result {
	bool answered;     /* a server answered (the others were not tried) */
	char *server;      /* label of the server that answered */
	struct ldap_lookup_cert *certs;
	size_t ncerts;
	/* One line per server tried that failed ("ldap1:389: Can't contact
	 * LDAP server"), '\n' separated; NULL when none failed. */
	char *failures;
};

/* Tries each server in order until one answers: anonymous bind, the root
 * DSE's namingContexts, then under each base a subtree search for
 * (mail=address) and one for (mail=domain), reading userCertificate;binary
 * and userCertificate. A server that cannot be reached, times out or fails
 * during the sequence counts as not answering (its partial results are
 * dropped). Fills res (free with ldap_lookup_result_release) and returns 0
 * when a server answered, even with no certificates; -1 (ERR_TEMP) when
 * none did (res->failures says why), or ERR_PERM for a bad address. */
int ldap_lookup_certs(const struct ldap_lookup_server *servers, size_t n,
    const char *address, const struct ldap_lookup_opts *o,
    struct ldap_lookup_result *res, struct err *e);
void ldap_lookup_result_release(struct ldap_lookup_result *res);

/* Adds one value of attribute attr of the entry dn (may be NULL: "") to
 * res as a candidate certificate, the raw bytes as the server sent them
 * (copied; res owns the copy): only for attributes userCertificate and
 * userCertificate;binary (any case), a value 1..o->max_cert_size bytes
 * long, while res holds fewer than o->max_certs. Returns 1 when added, 0
 * when skipped. Used by the search; public so that it can be fuzzed. */
int ldap_lookup_add_value(struct ldap_lookup_result *res, const char *attr,
    const char *dn, const void *val, size_t len, bool by_address,
    const struct ldap_lookup_opts *o);

/* RFC 4515 escaping of a filter value onto out (size bytes); -1 when it
 * does not fit. */
int ldap_lookup_escape(const char *value, char *out, size_t size);

#endif
