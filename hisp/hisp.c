#include "hisp/hisp.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "certs/discover_config.h"
#include "certs/dns.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "hisp/hisp_config.h"
#include "hisp/outbound.h"
#include "hisp/route.h"
#include "hisp/smtp_listener.h"
#include "hisp/tls.h"
#include "hisp/trust.h"

struct hisp {
	struct loop *loop;
	struct store_writer *writer;
	const struct config *cfg;
	struct trust_holder *trust;
	struct queue_runner *runner;
	struct deliver_ctx deliver;
	struct outbound_ctx outbound;
	struct dns *dns;
	struct tls_ctx *tls_server, *tls_client;
	struct smtp_listener *mx, *submission;
	struct track_timer *track;
	char hostname[256];
	int64_t expire_s;
};

static int
hisp_start_outbound(struct hisp *h, const struct hisp_params *p,
    struct err *e)
{
	const struct config *cfg = p->cfg;
	struct outbound_ctx *o = &h->outbound;
	struct dns_settings ds;
	const char *ca = config_path(cfg, "smtp_client", "tls_ca_file");

	discover_config_read(cfg, &ds, &o->discover);
	if (dns_new(p->loop, &ds, &h->dns, e) != 0)
		return err_prefix(e, "dns");
	o->loop = p->loop;
	o->db_path = config_path(cfg, "core", "store");
	o->writer = p->writer;
	o->trust = h->trust;
	o->dns = h->dns;
	o->routes = route_map_parse(config_str(cfg, "delivery", "transport"),
	    e);
	if (o->routes == NULL)
		return err_prefix(e, "[delivery] transport");
	o->mx_port = (uint16_t)config_int(cfg, "delivery", "mx_port");
	h->tls_client = tls_ctx_new_client(ca[0] != '\0' ? ca : NULL,
	    config_bool(cfg, "smtp_client", "tls_verify"), e);
	if (h->tls_client == NULL)
		return err_prefix(e, "[smtp_client] TLS");
	o->tls = h->tls_client;
	if (hisp_config_client_params(cfg, h->hostname, &o->client, e) != 0)
		return -1;
	o->expire_s = h->expire_s;
	o->runner = h->runner;
	queue_runner_set_handler(h->runner, QUEUE_OUT, outbound_handle, o);
	return 0;
}

static int
hisp_start_smtp(struct hisp *h, const struct hisp_params *p, struct err *e)
{
	const struct config *cfg = p->cfg;
	const char *cert = config_path(cfg, "smtp", "tls_cert");
	const char *key = config_path(cfg, "smtp", "tls_key");
	struct smtp_listener_params lp = {0};

	if (cert[0] != '\0' || key[0] != '\0') {
		h->tls_server = tls_ctx_new_server(cert, key, e);
		if (h->tls_server == NULL)
			return err_prefix(e, "[smtp] tls_cert/tls_key");
	}
	lp.loop = p->loop;
	lp.writer = p->writer;
	lp.runner = h->runner;
	lp.cfg = cfg;
	lp.db_path = config_path(cfg, "core", "store");
	lp.tls = h->tls_server;
	lp.hostname = h->hostname;
	lp.expire_s = h->expire_s;
	lp.kind = HISP_LISTENER_MX;
	lp.listen = config_str(cfg, "smtp", "listen");
	if (lp.listen[0] != '\0' && smtp_listener_start(&lp, &h->mx, e) != 0)
		return -1;
	lp.kind = HISP_LISTENER_SUBMISSION;
	lp.listen = config_str(cfg, "smtp", "submission_listen");
	if (lp.listen[0] != '\0' &&
	    smtp_listener_start(&lp, &h->submission, e) != 0)
		return -1;
	return 0;
}

int
hisp_start(const struct hisp_params *p, struct hisp **h_r, struct err *e)
{
	struct hisp *h = xcalloc(1, sizeof(*h));
	const struct config *cfg = p->cfg;
	const char *db = config_path(cfg, "core", "store");
	struct queue_runner_opts ro = {0};

	*h_r = NULL;
	h->loop = p->loop;
	h->writer = p->writer;
	h->cfg = cfg;
	if (hisp_config_hostname(cfg, h->hostname, sizeof(h->hostname), e) != 0)
		goto fail;
	h->expire_s = config_int(cfg, "queue", "expire") / 1000;
	if (trust_holder_new(p->loop, db, cfg,
	    config_int(cfg, "queue", "policy_check"), &h->trust, e) != 0)
		goto fail;
	h->deliver.loop = p->loop;
	h->deliver.db_path = db;
	h->deliver.trust = h->trust;
	h->deliver.maildir.root = config_path(cfg, "core", "mail");
	if (maildir_opts_owner(&h->deliver.maildir,
	    config_str(cfg, "mailbox", "owner"), e) != 0)
		goto fail;
	h->deliver.intake = p->intake;
	h->deliver.intake_arg = p->intake_arg;
	h->deliver.started = (int64_t)time(NULL);
	h->deliver.send_mdn = config_bool(cfg, "mdn", "send");
	h->deliver.hostname = h->hostname;
	h->deliver.writer = p->writer;
	h->deliver.track.processed_timeout_s =
	    config_int(cfg, "mdn", "processed_timeout") / 1000;
	h->deliver.track.dispatched_timeout_s =
	    config_int(cfg, "mdn", "dispatched_timeout") / 1000;
	ro.db_path = db;
	ro.retry_min_s = config_int(cfg, "queue", "retry_min") / 1000;
	ro.retry_max_s = config_int(cfg, "queue", "retry_max") / 1000;
	ro.scan_ms = config_int(cfg, "queue", "scan_interval");
	ro.max_tasks = (unsigned)config_int(cfg, "queue", "max_tasks");
	ro.hostname = h->hostname;
	ro.processed_timeout_s = h->deliver.track.processed_timeout_s;
	ro.dispatched_timeout_s = h->deliver.track.dispatched_timeout_s;
	h->runner = queue_runner_new(p->loop, p->writer, &ro);
	queue_runner_set_handler(h->runner, QUEUE_IN, deliver_handle,
	    &h->deliver);
	queue_runner_set_handler(h->runner, QUEUE_LOCAL, deliver_handle,
	    &h->deliver);
	if (hisp_start_outbound(h, p, e) != 0 || hisp_start_smtp(h, p, e) != 0)
		goto fail;
	queue_runner_start(h->runner);
	h->track = track_timer_start(p->loop, p->writer, h->runner,
	    h->hostname, config_int(cfg, "mdn", "check_interval"));
	*h_r = h;
	return 0;
fail:
	/* Handles may be closing: the caller tears down in the usual order
	 * (hisp_close, the loop's end, hisp_free). */
	*h_r = h;
	return -1;
}

void
hisp_close(struct hisp *h)
{
	if (h == NULL)
		return;
	outbound_close(&h->outbound);
	h->outbound.dns = NULL;
	dns_free(&h->dns);
}

void
hisp_free(struct hisp **hp)
{
	struct hisp *h;

	if (hp == NULL || (h = *hp) == NULL)
		return;
	track_timer_free(&h->track);
	smtp_listener_free(&h->mx);
	smtp_listener_free(&h->submission);
	queue_runner_free(&h->runner);
	route_map_free(&h->outbound.routes);
	tls_ctx_free(&h->tls_server);
	tls_ctx_free(&h->tls_client);
	trust_holder_free(&h->trust);
	free(h);
	*hp = NULL;
}

struct hisp_submit {
	struct hisp *h;
	queue_done_fn *done;
	void *arg;
};

static void
hisp_submit_done(void *arg, int status, const char *id, const struct err *e)
{
	struct hisp_submit *hs = arg;

	if (status == 0)
		queue_runner_kick(hs->h->runner);
	if (hs->done != NULL)
		hs->done(hs->arg, status, id, e);
	free(hs);
}

void
hisp_submit(struct hisp *h, const char *mail_from, const char *const *rcpts,
    size_t nrcpt, const void *msg, size_t len, queue_done_fn *done,
    void *arg)
{
	struct hisp_submit *hs = xcalloc(1, sizeof(*hs));
	struct queue_envelope env = {0};

	hs->h = h;
	hs->done = done;
	hs->arg = arg;
	env.direction = QUEUE_OUT;
	env.mail_from = mail_from;
	env.rcpts = rcpts;
	env.nrcpt = nrcpt;
	env.client = "local";
	queue_submit(h->writer, &env, msg, len, h->expire_s, hisp_submit_done,
	    hs);
}

struct queue_runner *
hisp_runner(struct hisp *h)
{
	return h->runner;
}
