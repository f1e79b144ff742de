/* `directgate domain add|list|remove`: the local domains. */
#include "gateway/cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "certs/domain.h"
#include "gateway/instance.h"

static void
help(void)
{
	printf("usage: directgate domain add NAME...\n"
	    "       directgate domain list [--json]\n"
	    "       directgate domain remove NAME\n\n"
	    "The local domains this gateway serves. Removing a domain also\n"
	    "removes its keys (and key files), anchors and bundle\n"
	    "attachments.\n\n"
	    "  --dir DIR   the instance directory\n"
	    "  --json      print JSON (list)\n");
}

int
cmd_domain(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = cmd_global_dir(), *action;
	struct instance *in = NULL;
	struct store *s;
	struct err e;
	bool json = false;
	int c, rc = 1;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		help();
		return 0;
	}
	if (argc < 2 || argv[1][0] == '-')
		return cmd_usage_error("domain", "add, list or remove?");
	action = argv[1];
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "d:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			help();
			return 0;
		default:
			return cmd_usage_error("domain", "bad option");
		}
	}
	if (strcmp(action, "add") != 0 && strcmp(action, "list") != 0 &&
	    strcmp(action, "remove") != 0)
		return cmd_usage_error("domain", "unknown action '%s'", action);
	if (strcmp(action, "list") != 0 && optind >= argc)
		return cmd_usage_error("domain", "give a domain name");
	if (strcmp(action, "remove") == 0 && argc - optind != 1)
		return cmd_usage_error("domain", "remove takes one name");
	if (instance_open(dir, &in, &e) != 0)
		return cmd_fail("%s", e.msg);
	if ((s = instance_store(in, &e)) == NULL) {
		cmd_fail("store: %s", e.msg);
		goto out;
	}
	if (strcmp(action, "add") == 0) {
		for (int i = optind; i < argc; i++) {
			if (domain_add(s, argv[i], &e) != 0) {
				cmd_fail("%s", e.msg);
				goto out;
			}
			printf("added domain %s\n", argv[i]);
		}
	} else if (strcmp(action, "remove") == 0) {
		if (domain_remove(s, config_path(in->cfg, "core", "keys"),
		    argv[optind], &e) != 0) {
			cmd_fail("%s", e.msg);
			goto out;
		}
		printf("removed domain %s\n", argv[optind]);
	} else {
		struct domain_info *v;
		size_t n;

		if (domain_list(s, &v, &n, &e) != 0) {
			cmd_fail("%s", e.msg);
			goto out;
		}
		if (json) {
			printf("[");
			for (size_t i = 0; i < n; i++) {
				printf("%s{\"name\":", i ? "," : "");
				cmd_json_str(stdout, v[i].name);
				printf(",\"created\":%lld,\"keys\":%lld,"
				    "\"anchors\":%lld,\"bundles\":%lld}",
				    (long long)v[i].created,
				    (long long)v[i].n_keys,
				    (long long)v[i].n_anchors,
				    (long long)v[i].n_bundles);
			}
			printf("]\n");
		} else {
			for (size_t i = 0; i < n; i++)
				printf("%-40s keys=%lld anchors=%lld"
				    " bundles=%lld\n", v[i].name,
				    (long long)v[i].n_keys,
				    (long long)v[i].n_anchors,
				    (long long)v[i].n_bundles);
		}
		domain_info_free(&v, n);
	}
	rc = 0;
out:
	instance_free(&in);
	return rc;
}
