/* The HISP in the daemon: the queue runner and its handlers, the trust
 * snapshot, the SMTP listeners. gateway/ starts it and hands the ADT
 * intake hook in (modules earlier in the order offer callbacks; later
 * ones plug into them). */
#ifndef HISP_HISP_H
#define HISP_HISP_H

#include "core/config.h"
#include "core/err.h"
#include "core/loop.h"
#include "core/store.h"
#include "hisp/deliver.h"
#include "hisp/queue.h"

struct hisp_params {
	struct loop *loop;
	struct store_writer *writer;
	const struct config *cfg;
	deliver_hook_fn *intake;   /* messages to ADDRESS_INTAKE addresses */
	void *intake_arg;
};

struct hisp;

/* Starts everything; registers its stop hooks on the loop. On failure
 * *h_r is still set: tear it down like a started one. */
int hisp_start(const struct hisp_params *p, struct hisp **h_r,
    struct err *e);
/* Right after the loop ended, before loop_free: releases what needs the
 * loop to close (the resolver). Accepts NULL. */
void hisp_close(struct hisp *h);
/* After loop_free. Accepts NULL. */
void hisp_free(struct hisp **hp);

/* Queues a message from a local sender (the notification agent): sealed
 * and delivered like an edge client's submission. done as for
 * queue_submit; the runner is kicked once it is durable. */
void hisp_submit(struct hisp *h, const char *mail_from,
    const char *const *rcpts, size_t nrcpt, const void *msg, size_t len,
    queue_done_fn *done, void *arg);

struct queue_runner *hisp_runner(struct hisp *h);

#endif
