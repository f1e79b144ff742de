#include "hisp/track.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <uv.h>

#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "hisp/dsn.h"
#include "hisp/queue.h"

const char *
track_verdict_name(enum track_verdict v)
{
	switch (v) {
	case TRACK_FORWARD:
		return "forward";
	case TRACK_SUPPRESS:
		return "suppress";
	case TRACK_UNKNOWN:
		return "unknown";
	case TRACK_REJECTED:
		return "rejected";
	}
	return "?";
}

int
track_sent(struct store *s, const char *message_id, const char *rcpt,
    const char *sender, const char *queue_id, bool final_requested,
    int64_t now, const struct track_opts *o, struct err *e)
{
	/* A message sent again (a retry after a crash) keeps its first
	 * record. */
	return store_run(s, e,
	    "INSERT OR IGNORE INTO track (message_id, rcpt, sender, queue_id,"
	    " state, final_requested, sent, deadline)"
	    " VALUES (?1, lower(?2), ?3, ?4, 'sent', ?5, ?6, ?7)", "ssssiII",
	    message_id, rcpt, sender, queue_id, final_requested ? 1 : 0, now,
	    now + o->processed_timeout_s);
}

bool
track_sender_may_report(const struct mdn_report *r, const char *from)
{
	const char *fd, *rd;

	if (from == NULL || from[0] == '\0' || r->final_recipient[0] == '\0')
		return false;
	if (!r->is_dsn)
		return strcasecmp(from, r->final_recipient) == 0;
	fd = strrchr(from, '@');
	rd = strrchr(r->final_recipient, '@');
	return fd != NULL && rd != NULL && fd[1] != '\0' &&
	    strcasecmp(fd + 1, rd + 1) == 0;
}

static int
track_event(struct store *s, const char *mid, const char *rcpt,
    const char *kind, int64_t now, const char *qid, bool forwarded,
    const char *note, struct err *e)
{
	return store_run(s, e, "INSERT INTO track_event (message_id, rcpt,"
	    " kind, at, queue_id, forwarded, note) VALUES (?1, lower(?2), ?3,"
	    " ?4, ?5, ?6, ?7)", "sssIsis", mid, rcpt, kind, now, qid,
	    forwarded ? 1 : 0, note);
}

int
track_apply(struct store *s, const struct mdn_report *r,
    const char *report_from, const char *report_qid, int64_t now,
    const struct track_opts *o, enum track_verdict *v_r, struct err *e)
{
	struct store_stmt *st;
	char state[16] = "";
	bool final_req = false, forward = false, had_processed = false;
	const char *kind = mdn_disposition_name(r->disposition);
	int64_t prev = -1;
	int rc;

	*v_r = TRACK_UNKNOWN;
	/* The same report message again (its task retried): same verdict. */
	rc = store_query_int(s, &prev, e, "SELECT forwarded FROM track_event"
	    " WHERE queue_id = ?1 AND message_id = ?2 AND rcpt = lower(?3)",
	    "sss", report_qid, r->orig_message_id, r->final_recipient);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		*v_r = prev ? TRACK_FORWARD : TRACK_SUPPRESS;
		return 0;
	}
	st = store_prepare(s, "SELECT state, final_requested, processed_at"
	    " IS NOT NULL FROM track WHERE message_id = ?1 AND rcpt ="
	    " lower(?2)", e);
	if (st == NULL)
		return -1;
	store_bindv(st, "ss", r->orig_message_id, r->final_recipient);
	rc = store_step(st, e);
	if (rc == 1) {
		str_lcpy(state, store_col_text(st, 0), sizeof(state));
		final_req = store_col_int(st, 1) != 0;
		had_processed = store_col_int(st, 2) != 0;
	}
	store_stmt_done(st);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return 0; /* unknown: the caller logs and drops it */
	if (!track_sender_may_report(r, report_from)) {
		/* Not recorded either: a forged report leaves no trace in the
		 * message's history (the caller logs it). */
		*v_r = TRACK_REJECTED;
		return 0;
	}
	switch (r->disposition) {
	case MDN_PROCESSED:
		if (strcmp(state, "sent") == 0) {
			forward = true;
			if (store_run(s, e, "UPDATE track SET state = 'processed',"
			    " processed_at = ?1, deadline = ?2 WHERE message_id"
			    " = ?3 AND rcpt = lower(?4)", "IIss", now,
			    final_req ? now + o->dispatched_timeout_s : now,
			    r->orig_message_id, r->final_recipient) != 0)
				return -1;
		} else if (!had_processed && strcmp(state, "timed_out") != 0) {
			/* Overtaken on the way by the dispatched or failed MDN
			 * sent after it: still the first processed one, so
			 * news, but not a new state. */
			forward = true;
			if (store_run(s, e, "UPDATE track SET processed_at = ?1"
			    " WHERE message_id = ?2 AND rcpt = lower(?3)", "Iss",
			    now, r->orig_message_id, r->final_recipient) != 0)
				return -1;
		}
		break;
	case MDN_DISPATCHED:
		if (strcmp(state, "sent") == 0 ||
		    strcmp(state, "processed") == 0) {
			forward = true;
			if (store_run(s, e, "UPDATE track SET state = 'dispatched',"
			    " dispatched_at = ?1 WHERE message_id = ?2 AND"
			    " rcpt = lower(?3)", "Iss", now, r->orig_message_id,
			    r->final_recipient) != 0)
				return -1;
		}
		break;
	case MDN_FAILED:
		if (strcmp(state, "sent") == 0 ||
		    strcmp(state, "processed") == 0) {
			forward = true;
			if (store_run(s, e, "UPDATE track SET state = 'failed',"
			    " failed_at = ?1, reason = ?2 WHERE message_id = ?3"
			    " AND rcpt = lower(?4)", "Isss", now,
			    r->detail[0] ? r->detail : (r->is_dsn ?
			    "delivery status notification" : "failed MDN"),
			    r->orig_message_id, r->final_recipient) != 0)
				return -1;
		}
		break;
	default:
		/* DSNs saying delayed or delivered: recorded only. */
		break;
	}
	if (track_event(s, r->orig_message_id, r->final_recipient,
	    r->is_dsn ? (r->disposition == MDN_FAILED ? "dsn-failed" :
	    "dsn") : kind, now, report_qid, forward, r->detail[0] ? r->detail :
	    NULL, e) != 0)
		return -1;
	*v_r = forward ? TRACK_FORWARD : TRACK_SUPPRESS;
	return 0;
}

struct overdue {
	char *mid, *rcpt, *sender, *state;
	int64_t sent;
};

static int
track_timeout_one(struct store *s, const struct overdue *o, int64_t now,
    const char *hostname, struct err *e)
{
	const char *dom = strrchr(o->sender, '@');
	char from[300], why[200], id[QUEUE_ID_LEN + 1];
	struct dsn_rcpt rc;
	struct dsn_params p = {0};
	struct queue_envelope env = {0};
	const char *rcpts[1] = {o->sender};
	char hdr[512];
	struct buf out;
	int ret;

	snprintf(from, sizeof(from), "mailer-daemon@%s",
	    dom != NULL ? dom + 1 : "localhost");
	snprintf(why, sizeof(why), "no %s notification arrived in time",
	    strcmp(o->state, "sent") == 0 ? "processed" : "dispatched");
	rc.rcpt = o->rcpt;
	rc.status = "5.4.7";
	rc.diagnostic = why;
	snprintf(hdr, sizeof(hdr), "Message-ID: %s\r\nTo: <%s>\r\n\r\n",
	    o->mid, o->rcpt);
	p.reporting_mta = hostname;
	p.from = from;
	p.to = o->sender;
	p.orig_message_id = o->mid;
	p.arrival = o->sent;
	p.now = now;
	p.orig = hdr;
	p.orig_len = strlen(hdr);
	p.rcpts = &rc;
	p.nrcpt = 1;
	p.explanation = "The recipient's system did not confirm delivery of "
	    "your message in time.";
	buf_init(&out, 1024 * 1024);
	dsn_build(&out, &p);
	env.direction = QUEUE_LOCAL;
	env.mail_from = "";
	env.rcpts = rcpts;
	env.nrcpt = 1;
	env.flags = QUEUE_F_NOTIFICATION;
	ret = queue_insert(s, &env, out.data, out.len, 5 * 86400, id, e);
	buf_release(&out);
	if (ret != 0)
		return -1;
	if (store_run(s, e, "UPDATE track SET state = 'timed_out', reason = ?1"
	    " WHERE message_id = ?2 AND rcpt = ?3", "sss", why, o->mid,
	    o->rcpt) != 0)
		return -1;
	if (track_event(s, o->mid, o->rcpt, "timeout", now, id, true, why,
	    e) != 0)
		return -1;
	log_info(id, "event=delivery_timeout orig=%s to=<%s> sender=<%s>",
	    o->mid, o->rcpt, o->sender);
	return 0;
}

int
track_expire(struct store *s, int64_t now, const char *hostname, int *n_r,
    struct err *e)
{
	struct overdue *v = NULL;
	struct store_stmt *st;
	size_t n = 0;
	int rc = 0;

	*n_r = 0;
	st = store_prepare(s, "SELECT message_id, rcpt, sender, state, sent"
	    " FROM track WHERE deadline <= ?1 AND (state = 'sent' OR"
	    " (state = 'processed' AND final_requested = 1)) LIMIT 500", e);
	if (st == NULL)
		return -1;
	store_bind_int(st, 1, now);
	while ((rc = store_step(st, e)) == 1) {
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n].mid = xstrdup(store_col_text(st, 0));
		v[n].rcpt = xstrdup(store_col_text(st, 1));
		v[n].sender = xstrdup(store_col_text(st, 2));
		v[n].state = xstrdup(store_col_text(st, 3));
		v[n].sent = store_col_int(st, 4);
		n++;
	}
	store_stmt_done(st);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (track_timeout_one(s, &v[i], now, hostname, e) != 0)
			rc = -1;
		else
			(*n_r)++;
	}
	for (size_t i = 0; i < n; i++) {
		free(v[i].mid);
		free(v[i].rcpt);
		free(v[i].sender);
		free(v[i].state);
	}
	free(v);
	return rc < 0 ? -1 : 0;
}

struct track_timer {
	struct loop *loop;
	struct store_writer *writer;
	struct queue_runner *runner;
	char *hostname;
	uv_timer_t timer;
	bool busy;
	bool stopped;
	int expired;
};

static int
timer_job(struct store *s, void *arg, struct err *e)
{
	struct track_timer *t = arg;
	int64_t now = (int64_t)time(NULL);

	/* Duplicates come within the sender's queue lifetime: a month of
	 * memory is plenty. */
	if (store_run(s, e, "DELETE FROM received WHERE at < ?1", "I",
	    now - 30 * 86400) != 0)
		return -1;
	return track_expire(s, now, t->hostname, &t->expired, e);
}

static void
timer_done(void *arg, int status, const struct err *e)
{
	struct track_timer *t = arg;

	t->busy = false;
	if (status != 0)
		log_error(NULL, "event=track_expire_failed reason=\"%s\"",
		    e != NULL ? e->msg : "");
	else if (t->expired > 0 && !t->stopped)
		queue_runner_kick(t->runner);
}

static void
timer_cb(uv_timer_t *h)
{
	struct track_timer *t = h->data;

	if (t->busy || t->stopped)
		return;
	t->busy = true;
	t->expired = 0;
	store_writer_submit(t->writer, timer_job, timer_done, t);
}

static void
timer_stop(void *arg)
{
	struct track_timer *t = arg;

	t->stopped = true;
	uv_timer_stop(&t->timer);
	uv_close((uv_handle_t *)&t->timer, NULL);
}

struct track_timer *
track_timer_start(struct loop *l, struct store_writer *w,
    struct queue_runner *r, const char *hostname, int64_t interval_ms)
{
	struct track_timer *t = xcalloc(1, sizeof(*t));

	t->loop = l;
	t->writer = w;
	t->runner = r;
	t->hostname = xstrdup(hostname);
	uv_timer_init(loop_uv(l), &t->timer);
	t->timer.data = t;
	uv_timer_start(&t->timer, timer_cb, (uint64_t)interval_ms,
	    (uint64_t)interval_ms);
	loop_on_stop(l, timer_stop, t);
	return t;
}

void
track_timer_free(struct track_timer **tp)
{
	struct track_timer *t;

	if (tp == NULL || (t = *tp) == NULL)
		return;
	free(t->hostname);
	free(t);
	*tp = NULL;
}
