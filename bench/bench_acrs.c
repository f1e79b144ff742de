/* ACRS: import rows per second for a large roster (default 10 million
 * relationships; goal >= 200,000 rows/s) and patient lookup latency p50/p99
 * at that size (goal p99 < 1 ms). Baselines measured in the same run: the
 * CSV reader and validator alone (acrs validate: what the import costs
 * without the store), and one indexed SELECT per lookup.
 *
 *   bench_acrs [--rows N] [--lookups K] [--dir DIR] [--keep]
 *
 * The CSV is generated here (synthetic, about 2.5 relationships per
 * patient, one submitter) under DIR (default a temp directory). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adt/acrs_config.h"
#include "adt/acrs_import.h"
#include "adt/acrs_match.h"
#include "adt/acrs_norm.h"
#include "adt/acrs_store.h"
#include "core/log.h"
#include "core/store.h"
#include "core/str.h"
#include "core/xmalloc.h"

#define TODAY 20261122

static uint64_t rng_s = 88172645463325252ULL;

static uint64_t
rnd(void)
{
	rng_s ^= rng_s << 13;
	rng_s ^= rng_s >> 7;
	rng_s ^= rng_s << 17;
	return rng_s;
}

static unsigned
below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const syl[] = {"an", "ber", "cal", "dor", "el", "fin",
    "gar", "hol", "is", "jen", "kar", "lin", "mor", "nor", "ol", "per",
    "quin", "ros", "sten", "tor", "ul", "van", "wes", "yor", "zel", "ma",
    "ri", "so", "te", "lu"};
#define NSYL (sizeof(syl) / sizeof(syl[0]))

/* A made-up name of 2-3 syllables from a seed (the same seed, the same
 * name). */
static void
name_of(uint64_t seed, char *dst, size_t size)
{
	unsigned n = 2 + (unsigned)(seed % 2);
	size_t o = 0;

	for (unsigned i = 0; i < n; i++) {
		const char *s = syl[(seed >> (4 + 5 * i)) % NSYL];

		for (; *s && o + 1 < size; s++)
			dst[o++] = *s;
	}
	dst[0] = (char)(dst[0] - 'a' + 'A');
	dst[o] = '\0';
}

struct pat {
	uint64_t seed;
	int32_t dob;
	unsigned zip, phone;
	char sex;
};

static void
pat_make(uint64_t i, struct pat *p)
{
	uint64_t z = (i + 1) * 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 31)) * 0xbf58476d1ce4e5b9ULL;
	p->seed = z ^ (z >> 29);
	p->dob = acrs_norm_from_days(acrs_norm_days(TODAY) - 365 -
	    (int64_t)(p->seed % 32000));
	p->zip = 48000 + (unsigned)(p->seed >> 20) % 2000;
	p->phone = (unsigned)(p->seed >> 32) % 10000000;
	p->sex = (p->seed >> 40) & 1 ? 'F' : 'M';
}

static char npis[1000][11];

static void
make_npis(void)
{
	for (int i = 0; i < 1000; i++) {
		char nine[10];

		str_fmt(nine, sizeof(nine), "1%08d", 1000000 + i * 37);
		memcpy(npis[i], nine, 9);
		npis[i][9] = (char)('0' + acrs_norm_npi_check(nine));
		npis[i][10] = '\0';
	}
}

/* Writes about rows relationships; returns the number of patients. */
static uint64_t
write_csv(const char *path, uint64_t rows)
{
	static const char *const rels[] = {"pcp", "specialist", "payer",
	    "care_manager"};
	FILE *f = fopen(path, "w");
	uint64_t written = 0, p = 0;
	static char buf[1 << 20];

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	setvbuf(f, buf, _IOFBF, sizeof(buf));
	fputs("patient_id,patient_id_type,assigning_authority,last_name,"
	    "first_name,dob,sex,address1,city,state,zip,phone,provider_npi,"
	    "relationship,organization,last_seen,consent\n", f);
	while (written < rows) {
		struct pat pt;
		char last[32], first[32], street[32];
		unsigned k = 1 + below(4);

		pat_make(p, &pt);
		name_of(pt.seed, last, sizeof(last));
		name_of(pt.seed >> 17, first, sizeof(first));
		name_of(pt.seed >> 23, street, sizeof(street));
		for (unsigned j = 0; j < k && written < rows; j++, written++)
			fprintf(f, "P%09llu,MR,BENCH,%s,%s,%04d-%02d-%02d,%c,"
			    "%u %s Street,Lansing,MI,%05u,517%07u,%s,%s,"
			    "Bench Clinic,2026-0%d-15,standard\n",
			    (unsigned long long)p, last, first,
			    (int)(pt.dob / 10000), (int)(pt.dob / 100 % 100),
			    (int)(pt.dob % 100), pt.sex,
			    1 + (unsigned)(pt.seed % 9000), street, pt.zip,
			    pt.phone, npis[(pt.seed >> (8 * j)) % 1000],
			    rels[j], 1 + (int)j);
		p++;
	}
	if (fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	return p;
}

static double
cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
loadavg(void)
{
	double l[1] = {0.0};

	return getloadavg(l, 1) == 1 ? l[0] : 0.0;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
pct(double *v, size_t n, double *p50, double *p99)
{
	qsort(v, n, sizeof(*v), cmp_d);
	*p50 = v[n / 2] * 1e3;
	*p99 = v[(size_t)((double)n * 0.99)] * 1e3;
}

int
main(int argc, char **argv)
{
	uint64_t rows = 10000000, lookups = 20000, pats;
	const char *dir = NULL;
	bool keep = false;
	char tmpl[] = "/tmp/bench_acrs.XXXXXX", csv[512], db[512];
	struct acrs_import_file_opts o;
	struct acrs_import_result res;
	struct acrs_settings set;
	struct acrs_matcher *m;
	struct store *s;
	struct err e;
	double t0, t_ckpt, t_val, c_val, t_imp, *lat, *lat_id, *lat_base, *lat_cpu;
	double p50, p99, i50, i99, b50, b99, c50, c99;
	int64_t v;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc &&
		    str_to_i64(argv[++i], 1000, INT64_MAX, &v) == 0)
			rows = (uint64_t)v;
		else if (strcmp(argv[i], "--lookups") == 0 && i + 1 < argc &&
		    str_to_i64(argv[++i], 100, 100000000, &v) == 0)
			lookups = (uint64_t)v;
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--keep") == 0)
			keep = true;
		else {
			fprintf(stderr, "usage: bench_acrs [--rows N] "
			    "[--lookups K] [--dir DIR] [--keep]\n");
			return 2;
		}
	}
	log_init("bench_acrs", LOG_LEVEL_WARN);
	if (dir == NULL && (dir = mkdtemp(tmpl)) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	str_fmt(csv, sizeof(csv), "%s/acrs.csv", dir);
	str_fmt(db, sizeof(db), "%s/acrs.db", dir);
	unlink(db);
	make_npis();
	t0 = now_s();
	pats = write_csv(csv, rows);
	printf("generated %llu relationships of %llu patients in %.1f s\n",
	    (unsigned long long)rows, (unsigned long long)pats, now_s() - t0);

	/* Baseline: read and validate only. */
	memset(&o, 0, sizeof(o));
	o.today = TODAY;
	if (acrs_import_file(NULL, csv, &o, &res, &e) == -1) {
		fprintf(stderr, "validate: %s\n", e.msg);
		return 1;
	}
	t_val = res.seconds;
	c_val = res.cpu_read;
	if (res.file.bad != 0) {
		fprintf(stderr, "validate: %llu bad rows\n",
		    (unsigned long long)res.file.bad);
		return 1;
	}
	if (store_open(db, 0, &s, &e) == -1) {
		fprintf(stderr, "store: %s\n", e.msg);
		return 1;
	}
	acrs_config_defaults(&set);
	log_set_level(LOG_LEVEL_DEBUG); /* the import's phase lines */
	o.submitter = "BENCH";
	o.cache_bytes = set.import_cache;
	if (acrs_import_file(s, csv, &o, &res, &e) == -1 || !res.committed) {
		fprintf(stderr, "import: %s\n", e.msg);
		return 1;
	}
	t_imp = res.seconds;
	log_set_level(LOG_LEVEL_WARN);
	/* The import returns once its transaction is durable in the WAL;
	 * copying the WAL into the database file is the checkpointer's work
	 * afterwards (a server's background thread): timed apart. */
	t_ckpt = now_s();
	if (store_exec(s, "PRAGMA wal_checkpoint(TRUNCATE)", &e) == -1) {
		fprintf(stderr, "checkpoint: %s\n", e.msg);
		return 1;
	}
	t_ckpt = now_s() - t_ckpt;
	printf("validate only (baseline): %.1f s wall, %.0f rows/s; %.1f "
	    "CPU-s\n", t_val, (double)rows / t_val, c_val);
	printf("import: %llu rows in %.1f s: %.0f rows/s (goal >= 200000), "
	    "%.2f of the validate-only rate\n", (unsigned long long)rows,
	    t_imp, (double)rows / t_imp, t_val / t_imp);
	printf("checkpoint of the import's WAL afterwards (background work "
	    "in a server): %.1f s; import plus checkpoint %.0f rows/s\n",
	    t_ckpt, (double)rows / (t_imp + t_ckpt));
	printf("import CPU: reader %.1f s, writer %.1f s: %.0f rows per "
	    "CPU-second of the busier thread (the rate with two idle "
	    "cores); load average now %.1f\n", res.cpu_read, res.cpu_write,
	    (double)rows / (res.cpu_read > res.cpu_write ? res.cpu_read :
	    res.cpu_write), loadavg());

	/* Lookups: demographics (with a typo in the first name, so that
	 * scoring does real work), identifiers, and the baseline query. */
	m = acrs_matcher_new(s, &set);
	lat = xcalloc(lookups, sizeof(*lat));
	lat_id = xcalloc(lookups, sizeof(*lat_id));
	lat_base = xcalloc(lookups, sizeof(*lat_base));
	lat_cpu = xcalloc(lookups, sizeof(*lat_cpu));
	for (uint64_t i = 0; i < lookups; i++) {
		uint64_t pi = rnd() % pats;
		struct pat pt;
		struct acrs_person p;
		struct acrs_match_result r;
		int64_t one;
		double t, tc;

		pat_make(pi, &pt);
		memset(&p, 0, sizeof(p));
		name_of(pt.seed, p.last, sizeof(p.last));
		name_of(pt.seed >> 17, p.first, sizeof(p.first));
		if (i % 2 == 0)
			p.first[2] = 'x';
		str_fmt(p.dob, sizeof(p.dob), "%08d", (int)pt.dob);
		p.sex[0] = pt.sex;
		str_fmt(p.zip, sizeof(p.zip), "%05u", pt.zip);
		str_fmt(p.phone, sizeof(p.phone), "517%07u", pt.phone);
		t = now_s();
		tc = cpu_s();
		if (acrs_match(m, &p, TODAY, NULL, &r, &e) == -1) {
			fprintf(stderr, "match: %s\n", e.msg);
			return 1;
		}
		lat[i] = now_s() - t;
		lat_cpu[i] = cpu_s() - tc;
		acrs_match_result_clear(&r);
		memset(&p, 0, sizeof(p));
		str_fmt(p.ids[0].id, sizeof(p.ids[0].id), "P%09llu",
		    (unsigned long long)pi);
		str_lcpy(p.ids[0].authority, "BENCH", sizeof(p.ids[0].authority));
		p.n_ids = 1;
		t = now_s();
		if (acrs_match(m, &p, TODAY, NULL, &r, &e) == -1 ||
		    r.decision != ACRS_MATCH) {
			fprintf(stderr, "identifier match failed\n");
			return 1;
		}
		lat_id[i] = now_s() - t;
		acrs_match_result_clear(&r);
		t = now_s();
		if (store_query_int(s, &one, &e, "SELECT count(*) FROM "
		    "acrs_patient WHERE dob = ?", "i", pt.dob) != 1) {
			fprintf(stderr, "query: %s\n", e.msg);
			return 1;
		}
		lat_base[i] = now_s() - t;
	}
	pct(lat, lookups, &p50, &p99);
	pct(lat_id, lookups, &i50, &i99);
	pct(lat_base, lookups, &b50, &b99);
	pct(lat_cpu, lookups, &c50, &c99);
	printf("lookup by demographics at %llu relationships: p50 %.3f ms, "
	    "p99 %.3f ms (goal p99 < 1 ms)\n", (unsigned long long)rows, p50,
	    p99);
	printf("lookup by demographics, CPU time: p50 %.3f ms, p99 %.3f ms "
	    "(without the waits of a busy machine)\n", c50, c99);
	printf("lookup by identifier: p50 %.3f ms, p99 %.3f ms\n", i50, i99);
	printf("baseline, one indexed SELECT of the DOB block: p50 %.3f ms, "
	    "p99 %.3f ms (demographic lookup p99 = %.1fx)\n", b50, b99,
	    b99 > 0 ? p99 / b99 : 0.0);
	acrs_matcher_free(&m);
	store_free(&s);
	free(lat);
	free(lat_id);
	free(lat_base);
	free(lat_cpu);
	if (!keep) {
		char wal[600], shm[600];

		str_fmt(wal, sizeof(wal), "%s-wal", db);
		str_fmt(shm, sizeof(shm), "%s-shm", db);
		unlink(csv);
		unlink(db);
		unlink(wal);
		unlink(shm);
		if (dir == tmpl)
			rmdir(dir);
	}
	return 0;
}
