/* bench_notify: the notification agent under load, end to end. ACRS import
 * rows/s at 10 million relationships and lookup latency p50/p99 at that
 * size are bench_acrs's (run it for those figures); this one measures the
 * rest:
 *
 * ADTs per second from MLLP intake to signed, encrypted Direct
 * notifications queued for delivery: sender threads push ADT^A01 messages
 * over MLLP (one outstanding per connection, as MLLP wants) to the real
 * MLLP server and intake (group commit); the real notification runner,
 * kicked by the server's stored hook as in the daemon, plans each
 * (policy, ACRS match by identifier, care team, directory route,
 * Z-segments, summary, Direct packaging) and queues it; sealer
 * threads (standing in for the HISP's outbound workers, one per core)
 * sign and encrypt each queued notification with the security agent
 * (RSA-2048, SHA-256, AES-128-CBC). The figure is ADTs whose notification
 * is sealed per second, as a ratio of the raw RSA-2048 sign rate measured
 * in the same run (before and after it, the mean) on one thread and on as
 * many threads as there are sealers (goal >= 0.5), with the MLLP ACK
 * latency p50/p99 under that load. It also prints the process CPU per
 * ADT, split into the daemon's part, the sealers' and the bench's own
 * MLLP senders' (thread CPU clocks), and the writer's commits per ADT: on a
 * machine shared with other work the ratio moves with what the others
 * leave free, the CPU per ADT much less.
 *
 *   bench_notify [--adts N] [--conns C] [--patients P] [--threads T]
 *                [--dir DIR] [--keep]
 *
 * --threads 0 runs no sealers: the daemon's part alone (intake, planning,
 * queueing), its CPU per ADT and the ACK latency without sealing load.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "adt/acrs_import.h"
#include "adt/directory_import.h"
#include "adt/mllp_server.h"
#include "adt/notify.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/store.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "smime/agent.h"
#include "smime/signer.h"
#include "tests/unit/smime/smime_testcerts.h"

#define TODAY 20261122
#define NPROV 50

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- Keys (tests/unit/smime/smime_testcerts.h) ---- */

static struct signer *signer;
static struct agent *agent;
static char sender_id[SIGNER_ID_MAX + 1];
static struct buf rcpt_der;
static EVP_PKEY *raw_key;

static void
keys(void)
{
	EVP_PKEY *ca_key = tc_key_rsa(2048), *ak = tc_key_rsa(2048);
	EVP_PKEY *bk = tc_key_rsa(2048);
	X509 *ca = tc_cert(NULL, ca_key, ca_key, "Bench CA", NULL, true,
	    -3600, 86400, NULL);
	X509 *ac = tc_cert(ca, ca_key, ak, "a.test", "DNS:a.test", false,
	    -3600, 86400, NULL);
	X509 *bc = tc_cert(ca, ca_key, bk, "b.test", "DNS:b.test", false,
	    -3600, 86400, NULL);
	struct smime_settings set;
	struct buf kp, cp;
	unsigned char *d = NULL;
	int len;
	struct err e;

	signer = signer_new();
	buf_init(&kp, BUF_UNLIMITED);
	buf_init(&cp, BUF_UNLIMITED);
	tc_pem_key(ak, &kp);
	tc_pem_cert(ac, &cp);
	if (signer_add_key(signer, kp.data, kp.len, cp.data, cp.len,
	    sender_id, &e) != 0) {
		fprintf(stderr, "signer: %s\n", e.msg);
		exit(1);
	}
	buf_release_cleanse(&kp);
	buf_release(&cp);
	len = i2d_X509(bc, &d);
	buf_init(&rcpt_der, BUF_UNLIMITED);
	buf_append(&rcpt_der, d, (size_t)len);
	OPENSSL_free(d);
	smime_settings_default(&set);
	agent = agent_new(&set);
	raw_key = ak;
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(bk);
	X509_free(ca);
	X509_free(ac);
	X509_free(bc);
}

static int
raw_sign(void)
{
	static const unsigned char md[32] = {1, 2, 3};
	unsigned char sig[512];
	size_t siglen = sizeof(sig);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(raw_key, NULL);
	int ok;

	ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
	    EVP_PKEY_sign(ctx, sig, &siglen, md, sizeof(md)) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : -1;
}

static atomic_long raw_count;
static atomic_int raw_stop;

static void *
raw_thread(void *arg)
{
	(void)arg;
	while (!atomic_load(&raw_stop))
		if (raw_sign() == 0)
			atomic_fetch_add(&raw_count, 1);
	return NULL;
}

static double
raw_rate(int threads, double secs)
{
	pthread_t t[64];
	double t0;

	atomic_store(&raw_count, 0);
	atomic_store(&raw_stop, 0);
	t0 = now_s();
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, raw_thread, NULL);
	usleep((useconds_t)(secs * 1e6));
	atomic_store(&raw_stop, 1);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	return (double)atomic_load(&raw_count) / (now_s() - t0);
}

/* ---- Data ---- */

static void
npi_of(unsigned i, char dst[11])
{
	/* 9 digits then the Luhn check digit over 80840 + them. */
	char base[10];
	int sum = 24; /* the 80840 prefix's contribution */

	str_fmt(base, sizeof(base), "1%08u", 10000000u + i);
	for (int k = 8, dbl = 1; k >= 0; k--, dbl = !dbl) {
		int v = base[k] - '0';

		if (dbl) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	str_fmt(dst, 11, "%s%d", base, (10 - sum % 10) % 10);
}

static void
write_file(const char *path, const struct buf *b)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(b->data, 1, b->len, f) != b->len) {
		fprintf(stderr, "%s: cannot write\n", path);
		exit(1);
	}
	fclose(f);
}

static void
load(struct store *s, const char *dir, unsigned patients)
{
	struct acrs_import_file_opts o = {0};
	struct acrs_import_result r;
	struct directory_rows *rows = directory_rows_new();
	struct directory_report *rep = directory_report_new();
	struct buf b, pv, ep;
	char path[1024], npi[11];
	struct err e;

	buf_init(&b, BUF_UNLIMITED);
	buf_append_str(&b, "patient_id,patient_id_type,assigning_authority,"
	    "last_name,first_name,dob,sex,zip,provider_npi,relationship,"
	    "last_seen\n");
	for (unsigned i = 0; i < patients; i++) {
		npi_of(i % NPROV, npi);
		buf_printf(&b, "B%07u,MR,HOSP,Last%u,First%u,19%02u-0%u-1%u,%c,"
		    "489%02u,%s,pcp,2026-06-01\n", i, i, i, 50 + i % 50, 1 + i % 9,
		    i % 10, i % 2 ? 'F' : 'M', i % 100, npi);
	}
	str_fmt(path, sizeof(path), "%s/acrs.csv", dir);
	write_file(path, &b);
	o.submitter = "CLINIC";
	o.today = TODAY;
	if (acrs_import_file(s, path, &o, &r, &e) != 0 || !r.committed) {
		fprintf(stderr, "acrs import: %s\n", e.msg);
		exit(1);
	}
	buf_init(&pv, BUF_UNLIMITED);
	buf_init(&ep, BUF_UNLIMITED);
	buf_append_str(&pv, "npi,last_name,first_name,status\n");
	buf_append_str(&ep, "owner_npi,kind,address,rank,active\n");
	for (unsigned i = 0; i < NPROV; i++) {
		npi_of(i, npi);
		buf_printf(&pv, "%s,Doc%u,Bench,active\n", npi, i);
		buf_printf(&ep, "%s,direct,dr%u@b.test,1,yes\n", npi, i);
	}
	if (directory_import_csv(rows, DIRECTORY_PROVIDERS, pv.data, pv.len,
	    "p", rep) != 0 || directory_import_csv(rows, DIRECTORY_ENDPOINTS,
	    ep.data, ep.len, "e", rep) != 0 ||
	    directory_import_apply(s, rows, DIRECTORY_IMPORT_STRICT, rep,
	    &e) != 0) {
		fprintf(stderr, "directory import failed\n");
		exit(1);
	}
	if (store_run(s, &e, "INSERT INTO domain (name) VALUES ('a.test')",
	    "") != 0 ||
	    store_run(s, &e, "INSERT INTO address (address, domain, kind)"
	    " VALUES ('notify@a.test', 'a.test', 'notify')", "") != 0 ||
	    store_run(s, &e, "INSERT INTO cert_key (kind, owner, domain,"
	    " spki_fp, fingerprint, der) VALUES ('domain', 'a.test', 'a.test',"
	    " 'bench', 'bench', x'00')", "") != 0) {
		fprintf(stderr, "address: %s\n", e.msg);
		exit(1);
	}
	directory_rows_free(&rows);
	directory_report_free(&rep);
	buf_release(&b);
	buf_release(&pv);
	buf_release(&ep);
}

/* ---- MLLP senders ---- */

static int mllp_port;
static unsigned n_adts, n_conns, n_patients;
static atomic_uint next_adt;
static double *ack_lat;

/* CPU time of the calling thread so far. */
static long long
thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The MLLP senders' CPU (the hospitals' side, not the daemon's). */
static atomic_llong send_cpu_ns;

static void *
sender(void *arg)
{
	struct sockaddr_in sa = {0};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	char msg[2048], rbuf[4096];

	(void)arg;
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)mllp_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("connect");
		exit(1);
	}
	for (;;) {
		unsigned i = atomic_fetch_add(&next_adt, 1);
		unsigned p;
		int n;
		double t0;
		size_t got = 0;

		if (i >= n_adts)
			break;
		p = i % n_patients;
		n = snprintf(msg, sizeof(msg), "\x0b"
		    "MSH|^~\\&|EHR|HOSP|DG|DG|20261122120000||ADT^A01^ADT_A01|"
		    "B%u|P|2.5.1\rEVN|A01|20261122120000\r"
		    "PID|1||B%07u^^^HOSP^MR||LAST%u^FIRST%u||19%02u0%u1%u|%c\r"
		    "PV1|1|I|ICU^1^1^HOSP||||1234567893^WHO^JOHN||||||||||||"
		    "V%u\r\x1c\r", i, p, p, p, 50 + p % 50, 1 + p % 9, p % 10,
		    p % 2 ? 'F' : 'M', i);
		t0 = now_s();
		if (write(fd, msg, (size_t)n) != n) {
			perror("write");
			exit(1);
		}
		while (got == 0 || memchr(rbuf, 0x1c, got) == NULL) {
			ssize_t r = read(fd, rbuf + got, sizeof(rbuf) - got);

			if (r <= 0) {
				fprintf(stderr, "mllp read failed\n");
				exit(1);
			}
			got += (size_t)r;
		}
		ack_lat[i] = now_s() - t0;
		if (strstr(rbuf, "MSA|AA") == NULL && strstr(rbuf, "MSA|CA") ==
		    NULL) {
			fprintf(stderr, "not accepted: %.*s\n", (int)got, rbuf);
			exit(1);
		}
	}
	close(fd);
	atomic_fetch_add(&send_cpu_ns, thread_cpu_ns());
	return NULL;
}

/* ---- Sealers (the outbound workers' share) ---- */

static const char *db_path;
static pthread_mutex_t cursor_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t cursor;
static atomic_uint sealed;
static atomic_int seal_stop;
static atomic_size_t sealed_bytes;
static atomic_llong seal_cpu_ns;
static pthread_mutex_t last_mu = PTHREAD_MUTEX_INITIALIZER;
static double t_last, t_fetched;
static unsigned n_fetched;

#define SEAL_BATCH 16
#define SEAL_BATCH_SQL "16"

static void *
sealer(void *arg)
{
	struct store *s;
	struct err e;

	(void)arg;
	if (store_open(db_path, STORE_READONLY, &s, &e) != 0) {
		fprintf(stderr, "store: %s\n", e.msg);
		exit(1);
	}
	while (!atomic_load(&seal_stop)) {
		struct store_stmt *st;
		struct buf body[SEAL_BATCH], out;
		size_t nb = 0;
		int rc;

		/* Up to SEAL_BATCH queued messages at a time, as the queue
		 * runner hands its workers a batch of due messages. */
		pthread_mutex_lock(&cursor_mu);
		st = store_prepare(s, "SELECT rowid, body FROM queue_msg WHERE"
		    " rowid > ? ORDER BY rowid LIMIT " SEAL_BATCH_SQL, &e);
		store_bindv(st, "I", cursor);
		while (nb < SEAL_BATCH && (rc = store_step(st, &e)) == 1) {
			size_t n;
			const void *p = store_col_blob(st, 1, &n);

			buf_init(&body[nb], BUF_UNLIMITED);
			buf_append(&body[nb++], p, n);
			cursor = store_col_int(st, 0);
			if (++n_fetched == n_adts)
				t_fetched = now_s();
		}
		store_stmt_done(st);
		pthread_mutex_unlock(&cursor_mu);
		if (nb == 0) {
			usleep(500);
			continue;
		}
		for (size_t k = 0; k < nb; k++) {
			struct agent_blob blob = {rcpt_der.data, rcpt_der.len};
			struct agent_seal_req req = {0};

			req.msg = body[k].data;
			req.msg_len = body[k].len;
			req.from = "notify@a.test";
			req.signer = signer;
			req.key_id = sender_id;
			req.rcpt_certs = &blob;
			req.n_rcpt_certs = 1;
			buf_init(&out, BUF_UNLIMITED);
			if (agent_seal(agent, &req, &out, &e) != 0) {
				fprintf(stderr, "seal: %s\n", e.msg);
				exit(1);
			}
			atomic_fetch_add(&sealed_bytes, out.len);
			buf_release(&out);
			buf_release(&body[k]);
			atomic_fetch_add(&sealed, 1);
			pthread_mutex_lock(&last_mu);
			t_last = now_s();
			pthread_mutex_unlock(&last_mu);
		}
	}
	atomic_fetch_add(&seal_cpu_ns, thread_cpu_ns());
	store_free(&s);
	return NULL;
}

static double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* ---- The daemon's part ---- */

static void
kick(void *arg)
{
	notify_kick(*(struct notify **)arg);
}

static struct loop *loop;

static void *
loop_thread(void *arg)
{
	(void)arg;
	loop_run(loop);
	return NULL;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	char tmpl[] = "/tmp/bench_notify.XXXXXX", path[1024];
	const char *dir = NULL;
	bool keep = false;
	unsigned threads = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	struct store *s;
	struct store_writer *w;
	struct store_writer_opts wo = {0};
	struct mllp_server_opts mo = {0};
	struct mllp_server *srv;
	struct notify_params np = {0};
	struct notify *nt = NULL;
	pthread_t lt, snd[256], sl[64];
	double raw1, rawn, t0, t_intake = 0, t_end, t_cpu, rate, p50, p99, pmax;
	double cpu0, cpu1;
	uint64_t wb0, wj0, wb1, wj1;
	struct err e;

	n_adts = 2000;
	n_conns = 8;
	n_patients = 20000;
	for (int i = 1; i < argc; i++) {
		int64_t v;

		if (strcmp(argv[i], "--adts") == 0 && i + 1 < argc &&
		    str_to_i64(argv[++i], 1, 10000000, &v) == 0)
			n_adts = (unsigned)v;
		else if (strcmp(argv[i], "--conns") == 0 && i + 1 < argc &&
		    str_to_i64(argv[++i], 1, 256, &v) == 0)
			n_conns = (unsigned)v;
		else if (strcmp(argv[i], "--patients") == 0 && i + 1 < argc &&
		    str_to_i64(argv[++i], 1, 100000000, &v) == 0)
			n_patients = (unsigned)v;
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc &&
		    str_to_i64(argv[++i], 0, 64, &v) == 0)
			threads = (unsigned)v;
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--keep") == 0)
			keep = true;
		else {
			fprintf(stderr, "usage: bench_notify [--adts N] "
			    "[--conns C] [--patients P] [--threads T] "
			    "[--dir DIR] [--keep]\n");
			return 2;
		}
	}
	if (threads > 64)
		threads = 64;
	log_init("bench_notify", LOG_LEVEL_WARN);
	if (dir == NULL && (dir = mkdtemp(tmpl)) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	str_fmt(path, sizeof(path), "%s/directgate.db", dir);
	db_path = path;
	keys();
	if (store_open(path, 0, &s, &e) != 0) {
		fprintf(stderr, "store: %s\n", e.msg);
		return 1;
	}
	load(s, dir, n_patients);
	store_free(&s);

	printf("bench_notify: %u ADT^A01 over %u MLLP connections, %u ACRS "
	    "patients, %d providers, %u sealer threads; %s\n", n_adts,
	    n_conns, n_patients, NPROV, threads,
	    OpenSSL_version(OPENSSL_VERSION));
	printf("(ACRS import rows/s at 10M relationships and lookup p50/p99: "
	    "bench_acrs)\n");
	/* The baseline is measured before the run and again after it, and
	 * the ratio uses the mean: this VM's speed drifts within seconds. */
	raw1 = raw_rate(1, 2.0);
	rawn = threads > 0 ? raw_rate((int)threads, 2.0) : raw1;
	if (threads > 0)
		printf("baseline before: raw RSA-2048 sign: %.0f/s on 1 thread, "
		    "%.0f/s on %u threads\n", raw1, rawn, threads);
	else
		printf("baseline: raw RSA-2048 sign: %.0f/s on 1 thread\n",
		    raw1);

	loop_set_workers(threads > 0 ? threads : 2);
	if (loop_new(&loop, &e) != 0)
		return 1;
	wo.loop = loop;
	if (store_writer_new(path, &wo, &w, &e) != 0) {
		fprintf(stderr, "writer: %s\n", e.msg);
		return 1;
	}
	mo.host = "127.0.0.1";
	mo.port = 0;
	mo.max_frame = 1 << 20;
	mo.idle_ms = 600000;
	mo.max_conns = 512;
	mo.ack_app = "DG";
	mo.ack_facility = "DG";
	mo.stored = kick; /* as the daemon wires it */
	mo.stored_arg = &nt;
	if (mllp_server_new(loop, w, &mo, &srv, &e) != 0) {
		fprintf(stderr, "mllp: %s\n", e.msg);
		return 1;
	}
	mllp_port = mllp_server_port(srv);
	np.loop = loop;
	np.writer = w;
	np.store_path = path;
	if (notify_start(&np, &nt, &e) != 0) {
		fprintf(stderr, "notify: %s\n", e.msg);
		return 1;
	}
	pthread_create(&lt, NULL, loop_thread, NULL);
	ack_lat = xcalloc(n_adts, sizeof(*ack_lat));
	store_writer_stats(w, &wb0, &wj0, NULL);
	cpu0 = cpu_s();
	for (unsigned i = 0; i < threads; i++)
		pthread_create(&sl[i], NULL, sealer, NULL);
	t0 = now_s();
	for (unsigned i = 0; i < n_conns; i++)
		pthread_create(&snd[i], NULL, sender, NULL);
	for (unsigned i = 0; i < n_conns; i++)
		pthread_join(snd[i], NULL);
	t_intake = now_s() - t0;
	if (threads == 0) {
		/* No sealers: until every notification is queued. */
		struct store *rs;
		int64_t q = 0;

		if (store_open(db_path, STORE_READONLY, &rs, &e) != 0) {
			fprintf(stderr, "store: %s\n", e.msg);
			return 1;
		}
		/* Rows are only added here: the largest rowid counts them,
		 * from the index's end rather than by a scan. */
		while (q < n_adts && now_s() - t0 < 30 + n_adts / 50.0) {
			if (store_query_int(rs, &q, &e, "SELECT"
			    " coalesce(max(rowid), 0) FROM queue_msg", "") < 0)
				break;
			if (q < n_adts)
				usleep(2000);
		}
		store_free(&rs);
		t_fetched = t_last = now_s();
		atomic_store(&sealed, (unsigned)q);
		n_fetched = (unsigned)q;
	}
	while (atomic_load(&sealed) < n_adts) {
		if (now_s() - t0 > 30 + n_adts / 50.0) {
			fprintf(stderr, "timeout: %u of %u sealed\n",
			    atomic_load(&sealed), n_adts);
			break;
		}
		usleep(1000);
	}
	pthread_mutex_lock(&last_mu);
	t_end = t_last - t0;
	pthread_mutex_unlock(&last_mu);
	atomic_store(&seal_stop, 1);
	for (unsigned i = 0; i < threads; i++)
		pthread_join(sl[i], NULL);
	cpu1 = cpu_s();
	t_cpu = now_s() - t0;
	store_writer_stats(w, &wb1, &wj1, NULL);
	loop_stop_async(loop);
	pthread_join(lt, NULL);
	store_writer_free(&w);
	loop_free(&loop);
	notify_free(&nt);

	if (threads > 0) {
		double a1 = raw_rate(1, 2.0), an = raw_rate((int)threads, 2.0);

		printf("baseline after: raw RSA-2048 sign: %.0f/s on 1 thread, "
		    "%.0f/s on %u threads\n", a1, an, threads);
		raw1 = (raw1 + a1) / 2;
		rawn = (rawn + an) / 2;
	}
	qsort(ack_lat, n_adts, sizeof(*ack_lat), cmp_d);
	p50 = ack_lat[n_adts / 2] * 1e3;
	p99 = ack_lat[(size_t)((double)n_adts * 0.99)] * 1e3;
	pmax = ack_lat[n_adts - 1] * 1e3;
	rate = (double)atomic_load(&sealed) / t_end;
	printf("queued: the last notification was queued (planned, composed, "
	    "committed) %.2f s after the first ADT was sent\n",
	    t_fetched > 0 ? t_fetched - t0 : -1.0);
	printf("intake: %u ADTs acknowledged in %.2f s: %.0f ADT/s; MLLP ACK "
	    "latency p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", n_adts,
	    t_intake, n_adts / t_intake, p50, p99, pmax);
	if (threads > 0)
		printf("end to end: %u ADTs into signed, encrypted Direct "
		    "notifications (%.1f KiB sealed on average) in %.2f s: "
		    "%.0f ADT/s\n", atomic_load(&sealed),
		    (double)atomic_load(&sealed_bytes) / 1024.0 /
		    (atomic_load(&sealed) ? atomic_load(&sealed) : 1), t_end,
		    rate);
	{
		double all = (cpu1 - cpu0) * 1e6 / n_adts;
		double seal = (double)atomic_load(&seal_cpu_ns) / 1e3 / n_adts;
		double send = (double)atomic_load(&send_cpu_ns) / 1e3 / n_adts;

		printf("cpu: %.0f us per ADT in this process: %.0f in the daemon"
		    " (intake, planning, queueing), %.0f in the sealers, %.0f in"
		    " the bench's MLLP senders; raw sign %.0f us; %.2f cores"
		    " busy\n", all, all - seal - send, seal, send, 1e6 / raw1,
		    (cpu1 - cpu0) / t_cpu);
	}
	printf("writer: %llu commits of %llu jobs (%.2f commits per ADT)\n",
	    (unsigned long long)(wb1 - wb0), (unsigned long long)(wj1 - wj0),
	    (double)(wb1 - wb0) / n_adts);
	if (threads == 0) {
		printf("no sealers: the ratio needs them\n");
		goto done;
	}
	printf("ratio end-to-end ADT/s / raw RSA-2048 sign/s (mean of before "
	    "and after) on %u threads: %.2f (goal >= 0.5); against 1 thread: "
	    "%.2f\n", threads, rate / rawn, rate / raw1);
done:
	if (!keep) {
		char cmd[1200];

		str_fmt(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	} else
		printf("kept %s\n", dir);
	signer_free(&signer);
	agent_free(&agent);
	EVP_PKEY_free(raw_key);
	buf_release(&rcpt_der);
	free(ack_lat);
	return 0;
}
