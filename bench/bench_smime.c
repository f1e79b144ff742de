/* bench_smime: seal and open rates of the security agent for 4 KiB and
 * 1 MiB messages, on one thread and on N threads (one per core), against
 * the baseline of OpenSSL's raw RSA-2048 private-key operations per second
 * (EVP_PKEY_sign of a 32-byte SHA-256 digest, one thread) measured in the
 * same run. Sealing costs one RSA-2048 private operation (the signature)
 * plus public ones (key transport), so the goal is seal-4KiB >= 0.8 of the
 * raw sign rate per core, and rates that scale with the cores.
 *
 * usage: bench_smime [SECONDS per measurement, default 2] [THREADS,
 * default: the number of cores] [seal4k: only that figure, to profile] */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certs/validate.h"
#include "core/buf.h"
#include "smime/agent.h"
#include "smime/signer.h"
#include "tests/unit/smime/smime_testcerts.h"

static double seconds = 2.0;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct signer *signer;
static struct agent *agent;
static struct validate_ctx *trust;
static char alice_id[SIGNER_ID_MAX + 1], bob_id[SIGNER_ID_MAX + 1];
static struct buf bob_der;
static EVP_PKEY *raw_key;

static void
add_ident(EVP_PKEY *k, X509 *x, char *id)
{
	struct buf kp, cp;
	struct err e;

	buf_init(&kp, BUF_UNLIMITED);
	buf_init(&cp, BUF_UNLIMITED);
	tc_pem_key(k, &kp);
	tc_pem_cert(x, &cp);
	if (signer_add_key(signer, kp.data, kp.len, cp.data, cp.len, id,
	    &e) != 0) {
		fprintf(stderr, "%s\n", e.msg);
		exit(1);
	}
	buf_release_cleanse(&kp);
	buf_release(&cp);
}

static void
fixture(void)
{
	EVP_PKEY *ca_key = tc_key_rsa(2048), *ak = tc_key_rsa(2048);
	EVP_PKEY *bk = tc_key_rsa(2048);
	X509 *ca = tc_cert(NULL, ca_key, ca_key, "Bench CA", NULL, true,
	    -3600, 86400, NULL);
	X509 *ac = tc_cert(ca, ca_key, ak, "alice", "email:alice@a.test",
	    false, -3600, 86400, NULL);
	X509 *bc = tc_cert(ca, ca_key, bk, "bob", "email:bob@b.test", false,
	    -3600, 86400, NULL);
	struct smime_settings set;
	struct validate_opts o;
	unsigned char *d = NULL;
	int len;
	struct err e;

	signer = signer_new();
	add_ident(ak, ac, alice_id);
	add_ident(bk, bc, bob_id);
	len = i2d_X509(bc, &d);
	buf_init(&bob_der, BUF_UNLIMITED);
	buf_append(&bob_der, d, (size_t)len);
	OPENSSL_free(d);
	memset(&o, 0, sizeof(o));
	o.crl_policy = VALIDATE_CRL_OFF;
	o.aia_max_fetches = -1;
	trust = validate_ctx_new_empty(&o);
	if (validate_ctx_add_anchor(trust, "b.test", VALIDATE_INCOMING, ca,
	    &e) != 0)
		abort();
	smime_settings_default(&set);
	set.max_message = 8 << 20;
	agent = agent_new(&set);
	raw_key = ak;
	EVP_PKEY_up_ref(raw_key);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(ak);
	EVP_PKEY_free(bk);
	X509_free(ca);
	X509_free(ac);
	X509_free(bc);
}

static void
make_message(size_t size, struct buf *out)
{
	buf_init(out, BUF_UNLIMITED);
	buf_append_str(out, "From: Alice <alice@a.test>\r\nTo: bob@b.test\r\n"
	    "Subject: bench\r\nMessage-ID: <bench@a.test>\r\n"
	    "Date: Sun, 22 Nov 2026 00:00:00 +0000\r\n\r\n");
	while (out->len + 78 < size)
		buf_append_str(out, "The quick brown fox jumps over the lazy "
		    "dog, again and again and again...\r\n");
	while (out->len < size - 2)
		buf_putc(out, 'x');
	buf_append_str(out, "\r\n");
}

/* ---- Operations ---- */

static int
op_raw_sign(void *arg)
{
	static const unsigned char md[32] = {1, 2, 3};
	unsigned char sig[512];
	size_t siglen = sizeof(sig);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(raw_key, NULL);
	int ok;

	(void)arg;
	ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
	    EVP_PKEY_sign(ctx, sig, &siglen, md, sizeof(md)) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : -1;
}

struct seal_arg {
	const struct buf *msg;
};

static int
op_seal(void *arg)
{
	const struct buf *msg = arg;
	struct agent_blob blob = {bob_der.data, bob_der.len};
	struct agent_seal_req req;
	struct buf out;
	struct err e;
	int rc;

	memset(&req, 0, sizeof(req));
	req.msg = msg->data;
	req.msg_len = msg->len;
	req.from = "alice@a.test";
	req.signer = signer;
	req.key_id = alice_id;
	req.rcpt_certs = &blob;
	req.n_rcpt_certs = 1;
	buf_init(&out, BUF_UNLIMITED);
	rc = agent_seal(agent, &req, &out, &e);
	if (rc != 0)
		fprintf(stderr, "seal: %s\n", e.msg);
	buf_release(&out);
	return rc;
}

static int
op_open(void *arg)
{
	const struct buf *sealed = arg;
	const char *ids[] = {bob_id};
	struct agent_open_req req;
	struct agent_open_result res;
	struct err e;
	int rc;

	memset(&req, 0, sizeof(req));
	req.msg = sealed->data;
	req.msg_len = sealed->len;
	req.rcpt = "bob@b.test";
	req.signer = signer;
	req.key_ids = ids;
	req.n_keys = 1;
	req.trust = trust;
	req.now = time(NULL);
	rc = agent_open(agent, &req, &res, &e);
	if (rc != 0 || res.reason != AGENT_OK) {
		fprintf(stderr, "open: %s %s\n", agent_reason_name(res.reason),
		    res.detail);
		rc = -1;
	}
	agent_open_result_release(&res);
	return rc;
}

/* ---- Timing ---- */

struct run {
	int (*op)(void *);
	void *arg;
	double until;
	atomic_long count;
	atomic_int failed;
};

static void *
worker(void *p)
{
	struct run *r = p;

	while (now_s() < r->until) {
		if (r->op(r->arg) != 0) {
			atomic_store(&r->failed, 1);
			break;
		}
		atomic_fetch_add(&r->count, 1);
	}
	return NULL;
}

static double
cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A figure: operations per wall-clock second, and per CPU second (what
 * one core does, whatever else runs on the machine). */
struct figure {
	double wall;
	double cpu;
};

/* Runs op on n threads for the configured time. */
static struct figure
rate(int (*op)(void *), void *arg, int n)
{
	struct run r;
	pthread_t th[256];
	double start, cstart;
	struct figure f;
	long count;

	r.op = op;
	r.arg = arg;
	atomic_init(&r.count, 0);
	atomic_init(&r.failed, 0);
	if (op(arg) != 0) /* warm up, and fail early */
		exit(1);
	start = now_s();
	cstart = cpu_s();
	r.until = start + seconds;
	for (int i = 0; i < n; i++)
		pthread_create(&th[i], NULL, worker, &r);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	if (atomic_load(&r.failed))
		exit(1);
	count = atomic_load(&r.count);
	f.wall = (double)count / (now_s() - start);
	f.cpu = (double)count / (cpu_s() - cstart);
	return f;
}

/* The ratio of two operations' rates per CPU second on one thread,
 * measured interleaved (short alternating slices) so that drifting load
 * and clock speed affect both alike. */
static double
paired_ratio(int (*a)(void *), void *aa, int (*b)(void *), void *ba,
    double *a_rate, double *b_rate)
{
	double ca = 0, cb = 0, slice = seconds / 20;
	long na = 0, nb = 0;

	for (int round = 0; round < 20; round++) {
		double until = now_s() + slice / 2, c0 = cpu_s();

		while (now_s() < until) {
			if (a(aa) != 0)
				exit(1);
			na++;
		}
		ca += cpu_s() - c0;
		until = now_s() + slice / 2;
		c0 = cpu_s();
		while (now_s() < until) {
			if (b(ba) != 0)
				exit(1);
			nb++;
		}
		cb += cpu_s() - c0;
	}
	*a_rate = (double)na / ca;
	*b_rate = (double)nb / cb;
	return *a_rate / *b_rate;
}

static void
row(const char *name, struct figure one, struct figure many, int prec)
{
	printf("%-30s %9.*f %9.*f %9.*f %9.*f %7.2fx\n", name, prec, one.cpu,
	    prec, one.wall, prec, many.cpu, prec, many.wall,
	    many.wall / one.wall);
}

int
main(int argc, char **argv)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int n = cores > 0 ? (int)cores : 1;
	struct buf m4k, m1m, s4k, s1m;
	struct figure raw, raw_n, raw2, seal4_1, seal4_n, seal1m_1, seal1m_n,
	    open4_1, open4_n, open1m_1, open1m_n;
	double base;
	struct agent_blob blob;
	struct agent_seal_req req;
	struct err e;

	if (argc > 1)
		seconds = atof(argv[1]);
	if (argc > 2)
		n = atoi(argv[2]);
	if (seconds <= 0 || n < 1 || n > 256) {
		fprintf(stderr, "usage: bench_smime [SECONDS] [THREADS]\n");
		return 2;
	}
	fixture();
	make_message(4096, &m4k);
	make_message(1 << 20, &m1m);
	buf_init(&s4k, BUF_UNLIMITED);
	buf_init(&s1m, BUF_UNLIMITED);
	blob.data = bob_der.data;
	blob.len = bob_der.len;
	memset(&req, 0, sizeof(req));
	req.from = "alice@a.test";
	req.signer = signer;
	req.key_id = alice_id;
	req.rcpt_certs = &blob;
	req.n_rcpt_certs = 1;
	req.msg = m4k.data;
	req.msg_len = m4k.len;
	if (agent_seal(agent, &req, &s4k, &e) != 0)
		return fprintf(stderr, "%s\n", e.msg), 1;
	req.msg = m1m.data;
	req.msg_len = m1m.len;
	if (agent_seal(agent, &req, &s1m, &e) != 0)
		return fprintf(stderr, "%s\n", e.msg), 1;

	printf("bench_smime: %.1f s per figure, %d thread(s) for the "
	    "parallel runs, %ld core(s)\n", seconds, n, cores);
	printf("%s; AES-128-CBC, RSA PKCS#1 v1.5 key transport, SHA-256 "
	    "RSA-2048 signer, one recipient\n", OpenSSL_version(OPENSSL_VERSION));
	printf("per-cpu-s: operations per CPU second (per core, robust to "
	    "other load);\nper-wall-s: per wall-clock second\n\n");
	if (argc > 3 && strcmp(argv[3], "seal4k") == 0) {
		/* For profiling: only the 4 KiB seal, on one thread. */
		printf("seal 4 KiB: %.0f per CPU second\n",
		    rate(op_seal, &m4k, 1).cpu);
		return 0;
	}
	raw = rate(op_raw_sign, NULL, 1);
	raw_n = rate(op_raw_sign, NULL, n);
	seal4_1 = rate(op_seal, &m4k, 1);
	seal4_n = rate(op_seal, &m4k, n);
	open4_1 = rate(op_open, &s4k, 1);
	open4_n = rate(op_open, &s4k, n);
	seal1m_1 = rate(op_seal, &m1m, 1);
	seal1m_n = rate(op_seal, &m1m, n);
	open1m_1 = rate(op_open, &s1m, 1);
	open1m_n = rate(op_open, &s1m, n);
	raw2 = rate(op_raw_sign, NULL, 1); /* again: load drifts */

	printf("%-30s %19s %19s %8s\n", "", "1 thread", "N threads", "wall");
	printf("%-30s %9s %9s %9s %9s %8s\n", "operation", "per-cpu-s",
	    "per-wall-s", "per-cpu-s", "per-wall-s", "scaling");
	row("baseline: raw RSA-2048 sign", raw, raw_n, 0);
	row("seal 4 KiB", seal4_1, seal4_n, 0);
	row("open 4 KiB", open4_1, open4_n, 0);
	row("seal 1 MiB", seal1m_1, seal1m_n, 1);
	row("open 1 MiB", open1m_1, open1m_n, 1);
	row("baseline again (drift check)", raw2, raw2, 0);
	printf("%-30s %9.1f MB per CPU second\n", "seal 1 MiB throughput",
	    seal1m_1.cpu * m1m.len / 1e6);
	base = (raw.cpu + raw2.cpu) / 2;
	{
		double ps, pr, ratio = paired_ratio(op_seal, &m4k, op_raw_sign,
		    NULL, &ps, &pr);

		printf("\nratio seal-4KiB / raw-sign per core, interleaved "
		    "(%.0f / %.0f per CPU s): %.2f (goal >= 0.80) %s\n", ps,
		    pr, ratio, ratio >= 0.8 ? "MET" : "NOT MET");
	}
	printf("ratio seal-4KiB / raw-sign per core, separate runs:  %.2f\n",
	    seal4_1.cpu / base);
	printf("ratio seal-4KiB / raw-sign per core at N=%d:     %.2f\n", n,
	    seal4_n.cpu / base);
	printf("ratio seal-4KiB / raw-sign, wall clock, 1 thread: %.2f\n",
	    seal4_1.wall / raw.wall);
	printf("scaling of seal-4KiB from 1 to %d threads (wall): %.2fx, "
	    "raw sign %.2fx (ideal %d.00x; only meaningful on an idle "
	    "machine)\n", n, seal4_n.wall / seal4_1.wall,
	    raw_n.wall / raw.wall, n);

	buf_release(&m4k);
	buf_release(&m1m);
	buf_release(&s4k);
	buf_release(&s1m);
	buf_release(&bob_der);
	agent_free(&agent);
	signer_free(&signer);
	validate_ctx_free(&trust);
	EVP_PKEY_free(raw_key);
	return 0;
}
