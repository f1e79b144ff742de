/* `directgate message status|list`: delivery tracking of what was sent
 * (hisp/track.h): per recipient the state, the times and the reports. */
#include "gateway/cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/instance.h"

static void
iso(char *dst, size_t n, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0) {
		dst[0] = '\0';
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(dst, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
json_time(const char *key, int64_t t, bool comma)
{
	char b[32];

	iso(b, sizeof(b), t);
	printf("%s\"%s\":", comma ? "," : "", key);
	if (b[0] == '\0')
		printf("null");
	else
		printf("\"%s\"", b);
}

static int
opts(int argc, char **argv, const char *name, const char **dir,
    bool *json, const char **state)
{
	static const struct option lo[] = {
		{"dir", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"state", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "d:js:h", lo, NULL)) != -1) {
		switch (c) {
		case 'd':
			*dir = optarg;
			break;
		case 'j':
			*json = true;
			break;
		case 's':
			if (state == NULL)
				return cmd_usage_error(name, "no --state here");
			*state = optarg;
			break;
		case 'h':
			printf("usage: directgate message status MESSAGE-ID "
			    "[--json]\n"
			    "       directgate message list [--state pending|"
			    "processed|dispatched|failed|timed-out] [--json]\n\n"
			    "Delivery tracking of messages sent to other HISPs:"
			    " per recipient\n"
			    "the state (sent, processed, dispatched, failed, "
			    "timed-out), the\n"
			    "times, and every MDN or DSN seen (forwarded to the "
			    "sender or\nsuppressed as a duplicate or late "
			    "report).\n");
			return -1;
		default:
			return cmd_usage_error(name, "bad option");
		}
	}
	return 0;
}

static const char *
state_name(const char *s)
{
	return strcmp(s, "timed_out") == 0 ? "timed-out" : s;
}

int
cmd_message_status(int argc, char **argv)
{
	const char *dir = cmd_global_dir(), *mid;
	struct instance *in = NULL;
	struct store_stmt *st, *ev;
	struct store *s;
	bool json = false;
	struct err e;
	char t[32];
	int rc, n = 0;

	if ((rc = opts(argc, argv, "message status", &dir, &json, NULL)) != 0)
		return rc == -1 ? 0 : rc;
	if (optind + 1 != argc)
		return cmd_usage_error("message status", "one MESSAGE-ID");
	mid = argv[optind];
	if (instance_open(dir, &in, &e) != 0)
		return cmd_fail("%s", e.msg);
	if ((s = instance_store(in, &e)) == NULL) {
		rc = cmd_fail("%s", e.msg);
		goto out;
	}
	st = store_prepare(s, "SELECT rcpt, sender, state, final_requested,"
	    " sent, processed_at, dispatched_at, failed_at, deadline, reason,"
	    " queue_id FROM track WHERE message_id = ?1 ORDER BY rcpt", &e);
	if (st == NULL) {
		rc = cmd_fail("%s", e.msg);
		goto out;
	}
	store_bind_text(st, 1, mid);
	if (json) {
		printf("{\"message_id\":");
		cmd_json_str(stdout, mid);
		printf(",\"recipients\":[");
	}
	while ((rc = store_step(st, &e)) == 1) {
		const char *rcpt = store_col_text(st, 0);

		if (json) {
			printf("%s{\"rcpt\":", n ? "," : "");
			cmd_json_str(stdout, rcpt);
			printf(",\"sender\":");
			cmd_json_str(stdout, store_col_text(st, 1));
			printf(",\"state\":\"%s\",\"final_requested\":%s",
			    state_name(store_col_text(st, 2)),
			    store_col_int(st, 3) ? "true" : "false");
			json_time("sent", store_col_int(st, 4), true);
			json_time("processed", store_col_int(st, 5), true);
			json_time("dispatched", store_col_int(st, 6), true);
			json_time("failed", store_col_int(st, 7), true);
			json_time("deadline", store_col_int(st, 8), true);
			printf(",\"reason\":");
			cmd_json_str(stdout, store_col_text(st, 9));
			printf(",\"queue_id\":");
			cmd_json_str(stdout, store_col_text(st, 10));
			printf(",\"reports\":[");
		} else {
			iso(t, sizeof(t), store_col_int(st, 4));
			printf("%s <%s> %s sent=%s%s%s\n", mid, rcpt,
			    state_name(store_col_text(st, 2)), t,
			    store_col_text(st, 9) ? " reason=" : "",
			    store_col_text(st, 9) ? store_col_text(st, 9) : "");
		}
		ev = store_prepare(s, "SELECT kind, at, forwarded, queue_id,"
		    " note FROM track_event WHERE message_id = ?1 AND rcpt = ?2"
		    " ORDER BY id", &e);
		if (ev == NULL)
			break;
		store_bindv(ev, "ss", mid, rcpt);
		for (int k = 0; store_step(ev, &e) == 1; k++) {
			iso(t, sizeof(t), store_col_int(ev, 1));
			if (json) {
				printf("%s{\"kind\":\"%s\",\"at\":\"%s\","
				    "\"forwarded\":%s,\"queue_id\":", k ? "," : "",
				    store_col_text(ev, 0), t,
				    store_col_int(ev, 2) ? "true" : "false");
				cmd_json_str(stdout, store_col_text(ev, 3));
				printf("}");
			} else {
				printf("    %s %s %s\n", t, store_col_text(ev, 0),
				    store_col_int(ev, 2) ? "forwarded" :
				    "suppressed");
			}
		}
		store_stmt_done(ev);
		if (json)
			printf("]}");
		n++;
	}
	store_stmt_done(st);
	if (json)
		printf("]}\n");
	if (rc < 0) {
		rc = cmd_fail("%s", e.msg);
		goto out;
	}
	rc = n == 0 ? cmd_fail("no tracked message %s", mid) : 0;
out:
	instance_free(&in);
	return rc;
}

int
cmd_message_list(int argc, char **argv)
{
	const char *dir = cmd_global_dir(), *state = NULL, *want = NULL;
	struct instance *in = NULL;
	struct store_stmt *st;
	struct store *s;
	bool json = false;
	struct err e;
	char t[32];
	int rc, n = 0;

	if ((rc = opts(argc, argv, "message list", &dir, &json, &state)) != 0)
		return rc == -1 ? 0 : rc;
	if (state != NULL) {
		if (strcmp(state, "pending") == 0)
			want = "pending";
		else if (strcmp(state, "timed-out") == 0)
			want = "timed_out";
		else if (strcmp(state, "processed") == 0 ||
		    strcmp(state, "dispatched") == 0 ||
		    strcmp(state, "failed") == 0 || strcmp(state, "sent") == 0)
			want = state;
		else
			return cmd_usage_error("message list", "unknown state "
			    "'%s'", state);
	}
	if (instance_open(dir, &in, &e) != 0)
		return cmd_fail("%s", e.msg);
	if ((s = instance_store(in, &e)) == NULL) {
		rc = cmd_fail("%s", e.msg);
		goto out;
	}
	/* pending: still waiting for a final outcome. */
	st = store_prepare(s, "SELECT message_id, rcpt, state, sent FROM track"
	    " WHERE ?1 IS NULL OR state = ?1 OR (?1 = 'pending' AND (state ="
	    " 'sent' OR (state = 'processed' AND final_requested = 1)))"
	    " ORDER BY sent DESC, message_id, rcpt LIMIT 10000", &e);
	if (st == NULL) {
		rc = cmd_fail("%s", e.msg);
		goto out;
	}
	store_bind_text(st, 1, want);
	if (json)
		printf("[");
	while ((rc = store_step(st, &e)) == 1) {
		iso(t, sizeof(t), store_col_int(st, 3));
		if (json) {
			printf("%s{\"message_id\":", n ? "," : "");
			cmd_json_str(stdout, store_col_text(st, 0));
			printf(",\"rcpt\":");
			cmd_json_str(stdout, store_col_text(st, 1));
			printf(",\"state\":\"%s\",\"sent\":\"%s\"}",
			    state_name(store_col_text(st, 2)), t);
		} else {
			printf("%s %s <%s> %s\n", t,
			    state_name(store_col_text(st, 2)),
			    store_col_text(st, 1), store_col_text(st, 0));
		}
		n++;
	}
	store_stmt_done(st);
	if (json)
		printf("]\n");
	rc = rc < 0 ? cmd_fail("%s", e.msg) : 0;
out:
	instance_free(&in);
	return rc;
}
