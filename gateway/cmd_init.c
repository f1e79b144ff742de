/* `directgate init`: create an instance directory. */
#include "gateway/cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certs/selfsigned.h"
#include "core/buf.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "gateway/demo.h"
#include "gateway/instance.h"

static int
mkdir_mode(const char *path, mode_t mode)
{
	if (mkdir(path, mode) != 0 && errno != EEXIST)
		return cmd_fail("cannot create %s: %s", path, strerror(errno));
	if (chmod(path, mode) != 0)
		return cmd_fail("cannot chmod %s: %s", path, strerror(errno));
	return 0;
}

/* The configuration file: the settings init chose, then every other key
 * commented out with its default and its help. */
static int
write_conf(const char *path, struct config *cfg, const char *chosen)
{
	struct buf dump, out;
	const char *p, *nl;
	FILE *f;
	int rc = 0;

	buf_init(&dump, BUF_UNLIMITED);
	buf_init(&out, BUF_UNLIMITED);
	config_dump(cfg, &dump);
	buf_printf(&out,
	    "# directgate configuration: process settings only.\n"
	    "# Policy (domains, addresses, certificates, anchors, ACRS,\n"
	    "# directory) lives in the store; see 'directgate --help'.\n"
	    "# Check with 'directgate check-config'.\n\n%s\n"
	    "# Every setting with its default:\n\n", chosen);
	for (p = buf_cstr(&dump); *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		if (*p != '[' && *p != '#' && nl != p)
			buf_putc(&out, '#');
		buf_append(&out, p, (size_t)(nl - p) + (*nl == '\n'));
		if (*nl == '\0')
			break;
	}
	f = fopen(path, "wx");
	if (f == NULL) {
		rc = cmd_fail("cannot create %s: %s", path, strerror(errno));
	} else {
		if (fwrite(out.data, 1, out.len, f) != out.len ||
		    fflush(f) != 0 || fsync(fileno(f)) != 0)
			rc = cmd_fail("cannot write %s: %s", path,
			    strerror(errno));
		fclose(f);
	}
	buf_release(&dump);
	buf_release(&out);
	return rc;
}

static void
help(void)
{
	printf("usage: directgate init [--dir DIR] [--demo]\n\n"
	    "Creates an instance: DIR/directgate.conf, the store, the key\n"
	    "directory (mode 0700), the spool and the Maildir root.\n"
	    "With --demo it also creates a local demo CA, two domains with\n"
	    "certificates and anchors, and demo data, and sets demo ports.\n");
}

int
cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"demo", no_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir_opt = cmd_global_dir();
	struct instance *in = NULL;
	struct config *cfg;
	struct err e;
	bool demo = false;
	char *dir, *conf, *chosen = NULL, host[256];
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir_opt = optarg;
			break;
		case 'D':
			demo = true;
			break;
		case 'h':
			help();
			return 0;
		default:
			return cmd_usage_error("init", "bad option");
		}
	}
	if (optind < argc)
		return cmd_usage_error("init", "unexpected argument '%s'",
		    argv[optind]);

	dir = instance_resolve_dir(dir_opt);
	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		str_lcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	chosen = xasprintf("%s"
	    "[smtp]\n"
	    "# A self-signed certificate made by init: replace it.\n"
	    "tls_cert = keys/smtp-tls.pem\n"
	    "tls_key = keys/smtp-tls.key\n",
	    demo ? demo_config_text() : "");
	conf = xasprintf("%s/directgate.conf", dir);
	if (access(conf, F_OK) == 0) {
		cmd_fail("an instance already exists at %s", dir);
		goto out;
	}
	/* Traversable (Dovecot reads the Maildirs and the passwd-file in it),
	 * not listable. */
	if (mkdir_mode(dir, 0711) != 0)
		goto out;
	cfg = instance_config_new(dir);
	rc = write_conf(conf, cfg, chosen);
	config_free(&cfg);
	if (rc != 0)
		goto out;
	rc = 1;
	if (instance_open(dir, &in, &e) != 0) {
		cmd_fail("%s", e.msg);
		goto out;
	}
	if (mkdir_mode(config_path(in->cfg, "core", "keys"), 0700) != 0 ||
	    mkdir_mode(config_path(in->cfg, "core", "spool"), 0750) != 0 ||
	    mkdir_mode(config_path(in->cfg, "core", "mail"), 0711) != 0)
		goto out;
	if (selfsigned_write(config_path(in->cfg, "smtp", "tls_cert"),
	    config_path(in->cfg, "smtp", "tls_key"), host, &e) != 0) {
		cmd_fail("TLS certificate: %s", e.msg);
		goto out;
	}
	if (instance_store(in, &e) == NULL) {
		cmd_fail("store: %s", e.msg);
		goto out;
	}
	if (demo && demo_populate(in, &e) != 0) {
		cmd_fail("demo: %s", e.msg);
		goto out;
	}
	printf("initialized %s%s\n", dir, demo ? " (demo)" : "");
	rc = 0;
out:
	instance_free(&in);
	free(chosen);
	free(conf);
	free(dir);
	return rc;
}
