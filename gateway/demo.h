/* The demo instance made by `directgate init --demo` (and `make run`). */
#ifndef GATEWAY_DEMO_H
#define GATEWAY_DEMO_H

#include "core/err.h"
#include "gateway/instance.h"

/* Settings written into a demo instance's configuration (INI text). */
const char *demo_config_text(void);
/* Fills a fresh demo instance's store and key directory. */
int demo_populate(struct instance *in, struct err *e);

#endif
