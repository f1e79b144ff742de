/* `directgate adt send|list|show|parse`: HL7 ADT intake from the command
 * line. send is a sender's tool (MLLP to HOST:PORT, or the local instance's
 * intake); list and show read stored ADTs (contents only with --phi);
 * parse dumps a file's fields as JSON (for cross-checks). */
#include "gateway/cmd.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "adt/ack.h"
#include "adt/adt_config.h"
#include "adt/hl7.h"
#include "adt/hl7_reader.h"
#include "adt/hl7_validate.h"
#include "adt/intake.h"
#include "adt/mllp.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "gateway/instance.h"

static void
help(void)
{
	printf("usage: directgate adt send FILE... [--mllp HOST:PORT] [--json]"
	    " [--timeout SECS]\n"
	    "       directgate adt list [--state STATE] [--limit N] [--json]\n"
	    "       directgate adt show ID [--phi] [--json]\n"
	    "       directgate adt parse FILE [--json|--text|--write]\n"
	    "       directgate adt trace ID [--phi] [--json]\n\n"
	    "send: sends each HL7 message of each file (LF, CRLF, batches "
	    "are fine)\n"
	    "  over MLLP to HOST:PORT, or without --mllp into this instance's"
	    " intake,\n"
	    "  and prints each ACK: MSA-1 and an ERR summary. Exit 0 when "
	    "every\n"
	    "  message was accepted (AA/CA), 1 otherwise.\n"
	    "list: stored ADTs, newest first: id, time, channel, facility, "
	    "type,\n"
	    "  control ID, state, size (no patient data).\n"
	    "show: one stored ADT's metadata; its contents only with --phi.\n"
	    "parse: every field of every message of FILE as JSON (raw, "
	    "escaped values:\n"
	    "  segments[fields[repetitions[components[subcomponents]]]]), "
	    "or with\n"
	    "  --write the messages written back (normalized, CR endings);\n"
	    "  --text gives unescaped values instead of raw ones.\n"
	    "trace: the whole story of one ADT: match, care team, every "
	    "decision,\n"
	    "  each notification and its delivery and MDN state.\n\n"
	    "  --dir DIR        the instance directory\n"
	    "  --mllp HOST:PORT send over MLLP\n"
	    "  --timeout SECS   wait this long for each ACK (default 30)\n"
	    "  --phi            show message contents (patient data)\n"
	    "  --json           print JSON\n");
}

static char *
read_file(const char *path, size_t *n_r, struct err *e)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char tmp[65536];
	size_t got;

	if (f == NULL) {
		err_set(e, ERR_CONFIG, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf_init(&b, HL7_MAX_BYTES);
	while ((got = fread(tmp, 1, sizeof(tmp), f)) > 0)
		if (buf_append(&b, tmp, got) != 0) {
			fclose(f);
			buf_release(&b);
			err_set(e, ERR_CONFIG, "%s: too large", path);
			return NULL;
		}
	fclose(f);
	return (char *)buf_steal(&b, n_r);
}

/* --- send --- */

struct sender {
	bool json;
	bool first_json;
	int fd;                 /* MLLP connection, or -1 */
	struct mllp_framer *fr;
	struct buf pend;
	int timeout_ms;
	struct intake *intake;  /* local intake when fd < 0 */
	struct store_writer *w;
	unsigned failures;
};

static int
dial(const char *hostport, struct err *e)
{
	char host[256], port[16];
	int p, fd = -1, rc;
	struct addrinfo hints, *res, *ai;

	if (adt_config_split_hostport(hostport, host, sizeof(host), &p) != 0)
		return err_set(e, ERR_CONFIG, "--mllp: '%s' is not HOST:PORT",
		    hostport);
	str_fmt(port, sizeof(port), "%d", p);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		return err_set(e, ERR_TEMP, "%s: %s", host, gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return err_set(e, ERR_TEMP, "cannot connect to %s: %s",
		    hostport, strerror(errno));
	return fd;
}

static int
send_all(int fd, const uint8_t *p, size_t n, struct err *e)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return err_set(e, ERR_TEMP, "send: %s", strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads one frame into out. */
static int
read_ack(struct sender *s, struct buf *out, struct err *e)
{
	for (;;) {
		struct pollfd pfd = {s->fd, POLLIN, 0};
		uint8_t tmp[16384];
		ssize_t r;
		size_t used, n;
		int rc;

		while (s->pend.len > 0) {
			rc = mllp_framer_feed(s->fr, s->pend.data, s->pend.len,
			    &used, e);
			if (rc < 0)
				return -1;
			buf_consume(&s->pend, used);
			if (rc == 1) {
				const uint8_t *f = mllp_framer_frame(s->fr, &n);

				if (mllp_is_commit_ack(f, n) >= 0)
					continue; /* release 2 commit ack */
				buf_reset(out);
				return buf_append(out, f, n);
			}
		}
		rc = poll(&pfd, 1, s->timeout_ms);
		if (rc == 0)
			return err_set(e, ERR_TEMP, "no ACK within %d s",
			    s->timeout_ms / 1000);
		if (rc < 0 && errno == EINTR)
			continue;
		r = recv(s->fd, tmp, sizeof(tmp), 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return err_set(e, ERR_TEMP, "connection closed before "
			    "the ACK");
		if (buf_append(&s->pend, tmp, (size_t)r) != 0)
			return err_set(e, ERR_PROTO, "ACK too large");
	}
}

static void
print_ack(struct sender *s, const char *file, size_t idx, const char *cid,
    const struct ack_info *a, const char *failure)
{
	bool ok = failure == NULL && (strcmp(a->code, "AA") == 0 ||
	    strcmp(a->code, "CA") == 0);

	if (!ok)
		s->failures++;
	if (!s->json) {
		if (failure != NULL) {
			printf("%s #%zu %s: %s\n", file, idx + 1, cid, failure);
			return;
		}
		printf("%s #%zu %s: %s\n", file, idx + 1, cid, a->code);
		for (size_t i = 0; i < a->nerrs; i++)
			printf("  ERR %s %d %c %s\n", a->errs[i].location[0] ?
			    a->errs[i].location : "-", a->errs[i].code,
			    a->errs[i].severity, a->errs[i].text);
		return;
	}
	printf("%s\n  {\"file\": ", s->first_json ? "" : ",");
	s->first_json = false;
	cmd_json_str(stdout, file);
	printf(", \"index\": %zu, \"control_id\": ", idx + 1);
	cmd_json_str(stdout, cid);
	if (failure != NULL) {
		printf(", \"ack\": null, \"error\": ");
		cmd_json_str(stdout, failure);
		printf("}");
		return;
	}
	printf(", \"ack\": ");
	cmd_json_str(stdout, a->code);
	printf(", \"ack_control_id\": ");
	cmd_json_str(stdout, a->ack_control_id);
	printf(", \"errors\": [");
	for (size_t i = 0; i < a->nerrs; i++) {
		printf("%s{\"location\": ", i ? ", " : "");
		cmd_json_str(stdout, a->errs[i].location);
		printf(", \"code\": %d, \"severity\": \"%c\", \"text\": ",
		    a->errs[i].code, a->errs[i].severity);
		cmd_json_str(stdout, a->errs[i].text);
		printf("}");
	}
	printf("]}");
}

struct local_ack {
	struct buf ack;
	bool send;
};

static void
local_done(void *arg, const struct intake_result *r)
{
	struct local_ack *l = arg;

	l->send = r->send;
	buf_append(&l->ack, r->ack, r->ack_len);
}

static void
send_one(struct sender *s, const char *file, size_t idx, const uint8_t *p,
    size_t n)
{
	struct hl7_msg *m = NULL;
	struct hl7_header h;
	struct ack_info a;
	struct err e = {0};
	struct buf ack;

	memset(&h, 0, sizeof(h));
	if (hl7_parse(p, n, &m, &e) == 0)
		hl7_validate_header(m, &h);
	hl7_msg_free(&m);
	buf_init(&ack, BUF_UNLIMITED);
	if (s->fd >= 0) {
		struct buf w;

		buf_init(&w, BUF_UNLIMITED);
		mllp_wrap(&w, p, n);
		if (send_all(s->fd, w.data, w.len, &e) != 0 ||
		    read_ack(s, &ack, &e) != 0) {
			print_ack(s, file, idx, h.control_id, NULL, e.msg);
			buf_release(&w);
			buf_release(&ack);
			return;
		}
		buf_release(&w);
	} else {
		struct local_ack l;

		buf_init(&l.ack, BUF_UNLIMITED);
		l.send = false;
		intake_submit_wait(s->intake, p, n, "cli", "cli", clock_wall_ms(),
		    local_done, &l);
		if (!l.send) {
			memset(&a, 0, sizeof(a));
			str_lcpy(a.code, "-", sizeof(a.code));
			print_ack(s, file, idx, h.control_id, &a,
			    "no acknowledgement (an ACK, or enhanced mode)");
			buf_release(&l.ack);
			buf_release(&ack);
			return;
		}
		buf_append(&ack, l.ack.data, l.ack.len);
		buf_release(&l.ack);
	}
	if (ack_parse(ack.data, ack.len, &a, &e) != 0)
		print_ack(s, file, idx, h.control_id, NULL, "unreadable ACK");
	else
		print_ack(s, file, idx, h.control_id, &a, NULL);
	buf_release(&ack);
}

static int
adt_send(int argc, char **argv, int first, const char *dir,
    const char *mllp, bool json, int timeout_s)
{
	struct sender s;
	struct instance *in = NULL;
	struct err e = {0};
	int rc = 1;

	memset(&s, 0, sizeof(s));
	s.json = json;
	s.first_json = true;
	s.fd = -1;
	s.timeout_ms = timeout_s * 1000;
	buf_init(&s.pend, 1 << 24);
	if (mllp != NULL) {
		if ((s.fd = dial(mllp, &e)) < 0) {
			buf_release(&s.pend);
			return cmd_fail("%s", e.msg);
		}
		s.fr = mllp_framer_new(1 << 24);
	} else {
		struct store_writer_opts wo = {0};
		struct intake_opts io = {0};

		if (instance_open(dir, &in, &e) != 0) {
			buf_release(&s.pend);
			return cmd_fail("%s (or give --mllp HOST:PORT)", e.msg);
		}
		if (adt_config_check(in->cfg, &e) != 0 ||
		    store_writer_new(config_path(in->cfg, "core", "store"),
		    &wo, &s.w, &e) != 0) {
			cmd_fail("%s", e.msg);
			goto out;
		}
		io.writer = s.w;
		(void)ack_mode_parse(config_str(in->cfg, "mllp", "ack_mode"),
		    &io.ack_mode);
		io.ack_app = config_str(in->cfg, "adt", "ack_application");
		io.ack_facility = config_str(in->cfg, "adt", "ack_facility");
		s.intake = intake_new(&io);
	}
	if (json)
		printf("[");
	for (int i = first; i < argc; i++) {
		size_t n;
		char *data = read_file(argv[i], &n, &e);
		struct hl7_split sp;

		if (data == NULL) {
			if (json)
				printf("]\n");
			cmd_fail("%s", e.msg);
			goto out;
		}
		if (hl7_reader_split(data, n, HL7_MAX_BYTES, &sp, &e) < 0) {
			/* Not splittable: send as it is (the peer answers). */
			send_one(&s, argv[i], 0, (const uint8_t *)data, n);
		} else {
			for (size_t k = 0; k < sp.count; k++)
				send_one(&s, argv[i], k, sp.data + sp.offs[k],
				    sp.lens[k]);
			hl7_reader_split_release(&sp);
		}
		free(data);
	}
	if (json)
		printf("\n]\n");
	rc = s.failures ? 1 : 0;
out:
	if (s.fd >= 0)
		close(s.fd);
	mllp_framer_free(&s.fr);
	buf_release(&s.pend);
	store_writer_free(&s.w);
	intake_free(&s.intake);
	instance_free(&in);
	return rc;
}

/* --- list and show --- */

struct lister {
	bool json;
	bool first;
};

static void
fmt_time(int64_t ms, char *dst, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(dst, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		str_lcpy(dst, "-", size);
}

static int
print_row(void *arg, const struct intake_row *r)
{
	struct lister *l = arg;
	char ts[32];

	fmt_time(r->received, ts, sizeof(ts));
	if (!l->json) {
		printf("%-6lld %s %-6s %s^%s %-10s %-24s %s %lld\n",
		    (long long)r->id, ts, r->channel, r->msg_type, r->event,
		    r->state, r->control_id, r->facility,
		    (long long)r->size);
		return 0;
	}
	printf("%s\n  {\"id\": %lld, \"received\": ", l->first ? "" : ",",
	    (long long)r->id);
	l->first = false;
	cmd_json_str(stdout, ts);
	printf(", \"channel\": ");
	cmd_json_str(stdout, r->channel);
	printf(", \"sender\": ");
	cmd_json_str(stdout, r->sender);
	printf(", \"facility\": ");
	cmd_json_str(stdout, r->facility);
	printf(", \"type\": ");
	cmd_json_str(stdout, r->msg_type);
	printf(", \"event\": ");
	cmd_json_str(stdout, r->event);
	printf(", \"control_id\": ");
	cmd_json_str(stdout, r->control_id);
	printf(", \"version\": ");
	cmd_json_str(stdout, r->version);
	printf(", \"processing_id\": ");
	cmd_json_str(stdout, r->processing_id);
	printf(", \"state\": ");
	cmd_json_str(stdout, r->state);
	printf(", \"size\": %lld}", (long long)r->size);
	return 0;
}

static int
adt_list(const char *dir, const char *state, unsigned limit, bool json)
{
	struct instance *in = NULL;
	struct store *st;
	struct err e = {0};
	struct lister l = {json, true};
	int rc = 1;

	if (instance_open(dir, &in, &e) != 0)
		return cmd_fail("%s", e.msg);
	if ((st = instance_store(in, &e)) == NULL) {
		cmd_fail("store: %s", e.msg);
		goto out;
	}
	if (json)
		printf("[");
	if (intake_list(st, state, limit, print_row, &l, &e) != 0) {
		if (json)
			printf("]\n");
		cmd_fail("%s", e.msg);
		goto out;
	}
	if (json)
		printf("\n]\n");
	rc = 0;
out:
	instance_free(&in);
	return rc;
}

/* Human-readable output only: the stored bytes stay as received. Text that
 * is not valid UTF-8 is taken as Windows-1252 (what many feeds really send,
 * whatever MSH-18 says) and transcoded; CR segment ends become LF. */
static void
put_utf8(uint32_t cp)
{
	if (cp < 0x80) {
		putchar((int)cp);
	} else if (cp < 0x800) {
		putchar((int)(0xC0 | (cp >> 6)));
		putchar((int)(0x80 | (cp & 0x3F)));
	} else {
		putchar((int)(0xE0 | (cp >> 12)));
		putchar((int)(0x80 | ((cp >> 6) & 0x3F)));
		putchar((int)(0x80 | (cp & 0x3F)));
	}
}

static void
print_readable(const uint8_t *p, size_t n)
{
	/* Windows-1252 0x80..0x9F; 0 marks the five undefined positions. */
	static const uint16_t cp1252[32] = {
		0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
		0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
		0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
		0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
	};
	bool utf8 = str_utf8_valid(p, n);

	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (c == '\r')
			putchar('\n');
		else if (utf8 || c < 0x80)
			putchar(c);
		else if (c < 0xA0)
			put_utf8(cp1252[c - 0x80] ? cp1252[c - 0x80] : 0xFFFD);
		else
			put_utf8(c);
	}
}

static int
adt_show(const char *dir, const char *idstr, bool phi, bool json)
{
	struct instance *in = NULL;
	struct store *st;
	struct err e = {0};
	struct lister l = {json, true};
	struct buf raw;
	int64_t id;
	int rc = 1, found;

	if (str_to_i64(idstr, 1, INT64_MAX, &id) != 0)
		return cmd_usage_error("adt", "'%s' is not an ADT id", idstr);
	if (instance_open(dir, &in, &e) != 0)
		return cmd_fail("%s", e.msg);
	buf_init(&raw, BUF_UNLIMITED);
	if ((st = instance_store(in, &e)) == NULL) {
		cmd_fail("store: %s", e.msg);
		goto out;
	}
	if (json)
		printf("[");
	found = intake_get(st, id, print_row, &l, &raw, &e);
	if (json) {
		/* The row printed; the contents follow as one more object. */
		if (found == 1 && phi) {
			printf(",\n  {\"message\": ");
			cmd_json_str(stdout, buf_cstr(&raw));
			printf("}");
		}
		printf("\n]\n");
	}
	if (found < 0) {
		cmd_fail("%s", e.msg);
		goto out;
	}
	if (found == 0) {
		cmd_fail("no ADT with id %lld", (long long)id);
		goto out;
	}
	if (!json && phi) {
		print_readable(raw.data, raw.len);
	} else if (!json) {
		printf("(contents not shown; add --phi to show patient data)\n");
	}
	rc = 0;
out:
	buf_release(&raw);
	instance_free(&in);
	return rc;
}

/* --- parse --- */

static void
json_span(const uint8_t *p, size_t n)
{
	char *s = xmemdup(p, n);

	cmd_json_str(stdout, s);
	free(s);
}

static void
dump_fields(const struct hl7_msg *m, bool text)
{
	size_t nsegs = hl7_msg_nsegs(m);

	printf("[");
	for (size_t i = 0; i < nsegs; i++) {
		size_t nf = hl7_msg_nfields(m, i);

		printf("%s\n    [", i ? "," : "");
		for (unsigned f = 0; f < nf; f++) {
			const uint8_t *p;
			size_t n;
			unsigned nr = hl7_msg_count_reps(m, i, f);

			printf("%s[", f ? ", " : "");
			for (unsigned r = 1; r <= nr; r++) {
				unsigned nc = hl7_msg_count_comps(m, i, f, r);

				printf("%s[", r > 1 ? ", " : "");
				for (unsigned c = 1; c <= nc; c++) {
					unsigned ns = hl7_msg_count_subs(m, i,
					    f, r, c);

					printf("%s[", c > 1 ? ", " : "");
					for (unsigned s = 1; s <= ns; s++) {
						(void)hl7_msg_get_at(m, i, f, r,
						    c, s, &p, &n);
						printf("%s", s > 1 ? ", " : "");
						if (text) {
							struct buf b;

							buf_init(&b,
							    BUF_UNLIMITED);
							(void)hl7_unescape(
							    hl7_msg_delims(m),
							    p, n, &b);
							json_span(b.data ?
							    b.data :
							    (const uint8_t *)"",
							    b.len);
							buf_release(&b);
						} else {
							json_span(p, n);
						}
					}
					printf("]");
				}
				printf("]");
			}
			printf("]");
		}
		printf("]");
	}
	printf("\n  ]");
}

static int
adt_parse(const char *path, bool write, bool text)
{
	struct err e = {0};
	size_t n;
	char *data = read_file(path, &n, &e);
	struct hl7_split sp;
	int rc = 0;

	if (data == NULL)
		return cmd_fail("%s", e.msg);
	if (hl7_reader_split(data, n, HL7_MAX_BYTES, &sp, &e) < 0) {
		free(data);
		return cmd_fail("%s: %s", path, e.msg);
	}
	if (!write)
		printf("{\"batch_headers\": %u, \"batch_trailers\": %u, "
		    "\"messages\": [", sp.batch_headers, sp.batch_trailers);
	for (size_t k = 0; k < sp.count; k++) {
		struct hl7_msg *m = NULL;
		struct hl7_validation v;

		if (hl7_parse(sp.data + sp.offs[k], sp.lens[k], &m, &e) != 0) {
			if (!write)
				printf("]}\n");
			cmd_fail("%s message %zu: %s", path, k + 1, e.msg);
			rc = 1;
			break;
		}
		if (write) {
			struct buf out;

			buf_init(&out, BUF_UNLIMITED);
			(void)hl7_msg_write(m, &out);
			fwrite(out.data, 1, out.len, stdout);
			buf_release(&out);
			hl7_msg_free(&m);
			continue;
		}
		hl7_validate(m, &v);
		printf("%s\n {\"charset\": ", k ? "," : "");
		cmd_json_str(stdout, hl7_msg_charset(m));
		printf(", \"bom\": %s, \"errors\": %zu, \"problems\": [",
		    hl7_msg_had_bom(m) ? "true" : "false", v.nerrors);
		for (size_t i = 0; i < v.nproblems; i++) {
			printf("%s{\"segment\": ", i ? ", " : "");
			cmd_json_str(stdout, v.problems[i].seg);
			printf(", \"field\": %u, \"code\": %d, \"severity\": "
			    "\"%c\", \"text\": ", v.problems[i].field,
			    v.problems[i].code, v.problems[i].severity);
			cmd_json_str(stdout, v.problems[i].text);
			printf("}");
		}
		printf("],\n  \"segments\": ");
		dump_fields(m, text);
		printf("}");
		hl7_msg_free(&m);
	}
	if (!write && rc == 0)
		printf("\n]}\n");
	hl7_reader_split_release(&sp);
	free(data);
	return rc;
}

int
cmd_adt(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"mllp", required_argument, NULL, 'm'},
		{"timeout", required_argument, NULL, 't'},
		{"state", required_argument, NULL, 's'},
		{"limit", required_argument, NULL, 'l'},
		{"phi", no_argument, NULL, 'p'},
		{"json", no_argument, NULL, 'j'},
		{"write", no_argument, NULL, 'w'},
		{"text", no_argument, NULL, 'x'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = cmd_global_dir(), *action, *mllp = NULL;
	const char *state = NULL;
	bool json = false, phi = false, write = false, text = false;
	int c, timeout_s = 30, limit = 0;

	if (argc >= 2 && strcmp(argv[1], "trace") == 0) /* cmd_adt_trace.c */
		return cmd_adt_trace(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		help();
		return 0;
	}
	if (argc < 2 || argv[1][0] == '-')
		return cmd_usage_error("adt", "send, list, show or parse?");
	action = argv[1];
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "d:m:t:s:l:pjwh", opts, NULL)) !=
	    -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'm':
			mllp = optarg;
			break;
		case 't':
			if (str_to_int(optarg, 1, 3600, &timeout_s) != 0)
				return cmd_usage_error("adt", "bad --timeout");
			break;
		case 's':
			state = optarg;
			break;
		case 'l':
			if (str_to_int(optarg, 1, 1000000, &limit) != 0)
				return cmd_usage_error("adt", "bad --limit");
			break;
		case 'p':
			phi = true;
			break;
		case 'j':
			json = true;
			break;
		case 'w':
			write = true;
			break;
		case 'x':
			text = true;
			break;
		case 'h':
			help();
			return 0;
		default:
			return cmd_usage_error("adt", "bad option");
		}
	}
	if (strcmp(action, "send") == 0) {
		if (optind >= argc)
			return cmd_usage_error("adt", "send: give FILE...");
		return adt_send(argc, argv, optind, dir, mllp, json, timeout_s);
	}
	if (strcmp(action, "list") == 0) {
		if (optind != argc)
			return cmd_usage_error("adt", "list takes no arguments");
		return adt_list(dir, state, (unsigned)limit, json);
	}
	if (strcmp(action, "show") == 0) {
		if (argc - optind != 1)
			return cmd_usage_error("adt", "show takes one ID");
		return adt_show(dir, argv[optind], phi, json);
	}
	if (strcmp(action, "parse") == 0) {
		if (argc - optind != 1)
			return cmd_usage_error("adt", "parse takes one FILE");
		return adt_parse(argv[optind], write, text);
	}
	return cmd_usage_error("adt", "unknown action '%s'", action);
}
