/* The `directgate` command: one table of subcommands (gateway/commands.c).
 * Each subcommand is a function taking its own argv (argv[0] is its name),
 * parsing its options with getopt_long, and returning the exit status:
 * 0 success, 1 failure (a one-line reason on stderr), 2 usage error, or a
 * code the subcommand documents. Every subcommand answers --help. */
#ifndef GATEWAY_CMD_H
#define GATEWAY_CMD_H

#include <stdbool.h>
#include <stdio.h>

typedef int cmd_fn(int argc, char **argv);

struct cmd {
	const char *name;
	const char *summary;
	cmd_fn *fn;
};

extern const struct cmd gateway_commands[];

/* Entry point used by main(). */
int gateway_main(int argc, char **argv);

/* The instance directory chosen by the global --dir (before the
 * subcommand); NULL when not given. Subcommands pass their own --dir (or
 * this) to instance_open. */
const char *cmd_global_dir(void);

/* Prints "directgate: <msg>" on stderr and returns 1. */
int cmd_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "directgate <name>: <msg>\nTry 'directgate <name> --help'." and
 * returns 2. */
int cmd_usage_error(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Writes s as a JSON string (quoted, escaped) to f. */
void cmd_json_str(FILE *f, const char *s);

/* Subcommands (each in gateway/cmd_<topic>.c). */
int cmd_init(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
int cmd_domain(int argc, char **argv);
int cmd_cert(int argc, char **argv);
int cmd_anchor(int argc, char **argv);
int cmd_bundle(int argc, char **argv);
int cmd_address(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_message_status(int argc, char **argv);
int cmd_message_list(int argc, char **argv);
int cmd_resolve(int argc, char **argv);
int cmd_publish(int argc, char **argv);
int cmd_message(int argc, char **argv);
int cmd_adt(int argc, char **argv);
int cmd_adt_trace(int argc, char **argv); /* adt trace ID */
int cmd_directory(int argc, char **argv);
int cmd_acrs(int argc, char **argv);
int cmd_demo(int argc, char **argv);

#endif
