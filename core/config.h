/* Process settings from an INI file (libinih), read into typed tables.
 * Each module describes its keys in a table (section, name, type, default,
 * min, max, help); the gateway adds every module's table. Unknown sections
 * or keys and out-of-range values are errors naming file, line and key.
 * Policy data (domains, anchors, ACRS...) lives in the store, not here. */
#ifndef CORE_CONFIG_H
#define CORE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

enum config_type {
	CONFIG_STR,
	CONFIG_PATH,     /* relative values resolve against the base dir */
	CONFIG_INT,      /* min..max */
	CONFIG_BOOL,
	CONFIG_DURATION, /* "250ms" "30s" "5m" "1h" "5d"; value in ms, min..max */
	CONFIG_SIZE,     /* "4k" "10M"; value in bytes, min..max */
};

struct config_def {
	const char *section;
	const char *name;
	enum config_type type;
	const char *def; /* default in the file's syntax; never NULL */
	int64_t min;
	int64_t max;
	const char *help;
};
#define CONFIG_DEF_END { NULL, NULL, CONFIG_STR, NULL, 0, 0, NULL }

struct config;

/* base_dir anchors relative paths (the instance directory); copied. */
struct config *config_new(const char *base_dir);
void config_free(struct config **cp);
/* Adds a table (terminated by CONFIG_DEF_END); borrowed for the life of c. */
void config_add_defs(struct config *c, const struct config_def *defs);
/* Reads a file; on error nothing is guaranteed about partial values. A
 * missing file is an ERR_CONFIG error. */
int config_load_file(struct config *c, const char *path, struct err *e);
/* Same from text; name is used in messages. */
int config_load_string(struct config *c, const char *text, const char *name,
    struct err *e);
/* Sets one value as if read from a file (command-line overrides, tests). */
int config_set(struct config *c, const char *section, const char *name,
    const char *value, struct err *e);

/* Accessors abort on a key no table defines (a programming error). The
 * returned strings are borrowed and live as long as c. */
const char *config_str(const struct config *c, const char *section,
    const char *name);
/* For CONFIG_PATH: the value resolved against base_dir ("" stays ""). */
const char *config_path(const struct config *c, const char *section,
    const char *name);
int64_t config_int(const struct config *c, const char *section,
    const char *name);
bool config_bool(const struct config *c, const char *section,
    const char *name);
const char *config_base_dir(const struct config *c);

/* The effective configuration as INI text, every key with its value. */
void config_dump(const struct config *c, struct buf *out);

#endif
