/* `directgate anchor add|list|remove`: trust anchors per local domain. */
#include "gateway/cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "certs/anchor.h"
#include "core/buf.h"
#include "gateway/instance.h"

#define ANCHOR_FILE_MAX (16u * 1024 * 1024)

static void
help(void)
{
	printf("usage: directgate anchor add FILE... --domain D"
	    " --direction in|out|both\n"
	    "       directgate anchor list [--domain D] [--bundles] [--json]\n"
	    "       directgate anchor remove FINGERPRINT|#ID --domain D\n\n"
	    "Trust anchors of a local domain. An incoming anchor lets the\n"
	    "domain receive from senders chaining to it; an outgoing one\n"
	    "lets it send to recipients chaining to it. FILE: PEM (one or\n"
	    "more certificates), DER, or a PKCS#7 bundle (.p7b). A\n"
	    "fingerprint is at least 8 hex digits of the SHA-256.\n\n"
	    "  --dir DIR        the instance directory\n"
	    "  --bundles        list also the anchors of attached bundles\n"
	    "  --json           print JSON (list)\n");
}

static int
read_file(const char *path, struct buf *out)
{
	FILE *f = fopen(path, "rb");
	char tmp[8192];
	size_t n;

	if (f == NULL)
		return cmd_fail("cannot open %s: %s", path, strerror(errno));
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		if (buf_append(out, tmp, n) != 0) {
			fclose(f);
			return cmd_fail("%s is too large", path);
		}
	if (ferror(f)) {
		fclose(f);
		return cmd_fail("cannot read %s", path);
	}
	fclose(f);
	return 0;
}

static void
print_time(time_t t)
{
	struct tm tm;
	char s[32];

	if (t == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		printf("-");
	else
		printf("%s", s);
}

int
cmd_anchor(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"domain", required_argument, NULL, 'D'},
		{"direction", required_argument, NULL, 'r'},
		{"bundles", no_argument, NULL, 'b'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = cmd_global_dir(), *action, *domain = NULL,
	    *direction = NULL;
	struct instance *in = NULL;
	struct store *s;
	struct err e;
	bool json = false, bundles = false;
	unsigned dirmask = 0;
	int c, rc = 1;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		help();
		return 0;
	}
	if (argc < 2 || argv[1][0] == '-')
		return cmd_usage_error("anchor", "add, list or remove?");
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
		case 'b':
			bundles = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			help();
			return 0;
		default:
			return cmd_usage_error("anchor", "bad option");
		}
	}
	if (strcmp(action, "add") == 0) {
		if (domain == NULL || direction == NULL)
			return cmd_usage_error("anchor", "add needs --domain and"
			    " --direction");
		if (anchor_direction_parse(direction, &dirmask) != 0)
			return cmd_usage_error("anchor", "--direction is in, out"
			    " or both");
		if (optind >= argc)
			return cmd_usage_error("anchor", "give a certificate"
			    " file");
	} else if (strcmp(action, "remove") == 0) {
		if (domain == NULL || argc - optind != 1)
			return cmd_usage_error("anchor", "remove needs"
			    " FINGERPRINT|#ID and --domain");
	} else if (strcmp(action, "list") != 0)
		return cmd_usage_error("anchor", "unknown action '%s'", action);
	if (instance_open(dir, &in, &e) != 0)
		return cmd_fail("%s", e.msg);
	if ((s = instance_store(in, &e)) == NULL) {
		cmd_fail("store: %s", e.msg);
		goto out;
	}
	if (strcmp(action, "add") == 0) {
		for (int i = optind; i < argc; i++) {
			struct buf b;
			size_t n = 0;
			int r;

			buf_init(&b, ANCHOR_FILE_MAX);
			if (read_file(argv[i], &b) != 0) {
				buf_release(&b);
				goto out;
			}
			r = anchor_add(s, domain, dirmask, b.data, b.len, &n,
			    &e);
			buf_release(&b);
			if (r != 0) {
				cmd_fail("%s: %s", argv[i], e.msg);
				goto out;
			}
			printf("added %zu anchor%s to %s (%s) from %s\n", n,
			    n == 1 ? "" : "s", domain,
			    anchor_direction_name(dirmask), argv[i]);
		}
	} else if (strcmp(action, "remove") == 0) {
		if (anchor_remove(s, domain, argv[optind], &e) != 0) {
			cmd_fail("%s", e.msg);
			goto out;
		}
		printf("removed anchor %s of %s\n", argv[optind], domain);
	} else {
		struct anchor_info *v;
		size_t n;

		if (anchor_list(s, domain, bundles, &v, &n, &e) != 0) {
			cmd_fail("%s", e.msg);
			goto out;
		}
		if (json) {
			printf("[");
			for (size_t i = 0; i < n; i++) {
				printf("%s{\"id\":%lld,\"domain\":", i ? "," : "",
				    (long long)v[i].id);
				cmd_json_str(stdout, v[i].domain);
				printf(",\"direction\":\"%s\",\"fingerprint\":",
				    anchor_direction_name(v[i].dir));
				cmd_json_str(stdout, v[i].fingerprint);
				printf(",\"subject\":");
				cmd_json_str(stdout, v[i].subject);
				printf(",\"not_after\":%lld,\"bundle\":%lld}",
				    (long long)v[i].not_after,
				    (long long)v[i].bundle_id);
			}
			printf("]\n");
		} else {
			for (size_t i = 0; i < n; i++) {
				if (v[i].bundle_id != 0)
					printf("bundle#%-3lld", (long long)
					    v[i].bundle_id);
				else
					printf("#%-9lld", (long long)v[i].id);
				printf(" %-24s %-4s %.16s  until ", v[i].domain,
				    anchor_direction_name(v[i].dir),
				    v[i].fingerprint);
				print_time(v[i].not_after);
				printf("  %s\n", v[i].subject);
			}
		}
		anchor_info_free(&v, n);
	}
	rc = 0;
out:
	instance_free(&in);
	return rc;
}
