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
	{"publish", "print CERT records and LDIF for a domain's own certificates",
	    cmd_publish},
	{"domain", "local domains: add|list|remove", cmd_domain},
	{"cert", "key store: import|list|remove|generate|verify", cmd_cert},
	{"anchor", "trust anchors per domain: add|list|remove", cmd_anchor},
	{"bundle", "trust bundles: add|list|remove|refresh|attach|detach",
	    cmd_bundle},
	{"address", "mailboxes and service addresses: add|list|remove|passwd",
	    cmd_address},
	{"queue", "the mail queue: list|show|retry|delete", cmd_queue},
	{"message", "S/MIME agent (seal|open), delivery tracking (status|list)",
	    cmd_message},
	{"adt", "HL7 ADT intake: send|list|show|parse", cmd_adt},
	{"directory", "Health Directory: import|show|export|route",
	    cmd_directory},
	{"acrs", "Active Care Relationship Service: validate|import|lookup|"
	    "review|stats", cmd_acrs},
	{"demo", "synthetic data set: generate", cmd_demo},
	{NULL, NULL, NULL},
};
