#include "core/core_config.h"

#include <stdint.h>

const struct config_def core_config_defs[] = {
	{"core", "store", CONFIG_PATH, "directgate.db", 0, 0,
	    "the SQLite store"},
	{"core", "keys", CONFIG_PATH, "keys", 0, 0,
	    "private keys (directory, mode 0700)"},
	{"core", "spool", CONFIG_PATH, "spool", 0, 0,
	    "queued message files"},
	{"core", "mail", CONFIG_PATH, "mail", 0, 0,
	    "Maildirs: <mail>/<domain>/<local>/"},
	{"core", "log_level", CONFIG_STR, "info", 0, 0,
	    "debug, info, warn or error"},
	{"core", "log_file", CONFIG_PATH, "", 0, 0,
	    "append log lines here instead of stderr"},
	{"core", "syslog", CONFIG_BOOL, "no", 0, 0,
	    "log to syslog (facility mail)"},
	{"core", "workers", CONFIG_INT, "0", 0, 128,
	    "worker threads; 0 means twice the cores, at least 4"},
	{"core", "shutdown_grace", CONFIG_DURATION, "10s", 0, 3600000,
	    "time given to in-flight work at shutdown"},
	{"store", "batch_max", CONFIG_INT, "512", 1, 100000,
	    "write jobs per group commit"},
	{"store", "commit_delay", CONFIG_DURATION, "0", 0, 100,
	    "under concurrent load, wait this long for more writes to share "
	    "a commit (e.g. 1ms)"},
	{"store", "busy_timeout", CONFIG_DURATION, "5s", 0, 600000,
	    "how long a connection waits for a lock"},
	CONFIG_DEF_END,
};
