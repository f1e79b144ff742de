/* The SMTP server in the daemon: listeners for port 25 (other HISPs: only
 * local recipients that exist; the message queued as incoming) and port
 * 587 (edge clients: STARTTLS, AUTH against the mailbox passwords, MAIL
 * FROM must be the authenticated address; any recipient; the message
 * queued as outgoing). Each connection runs a sans-I/O session
 * (hisp/smtp_server.h) over a conn (hisp/conn.h); 250 is answered only
 * after the queue's durable commit.
 *
 * Each listener serves at most [smtp] max_sessions connections at once,
 * and at most max_sessions_per_ip from one client address: a connection
 * past either limit gets "421 4.7.0 too many connections, try again
 * later" instead of the greeting and is closed (one log line,
 * event=session_refused); the open sessions are served on. */
#ifndef HISP_SMTP_LISTENER_H
#define HISP_SMTP_LISTENER_H

#include <stdint.h>

#include "core/config.h"
#include "core/err.h"
#include "core/loop.h"
#include "hisp/hisp_config.h"
#include "hisp/queue.h"

struct tls_ctx;
struct smtp_listener;

struct smtp_listener_params {
	struct loop *loop;
	struct store_writer *writer;
	struct queue_runner *runner;
	const struct config *cfg;
	const char *db_path;
	struct tls_ctx *tls;       /* server context; NULL: no STARTTLS */
	enum hisp_listener kind;
	const char *listen;        /* "127.0.0.1:25, [::1]:25" */
	const char *hostname;
	int64_t expire_s;
};

/* Binds and listens; registers a stop hook that stops accepting and ends
 * the sessions (421) once their pending answers are out. -1 with e when
 * an address cannot be bound. An empty listen value starts nothing. */
int smtp_listener_start(const struct smtp_listener_params *p,
    struct smtp_listener **l_r, struct err *e);
/* After the loop ended. Accepts NULL. */
void smtp_listener_free(struct smtp_listener **lp);

#endif
