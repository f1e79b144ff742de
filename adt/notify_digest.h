/* Daily digests: per recipient whose preference timing is a digest, the
 * pending entries (notify_sent kind 'digest') whose time has come become
 * one Direct message listing the events (a summary each) with every HL7
 * message attached. gather reads (a worker), apply records (a writer job:
 * the message is queued and the entries move to 'queued' in the same
 * transaction, so a digest goes out once). */
#ifndef ADT_NOTIFY_DIGEST_H
#define ADT_NOTIFY_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/store.h"

#define NOTIFY_DIGEST_MAX_ENTRIES 500

struct notify_digest_msg {
	char recipient[256];
	char message_id[160];
	int64_t *rows;        /* notify_sent ids */
	int64_t *adts;        /* their ADT ids (audit) */
	size_t nrows;
	struct buf body;
};

struct notify_digest_set {
	char from[256];
	struct notify_digest_msg *v;
	size_t n;
};

void notify_digest_set_free(struct notify_digest_set **sp);

/* Reads due digests (at most max recipients) and composes them. *set_r is
 * never NULL on success (it may hold none). 0 / -1. */
int notify_digest_gather(struct store *s, const char *from, int64_t now_ms,
    unsigned max, struct notify_digest_set **set_r, struct err *e);
/* Inside a transaction: queues each message and marks its entries. */
int notify_digest_apply(struct store *s, const struct notify_digest_set *set,
    int64_t now_ms, int64_t expire_s, struct err *e);

#endif
