/* `directgate demo generate`: writes the synthetic, reproducible data set
 * of adt/demo_data.h (ACRS files, Health Directory tables, an ADT stream
 * with injected demographic errors, ground-truth labels). */
#include "gateway/cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "adt/acrs_norm.h"
#include "adt/demo_data.h"
#include "core/str.h"

static void
help(void)
{
	printf("usage: directgate demo generate --out DIR [--patients N] "
	    "[--providers M]\n"
	    "                              [--seed S] [--domain DOMAIN] "
	    "[--mllp HOST:PORT]\n"
	    "                              [--today YYYY-MM-DD] [--json]\n\n"
	    "Writes a synthetic data set (every name, address and number is "
	    "made up;\n"
	    "the same options give the same bytes) under DIR:\n"
	    "  acrs/<SUBMITTER>.csv   one ACRS file per submitting "
	    "organization\n"
	    "  acrs/submitters.csv    the submitters and their files\n"
	    "  directory/*.csv        Health Directory tables "
	    "(organizations, providers,\n"
	    "                         memberships, endpoints, preferences)\n"
	    "  adt/messages.hl7       HL7 v2.5.1 A01/A03/A04/A08/A11 "
	    "messages whose PID\n"
	    "                         carries injected errors (typos, swapped "
	    "names, moved\n"
	    "                         addresses, missing fields, birth-date "
	    "typos; twins)\n"
	    "  labels.csv             which ACRS rows each message's patient "
	    "is\n\n"
	    "  --patients N   persons (default 1000)\n"
	    "  --providers M  providers (default 100; organizations are "
	    "M/8, plus 4 payers)\n"
	    "  --seed S       random seed (default 1)\n"
	    "  --domain D     domain of the Direct addresses (default "
	    "direct.demo.test)\n"
	    "  --mllp H:P     the MLLP endpoint of providers who prefer HL7 "
	    "(default\n"
	    "                 127.0.0.1:2575)\n"
	    "  --today DATE   the date relationships are relative to "
	    "(default: today)\n");
}

int
cmd_demo(int argc, char **argv)
{
	enum { O_PATIENTS = 256, O_PROVIDERS, O_SEED, O_OUT, O_DOMAIN,
	    O_MLLP, O_TODAY, O_JSON };
	static const struct option opts[] = {
		{"patients", required_argument, NULL, O_PATIENTS},
		{"providers", required_argument, NULL, O_PROVIDERS},
		{"seed", required_argument, NULL, O_SEED},
		{"out", required_argument, NULL, O_OUT},
		{"domain", required_argument, NULL, O_DOMAIN},
		{"mllp", required_argument, NULL, O_MLLP},
		{"today", required_argument, NULL, O_TODAY},
		{"json", no_argument, NULL, O_JSON},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct demo_data_opts o;
	struct demo_data *d;
	const char *out = NULL;
	bool json = false;
	struct err e;
	int64_t v;
	int c;

	memset(&o, 0, sizeof(o));
	o.patients = 1000;
	o.providers = 100;
	o.seed = 1;
	o.today = acrs_norm_today((int64_t)time(NULL));
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		help();
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "generate") != 0)
		return cmd_usage_error("demo", "generate?");
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_PATIENTS:
			if (str_to_i64(optarg, 1, 50000000, &v) != 0)
				return cmd_usage_error("demo", "bad --patients");
			o.patients = (unsigned)v;
			break;
		case O_PROVIDERS:
			if (str_to_i64(optarg, 4, 10000000, &v) != 0)
				return cmd_usage_error("demo",
				    "bad --providers (at least 4)");
			o.providers = (unsigned)v;
			break;
		case O_SEED:
			if (str_to_i64(optarg, 0, INT64_MAX, &v) != 0)
				return cmd_usage_error("demo", "bad --seed");
			o.seed = (uint64_t)v;
			break;
		case O_OUT:
			out = optarg;
			break;
		case O_DOMAIN:
			o.domain = optarg;
			break;
		case O_MLLP:
			o.mllp = optarg;
			break;
		case O_TODAY:
			if (acrs_norm_date(optarg, strlen(optarg),
			    &o.today) == -1)
				return cmd_usage_error("demo",
				    "--today is YYYY-MM-DD");
			break;
		case O_JSON:
			json = true;
			break;
		case 'h':
			help();
			return 0;
		default:
			return cmd_usage_error("demo", "bad option");
		}
	}
	if (optind != argc)
		return cmd_usage_error("demo", "unexpected argument '%s'",
		    argv[optind]);
	if (out == NULL)
		return cmd_usage_error("demo", "give --out DIR");
	d = demo_data_new(&o);
	if (demo_data_write(d, out, &e) == -1) {
		demo_data_free(&d);
		return cmd_fail("%s", e.msg);
	}
	if (json) {
		printf("{\"out\": ");
		cmd_json_str(stdout, out);
		printf(", \"patients\": %u, \"providers\": %u, \"seed\": %llu, "
		    "\"submitters\": %zu, \"relationships\": %zu, "
		    "\"visits\": %zu}\n", o.patients, o.providers,
		    (unsigned long long)o.seed, demo_data_submitters(d),
		    demo_data_relationships(d), demo_data_visits(d));
	} else {
		printf("%s: %u patients, %u providers, %zu submitters, %zu "
		    "relationships, %zu visits (seed %llu)\n", out, o.patients,
		    o.providers, demo_data_submitters(d),
		    demo_data_relationships(d), demo_data_visits(d),
		    (unsigned long long)o.seed);
	}
	demo_data_free(&d);
	return 0;
}
