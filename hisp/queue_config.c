#include "hisp/queue_config.h"

const struct config_def queue_config_defs[] = {
	{"queue", "retry_min", CONFIG_DURATION, "5m", 1000, 86400000,
	    "first retry after a temporary failure; doubles each time"},
	{"queue", "retry_max", CONFIG_DURATION, "1h", 1000, 86400000,
	    "longest wait between retries"},
	{"queue", "expire", CONFIG_DURATION, "5d", 60000, 2592000000LL,
	    "a message not delivered by then bounces"},
	{"queue", "scan_interval", CONFIG_DURATION, "1s", 10, 600000,
	    "how often the queue looks for due work"},
	{"queue", "max_tasks", CONFIG_INT, "64", 1, 10000,
	    "deliveries in flight"},
	{"queue", "policy_check", CONFIG_DURATION, "2s", 0, 3600000,
	    "how often changed keys and anchors are noticed (0: only SIGHUP)"},
	{"delivery", "transport", CONFIG_STR, "", 0, 0,
	    "next hops by domain: \"b.example=host:port, *=relay:25\";"
	    " other domains by MX"},
	{"delivery", "mx_port", CONFIG_INT, "25", 1, 65535,
	    "port of the mail exchangers found by MX lookup"},
	{"mailbox", "owner", CONFIG_STR, "", 0, 0,
	    "user owning the Maildirs (for the IMAP server), e.g. mail"},
	{"mailbox", "dovecot_passwd", CONFIG_PATH, "dovecot.passwd", 0, 0,
	    "Dovecot passwd-file kept up to date with the mailboxes"},
	CONFIG_DEF_END,
};
