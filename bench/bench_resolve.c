/* bench_resolve: the resolver's cache against the network.
 *
 *   bench_resolve [--server IP:PORT] [--names N] [--cached M]
 *
 * Without --server it starts its own Knot DNS (knotd) on a free loopback
 * port serving N names with a CERT PKIX record of about 1 KiB each (the
 * size of a 2048-bit certificate). It then measures:
 *   - cold lookups one at a time (latency p50/p99, lookups per second),
 *   - cold lookups with 64 in flight (lookups per second),
 *   - cached lookups (lookups per second; goal >= 1,000,000),
 * and prints the ratio cached / cold (sequential), the baseline. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "certs/dns.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/str.h"
#include "core/xmalloc.h"

#define WINDOW 64

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		return -1;
	getsockname(fd, (struct sockaddr *)&a, &al);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* Starts knotd serving bench.test with n CERT names; returns its pid. */
static pid_t
start_knot(const char *dir, int port, int n)
{
	struct buf z, c;
	char path[512], b64[1400];
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	pid_t pid;

	/* 1020 bytes of pseudo-certificate, base64 */
	for (int i = 0; i < 1360; i++)
		b64[i] = tbl[(i * 7 + 3) % 64];
	b64[1360] = '\0';
	buf_init(&z, BUF_UNLIMITED);
	buf_printf(&z, "$ORIGIN bench.test.\n$TTL 3600\n"
	    "@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\n"
	    "ns A 127.0.0.1\n");
	for (int i = 0; i < n; i++)
		buf_printf(&z, "n%d CERT PKIX 0 0 %s\n", i, b64);
	str_fmt(path, sizeof(path), "%s/bench.test.zone", dir);
	if (write_file(path, buf_cstr(&z)) != 0)
		return -1;
	buf_init(&c, BUF_UNLIMITED);
	buf_printf(&c, "server:\n    listen: 127.0.0.1@%d\n    rundir: %s\n"
	    "    user: root\ndatabase:\n    storage: %s\n"
	    "log:\n  - target: %s/knot.log\n    any: warning\n"
	    "zone:\n  - domain: bench.test\n    file: %s\n"
	    "    journal-content: none\n    zonefile-sync: -1\n",
	    port, dir, dir, dir, path);
	str_fmt(path, sizeof(path), "%s/knot.conf", dir);
	if (write_file(path, buf_cstr(&c)) != 0)
		return -1;
	buf_release(&z);
	buf_release(&c);
	if ((pid = fork()) == 0) {
		int null = open("/dev/null", 0);

		dup2(null, 1);
		dup2(null, 2);
		execlp("knotd", "knotd", "-c", path, (char *)NULL);
		_exit(127);
	}
	return pid;
}

struct bench {
	struct loop *l;
	struct dns *d;
	uint64_t done;
	uint64_t ok;
	enum dns_status last;
};

static void
on_answer(void *arg, struct dns_answer *a)
{
	struct bench *b = arg;

	b->done++;
	b->last = a->status;
	if (a->status == DNS_OK)
		b->ok++;
}

static void
wait_for(struct bench *b, uint64_t want)
{
	while (b->done < want)
		uv_run(loop_uv(b->l), UV_RUN_ONCE);
}

static int
cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, c = *(const uint64_t *)y;

	return a < c ? -1 : a > c;
}

int
main(int argc, char **argv)
{
	const char *server = NULL;
	char servers[64], dir[] = "/tmp/bench_resolve.XXXXXX";
	int names = 1000;
	uint64_t cached = 5000000, *lat, t0, t1;
	pid_t knot = -1;
	struct dns_settings s;
	struct bench b;
	struct err e;
	char **name;
	double seq_rate, par_rate, hit_rate;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--server") == 0 && i + 1 < argc)
			server = argv[++i];
		else if (strcmp(argv[i], "--names") == 0 && i + 1 < argc)
			str_to_int(argv[++i], 1, 1000000, &names);
		else if (strcmp(argv[i], "--cached") == 0 && i + 1 < argc)
			str_to_u64(argv[++i], 1, UINT64_MAX, &cached);
		else {
			fprintf(stderr, "usage: bench_resolve [--server IP:PORT]"
			    " [--names N] [--cached M]\n");
			return 2;
		}
	}
	log_init("bench_resolve", LOG_LEVEL_WARN);
	if (server == NULL) {
		int port = free_port();

		if (mkdtemp(dir) == NULL || port < 0 ||
		    (knot = start_knot(dir, port, names)) < 0) {
			fprintf(stderr, "bench_resolve: cannot start knotd\n");
			return 1;
		}
		str_fmt(servers, sizeof(servers), "127.0.0.1:%d", port);
		server = servers;
	}
	memset(&b, 0, sizeof(b));
	dns_settings_default(&s);
	s.servers = server;
	s.timeout_ms = 500;
	s.tries = 3;
	s.cache_max = (size_t)names * 2;
	if (loop_new(&b.l, &e) != 0 || dns_new(b.l, &s, &b.d, &e) != 0) {
		fprintf(stderr, "bench_resolve: %s\n", e.msg);
		return 1;
	}
	name = xcalloc((size_t)names, sizeof(*name));
	for (int i = 0; i < names; i++)
		name[i] = xasprintf("n%d.bench.test", i);

	/* Wait until the server answers (knotd loading the zone). */
	for (int tries = 0; tries < 100; tries++) {
		uint64_t want = b.done + 1;

		dns_resolve(b.d, "ns.bench.test", DNS_T_A, on_answer, &b, &e);
		wait_for(&b, want);
		if (b.last == DNS_OK)
			break;
		dns_cache_flush(b.d);
		usleep(100000);
	}
	if (b.last != DNS_OK) {
		fprintf(stderr, "bench_resolve: server %s does not answer\n",
		    server);
		return 1;
	}

	/* Cold, one at a time. */
	lat = xcalloc((size_t)names, sizeof(*lat));
	b.done = b.ok = 0;
	t0 = now_ns();
	for (int i = 0; i < names; i++) {
		uint64_t s0 = now_ns();

		dns_resolve(b.d, name[i], DNS_T_CERT, on_answer, &b, &e);
		wait_for(&b, (uint64_t)i + 1);
		lat[i] = now_ns() - s0;
	}
	t1 = now_ns();
	seq_rate = names / ((double)(t1 - t0) / 1e9);
	qsort(lat, (size_t)names, sizeof(*lat), cmp_u64);
	printf("cold lookups, sequential: %d names, %llu answered, "
	    "%.0f lookups/s, latency p50 %.1f us, p99 %.1f us, max %.1f us\n",
	    names, (unsigned long long)b.ok, seq_rate,
	    lat[names / 2] / 1e3, lat[names * 99 / 100] / 1e3,
	    lat[names - 1] / 1e3);

	/* Cold, a window of lookups in flight. */
	dns_cache_flush(b.d);
	b.done = b.ok = 0;
	t0 = now_ns();
	for (int i = 0; i < names; i++) {
		if ((uint64_t)i >= b.done + WINDOW)
			wait_for(&b, (uint64_t)i - WINDOW + 1);
		dns_resolve(b.d, name[i], DNS_T_CERT, on_answer, &b, &e);
	}
	wait_for(&b, (uint64_t)names);
	t1 = now_ns();
	par_rate = names / ((double)(t1 - t0) / 1e9);
	printf("cold lookups, %d in flight: %llu of %d answered, "
	    "%.0f lookups/s\n", WINDOW, (unsigned long long)b.ok, names,
	    par_rate);
	if (b.ok != (uint64_t)names)
		printf("warning: some cold lookups failed; the cached figure "
		    "includes misses\n");

	/* Cached. */
	b.done = b.ok = 0;
	t0 = now_ns();
	for (uint64_t i = 0; i < cached; i++)
		dns_resolve(b.d, name[i % (uint64_t)names], DNS_T_CERT,
		    on_answer, &b, &e);
	t1 = now_ns();
	hit_rate = cached / ((double)(t1 - t0) / 1e9);
	printf("cached lookups: %llu, %llu answered from the cache, "
	    "%.0f lookups/s (goal 1000000: %s)\n",
	    (unsigned long long)cached, (unsigned long long)b.ok, hit_rate,
	    hit_rate >= 1e6 ? "met" : "NOT met");
	printf("ratio cached / cold sequential (baseline): %.0fx\n",
	    hit_rate / seq_rate);

	for (int i = 0; i < names; i++)
		free(name[i]);
	free(name);
	free(lat);
	dns_free(&b.d);
	loop_stop(b.l);
	loop_run(b.l);
	loop_free(&b.l);
	if (knot > 0) {
		char cmd[600];

		kill(knot, SIGTERM);
		waitpid(knot, NULL, 0);
		str_fmt(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench_resolve: could not remove %s\n",
			    dir);
	}
	return 0;
}
