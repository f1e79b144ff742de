/* The event loop (libuv) and the worker pool. One thread runs the loop and
 * owns every socket, timer and signal; workers run what burns CPU or blocks
 * and post results back. Workers never touch loop handles.
 *
 * SIGTERM and SIGINT start a graceful shutdown: the stop hooks run (newest
 * first) so that each module stops accepting and closes its handles; the
 * loop ends when nothing is left, or after the grace period (work on the
 * pool still finishes first; the handles left open stay their modules' to
 * close in their teardown, and loop_free closes what remains). SIGHUP
 * reopens the log file and runs the hup hooks. */
#ifndef CORE_LOOP_H
#define CORE_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct uv_loop_s;
struct loop;

typedef void loop_fn(void *arg);
/* Runs after work; cancelled is true when the loop stopped first. */
typedef void loop_after_fn(void *arg, bool cancelled);

int loop_new(struct loop **l_r, struct err *e);
/* Only after loop_run has returned. Accepts NULL. */
void loop_free(struct loop **lp);
/* The libuv loop, for module glue code that opens handles. */
struct uv_loop_s *loop_uv(struct loop *l);
/* Runs until shutdown completes; 0 on a clean stop. */
int loop_run(struct loop *l);
/* Begins the graceful shutdown (loop thread only). */
void loop_stop(struct loop *l);
/* Thread-safe request for loop_stop. */
void loop_stop_async(struct loop *l);
bool loop_stopping(const struct loop *l);
/* Grace period for in-flight work after stop; default 10 s. */
void loop_set_grace_ms(struct loop *l, uint64_t ms);
/* Milliseconds of the loop's clock. */
uint64_t loop_now_ms(struct loop *l);

/* Thread-safe: fn(arg) runs on the loop thread soon, in order of posting. */
void loop_post(struct loop *l, loop_fn *fn, void *arg);
/* work(arg) runs on a worker; then after(arg, cancelled) on the loop
 * thread. 0, or -1 when shutting down (neither runs). */
int loop_work(struct loop *l, loop_fn *work, loop_after_fn *after, void *arg);

/* Hooks (loop thread). Stop hooks run once, newest first. */
void loop_on_stop(struct loop *l, loop_fn *fn, void *arg);
void loop_on_hup(struct loop *l, loop_fn *fn, void *arg);

/* Sets the worker pool size (UV_THREADPOOL_SIZE) before any work is queued;
 * 0 means the number of cores. Call before loop_new. */
void loop_set_workers(unsigned n);

#endif
