/* The MLLP server on the event loop: thin glue between libuv sockets, the
 * sans-I/O framer (adt/mllp.h) and the intake (adt/intake.h).
 *
 * Several connections, at most max_conns, and at most max_per_ip from one
 * address (past either, accepted and closed at once, one log line); one
 * message in flight per connection (reading pauses until its ACK is
 * queued, and while more than a few ACK writes are pending); a frame over
 * max_frame is read to its end without buffering and answered AR (CR in
 * enhanced mode) with an ERR from its MSH, and the connection goes on (it
 * is closed only when the MSH cannot be read); bytes outside frames are
 * ignored (counted in the close line) and are not activity; a frame not
 * complete within frame_ms of its start block closes the connection;
 * connections idle between frames are closed after idle_timeout, and so
 * are connections whose pending ACK writes made no progress for as long;
 * with commit_ack (release 2) a commit ACK/NAK frame precedes
 * the HL7 acknowledgement. Stopping (the loop's stop hook) closes the
 * listener and idle connections at once; a connection with a message in
 * flight closes after its ACK is written. */
#ifndef ADT_MLLP_SERVER_H
#define ADT_MLLP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adt/ack.h"
#include "core/config.h"
#include "core/err.h"
#include "core/loop.h"
#include "core/store.h"

struct mllp_server;

struct mllp_server_opts {
	const char *host;        /* numeric IPv4 or IPv6 address */
	int port;                /* 0: an ephemeral port (tests) */
	size_t max_frame;
	uint64_t idle_ms;
	uint64_t frame_ms;       /* a started frame must complete; 0: no limit */
	unsigned max_conns;
	unsigned max_per_ip;     /* connections per peer address; 0: no limit */
	enum ack_mode ack_mode;
	bool commit_ack;
	const char *ack_app;
	const char *ack_facility;
	/* Loop thread, after a message's ADTs were newly stored (before its
	 * ACK is written): e.g. notify_kick. May be NULL. */
	void (*stored)(void *arg);
	void *stored_arg;
};

/* Reads [mllp] and [adt] from cfg and starts listening when [mllp] listen
 * is set (does nothing when it is empty). The server lives until the
 * loop's stop hook has closed it and the writer has answered every job.
 * stored(stored_arg) (may be NULL) as in mllp_server_opts. Called on the
 * loop thread before loop_run. 0, or -1 (CONFIG for a bad setting, TEMP
 * when the address cannot be bound). */
int mllp_server_start(struct loop *l, struct store_writer *w,
    const struct config *cfg, void (*stored)(void *arg), void *stored_arg,
    struct err *e);

/* The same with explicit options; *s_r (may be NULL) borrows the server,
 * valid until the loop stops. */
int mllp_server_new(struct loop *l, struct store_writer *w,
    const struct mllp_server_opts *o, struct mllp_server **s_r,
    struct err *e);
/* The port actually bound (useful with port 0). */
int mllp_server_port(const struct mllp_server *s);

#endif
