#include "gateway/direct_intake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "hisp/dsn.h"
#include "hisp/header.h"
#include "smime/mime.h"

/* A decoded body is at most this large (the HL7 intake's own limit is
 * smaller; this bounds the decoding). */
#define INTAKE_MAX_BODY (64 * 1024 * 1024)

struct intake_walk {
	struct direct_intake *di;
	const char *rcpt, *from;
	unsigned found, stored, invalid, failed;
	struct buf acks; /* every ACK, CR-separated segments, one per line */
};

struct walk_ctx {
	direct_intake_part_fn *fn;
	void *arg;
	unsigned found;
};

static void
walk_leaf(struct walk_ctx *c, const uint8_t *p, size_t n,
    const struct mime_entity *ent)
{
	struct buf body;
	struct err e;

	if (ent->body_off > n)
		return;
	buf_init(&body, INTAKE_MAX_BODY);
	if (mime_body_decode(p + ent->body_off, n - ent->body_off, ent->cte,
	    &body, &e) != 0) {
		buf_release(&body);
		return;
	}
	if (intake_is_hl7(ent->type, body.data, body.len)) {
		c->found++;
		c->fn(c->arg, ent->type, body.data != NULL ? body.data :
		    (const uint8_t *)"", body.len);
	}
	buf_release(&body);
}

static void
walk(struct walk_ctx *c, const uint8_t *p, size_t n, int depth)
{
	struct mime_span parts[DIRECT_INTAKE_MAX_PARTS];
	struct mime_entity ent;
	size_t np;
	struct err e;

	if (depth > DIRECT_INTAKE_MAX_DEPTH ||
	    mime_entity_parse(p, n, &ent, &e) != 0)
		return;
	if (strncmp(ent.type, "multipart/", 10) != 0) {
		walk_leaf(c, p, n, &ent);
		return;
	}
	if (mime_multipart_split(p, n, &ent, parts, DIRECT_INTAKE_MAX_PARTS,
	    &np, &e) != 0)
		return;
	for (size_t i = 0; i < np; i++)
		walk(c, p + parts[i].off, parts[i].len, depth + 1);
}

unsigned
direct_intake_walk(const uint8_t *msg, size_t len, direct_intake_part_fn *fn,
    void *arg)
{
	struct walk_ctx c = {fn, arg, 0};

	walk(&c, msg, len, 0);
	return c.found;
}

int
direct_intake_decide(unsigned found, unsigned failed, struct err *e)
{
	if (found == 0)
		return err_set(e, ERR_PERM, "no HL7 message in the message");
	if (failed > 0) {
		/* Taking the message now would leave the failed parts to the
		 * ACK mail alone (or to nobody without it): retry it whole;
		 * what is stored already comes back as a duplicate. */
		return err_set(e, ERR_TEMP, "%u of %u HL7 messages could not "
		    "be stored", failed, found);
	}
	return 0;
}

static void
walk_done(void *arg, const struct intake_result *r)
{
	struct intake_walk *w = arg;

	if (r->outcome == ACK_AR)
		w->failed++;
	else if (r->outcome == ACK_AE)
		w->invalid++;
	else
		w->stored += r->stored + r->duplicates;
	if (r->send && r->ack_len > 0) {
		buf_append(&w->acks, r->ack, r->ack_len);
		buf_append_str(&w->acks, "\r\n");
	}
}

static void
hook_part(void *arg, const char *content_type, const uint8_t *body, size_t n)
{
	struct intake_walk *w = arg;

	(void)content_type;
	intake_submit_wait(w->di->intake, body, n, "direct", w->from,
	    (int64_t)time(NULL) * 1000, walk_done, w);
}

/* The ACK mail's queue outcome: one line when it could not be queued. */
struct ack_sent {
	char mid[300];
};

static void
ack_queued(void *arg, int status, const char *id, const struct err *e)
{
	struct ack_sent *a = arg;

	if (status != 0)
		log_warn(NULL, "event=direct_ack_not_queued message_id=%s "
		    "kind=%s reason=\"%s\"", a->mid,
		    err_kind_name(e != NULL ? e->kind : ERR_INTERNAL),
		    e != NULL ? e->msg : "");
	free(a);
}

/* The ACKs back to the sender, as a Direct message from the intake. */
static void
send_acks(struct intake_walk *w, const uint8_t *orig, size_t olen)
{
	char date[64], mid[300], boundary[64];
	const char *dom = strrchr(w->rcpt, '@');
	const char *rcpts[1] = {w->from};
	struct buf m, inreply;
	struct ack_sent *a;

	dsn_date(date, sizeof(date), (int64_t)time(NULL));
	dsn_message_id(mid, sizeof(mid), dom != NULL ? dom + 1 : "localhost");
	str_fmt(boundary, sizeof(boundary), "=_ack_%.20s", mid + 1);
	buf_init(&m, 64 * 1024 * 1024);
	buf_init(&inreply, 1000);
	header_get(orig, olen, "Message-ID", &inreply);
	buf_printf(&m, "From: <%s>\r\nTo: <%s>\r\nDate: %s\r\nMessage-ID: %s\r\n"
	    "Subject: HL7 acknowledgement\r\n", w->rcpt, w->from, date, mid);
	if (inreply.len > 0)
		buf_printf(&m, "In-Reply-To: %s\r\n", buf_cstr(&inreply));
	buf_printf(&m, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
	    "boundary=\"%s\"\r\n\r\n--%s\r\nContent-Type: text/plain; "
	    "charset=us-ascii\r\n\r\nHL7 messages received: %u; accepted: "
	    "%u; rejected as invalid: %u.\r\n"
	    "The acknowledgements are attached.\r\n\r\n--%s\r\n"
	    "Content-Type: text/hl7v2; charset=us-ascii\r\n"
	    "Content-Disposition: attachment; filename=\"ack.hl7\"\r\n\r\n",
	    boundary, boundary, w->found, w->stored, w->invalid, boundary);
	buf_append(&m, w->acks.data, w->acks.len);
	buf_printf(&m, "\r\n--%s--\r\n", boundary);
	a = xcalloc(1, sizeof(*a));
	str_lcpy(a->mid, mid, sizeof(a->mid));
	hisp_submit(w->di->hisp, w->rcpt, rcpts, 1, m.data, m.len, ack_queued,
	    a);
	buf_release(&m);
	buf_release(&inreply);
}

int
direct_intake_hook(void *arg, const char *rcpt, const char *from,
    const uint8_t *msg, size_t len, struct err *e)
{
	struct intake_walk w = {0};
	int rc;

	w.di = arg;
	w.rcpt = rcpt;
	w.from = from;
	buf_init(&w.acks, 16 * 1024 * 1024);
	w.found = direct_intake_walk(msg, len, hook_part, &w);
	rc = direct_intake_decide(w.found, w.failed, e);
	log_info(NULL, "event=direct_intake to=<%s> from=<%s> hl7=%u stored=%u"
	    " invalid=%u failed=%u result=%s", rcpt, from, w.found, w.stored,
	    w.invalid, w.failed, rc == 0 ? "taken" : w.found == 0 ?
	    "refused" : "retry");
	if (rc == 0 && w.di->send_ack && w.di->hisp != NULL &&
	    w.acks.len > 0)
		send_acks(&w, msg, len);
	buf_release(&w.acks);
	return rc;
}
