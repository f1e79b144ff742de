/* `directgate publish DOMAIN`: the zone-file CERT records and the LDIF
 * that let other HISPs discover this gateway's certificates for DOMAIN. */
#include "gateway/cmd.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "certs/discover_publish.h"
#include "certs/domain.h"
#include "certs/keystore.h"
#include "core/buf.h"
#include "core/str.h"
#include "gateway/instance.h"

static void
publish_help(void)
{
	printf("usage: directgate publish DOMAIN [--zone | --ldif] [--ttl N] "
	    "[--base DN] [--dir DIR]\n\n"
	    "Prints what other HISPs need to discover the certificates of "
	    "DOMAIN (a local\n"
	    "domain): CERT records (PKIX, inline DER) for its zone, one per "
	    "address-bound\n"
	    "certificate (owner local.DOMAIN) and per domain-bound "
	    "certificate (owner\n"
	    "DOMAIN), and LDIF entries (mail, userCertificate;binary) for "
	    "an LDAP server\n"
	    "named by _ldap._tcp.DOMAIN SRV.\n\n"
	    "  --zone      only the zone records\n"
	    "  --ldif      only the LDIF\n"
	    "  --ttl N     TTL of the records (default 3600)\n"
	    "  --base DN   LDIF entries under DN (default dc=... of DOMAIN, "
	    "with the base entry)\n\n"
	    "Exit status: 0 printed, 1 no certificate for DOMAIN or an "
	    "error.\n");
}

int
cmd_publish(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"zone", no_argument, NULL, 'z'},
		{"ldif", no_argument, NULL, 'l'},
		{"ttl", required_argument, NULL, 't'},
		{"base", required_argument, NULL, 'b'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = cmd_global_dir(), *base = NULL, *domain;
	unsigned what = 0;
	int64_t ttl = 3600;
	struct instance *in = NULL;
	struct store *st;
	struct keystore *ks = NULL;
	struct err e;
	struct buf out;
	int c, n, rc;

	while ((c = getopt_long(argc, argv, "d:zlt:b:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'z':
			what |= DISCOVER_PUBLISH_ZONE;
			break;
		case 'l':
			what |= DISCOVER_PUBLISH_LDIF;
			break;
		case 't':
			if (str_to_i64(optarg, 0, INT32_MAX, &ttl) != 0)
				return cmd_usage_error("publish",
				    "bad --ttl '%s'", optarg);
			break;
		case 'b':
			base = optarg;
			break;
		case 'h':
			publish_help();
			return 0;
		default:
			return cmd_usage_error("publish", "bad option");
		}
	}
	if (optind + 1 != argc)
		return cmd_usage_error("publish", "one DOMAIN expected");
	domain = argv[optind];
	if (what == 0)
		what = DISCOVER_PUBLISH_ZONE | DISCOVER_PUBLISH_LDIF;
	if (instance_open(dir, &in, &e) != 0)
		return cmd_fail("%s", e.msg);
	if ((st = instance_store(in, &e)) == NULL) {
		instance_free(&in);
		return cmd_fail("%s", e.msg);
	}
	if (domain_exists(st, domain, &e) != 1) {
		instance_free(&in);
		return cmd_fail("%s is not a local domain", domain);
	}
	if (keystore_load(st, config_path(in->cfg, "core", "keys"), &ks,
	    &e) != 0) {
		instance_free(&in);
		return cmd_fail("key store: %s", e.msg);
	}
	buf_init(&out, BUF_UNLIMITED);
	n = discover_publish(ks, domain, what, (uint32_t)ttl, base, &out, &e);
	if (n < 0) {
		rc = cmd_fail("%s", e.msg);
	} else if (n == 0) {
		rc = cmd_fail("no certificate for %s in the key store", domain);
	} else {
		fwrite(out.data, 1, out.len, stdout);
		rc = 0;
	}
	buf_release(&out);
	keystore_free(&ks);
	instance_free(&in);
	return rc;
}
