/* `directgate queue`: what is waiting, and what to do with it. The queue
 * lives in the store; the daemon picks up a retry at its next scan. */
#include "gateway/cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/instance.h"

static void
help(void)
{
	printf("usage: directgate queue list [--json]\n"
	    "       directgate queue show ID [--json]\n"
	    "       directgate queue retry ID|--all\n"
	    "       directgate queue delete ID\n\n"
	    "The mail queue: each message with its direction (in: from another\n"
	    "HISP; out: to one; local: generated here), sender, size, and per\n"
	    "recipient its state (pending, sent, delivered, failed), attempts,\n"
	    "next try and last reason. retry makes pending recipients due now;\n"
	    "delete drops a message without a bounce. Bodies are never "
	    "printed.\n");
}

static void
fmt_time(char *dst, size_t n, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(dst, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int
list(struct store *s, bool json, const char *only_id)
{
	struct store_stmt *m, *r;
	struct err e;
	int rc, n = 0;
	char t1[32], t2[32];

	m = store_prepare(s, "SELECT id, direction, mail_from, message_id,"
	    " size, received, expires FROM queue_msg"
	    " WHERE ?1 IS NULL OR id = ?1 ORDER BY received, id", &e);
	if (m == NULL)
		return cmd_fail("%s", e.msg);
	store_bind_text(m, 1, only_id);
	if (json)
		printf("[");
	while ((rc = store_step(m, &e)) == 1) {
		const char *id = store_col_text(m, 0);

		fmt_time(t1, sizeof(t1), store_col_int(m, 5));
		fmt_time(t2, sizeof(t2), store_col_int(m, 6));
		if (json) {
			printf("%s{\"id\":\"%s\",\"direction\":\"%s\",\"from\":",
			    n ? "," : "", id, store_col_text(m, 1));
			cmd_json_str(stdout, store_col_text(m, 2));
			printf(",\"message_id\":");
			cmd_json_str(stdout, store_col_text(m, 3));
			printf(",\"size\":%lld,\"received\":\"%s\","
			    "\"expires\":\"%s\",\"recipients\":[",
			    (long long)store_col_int(m, 4), t1, t2);
		} else {
			printf("%s %-5s %8lld %s <%s>\n", id,
			    store_col_text(m, 1),
			    (long long)store_col_int(m, 4), t1,
			    store_col_text(m, 2));
		}
		r = store_prepare(s, "SELECT rcpt, state, attempts, next_try,"
		    " status, reason FROM queue_rcpt WHERE msg = ?1"
		    " ORDER BY rcpt", &e);
		if (r == NULL)
			return cmd_fail("%s", e.msg);
		store_bind_text(r, 1, id);
		for (int k = 0; store_step(r, &e) == 1; k++) {
			const char *st = store_col_text(r, 4);
			const char *why = store_col_text(r, 5);

			fmt_time(t1, sizeof(t1), store_col_int(r, 3));
			if (json) {
				printf("%s{\"rcpt\":", k ? "," : "");
				cmd_json_str(stdout, store_col_text(r, 0));
				printf(",\"state\":\"%s\",\"attempts\":%lld,"
				    "\"next_try\":\"%s\",\"status\":",
				    store_col_text(r, 1),
				    (long long)store_col_int(r, 2), t1);
				cmd_json_str(stdout, st);
				printf(",\"reason\":");
				cmd_json_str(stdout, why);
				printf("}");
			} else {
				printf("    %-9s <%s> attempts=%lld next=%s%s%s"
				    "%s%s\n", store_col_text(r, 1),
				    store_col_text(r, 0),
				    (long long)store_col_int(r, 2), t1,
				    st ? " status=" : "", st ? st : "",
				    why && *why ? " reason=" : "",
				    why && *why ? why : "");
			}
		}
		store_stmt_done(r);
		if (json)
			printf("]}");
		n++;
	}
	store_stmt_done(m);
	if (json)
		printf("]\n");
	if (rc < 0)
		return cmd_fail("%s", e.msg);
	if (only_id != NULL && n == 0)
		return cmd_fail("no message %s in the queue", only_id);
	if (!json && only_id == NULL)
		printf("-- %d message%s\n", n, n == 1 ? "" : "s");
	return 0;
}

int
cmd_queue(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"all", no_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = cmd_global_dir(), *action, *id = NULL;
	struct instance *in = NULL;
	bool json = false, all = false;
	struct store *s;
	struct err e;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "d:jah", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'a':
			all = true;
			break;
		case 'h':
			help();
			return 0;
		default:
			return cmd_usage_error("queue", "bad option");
		}
	}
	if (optind >= argc)
		return cmd_usage_error("queue", "list, show, retry or delete?");
	action = argv[optind++];
	if (optind < argc)
		id = argv[optind++];
	if (optind < argc)
		return cmd_usage_error("queue", "unexpected argument '%s'",
		    argv[optind]);
	if (instance_open(dir, &in, &e) != 0)
		return cmd_fail("%s", e.msg);
	if ((s = instance_store(in, &e)) == NULL) {
		cmd_fail("%s", e.msg);
		goto out;
	}
	if (strcmp(action, "list") == 0) {
		rc = list(s, json, NULL);
	} else if (strcmp(action, "show") == 0) {
		rc = id ? list(s, json, id) : cmd_usage_error("queue",
		    "show needs an ID");
	} else if (strcmp(action, "retry") == 0) {
		if (id == NULL && !all) {
			rc = cmd_usage_error("queue", "retry needs an ID or --all");
			goto out;
		}
		if (store_run(s, &e, "UPDATE queue_rcpt SET next_try = 0"
		    " WHERE state = 'pending' AND (?1 IS NULL OR msg = ?1)", "s",
		    id) != 0) {
			cmd_fail("%s", e.msg);
			goto out;
		}
		printf("%d recipient%s due now\n", store_changes(s),
		    store_changes(s) == 1 ? "" : "s");
		rc = 0;
	} else if (strcmp(action, "delete") == 0) {
		if (id == NULL) {
			rc = cmd_usage_error("queue", "delete needs an ID");
			goto out;
		}
		if (store_run(s, &e, "DELETE FROM queue_msg WHERE id = ?1", "s",
		    id) != 0) {
			cmd_fail("%s", e.msg);
			goto out;
		}
		if (store_changes(s) == 0) {
			cmd_fail("no message %s in the queue", id);
			goto out;
		}
		printf("deleted %s\n", id);
		rc = 0;
	} else {
		rc = cmd_usage_error("queue", "unknown action '%s'", action);
	}
out:
	instance_free(&in);
	return rc;
}
