#include "hisp/trust.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <uv.h>

#include "certs/keystore.h"
#include "certs/validate.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/xmalloc.h"
#include "smime/agent.h"
#include "smime/signer.h"
#include "smime/signer_keystore.h"
#include "smime/smime_config.h"

struct trust_priv {
	struct trust pub;
	atomic_int refs;
};

int64_t
trust_generation(struct store *s, struct err *e)
{
	int64_t v = 0;

	if (store_query_int(s, &v, e, "SELECT CAST(value AS INTEGER) FROM meta"
	    " WHERE key = 'policy_gen'", "") < 0)
		return -1;
	return v;
}

int
trust_load(struct store *s, const struct config *cfg, struct trust **t_r,
    struct err *e)
{
	struct trust_priv *p = xcalloc(1, sizeof(*p));
	struct trust *t = &p->pub;
	struct smime_settings set;
	struct validate_opts vo = {0};

	*t_r = NULL;
	atomic_init(&p->refs, 1);
	if ((t->generation = trust_generation(s, e)) < 0)
		goto fail;
	if (smime_settings_from_config(cfg, &set, e) != 0)
		goto fail;
	if (keystore_load(s, config_path(cfg, "core", "keys"), &t->ks, e) != 0)
		goto fail;
	t->signer = signer_new();
	if (signer_keystore_add(t->signer, t->ks, e) != 0)
		goto fail;
	validate_opts_from_config(cfg, &vo);
	if (validate_ctx_new(s, &vo, &t->vctx, e) != 0)
		goto fail;
	t->agent = agent_new(&set);
	*t_r = t;
	return 0;
fail:
	trust_free(&t);
	return -1;
}

struct trust *
trust_ref(struct trust *t)
{
	struct trust_priv *p = (struct trust_priv *)t;

	atomic_fetch_add(&p->refs, 1);
	return t;
}

void
trust_free(struct trust **tp)
{
	struct trust_priv *p;
	struct trust *t;

	if (tp == NULL || (t = *tp) == NULL)
		return;
	*tp = NULL;
	p = (struct trust_priv *)t;
	if (atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	agent_free(&t->agent);
	validate_ctx_free(&t->vctx);
	signer_free(&t->signer);
	keystore_free(&t->ks);
	free(p);
}

struct trust_holder {
	struct loop *loop;
	const struct config *cfg;
	char *db_path;
	struct store *s;
	pthread_mutex_t lock;
	struct trust *cur;
	uv_timer_t timer;
	bool reloading;
	bool closed;
};

struct reload {
	struct trust_holder *h;
	bool force;
	struct trust *t;
	struct err err;
	int status;
};

/* On a worker: loading keys and anchors reads files and parses. */
static void
reload_work(void *arg)
{
	struct reload *r = arg;
	struct trust_holder *h = r->h;
	struct store *s;
	int64_t gen;

	r->status = -1;
	if (store_open(h->db_path, STORE_READONLY, &s, &r->err) != 0)
		return;
	gen = trust_generation(s, &r->err);
	if (gen >= 0 && !r->force && h->cur != NULL &&
	    gen == h->cur->generation) {
		r->status = 0; /* nothing changed */
	} else if (gen >= 0 && trust_load(s, h->cfg, &r->t, &r->err) == 0) {
		r->status = 0;
	}
	store_free(&s);
}

static void
reload_after(void *arg, bool cancelled)
{
	struct reload *r = arg;
	struct trust_holder *h = r->h;
	struct trust *old = NULL;

	h->reloading = false;
	if (r->status != 0) {
		log_error(NULL, "event=trust_reload_failed reason=\"%s\"",
		    r->err.msg);
	} else if (r->t != NULL && !cancelled) {
		pthread_mutex_lock(&h->lock);
		old = h->cur;
		h->cur = r->t;
		r->t = NULL;
		pthread_mutex_unlock(&h->lock);
		log_info(NULL, "event=trust_loaded generation=%lld",
		    (long long)h->cur->generation);
		trust_free(&old);
	}
	trust_free(&r->t);
	free(r);
}

static void
holder_reload(struct trust_holder *h, bool force)
{
	struct reload *r;

	if (h->reloading || h->closed)
		return;
	r = xcalloc(1, sizeof(*r));
	r->h = h;
	r->force = force;
	h->reloading = true;
	if (loop_work(h->loop, reload_work, reload_after, r) != 0) {
		h->reloading = false;
		free(r);
	}
}

static void
holder_timer_cb(uv_timer_t *t)
{
	holder_reload(t->data, false);
}

static void
holder_hup(void *arg)
{
	holder_reload(arg, true);
}

static void
holder_stop(void *arg)
{
	struct trust_holder *h = arg;

	h->closed = true;
	uv_timer_stop(&h->timer);
	uv_close((uv_handle_t *)&h->timer, NULL);
}

int
trust_holder_new(struct loop *l, const char *db_path,
    const struct config *cfg, int64_t interval_ms, struct trust_holder **h_r,
    struct err *e)
{
	struct trust_holder *h = xcalloc(1, sizeof(*h));
	struct store *s;

	*h_r = NULL;
	h->loop = l;
	h->cfg = cfg;
	h->db_path = xstrdup(db_path);
	pthread_mutex_init(&h->lock, NULL);
	if (store_open(db_path, STORE_READONLY, &s, e) != 0 ||
	    trust_load(s, cfg, &h->cur, e) != 0) {
		store_free(&s);
		pthread_mutex_destroy(&h->lock);
		free(h->db_path);
		free(h);
		return -1;
	}
	store_free(&s);
	log_info(NULL, "event=trust_loaded generation=%lld",
	    (long long)h->cur->generation);
	uv_timer_init(loop_uv(l), &h->timer);
	h->timer.data = h;
	if (interval_ms > 0)
		uv_timer_start(&h->timer, holder_timer_cb, (uint64_t)interval_ms,
		    (uint64_t)interval_ms);
	loop_on_stop(l, holder_stop, h);
	loop_on_hup(l, holder_hup, h);
	*h_r = h;
	return 0;
}

struct trust *
trust_holder_get(struct trust_holder *h)
{
	struct trust *t;

	pthread_mutex_lock(&h->lock);
	t = trust_ref(h->cur);
	pthread_mutex_unlock(&h->lock);
	return t;
}

void
trust_holder_free(struct trust_holder **hp)
{
	struct trust_holder *h;

	if (hp == NULL || (h = *hp) == NULL)
		return;
	trust_free(&h->cur);
	pthread_mutex_destroy(&h->lock);
	free(h->db_path);
	free(h);
	*hp = NULL;
}
