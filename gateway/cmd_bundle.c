/* `directgate bundle add|list|remove|refresh|attach|detach`: trust
 * bundles (PKCS#7 sets of anchors from a file or an HTTP(S) URL). */
#include "gateway/cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "certs/anchor.h"
#include "certs/bundle.h"
#include "core/str.h"
#include "gateway/instance.h"

static void
help(void)
{
	printf("usage: directgate bundle add URL|PATH [--domain D --direction"
	    " in|out|both]\n"
	    "                            [--refresh DURATION] [--no-fetch]\n"
	    "       directgate bundle list [--json]\n"
	    "       directgate bundle remove ID\n"
	    "       directgate bundle refresh [ID] [--force]\n"
	    "       directgate bundle attach ID --domain D --direction"
	    " in|out|both\n"
	    "       directgate bundle detach ID --domain D\n\n"
	    "A trust bundle is a PKCS#7 (.p7b/.p7c, DER or PEM) set of\n"
	    "anchors, fetched from an http(s) URL or read from a file, and\n"
	    "attached to local domains like single anchors. The daemon\n"
	    "refreshes bundles when their interval has passed (default\n"
	    "[certs] bundle_refresh); 'refresh' does it now (every due\n"
	    "bundle; all with --force; or the one given). A failed refresh\n"
	    "keeps the anchors of the last good one.\n\n"
	    "  --dir DIR           the instance directory\n"
	    "  --refresh DURATION  refresh interval (\"12h\", \"1d\")\n"
	    "  --no-fetch          add without fetching now\n"
	    "  --json              print JSON (list)\n");
}

static void
fetch_opts(const struct instance *in, struct bundle_fetch_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->timeout_ms = config_int(in->cfg, "certs", "bundle_timeout");
	o->max_size = (size_t)config_int(in->cfg, "certs", "bundle_max_size");
}

static void
json_time_or_null(time_t t)
{
	if (t == 0)
		printf("null");
	else
		printf("%lld", (long long)t);
}

static int
parse_id(const char *s, int64_t *id_r)
{
	if (s[0] == '#')
		s++;
	return str_to_i64(s, 1, INT64_MAX, id_r);
}

int
cmd_bundle(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"domain", required_argument, NULL, 'D'},
		{"direction", required_argument, NULL, 'r'},
		{"refresh", required_argument, NULL, 'R'},
		{"no-fetch", no_argument, NULL, 'n'},
		{"force", no_argument, NULL, 'f'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = cmd_global_dir(), *action, *domain = NULL,
	    *direction = NULL;
	struct bundle_fetch_opts fo;
	struct instance *in = NULL;
	struct store *s;
	struct err e;
	bool json = false, nofetch = false, force = false;
	int64_t refresh_ms = 0, id = 0;
	unsigned dirmask = 0;
	int c, rc = 1;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		help();
		return 0;
	}
	if (argc < 2 || argv[1][0] == '-')
		return cmd_usage_error("bundle", "add, list, remove, refresh,"
		    " attach or detach?");
	action = argv[1];
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "d:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'D':
			domain = optarg;
			break;
		case 'r':
			direction = optarg;
			break;
		case 'R':
			if (str_to_duration_ms(optarg, &refresh_ms) != 0 ||
			    refresh_ms < 60000)
				return cmd_usage_error("bundle", "bad --refresh"
				    " (at least 1m)");
			break;
		case 'n':
			nofetch = true;
			break;
		case 'f':
			force = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			help();
			return 0;
		default:
			return cmd_usage_error("bundle", "bad option");
		}
	}
	if (direction != NULL && anchor_direction_parse(direction, &dirmask)
	    != 0)
		return cmd_usage_error("bundle", "--direction is in, out or"
		    " both");
	if (strcmp(action, "add") == 0) {
		if (argc - optind != 1)
			return cmd_usage_error("bundle", "add takes one URL or"
			    " path");
		if ((domain == NULL) != (direction == NULL))
			return cmd_usage_error("bundle", "give --domain and"
			    " --direction together");
	} else if (strcmp(action, "remove") == 0 ||
	    strcmp(action, "attach") == 0 || strcmp(action, "detach") == 0) {
		if (argc - optind != 1 || parse_id(argv[optind], &id) != 0)
			return cmd_usage_error("bundle", "%s takes a bundle id",
			    action);
		if (strcmp(action, "attach") == 0 &&
		    (domain == NULL || direction == NULL))
			return cmd_usage_error("bundle", "attach needs --domain"
			    " and --direction");
		if (strcmp(action, "detach") == 0 && domain == NULL)
			return cmd_usage_error("bundle", "detach needs"
			    " --domain");
	} else if (strcmp(action, "refresh") == 0) {
		if (argc - optind > 1 || (argc - optind == 1 &&
		    parse_id(argv[optind], &id) != 0))
			return cmd_usage_error("bundle", "refresh takes at most"
			    " one bundle id");
	} else if (strcmp(action, "list") != 0)
		return cmd_usage_error("bundle", "unknown action '%s'", action);

	if (instance_open(dir, &in, &e) != 0)
		return cmd_fail("%s", e.msg);
	if ((s = instance_store(in, &e)) == NULL) {
		cmd_fail("store: %s", e.msg);
		goto out;
	}
	fetch_opts(in, &fo);
	if (strcmp(action, "add") == 0) {
		size_t n = 0;

		if (bundle_add(s, argv[optind], refresh_ms / 1000, &id, &e) !=
		    0 || (domain != NULL &&
		    bundle_attach(s, id, domain, dirmask, &e) != 0)) {
			cmd_fail("%s", e.msg);
			goto out;
		}
		printf("added bundle #%lld\n", (long long)id);
		if (!nofetch) {
			if (bundle_refresh(s, id, time(NULL), &fo, &n, &e) != 0) {
				cmd_fail("%s (the bundle stays; retry with"
				    " 'directgate bundle refresh %lld')", e.msg,
				    (long long)id);
				goto out;
			}
			printf("fetched %zu anchor%s\n", n, n == 1 ? "" : "s");
		}
	} else if (strcmp(action, "remove") == 0) {
		if (bundle_remove(s, id, &e) != 0) {
			cmd_fail("%s", e.msg);
			goto out;
		}
		printf("removed bundle #%lld\n", (long long)id);
	} else if (strcmp(action, "attach") == 0) {
		if (bundle_attach(s, id, domain, dirmask, &e) != 0) {
			cmd_fail("%s", e.msg);
			goto out;
		}
		printf("attached bundle #%lld to %s (%s)\n", (long long)id,
		    domain, anchor_direction_name(dirmask));
	} else if (strcmp(action, "detach") == 0) {
		if (bundle_detach(s, id, domain, &e) != 0) {
			cmd_fail("%s", e.msg);
			goto out;
		}
		printf("detached bundle #%lld from %s\n", (long long)id, domain);
	} else if (strcmp(action, "refresh") == 0) {
		if (id != 0) {
			size_t n = 0;

			if (bundle_refresh(s, id, time(NULL), &fo, &n, &e) != 0) {
				cmd_fail("%s", e.msg);
				goto out;
			}
			printf("bundle #%lld: %zu anchor%s\n", (long long)id, n,
			    n == 1 ? "" : "s");
		} else {
			int n = bundle_refresh_due(s, time(NULL), force, &fo,
			    &e);
			struct bundle_info *v;
			size_t nv;
			int failed = 0;

			if (n < 0) {
				cmd_fail("%s", e.msg);
				goto out;
			}
			if (bundle_list(s, &v, &nv, &e) == 0) {
				for (size_t i = 0; i < nv; i++)
					failed += v[i].last_error != NULL;
				bundle_info_free(&v, nv);
			}
			printf("refreshed %d bundle%s\n", n, n == 1 ? "" : "s");
			if (failed > 0) {
				cmd_fail("%d bundle%s failing: see 'directgate"
				    " bundle list'", failed, failed == 1 ? "" :
				    "s");
				goto out;
			}
		}
	} else {
		struct bundle_info *v;
		size_t n;

		if (bundle_list(s, &v, &n, &e) != 0) {
			cmd_fail("%s", e.msg);
			goto out;
		}
		if (json) {
			printf("[");
			for (size_t i = 0; i < n; i++) {
				printf("%s{\"id\":%lld,\"url\":", i ? "," : "",
				    (long long)v[i].id);
				cmd_json_str(stdout, v[i].url);
				printf(",\"refresh_s\":%lld,\"last_fetch\":",
				    (long long)v[i].refresh_s);
				json_time_or_null(v[i].last_fetch);
				printf(",\"last_ok\":");
				json_time_or_null(v[i].last_ok);
				printf(",\"last_error\":");
				if (v[i].last_error != NULL)
					cmd_json_str(stdout, v[i].last_error);
				else
					printf("null");
				printf(",\"anchors\":%lld,\"domains\":",
				    (long long)v[i].n_anchors);
				cmd_json_str(stdout, v[i].domains);
				printf("}");
			}
			printf("]\n");
		} else {
			for (size_t i = 0; i < n; i++)
				printf("#%-4lld %s\n      anchors=%lld every=%llds"
				    " domains=%s%s%s\n", (long long)v[i].id,
				    v[i].url, (long long)v[i].n_anchors,
				    (long long)v[i].refresh_s,
				    v[i].domains[0] != '\0' ? v[i].domains :
				    "(none)", v[i].last_error != NULL ?
				    " error=" : "", v[i].last_error != NULL ?
				    v[i].last_error : "");
		}
		bundle_info_free(&v, n);
	}
	rc = 0;
out:
	instance_free(&in);
	return rc;
}
