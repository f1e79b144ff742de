/* `directgate resolve ADDRESS`: discover a recipient's certificates (DNS
 * CERT, URLs, LDAP), validate each, and explain. Exit 0 when at least one
 * valid certificate was found, 1 when none (permanent), 2 on a temporary
 * lookup failure (or a usage error). */
#include "gateway/cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certs/discover.h"
#include "certs/discover_config.h"
#include "certs/discover_trust.h"
#include "certs/dns.h"
#include "certs/domain.h"
#include "certs/validate.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "gateway/instance.h"

#define RESOLVE_MAX_ANCHORS 16

struct resolve_run {
	struct loop *loop;
	struct dns *dns;
	struct discover *dc;
	struct discover_result *res;
};

static void
resolve_cleanup(void *arg)
{
	struct resolve_run *run = arg;

	discover_free(&run->dc);
	dns_free(&run->dns);
	loop_stop(run->loop);
}

static void
resolve_done(void *arg, struct discover_result *res)
{
	struct resolve_run *run = arg;

	run->res = res;
	/* Not from inside a DNS callback: free the resolver from the loop. */
	loop_post(run->loop, resolve_cleanup, run);
}

static bool
config_has(const struct config *cfg, const char *section)
{
	struct buf b;
	char want[64];
	bool has;

	buf_init(&b, BUF_UNLIMITED);
	config_dump(cfg, &b);
	str_fmt(want, sizeof(want), "[%s]\n", section);
	has = strstr(buf_cstr(&b), want) != NULL;
	buf_release(&b);
	return has;
}

static void
fmt_time(time_t t, char out[32])
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL) {
		str_lcpy(out, "", 32);
		return;
	}
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *
verdict_name(enum discover_verdict v)
{
	switch (v) {
	case DISCOVER_VALID: return "valid";
	case DISCOVER_INVALID: return "invalid";
	case DISCOVER_UNCHECKED: return "unchecked";
	}
	return "?";
}

static void
json_field(const char *name, const char *v, bool comma)
{
	printf("%s\"%s\": ", comma ? ", " : "", name);
	if (v == NULL)
		fputs("null", stdout);
	else
		cmd_json_str(stdout, v);
}

static void
print_json(const struct discover_result *r, const char *validation)
{
	const char *t = r->trace != NULL ? r->trace : "";

	printf("{");
	json_field("address", r->address, false);
	json_field("outcome", discover_outcome_name(r->outcome), true);
	json_field("reason", r->reason, true);
	json_field("validation", validation, true);
	printf(", \"candidates\": [");
	for (size_t i = 0; i < r->ncands; i++) {
		const struct discover_cand *c = &r->cands[i];
		char nb[32], na[32];

		fmt_time(c->not_before, nb);
		fmt_time(c->not_after, na);
		printf("%s\n  {", i > 0 ? "," : "");
		json_field("source", discover_source_name(c->source), false);
		json_field("origin", c->origin, true);
		json_field("url", c->url, true);
		json_field("subject", c->subject, true);
		json_field("issuer", c->issuer, true);
		json_field("san", c->san, true);
		json_field("not_before", c->subject ? nb : NULL, true);
		json_field("not_after", c->subject ? na : NULL, true);
		json_field("fingerprint", c->fingerprint[0] ? c->fingerprint :
		    NULL, true);
		json_field("verdict", verdict_name(c->verdict), true);
		json_field("reason", c->reason, true);
		printf(", \"temporary\": %s, \"used\": %s}",
		    c->temporary ? "true" : "false", c->used ? "true" : "false");
	}
	printf("],\n \"trace\": [");
	for (bool first = true; *t != '\0'; first = false) {
		const char *nl = strchr(t, '\n');
		size_t n = nl != NULL ? (size_t)(nl - t) : strlen(t);
		char *line = xstrndup(t, n);

		printf("%s", first ? "" : ", ");
		cmd_json_str(stdout, line);
		free(line);
		t += n + (nl != NULL);
	}
	printf("]}\n");
}

static void
print_text(const struct discover_result *r, const char *validation)
{
	const char *t = r->trace != NULL ? r->trace : "";

	printf("address: %s\nvalidation: %s\n", r->address, validation);
	for (size_t i = 0; i < r->ncands; i++) {
		const struct discover_cand *c = &r->cands[i];
		char nb[32], na[32];

		fmt_time(c->not_before, nb);
		fmt_time(c->not_after, na);
		printf("\ncandidate %zu: %s (%s)%s\n", i + 1,
		    discover_source_name(c->source), c->origin,
		    c->used ? "  << USED" : "");
		if (c->url != NULL)
			printf("  url:         %s\n", c->url);
		if (c->subject != NULL) {
			printf("  subject:     %s\n", c->subject);
			printf("  issuer:      %s\n", c->issuer);
			printf("  san:         %s\n", c->san[0] ? c->san : "-");
			printf("  validity:    %s .. %s\n", nb, na);
			printf("  fingerprint: %s\n", c->fingerprint);
		}
		printf("  verdict:     %s: %s%s\n", verdict_name(c->verdict),
		    c->reason, c->temporary ? " (temporary)" : "");
	}
	printf("\ntrace:\n");
	while (*t != '\0') {
		const char *nl = strchr(t, '\n');
		size_t n = nl != NULL ? (size_t)(nl - t) : strlen(t);

		printf("  %.*s\n", (int)n, t);
		t += n + (nl != NULL);
	}
	printf("\nresult: %s: %s\n", discover_outcome_name(r->outcome),
	    r->reason);
}

static void
resolve_help(void)
{
	printf("usage: directgate resolve ADDRESS [--json] [--dir DIR]\n"
	    "         [--from DOMAIN] [--anchor FILE]... [--no-trust]\n"
	    "         [--server IP:PORT,...] [--timeout DURATION] [--tries N]\n"
	    "         [--no-edns] [--no-ldap] [--srv-seed N] "
	    "[--crl temp|fail|ignore|off]\n\n"
	    "Finds the certificates of a Direct recipient as a sending HISP "
	    "would: DNS CERT\n"
	    "at local.domain, then at domain, then LDAP (SRV _ldap._tcp); "
	    "validates each\n"
	    "against the outgoing trust anchors of the sending domain and "
	    "shows every\n"
	    "candidate with its source, subject, SAN, validity, verdict and "
	    "reason, and\n"
	    "which would be used.\n\n"
	    "  --from DOMAIN    the sending (local) domain whose anchors "
	    "decide; default:\n"
	    "                   the only local domain of the instance\n"
	    "  --anchor FILE    trust the certificates in FILE (PEM, DER, "
	    "PKCS#7) instead\n"
	    "                   of the instance's anchors (may repeat)\n"
	    "  --no-trust       check dates and binding only (no chain, no "
	    "CRL)\n"
	    "  --server ...     DNS servers, overriding [dns] servers\n"
	    "  --srv-seed N     fixed seed for the SRV weight draw\n\n"
	    "Exit status: 0 a valid certificate was found, 1 none (the "
	    "recipient is not\n"
	    "deliverable), 2 a temporary failure (try again later) or a "
	    "usage error.\n");
}

int
cmd_resolve(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"from", required_argument, NULL, 'f'},
		{"anchor", required_argument, NULL, 'a'},
		{"no-trust", no_argument, NULL, 'N'},
		{"server", required_argument, NULL, 's'},
		{"timeout", required_argument, NULL, 't'},
		{"tries", required_argument, NULL, 'T'},
		{"no-edns", no_argument, NULL, 'E'},
		{"no-ldap", no_argument, NULL, 'L'},
		{"srv-seed", required_argument, NULL, 'S'},
		{"crl", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = cmd_global_dir(), *from = NULL, *server = NULL;
	const char *anchors[RESOLVE_MAX_ANCHORS], *crl = NULL;
	size_t nanchors = 0;
	bool json = false, no_trust = false, no_edns = false, no_ldap = false;
	int64_t timeout_ms = -1, tries = -1;
	uint64_t seed = 0;
	struct instance *in = NULL;
	struct dns_settings ds;
	struct discover_settings ss;
	struct validate_opts vo;
	struct discover_trust *trust = NULL;
	struct validate_ctx *ctx = NULL;
	struct resolve_run run;
	struct err e = {0};
	char validation[300], *from_owned = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "d:jf:a:Ns:t:T:ELS:c:h", opts,
	    NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'f':
			from = optarg;
			break;
		case 'a':
			if (nanchors == RESOLVE_MAX_ANCHORS)
				return cmd_usage_error("resolve",
				    "too many --anchor");
			anchors[nanchors++] = optarg;
			break;
		case 'N':
			no_trust = true;
			break;
		case 's':
			server = optarg;
			break;
		case 't':
			if (str_to_duration_ms(optarg, &timeout_ms) != 0 ||
			    timeout_ms <= 0)
				return cmd_usage_error("resolve",
				    "bad --timeout '%s'", optarg);
			break;
		case 'T':
			if (str_to_i64(optarg, 1, 10, &tries) != 0)
				return cmd_usage_error("resolve",
				    "bad --tries '%s'", optarg);
			break;
		case 'E':
			no_edns = true;
			break;
		case 'L':
			no_ldap = true;
			break;
		case 'S':
			if (str_to_u64(optarg, 1, UINT64_MAX, &seed) != 0)
				return cmd_usage_error("resolve",
				    "bad --srv-seed '%s'", optarg);
			break;
		case 'c':
			crl = optarg;
			break;
		case 'h':
			resolve_help();
			return 0;
		default:
			return cmd_usage_error("resolve", "bad option");
		}
	}
	if (optind + 1 != argc)
		return cmd_usage_error("resolve", "one ADDRESS expected");

	/* Settings: the instance's when there is one, else the defaults. */
	dns_settings_default(&ds);
	discover_settings_default(&ss);
	memset(&vo, 0, sizeof(vo));
	if (instance_open(dir, &in, &e) == 0) {
		if (config_has(in->cfg, "dns"))
			discover_config_read(in->cfg, &ds, &ss);
		if (config_has(in->cfg, "certs"))
			validate_opts_from_config(in->cfg, &vo);
	} else if (nanchors == 0 && !no_trust) {
		return cmd_fail("%s (or give --anchor FILE or --no-trust)",
		    e.msg);
	}
	if (server != NULL)
		ds.servers = server;
	if (timeout_ms > 0)
		ds.timeout_ms = timeout_ms;
	if (tries > 0)
		ds.tries = (int)tries;
	if (no_edns)
		ds.edns = false;
	if (no_ldap)
		ss.ldap = false;
	if (seed != 0)
		ss.srv_seed = seed;
	if (crl != NULL) {
		if (strcmp(crl, "temp") == 0)
			vo.crl_policy = VALIDATE_CRL_TEMP;
		else if (strcmp(crl, "fail") == 0)
			vo.crl_policy = VALIDATE_CRL_FAIL;
		else if (strcmp(crl, "ignore") == 0)
			vo.crl_policy = VALIDATE_CRL_IGNORE;
		else if (strcmp(crl, "off") == 0)
			vo.crl_policy = VALIDATE_CRL_OFF;
		else {
			instance_free(&in);
			return cmd_usage_error("resolve", "bad --crl '%s'",
			    crl);
		}
	}

	/* Trust: files, the instance's store, or none. */
	if (no_trust) {
		str_lcpy(validation, "dates and binding only (--no-trust)",
		    sizeof(validation));
	} else if (nanchors > 0) {
		if (from == NULL)
			from = "resolve.invalid";
		if (discover_trust_from_files(from, anchors, nanchors, &vo,
		    &trust, &e) != 0) {
			instance_free(&in);
			return cmd_fail("%s", e.msg);
		}
		str_fmt(validation, sizeof(validation),
		    "trust anchors from %zu file%s", nanchors,
		    nanchors == 1 ? "" : "s");
	} else {
		struct store *st = instance_store(in, &e);

		if (st == NULL || validate_ctx_new(st, &vo, &ctx, &e) != 0) {
			instance_free(&in);
			return cmd_fail("trust store: %s", e.msg);
		}
		if (from == NULL) {
			struct domain_info *v = NULL;
			size_t n = 0;

			if (domain_list(st, &v, &n, &e) != 0 || n != 1) {
				domain_info_free(&v, n);
				validate_ctx_free(&ctx);
				instance_free(&in);
				return cmd_usage_error("resolve", "%s",
				    n == 0 ? "no local domain: add one or "
				    "give --anchor" : "several local domains: "
				    "give --from DOMAIN");
			}
			from = from_owned = xstrdup(v[0].name);
			domain_info_free(&v, n);
		}
		if (!validate_ctx_has_domain(ctx, from)) {
			validate_ctx_free(&ctx);
			instance_free(&in);
			free(from_owned);
			return cmd_fail("%s is not a local domain", from);
		}
		trust = discover_trust_new(ctx, from);
		validate_ctx_free(&ctx);
		str_fmt(validation, sizeof(validation),
		    "outgoing anchors of %s", from);
	}

	log_set_level(LOG_LEVEL_WARN);
	memset(&run, 0, sizeof(run));
	if (loop_new(&run.loop, &e) != 0) {
		rc = cmd_fail("%s", e.msg);
		goto out;
	}
	if (dns_new(run.loop, &ds, &run.dns, &e) != 0) {
		rc = cmd_fail("%s", e.msg);
		loop_stop(run.loop);
		loop_run(run.loop);
		goto out;
	}
	run.dc = discover_new(run.loop, run.dns, &ss,
	    trust != NULL ? discover_trust_validate : discover_validate_basic,
	    trust);
	if (discover_start(run.dc, argv[optind], resolve_done, &run, &e) ==
	    NULL) {
		discover_free(&run.dc);
		dns_free(&run.dns);
		loop_stop(run.loop);
		loop_run(run.loop);
		rc = cmd_fail("%s: %s", argv[optind], e.msg);
		goto out;
	}
	loop_run(run.loop);
	if (run.res == NULL) {
		rc = cmd_fail("resolve: interrupted");
		rc = 2;
		goto out;
	}
	if (json)
		print_json(run.res, validation);
	else
		print_text(run.res, validation);
	rc = run.res->outcome == DISCOVER_FOUND ? 0 :
	    run.res->outcome == DISCOVER_NONE ? 1 : 2;
out:
	discover_result_free(&run.res);
	loop_free(&run.loop);
	discover_trust_free(&trust);
	free(from_owned);
	instance_free(&in);
	return rc;
}
