/* `directgate`: global options and dispatch to the subcommand table. */
#include "gateway/cmd.h"

#include "core/log.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *global_dir;

const char *
cmd_global_dir(void)
{
	return global_dir;
}

int
cmd_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("directgate: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int
cmd_usage_error(const char *name, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "directgate %s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'directgate %s --help'.\n", name);
	return 2;
}

void
cmd_json_str(FILE *f, const char *s)
{
	if (s == NULL) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: directgate [--dir DIR] COMMAND [ARGS...]\n"
	    "\n"
	    "A Direct Secure Messaging gateway (HISP) with an HL7 ADT\n"
	    "notification agent.\n"
	    "\n"
	    "The instance directory is --dir DIR, else $DIRECTGATE_DIR, else "
	    "./var.\n"
	    "\n"
	    "commands:\n");
	for (const struct cmd *c = gateway_commands; c->name != NULL; c++)
		fprintf(f, "  %-14s %s\n", c->name, c->summary);
	fprintf(f, "\nEvery command answers --help.\n");
}

int
gateway_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;

	/* Commands print their results; the log says only what went wrong
	 * (serve sets the configured level). */
	log_init("directgate", LOG_LEVEL_WARN);
	/* The store holds PHI and password hashes: nothing we create is
	 * readable by others unless made so on purpose. */
	umask(027);
	/* Global options stop at the first non-option: the subcommand. */
	while ((c = getopt_long(argc, argv, "+d:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			global_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("directgate %s\n", DG_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (const struct cmd *cmd = gateway_commands; cmd->name != NULL;
	    cmd++) {
		if (strcmp(cmd->name, argv[optind]) == 0) {
			char **sub = argv + optind;
			int subc = argc - optind;

			optind = 0; /* the subcommand parses afresh */
			return cmd->fn(subc, sub);
		}
	}
	fprintf(stderr, "directgate: unknown command '%s'\n"
	    "Try 'directgate --help'.\n", argv[optind]);
	return 2;
}
