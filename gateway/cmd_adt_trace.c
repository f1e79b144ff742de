/* `directgate adt trace ID`: the whole story of one stored ADT: its
 * metadata, every decision of the notification agent (policy, match and
 * score, suppressions with their reasons, routing), every notification
 * (kind, recipient, state, Message-ID, queue state, the fallback to the
 * next endpoint after a failure) and, for Direct ones, the MDN state from
 * delivery tracking. No patient data unless --phi (then
 * the readable summary of the message is printed as well). */
#include "gateway/cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adt/hl7.h"
#include "adt/intake.h"
#include "adt/notify_compose.h"
#include "core/buf.h"
#include "core/str.h"
#include "gateway/instance.h"

static void
trace_help(void)
{
	printf("usage: directgate adt trace ID [--phi] [--json] [--dir DIR]\n\n"
	    "Shows what happened to stored ADT ID: the notification agent's "
	    "decisions\n(policy, patient match with its score, suppressions "
	    "and their reasons,\nrouting), each notification sent for it "
	    "(kind, recipient, state, Message-ID)\nand the delivery and MDN "
	    "state of each Direct notification.\n\n"
	    "  --phi     also print the readable summary (patient data)\n"
	    "  --json    print JSON\n"
	    "  --dir DIR the instance directory\n");
}

static void
trace_time(int64_t ms, char *dst, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0) {
		str_lcpy(dst, "-", size);
		return;
	}
	gmtime_r(&t, &tm);
	strftime(dst, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct trace_adt {
	bool json;
	char event[8];
	bool found;
};

static int
trace_row(void *arg, const struct intake_row *r)
{
	struct trace_adt *t = arg;
	char when[32];

	t->found = true;
	str_lcpy(t->event, r->event, sizeof(t->event));
	trace_time(r->received, when, sizeof(when));
	if (t->json) {
		printf("{\"id\": %lld, \"received\": ", (long long)r->id);
		cmd_json_str(stdout, when);
		printf(", \"channel\": ");
		cmd_json_str(stdout, r->channel);
		printf(", \"sender\": ");
		cmd_json_str(stdout, r->sender);
		printf(", \"facility\": ");
		cmd_json_str(stdout, r->facility);
		printf(", \"control_id\": ");
		cmd_json_str(stdout, r->control_id);
		printf(", \"type\": ");
		cmd_json_str(stdout, r->msg_type);
		printf(", \"event\": ");
		cmd_json_str(stdout, r->event);
		printf(", \"processing_id\": ");
		cmd_json_str(stdout, r->processing_id);
		printf(", \"size\": %lld, \"state\": ", (long long)r->size);
		cmd_json_str(stdout, r->state);
		return 0;
	}
	printf("ADT %lld  received %s over %s from %s\n", (long long)r->id,
	    when, r->channel, r->sender);
	printf("  %s^%s  control_id=%s  facility=%s  processing=%s  size=%lld"
	    "  state=%s\n", r->msg_type, r->event, r->control_id, r->facility,
	    r->processing_id, (long long)r->size, r->state);
	return 0;
}

static const char *
col(struct store_stmt *st, int i)
{
	const char *s = store_col_text(st, i);

	return s != NULL ? s : "";
}

static int
trace_audit(struct store *s, int64_t id, bool json, struct err *e)
{
	struct store_stmt *st;
	int rc, n = 0;

	st = store_prepare(s, "SELECT at, step, npi, recipient, detail FROM"
	    " notify_audit WHERE adt = ? ORDER BY id", e);
	if (st == NULL)
		return -1;
	store_bindv(st, "I", id);
	if (json)
		printf(", \"decisions\": [");
	else
		printf("Decisions:\n");
	while ((rc = store_step(st, e)) == 1) {
		char when[32];

		trace_time(store_col_int(st, 0), when, sizeof(when));
		if (json) {
			printf("%s\n  {\"at\": ", n ? "," : "");
			cmd_json_str(stdout, when);
			printf(", \"step\": ");
			cmd_json_str(stdout, col(st, 1));
			printf(", \"npi\": ");
			cmd_json_str(stdout, col(st, 2));
			printf(", \"recipient\": ");
			cmd_json_str(stdout, col(st, 3));
			printf(", \"detail\": ");
			cmd_json_str(stdout, col(st, 4));
			printf("}");
		} else {
			printf("  %s %-12s", when, col(st, 1));
			if (col(st, 2)[0])
				printf(" npi=%s", col(st, 2));
			if (col(st, 3)[0])
				printf(" to=%s", col(st, 3));
			printf(" %s\n", col(st, 4));
		}
		n++;
	}
	store_stmt_done(st);
	if (json)
		printf("]");
	else if (n == 0)
		printf("  (none yet: the agent has not looked at it)\n");
	return rc < 0 ? -1 : 0;
}

static int
trace_sent(struct store *s, int64_t id, bool json, struct err *e)
{
	struct store_stmt *st;
	int rc, n = 0;

	st = store_prepare(s, "SELECT n.id, n.kind, n.recipient, n.event,"
	    " n.state, n.message_id, n.queue_id, n.attempts, n.reason,"
	    " n.retracts, n.npis,"
	    " (SELECT state FROM queue_rcpt q WHERE q.msg = n.queue_id"
	    "  AND q.rcpt = n.recipient),"
	    " t.state, t.processed_at, t.dispatched_at, t.failed_at, t.reason,"
	    " n.fallback, n.fallback_of"
	    " FROM notify_sent n LEFT JOIN track t ON t.message_id ="
	    " n.message_id AND t.rcpt = n.recipient"
	    " WHERE n.adt = ? ORDER BY n.id", e);
	if (st == NULL)
		return -1;
	store_bindv(st, "I", id);
	if (json)
		printf(", \"notifications\": [");
	else
		printf("Notifications:\n");
	while ((rc = store_step(st, e)) == 1) {
		const char *mdn = col(st, 12);

		if (json) {
			printf("%s\n  {\"id\": %lld, \"kind\": ", n ? "," : "",
			    (long long)store_col_int(st, 0));
			cmd_json_str(stdout, col(st, 1));
			printf(", \"recipient\": ");
			cmd_json_str(stdout, col(st, 2));
			printf(", \"event\": ");
			cmd_json_str(stdout, col(st, 3));
			printf(", \"state\": ");
			cmd_json_str(stdout, col(st, 4));
			printf(", \"message_id\": ");
			cmd_json_str(stdout, col(st, 5));
			printf(", \"queue_id\": ");
			cmd_json_str(stdout, col(st, 6));
			printf(", \"attempts\": %lld, \"npis\": ",
			    (long long)store_col_int(st, 7));
			cmd_json_str(stdout, col(st, 10));
			printf(", \"retracts\": %lld, \"queue_state\": ",
			    (long long)store_col_int(st, 9));
			cmd_json_str(stdout, col(st, 11));
			printf(", \"mdn_state\": ");
			cmd_json_str(stdout, mdn);
			printf(", \"reason\": ");
			cmd_json_str(stdout, col(st, 8));
			printf(", \"fallback\": ");
			cmd_json_str(stdout, col(st, 17));
			printf(", \"fallback_of\": %lld}",
			    (long long)store_col_int(st, 18));
		} else {
			printf("  #%lld %-6s %s %s state=%s", (long long)
			    store_col_int(st, 0), col(st, 1), col(st, 3),
			    col(st, 2), col(st, 4));
			if (!store_col_null(st, 9))
				printf(" retracts=#%lld",
				    (long long)store_col_int(st, 9));
			if (col(st, 17)[0])
				printf(" fallback=%s", col(st, 17));
			if (!store_col_null(st, 18))
				printf(" fallback_of=#%lld",
				    (long long)store_col_int(st, 18));
			printf(" npis=%s\n", col(st, 10));
			if (col(st, 5)[0])
				printf("       message_id=%s queue_id=%s "
				    "queue=%s\n", col(st, 5), col(st, 6),
				    col(st, 11)[0] ? col(st, 11) : "-");
			if (mdn[0]) {
				char a[32], b[32], c[32];

				trace_time(store_col_int(st, 13) * 1000, a,
				    sizeof(a));
				trace_time(store_col_int(st, 14) * 1000, b,
				    sizeof(b));
				trace_time(store_col_int(st, 15) * 1000, c,
				    sizeof(c));
				printf("       delivery=%s processed=%s "
				    "dispatched=%s failed=%s%s%s\n", mdn, a, b,
				    c, col(st, 16)[0] ? " reason=" : "",
				    col(st, 16));
			}
			if (strcmp(col(st, 1), "mllp") == 0)
				printf("       attempts=%lld %s\n", (long long)
				    store_col_int(st, 7), col(st, 8));
		}
		n++;
	}
	store_stmt_done(st);
	if (json)
		printf("]");
	else if (n == 0)
		printf("  (none)\n");
	return rc < 0 ? -1 : 0;
}

int
cmd_adt_trace(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"phi", no_argument, NULL, 'p'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = cmd_global_dir();
	struct trace_adt t = {0};
	struct instance *in = NULL;
	struct store *s;
	struct buf raw;
	struct err e;
	bool phi = false;
	int64_t id;
	int c, rc = 1, found;

	optind = 0;
	while ((c = getopt_long(argc, argv, "d:pjh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'p':
			phi = true;
			break;
		case 'j':
			t.json = true;
			break;
		case 'h':
			trace_help();
			return 0;
		default:
			return cmd_usage_error("adt trace", "bad option");
		}
	}
	if (argc - optind != 1)
		return cmd_usage_error("adt trace", "give one ADT ID");
	if (str_to_i64(argv[optind], 1, INT64_MAX, &id) != 0)
		return cmd_usage_error("adt trace", "'%s' is not an ADT id",
		    argv[optind]);
	if (instance_open(dir, &in, &e) != 0)
		return cmd_fail("%s", e.msg);
	buf_init(&raw, BUF_UNLIMITED);
	if ((s = instance_store(in, &e)) == NULL) {
		cmd_fail("store: %s", e.msg);
		goto out;
	}
	found = intake_get(s, id, trace_row, &t, &raw, &e);
	if (found < 0) {
		cmd_fail("%s", e.msg);
		goto out;
	}
	if (found == 0) {
		cmd_fail("no ADT with id %lld", (long long)id);
		goto out;
	}
	if (trace_audit(s, id, t.json, &e) != 0 ||
	    trace_sent(s, id, t.json, &e) != 0) {
		if (t.json)
			printf("}\n");
		cmd_fail("%s", e.msg);
		goto out;
	}
	if (phi) {
		struct hl7_msg *m = NULL;
		struct buf sum;

		buf_init(&sum, BUF_UNLIMITED);
		if (hl7_parse(raw.data, raw.len, &m, &e) == 0)
			notify_compose_summary(m, t.event, 0, 0, &sum);
		if (t.json) {
			printf(", \"summary\": ");
			cmd_json_str(stdout, buf_cstr(&sum));
		} else
			printf("Summary (PHI):\n%s", buf_cstr(&sum));
		hl7_msg_free(&m);
		buf_release(&sum);
	}
	if (t.json)
		printf("}\n");
	rc = 0;
out:
	buf_release(&raw);
	instance_free(&in);
	return rc;
}
