#include "adt/notify_digest.h"

#include <stdlib.h>
#include <string.h>

#include "adt/hl7.h"
#include "adt/notify_compose.h"
#include "adt/notify_plan.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "hisp/queue.h"

void
notify_digest_set_free(struct notify_digest_set **sp)
{
	struct notify_digest_set *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].rows);
		free(s->v[i].adts);
		buf_release(&s->v[i].body);
	}
	free(s->v);
	free(s);
	*sp = NULL;
}

static int
notify_digest_one(struct store *s, struct notify_digest_set *set,
    const char *rcpt, int64_t now_ms, struct err *e)
{
	struct notify_digest_msg *d;
	struct store_stmt *st;
	struct buf sum, *hl7 = NULL;
	const void **parts = NULL;
	size_t *lens = NULL, n = 0;
	const char *dom;
	int rc;

	set->v = xreallocarray(set->v, set->n + 1, sizeof(*set->v));
	d = &set->v[set->n++];
	memset(d, 0, sizeof(*d));
	str_lcpy(d->recipient, rcpt, sizeof(d->recipient));
	buf_init(&d->body, BUF_UNLIMITED);
	buf_init(&sum, BUF_UNLIMITED);
	st = store_prepare(s, "SELECT id, adt, event, payload, retracts"
	    " FROM notify_sent WHERE kind = 'digest' AND state = 'pending'"
	    " AND next_try <= ? AND recipient = ? ORDER BY id LIMIT ?", e);
	if (st == NULL)
		return -1;
	store_bindv(st, "Isi", now_ms, rcpt, NOTIFY_DIGEST_MAX_ENTRIES);
	while ((rc = store_step(st, e)) == 1) {
		size_t plen;
		const void *pl = store_col_blob(st, 3, &plen);
		struct hl7_msg *m = NULL;
		struct err pe;

		d->rows = xreallocarray(d->rows, n + 1, sizeof(*d->rows));
		d->adts = xreallocarray(d->adts, n + 1, sizeof(*d->adts));
		hl7 = xreallocarray(hl7, n + 1, sizeof(*hl7));
		d->rows[n] = store_col_int(st, 0);
		d->adts[n] = store_col_int(st, 1);
		buf_init(&hl7[n], BUF_UNLIMITED);
		if (pl != NULL)
			buf_append(&hl7[n], pl, plen);
		buf_printf(&sum, "==== %zu ====\r\n", n + 1);
		if (pl != NULL && hl7_parse(pl, plen, &m, &pe) == 0) {
			notify_compose_summary(m, store_col_text(st, 2),
			    !store_col_null(st, 4), 0, &sum);
			hl7_msg_free(&m);
		}
		buf_append_str(&sum, "\r\n");
		n++;
	}
	store_stmt_done(st);
	d->nrows = n;
	if (rc < 0)
		goto out;
	{
		struct buf head;

		buf_init(&head, BUF_UNLIMITED);
		buf_printf(&head, "Daily digest of ADT notifications: %zu "
		    "event(s). Each HL7 message is attached in the same "
		    "order.\r\n\r\n", n);
		buf_append(&head, sum.data, sum.len);
		buf_release(&sum);
		sum = head;
	}
	parts = xcalloc(n ? n : 1, sizeof(*parts));
	lens = xcalloc(n ? n : 1, sizeof(*lens));
	for (size_t i = 0; i < n; i++) {
		parts[i] = hl7[i].data;
		lens[i] = hl7[i].len;
	}
	dom = strchr(set->from, '@');
	notify_compose_message_id(dom != NULL ? dom + 1 : "localhost",
	    d->message_id, sizeof(d->message_id));
	{
		struct notify_direct nd = {
			.from = set->from,
			.to = d->recipient,
			.message_id = d->message_id,
			.now = now_ms / 1000,
			.event = "",
			.summary = sum.data,
			.summary_len = sum.len,
			.hl7 = parts,
			.hl7_len = lens,
			.n_hl7 = n,
			.digest = 1,
		};

		rc = notify_compose_direct(&nd, &d->body, e);
	}
out:
	for (size_t i = 0; i < n; i++)
		buf_release(&hl7[i]);
	free(hl7);
	free(parts);
	free(lens);
	buf_release(&sum);
	return rc < 0 ? -1 : 0;
}

int
notify_digest_gather(struct store *s, const char *from, int64_t now_ms,
    unsigned max, struct notify_digest_set **set_r, struct err *e)
{
	struct notify_digest_set *set = xcalloc(1, sizeof(*set));
	struct store_stmt *st;
	char **rcpts = NULL;
	size_t nr = 0;
	int rc;

	*set_r = NULL;
	str_lcpy(set->from, from, sizeof(set->from));
	st = store_prepare(s, "SELECT DISTINCT recipient FROM notify_sent"
	    " WHERE kind = 'digest' AND state = 'pending' AND next_try <= ?"
	    " LIMIT ?", e);
	if (st == NULL) {
		free(set);
		return -1;
	}
	store_bindv(st, "Ii", now_ms, (int)max);
	while ((rc = store_step(st, e)) == 1) {
		rcpts = xreallocarray(rcpts, nr + 1, sizeof(*rcpts));
		rcpts[nr++] = xstrdup(store_col_text(st, 0));
	}
	store_stmt_done(st);
	for (size_t i = 0; rc >= 0 && i < nr; i++)
		if (notify_digest_one(s, set, rcpts[i], now_ms, e) != 0)
			rc = -1;
	for (size_t i = 0; i < nr; i++)
		free(rcpts[i]);
	free(rcpts);
	if (rc < 0) {
		notify_digest_set_free(&set);
		return -1;
	}
	*set_r = set;
	return 0;
}

int
notify_digest_apply(struct store *s, const struct notify_digest_set *set,
    int64_t now_ms, int64_t expire_s, struct err *e)
{
	for (size_t i = 0; i < set->n; i++) {
		const struct notify_digest_msg *d = &set->v[i];
		const char *rcpts[1] = {d->recipient};
		struct queue_envelope env = {
			.direction = QUEUE_OUT,
			.mail_from = set->from,
			.rcpts = rcpts,
			.nrcpt = 1,
			.client = "notify",
			.message_id = d->message_id,
		};
		char qid[QUEUE_ID_LEN + 1], detail[200];

		if (d->nrows == 0)
			continue;
		if (queue_insert(s, &env, d->body.data, d->body.len, expire_s,
		    qid, e) != 0)
			return -1;
		str_fmt(detail, sizeof(detail), "kind=digest entries=%zu "
		    "queue_id=%s size=%zu", d->nrows, qid, d->body.len);
		for (size_t j = 0; j < d->nrows; j++) {
			/* Still pending: another pass may have sent it. */
			if (store_run(s, e, "UPDATE notify_sent SET state ="
			    " 'queued', message_id = ?, queue_id = ?, updated = ?"
			    " WHERE id = ? AND state = 'pending'", "ssII",
			    d->message_id, qid, now_ms, d->rows[j]) != 0)
				return -1;
			if (notify_plan_audit(s, d->adts[j], now_ms,
			    "digest_queued", NULL, d->recipient, detail,
			    e) != 0)
				return -1;
		}
	}
	return 0;
}
