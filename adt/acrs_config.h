/* The [acrs] settings: matching thresholds, the active-relationship
 * lookback, candidate limits and the import cache. Registered by the
 * gateway (gateway/instance.c) with the other modules' tables. */
#ifndef ADT_ACRS_CONFIG_H
#define ADT_ACRS_CONFIG_H

#include "core/config.h"
#include "core/err.h"

extern const struct config_def acrs_config_defs[];

/* The settings as numbers. */
struct acrs_settings {
	double match_threshold;    /* log-odds score: at or above, a match */
	double possible_threshold; /* at or above (below match): review */
	double similarity;         /* Jaro-Winkler agreement, 0..1 */
	int lookback_months;       /* providers seen within this: active */
	int candidates_max;        /* per blocking key */
	int64_t import_cache;      /* bytes of SQLite page cache on import */
};

/* The defaults (what an empty [acrs] section gives). */
void acrs_config_defaults(struct acrs_settings *s_r);
/* Reads [acrs] from c (whose tables include acrs_config_defs); ERR_CONFIG
 * when a threshold is not a number in range or possible > match. */
int acrs_config_read(const struct config *c, struct acrs_settings *s_r,
    struct err *e);

#endif
