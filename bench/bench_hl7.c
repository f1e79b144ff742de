/* bench_hl7: HL7 parse-and-validate rate on the sample set against
 * python3-hl7 (bench/bench_hl7_baseline.py) measured in the same run, and
 * MLLP intake with durable AA at 1, 8 and 64 concurrent senders (ADTs/s,
 * ACK latency p50/p99).
 *
 * Usage: bench_hl7 [--seconds N] [--no-python] [--no-parse] [--no-mllp]
 *        [--senders N] [--message FILE]
 *        [SOURCE_DIR]
 * SOURCE_DIR (default $DG_SOURCE_DIR, else ".") is the repository root; the
 * samples are read from SOURCE_DIR/../shared/data/hl7. */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "adt/ack.h"
#include "adt/hl7.h"
#include "adt/hl7_reader.h"
#include "adt/hl7_validate.h"
#include "adt/mllp.h"
#include "adt/mllp_server.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/store.h"
#include "core/str.h"
#include "core/xmalloc.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct msgset {
	struct buf files;   /* space-separated paths for the baseline */
	uint8_t **msg;
	size_t *len;
	size_t n;
	size_t bytes;
};

static void
load_samples(const char *dir, struct msgset *s)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL) {
		fprintf(stderr, "bench_hl7: cannot open %s\n", dir);
		exit(1);
	}
	buf_init(&s->files, BUF_UNLIMITED);
	while ((de = readdir(d)) != NULL) {
		char path[1024];
		size_t l = strlen(de->d_name);
		FILE *f;
		struct buf b;
		char tmp[65536];
		size_t got;
		struct hl7_split sp;
		struct err e;

		if (l < 5 || strcmp(de->d_name + l - 4, ".hl7") != 0)
			continue;
		str_fmt(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((f = fopen(path, "rb")) == NULL)
			continue;
		buf_init(&b, BUF_UNLIMITED);
		while ((got = fread(tmp, 1, sizeof(tmp), f)) > 0)
			buf_append(&b, tmp, got);
		fclose(f);
		buf_printf(&s->files, " '%s'", path);
		/* the raw file bytes are what the parser gets (it normalizes) */
		if (hl7_reader_split(b.data, b.len, 1 << 24, &sp, &e) == 1) {
			s->msg = xreallocarray(s->msg, s->n + 1, sizeof(*s->msg));
			s->len = xreallocarray(s->len, s->n + 1, sizeof(*s->len));
			s->msg[s->n] = xmemdup(b.data, b.len);
			s->len[s->n] = b.len;
			s->bytes += b.len;
			s->n++;
		}
		if (sp.count > 0)
			hl7_reader_split_release(&sp);
		buf_release(&b);
	}
	closedir(d);
}

static double
bench_parse(const struct msgset *s, double secs, double *mbs_r)
{
	double start = now_s(), el;
	uint64_t n = 0, bytes = 0, errors = 0;

	do {
		for (size_t i = 0; i < s->n; i++) {
			struct hl7_msg *m = NULL;
			struct hl7_validation v;
			struct err e;

			if (hl7_parse(s->msg[i], s->len[i], &m, &e) != 0) {
				errors++;
				continue;
			}
			errors += hl7_validate(m, &v);
			hl7_msg_free(&m);
		}
		n += s->n;
		bytes += s->bytes;
	} while ((el = now_s() - start) < secs);
	if (errors)
		fprintf(stderr, "bench_hl7: %llu validation errors\n",
		    (unsigned long long)errors);
	*mbs_r = (double)bytes / el / 1e6;
	return (double)n / el;
}

static int
python_baseline(const char *src, const struct msgset *s, double secs,
    double *rate_r, double *mbs_r)
{
	char *cmd = xasprintf("/usr/bin/python3 '%s/bench/bench_hl7_baseline.py'"
	    " %.1f%s", src, secs, buf_cstr(&s->files));
	FILE *p = popen(cmd, "r");
	char line[256];
	int ok = -1;

	free(cmd);
	if (p == NULL)
		return -1;
	if (fgets(line, sizeof(line), p) != NULL &&
	    sscanf(line, "msgs_per_s=%lf mb_per_s=%lf", rate_r, mbs_r) == 2)
		ok = 0;
	pclose(p);
	return ok;
}

/* --- MLLP intake --- */

struct intake_bench {
	int port;
	const char *tmpl;   /* message with a 0x01 marker for MSH-10 */
	int senders;
	int id;
	double until;
	double *lat;        /* per-sender latencies */
	size_t nlat;
	size_t cap;
	unsigned not_aa;
	unsigned failed;
};

static int
dial(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void *
sender_main(void *arg)
{
	struct intake_bench *b = arg;
	int fd = dial(b->port);
	struct mllp_framer *fr = mllp_framer_new(1 << 20);
	struct buf out, in;
	uint64_t seq = 0;

	buf_init(&out, BUF_UNLIMITED);
	buf_init(&in, BUF_UNLIMITED);
	if (fd < 0) {
		b->failed++;
		goto done;
	}
	while (now_s() < b->until) {
		char cid[64];
		double t0;
		int got = 0;

		str_fmt(cid, sizeof(cid), "B%d-%d-%llu", b->senders, b->id,
		    (unsigned long long)seq++);
		{
			const char *mark = strchr(b->tmpl, '\x01');
			struct buf mb;

			buf_init(&mb, BUF_UNLIMITED);
			buf_append(&mb, b->tmpl, (size_t)(mark - b->tmpl));
			buf_append_str(&mb, cid);
			buf_append_str(&mb, mark + 1);
			buf_reset(&out);
			mllp_wrap(&out, mb.data, mb.len);
			buf_release(&mb);
		}
		t0 = now_s();
		if (send(fd, out.data, out.len, MSG_NOSIGNAL) !=
		    (ssize_t)out.len) {
			b->failed++;
			break;
		}
		while (!got) {
			char tmp[4096];
			ssize_t r;
			size_t used, fn;
			struct err e;

			while (in.len > 0) {
				int rc = mllp_framer_feed(fr, in.data, in.len,
				    &used, &e);

				buf_consume(&in, used);
				if (rc == 1) {
					const uint8_t *f = mllp_framer_frame(fr,
					    &fn);

					if (fn < 12 || memmem(f, fn, "\rMSA|AA|",
					    8) == NULL)
						b->not_aa++;
					got = 1;
					break;
				}
			}
			if (got)
				break;
			r = recv(fd, tmp, sizeof(tmp), 0);
			if (r <= 0) {
				b->failed++;
				goto done;
			}
			buf_append(&in, tmp, (size_t)r);
		}
		if (b->nlat == b->cap) {
			b->cap = b->cap ? b->cap * 2 : 4096;
			b->lat = xreallocarray(b->lat, b->cap, sizeof(double));
		}
		b->lat[b->nlat++] = now_s() - t0;
	}
done:
	if (fd >= 0)
		close(fd);
	mllp_framer_free(&fr);
	buf_release(&out);
	buf_release(&in);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
run_senders(struct store_writer *w, int port, const char *tmpl, int n,
    double secs)
{
	uint64_t b0, j0, b1, j1;
	struct intake_bench *b = xcalloc((size_t)n, sizeof(*b));
	pthread_t *th = xcalloc((size_t)n, sizeof(*th));
	double start = now_s(), until = start + secs, el;
	size_t total = 0, k = 0;
	unsigned not_aa = 0, failed = 0;
	double *all;

	store_writer_stats(w, &b0, &j0, NULL);
	for (int i = 0; i < n; i++) {
		b[i].port = port;
		b[i].tmpl = tmpl;
		b[i].senders = n;
		b[i].id = i;
		b[i].until = until;
		pthread_create(&th[i], NULL, sender_main, &b[i]);
	}
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		total += b[i].nlat;
		not_aa += b[i].not_aa;
		failed += b[i].failed;
	}
	el = now_s() - start;
	store_writer_stats(w, &b1, &j1, NULL);
	all = xcalloc(total ? total : 1, sizeof(double));
	for (int i = 0; i < n; i++) {
		memcpy(all + k, b[i].lat, b[i].nlat * sizeof(double));
		k += b[i].nlat;
		free(b[i].lat);
	}
	qsort(all, total, sizeof(double), cmp_double);
	printf("mllp intake, %2d senders: %8.0f ADTs/s  ACK p50 %6.2f ms  "
	    "p99 %6.2f ms  (%zu ADTs, %.1f per commit, %u not AA, %u failed)\n",
	    n, (double)total / el, total ? all[total / 2] * 1e3 : 0.0,
	    total ? all[(size_t)((double)total * 0.99)] * 1e3 : 0.0, total,
	    b1 > b0 ? (double)(j1 - j0) / (double)(b1 - b0) : 0.0, not_aa,
	    failed);
	fflush(stdout);
	free(all);
	free(b);
	free(th);
}

struct loop_thread {
	struct loop *l;
};

static void *
loop_main(void *arg)
{
	struct loop_thread *t = arg;

	loop_run(t->l);
	return NULL;
}

static const char *message_file; /* --message FILE: the template */

static char *
make_template(const struct msgset *s)
{
	/* The largest sample (ADT-A01-01, every ADT_A01 segment) or the
	 * --message file, with MSH-10 replaced by a 0x01 marker. */
	size_t best = 0;
	struct hl7_msg *m = NULL;
	struct err e;
	struct buf t;
	const uint8_t *d;
	size_t n, i;
	int field = 0;

	for (i = 1; i < s->n; i++)
		if (s->len[i] > s->len[best])
			best = i;
	if (message_file != NULL) {
		FILE *f = fopen(message_file, "rb");
		char tmp[65536];
		size_t got;

		if (f == NULL)
			return NULL;
		buf_init(&t, BUF_UNLIMITED);
		while ((got = fread(tmp, 1, sizeof(tmp), f)) > 0)
			buf_append(&t, tmp, got);
		fclose(f);
		i = (size_t)hl7_parse(t.data, t.len, &m, &e);
		buf_release(&t);
		if (m == NULL)
			return NULL;
	} else if (hl7_parse(s->msg[best], s->len[best], &m, &e) != 0) {
		return NULL;
	}
	d = hl7_msg_data(m, &n);
	buf_init(&t, BUF_UNLIMITED);
	for (i = 0; i < n; i++) {
		if (d[i] == '|' && field >= 0)
			field++;
		if (d[i] == '\r')
			field = -1;
		if (field == 9 && d[i] == '|') {
			buf_append_str(&t, "|\x01");
			while (i + 1 < n && d[i + 1] != '|')
				i++;
			continue;
		}
		buf_putc(&t, d[i]);
	}
	hl7_msg_free(&m);
	return (char *)buf_steal(&t, NULL);
}

/* The disk's fdatasync latency in dir: durable AA waits for one per group
 * commit, so senders / fsync bounds the ADT rate. */
static double
fsync_ms(const char *dir)
{
	char *path = xasprintf("%s/fsync.probe", dir);
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	char block[8192];
	double t0, el;
	int n = 100;

	memset(block, 'x', sizeof(block));
	if (fd < 0) {
		free(path);
		return 0;
	}
	t0 = now_s();
	for (int i = 0; i < n; i++)
		if (write(fd, block, sizeof(block)) < 0 || fdatasync(fd) != 0)
			break;
	el = now_s() - t0;
	close(fd);
	unlink(path);
	free(path);
	return el / n * 1e3;
}

static int only_senders; /* --senders N: run that count only */

static void
bench_mllp(const struct msgset *s, double secs)
{
	char dirt[] = "/tmp/bench_hl7.XXXXXX";
	char *db, *tmpl;
	struct loop_thread lt = {0};
	struct store_writer *w = NULL;
	struct store_writer_opts wo = {0};
	const char *delay = getenv("DG_COMMIT_DELAY_US");
	struct mllp_server *srv = NULL;
	struct mllp_server_opts o;
	struct err e;
	pthread_t th;
	static const int counts[] = {1, 8, 64};

	if (mkdtemp(dirt) == NULL || (tmpl = make_template(s)) == NULL) {
		fprintf(stderr, "bench_hl7: setup failed\n");
		return;
	}
	/* The daemon's [store] commit_delay, to compare. */
	wo.commit_delay_us = delay != NULL ? (unsigned)strtoul(delay, NULL, 10)
	    : 0;
	db = xasprintf("%s/bench.db", dirt);
	if (loop_new(&lt.l, &e) != 0) {
		fprintf(stderr, "bench_hl7: %s\n", e.msg);
		return;
	}
	wo.loop = lt.l;
	if (store_writer_new(db, &wo, &w, &e) != 0) {
		fprintf(stderr, "bench_hl7: %s\n", e.msg);
		return;
	}
	memset(&o, 0, sizeof(o));
	o.host = "127.0.0.1";
	o.max_frame = 1 << 20;
	o.idle_ms = 60000;
	o.max_conns = 1000;
	o.ack_mode = ACK_MODE_AUTO;
	if (mllp_server_new(lt.l, w, &o, &srv, &e) != 0) {
		fprintf(stderr, "bench_hl7: %s\n", e.msg);
		return;
	}
	printf("mllp intake: message %zu bytes (unique MSH-10), "
	    "store %s (WAL, synchronous=FULL)\n", strlen(tmpl) - 1, db);
	{
		double f = fsync_ms(dirt);

		printf("disk: 8 KiB write+fdatasync %.2f ms on average just "
		    "before (every group commit waits for one)\n", f);
	}
	pthread_create(&th, NULL, loop_main, &lt);
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		if (only_senders == 0 || only_senders == counts[i])
			run_senders(w, mllp_server_port(srv), tmpl, counts[i],
			    secs);
	loop_stop_async(lt.l);
	pthread_join(th, NULL);
	store_writer_free(&w);
	loop_free(&lt.l);
	unlink(db);
	{
		char *wal = xasprintf("%s-wal", db), *shm = xasprintf("%s-shm",
		    db);

		unlink(wal);
		unlink(shm);
		free(wal);
		free(shm);
	}
	rmdir(dirt);
	free(db);
	free(tmpl);
}

int
main(int argc, char **argv)
{
	const char *src = getenv("DG_SOURCE_DIR");
	double secs = 3, rate, mbs, prate = 0, pmbs = 0;
	bool python = true, mllp = true, parse = true;
	struct msgset s;
	char *dir;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			secs = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--no-python") == 0)
			python = false;
		else if (strcmp(argv[i], "--no-mllp") == 0)
			mllp = false;
		else if (strcmp(argv[i], "--no-parse") == 0)
			parse = python = false;
		else if (strcmp(argv[i], "--message") == 0 && i + 1 < argc)
			message_file = argv[++i];
		else if (strcmp(argv[i], "--senders") == 0 && i + 1 < argc)
			(void)str_to_int(argv[++i], 1, 1000, &only_senders);
		else
			src = argv[i];
	}
	if (src == NULL)
		src = ".";
	log_init("bench_hl7", LOG_LEVEL_WARN);
	memset(&s, 0, sizeof(s));
	dir = xasprintf("%s/../shared/data/hl7", src);
	load_samples(dir, &s);
	if (s.n == 0) {
		fprintf(stderr, "bench_hl7: no samples in %s\n", dir);
		return 1;
	}
	printf("parse+validate: %zu sample messages, %zu bytes (%s)\n", s.n,
	    s.bytes, dir);
	rate = parse ? bench_parse(&s, secs, &mbs) : 0;
	if (parse)
		printf("directgate hl7:  %10.0f msgs/s  %8.1f MB/s\n", rate,
		    mbs);
	if (python && python_baseline(src, &s, secs, &prate, &pmbs) == 0) {
		printf("python3-hl7:     %10.0f msgs/s  %8.1f MB/s\n", prate,
		    pmbs);
		printf("ratio:           %10.1fx (goal >= 100x)\n",
		    rate / prate);
	} else if (python) {
		printf("python3-hl7:     not measured (python3-hl7 missing?)\n");
	}
	fflush(stdout);
	if (mllp)
		bench_mllp(&s, secs);
	for (size_t i = 0; i < s.n; i++)
		free(s.msg[i]);
	free(s.msg);
	free(s.len);
	buf_release(&s.files);
	free(dir);
	return 0;
}
