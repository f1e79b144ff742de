/* The notification agent in the daemon (docs/DESIGN.md job 4).
 *
 * A runner on the loop looks for stored ADTs in state 'received' (every
 * [notify] poll, and at once when kicked): a worker with a read connection
 * of its own plans a batch in id order (adt/notify_plan.h; a retraction
 * starts a new batch so that it sees what its batch predecessors
 * recorded), and one group-commit job records the batch: dedup keys,
 * audit trail, Direct messages queued for the HISP (sealed, delivered and
 * MDN-tracked like any submission; the HISP's runner is kicked), MLLP and
 * digest rows, and the ADTs' new state. A crash before that commit leaves
 * the ADTs 'received' (planned again; nothing was sent); the dedup key
 * makes a second pass harmless.
 *
 * MLLP notifications go out through adt/notify_mllp_client.h; daily
 * digests are gathered every [notify] digest_check: per recipient, every
 * pending entry whose time has come becomes one Direct message listing the
 * events, each HL7 message attached.
 *
 * Logs carry ADT row ids, MSH-10, event types, NPIs, counts and sizes;
 * never PHI. */
#ifndef ADT_NOTIFY_H
#define ADT_NOTIFY_H

#include "core/config.h"
#include "core/err.h"
#include "core/loop.h"
#include "core/store.h"

struct hisp;
struct notify;

struct notify_params {
	struct loop *loop;
	struct store_writer *writer;
	struct hisp *hisp;          /* NULL: no kick (queued mail waits for
				     * the HISP runner's own schedule) */
	const struct config *cfg;   /* [notify], [acrs]; borrowed */
	const char *store_path;     /* read connections; copied */
};

/* Starts the runner, the MLLP client and the digest timer on the loop
 * thread before loop_run; registers a stop hook. Does nothing (and sets
 * *n_r to NULL) when [notify] enabled is no. 0 / -1 (CONFIG). */
int notify_start(const struct notify_params *p, struct notify **n_r,
    struct err *e);
/* Loop thread: ADTs were stored. An idle runner looks for them within
 * 25 ms (what comes meanwhile joins the batch) instead of at its next
 * poll; a busy one looks again on its own (at once behind a full batch,
 * else within 25 ms). Accepts NULL. */
void notify_kick(struct notify *n);
/* After loop_free (writer jobs may still answer until then). Accepts
 * NULL. */
void notify_free(struct notify **np);

/* Gathers the due digests on s (a connection of the caller's) and queues
 * one Direct message per recipient in a transaction on s; *n_r: messages
 * queued. For the CLI and tests; the daemon does the same on its timer. */
int notify_digest_run(struct store *s, const char *from, int64_t now_ms,
    unsigned *n_r, struct err *e);

#endif
