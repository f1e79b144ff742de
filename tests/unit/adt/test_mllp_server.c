#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "adt/ack.h"
#include "adt/mllp.h"
#include "adt/mllp_client.h"
#include "adt/mllp_server.h"
#include "core/buf.h"
#include "core/loop.h"
#include "core/store.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "tests/lib/testlib.h"

/* The client runs on its own thread and records what it saw; the test
 * checks afterwards on the main thread. */
struct client {
	struct loop *loop;
	int port;
	char first[4], second[4], malformed[4];
	char pipelined[3][4];
	char pipelined_ids[3][32];
	char trickled[4];
	char commit_ack_seen;
	bool oversize_closed;
	bool idle_closed;
	bool other_served_after_oversize;
	char err_text[160];
};

static int
dial(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		abort();
	return fd;
}

static void
send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		c += w;
		n -= (size_t)w;
	}
}

static void
send_msg(int fd, const char *text)
{
	struct buf b;

	buf_init(&b, BUF_UNLIMITED);
	mllp_wrap(&b, text, strlen(text));
	send_all(fd, b.data, b.len);
	buf_release(&b);
}

/* Reads one frame (its content into out); 1, or 0 when the peer closed,
 * -1 on timeout. */
static int
read_frame(int fd, struct mllp_framer *f, struct buf *pend, struct buf *out,
    int timeout_ms)
{
	for (;;) {
		struct err e = {0};
		size_t used = 0, n;
		char tmp[4096];
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t r;

		if (pend->len > 0) {
			int rc = mllp_framer_feed(f, pend->data, pend->len,
			    &used, &e);

			buf_consume(pend, used);
			if (rc == 1) {
				const uint8_t *fp = mllp_framer_frame(f, &n);

				buf_reset(out);
				buf_append(out, fp, n);
				return 1;
			}
		}
		if (poll(&p, 1, timeout_ms) <= 0)
			return -1;
		r = recv(fd, tmp, sizeof(tmp), 0);
		if (r <= 0)
			return 0;
		buf_append(pend, tmp, (size_t)r);
	}
}

static void
ack_code_of(const struct buf *frame, char code[4], char *id, size_t idsz,
    char *errtext)
{
	struct ack_info a;
	struct err e = {0};

	str_lcpy(code, "??", 4);
	if (ack_parse(frame->data, frame->len, &a, &e) != 0)
		return;
	str_lcpy(code, a.code, 4);
	if (id)
		str_lcpy(id, a.control_id, idsz);
	if (errtext && a.nerrs > 0)
		str_lcpy(errtext, a.errs[0].text, 160);
}

static char *
msg_with_id(const char *id)
{
	return xasprintf("MSH|^~\\&|SAPP|SFAC|R|RF|20250101||ADT^A01^ADT_A01|%s"
	    "|P|2.5.1\rEVN|A01|20250101\rPID|1||M1^^^H^MR||DOE^J||19700101\r"
	    "PV1|1|I\r", id);
}

static void *
client_main(void *arg)
{
	struct client *c = arg;
	struct mllp_framer *f = mllp_framer_new(1 << 20);
	struct buf pend, frame;
	int a, b, d, t;
	char *m;

	buf_init(&pend, BUF_UNLIMITED);
	buf_init(&frame, BUF_UNLIMITED);

	a = dial(c->port);
	m = msg_with_id("S1");
	send_msg(a, m);
	free(m);
	if (read_frame(a, f, &pend, &frame, 5000) == 1)
		ack_code_of(&frame, c->first, NULL, 0, NULL);

	/* An oversized frame closes its connection only. */
	b = dial(c->port);
	{
		char *big = xmalloc(6000);

		memset(big, 'X', 6000);
		big[0] = MLLP_SB;
		send_all(b, big, 6000);
		free(big);
		{
			struct mllp_framer *fb = mllp_framer_new(1 << 20);
			struct buf pb, fr;

			buf_init(&pb, BUF_UNLIMITED);
			buf_init(&fr, BUF_UNLIMITED);
			c->oversize_closed = read_frame(b, fb, &pb, &fr, 5000)
			    == 0;
			buf_release(&pb);
			buf_release(&fr);
			mllp_framer_free(&fb);
		}
	}
	close(b);

	m = msg_with_id("S2");
	send_msg(a, m);
	free(m);
	if (read_frame(a, f, &pend, &frame, 5000) == 1) {
		ack_code_of(&frame, c->second, NULL, 0, NULL);
		c->other_served_after_oversize = true;
	}
	send_msg(a, "MSH|^~\\&|SAPP|SFAC|R|RF|2025||ADT^A01|S3|P|2.5.1\r"
	    "EVN|A01\rPV1|1|I\r");
	if (read_frame(a, f, &pend, &frame, 5000) == 1)
		ack_code_of(&frame, c->malformed, NULL, 0, c->err_text);

	/* Pipelined frames with noise between: answered in order. */
	{
		struct buf all;

		buf_init(&all, BUF_UNLIMITED);
		for (int i = 0; i < 3; i++) {
			char id[16];

			str_fmt(id, sizeof(id), "P%d", i);
			m = msg_with_id(id);
			buf_append_str(&all, "noise\r\n");
			mllp_wrap(&all, m, strlen(m));
			free(m);
		}
		send_all(a, all.data, all.len);
		buf_release(&all);
		for (int i = 0; i < 3; i++)
			if (read_frame(a, f, &pend, &frame, 5000) == 1)
				ack_code_of(&frame, c->pipelined[i],
				    c->pipelined_ids[i], 32, NULL);
	}

	/* Byte by byte. */
	t = dial(c->port);
	m = msg_with_id("T1");
	{
		struct buf w;

		buf_init(&w, BUF_UNLIMITED);
		mllp_wrap(&w, m, strlen(m));
		for (size_t i = 0; i < w.len; i++) {
			send_all(t, w.data + i, 1);
			if (i % 16 == 0)
				usleep(200);
		}
		buf_release(&w);
	}
	free(m);
	{
		struct mllp_framer *ft = mllp_framer_new(1 << 20);
		struct buf pt;

		buf_init(&pt, BUF_UNLIMITED);
		if (read_frame(t, ft, &pt, &frame, 5000) == 1)
			ack_code_of(&frame, c->trickled, NULL, 0, NULL);
		buf_release(&pt);
		mllp_framer_free(&ft);
	}
	close(t);

	/* Idle connections are closed. */
	d = dial(c->port);
	{
		struct mllp_framer *fd2 = mllp_framer_new(1 << 20);
		struct buf pd;

		buf_init(&pd, BUF_UNLIMITED);
		c->idle_closed = read_frame(d, fd2, &pd, &frame, 5000) == 0;
		buf_release(&pd);
		mllp_framer_free(&fd2);
	}
	close(d);
	close(a);
	buf_release(&pend);
	buf_release(&frame);
	mllp_framer_free(&f);
	loop_stop_async(c->loop);
	return NULL;
}

static void
test_mllp_server_serves_connections_acks_and_limits(void **state)
{
	char *dir = testlib_tmpdir();
	char *db = xasprintf("%s/t.db", dir);
	struct loop *l = NULL;
	struct store_writer *w = NULL;
	struct store_writer_opts wo = {0};
	struct mllp_server *srv = NULL;
	struct mllp_server_opts o;
	struct client c;
	struct err e = {0};
	pthread_t th;
	struct store *s = NULL;
	int64_t rows = 0;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(loop_new(&l, &e), 0);
	wo.loop = l;
	assert_int_equal(store_writer_new(db, &wo, &w, &e), 0);
	memset(&o, 0, sizeof(o));
	o.host = "127.0.0.1";
	o.port = 0;
	o.max_frame = 4096;
	o.idle_ms = 300;
	o.max_conns = 16;
	o.ack_mode = ACK_MODE_AUTO;
	if (mllp_server_new(l, w, &o, &srv, &e) != 0)
		fail_msg("server: %s", e.msg);
	c.loop = l;
	c.port = mllp_server_port(srv);
	assert_true(c.port > 0);
	pthread_create(&th, NULL, client_main, &c);
	assert_int_equal(loop_run(l), 0);
	pthread_join(th, NULL);
	store_writer_free(&w);
	loop_free(&l);

	assert_string_equal(c.first, "AA");
	assert_true(c.oversize_closed);
	assert_true(c.other_served_after_oversize);
	assert_string_equal(c.second, "AA");
	assert_string_equal(c.malformed, "AE");
	assert_non_null(strstr(c.err_text, "PID"));
	for (int i = 0; i < 3; i++) {
		char want[8];

		str_fmt(want, sizeof(want), "P%d", i);
		assert_string_equal(c.pipelined[i], "AA");
		assert_string_equal(c.pipelined_ids[i], want);
	}
	assert_string_equal(c.trickled, "AA");
	assert_true(c.idle_closed);

	assert_int_equal(store_open(db, 0, &s, &e), 0);
	assert_int_equal(store_query_int(s, &rows, &e,
	    "SELECT count(*) FROM adt_event", ""), 1);
	assert_int_equal(rows, 6); /* S1 S2 P0 P1 P2 T1 */
	store_free(&s);
	testlib_rmtree(dir);
	free(dir);
	free(db);
}

struct client2 {
	struct loop *loop;
	int port;
	bool second_refused;
	bool first_still_served;
	char after_ne_id[32];
	char after_ne_code[4];
	bool commit_ack_first;
};

static void *
client2_main(void *arg)
{
	struct client2 *c = arg;
	struct mllp_framer *f = mllp_framer_new(1 << 20);
	struct buf pend, frame;
	int a, b;
	char *m;

	buf_init(&pend, BUF_UNLIMITED);
	buf_init(&frame, BUF_UNLIMITED);
	a = dial(c->port);
	/* Enhanced mode, MSH-15 NE: no HL7 ACK at all, only the release 2
	 * commit ACK; the next message's ACK comes next. */
	send_msg(a, "MSH|^~\\&|SAPP|SFAC|R|RF|2025||ADT^A01^ADT_A01|NE1|P|"
	    "2.5.1|||NE|NE\rEVN|A01\rPID|1||M1^^^H^MR||DOE^J||19700101\r"
	    "PV1|1|I\r");
	if (read_frame(a, f, &pend, &frame, 5000) == 1)
		c->commit_ack_first = frame.len == 1 && frame.data[0] == MLLP_ACK;
	m = msg_with_id("AFTER-NE");
	send_msg(a, m);
	free(m);
	while (read_frame(a, f, &pend, &frame, 5000) == 1) {
		if (frame.len == 1)
			continue; /* commit ACK */
		ack_code_of(&frame, c->after_ne_code, c->after_ne_id,
		    sizeof(c->after_ne_id), NULL);
		break;
	}
	/* max_connections = 1: a second connection is closed at once. */
	b = dial(c->port);
	{
		struct mllp_framer *fb = mllp_framer_new(1 << 20);
		struct buf pb;

		buf_init(&pb, BUF_UNLIMITED);
		c->second_refused = read_frame(b, fb, &pb, &frame, 5000) == 0;
		buf_release(&pb);
		mllp_framer_free(&fb);
	}
	close(b);
	m = msg_with_id("STILL");
	send_msg(a, m);
	free(m);
	while (read_frame(a, f, &pend, &frame, 5000) == 1) {
		char code[4], id[32];

		if (frame.len == 1)
			continue;
		ack_code_of(&frame, code, id, sizeof(id), NULL);
		c->first_still_served = strcmp(code, "AA") == 0 &&
		    strcmp(id, "STILL") == 0;
		break;
	}
	close(a);
	buf_release(&pend);
	buf_release(&frame);
	mllp_framer_free(&f);
	loop_stop_async(c->loop);
	return NULL;
}

static void
test_mllp_server_limits_connections_and_honours_ne_and_commit_ack(
    void **state)
{
	char *dir = testlib_tmpdir();
	char *db = xasprintf("%s/t.db", dir);
	struct loop *l = NULL;
	struct store_writer *w = NULL;
	struct store_writer_opts wo = {0};
	struct mllp_server *srv = NULL;
	struct mllp_server_opts o;
	struct client2 c;
	struct err e = {0};
	pthread_t th;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(loop_new(&l, &e), 0);
	wo.loop = l;
	assert_int_equal(store_writer_new(db, &wo, &w, &e), 0);
	memset(&o, 0, sizeof(o));
	o.host = "127.0.0.1";
	o.max_frame = 4096;
	o.idle_ms = 10000;
	o.max_conns = 1;
	o.ack_mode = ACK_MODE_AUTO;
	o.commit_ack = true;
	assert_int_equal(mllp_server_new(l, w, &o, &srv, &e), 0);
	c.loop = l;
	c.port = mllp_server_port(srv);
	pthread_create(&th, NULL, client2_main, &c);
	assert_int_equal(loop_run(l), 0);
	pthread_join(th, NULL);
	store_writer_free(&w);
	loop_free(&l);
	assert_true(c.commit_ack_first);
	assert_string_equal(c.after_ne_id, "AFTER-NE");
	assert_string_equal(c.after_ne_code, "AA");
	assert_true(c.second_refused);
	assert_true(c.first_still_served);
	testlib_rmtree(dir);
	free(dir);
	free(db);
}

struct client3 {
	struct loop *l;
	int port;
	int dead_port;
	int silent_port;
	int pending;
	int status[3];
	char code[4];
	char id[32];
	enum err_kind kinds[3];
	char msgs[3][ERR_MSG_MAX];
};

static void
c3_done(struct client3 *c, int i, int status, const uint8_t *ack, size_t n,
    const struct err *e)
{
	c->status[i] = status;
	if (status == 0) {
		struct buf b;

		buf_init(&b, BUF_UNLIMITED);
		buf_append(&b, ack, n);
		ack_code_of(&b, c->code, c->id, sizeof(c->id), NULL);
		buf_release(&b);
	} else {
		c->kinds[i] = e->kind;
		str_lcpy(c->msgs[i], e->msg, sizeof(c->msgs[i]));
	}
	if (--c->pending == 0)
		loop_stop(c->l);
}

static void
c3_done0(void *arg, int status, const uint8_t *ack, size_t n,
    const struct err *e)
{
	c3_done(arg, 0, status, ack, n, e);
}

static void
c3_done1(void *arg, int status, const uint8_t *ack, size_t n,
    const struct err *e)
{
	c3_done(arg, 1, status, ack, n, e);
}

static void
c3_done2(void *arg, int status, const uint8_t *ack, size_t n,
    const struct err *e)
{
	c3_done(arg, 2, status, ack, n, e);
}

static void
c3_start(void *arg)
{
	struct client3 *c = arg;
	char *m = msg_with_id("CLIENT1");
	struct err e = {0};

	c->pending = 3;
	assert_int_equal(mllp_client_send(c->l, "127.0.0.1", c->port, m,
	    strlen(m), 5000, 1 << 20, c3_done0, c, &e), 0);
	assert_int_equal(mllp_client_send(c->l, "127.0.0.1", c->dead_port, m,
	    strlen(m), 5000, 1 << 20, c3_done1, c, &e), 0);
	assert_int_equal(mllp_client_send(c->l, "127.0.0.1", c->silent_port,
	    m, strlen(m), 300, 1 << 20, c3_done2, c, &e), 0);
	assert_int_equal(mllp_client_send(c->l, "no.such.host", 1, m,
	    strlen(m), 300, 1 << 20, c3_done2, c, &e), -1);
	assert_int_equal(c->pending, 3); /* nothing answered inside send */
	free(m);
}

static int
listen_socket(int *port_r, bool listening)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    (listening && listen(fd, 8) != 0) ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		abort();
	*port_r = ntohs(a.sin_port);
	return fd;
}

static void
test_mllp_client_gets_ack_refusal_and_timeout(void **state)
{
	char *dir = testlib_tmpdir();
	char *db = xasprintf("%s/t.db", dir);
	struct store_writer_opts wo = {0};
	struct store_writer *w = NULL;
	struct mllp_server *srv = NULL;
	struct mllp_server_opts o;
	struct client3 c;
	struct err e = {0};
	int dead_fd, silent_fd;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(loop_new(&c.l, &e), 0);
	wo.loop = c.l;
	assert_int_equal(store_writer_new(db, &wo, &w, &e), 0);
	memset(&o, 0, sizeof(o));
	o.host = "127.0.0.1";
	o.max_frame = 1 << 20;
	o.idle_ms = 10000;
	o.max_conns = 8;
	o.commit_ack = true;
	assert_int_equal(mllp_server_new(c.l, w, &o, &srv, &e), 0);
	c.port = mllp_server_port(srv);
	dead_fd = listen_socket(&c.dead_port, false);   /* bound, refuses */
	silent_fd = listen_socket(&c.silent_port, true); /* never answers */
	loop_post(c.l, c3_start, &c);
	assert_int_equal(loop_run(c.l), 0);
	store_writer_free(&w);
	loop_free(&c.l);
	close(dead_fd);
	close(silent_fd);
	assert_int_equal(c.status[0], 0);
	assert_string_equal(c.code, "AA");
	assert_string_equal(c.id, "CLIENT1");
	assert_int_equal(c.status[1], -1);
	assert_int_equal(c.kinds[1], ERR_TEMP);
	assert_non_null(strstr(c.msgs[1], "connect"));
	assert_int_equal(c.status[2], -1);
	assert_non_null(strstr(c.msgs[2], "in time"));
	testlib_rmtree(dir);
	free(dir);
	free(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_mllp_server_serves_connections_acks_and_limits),
		cmocka_unit_test(
		    test_mllp_server_limits_connections_and_honours_ne_and_commit_ack),
		cmocka_unit_test(test_mllp_client_gets_ack_refusal_and_timeout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
