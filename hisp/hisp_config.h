/* The hisp module's process settings: [smtp] (the SMTP server: listeners
 * on port 25 for other HISPs and 587 for edge clients, host name, limits,
 * timeouts, TLS files) and [smtp_client] (delivery to other MTAs: TLS
 * policy, timeouts). Policy data (domains, mailboxes, credentials) lives in
 * the store. The gateway registers hisp_config_defs with config_add_defs.
 *
 * Limits follow RFC 5321 4.5.3.1 (command line 512, text line 1000,
 * recipients at least 100) and 4.5.3.2 (5 min per command, 10 min for the
 * message data on the server side; 5/5/2/3/10 min on the client side). */
#ifndef HISP_HISP_CONFIG_H
#define HISP_HISP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/err.h"
#include "hisp/smtp_client.h"
#include "hisp/smtp_server.h"

extern const struct config_def hisp_config_defs[];

/* The two kinds of listener. */
enum hisp_listener {
	HISP_LISTENER_MX,         /* port 25: other HISPs; no AUTH */
	HISP_LISTENER_SUBMISSION, /* port 587: edge clients; STARTTLS (if
	                             [smtp] submission_require_tls), then
	                             AUTH before MAIL */
};

/* Fills p for a listener from c. tls_available says whether the glue has a
 * TLS context (from [smtp] tls_cert and tls_key). p->hostname is borrowed
 * from hostname (see hisp_config_hostname). -1 with e (ERR_CONFIG) on a
 * bad value ([smtp] bare_lf). */
int hisp_config_server_params(const struct config *c, enum hisp_listener l,
    bool tls_available, const char *hostname, struct smtp_server_params *p,
    struct err *e);

/* Fills p (smtp_client_params_default first) with [smtp_client] tls and
 * the timeouts; helo_name borrowed from hostname. Sender and recipients
 * are the caller's. -1 with e on a bad value. */
int hisp_config_client_params(const struct config *c, const char *hostname,
    struct smtp_client_params *p, struct err *e);

/* [smtp] hostname, or the system's host name when it is empty, into buf
 * (size bytes). -1 with e if neither fits or is known. */
int hisp_config_hostname(const struct config *c, char *buf, size_t size,
    struct err *e);

/* Splits a listen value ("0.0.0.0:25, [::1]:25") into its i-th address:
 * host into host (size hsize, brackets removed) and port. Returns 1 when
 * found, 0 past the last, -1 with e on bad syntax. */
int hisp_config_listen_addr(const char *value, size_t i, char *host,
    size_t hsize, int *port_r, struct err *e);

#endif
