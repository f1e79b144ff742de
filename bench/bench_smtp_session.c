/* The SMTP server session's cost per message, without sockets, queue or
 * TLS: pipelined transactions of 4 KiB messages (MAIL, RCPT, DATA, body,
 * end of data, every decision accepted at once) fed in 16 KiB reads.
 * Baseline, measured in the same run: finding the line ends of the same
 * bytes with memchr, the least work any line-based SMTP reader does.
 * Prints messages/s, MB/s and the ratio session/baseline time.
 *
 * usage: bench_smtp_session [messages]   (default 20000) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "hisp/smtp_server.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t
run_session(const uint8_t *in, size_t n, uint64_t *body_r)
{
	struct smtp_server_params p;
	struct smtp_server *s;
	struct smtp_server_event ev;
	size_t off = 0, messages = 0, outn;

	smtp_server_params_default(&p);
	p.hostname = "mx.bench.test";
	s = smtp_server_new(&p);
	*body_r = 0;
	while (off < n) {
		size_t chunk = n - off < 16384 ? n - off : 16384;

		off += smtp_server_receive(s, in + off, chunk);
		while (smtp_server_next_event(s, &ev) == 1) {
			switch (ev.type) {
			case SMTP_SERVER_EV_DATA_CHUNK:
				*body_r += ev.len;
				break;
			case SMTP_SERVER_EV_DATA_END:
				messages++;
				smtp_server_accept(s, "Ok: queued");
				break;
			case SMTP_SERVER_EV_MAIL:
			case SMTP_SERVER_EV_RCPT:
			case SMTP_SERVER_EV_DATA:
				smtp_server_accept(s, NULL);
				break;
			default:
				break;
			}
		}
		smtp_server_output(s, &outn);
		smtp_server_consume(s, outn);
	}
	smtp_server_free(&s);
	return messages;
}

static size_t
run_baseline(const uint8_t *in, size_t n)
{
	size_t lines = 0;
	const uint8_t *p = in, *end = in + n;

	while (p < end) {
		const uint8_t *lf = memchr(p, '\n', (size_t)(end - p));

		if (lf == NULL)
			break;
		lines++;
		p = lf + 1;
	}
	return lines;
}

int
main(int argc, char **argv)
{
	size_t messages = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
	struct buf in, line;
	double t0, t_session, t_base;
	uint64_t body = 0;
	size_t got, lines;

	buf_init(&in, BUF_UNLIMITED);
	buf_init(&line, BUF_UNLIMITED);
	buf_append_str(&in, "EHLO bench.test\r\n");
	/* 4 KiB: 52 lines of 78 characters, some starting with a dot. */
	for (int i = 0; i < 52; i++) {
		buf_printf(&line, "%s%075d\r\n", i % 10 == 0 ? "." : "x", i);
	}
	for (size_t m = 0; m < messages; m++) {
		buf_append_str(&in, "MAIL FROM:<sender@a.test>\r\n"
		    "RCPT TO:<recipient@b.test>\r\nDATA\r\n");
		buf_append(&in, line.data, line.len);
		buf_append_str(&in, ".\r\n");
	}
	buf_append_str(&in, "QUIT\r\n");

	t0 = now_s();
	got = run_session(in.data, in.len, &body);
	t_session = now_s() - t0;
	t0 = now_s();
	lines = run_baseline(in.data, in.len);
	t_base = now_s() - t0;
	if (got != messages) {
		fprintf(stderr, "bench_smtp_session: %zu of %zu messages\n",
		    got, messages);
		return 1;
	}
	printf("smtp session: %zu messages of %zu bytes, %.1f MB in\n",
	    messages, line.len, (double)in.len / 1e6);
	printf("session:  %.3f s  %.0f messages/s  %.0f MB/s\n", t_session,
	    (double)messages / t_session, (double)in.len / 1e6 / t_session);
	printf("baseline (memchr line scan, %zu lines): %.3f s  %.0f MB/s\n",
	    lines, t_base, (double)in.len / 1e6 / t_base);
	printf("ratio session/baseline time: %.1f\n", t_session / t_base);
	(void)body;
	buf_release(&in);
	buf_release(&line);
	return 0;
}
