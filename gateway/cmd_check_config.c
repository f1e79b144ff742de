/* `directgate check-config`: validate and print the configuration. */
#include "gateway/cmd.h"

#include <getopt.h>
#include <stdio.h>

#include "core/buf.h"
#include "gateway/instance.h"

int
cmd_check_config(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = cmd_global_dir();
	struct instance *in;
	struct err e;
	struct buf out;
	bool quiet = false;
	int c;

	while ((c = getopt_long(argc, argv, "d:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			printf("usage: directgate check-config [--dir DIR] "
			    "[--quiet]\n\n"
			    "Reads DIR/directgate.conf, reports the first "
			    "error (file, line, key)\n"
			    "and prints the effective configuration.\n");
			return 0;
		default:
			return cmd_usage_error("check-config", "bad option");
		}
	}
	if (optind < argc)
		return cmd_usage_error("check-config",
		    "unexpected argument '%s'", argv[optind]);
	if (instance_open(dir, &in, &e) != 0)
		return cmd_fail("%s", e.msg);
	if (!quiet) {
		buf_init(&out, BUF_UNLIMITED);
		printf("# %s\n", in->conf_path);
		config_dump(in->cfg, &out);
		fwrite(out.data, 1, out.len, stdout);
		buf_release(&out);
	}
	instance_free(&in);
	return 0;
}
