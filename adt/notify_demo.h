/* The notification agent's part of the demo instance (`directgate init
 * --demo`, `make run`): a small generated data set (adt/demo_data.h) whose
 * Direct endpoints are mailboxes of the demo's receiving domain, loaded
 * into the ACRS and the Health Directory, so that an ADT sent to the demo
 * (`directgate adt send DIR/demo/adt/messages.hl7 --mllp 127.0.0.1:2575`)
 * produces notifications readable in those mailboxes (password "demo"). */
#ifndef ADT_NOTIFY_DEMO_H
#define ADT_NOTIFY_DEMO_H

#include <stdint.h>

#include "core/err.h"
#include "core/store.h"

struct notify_demo_opts {
	const char *dir;      /* where the files go (created) */
	const char *domain;   /* Direct endpoints: mailboxes here */
	const char *mllp;     /* MLLP endpoints (host:port) */
	unsigned patients, providers;
	int32_t today;        /* YYYYMMDD */
};

/* Generates, writes, imports, and adds a mailbox (password "demo") for
 * each Direct endpoint in o->domain (the domain must exist). 0 / -1. */
int notify_demo_load(struct store *s, const struct notify_demo_opts *o,
    struct err *e);

/* The demo instance's defaults: 50 patients, 8 providers, files under
 * INSTANCE_DIR/demo, MLLP endpoints at 127.0.0.1:2576, today's date. */
int notify_demo_populate(struct store *s, const char *instance_dir,
    const char *domain, struct err *e);

#endif
