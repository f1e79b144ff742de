#include "hisp/hisp_config.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/str.h"

#define MS_MIN 100
#define MS_HOUR 3600000

const struct config_def hisp_config_defs[] = {
	{"smtp", "listen", CONFIG_STR, "0.0.0.0:25", 0, 0,
	    "port 25 for other HISPs: host:port, comma-separated; empty: off"},
	{"smtp", "submission_listen", CONFIG_STR, "0.0.0.0:587", 0, 0,
	    "port 587 for edge clients (STARTTLS, AUTH); empty: off"},
	{"smtp", "hostname", CONFIG_STR, "", 0, 0,
	    "name in the greeting and EHLO; empty: the system host name"},
	{"smtp", "max_command_line", CONFIG_INT, "512", 512, 65536,
	    "longest command line with CRLF (RFC 5321: at least 512)"},
	{"smtp", "max_text_line", CONFIG_INT, "1000", 1000, 1000000,
	    "longest message line with CRLF (RFC 5321: at least 1000)"},
	{"smtp", "max_message_size", CONFIG_SIZE, "50M", 1024,
	    INT64_C(4294967296), "largest message accepted (EHLO SIZE)"},
	{"smtp", "max_recipients", CONFIG_INT, "100", 100, 100000,
	    "recipients per message (RFC 5321: at least 100); 452 past it"},
	{"smtp", "max_errors", CONFIG_INT, "20", 1, 1000,
	    "error replies in a session before 421 and close"},
	{"smtp", "max_sessions", CONFIG_INT, "1000", 1, 100000,
	    "open sessions per listener (port 25, 587); past it 421 and close"},
	{"smtp", "max_sessions_per_ip", CONFIG_INT, "50", 0, 100000,
	    "open sessions per client IP address per listener; 0: no limit"},
	{"smtp", "max_buffered", CONFIG_SIZE, "1G", 0, INT64_MAX,
	    "message bytes all sessions of a listener may hold in memory at"
	    " once; past it DATA gets 452 4.3.1 (try later); 0: no limit"},
	{"smtp", "auth_max_concurrent", CONFIG_INT, "2", 1, 64,
	    "password checks (AUTH) under way at once per listener; past it"
	    " 454 4.7.0 (try again)"},
	{"smtp", "auth_failure_delay", CONFIG_DURATION, "2s", 0, 30000,
	    "wait before answering a failed AUTH (slows password guessing)"},
	{"smtp", "timeout_command", CONFIG_DURATION, "5m", MS_MIN, MS_HOUR,
	    "waiting for a command (RFC 5321 4.5.3.2: 5 minutes)"},
	{"smtp", "timeout_data", CONFIG_DURATION, "10m", MS_MIN, MS_HOUR,
	    "waiting for message data (RFC 5321 4.5.3.2: 10 minutes)"},
	{"smtp", "bare_lf", CONFIG_STR, "normalize", 0, 0,
	    "a bare LF: normalize (to CRLF) or reject (521 and close)"},
	{"smtp", "tls_cert", CONFIG_PATH, "", 0, 0,
	    "PEM certificate chain for STARTTLS; empty: no TLS"},
	{"smtp", "tls_key", CONFIG_PATH, "", 0, 0,
	    "PEM private key for tls_cert"},
	{"smtp", "submission_require_tls", CONFIG_BOOL, "yes", 0, 0,
	    "port 587: STARTTLS before AUTH and mail commands"},
	{"smtp_client", "tls", CONFIG_STR, "opportunistic", 0, 0,
	    "STARTTLS to other MTAs: none, opportunistic or required"},
	{"smtp_client", "tls_ca_file", CONFIG_PATH, "", 0, 0,
	    "PEM CA certificates for checking servers; empty: system store"},
	{"smtp_client", "tls_verify", CONFIG_BOOL, "no", 0, 0,
	    "fail delivery when the server certificate does not verify"},
	{"smtp_client", "timeout_greeting", CONFIG_DURATION, "5m", MS_MIN,
	    MS_HOUR, "waiting for the 220 greeting (RFC 5321 4.5.3.2.1)"},
	{"smtp_client", "timeout_command", CONFIG_DURATION, "5m", MS_MIN,
	    MS_HOUR, "waiting for EHLO, MAIL, RCPT replies (4.5.3.2.2-3)"},
	{"smtp_client", "timeout_data_init", CONFIG_DURATION, "2m", MS_MIN,
	    MS_HOUR, "waiting for the 354 (4.5.3.2.4)"},
	{"smtp_client", "timeout_data_block", CONFIG_DURATION, "3m", MS_MIN,
	    MS_HOUR, "sending a block of message data (4.5.3.2.5)"},
	{"smtp_client", "timeout_data_final", CONFIG_DURATION, "10m", MS_MIN,
	    MS_HOUR, "waiting for the reply to CRLF.CRLF (4.5.3.2.6)"},
	CONFIG_DEF_END,
};

int
hisp_config_server_params(const struct config *c, enum hisp_listener l,
    bool tls_available, const char *hostname, struct smtp_server_params *p,
    struct err *e)
{
	const char *bare = config_str(c, "smtp", "bare_lf");

	smtp_server_params_default(p);
	p->hostname = hostname;
	p->max_command_line = (size_t)config_int(c, "smtp", "max_command_line");
	p->max_text_line = (size_t)config_int(c, "smtp", "max_text_line");
	p->max_message_size = (uint64_t)config_int(c, "smtp",
	    "max_message_size");
	p->max_recipients = (unsigned)config_int(c, "smtp", "max_recipients");
	p->max_errors = (unsigned)config_int(c, "smtp", "max_errors");
	p->timeout_command_ms = config_int(c, "smtp", "timeout_command");
	p->timeout_data_ms = config_int(c, "smtp", "timeout_data");
	if (strcasecmp(bare, "normalize") == 0)
		p->bare_lf = SMTP_SERVER_BARE_LF_NORMALIZE;
	else if (strcasecmp(bare, "reject") == 0)
		p->bare_lf = SMTP_SERVER_BARE_LF_REJECT;
	else
		return err_set(e, ERR_CONFIG,
		    "[smtp] bare_lf: \"%s\" is not normalize or reject", bare);
	p->tls_available = tls_available;
	if (l == HISP_LISTENER_SUBMISSION) {
		bool req = config_bool(c, "smtp", "submission_require_tls");

		p->auth_enabled = true;
		p->auth_requires_tls = req;
		p->require_tls = req;
		p->require_auth = true;
		if (req && !tls_available)
			return err_set(e, ERR_CONFIG, "[smtp] the submission "
			    "port requires TLS: set tls_cert and tls_key");
	}
	return 0;
}

int
hisp_config_client_params(const struct config *c, const char *hostname,
    struct smtp_client_params *p, struct err *e)
{
	const char *tls = config_str(c, "smtp_client", "tls");

	smtp_client_params_default(p);
	p->helo_name = hostname;
	if (strcasecmp(tls, "none") == 0)
		p->tls = SMTP_CLIENT_TLS_NONE;
	else if (strcasecmp(tls, "opportunistic") == 0)
		p->tls = SMTP_CLIENT_TLS_OPPORTUNISTIC;
	else if (strcasecmp(tls, "required") == 0)
		p->tls = SMTP_CLIENT_TLS_REQUIRED;
	else
		return err_set(e, ERR_CONFIG, "[smtp_client] tls: \"%s\" is not "
		    "none, opportunistic or required", tls);
	p->timeout_greeting_ms = config_int(c, "smtp_client", "timeout_greeting");
	p->timeout_command_ms = config_int(c, "smtp_client", "timeout_command");
	p->timeout_data_ms = config_int(c, "smtp_client", "timeout_data_init");
	p->timeout_block_ms = config_int(c, "smtp_client", "timeout_data_block");
	p->timeout_final_ms = config_int(c, "smtp_client", "timeout_data_final");
	return 0;
}

int
hisp_config_hostname(const struct config *c, char *buf, size_t size,
    struct err *e)
{
	const char *h = config_str(c, "smtp", "hostname");

	if (h[0] != '\0') {
		if (str_lcpy(buf, h, size) >= size)
			return err_set(e, ERR_CONFIG, "[smtp] hostname too long");
		return 0;
	}
	if (size == 0 || gethostname(buf, size) != 0 || buf[0] == '\0')
		return err_set(e, ERR_CONFIG,
		    "[smtp] hostname empty and the system host name unknown");
	buf[size - 1] = '\0';
	return 0;
}

int
hisp_config_listen_addr(const char *value, size_t i, char *host,
    size_t hsize, int *port_r, struct err *e)
{
	const char *p = value;

	for (;;) {
		const char *start, *end, *colon;
		size_t hl;
		char port[8];

		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			return 0;
		start = p;
		while (*p != '\0' && *p != ',' && *p != ' ')
			p++;
		end = p;
		if (i-- > 0)
			continue;
		if (*start == '[') {
			const char *rb = memchr(start, ']', (size_t)(end - start));

			if (rb == NULL || rb + 1 >= end || rb[1] != ':')
				return err_set(e, ERR_CONFIG,
				    "listen address \"%.*s\": want [host]:port",
				    (int)(end - start), start);
			colon = rb + 1;
			start++;
			hl = (size_t)(rb - start);
		} else {
			colon = NULL;
			for (const char *q = start; q < end; q++)
				if (*q == ':')
					colon = q;
			if (colon == NULL)
				return err_set(e, ERR_CONFIG,
				    "listen address \"%.*s\": want host:port",
				    (int)(end - start), start);
			hl = (size_t)(colon - start);
		}
		if (hl == 0 || hl >= hsize || (size_t)(end - colon - 1) >=
		    sizeof(port))
			return err_set(e, ERR_CONFIG, "listen address \"%.*s\": "
			    "bad host or port", (int)(end - start), start);
		memcpy(host, start, hl);
		host[hl] = '\0';
		memcpy(port, colon + 1, (size_t)(end - colon - 1));
		port[end - colon - 1] = '\0';
		if (str_to_int(port, 1, 65535, port_r) != 0)
			return err_set(e, ERR_CONFIG,
			    "listen address: bad port \"%s\"", port);
		return 1;
	}
}
