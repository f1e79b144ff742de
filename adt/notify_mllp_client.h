/* The MLLP client of the notification agent, on the loop: thin glue
 * between libuv sockets, the framer (adt/mllp.h) and the retry rules
 * (adt/notify_mllp.h).
 *
 * The queue is the store: notify_sent rows of kind 'mllp' in state
 * 'pending', each with its own next_try, per destination (recipient
 * host:port). Each round (kick, or every second) a worker reads the due
 * rows; each destination gets one connection at a time and its messages
 * go one by one in id order (one outstanding, as MLLP wants); outcomes are
 * written through the group-commit writer (state, attempts, next_try,
 * reason, an audit record). A timeout closes the connection, schedules
 * that message's retry and goes on with the next message on a new
 * connection; a refused connection defers the destination's messages of
 * this round. Hosts are numeric addresses or "localhost". */
#ifndef ADT_NOTIFY_MLLP_CLIENT_H
#define ADT_NOTIFY_MLLP_CLIENT_H

#include "adt/notify_config.h"
#include "core/err.h"
#include "core/loop.h"
#include "core/store.h"

struct notify_mllp_client;

/* set and store_path are copied. Registers a stop hook. */
struct notify_mllp_client *notify_mllp_client_new(struct loop *l,
    struct store_writer *w, const char *store_path,
    const struct notify_settings *set);
void notify_mllp_client_kick(struct notify_mllp_client *c);
/* After loop_free. Accepts NULL. */
void notify_mllp_client_free(struct notify_mllp_client **cp);

#endif
