#include "hisp/hisp.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "hisp/trust.h"

struct hisp {
	struct loop *loop;
	struct store_writer *writer;
	const struct config *cfg;
	struct trust_holder *trust;
	struct queue_runner *runner;
	struct deliver_ctx deliver;
	char hostname[256];
	int64_t expire_s;
};

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
	if (gethostname(h->hostname, sizeof(h->hostname)) != 0)
		str_lcpy(h->hostname, "localhost", sizeof(h->hostname));
	h->hostname[sizeof(h->hostname) - 1] = '\0';
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
	ro.db_path = db;
	ro.retry_min_s = config_int(cfg, "queue", "retry_min") / 1000;
	ro.retry_max_s = config_int(cfg, "queue", "retry_max") / 1000;
	ro.scan_ms = config_int(cfg, "queue", "scan_interval");
	ro.max_tasks = (unsigned)config_int(cfg, "queue", "max_tasks");
	ro.hostname = h->hostname;
	h->runner = queue_runner_new(p->loop, p->writer, &ro);
	queue_runner_set_handler(h->runner, QUEUE_IN, deliver_handle,
	    &h->deliver);
	queue_runner_set_handler(h->runner, QUEUE_LOCAL, deliver_handle,
	    &h->deliver);
	queue_runner_start(h->runner);
	*h_r = h;
	return 0;
fail:
	hisp_free(&h);
	return -1;
}

void
hisp_free(struct hisp **hp)
{
	struct hisp *h;

	if (hp == NULL || (h = *hp) == NULL)
		return;
	queue_runner_free(&h->runner);
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
