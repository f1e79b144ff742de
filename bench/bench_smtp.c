/* The HISP transport under load, against named baselines measured in the
 * same run (issue 5, bench/smtp):
 *
 * 1. Intake: plaintext SMTP of 4 KiB messages from 20 concurrent sessions
 *    into `directgate serve` (port 25, durable queue) and into a private
 *    Postfix delivering to discard:, both driven by the same client,
 *    Postfix's `smtp-source -s 20 -l 4096 -m N`. Prints both rates and
 *    the ratio directgate/Postfix (goal: at least 1).
 * 2. Inbound Direct: messages sealed for bob@b.test injected into B's
 *    port 25 by 20 sessions; the rate is counted until every message is
 *    in bob's Maildir (queued, decrypted, verified, trusted, delivered).
 *    Baseline: raw RSA-2048 private-key operations per second
 *    (EVP_PKEY_sign, one thread, same run); prints the ratio, and the
 *    receiving daemon's CPU time per message (user+system from
 *    /proc/PID/stat): well under one core busy means the path waits
 *    (Maildir and store fsyncs), not computes.
 * 3. Memory: the daemon's VmRSS before and after 1,000 idle connections
 *    (each has had its 220 greeting).
 *
 * The environment (instances, Postfix, Knot, the sealed message) comes
 * from bench/bench_smtp_env.py, started here and stopped at the end.
 *
 * usage: bench_smtp [DIRECTGATE] [--messages N] [--rounds R]
 *                   [--direct N] [--idle N]
 * DIRECTGATE defaults to $DIRECTGATE, then ../directgate next to this
 * program. $DG_BENCH_WORKERS sets [core] workers of the measured daemons.
 * Exit 77 when a peer (Postfix, Knot) is missing. */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "core/str.h"

extern char **environ;

#define SESSIONS 20

struct env {
	pid_t pid;
	FILE *in, *out;
	int postfix_port, intake_port, direct_port;
	long intake_pid, direct_pid;
	char maildir[4096];
	char message[4096];
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "bench_smtp: %s\n", what);
	exit(1);
}

static int
num(const char *s)
{
	int v;

	if (str_to_int(s, 0, 100000000, &v) != 0)
		die("not a number");
	return v;
}

/* ---- the environment script ---- */

static void
env_start(struct env *v, const char *directgate)
{
	char script[4096], line[8192];
	const char *src = getenv("DG_SOURCE_DIR");
	int to[2], from[2];
	posix_spawn_file_actions_t fa;
	char python[] = "/usr/bin/python3", dgarg[4096];
	char *argv[4];

	if (src != NULL)
		str_fmt(script, sizeof(script), "%s/bench/bench_smtp_env.py", src);
	else {
		/* This file's directory, from the build. */
		const char *f = __FILE__, *slash = strrchr(f, '/');

		str_fmt(script, sizeof(script), "%.*s/bench_smtp_env.py",
		    slash != NULL ? (int)(slash - f) : 1, slash != NULL ? f : ".");
	}
	if (pipe(to) != 0 || pipe(from) != 0)
		die("pipe");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, to[0], 0);
	posix_spawn_file_actions_adddup2(&fa, from[1], 1);
	posix_spawn_file_actions_addclose(&fa, to[1]);
	posix_spawn_file_actions_addclose(&fa, from[0]);
	str_lcpy(dgarg, directgate, sizeof(dgarg));
	argv[0] = python;
	argv[1] = script;
	argv[2] = dgarg;
	argv[3] = NULL;
	if (posix_spawn(&v->pid, argv[0], &fa, NULL, argv, environ) != 0)
		die("cannot start python3");
	posix_spawn_file_actions_destroy(&fa);
	close(to[0]);
	close(from[1]);
	v->in = fdopen(to[1], "w");
	v->out = fdopen(from[0], "r");
	while (fgets(line, sizeof(line), v->out) != NULL) {
		char *eq, *val;

		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, "ready") == 0)
			return;
		if ((eq = strchr(line, '=')) == NULL)
			continue;
		*eq = '\0';
		val = eq + 1;
		if (strcmp(line, "skip") == 0) {
			printf("bench_smtp: skipped: %s\n", val);
			exit(77);
		} else if (strcmp(line, "postfix_port") == 0)
			v->postfix_port = num(val);
		else if (strcmp(line, "intake_port") == 0)
			v->intake_port = num(val);
		else if (strcmp(line, "direct_port") == 0)
			v->direct_port = num(val);
		else if (strcmp(line, "intake_pid") == 0)
			v->intake_pid = num(val);
		else if (strcmp(line, "direct_pid") == 0)
			v->direct_pid = num(val);
		else if (strcmp(line, "direct_maildir") == 0)
			str_lcpy(v->maildir, val, sizeof(v->maildir));
		else if (strcmp(line, "direct_message") == 0)
			str_lcpy(v->message, val, sizeof(v->message));
	}
	die("the environment script ended before ready");
}

static void
env_stop(struct env *v)
{
	char line[1024];
	int st;

	fputs("stop\n", v->in);
	fflush(v->in);
	while (fgets(line, sizeof(line), v->out) != NULL)
		if (strstr(line, "_exit=") != NULL)
			printf("  daemon %s", line);
	fclose(v->in);
	fclose(v->out);
	waitpid(v->pid, &st, 0);
}

/* ---- 1. intake, smtp-source against both ---- */

static double
smtp_source(int port, int messages)
{
	static const char *const fixed[] = {"smtp-source", "-s", "20", "-l",
	    "4096", "-f", "bench@sender.test", "-t", "u@bench.test", "-m"};
	char args[13][64];
	char *argv[13];
	size_t n = 0;
	pid_t pid;
	int st;
	double t0;

	for (; n < sizeof(fixed) / sizeof(fixed[0]); n++)
		str_lcpy(args[n], fixed[n], sizeof(args[n]));
	str_fmt(args[n++], sizeof(args[0]), "%d", messages);
	str_fmt(args[n++], sizeof(args[0]), "127.0.0.1:%d", port);
	for (size_t i = 0; i < n; i++)
		argv[i] = args[i];
	argv[n] = NULL;
	t0 = now_s();
	if (posix_spawnp(&pid, "smtp-source", NULL, NULL, argv, environ) != 0)
		die("cannot run smtp-source");
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("smtp-source failed");
	return (double)messages / (now_s() - t0);
}

/* ---- 2. inbound Direct ---- */

struct direct_run {
	int port;
	const char *msg;      /* dot-stuffed, ends with CRLF.CRLF */
	size_t len;
	atomic_int left;
	atomic_int failed;
};

static int
sock_connect(int port)
{
	struct sockaddr_in sa = {0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Reads one whole reply (multi-line too); returns its code, -1 on error. */
static int
read_reply(int fd)
{
	char buf[4096];
	size_t n = 0;

	for (;;) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
		char *line, *end;

		if (r <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = '\0';
		/* The last complete line decides. */
		line = buf;
		while ((end = strstr(line, "\r\n")) != NULL) {
			if (end - line >= 4 && line[3] == ' ')
				return (line[0] - '0') * 100 +
				    (line[1] - '0') * 10 + (line[2] - '0');
			line = end + 2;
		}
		if (n >= sizeof(buf) - 1) {
			memmove(buf, line, n - (size_t)(line - buf));
			n -= (size_t)(line - buf);
		}
	}
}

static int
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
command(int fd, const char *line)
{
	if (write_all(fd, line, strlen(line)) != 0)
		return -1;
	return read_reply(fd);
}

static void *
direct_session(void *arg)
{
	struct direct_run *d = arg;
	int fd = sock_connect(d->port), n;
	char hdr[128];
	size_t hl;

	if (fd < 0 || read_reply(fd) != 220 ||
	    command(fd, "EHLO bench.a.test\r\n") != 250) {
		atomic_fetch_add(&d->failed, 1);
		goto out;
	}
	while ((n = atomic_fetch_sub(&d->left, 1)) > 0) {
		/* The receiver delivers a Message-ID once per recipient: each
		 * copy gets an outer Message-ID of its own (the outer header
		 * is not signed; the first Message-ID field counts). */
		hl = (size_t)snprintf(hdr, sizeof(hdr),
		    "Message-ID: <bench.%d.%ld@a.test>\r\n", n,
		    (long)pthread_self() & 0xffff);
		if (command(fd, "MAIL FROM:<alice@a.test>\r\n") != 250 ||
		    command(fd, "RCPT TO:<bob@b.test>\r\n") != 250 ||
		    command(fd, "DATA\r\n") != 354 ||
		    write_all(fd, hdr, hl) != 0 ||
		    write_all(fd, d->msg, d->len) != 0 ||
		    read_reply(fd) != 250) {
			atomic_fetch_add(&d->failed, 1);
			break;
		}
	}
	command(fd, "QUIT\r\n");
out:
	if (fd >= 0)
		close(fd);
	return NULL;
}

static long
count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	long n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static char *
load_message(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	char *raw, *out;
	long n;
	size_t o = 0;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0)
		die("cannot read the sealed message");
	rewind(f);
	raw = malloc((size_t)n + 1);
	out = malloc((size_t)n * 2 + 8);
	if (raw == NULL || out == NULL ||
	    fread(raw, 1, (size_t)n, f) != (size_t)n)
		die("cannot read the sealed message");
	fclose(f);
	for (long i = 0; i < n; i++) {
		bool bol = i == 0 || raw[i - 1] == '\n';

		if (bol && raw[i] == '.')
			out[o++] = '.';
		if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = raw[i];
	}
	if (o < 2 || out[o - 1] != '\n')
		out[o++] = '\r', out[o++] = '\n';
	memcpy(out + o, ".\r\n", 3);
	*len_r = o + 3;
	free(raw);
	return out;
}

/* User plus system CPU seconds of a process so far. */
static double
cpu_s(long pid)
{
	char path[64], buf[2048], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	size_t n;

	str_fmt(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After "(comm)": state is field 3, utime 14, stime 15. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double
direct_inbound(const struct env *v, int messages, double *intake_r,
    double *cpu_r)
{
	struct direct_run d;
	pthread_t th[SESSIONS];
	long before = count_files(v->maildir), have;
	double t0, deadline;
	char *msg = load_message(v->message, &d.len);

	d.port = v->direct_port;
	d.msg = msg;
	atomic_init(&d.left, messages);
	atomic_init(&d.failed, 0);
	*cpu_r = cpu_s(v->direct_pid);
	t0 = now_s();
	for (int i = 0; i < SESSIONS; i++)
		pthread_create(&th[i], NULL, direct_session, &d);
	for (int i = 0; i < SESSIONS; i++)
		pthread_join(th[i], NULL);
	*intake_r = messages / (now_s() - t0);
	if (atomic_load(&d.failed) > 0)
		die("a Direct session failed");
	deadline = now_s() + 600;
	while ((have = count_files(v->maildir) - before) < messages) {
		if (now_s() > deadline)
			die("the Direct messages did not all arrive");
		usleep(5000);
	}
	free(msg);
	t0 = now_s() - t0;
	*cpu_r = cpu_s(v->direct_pid) - *cpu_r;
	return messages / t0;
}

/* The baseline: RSA-2048 private-key operations per second, one thread. */
static double
rsa_private_rate(void)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);
	EVP_PKEY_CTX *c;
	unsigned char md[32], sig[256];
	size_t siglen;
	long n = 0;
	double t0;

	if (k == NULL || (c = EVP_PKEY_CTX_new(k, NULL)) == NULL ||
	    EVP_PKEY_sign_init(c) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) <= 0)
		die("RSA setup");
	memset(md, 0x5a, sizeof(md));
	t0 = now_s();
	do {
		for (int i = 0; i < 50; i++) {
			siglen = sizeof(sig);
			if (EVP_PKEY_sign(c, sig, &siglen, md, sizeof(md)) <= 0)
				die("RSA sign");
		}
		n += 50;
	} while (now_s() - t0 < 2.0);
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(k);
	return n / (now_s() - t0);
}

/* ---- 3. memory with idle connections ---- */

static long
vm_rss_kb(long pid)
{
	char path[64], line[256];
	FILE *f;
	long kb = -1;

	str_fmt(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

static void
idle_connections(const struct env *v, int n)
{
	int *fds = calloc((size_t)n, sizeof(*fds));
	long before, after;
	int open = 0;

	if (fds == NULL)
		die("calloc");
	before = vm_rss_kb(v->intake_pid);
	for (int i = 0; i < n; i++) {
		fds[i] = sock_connect(v->intake_port);
		if (fds[i] < 0)
			break;
		open++;
	}
	/* Every session has its greeting: it exists in the daemon. */
	for (int i = 0; i < open; i++)
		if (read_reply(fds[i]) != 220)
			die("an idle connection got no greeting");
	sleep(1);
	after = vm_rss_kb(v->intake_pid);
	printf("idle connections: %d open; daemon VmRSS %ld kB before, %ld kB "
	    "after: +%ld kB, %.1f kB per connection\n", open, before, after,
	    after - before, open > 0 ? (double)(after - before) / open : 0.0);
	if (open < n)
		printf("  (only %d of %d connections: %s)\n", open, n,
		    strerror(errno));
	for (int i = 0; i < open; i++)
		close(fds[i]);
	free(fds);
}

int
main(int argc, char **argv)
{
	const char *dg = getenv("DIRECTGATE");
	int messages = 3000, rounds = 2, direct = 600, idle = 1000;
	double pf_best = 0, dg_best = 0, rsa, direct_rate, direct_intake;
	double direct_cpu;
	char self[4096], dgbuf[4096];
	struct env v = {0};
	struct rlimit rl;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--messages") == 0 && i + 1 < argc)
			messages = num(argv[++i]);
		else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			rounds = num(argv[++i]);
		else if (strcmp(argv[i], "--direct") == 0 && i + 1 < argc)
			direct = num(argv[++i]);
		else if (strcmp(argv[i], "--idle") == 0 && i + 1 < argc)
			idle = num(argv[++i]);
		else if (argv[i][0] != '-')
			dg = argv[i];
		else {
			fprintf(stderr, "usage: bench_smtp [DIRECTGATE] "
			    "[--messages N] [--rounds R] [--direct N] "
			    "[--idle N]\n");
			return 2;
		}
	}
	if (dg == NULL) {
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		char *slash;

		if (n <= 0)
			die("no DIRECTGATE");
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL)
			*slash = '\0';
		str_fmt(dgbuf, sizeof(dgbuf), "%s/../directgate", self);
		dg = dgbuf;
	}
	if (realpath(dg, dgbuf) == NULL)
		die("DIRECTGATE not found");
	dg = dgbuf;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 8192 &&
	    rl.rlim_max >= 8192) {
		rl.rlim_cur = 8192;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	env_start(&v, dg);

	for (int r = 0; r < rounds; r++) {
		double p = smtp_source(v.postfix_port, messages);
		double d = smtp_source(v.intake_port, messages);

		printf("intake round %d: postfix %.0f msg/s, directgate %.0f "
		    "msg/s\n", r + 1, p, d);
		fflush(stdout);
		if (p > pf_best)
			pf_best = p;
		if (d > dg_best)
			dg_best = d;
	}
	printf("intake (smtp-source -s 20 -l 4096 -m %d, best of %d): "
	    "postfix %.0f msg/s, directgate %.0f msg/s, ratio %.2f "
	    "(goal >= 1)\n", messages, rounds, pf_best, dg_best,
	    dg_best / pf_best);
	fflush(stdout);

	rsa = rsa_private_rate();
	direct_rate = direct_inbound(&v, direct, &direct_intake, &direct_cpu);
	printf("inbound direct (%d sealed messages, %d sessions, to Maildir): "
	    "%.0f msg/s (intake alone %.0f msg/s); rsa-2048 private key "
	    "(EVP_PKEY_sign, 1 thread): %.0f op/s; ratio %.2f\n", direct,
	    SESSIONS, direct_rate, direct_intake, rsa, direct_rate / rsa);
	printf("  receiving daemon CPU: %.2f ms per message (user+system, "
	    "all threads), %.2f cores busy on average\n",
	    1000.0 * direct_cpu / direct, direct_cpu * direct_rate / direct);
	fflush(stdout);

	idle_connections(&v, idle);
	env_stop(&v);
	return 0;
}
