/* An instance directory: directgate.conf, the store, the key directory, the
 * spool and the Maildirs. Found by --dir DIR, else $DIRECTGATE_DIR, else
 * ./var. Every path can be overridden in the configuration. */
#ifndef GATEWAY_INSTANCE_H
#define GATEWAY_INSTANCE_H

#include "core/config.h"
#include "core/err.h"
#include "core/store.h"

struct instance {
	char *dir;           /* absolute */
	char *conf_path;
	struct config *cfg;  /* every module's table, file loaded */
	struct store *store; /* opened (and migrated) by instance_store() */
};

/* Resolves the directory (dir may be NULL), reads the configuration. */
int instance_open(const char *dir, struct instance **i_r, struct err *e);
/* The instance's store connection (opened and migrated on first use). */
struct store *instance_store(struct instance *in, struct err *e);
void instance_free(struct instance **ip);
/* The directory chosen by dir / $DIRECTGATE_DIR / ./var, absolute; the
 * caller frees. */
char *instance_resolve_dir(const char *dir);
/* A new config with every module's table added (no file loaded). */
struct config *instance_config_new(const char *dir);

#endif
