#include "hisp/outbound.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certs/discover_trust.h"
#include "certs/domain.h"
#include "certs/keystore.h"
#include "certs/keystore_der.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "hisp/header.h"
#include "hisp/smtp_sender.h"
#include "smime/agent.h"

struct ob {
	struct outbound_ctx *ctx;
	struct queue_runner *r;
	struct queue_task *t;
	queue_task_done_fn *done;
	struct trust *trust;
	bool local;          /* the destination is one of our domains */
	bool *want;          /* per recipient: to be sent */
	size_t nwant;
	struct buf certs;    /* DER certificates, back to back */
	size_t *cert_off, *cert_len;
	size_t ncerts;
	size_t disc_pending;
	struct buf sealed;
	int status;
	struct err err;
	char from[320];
};

static void ob_after_prepare(void *arg, bool cancelled);

/* Every recipient still wanted gets the same outcome. */
static void
ob_all(struct ob *ob, enum queue_outcome o, const char *status,
    const char *relay, const char *reason)
{
	for (size_t i = 0; i < ob->t->nrcpt; i++)
		if (ob->want[i])
			queue_rcpt_set(&ob->t->rcpts[i], o, status, relay, "%s",
			    reason);
}

static void
ob_finish(struct ob *ob)
{
	struct queue_task *t = ob->t;

	ob->done(ob->r, t);
	trust_free(&ob->trust);
	buf_release(&ob->certs);
	buf_release(&ob->sealed);
	free(ob->cert_off);
	free(ob->cert_len);
	free(ob->want);
	free(ob);
}

static void
ob_add_cert(struct ob *ob, const uint8_t *der, size_t len)
{
	size_t off = ob->certs.len;

	/* The same certificate for several recipients (a domain cert) is
	 * encrypted to once. */
	for (size_t i = 0; i < ob->ncerts; i++)
		if (ob->cert_len[i] == len &&
		    memcmp(ob->certs.data + ob->cert_off[i], der, len) == 0)
			return;
	if (buf_append(&ob->certs, der, len) != 0)
		return;
	ob->cert_off = xreallocarray(ob->cert_off, ob->ncerts + 1,
	    sizeof(size_t));
	ob->cert_len = xreallocarray(ob->cert_len, ob->ncerts + 1,
	    sizeof(size_t));
	ob->cert_off[ob->ncerts] = off;
	ob->cert_len[ob->ncerts] = len;
	ob->ncerts++;
}

/* The address to sign as: the envelope sender, or for <> (DSNs, MDNs)
 * the From header's address. */
static void
ob_signing_address(struct ob *ob)
{
	struct queue_task *t = ob->t;
	struct buf v;
	const char *s, *lt, *gt;

	if (t->mail_from[0] != '\0') {
		str_lcpy(ob->from, t->mail_from, sizeof(ob->from));
		return;
	}
	buf_init(&v, 4096);
	if (header_get(t->body, t->len, "From", &v) == 1) {
		s = buf_cstr(&v);
		lt = strrchr(s, '<');
		gt = lt != NULL ? strchr(lt, '>') : NULL;
		if (lt != NULL && gt != NULL && gt - lt - 1 < (long)sizeof(
		    ob->from))
			str_lcpy(ob->from, lt + 1, (size_t)(gt - lt));
		else
			str_lcpy(ob->from, s, sizeof(ob->from));
	}
	buf_release(&v);
}

/* On a worker: sign and encrypt to every collected certificate. */
static void
ob_seal(struct ob *ob)
{
	struct agent_blob *blobs;
	const struct keystore_entry *key;
	struct agent_seal_req req = {0};

	key = keystore_find_signer(ob->trust->ks, ob->from, time(NULL));
	if (key == NULL) {
		ob->status = -1;
		err_set(&ob->err, ERR_PERM, "no valid signing certificate for "
		    "the sender %s", ob->from);
		return;
	}
	blobs = xcalloc(ob->ncerts + 1, sizeof(*blobs));
	for (size_t i = 0; i < ob->ncerts; i++) {
		blobs[i].data = ob->certs.data + ob->cert_off[i];
		blobs[i].len = ob->cert_len[i];
	}
	req.msg = ob->t->body;
	req.msg_len = ob->t->len;
	req.from = ob->from;
	req.signer = ob->trust->signer;
	req.key_id = key->fingerprint;
	req.rcpt_certs = blobs;
	req.n_rcpt_certs = ob->ncerts;
	buf_init(&ob->sealed, BUF_UNLIMITED);
	ob->status = agent_seal(ob->trust->agent, &req, &ob->sealed, &ob->err);
	free(blobs);
}

/* On a worker: is the destination ours? If so, seal to our own
 * certificates of the recipients right here. */
static void
ob_prepare_work(void *arg)
{
	struct ob *ob = arg;
	struct queue_task *t = ob->t;
	struct store *s;
	int rc;

	ob->status = 0;
	if ((s = queue_thread_store(ob->ctx->db_path, &ob->err)) == NULL) {
		ob->status = -1;
		return;
	}
	rc = domain_exists(s, t->domain, &ob->err);
	if (rc < 0) {
		ob->status = -1;
		return;
	}
	ob->local = rc == 1;
	if (!ob->local)
		return;
	for (size_t i = 0; i < t->nrcpt; i++) {
		const struct keystore_entry *v[8];
		size_t n = keystore_find_decrypt(ob->trust->ks, t->rcpts[i].rcpt,
		    v, 8);
		struct buf der;

		if (n == 0) {
			ob->want[i] = false;
			queue_rcpt_set(&t->rcpts[i], QUEUE_FAILED, "5.7.1", "local",
			    "no certificate for the local recipient");
			continue;
		}
		for (size_t k = 0; k < n && k < 8; k++) {
			buf_init(&der, 64 * 1024);
			if (keystore_cert_der(v[k], &der) == 0)
				ob_add_cert(ob, der.data, der.len);
			buf_release(&der);
		}
	}
	if (ob->ncerts > 0)
		ob_seal(ob);
}

static void
ob_seal_work(void *arg)
{
	ob_seal(arg);
}

static void
ob_sent(void *arg, const struct smtp_client_result *res, size_t n,
    const char *relay)
{
	struct ob *ob = arg;
	size_t k = 0;

	for (size_t i = 0; i < ob->t->nrcpt; i++) {
		struct queue_rcpt_result *qr = &ob->t->rcpts[i];
		const struct smtp_client_result *sr;
		const char *st;

		if (!ob->want[i])
			continue;
		if (k >= n)
			break;
		sr = &res[k++];
		st = sr->enhanced[0] ? sr->enhanced : NULL;
		switch (sr->status) {
		case SMTP_CLIENT_OK:
			queue_rcpt_set(qr, QUEUE_SENT, st ? st : "2.0.0", relay,
			    "%d %s", sr->code, sr->text);
			break;
		case SMTP_CLIENT_PERM:
			queue_rcpt_set(qr, QUEUE_FAILED, st ? st : "5.0.0", relay,
			    "%d %s", sr->code, sr->text);
			break;
		default:
			if (sr->code != 0)
				queue_rcpt_set(qr, QUEUE_DEFERRED, st ? st : "4.0.0",
				    relay, "%d %s", sr->code, sr->text);
			else
				queue_rcpt_set(qr, QUEUE_DEFERRED, "4.4.1", relay,
				    "%s", sr->text);
			break;
		}
	}
	ob_finish(ob);
}

static void
ob_routed(void *arg, const struct route_result *rr)
{
	struct ob *ob = arg;
	struct smtp_sender_req req = {0};
	const char **rcpts;
	size_t n = 0;

	if (rr->status == ROUTE_TEMP) {
		ob_all(ob, QUEUE_DEFERRED, "4.4.3", "none", rr->reason);
		ob_finish(ob);
		return;
	}
	if (rr->status == ROUTE_NONE) {
		ob_all(ob, QUEUE_FAILED, "5.1.2", "none", rr->reason);
		ob_finish(ob);
		return;
	}
	rcpts = xcalloc(ob->t->nrcpt + 1, sizeof(*rcpts));
	for (size_t i = 0; i < ob->t->nrcpt; i++)
		if (ob->want[i])
			rcpts[n++] = ob->t->rcpts[i].rcpt;
	req.addrs = rr->addrs;
	req.naddrs = rr->naddrs;
	req.server_name = rr->server_name;
	req.names = rr->names;
	req.log_id = ob->t->id;
	req.params = ob->ctx->client;
	req.params.sender = ob->t->mail_from;
	req.params.rcpts = rcpts;
	req.params.nrcpt = n;
	req.params.size = ob->sealed.len;
	req.msg = ob->sealed.data;
	req.len = ob->sealed.len;
	req.tls = ob->ctx->tls;
	smtp_sender_start(ob->ctx->loop, &req, ob_sent, ob);
	free(rcpts);
}

static void
ob_after_seal(void *arg, bool cancelled)
{
	struct ob *ob = arg;

	if (cancelled) {
		ob_all(ob, QUEUE_DEFERRED, "4.3.0", "none", "shutting down");
		ob_finish(ob);
		return;
	}
	if (ob->status != 0) {
		log_warn(ob->t->id, "event=seal_failed reason=\"%s\"",
		    ob->err.msg);
		ob_all(ob, ob->err.kind == ERR_TEMP ? QUEUE_DEFERRED :
		    QUEUE_FAILED, ob->err.kind == ERR_TEMP ? "4.7.0" : "5.7.0",
		    "agent", ob->err.msg);
		ob_finish(ob);
		return;
	}
	log_info(ob->t->id, "event=sealed domain=%s certs=%zu size=%zu",
	    ob->t->domain, ob->ncerts, ob->sealed.len);
	if (ob->local) {
		/* The copy for our own domain is queued with this task's
		 * outcome, in one transaction: a crash cannot leave it both
		 * queued for delivery and still due here (delivered twice). */
		for (size_t i = 0; i < ob->t->nrcpt; i++) {
			if (!ob->want[i])
				continue;
			queue_task_add_followup(ob->t, QUEUE_IN,
			    ob->t->mail_from, ob->t->rcpts[i].rcpt,
			    ob->t->flags, ob->sealed.data, ob->sealed.len);
			queue_rcpt_set(&ob->t->rcpts[i], QUEUE_SENT, "2.0.0",
			    "local", "queued for local delivery");
		}
		ob_finish(ob);
		return;
	}
	route_lookup(ob->ctx->dns, ob->ctx->routes, ob->t->domain,
	    ob->ctx->mx_port, ob_routed, ob);
}

static bool
ob_any_wanted(struct ob *ob)
{
	for (size_t i = 0; i < ob->t->nrcpt; i++)
		if (ob->want[i])
			return true;
	return false;
}

static size_t
ob_rcpt_index(struct ob *ob, const char *address)
{
	for (size_t i = 0; i < ob->t->nrcpt; i++)
		if (strcasecmp(ob->t->rcpts[i].rcpt, address) == 0)
			return i;
	return SIZE_MAX;
}

static void
ob_discovered(void *arg, struct discover_result *res)
{
	struct ob *ob = arg;
	size_t i = ob_rcpt_index(ob, res->address);

	if (i != SIZE_MAX) {
		struct queue_rcpt_result *qr = &ob->t->rcpts[i];

		if (res->outcome == DISCOVER_FOUND) {
			for (size_t k = 0; k < res->ncands; k++)
				if (res->cands[k].used && res->cands[k].der)
					ob_add_cert(ob, res->cands[k].der,
					    res->cands[k].der_len);
			log_info(ob->t->id, "event=discovered to=<%s> certs=%zu",
			    qr->rcpt, res->nused);
		} else {
			ob->want[i] = false;
			log_warn(ob->t->id, "event=no_certificate to=<%s>"
			    " outcome=%s reason=\"%s\"", qr->rcpt,
			    discover_outcome_name(res->outcome), res->reason);
			if (res->outcome == DISCOVER_TEMP)
				queue_rcpt_set(qr, QUEUE_DEFERRED, "4.7.0",
				    "discovery", "certificate discovery: %s",
				    res->reason);
			else
				queue_rcpt_set(qr, QUEUE_FAILED, "5.7.1",
				    "discovery", "no valid certificate for "
				    "the recipient: %s", res->reason);
		}
	}
	discover_result_free(&res);
	if (--ob->disc_pending > 0)
		return;
	if (!ob_any_wanted(ob)) {
		ob_finish(ob);
		return;
	}
	if (loop_work(ob->ctx->loop, ob_seal_work, ob_after_seal, ob) != 0) {
		ob_all(ob, QUEUE_DEFERRED, "4.3.0", "none", "shutting down");
		ob_finish(ob);
	}
}

static void
outbound_disc_release(void *arg)
{
	struct discover_trust *dt = arg;

	discover_trust_free(&dt);
}

/* The discoverer for a sending domain, made on first use; a new trust
 * snapshot replaces its context and empties its cache. */
static struct discover *
outbound_discoverer(struct outbound_ctx *o, const char *domain,
    struct trust *tr)
{
	struct outbound_disc *d = NULL;

	for (size_t i = 0; i < o->ndiscs; i++)
		if (strcasecmp(o->discs[i].domain, domain) == 0)
			d = &o->discs[i];
	if (d == NULL) {
		o->discs = xreallocarray(o->discs, o->ndiscs + 1,
		    sizeof(*o->discs));
		d = &o->discs[o->ndiscs++];
		d->domain = xstrdup(domain);
		d->dt = discover_trust_new(tr->vctx, domain);
		d->dc = discover_new(o->loop, o->dns, &o->discover,
		    discover_trust_validate, d->dt);
		discover_on_release(d->dc, outbound_disc_release, d->dt);
		d->generation = tr->generation;
	} else if (d->generation != tr->generation) {
		discover_trust_set_ctx(d->dt, tr->vctx);
		discover_flush(d->dc);
		d->generation = tr->generation;
	}
	return d->dc;
}

void
outbound_close(struct outbound_ctx *o)
{
	for (size_t i = 0; i < o->ndiscs; i++) {
		discover_free(&o->discs[i].dc);
		free(o->discs[i].domain);
	}
	free(o->discs);
	o->discs = NULL;
	o->ndiscs = 0;
}

static void
ob_after_prepare(void *arg, bool cancelled)
{
	struct ob *ob = arg;
	struct discover *dc;
	const char *sdom;
	struct err e;

	if (cancelled || ob->status != 0) {
		ob_all(ob, QUEUE_DEFERRED, "4.3.0", "none",
		    cancelled ? "shutting down" : ob->err.msg);
		ob_finish(ob);
		return;
	}
	if (ob->local) {
		if (!ob_any_wanted(ob)) {
			ob_finish(ob);
			return;
		}
		ob->status = ob->ncerts > 0 ? ob->status : 0;
		ob_after_seal(ob, false);
		return;
	}
	/* Another HISP: discover every recipient's certificates, judged by
	 * the outgoing anchors of the sender's domain. */
	sdom = domain_of(ob->from);
	dc = outbound_discoverer(ob->ctx, sdom != NULL ? sdom : "", ob->trust);
	ob->disc_pending = 1; /* held while starting */
	for (size_t i = 0; i < ob->t->nrcpt; i++) {
		if (!ob->want[i])
			continue;
		ob->disc_pending++;
		if (discover_start(dc, ob->t->rcpts[i].rcpt, ob_discovered,
		    ob, &e) == NULL) {
			ob->disc_pending--;
			ob->want[i] = false;
			queue_rcpt_set(&ob->t->rcpts[i], QUEUE_FAILED, "5.1.3",
			    "discovery", "%s", e.msg);
		}
	}
	/* Drop the hold (as if one more answer arrived). */
	if (--ob->disc_pending == 0) {
		if (!ob_any_wanted(ob)) {
			ob_finish(ob);
			return;
		}
		if (loop_work(ob->ctx->loop, ob_seal_work, ob_after_seal,
		    ob) != 0) {
			ob_all(ob, QUEUE_DEFERRED, "4.3.0", "none",
			    "shutting down");
			ob_finish(ob);
		}
	}
}

void
outbound_handle(void *ctx, struct queue_runner *r, struct queue_task *t,
    queue_task_done_fn *done)
{
	struct ob *ob = xcalloc(1, sizeof(*ob));

	ob->ctx = ctx;
	ob->r = r;
	ob->t = t;
	ob->done = done;
	ob->trust = trust_holder_get(ob->ctx->trust);
	ob->want = xcalloc(t->nrcpt + 1, sizeof(*ob->want));
	for (size_t i = 0; i < t->nrcpt; i++)
		ob->want[i] = true;
	buf_init(&ob->certs, 4 * 1024 * 1024);
	buf_init(&ob->sealed, BUF_UNLIMITED);
	ob_signing_address(ob);
	if (loop_work(ob->ctx->loop, ob_prepare_work, ob_after_prepare,
	    ob) != 0) {
		ob_all(ob, QUEUE_DEFERRED, "4.3.0", "none", "shutting down");
		ob_finish(ob);
	}
}
