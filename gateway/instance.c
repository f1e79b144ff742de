#include "gateway/instance.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adt/acrs_config.h"
#include "adt/adt_config.h"
#include "adt/notify_config.h"
#include "certs/certs_config.h"
#include "certs/discover_config.h"
#include "core/core_config.h"
#include "gateway/gateway_config.h"
#include "hisp/hisp_config.h"
#include "hisp/queue_config.h"
#include "smime/smime_config.h"
#include "core/xmalloc.h"

/* Every module's settings table, in module order. */
static const struct config_def *const instance_tables[] = {
	core_config_defs,
	certs_config_defs,
	discover_config_defs,
	smime_config_defs,
	hisp_config_defs,
	queue_config_defs,
	adt_config_defs,
	acrs_config_defs,
	notify_config_defs,
	gateway_config_defs,
	NULL,
};

char *
instance_resolve_dir(const char *dir)
{
	char cwd[PATH_MAX];
	const char *d = dir;

	if (d == NULL || d[0] == '\0')
		d = getenv("DIRECTGATE_DIR");
	if (d == NULL || d[0] == '\0')
		d = "./var";
	if (d[0] == '/')
		return xstrdup(d);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(d);
	if (strcmp(d, ".") == 0)
		return xstrdup(cwd);
	if (strncmp(d, "./", 2) == 0)
		d += 2;
	return xasprintf("%s/%s", cwd, d);
}

struct config *
instance_config_new(const char *dir)
{
	struct config *c = config_new(dir);

	for (size_t i = 0; instance_tables[i] != NULL; i++)
		config_add_defs(c, instance_tables[i]);
	return c;
}

int
instance_open(const char *dir, struct instance **i_r, struct err *e)
{
	struct instance *in = xcalloc(1, sizeof(*in));

	*i_r = NULL;
	in->dir = instance_resolve_dir(dir);
	in->conf_path = xasprintf("%s/directgate.conf", in->dir);
	in->cfg = instance_config_new(in->dir);
	if (access(in->conf_path, F_OK) != 0) {
		err_set(e, ERR_CONFIG,
		    "no instance at %s (run 'directgate init --dir %s')",
		    in->dir, in->dir);
		instance_free(&in);
		return -1;
	}
	if (config_load_file(in->cfg, in->conf_path, e) != 0) {
		instance_free(&in);
		return -1;
	}
	*i_r = in;
	return 0;
}

struct store *
instance_store(struct instance *in, struct err *e)
{
	if (in->store == NULL &&
	    store_open(config_path(in->cfg, "core", "store"), 0, &in->store,
	    e) != 0)
		return NULL;
	return in->store;
}

void
instance_free(struct instance **ip)
{
	struct instance *in;

	if (ip == NULL || (in = *ip) == NULL)
		return;
	store_free(&in->store);
	config_free(&in->cfg);
	free(in->conf_path);
	free(in->dir);
	free(in);
	*ip = NULL;
}
