/* Health Directory: import rate and routing latency at size.
 *
 * Builds a synthetic directory (N providers, N/100 organizations, a
 * membership per provider, endpoints for 80% of providers (a quarter of them
 * with a second, fallback endpoint), one per organization, preferences for
 * 30%), imports it in one transaction, then routes random members.
 * Baseline: one primary-key lookup of the provider row through the same
 * store API (the floor of any directory lookup), measured in the same run.
 *
 * usage: bench_directory [PROVIDERS] (default 100000) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adt/directory.h"
#include "adt/directory_import.h"
#include "core/log.h"
#include "core/store.h"
#include "core/str.h"
#include "core/xmalloc.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The i-th synthetic NPI: 9 digits from 100000000 + i, Luhn check. */
static void
npi_of(unsigned long i, char out[11])
{
	int sum = 24;

	snprintf(out, 11, "%09lu", 100000000ul + i);
	for (int k = 8; k >= 0; k--) {
		int d = out[k] - '0';

		if ((8 - k) % 2 == 0) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	out[9] = (char)('0' + (10 - sum % 10) % 10);
	out[10] = '\0';
}

static void
set(struct directory_rows *r, size_t i, const char *col, const char *v)
{
	if (directory_rows_set(r, i, col, v, strlen(v)) != 0)
		abort();
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	unsigned long norg = n / 100 > 0 ? n / 100 : 1;
	unsigned long lookups = 100000;
	char path[] = "/tmp/bench_directory_XXXXXX";
	char db[64], npi[11], org[11], addr[64], name[32];
	struct directory_rows *rows = directory_rows_new();
	struct directory_report *rep = directory_report_new();
	struct store *s;
	struct err e;
	double t0, t_import, *lat, *base;
	size_t nrows, routed = 0;
	int fd;

	log_init("bench_directory", LOG_LEVEL_ERROR);
	fd = mkstemp(path);
	if (fd < 0)
		return 1;
	close(fd);
	unlink(path);
	str_fmt(db, sizeof(db), "%s.db", path);
	if (store_open(db, 0, &s, &e) != 0) {
		fprintf(stderr, "store: %s\n", e.msg);
		return 1;
	}
	srand(42);
	for (unsigned long o = 0; o < norg; o++) {
		size_t r = directory_rows_add(rows, DIRECTORY_ORGANIZATIONS,
		    "bench", o + 2, NULL);

		npi_of(n + o, org);
		str_fmt(name, sizeof(name), "Org %lu", o);
		set(rows, r, "npi", org);
		set(rows, r, "name", name);
		r = directory_rows_add(rows, DIRECTORY_ENDPOINTS, "bench",
		    o + 2, NULL);
		str_fmt(addr, sizeof(addr), "inbox@org%lu.b.test", o);
		set(rows, r, "owner_npi", org);
		set(rows, r, "kind", "direct");
		set(rows, r, "address", addr);
	}
	for (unsigned long i = 0; i < n; i++) {
		size_t r = directory_rows_add(rows, DIRECTORY_PROVIDERS,
		    "bench", i + 2, NULL);

		npi_of(i, npi);
		npi_of(n + i % norg, org);
		str_fmt(name, sizeof(name), "Name%lu", i);
		set(rows, r, "npi", npi);
		set(rows, r, "last_name", name);
		r = directory_rows_add(rows, DIRECTORY_MEMBERSHIPS, "bench",
		    i + 2, NULL);
		set(rows, r, "provider_npi", npi);
		set(rows, r, "organization_npi", org);
		if (i % 5 != 0) {
			r = directory_rows_add(rows, DIRECTORY_ENDPOINTS,
			    "bench", i + 2, NULL);
			str_fmt(addr, sizeof(addr), "dr%lu@b.test", i);
			set(rows, r, "owner_npi", npi);
			set(rows, r, "kind", i % 7 == 0 ? "mllp" : "direct");
			if (i % 7 == 0)
				str_fmt(addr, sizeof(addr), "10.0.%lu.%lu:2575",
				    (i / 250) % 250, i % 250);
			set(rows, r, "address", addr);
			set(rows, r, "rank", "1");
		}
		if (i % 4 == 1) {
			r = directory_rows_add(rows, DIRECTORY_ENDPOINTS,
			    "bench", i + 2, NULL);
			str_fmt(addr, sizeof(addr), "backup%lu@b.test", i);
			set(rows, r, "owner_npi", npi);
			set(rows, r, "kind", "direct");
			set(rows, r, "address", addr);
			set(rows, r, "rank", "2");
		}
		if (i % 10 < 3) {
			r = directory_rows_add(rows, DIRECTORY_PREFERENCES,
			    "bench", i + 2, NULL);
			set(rows, r, "owner_npi", npi);
			set(rows, r, "events", "A01,A03,A04");
			set(rows, r, "classes", i % 2 ? "EI" : "*");
			set(rows, r, "format", i % 7 == 0 ? "hl7" :
			    "hl7+text");
		}
	}
	nrows = directory_rows_count(rows);
	t0 = now_s();
	if (directory_import_apply(s, rows, 0, rep, &e) != 0 ||
	    rep->total != 0) {
		fprintf(stderr, "import: %s %s\n", e.msg, rep->nproblems ?
		    rep->problems[0].message : "");
		return 1;
	}
	t_import = now_s() - t0;
	printf("directory import: %zu rows (%lu providers) in %.2f s: "
	    "%.0f rows/s (one transaction)\n", nrows, n, t_import,
	    nrows / t_import);

	lat = xcalloc(lookups, sizeof(*lat));
	base = xcalloc(lookups, sizeof(*base));
	for (unsigned long k = 0; k < lookups; k++) {
		struct directory_route r;
		static const char *const ev[] = {"A01", "A03", "A08"};
		double t;
		int64_t v;

		npi_of((unsigned long)rand() % n, npi);
		t = now_s();
		if (store_query_int(s, &v, &e, "SELECT active FROM "
		    "dir_provider WHERE npi = ?", "s", npi) != 1)
			return 1;
		base[k] = now_s() - t;
		t = now_s();
		if (directory_route(s, npi, ev[k % 3], "EIO"[k % 3], &r,
		    &e) != 0) {
			fprintf(stderr, "route: %s\n", e.msg);
			return 1;
		}
		lat[k] = now_s() - t;
		routed += r.status == DIRECTORY_ROUTED;
	}
	qsort(lat, lookups, sizeof(*lat), cmp_double);
	qsort(base, lookups, sizeof(*base), cmp_double);
	printf("directory_route: %lu lookups, %zu routed; p50 %.1f us, "
	    "p99 %.1f us\n", lookups, routed, lat[lookups / 2] * 1e6,
	    lat[lookups * 99 / 100] * 1e6);
	printf("baseline (provider primary-key SELECT): p50 %.1f us, p99 "
	    "%.1f us; route/baseline p50 ratio %.1f\n",
	    base[lookups / 2] * 1e6, base[lookups * 99 / 100] * 1e6,
	    lat[lookups / 2] / base[lookups / 2]);
	free(lat);
	free(base);
	directory_rows_free(&rows);
	directory_report_free(&rep);
	store_free(&s);
	unlink(db);
	str_fmt(db, sizeof(db), "%s.db-wal", path);
	unlink(db);
	str_fmt(db, sizeof(db), "%s.db-shm", path);
	unlink(db);
	return 0;
}
