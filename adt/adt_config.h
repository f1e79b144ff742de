/* The adt module's settings: [mllp] (the MLLP listener) and [adt] (intake
 * and acknowledgements). Registered by gateway/instance.c. */
#ifndef ADT_ADT_CONFIG_H
#define ADT_ADT_CONFIG_H

#include "core/config.h"
#include "core/err.h"

extern const struct config_def adt_config_defs[];

/* Checks what the table cannot: [mllp] listen is empty or HOST:PORT
 * (IPv6 as [addr]:port), ack_mode is auto, original or enhanced. 0, or -1
 * with ERR_CONFIG naming the key. */
int adt_config_check(const struct config *c, struct err *e);

/* Splits "host:port" / "[v6]:port" into host (size bytes) and port; 0 or
 * -1. */
int adt_config_split_hostport(const char *s, char *host, unsigned size,
    int *port_r);

#endif
