/* One SMTP transaction to the next hop: connects to each address in turn
 * until one answers, runs the client session (hisp/smtp_client.h) over a
 * conn (STARTTLS per the session's policy), and reports every recipient's
 * result. A temporary failure before the server accepted MAIL FROM (a
 * refused or timed-out connect, a 421 greeting, 4xx to EHLO, STARTTLS,
 * AUTH or MAIL, a session lost before MAIL) moves on to the next address
 * (the next MX, in preference order) in the same attempt, as Postfix
 * does; a 5xx, or any failure once MAIL was accepted, ends the attempt.
 * Loop thread only. */
#ifndef HISP_SMTP_SENDER_H
#define HISP_SMTP_SENDER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/loop.h"
#include "hisp/smtp_client.h"

struct tls_ctx;

struct smtp_sender_req {
	const struct sockaddr_storage *addrs; /* copied */
	size_t naddrs;
	const char *server_name;  /* the host name, for SNI and the log */
	const char *const *names; /* NULL, or addrs' own host names (an MX
	                             host each; copied); server_name else */
	const char *log_id;       /* the queue id in log lines; may be NULL */
	struct smtp_client_params params;     /* copied by the session */
	const uint8_t *msg;       /* borrowed until done */
	size_t len;
	struct tls_ctx *tls;      /* client context; NULL: no STARTTLS */
};

/* rcpts[i] is the result of params.rcpts[i]; relay is "host[addr]:port"
 * of the server that answered (or the last one tried). */
typedef void smtp_sender_done_fn(void *arg,
    const struct smtp_client_result *rcpts, size_t n, const char *relay);

/* done runs exactly once, from the loop, never inside this call. */
void smtp_sender_start(struct loop *l, const struct smtp_sender_req *req,
    smtp_sender_done_fn *done, void *arg);

#endif
