/* The [notify] settings of the notification agent. The table is registered
 * by the gateway (gateway/instance.c) with the other modules'; while it is
 * not, notify_config_read() gives the defaults. */
#ifndef ADT_NOTIFY_CONFIG_H
#define ADT_NOTIFY_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "adt/acrs_config.h"
#include "core/config.h"
#include "core/err.h"

extern const struct config_def notify_config_defs[];

struct notify_settings {
	bool enabled;
	char from[256];          /* "" : the first address of kind notify */
	int64_t poll_ms;         /* how often the store is looked at */
	int batch;               /* ADTs per worker job */
	char zsegments[64];      /* "ZNP,ZPD,ZCK,ZPR" */
	char sensitive_facilities[512];
	char test_address[256];  /* "" : test traffic is not sent */
	int64_t mllp_timeout_ms;
	int mllp_retries;        /* then failed */
	int64_t mllp_backoff_ms; /* first retry; doubles, at most 1 h */
	int64_t digest_check_ms; /* how often due digests are looked for */
	struct acrs_settings acrs;
};

void notify_config_defaults(struct notify_settings *s_r);
/* Reads [notify] (when the table is registered) and [acrs] (likewise)
 * from c. ERR_CONFIG on a bad value. */
int notify_config_read(const struct config *c, struct notify_settings *s_r,
    struct err *e);

#endif
