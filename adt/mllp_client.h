/* An MLLP client on the event loop (for sending HL7 to a recipient that
 * prefers MLLP): one connection per message, thin glue around the framer.
 *
 * It connects to a numeric address, sends the message framed (release 1),
 * skips release 2 commit acknowledgements and hands back the first HL7
 * frame it reads (the ACK, unparsed: see ack_parse). Everything (connect,
 * send, ACK) must finish within timeout_ms. */
#ifndef ADT_MLLP_CLIENT_H
#define ADT_MLLP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/loop.h"

/* status 0: ack (n bytes, borrowed for the call) is the peer's answer;
 * -1: e says why (TEMP: refused, reset, timeout; PROTO: frame over
 * max_frame). Runs exactly once, on the loop thread, never inside
 * mllp_client_send. */
typedef void mllp_client_done_fn(void *arg, int status, const uint8_t *ack,
    size_t n, const struct err *e);

/* Starts sending msg (copied) to host:port. Loop thread only. 0, or -1
 * (CONFIG: host is not a numeric address) and done will not run. */
int mllp_client_send(struct loop *l, const char *host, int port,
    const void *msg, size_t n, uint64_t timeout_ms, size_t max_frame,
    mllp_client_done_fn *done, void *arg, struct err *e);

#endif
