/* Outgoing delivery: the queue handler for QUEUE_OUT. For each (message,
 * destination domain):
 *   - a local domain: the message is sealed to the recipients' own
 *     certificates and queued again as incoming (the same trust checks as
 *     mail from any other HISP);
 *   - another domain: each recipient's certificates are discovered (DNS
 *     CERT, LDAP; validated against the sender domain's outgoing anchors),
 *     the message is signed with the sender's key and encrypted to every
 *     valid certificate, the next hop found (transport map or MX) and the
 *     message sent over SMTP.
 * Recipients without a valid certificate fail (the sender gets a DSN);
 * temporary trouble (DNS, LDAP, CRLs, the next hop) defers. */
#ifndef HISP_OUTBOUND_H
#define HISP_OUTBOUND_H

#include <stdint.h>

#include "certs/discover.h"
#include "certs/discover_trust.h"
#include "core/loop.h"
#include "hisp/queue.h"
#include "hisp/route.h"
#include "hisp/smtp_client.h"
#include "hisp/trust.h"

struct dns;
struct tls_ctx;

/* One discoverer per sending domain (its outgoing anchors judge), shared
 * by every message so that its cache serves them all. */
struct outbound_disc {
	char *domain;
	struct discover *dc;
	struct discover_trust *dt;
	int64_t generation;
};

struct outbound_ctx {
	struct loop *loop;
	const char *db_path;
	struct store_writer *writer;
	struct trust_holder *trust;
	struct dns *dns;
	struct discover_settings discover;
	struct route_map *routes;
	uint16_t mx_port;
	struct tls_ctx *tls;                /* client context, may be NULL */
	struct smtp_client_params client;   /* helo, TLS policy, timeouts */
	int64_t expire_s;
	struct queue_runner *runner;        /* kicked after a loopback */
	struct outbound_disc *discs;
	size_t ndiscs;
};

/* Releases the discoverers (before the loop ends: they close handles). */
void outbound_close(struct outbound_ctx *o);

/* queue_handler_fn for QUEUE_OUT; ctx is an outbound_ctx. */
void outbound_handle(void *ctx, struct queue_runner *r, struct queue_task *t,
    queue_task_done_fn *done);

#endif
