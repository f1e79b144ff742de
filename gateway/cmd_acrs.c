/* `directgate acrs validate|import|lookup|review|stats`: the Active Care
 * Relationship Service from the command line. Problems in a file are
 * printed with row, column, code and message (never the data); lookup
 * shows who has an active relationship with a patient (the care team:
 * NPI, relationship, organization, submitter, the submitter's patient id,
 * consent), never the patient's demographics. */
#include "gateway/cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adt/acrs_config.h"
#include "adt/acrs_file.h"
#include "adt/acrs_import.h"
#include "adt/acrs_match.h"
#include "adt/acrs_norm.h"
#include "adt/acrs_store.h"
#include "core/buf.h"
#include "core/str.h"
#include "gateway/instance.h"

static void
help(void)
{
	printf("usage: directgate acrs validate FILE [--json]\n"
	    "       directgate acrs import FILE --submitter ORG "
	    "[--mode replace|delta] [--strict] [--json]\n"
	    "       directgate acrs lookup (--id ID --authority AA | "
	    "--member-id ID --payer P |\n"
	    "                               --last L --first F --dob "
	    "YYYY-MM-DD [--sex S] [--zip Z]\n"
	    "                               [--phone P] [--address A] "
	    "[--city C]) [--all] [--json]\n"
	    "       directgate acrs review list [--state pending|accepted|"
	    "rejected] [--json]\n"
	    "       directgate acrs review accept|reject ID\n"
	    "       directgate acrs stats [--json]\n\n"
	    "validate: checks an ACRS file (CSV with a header row; the "
	    "columns of the\n"
	    "  ACRS digest) and prints every problem: row (the line it "
	    "starts on),\n"
	    "  column, code, message. Exit 0 when the file is clean, 1 "
	    "otherwise.\n"
	    "import: loads the file for submitter ORG in one transaction. "
	    "replace (the\n"
	    "  default) supersedes ORG's previous file; delta adds and "
	    "updates (rows\n"
	    "  with an end_date terminate). Bad rows are reported and "
	    "skipped, or with\n"
	    "  --strict the whole file is rejected. Exit 0 when loaded.\n"
	    "lookup: who has an active care relationship with this patient "
	    "(matched by\n"
	    "  identifier or by demographics, as the notification agent "
	    "does).\n"
	    "review: possible matches held for review (never sent); accept "
	    "links the\n"
	    "  ADT's identifier to the patient, reject dismisses.\n"
	    "stats: counts per submitter and in total.\n\n"
	    "  --dir DIR          the instance directory\n"
	    "  --today YYYY-MM-DD the date the active rule uses (default: "
	    "today, UTC)\n"
	    "  --json             print JSON\n");
}

/* [acrs] settings (registered by gateway/instance.c). */
static int
settings_of(struct instance *in, struct acrs_settings *s, struct err *e)
{
	return acrs_config_read(in->cfg, s, e);
}

/* Problems, printed as they come. */
struct report {
	bool json;
	const char *file;
	uint64_t printed;
};

static void
on_issue(void *arg, const struct acrs_issue *is)
{
	struct report *r = arg;

	if (r->json) {
		printf("%s\n    {\"row\": %llu, \"column\": ",
		    r->printed ? "," : "", (unsigned long long)is->row);
		cmd_json_str(stdout, is->column);
		printf(", \"code\": ");
		cmd_json_str(stdout, is->code);
		printf(", \"message\": ");
		cmd_json_str(stdout, is->msg);
		printf("}");
	} else {
		printf("%s: row %llu%s%s: %s: %s\n", r->file,
		    (unsigned long long)is->row, is->column[0] ?
		    ", column " : "", is->column, is->code, is->msg);
	}
	r->printed++;
}

static int
parse_today(const char *s, int32_t *today_r)
{
	if (s == NULL) {
		*today_r = acrs_norm_today((int64_t)time(NULL));
		return 0;
	}
	return acrs_norm_date(s, strlen(s), today_r);
}

static int
acrs_file_cmd(const char *dir, const char *file, const char *submitter,
    enum acrs_mode mode, bool strict, int32_t today, bool json)
{
	struct report rep = {json, file, 0};
	struct acrs_import_file_opts o;
	struct acrs_import_result res;
	struct acrs_settings set;
	struct instance *in = NULL;
	struct store *s = NULL;
	struct err e;
	int rc;

	memset(&o, 0, sizeof(o));
	if (submitter != NULL) {
		if (instance_open(dir, &in, &e) != 0)
			return cmd_fail("%s", e.msg);
		if (settings_of(in, &set, &e) == -1 ||
		    (s = instance_store(in, &e)) == NULL) {
			instance_free(&in);
			return cmd_fail("%s", e.msg);
		}
		o.cache_bytes = set.import_cache;
	}
	o.submitter = submitter;
	o.mode = mode;
	o.strict = strict;
	o.today = today;
	o.issue = on_issue;
	o.arg = &rep;
	if (json)
		printf("{\"issues\": [");
	rc = acrs_import_file(s, file, &o, &res, &e);
	if (json) {
		printf("%s],\n  \"file\": ", rep.printed ? "\n  " : "");
		cmd_json_str(stdout, file);
		if (rc == -1) {
			printf(", \"error\": ");
			cmd_json_str(stdout, e.msg);
		}
		printf(", \"header_ok\": %s, \"rows\": %llu, \"good\": %llu, "
		    "\"bad\": %llu, \"problems\": %llu, \"patients\": %llu",
		    res.header_ok ? "true" : "false",
		    (unsigned long long)res.file.rows,
		    (unsigned long long)res.file.good,
		    (unsigned long long)res.file.bad,
		    (unsigned long long)res.file.issues,
		    (unsigned long long)res.file.patients);
		if (submitter != NULL) {
			printf(", \"submitter\": ");
			cmd_json_str(stdout, submitter);
			printf(", \"mode\": \"%s\", \"strict\": %s, "
			    "\"committed\": %s, \"rejected\": %s, "
			    "\"seconds\": %.3f", mode == ACRS_MODE_DELTA ?
			    "delta" : "replace", strict ? "true" : "false",
			    res.committed ? "true" : "false",
			    res.rejected ? "true" : "false", res.seconds);
		}
		printf("}\n");
	} else if (rc == 0) {
		printf("%s: %llu rows: %llu good, %llu bad (%llu problems), "
		    "%llu patients\n", file, (unsigned long long)res.file.rows,
		    (unsigned long long)res.file.good,
		    (unsigned long long)res.file.bad,
		    (unsigned long long)res.file.issues,
		    (unsigned long long)res.file.patients);
		if (!res.header_ok)
			printf("%s: bad header: nothing read\n", file);
		else if (res.rejected)
			printf("%s: rejected (--strict): nothing written, the "
			    "previous roster stands\n", file);
		else if (res.committed)
			printf("%s: imported for %s (%s) in %.2f s (%.0f rows/s)"
			    "\n", file, submitter, mode == ACRS_MODE_DELTA ?
			    "delta" : "replace", res.seconds,
			    res.seconds > 0 ? (double)res.file.rows /
			    res.seconds : 0.0);
	}
	instance_free(&in);
	if (rc == -1)
		return cmd_fail("%s", e.msg);
	if (submitter == NULL)
		return res.header_ok && res.file.issues == 0 ? 0 : 1;
	return res.committed ? 0 : 1;
}

struct lookup_args {
	const char *id, *authority, *member, *payer;
	struct acrs_person p;
	bool demo, all, json;
};

static void
print_member(const struct acrs_member *m, bool json, bool first)
{
	char d[3][16];
	int32_t v[3] = {m->last_seen, m->start_date, m->end_date};

	for (int i = 0; i < 3; i++)
		if (v[i] == 0)
			d[i][0] = '\0';
		else
			str_fmt(d[i], sizeof(d[i]), "%04d-%02d-%02d",
			    (int)(v[i] / 10000), (int)(v[i] / 100 % 100),
			    (int)(v[i] % 100));
	if (!json) {
		printf("  %s %-17s %-8s %s patient_id=%s consent=%s "
		    "last_seen=%s end_date=%s  %s / %s\n", m->npi,
		    acrs_file_rel_name(m->rel), m->active ? "active" :
		    "inactive", m->submitter, m->patient_id, m->restricted ?
		    "restricted" : "standard", d[0][0] ? d[0] : "-",
		    d[2][0] ? d[2] : "-", m->provider_name, m->organization);
		return;
	}
	printf("%s\n    {\"npi\": \"%s\", \"relationship\": \"%s\", "
	    "\"active\": %s, \"consent\": \"%s\", \"submitter\": ",
	    first ? "" : ",", m->npi, acrs_file_rel_name(m->rel),
	    m->active ? "true" : "false", m->restricted ? "restricted" :
	    "standard");
	cmd_json_str(stdout, m->submitter);
	printf(", \"patient_id\": ");
	cmd_json_str(stdout, m->patient_id);
	printf(", \"id_type\": \"%s\", \"provider_name\": ", m->id_type);
	cmd_json_str(stdout, m->provider_name);
	printf(", \"organization\": ");
	cmd_json_str(stdout, m->organization);
	printf(", \"last_seen\": \"%s\", \"start_date\": \"%s\", "
	    "\"end_date\": \"%s\"}", d[0], d[1], d[2]);
}

static int
acrs_lookup(const char *dir, struct lookup_args *a, int32_t today)
{
	struct instance *in = NULL;
	struct acrs_settings set;
	struct acrs_matcher *m = NULL;
	struct acrs_match_result r;
	struct acrs_member *team = NULL;
	size_t n_team = 0;
	struct store *s;
	struct err e;

	if (instance_open(dir, &in, &e) != 0)
		return cmd_fail("%s", e.msg);
	if (settings_of(in, &set, &e) == -1 ||
	    (s = instance_store(in, &e)) == NULL) {
		instance_free(&in);
		return cmd_fail("%s", e.msg);
	}
	if (a->id != NULL) {
		str_lcpy(a->p.ids[0].id, a->id, sizeof(a->p.ids[0].id));
		str_lcpy(a->p.ids[0].authority, a->authority,
		    sizeof(a->p.ids[0].authority));
		a->p.n_ids = 1;
	}
	if (a->member != NULL) {
		str_lcpy(a->p.members[0].member_id, a->member,
		    sizeof(a->p.members[0].member_id));
		str_lcpy(a->p.members[0].payer, a->payer,
		    sizeof(a->p.members[0].payer));
		a->p.n_members = 1;
	}
	m = acrs_matcher_new(s, &set);
	if (acrs_match(m, &a->p, today, "lookup", &r, &e) == -1) {
		acrs_matcher_free(&m);
		instance_free(&in);
		return cmd_fail("%s", e.msg);
	}
	/* With --all, every relationship of the matched patients. */
	if (a->all)
		for (size_t i = 0; i < r.n_hits; i++)
			if (r.hits[i].decision == ACRS_MATCH &&
			    acrs_store_team(s, r.hits[i].patient, today,
			    set.lookback_months, true, &team, &n_team,
			    &e) == -1) {
				acrs_match_result_clear(&r);
				acrs_matcher_free(&m);
				instance_free(&in);
				return cmd_fail("%s", e.msg);
			}
	if (a->json) {
		printf("{\"decision\": \"%s\", \"score\": %.2f, "
		    "\"candidates\": %zu, \"team\": [",
		    acrs_match_decision_name(r.decision), r.best,
		    r.candidates);
		for (size_t i = 0; i < (a->all ? n_team : r.n_team); i++)
			print_member(a->all ? &team[i] : &r.team[i], true,
			    i == 0);
		printf("],\n  \"matches\": [");
	} else {
		printf("decision: %s (score %.2f, %zu candidates)\n",
		    acrs_match_decision_name(r.decision), r.best,
		    r.candidates);
		printf("care team (%s):\n", a->all ? "all relationships" :
		    "active");
		for (size_t i = 0; i < (a->all ? n_team : r.n_team); i++)
			print_member(a->all ? &team[i] : &r.team[i], false,
			    false);
	}
	for (size_t i = 0; i < r.n_hits; i++) {
		struct acrs_cand c;

		if (acrs_store_cand(s, r.hits[i].patient, &c, &e) != 1)
			continue;
		if (a->json) {
			printf("%s\n    {\"submitter\": ", i ? "," : "");
			cmd_json_str(stdout, c.submitter);
			printf(", \"patient_id\": ");
			cmd_json_str(stdout, c.patient_id);
			printf(", \"decision\": \"%s\", \"score\": %.2f, "
			    "\"by_identifier\": %s}",
			    acrs_match_decision_name(r.hits[i].decision),
			    r.hits[i].score, r.hits[i].by_ident ? "true" :
			    "false");
		} else {
			printf("%s %s patient_id=%s score=%.2f%s\n",
			    acrs_match_decision_name(r.hits[i].decision),
			    c.submitter, c.patient_id, r.hits[i].score,
			    r.hits[i].by_ident ? " (identifier)" : "");
		}
	}
	if (a->json)
		printf("]}\n");
	free(team);
	acrs_match_result_clear(&r);
	acrs_matcher_free(&m);
	instance_free(&in);
	return 0;
}

struct review_print {
	bool json;
	size_t n;
};

static void
on_review(void *arg, const struct acrs_review_item *it)
{
	struct review_print *p = arg;

	if (p->json) {
		printf("%s\n  {\"id\": %lld, \"created\": %lld, \"event\": ",
		    p->n ? "," : "", (long long)it->id, (long long)it->created);
		cmd_json_str(stdout, it->event_ref != NULL ? it->event_ref : "");
		printf(", \"submitter\": ");
		cmd_json_str(stdout, it->submitter);
		printf(", \"patient_id\": ");
		cmd_json_str(stdout, it->patient_id);
		printf(", \"score\": %.2f, \"state\": \"%s\"}", it->score,
		    it->state);
	} else {
		printf("%lld %s event=%s %s patient_id=%s score=%.2f\n",
		    (long long)it->id, it->state, it->event_ref != NULL ?
		    it->event_ref : "-", it->submitter, it->patient_id,
		    it->score);
	}
	p->n++;
}

static int
acrs_review(const char *dir, int argc, char **argv, int optind_,
    const char *state, bool json)
{
	struct instance *in = NULL;
	struct store *s;
	struct err e;
	int rc = 0;

	if (argc - optind_ < 1)
		return cmd_usage_error("acrs", "review list, accept ID or "
		    "reject ID?");
	if (instance_open(dir, &in, &e) != 0)
		return cmd_fail("%s", e.msg);
	if ((s = instance_store(in, &e)) == NULL) {
		instance_free(&in);
		return cmd_fail("%s", e.msg);
	}
	if (strcmp(argv[optind_], "list") == 0) {
		struct review_print p = {json, 0};

		if (json)
			printf("[");
		if (acrs_store_review_list(s, state, on_review, &p, &e) == -1)
			rc = cmd_fail("%s", e.msg);
		else if (json)
			printf("%s]\n", p.n ? "\n" : "");
	} else if (strcmp(argv[optind_], "accept") == 0 ||
	    strcmp(argv[optind_], "reject") == 0) {
		int64_t id;

		if (argc - optind_ != 2 ||
		    str_to_i64(argv[optind_ + 1], 1, INT64_MAX, &id) != 0)
			rc = cmd_usage_error("acrs", "review %s takes one ID",
			    argv[optind_]);
		else if (acrs_store_review_decide(s, id,
		    argv[optind_][0] == 'a', &e) == -1)
			rc = cmd_fail("%s", e.msg);
		else
			printf("review %lld %s\n", (long long)id,
			    argv[optind_][0] == 'a' ? "accepted" : "rejected");
	} else {
		rc = cmd_usage_error("acrs", "review list, accept or reject?");
	}
	instance_free(&in);
	return rc;
}

struct sub_print {
	bool json;
	size_t n;
};

static void
on_sub(void *arg, const struct acrs_store_sub *sub)
{
	struct sub_print *p = arg;

	if (p->json) {
		printf("%s\n    {\"name\": ", p->n ? "," : "");
		cmd_json_str(stdout, sub->name);
		printf(", \"imported\": %lld, \"mode\": \"%s\", \"patients\": "
		    "%lld, \"relationships\": %lld, \"bad_rows\": %lld}",
		    (long long)sub->imported, sub->mode,
		    (long long)sub->patients, (long long)sub->relationships,
		    (long long)sub->bad_rows);
	} else {
		printf("  %-20s %-7s patients %lld, relationships %lld, bad "
		    "rows %lld\n", sub->name, sub->mode,
		    (long long)sub->patients, (long long)sub->relationships,
		    (long long)sub->bad_rows);
	}
	p->n++;
}

static int
acrs_stats(const char *dir, int32_t today, bool json)
{
	struct instance *in = NULL;
	struct acrs_settings set;
	struct acrs_store_stats st;
	struct sub_print p = {json, 0};
	struct store *s;
	struct err e;

	if (instance_open(dir, &in, &e) != 0)
		return cmd_fail("%s", e.msg);
	if (settings_of(in, &set, &e) == -1 ||
	    (s = instance_store(in, &e)) == NULL ||
	    acrs_store_stats(s, today, set.lookback_months, &st, &e) == -1) {
		instance_free(&in);
		return cmd_fail("%s", e.msg);
	}
	if (json)
		printf("{\"submitters\": %lld, \"patients\": %lld, "
		    "\"relationships\": %lld, \"active\": %lld, "
		    "\"restricted\": %lld, \"review_pending\": %lld, "
		    "\"links\": %lld, \"by_submitter\": [",
		    (long long)st.submitters, (long long)st.patients,
		    (long long)st.relationships, (long long)st.active,
		    (long long)st.restricted, (long long)st.review_pending,
		    (long long)st.links);
	else
		printf("submitters %lld, patients %lld, relationships %lld "
		    "(%lld active, %lld restricted), review pending %lld, "
		    "links %lld\n", (long long)st.submitters,
		    (long long)st.patients, (long long)st.relationships,
		    (long long)st.active, (long long)st.restricted,
		    (long long)st.review_pending, (long long)st.links);
	if (acrs_store_submitters(s, on_sub, &p, &e) == -1) {
		instance_free(&in);
		return cmd_fail("%s", e.msg);
	}
	if (json)
		printf("%s]}\n", p.n ? "\n  " : "");
	instance_free(&in);
	return 0;
}

int
cmd_acrs(int argc, char **argv)
{
	enum {
		O_SUBMITTER = 256, O_MODE, O_STRICT, O_JSON, O_TODAY, O_ID,
		O_AUTH, O_MEMBER, O_PAYER, O_LAST, O_FIRST, O_DOB, O_SEX,
		O_ZIP, O_PHONE, O_ADDRESS, O_CITY, O_STATE, O_ALL
	};
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"submitter", required_argument, NULL, O_SUBMITTER},
		{"mode", required_argument, NULL, O_MODE},
		{"strict", no_argument, NULL, O_STRICT},
		{"json", no_argument, NULL, O_JSON},
		{"today", required_argument, NULL, O_TODAY},
		{"id", required_argument, NULL, O_ID},
		{"authority", required_argument, NULL, O_AUTH},
		{"member-id", required_argument, NULL, O_MEMBER},
		{"payer", required_argument, NULL, O_PAYER},
		{"last", required_argument, NULL, O_LAST},
		{"first", required_argument, NULL, O_FIRST},
		{"dob", required_argument, NULL, O_DOB},
		{"sex", required_argument, NULL, O_SEX},
		{"zip", required_argument, NULL, O_ZIP},
		{"phone", required_argument, NULL, O_PHONE},
		{"address", required_argument, NULL, O_ADDRESS},
		{"city", required_argument, NULL, O_CITY},
		{"state", required_argument, NULL, O_STATE},
		{"all", no_argument, NULL, O_ALL},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = cmd_global_dir(), *action, *submitter = NULL;
	const char *today_s = NULL, *state = NULL;
	enum acrs_mode mode = ACRS_MODE_REPLACE;
	struct lookup_args la;
	bool strict = false, json = false;
	int32_t today;
	int c;

	memset(&la, 0, sizeof(la));
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		help();
		return 0;
	}
	if (argc < 2 || argv[1][0] == '-')
		return cmd_usage_error("acrs", "validate, import, lookup, "
		    "review or stats?");
	action = argv[1];
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case O_SUBMITTER:
			submitter = optarg;
			break;
		case O_MODE:
			if (strcmp(optarg, "replace") == 0)
				mode = ACRS_MODE_REPLACE;
			else if (strcmp(optarg, "delta") == 0)
				mode = ACRS_MODE_DELTA;
			else
				return cmd_usage_error("acrs", "--mode is "
				    "replace or delta");
			break;
		case O_STRICT:
			strict = true;
			break;
		case O_JSON:
			json = true;
			la.json = true;
			break;
		case O_TODAY:
			today_s = optarg;
			break;
		case O_ID:
			la.id = optarg;
			break;
		case O_AUTH:
			la.authority = optarg;
			break;
		case O_MEMBER:
			la.member = optarg;
			break;
		case O_PAYER:
			la.payer = optarg;
			break;
		case O_LAST:
			str_lcpy(la.p.last, optarg, sizeof(la.p.last));
			la.demo = true;
			break;
		case O_FIRST:
			str_lcpy(la.p.first, optarg, sizeof(la.p.first));
			la.demo = true;
			break;
		case O_DOB:
			str_lcpy(la.p.dob, optarg, sizeof(la.p.dob));
			la.demo = true;
			break;
		case O_SEX:
			str_lcpy(la.p.sex, optarg, sizeof(la.p.sex));
			break;
		case O_ZIP:
			str_lcpy(la.p.zip, optarg, sizeof(la.p.zip));
			break;
		case O_PHONE:
			str_lcpy(la.p.phone, optarg, sizeof(la.p.phone));
			break;
		case O_ADDRESS:
			str_lcpy(la.p.address1, optarg, sizeof(la.p.address1));
			break;
		case O_CITY:
			str_lcpy(la.p.city, optarg, sizeof(la.p.city));
			break;
		case O_STATE:
			state = optarg;
			str_lcpy(la.p.state, optarg, sizeof(la.p.state));
			break;
		case O_ALL:
			la.all = true;
			break;
		case 'h':
			help();
			return 0;
		default:
			return cmd_usage_error("acrs", "bad option");
		}
	}
	if (parse_today(today_s, &today) == -1)
		return cmd_usage_error("acrs", "--today is YYYY-MM-DD");
	if (strcmp(action, "validate") == 0) {
		if (argc - optind != 1)
			return cmd_usage_error("acrs", "validate takes one FILE");
		return acrs_file_cmd(dir, argv[optind], NULL, mode, false,
		    today, json);
	}
	if (strcmp(action, "import") == 0) {
		if (argc - optind != 1)
			return cmd_usage_error("acrs", "import takes one FILE");
		if (submitter == NULL || submitter[0] == '\0')
			return cmd_usage_error("acrs", "import needs "
			    "--submitter ORG");
		return acrs_file_cmd(dir, argv[optind], submitter, mode,
		    strict, today, json);
	}
	if (strcmp(action, "lookup") == 0) {
		if (optind != argc)
			return cmd_usage_error("acrs", "lookup takes options "
			    "only");
		if ((la.id != NULL) != (la.authority != NULL))
			return cmd_usage_error("acrs", "--id goes with "
			    "--authority");
		if ((la.member != NULL) != (la.payer != NULL))
			return cmd_usage_error("acrs", "--member-id goes with "
			    "--payer");
		if (la.id == NULL && la.member == NULL && !la.demo)
			return cmd_usage_error("acrs", "lookup needs --id, "
			    "--member-id or demographics");
		return acrs_lookup(dir, &la, today);
	}
	if (strcmp(action, "review") == 0)
		return acrs_review(dir, argc, argv, optind, state, json);
	if (strcmp(action, "stats") == 0) {
		if (optind != argc)
			return cmd_usage_error("acrs", "stats takes no "
			    "arguments");
		return acrs_stats(dir, today, json);
	}
	return cmd_usage_error("acrs", "unknown action '%s'", action);
}
