/* The mail queue. A message and its envelope are committed to the store
 * in one group-commit job (the store is the spool: one fsync covers many
 * messages, and no file ever exists without its envelope); only then is
 * the submitter told, so SMTP answers 250 only for what is durable.
 *
 * The runner hands due work to a handler per direction, one task per
 * (message, destination domain), and records each recipient's outcome:
 * delivered or sent (final), deferred (retried with exponential backoff
 * until the message expires), failed (final; a DSN goes to the sender
 * unless the sender is <>). A restarted daemon resumes every pending
 * recipient: the queue lives in the store. */
#ifndef HISP_QUEUE_H
#define HISP_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/loop.h"
#include "core/store.h"

#define QUEUE_ID_LEN 16

enum queue_direction {
	QUEUE_IN,    /* from another HISP to local recipients: open, deliver */
	QUEUE_OUT,   /* from a local sender: seal, deliver to its HISP */
	QUEUE_LOCAL, /* generated here for local mailboxes (DSNs): deliver */
};

/* Flags of a message. */
#define QUEUE_F_NOTIFICATION 0x1 /* a DSN or MDN: never answered by one */

struct queue_envelope {
	enum queue_direction direction;
	const char *mail_from;      /* "" for <> */
	const char *const *rcpts;
	size_t nrcpt;
	const char *auth_user;      /* NULL when not authenticated */
	const char *client;         /* peer address, for the log */
	const char *message_id;     /* from the header, NULL if none */
	unsigned flags;
};

/* status 0: durable, id is the queue id; -1: not stored (e says why,
 * TEMP for store failures). Runs on the writer's loop thread. */
typedef void queue_done_fn(void *arg, int status, const char *id,
    const struct err *e);

/* Queues a message: env and body are copied; expires_s is the lifetime in
 * seconds from now. done runs exactly once. */
void queue_submit(struct store_writer *w, const struct queue_envelope *env,
    const void *body, size_t len, int64_t expires_s, queue_done_fn *done,
    void *arg);
/* The same inside a store job already running on the writer thread (a DSN
 * queued in the transaction that records a failure). id_r gets the id. */
int queue_insert(struct store *s, const struct queue_envelope *env,
    const void *body, size_t len, int64_t expires_s,
    char id_r[QUEUE_ID_LEN + 1], struct err *e);
/* The same under an id the caller drew with queue_id_next(), so that rows
 * naming it can be written first; if another process took that id
 * meanwhile, another is drawn into id_io. */
int queue_insert_as(struct store *s, const struct queue_envelope *env,
    const void *body, size_t len, int64_t expires_s,
    char id_io[QUEUE_ID_LEN + 1], struct err *e);
/* A fresh random id (64 bits, as 16 hex digits). */
void queue_id_new(char id_r[QUEUE_ID_LEN + 1]);
/* The next queue id: the same form, ordered by time (milliseconds, then a
 * per-process counter from a random start), so that rows keyed by it
 * append to their indexes. queue_insert() uses it. */
void queue_id_next(char id_r[QUEUE_ID_LEN + 1]);
/* The Message-ID header's value of an RFC 5322 message (angle brackets
 * kept), NULL when absent; the caller frees. */
char *queue_message_id(const void *body, size_t len);

/* The outcome of one recipient, filled by a handler. */
enum queue_outcome {
	QUEUE_PENDING = 0, /* not decided: treated as deferred */
	QUEUE_DELIVERED,   /* in a local mailbox */
	QUEUE_SENT,        /* accepted by the next hop */
	QUEUE_DEFERRED,    /* temporary failure: try again later */
	QUEUE_FAILED,      /* permanent failure: DSN to the sender */
};

struct queue_rcpt_result {
	char *rcpt;
	enum queue_outcome outcome;
	char status[12];  /* enhanced status code, e.g. "5.1.1" */
	char reason[200]; /* for the log and the DSN: no PHI */
	char *relay;      /* where it went (host[addr]:port, "maildir") */
};

/* A message a handler wants queued in the same transaction that records
 * the task's outcome (an MDN for a message just delivered). */
struct queue_followup {
	enum queue_direction direction;
	char *mail_from;
	char *rcpt;
	unsigned flags;
	struct buf body;
};

/* One (message, destination domain) of due work. */
struct queue_task {
	char id[QUEUE_ID_LEN + 1];
	enum queue_direction direction;
	unsigned flags;
	char *mail_from;
	char *domain;
	char *message_id;
	char *auth_user;
	uint8_t *body;
	size_t len;
	int attempts;     /* earlier attempts of these recipients */
	int64_t received; /* unix seconds */
	int64_t expires;
	struct queue_rcpt_result *rcpts;
	size_t nrcpt;
	struct queue_followup *followups;
	size_t nfollowups;
};

/* Adds a follow-up message to t (copies everything). Handlers only. */
void queue_task_add_followup(struct queue_task *t, enum queue_direction d,
    const char *mail_from, const char *rcpt, unsigned flags,
    const void *body, size_t len);

struct queue_runner;
/* Called on the loop thread; calls done(t) exactly once, on the loop
 * thread, with every rcpts[i].outcome set. The task belongs to the runner
 * (valid until done returns). */
typedef void queue_task_done_fn(struct queue_runner *r, struct queue_task *t);
typedef void queue_handler_fn(void *ctx, struct queue_runner *r,
    struct queue_task *t, queue_task_done_fn *done);

struct queue_runner_opts {
	const char *db_path;
	/* Deadlines for the MDNs of what is sent (hisp/track.h). */
	int64_t processed_timeout_s;
	int64_t dispatched_timeout_s;
	int64_t retry_min_s;   /* first retry after this; doubles each time */
	int64_t retry_max_s;   /* never waits longer than this */
	int64_t scan_ms;       /* how often due work is looked for */
	unsigned max_tasks;    /* tasks in flight */
	const char *hostname;  /* Reporting-MTA in DSNs */
};

struct queue_runner *queue_runner_new(struct loop *l, struct store_writer *w,
    const struct queue_runner_opts *o);
void queue_runner_set_handler(struct queue_runner *r,
    enum queue_direction d, queue_handler_fn *fn, void *ctx);
/* Starts scanning (and registers a stop hook that stops it). */
void queue_runner_start(struct queue_runner *r);
/* Looks for due work now (after a submit). */
void queue_runner_kick(struct queue_runner *r);
/* Stops scanning; tasks in flight finish. */
void queue_runner_stop(struct queue_runner *r);
/* Only once stopped and idle (after the loop ended). */
void queue_runner_free(struct queue_runner **rp);

const char *queue_outcome_name(enum queue_outcome o);
const char *queue_direction_name(enum queue_direction d);
int queue_direction_parse(const char *s, enum queue_direction *d_r);

/* A read connection of the calling thread's own for the store at path
 * (opened on first use, kept for the thread's life). Workers only. */
struct store *queue_thread_store(const char *path, struct err *e);

/* Sets a recipient's outcome, status, relay (copied) and reason. For
 * handlers. */
void queue_rcpt_set(struct queue_rcpt_result *res, enum queue_outcome o,
    const char *status, const char *relay, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Seconds to wait before attempt n+1 (n >= 1), with jitter. */
int64_t queue_backoff_s(int attempts, int64_t min_s, int64_t max_s);

#endif
