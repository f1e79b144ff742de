#include "hisp/deliver.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certs/keystore.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "hisp/address.h"
#include "hisp/header.h"
#include "hisp/mdn.h"
#include "smime/agent.h"

bool
deliver_is_notification(const uint8_t *msg, size_t len)
{
	return header_contains(msg, len, "Content-Type", "multipart/report");
}

struct deliver_job {
	struct deliver_ctx *ctx;
	struct queue_runner *r;
	struct queue_task *t;
	queue_task_done_fn *done;
};

static void
from_err(struct queue_rcpt_result *res, const char *relay,
    const struct err *e)
{
	if (e->kind == ERR_TEMP)
		queue_rcpt_set(res, QUEUE_DEFERRED, "4.3.0", relay, "%s", e->msg);
	else
		queue_rcpt_set(res, QUEUE_FAILED, "5.3.0", relay, "%s", e->msg);
}

/* Into a mailbox, or to a service address's hook. */
static void
deliver_to(struct deliver_ctx *ctx, struct store *s, struct queue_task *t,
    struct queue_rcpt_result *res, const char *from, const uint8_t *msg,
    size_t len)
{
	enum address_kind kind;
	char key[64];
	struct err e;
	int rc;

	rc = address_lookup(s, res->rcpt, &kind, &e);
	if (rc < 0) {
		from_err(res, "maildir", &e);
		return;
	}
	if (rc == 0) {
		queue_rcpt_set(res, QUEUE_FAILED, "5.1.1", "maildir",
		    "no such mailbox");
		return;
	}
	if (kind == ADDRESS_INTAKE) {
		if (ctx->intake == NULL) {
			queue_rcpt_set(res, QUEUE_FAILED, "5.3.0", "intake",
			    "no intake configured");
		} else if (ctx->intake(ctx->intake_arg, res->rcpt, from, msg,
		    len, &e) != 0) {
			from_err(res, "intake", &e);
		} else {
			queue_rcpt_set(res, QUEUE_DELIVERED, "2.0.0", "intake",
			    "taken by the ADT intake");
		}
		return;
	}
	/* Once per (queue message, recipient): a retry, or a task an earlier
	 * process may have done without recording it (a crash between the
	 * Maildir write and the record), looks for its first copy. Each
	 * recipient has a Maildir of its own, so the queue id is the key; a
	 * recipient's place in this attempt's list is not (a retry may list
	 * more recipients, come due meanwhile). */
	str_lcpy(key, t->id, sizeof(key));
	if (maildir_deliver_once(&ctx->maildir, res->rcpt, key,
	    t->attempts > 0 || t->received <= ctx->started, msg, len, NULL,
	    &e) != 0)
		from_err(res, "maildir", &e);
	else
		queue_rcpt_set(res, QUEUE_DELIVERED, "2.0.0", "maildir",
		    "delivered");
}

/* An MDN from rcpt about the message just opened, queued with the
 * outcome. */
static void
deliver_mdn(struct deliver_ctx *ctx, struct queue_task *t,
    const struct queue_rcpt_result *res, const char *to, const char *mid,
    enum mdn_disposition d, bool ext, const char *failure)
{
	struct mdn_params p = {0};
	struct buf out;

	p.reporting_ua = ctx->hostname;
	p.from = res->rcpt;
	p.to = to;
	p.orig_message_id = mid;
	p.final_recipient = res->rcpt;
	p.disposition = d;
	p.final_delivery_ext = ext;
	p.failure = failure;
	p.now = (int64_t)time(NULL);
	buf_init(&out, 1024 * 1024);
	if (mdn_build(&out, &p) == 0) {
		queue_task_add_followup(t, QUEUE_OUT, "", to,
		    QUEUE_F_NOTIFICATION, out.data, out.len);
		log_info(t->id, "event=mdn_queued to=<%s> about=<%s>"
		    " disposition=%s", to, res->rcpt, mdn_disposition_name(d));
	}
	buf_release(&out);
}

/* A report names at most this many recipients we look at (a DSN from a
 * relay lists every recipient of the message it gave up on). */
#define DELIVER_REPORT_MAX_RCPTS 100

struct apply_job {
	const struct mdn_report *r;
	size_t n;
	const char *from;
	const char *qid;
	const struct track_opts *o;
	enum track_verdict *v;
};

/* Every recipient of the report in one transaction. */
static int
apply_write(struct store *s, void *arg, struct err *e)
{
	struct apply_job *j = arg;
	int64_t now = (int64_t)time(NULL);

	for (size_t i = 0; i < j->n; i++)
		if (track_apply(s, &j->r[i], j->from, j->qid, now, j->o,
		    &j->v[i], e) != 0)
			return -1;
	return 0;
}

/* A report (MDN or DSN) for a message we sent: tracking decides whether
 * the sender hears of it: when it is news for any recipient it names. */
static void
deliver_report(struct deliver_ctx *ctx, struct store *s,
    struct queue_task *t, struct queue_rcpt_result *res, const char *from,
    const uint8_t *c, size_t cl)
{
	struct mdn_report *r = xcalloc(1, sizeof(*r));
	enum track_verdict *v;
	struct apply_job j = {0};
	bool forward = false, known = false, rejected = false;
	size_t n = 1;
	struct err e;
	int rc = mdn_parse(c, cl, &r[0], &e);

	if (rc <= 0) {
		/* Not one we can read: it goes to the mailbox as it is. */
		if (rc < 0)
			log_warn(t->id, "event=report_unreadable to=<%s>"
			    " reason=\"%s\"", res->rcpt, e.msg);
		free(r);
		deliver_to(ctx, s, t, res, from, c, cl);
		return;
	}
	while (n < DELIVER_REPORT_MAX_RCPTS) {
		struct mdn_report next;

		if (mdn_parse_rcpt(c, cl, n, &next, &e) != 1)
			break;
		r = xreallocarray(r, n + 1, sizeof(*r));
		r[n++] = next;
	}
	v = xcalloc(n, sizeof(*v));
	j.r = r;
	j.n = n;
	j.from = from;
	j.qid = t->id;
	j.o = &ctx->track;
	j.v = v;
	if (store_writer_run(ctx->writer, apply_write, &j, &e) != 0) {
		from_err(res, "tracking", &e);
		free(v);
		free(r);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i] == TRACK_REJECTED) {
			/* A trusted HISP reporting on a recipient it does not
			 * speak for: forged, or misaddressed. */
			log_warn(t->id, "event=mdn_rejected"
			    " reason=sender_not_recipient kind=%s"
			    " disposition=%s orig=%s rcpt=<%s> from=<%s>",
			    r[i].is_dsn ? "dsn" : "mdn",
			    mdn_disposition_name(r[i].disposition),
			    r[i].orig_message_id, r[i].final_recipient, from);
			rejected = true;
			continue;
		}
		log_info(t->id, "event=report kind=%s disposition=%s orig=%s"
		    " rcpt=<%s> verdict=%s", r[i].is_dsn ? "dsn" : "mdn",
		    mdn_disposition_name(r[i].disposition),
		    r[i].orig_message_id, r[i].final_recipient,
		    track_verdict_name(v[i]));
		forward = forward || v[i] == TRACK_FORWARD;
		known = known || v[i] != TRACK_UNKNOWN;
	}
	free(v);
	free(r);
	if (forward)
		deliver_to(ctx, s, t, res, from, c, cl);
	else if (rejected && !known)
		queue_rcpt_set(res, QUEUE_DELIVERED, "2.0.0", "rejected", "%s",
		    "report from a sender that is not the recipient");
	else
		queue_rcpt_set(res, QUEUE_DELIVERED, "2.0.0", !known ? "dropped" :
		    "suppressed", "%s", !known ?
		    "report for an unknown message" :
		    "duplicate or late report");
}

/* The same message delivered before (its sender sent it again after a
 * crash lost our 250): 1 and the recipient counts as delivered, without a
 * second copy; its MDNs go again (the sender suppresses duplicates). 0
 * when new or unknown (no Message-ID, or a store error: deliver rather
 * than lose). */
static int
deliver_seen(struct store *s, struct queue_task *t,
    struct queue_rcpt_result *res)
{
	int64_t v;
	struct err e;

	if (t->message_id == NULL || store_query_int(s, &v, &e,
	    "SELECT 1 FROM received WHERE message_id = ?1 AND rcpt ="
	    " lower(?2) AND sender = lower(?3)", "sss", t->message_id,
	    res->rcpt, t->mail_from) != 1)
		return 0;
	log_info(t->id, "event=duplicate to=<%s> message_id=%s", res->rcpt,
	    t->message_id);
	queue_rcpt_set(res, QUEUE_DELIVERED, "2.0.0", "duplicate",
	    "delivered before");
	return 1;
}

static void
deliver_in_one(struct deliver_ctx *ctx, struct store *s, struct trust *tr,
    struct queue_task *t, struct queue_rcpt_result *res)
{
	const struct keystore_entry *keys[16];
	const char *ids[16];
	const char *rcpt_to[1] = {res->rcpt};
	struct agent_open_req req = {0};
	struct agent_open_result out;
	const uint8_t *c;
	size_t nkeys, cl;
	char *mid;
	bool report, final;
	struct err e;

	nkeys = keystore_find_decrypt(tr->ks, res->rcpt, keys, 16);
	if (nkeys > 16)
		nkeys = 16;
	for (size_t i = 0; i < nkeys; i++)
		ids[i] = keys[i]->fingerprint;
	req.msg = t->body;
	req.msg_len = t->len;
	req.rcpt = res->rcpt;
	req.signer = tr->signer;
	req.key_ids = ids;
	req.n_keys = nkeys;
	req.trust = tr->vctx;
	req.mail_from = t->mail_from[0] != '\0' ? t->mail_from : NULL;
	req.rcpt_to = rcpt_to;
	req.n_rcpt_to = 1;
	req.now = time(NULL);
	if (agent_open(tr->agent, &req, &out, &e) != 0) {
		queue_rcpt_set(res, QUEUE_DEFERRED, "4.3.0", "agent", "%s", e.msg);
		agent_open_result_release(&out);
		return;
	}
	if (out.reason != AGENT_OK) {
		/* Untrusted mail is not delivered and not answered: no MDN
		 * and no DSN to a sender we cannot trust. */
		log_warn(t->id, "event=rejected to=<%s> reason=%s detail=\"%s\""
		    " signer=%s", res->rcpt, agent_reason_name(out.reason),
		    out.detail, out.signer_fp[0] ? out.signer_fp : "-");
		if (out.temporary)
			queue_rcpt_set(res, QUEUE_DEFERRED, "4.7.0", "agent",
			    "%s: %s", agent_reason_name(out.reason), out.detail);
		else
			queue_rcpt_set(res, QUEUE_FAILED, "5.7.1", "agent", "%s: %s",
			    agent_reason_name(out.reason), out.detail);
		agent_open_result_release(&out);
		return;
	}
	c = out.content.data;
	cl = out.content.len;
	log_info(t->id, "event=opened to=<%s> signer=%s binding=%s digest=%s"
	    " size=%zu", res->rcpt, out.signer_fp, out.binding, out.digest,
	    cl);
	report = deliver_is_notification(c, cl) ||
	    (t->flags & QUEUE_F_NOTIFICATION) != 0;
	if (report) {
		/* Never answer a report with a report. */
		deliver_report(ctx, s, t, res, out.from, c, cl);
		agent_open_result_release(&out);
		return;
	}
	if (deliver_seen(s, t, res) == 0)
		deliver_to(ctx, s, t, res, out.from, c, cl);
	/* The original id byte for byte, also when written folded. */
	mid = header_message_id(c, cl);
	final = header_final_delivery_requested(c, cl) || header_final_delivery_requested(t->body,
	    t->len);
	if (ctx->send_mdn && mid != NULL && out.from[0] != '\0' &&
	    res->outcome != QUEUE_DEFERRED) {
		deliver_mdn(ctx, t, res, out.from, mid, MDN_PROCESSED, false,
		    NULL);
		if (res->outcome == QUEUE_DELIVERED && final)
			deliver_mdn(ctx, t, res, out.from, mid, MDN_DISPATCHED,
			    true, NULL);
		else if (res->outcome == QUEUE_FAILED)
			deliver_mdn(ctx, t, res, out.from, mid, MDN_FAILED,
			    final, res->reason);
	}
	free(mid);
	agent_open_result_release(&out);
}

static void
deliver_work(void *arg)
{
	struct deliver_job *j = arg;
	struct deliver_ctx *ctx = j->ctx;
	struct queue_task *t = j->t;
	struct trust *tr = NULL;
	struct store *s;
	struct err e;

	if ((s = queue_thread_store(ctx->db_path, &e)) == NULL) {
		for (size_t i = 0; i < t->nrcpt; i++)
			from_err(&t->rcpts[i], "store", &e);
		return;
	}
	if (t->direction == QUEUE_IN)
		tr = trust_holder_get(ctx->trust);
	for (size_t i = 0; i < t->nrcpt; i++) {
		if (t->direction == QUEUE_IN)
			deliver_in_one(ctx, s, tr, t, &t->rcpts[i]);
		else
			deliver_to(ctx, s, t, &t->rcpts[i], t->mail_from, t->body,
			    t->len);
	}
	trust_free(&tr);
}

static void
deliver_after(void *arg, bool cancelled)
{
	struct deliver_job *j = arg;

	if (cancelled)
		for (size_t i = 0; i < j->t->nrcpt; i++)
			j->t->rcpts[i].outcome = QUEUE_DEFERRED;
	j->done(j->r, j->t);
	free(j);
}

void
deliver_handle(void *ctx, struct queue_runner *r, struct queue_task *t,
    queue_task_done_fn *done)
{
	struct deliver_job *j = xcalloc(1, sizeof(*j));

	j->ctx = ctx;
	j->r = r;
	j->t = t;
	j->done = done;
	if (loop_work(j->ctx->loop, deliver_work, deliver_after, j) != 0) {
		for (size_t i = 0; i < t->nrcpt; i++)
			t->rcpts[i].outcome = QUEUE_DEFERRED;
		done(r, t);
		free(j);
	}
}
