/* Shared by the hisp SMTP unit tests: a scripted policy that answers the
 * server session's decisions, and a pump that runs a session over input
 * with an optional TLS boundary. Header-only (static functions) so that
 * each test executable stays one file plus this header. */
#ifndef TESTS_UNIT_HISP_SMTP_TEST_PRIVATE_H
#define TESTS_UNIT_HISP_SMTP_TEST_PRIVATE_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "hisp/smtp_server.h"

/* The scripted policy: local domain "local.test"; relay for anyone
 * authenticated; sender "bad@..." refused; user alice/secret; data and
 * messages accepted ("queued as T1"). */
struct srv_run {
	struct smtp_server *s;
	struct smtp_server_params params;
	struct buf out;    /* every reply byte */
	struct buf events; /* "helo:x mail:a rcpt:b ..." */
	struct buf body;   /* concatenated DATA_CHUNK bytes */
	size_t tls_at;     /* input offset of the TLS handshake (0: none) */
	size_t fed;        /* input bytes fed so far */
	bool want_tls;     /* a STARTTLS event awaits the handshake */
	bool closed;
	bool defer;        /* leave decisions unanswered */
};

static inline void
srv_drain_output(struct srv_run *r)
{
	size_t n;
	const uint8_t *p = smtp_server_output(r->s, &n);

	buf_append(&r->out, p, n);
	smtp_server_consume(r->s, n);
}

static inline bool
srv_domain_is(const char *addr, const char *dom)
{
	const char *at = strrchr(addr, '@');

	return at != NULL && strcasecmp(at + 1, dom) == 0;
}

static inline void
srv_decide(struct srv_run *r, const struct smtp_server_event *ev)
{
	switch (ev->type) {
	case SMTP_SERVER_EV_MAIL:
		if (strncmp(ev->arg, "bad@", 4) == 0)
			smtp_server_reject(r->s, 550, "5.7.1", "Sender refused");
		else
			smtp_server_accept(r->s, NULL);
		break;
	case SMTP_SERVER_EV_RCPT:
		if (srv_domain_is(ev->arg, "local.test") ||
		    strcasecmp(ev->arg, "postmaster") == 0 ||
		    smtp_server_get0_auth_user(r->s) != NULL)
			smtp_server_accept(r->s, NULL);
		else
			smtp_server_reject(r->s, 554, "5.7.1",
			    "Relay access denied");
		break;
	case SMTP_SERVER_EV_AUTH:
		if (strcmp(ev->authcid, "alice") == 0 &&
		    strcmp(ev->password, "secret") == 0)
			smtp_server_accept(r->s, NULL);
		else
			smtp_server_reject(r->s, 535, "5.7.8", NULL);
		break;
	case SMTP_SERVER_EV_DATA:
		smtp_server_accept(r->s, NULL);
		break;
	case SMTP_SERVER_EV_DATA_END:
		smtp_server_accept(r->s, "Ok: queued as T1");
		break;
	default:
		break;
	}
}

static inline void
srv_log_event(struct srv_run *r, const struct smtp_server_event *ev)
{
	switch (ev->type) {
	case SMTP_SERVER_EV_DATA_CHUNK:
		buf_append(&r->body, ev->data, ev->len);
		return;
	case SMTP_SERVER_EV_HELO:
		buf_printf(&r->events, "%s:%s ", ev->esmtp ? "ehlo" : "helo",
		    ev->arg);
		return;
	case SMTP_SERVER_EV_MAIL:
		buf_printf(&r->events, "mail:%s%s%s ", ev->arg,
		    ev->body_8bit ? ":8bit" : "", ev->size ? ":size" : "");
		return;
	case SMTP_SERVER_EV_RCPT:
		buf_printf(&r->events, "rcpt:%s ", ev->arg);
		return;
	case SMTP_SERVER_EV_AUTH:
		buf_printf(&r->events, "auth:%s:%s ", ev->arg, ev->authcid);
		return;
	case SMTP_SERVER_EV_DATA_END:
		buf_printf(&r->events, "end:%llu ",
		    (unsigned long long)ev->size);
		return;
	case SMTP_SERVER_EV_ABORT:
		buf_printf(&r->events, "abort:%s ", ev->arg);
		return;
	default:
		buf_printf(&r->events, "%s ", smtp_server_event_name(ev->type));
		return;
	}
}

/* Runs the session until it needs input or an answer we defer. */
static inline void
srv_pump(struct srv_run *r)
{
	struct smtp_server_event ev;
	int rc;

	while ((rc = smtp_server_next_event(r->s, &ev)) == 1) {
		srv_log_event(r, &ev);
		if (ev.type == SMTP_SERVER_EV_STARTTLS)
			r->want_tls = true;
		if (!r->defer)
			srv_decide(r, &ev);
	}
	if (rc < 0)
		r->closed = true;
	srv_drain_output(r);
}

static inline void
srv_begin(struct srv_run *r)
{
	smtp_server_free(&r->s);
	buf_release(&r->out);
	buf_release(&r->events);
	buf_release(&r->body);
	buf_init(&r->out, BUF_UNLIMITED);
	buf_init(&r->events, BUF_UNLIMITED);
	buf_init(&r->body, BUF_UNLIMITED);
	r->s = smtp_server_new(&r->params);
	r->fed = 0;
	r->want_tls = false;
	r->closed = false;
	srv_pump(r);
}

static inline void
srv_feed_plain(struct srv_run *r, const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t took = smtp_server_receive(r->s, p, n);

		p += took;
		n -= took;
		srv_pump(r);
		if (took == 0 && n > 0)
			break; /* held (only when decisions are deferred) */
	}
}

/* Feeds a chunk; at offset tls_at the "handshake" completes. */
static inline int
srv_feed(void *ctx, const uint8_t *p, size_t n)
{
	struct srv_run *r = ctx;

	while (n > 0) {
		size_t k = n;

		if (r->tls_at > r->fed && r->fed + k > r->tls_at)
			k = r->tls_at - r->fed;
		srv_feed_plain(r, p, k);
		r->fed += k;
		p += k;
		n -= k;
		if (r->fed == r->tls_at && r->want_tls) {
			r->want_tls = false;
			smtp_server_tls_started(r->s);
			srv_pump(r);
		}
	}
	return 0;
}

static inline void
srv_begin_cb(void *ctx)
{
	srv_begin(ctx);
}

static inline uint64_t
srv_end(void *ctx)
{
	struct srv_run *r = ctx;
	uint64_t h = TESTLIB_FNV_INIT;

	h = testlib_fnv(h, r->out.data, r->out.len);
	h = testlib_fnv(h, "|", 1);
	h = testlib_fnv(h, r->events.data, r->events.len);
	h = testlib_fnv(h, "|", 1);
	h = testlib_fnv(h, r->body.data, r->body.len);
	h = testlib_fnv(h, r->closed ? "c" : "o", 1);
	return h;
}

static const struct trickle_ops srv_trickle_ops = {
	srv_begin_cb, srv_feed, srv_end,
};

static inline void
srv_release(struct srv_run *r)
{
	smtp_server_free(&r->s);
	buf_release(&r->out);
	buf_release(&r->events);
	buf_release(&r->body);
}

/* The final line of each reply as "code" or "code x.y.z", comma
 * separated: "220,250,250 2.1.0,...". */
static inline void
srv_reply_codes(const struct buf *out, struct buf *codes)
{
	const char *p = (const char *)out->data;
	const char *end = p + out->len;

	buf_reset(codes);
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);

		if (n >= 4 && p[3] == ' ') {
			size_t e = 4;

			if (codes->len > 0)
				buf_putc(codes, ',');
			buf_append(codes, p, 3);
			while (e < n && (p[e] == '.' ||
			    (p[e] >= '0' && p[e] <= '9')))
				e++;
			if (e > 4 && p[e - 1] != '.' && memchr(p + 4, '.',
			    e - 4) != NULL && (e == n || p[e] == ' ')) {
				buf_putc(codes, ' ');
				buf_append(codes, p + 4, e - 4);
			}
		}
		p += n + 1;
	}
}

/* ---- real peers over loopback TCP (blocking, with poll timeouts) ---- */
#ifdef SMTP_TEST_SOCKETS
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* A listening socket on 127.0.0.1 with a kernel-chosen port. */
static inline int
peer_listen(int *port_r)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(fd, 4) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0)
		return -1;
	*port_r = ntohs(a.sin_port);
	return fd;
}

/* A free port (bound then released: a small race, fine for tests). */
static inline int
peer_free_port(void)
{
	int port = 0, fd = peer_listen(&port);

	if (fd >= 0)
		close(fd);
	return port;
}

static inline int
peer_connect(int port, int tries)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	for (int i = 0; i < tries; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd >= 0 && connect(fd, (struct sockaddr *)&a,
		    sizeof(a)) == 0)
			return fd;
		if (fd >= 0)
			close(fd);
		usleep(100000);
	}
	return -1;
}

/* Runs "sh -c cmd" in the background; its output goes to stderr. */
static inline pid_t
peer_spawn(const char *cmd)
{
	pid_t pid = fork();

	if (pid == 0) {
		dup2(2, 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* The child's exit status (or 128 + signal), waiting at most secs. */
static inline int
peer_wait(pid_t pid, int secs)
{
	int st = 0;

	for (int i = 0; i < secs * 10; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) :
			    128 + WTERMSIG(st);
		usleep(100000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static inline int
peer_write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads what is there within ms; 0 on EOF or timeout, -1 on error. */
static inline ssize_t
peer_read(int fd, uint8_t *p, size_t n, int ms)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	int r = poll(&pfd, 1, ms);

	if (r <= 0)
		return r;
	return read(fd, p, n);
}
#endif

#endif
