/* The daemon's bundle refresher: a timer on the loop that, once a minute,
 * refreshes on a worker every trust bundle whose interval has passed
 * (bundle_refresh_due), through its own store connection. Started by
 * `directgate serve`; stops itself at shutdown (a loop stop hook). A
 * refresh changes the store's policy counters, so the trust snapshot of
 * the daemon reloads by itself. */
#ifndef CERTS_BUNDLE_SCHED_H
#define CERTS_BUNDLE_SCHED_H

#include <stdint.h>

#include "core/config.h"
#include "core/err.h"
#include "core/loop.h"

/* Loop thread only. db_path is copied; cfg is borrowed for the life of the
 * loop ([certs] bundle_timeout and bundle_max_size). The first check runs
 * after first_ms, then every period_ms (0: 5 s and 60 s). Returns 0, or -1
 * with e set (nothing started). Everything is released after the loop's
 * stop hooks ran. */
int bundle_sched_start(struct loop *l, const char *db_path,
    const struct config *cfg, uint64_t first_ms, uint64_t period_ms,
    struct err *e);

#endif
