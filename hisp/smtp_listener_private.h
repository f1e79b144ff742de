/* Inside the SMTP listener, shared with its unit test: the message a
 * session is receiving. DATA chunks are appended up to the buffer's
 * maximum; a message that did not fit is refused at its end (552 5.3.4),
 * never committed truncated. The sessions of a listener share a budget
 * of message bytes held in memory ([smtp] max_buffered): a message that
 * would pass it is refused at its end with 452 4.3.1 (try again later),
 * so that many large messages at once cannot exhaust the memory. */
#ifndef HISP_SMTP_LISTENER_PRIVATE_H
#define HISP_SMTP_LISTENER_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Bytes held by all the messages of a listener's sessions (loop thread). */
struct smtp_listener_budget {
	size_t used;
	size_t max;
};

struct smtp_listener_msg {
	struct buf data;   /* the bytes received so far */
	bool overflow;     /* a chunk did not fit: the message is refused */
	bool starved;      /* the budget ran out: refused for now */
	struct smtp_listener_budget *budget; /* NULL: none */
};

/* An empty message of at most max bytes, counted in budget (NULL: no
 * budget; the budget must outlive the message). */
void smtp_listener_msg_init(struct smtp_listener_msg *m, size_t max,
    struct smtp_listener_budget *budget);
/* Whether the budget is spent: a DATA command is then refused (452). */
bool smtp_listener_budget_spent(const struct smtp_listener_budget *b);
/* Empties it (a new DATA, an aborted transaction). */
void smtp_listener_msg_reset(struct smtp_listener_msg *m);
void smtp_listener_msg_release(struct smtp_listener_msg *m);
/* Appends a DATA chunk (copied). -1 the first time a chunk does not fit:
 * from then on chunks are dropped and the end refuses the message. */
int smtp_listener_msg_append(struct smtp_listener_msg *m, const void *p,
    size_t n);
/* At DATA_END: 0 when the message is whole (commit m->data); else the
 * reply code (552 too large, 452 out of budget) with its enhanced code and
 * text (static strings), and the message is emptied. */
int smtp_listener_msg_end(struct smtp_listener_msg *m, const char **enh_r,
    const char **text_r);

#endif
