/* The table of `directgate` subcommands. Keep it sorted by topic; each
 * function lives in gateway/cmd_<topic>.c. */
#include "gateway/cmd.h"

#include <stddef.h>

const struct cmd gateway_commands[] = {
	{"init", "create an instance: config, store, key directory", cmd_init},
	{"serve", "run the daemon in the foreground", cmd_serve},
	{"check-config", "validate and print the effective configuration",
	    cmd_check_config},
	{"resolve", "discover and validate a recipient's certificates, explain",
	    cmd_resolve},
	{"address", "mailboxes and service addresses: add|list|remove|passwd",
	    cmd_address},
	{NULL, NULL, NULL},
};
