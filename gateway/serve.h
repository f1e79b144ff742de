/* `directgate serve`: the daemon. Each module that listens or runs
 * background work is started here, in dependency order, and registers a
 * stop hook on the loop (core/loop.h) to stop accepting and close. */
#ifndef GATEWAY_SERVE_H
#define GATEWAY_SERVE_H

#include "core/loop.h"
#include "core/store.h"
#include "gateway/instance.h"
#include "gateway/direct_intake.h"
#include "hisp/hisp.h"

struct notify;

/* What every module's start function receives. */
struct serve_ctx {
	struct instance *in;
	struct loop *loop;
	struct store_writer *writer; /* group-commit writer of the store */
	struct hisp *hisp;
	struct direct_intake direct; /* the Direct intake's hook */
	struct notify *notify;       /* the notification agent (adt/notify.h) */
};

#endif
