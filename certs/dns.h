/* The resolver: a c-ares channel driven by the libuv loop (one uv_poll_t
 * per c-ares socket, one timer from ares_timeout), raw queries built and
 * answers parsed by certs/dns_msg.h, and a cache shared by every caller:
 * positive answers for their TTL (capped), negative answers (NXDOMAIN,
 * NODATA) briefly, and a lookup in flight shared by every request for the
 * same (name, type). Loop thread only.
 *
 * Answers over 512 bytes: with edns on, queries advertise a 1232-byte UDP
 * size; with it off, a truncated (TC) UDP answer is retried over TCP by
 * c-ares. Either way large CERT records arrive whole. */
#ifndef CERTS_DNS_H
#define CERTS_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "certs/dns_msg.h"
#include "core/err.h"

struct loop;
struct dns;

struct dns_settings {
	const char *servers; /* "127.0.0.1:15353,[::1]:53"; "" = resolv.conf */
	int64_t timeout_ms;  /* per try */
	int tries;
	bool edns;
	int64_t negative_ttl_ms; /* cap on caching NXDOMAIN / NODATA */
	int64_t max_ttl_ms;      /* cap on caching positive answers */
	size_t cache_max;        /* entries; the oldest go first */
};

/* Defaults: system servers, 2 s, 2 tries, edns, 60 s, 1 day, 10000. */
void dns_settings_default(struct dns_settings *s);

enum dns_status {
	DNS_OK = 0,   /* records of the type asked for */
	DNS_NODATA,   /* the name exists, no record of that type: permanent */
	DNS_NXDOMAIN, /* no such name: permanent */
	DNS_TEMP,     /* timeout, SERVFAIL, REFUSED, unreachable, bad answer */
};

/* One answer, immutable and shared (reference counted, loop thread). */
struct dns_answer {
	enum dns_status status;
	char reason[128];     /* "NXDOMAIN", "timeout", "SERVFAIL"... */
	struct dns_msg *msg;  /* NULL for DNS_TEMP */
	const char *owner;    /* the name records belong to after CNAMEs */
	uint16_t qtype;
	uint32_t ttl_s;       /* how long it was cached for */
	unsigned refs;
};

/* Takes another reference / drops one (accepts NULL, clears *ap). */
struct dns_answer *dns_answer_ref(struct dns_answer *a);
void dns_answer_unref(struct dns_answer **ap);
/* Iterates the answer's records of the type asked for that belong to the
 * queried name (following CNAMEs in the answer): start with *iter = 0;
 * NULL at the end. Borrowed from a. */
const struct dns_rr *dns_answer_next(const struct dns_answer *a,
    size_t *iter);
/* "ok", "nodata", "nxdomain", "temp". */
const char *dns_status_name(enum dns_status s);

/* Builds an answer from a raw reply to (name, qtype) as if it came from
 * the network (sans-I/O: tests, benchmarks). The caller unrefs it. */
struct dns_answer *dns_answer_from_reply(const char *name, uint16_t qtype,
    const uint8_t *p, size_t n, int64_t negative_ttl_ms, int64_t max_ttl_ms);

/* Creates the channel on l's loop. s is copied. -1 with ERR_CONFIG for a
 * bad server list, ERR_INTERNAL when c-ares cannot start. */
int dns_new(struct loop *l, const struct dns_settings *s, struct dns **d_r,
    struct err *e);
/* Cancels every pending lookup (each callback fires once with DNS_TEMP
 * "resolver closed", inside this call) and closes the handles; the memory
 * goes when libuv has closed them, so the loop must run afterwards. Not to
 * be called from inside a dns callback. Accepts NULL. */
void dns_free(struct dns **dp);

/* a is borrowed for the call: take a reference to keep it. */
typedef void dns_answer_fn(void *arg, struct dns_answer *a);

/* Looks up (name, type). cb fires exactly once: before dns_resolve
 * returns when the answer is cached, else from the loop. Returns -1
 * (ERR_PERM, cb never fires) for a name that cannot be queried. */
int dns_resolve(struct dns *d, const char *name, uint16_t type,
    dns_answer_fn *cb, void *arg, struct err *e);

/* Drops every cached answer (lookups in flight continue). */
void dns_cache_flush(struct dns *d);

struct dns_stats {
	uint64_t lookups;   /* dns_resolve calls */
	uint64_t hits;      /* answered from the cache */
	uint64_t joined;    /* joined a lookup in flight */
	uint64_t sent;      /* queries handed to c-ares */
	size_t cached;      /* entries now */
};
void dns_get_stats(const struct dns *d, struct dns_stats *s_r);

#endif
