#include "certs/dns.h"

#include <ares.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/str.h"
#include "core/xmalloc.h"

#define DNS_EDNS_SIZE 1232

struct dns_waiter {
	dns_answer_fn *cb;
	void *arg;
	struct dns_waiter *next;
};

struct dns_entry {
	struct dns *d;
	char *name;
	uint16_t type;
	uint64_t hash;
	struct dns_entry *hnext;        /* bucket chain */
	struct dns_entry *older, *newer; /* age list */
	struct dns_answer *answer;      /* NULL while pending */
	uint64_t expires_ms;
	struct dns_waiter *waiters, **wtail;
};

struct dns_sock {
	uv_poll_t poll;
	ares_socket_t fd;
	struct dns *d;
	struct dns_sock *next;
};

struct dns {
	struct loop *loop;
	struct dns_settings set;
	char *servers;
	ares_channel ch;
	uv_timer_t timer;
	struct dns_sock *socks;
	unsigned open_handles;
	bool closing;
	size_t pending; /* queries in c-ares */
	struct dns_entry **tab;
	size_t tab_mask;
	size_t count;
	struct dns_entry *oldest, *newest;
	struct dns_stats st;
};

static pthread_once_t ares_once = PTHREAD_ONCE_INIT;
static int ares_init_rc;

static void
ares_global_init(void)
{
	ares_init_rc = ares_library_init(ARES_LIB_INIT_ALL);
}

void
dns_settings_default(struct dns_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->servers = "";
	s->timeout_ms = 2000;
	s->tries = 2;
	s->edns = true;
	s->negative_ttl_ms = 60000;
	s->max_ttl_ms = 86400000;
	s->cache_max = 10000;
}

const char *
dns_status_name(enum dns_status s)
{
	switch (s) {
	case DNS_OK: return "ok";
	case DNS_NODATA: return "nodata";
	case DNS_NXDOMAIN: return "nxdomain";
	case DNS_TEMP: return "temp";
	}
	return "?";
}

/* --- answers --- */

static struct dns_answer *
answer_new(enum dns_status status, uint16_t qtype, const char *reason)
{
	struct dns_answer *a = xcalloc(1, sizeof(*a));

	a->status = status;
	a->qtype = qtype;
	a->refs = 1;
	str_lcpy(a->reason, reason, sizeof(a->reason));
	return a;
}

struct dns_answer *
dns_answer_ref(struct dns_answer *a)
{
	if (a != NULL)
		a->refs++;
	return a;
}

void
dns_answer_unref(struct dns_answer **ap)
{
	struct dns_answer *a;

	if (ap == NULL || (a = *ap) == NULL)
		return;
	*ap = NULL;
	if (--a->refs > 0)
		return;
	dns_msg_free(&a->msg);
	free(a);
}

const struct dns_rr *
dns_answer_next(const struct dns_answer *a, size_t *iter)
{
	if (a == NULL || a->msg == NULL || a->owner == NULL)
		return NULL;
	for (size_t i = *iter; i < a->msg->nrr; i++) {
		const struct dns_rr *rr = &a->msg->rr[i];

		if (rr->section == DNS_SEC_ANSWER && rr->type == a->qtype &&
		    strcmp(rr->name, a->owner) == 0) {
			*iter = i + 1;
			return rr;
		}
	}
	*iter = a->msg->nrr;
	return NULL;
}

static uint32_t
cap_ttl(uint32_t ttl_s, int64_t cap_ms)
{
	uint64_t cap = cap_ms > 0 ? (uint64_t)cap_ms / 1000 : 0;

	return ttl_s < cap ? ttl_s : (uint32_t)cap;
}

/* RFC 2308: the SOA in the authority section bounds negative caching. */
static uint32_t
negative_ttl(const struct dns_msg *m, int64_t cap_ms)
{
	uint32_t ttl = UINT32_MAX;

	for (size_t i = 0; i < m->nrr; i++) {
		const struct dns_rr *rr = &m->rr[i];

		if (rr->section == DNS_SEC_AUTHORITY && rr->type == DNS_T_SOA) {
			ttl = rr->ttl < rr->u.soa.minimum ? rr->ttl :
			    rr->u.soa.minimum;
			break;
		}
	}
	return cap_ttl(ttl, cap_ms);
}

struct dns_answer *
dns_answer_from_reply(const char *name, uint16_t qtype, const uint8_t *p,
    size_t n, int64_t negative_ttl_ms, int64_t max_ttl_ms)
{
	struct dns_answer *a;
	struct dns_msg *m = NULL;
	struct err e;
	char rbuf[16];
	const char *owner;
	uint32_t ttl = UINT32_MAX;
	size_t found = 0;

	if (dns_msg_parse(p, n, &m, &e) != 0) {
		a = answer_new(DNS_TEMP, qtype, "malformed answer: ");
		str_lcpy(a->reason + strlen(a->reason), e.msg,
		    sizeof(a->reason) - strlen(a->reason));
		return a;
	}
	if (m->qname == NULL || m->qtype != qtype ||
	    (name != NULL && strcmp(m->qname, name) != 0)) {
		dns_msg_free(&m);
		return answer_new(DNS_TEMP, qtype,
		    "answer does not match the question");
	}
	switch (m->rcode) {
	case DNS_RCODE_NOERROR:
		break;
	case DNS_RCODE_NXDOMAIN:
		a = answer_new(DNS_NXDOMAIN, qtype, "NXDOMAIN");
		a->ttl_s = negative_ttl(m, negative_ttl_ms);
		a->msg = m;
		return a;
	default:
		a = answer_new(DNS_TEMP, qtype,
		    dns_msg_rcode_name(m->rcode, rbuf));
		dns_msg_free(&m);
		return a;
	}
	if (m->tc) {
		dns_msg_free(&m);
		return answer_new(DNS_TEMP, qtype, "truncated answer");
	}
	/* Follow a CNAME chain inside the answer (bounded). */
	owner = m->qname;
	for (int hop = 0; hop < 8; hop++) {
		const char *next = NULL;

		for (size_t i = 0; i < m->nrr; i++) {
			const struct dns_rr *rr = &m->rr[i];

			if (rr->section == DNS_SEC_ANSWER &&
			    rr->type == DNS_T_CNAME && qtype != DNS_T_CNAME &&
			    strcmp(rr->name, owner) == 0) {
				next = rr->u.name.target;
				if (rr->ttl < ttl)
					ttl = rr->ttl;
				break;
			}
		}
		if (next == NULL)
			break;
		owner = next;
	}
	for (size_t i = 0; i < m->nrr; i++) {
		const struct dns_rr *rr = &m->rr[i];

		if (rr->section == DNS_SEC_ANSWER && rr->type == qtype &&
		    strcmp(rr->name, owner) == 0) {
			found++;
			if (rr->ttl < ttl)
				ttl = rr->ttl;
		}
	}
	if (found == 0) {
		a = answer_new(DNS_NODATA, qtype, "NODATA");
		a->ttl_s = negative_ttl(m, negative_ttl_ms);
	} else {
		a = answer_new(DNS_OK, qtype, "NOERROR");
		a->ttl_s = cap_ttl(ttl, max_ttl_ms);
	}
	a->msg = m;
	a->owner = owner;
	return a;
}

/* --- the cache --- */

static uint64_t
key_hash(const char *name, uint16_t type)
{
	uint64_t h = 14695981039346656037ULL;

	for (const char *s = name; *s != '\0'; s++) {
		h ^= (uint8_t)*s;
		h *= 1099511628211ULL;
	}
	h ^= type;
	h *= 1099511628211ULL;
	return h;
}

static struct dns_entry *
cache_find(struct dns *d, const char *name, uint16_t type, uint64_t h)
{
	for (struct dns_entry *en = d->tab[h & d->tab_mask]; en != NULL;
	    en = en->hnext)
		if (en->hash == h && en->type == type &&
		    strcmp(en->name, name) == 0)
			return en;
	return NULL;
}

static void
cache_unlink(struct dns *d, struct dns_entry *en)
{
	struct dns_entry **pp = &d->tab[en->hash & d->tab_mask];

	while (*pp != en)
		pp = &(*pp)->hnext;
	*pp = en->hnext;
	if (en->older != NULL)
		en->older->newer = en->newer;
	else
		d->oldest = en->newer;
	if (en->newer != NULL)
		en->newer->older = en->older;
	else
		d->newest = en->older;
	d->count--;
}

static void
entry_free(struct dns_entry *en)
{
	dns_answer_unref(&en->answer);
	free(en->name);
	free(en);
}

static void
cache_remove(struct dns *d, struct dns_entry *en)
{
	cache_unlink(d, en);
	entry_free(en);
}

/* Makes room for one more entry: the oldest answers go first (an expired
 * answer elsewhere goes when it is next looked up). Lookups in flight are
 * never evicted; O(1) amortized. */
static void
cache_make_room(struct dns *d)
{
	struct dns_entry *en, *next;

	for (en = d->oldest; en != NULL && d->count >= d->set.cache_max;
	    en = next) {
		next = en->newer;
		if (en->answer != NULL)
			cache_remove(d, en);
	}
}

static struct dns_entry *
cache_insert(struct dns *d, const char *name, uint16_t type, uint64_t h)
{
	struct dns_entry *en = xcalloc(1, sizeof(*en));

	en->d = d;
	en->name = xstrdup(name);
	en->type = type;
	en->hash = h;
	en->wtail = &en->waiters;
	en->hnext = d->tab[h & d->tab_mask];
	d->tab[h & d->tab_mask] = en;
	en->older = d->newest;
	if (d->newest != NULL)
		d->newest->newer = en;
	else
		d->oldest = en;
	d->newest = en;
	d->count++;
	return en;
}

void
dns_cache_flush(struct dns *d)
{
	struct dns_entry *en, *next;

	for (en = d->oldest; en != NULL; en = next) {
		next = en->newer;
		if (en->answer != NULL)
			cache_remove(d, en);
	}
}

void
dns_get_stats(const struct dns *d, struct dns_stats *s_r)
{
	*s_r = d->st;
	s_r->cached = d->count;
}

/* --- libuv glue --- */

static void update_timer(struct dns *d);

/* Idle sockets (c-ares keeps UDP sockets open) must not keep the loop
 * alive: handles are referenced only while queries are pending. */
static void
update_refs(struct dns *d)
{
	for (struct dns_sock *s = d->socks; s != NULL; s = s->next) {
		if (d->pending > 0)
			uv_ref((uv_handle_t *)&s->poll);
		else
			uv_unref((uv_handle_t *)&s->poll);
	}
	if (d->pending > 0)
		uv_ref((uv_handle_t *)&d->timer);
	else
		uv_unref((uv_handle_t *)&d->timer);
}

static void
handle_closed(uv_handle_t *h)
{
	struct dns *d;

	if (h->type == UV_POLL) {
		struct dns_sock *s = h->data;

		d = s->d;
		free(s);
	} else {
		d = h->data;
	}
	if (--d->open_handles == 0 && d->closing) {
		free(d->tab);
		free(d->servers);
		free(d);
	}
}

static void
poll_cb(uv_poll_t *h, int status, int events)
{
	struct dns_sock *s = h->data;
	struct dns *d = s->d;
	ares_socket_t fd = s->fd;

	if (status < 0)
		ares_process_fd(d->ch, fd, fd);
	else
		ares_process_fd(d->ch,
		    (events & UV_READABLE) ? fd : ARES_SOCKET_BAD,
		    (events & UV_WRITABLE) ? fd : ARES_SOCKET_BAD);
	update_timer(d);
}

static void
timer_cb(uv_timer_t *t)
{
	struct dns *d = t->data;

	ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	update_timer(d);
}

static void
update_timer(struct dns *d)
{
	struct timeval tv, *tvp;

	if (d->closing)
		return;
	tvp = ares_timeout(d->ch, NULL, &tv);
	if (tvp == NULL) {
		uv_timer_stop(&d->timer);
		return;
	}
	uv_timer_start(&d->timer, timer_cb,
	    (uint64_t)tvp->tv_sec * 1000 + ((uint64_t)tvp->tv_usec + 999) / 1000,
	    0);
}

static void
sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns *d = data;
	struct dns_sock **pp, *s;
	int events = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);

	for (pp = &d->socks; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->fd == fd)
			break;
	s = *pp;
	if (events == 0) {
		if (s == NULL)
			return;
		*pp = s->next;
		uv_poll_stop(&s->poll);
		uv_close((uv_handle_t *)&s->poll, handle_closed);
		return;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->fd = fd;
		s->d = d;
		if (uv_poll_init_socket(loop_uv(d->loop), &s->poll, fd) != 0) {
			log_error(NULL, "event=dns_poll_failed fd=%d", (int)fd);
			free(s);
			return;
		}
		s->poll.data = s;
		d->open_handles++;
		s->next = d->socks;
		d->socks = s;
		if (d->pending == 0)
			uv_unref((uv_handle_t *)&s->poll);
	}
	uv_poll_start(&s->poll, events, poll_cb);
}

/* --- lookups --- */

static void
entry_done(struct dns_entry *en, struct dns_answer *a)
{
	struct dns *d = en->d;
	struct dns_waiter *w = en->waiters, *next;

	en->waiters = NULL;
	en->wtail = &en->waiters;
	if (a->status != DNS_TEMP && a->ttl_s > 0 && !d->closing) {
		en->answer = dns_answer_ref(a);
		en->expires_ms = loop_now_ms(d->loop) + (uint64_t)a->ttl_s * 1000;
	} else {
		cache_remove(d, en);
	}
	for (; w != NULL; w = next) {
		next = w->next;
		w->cb(w->arg, a);
		free(w);
	}
}

static void
query_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_entry *en = arg;
	struct dns *d = en->d;
	struct dns_answer *a;

	d->pending--;
	if (!d->closing)
		update_refs(d);
	if (status == ARES_SUCCESS && abuf != NULL && alen > 0) {
		a = dns_answer_from_reply(en->name, en->type, abuf,
		    (size_t)alen, d->set.negative_ttl_ms, d->set.max_ttl_ms);
	} else if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
		a = answer_new(DNS_TEMP, en->type, "resolver closed");
	} else if (status == ARES_ETIMEOUT) {
		a = answer_new(DNS_TEMP, en->type, "timeout");
	} else if (status == ARES_ESERVFAIL) {
		a = answer_new(DNS_TEMP, en->type, "SERVFAIL");
	} else if (status == ARES_EREFUSED) {
		a = answer_new(DNS_TEMP, en->type, "REFUSED");
	} else if (status == ARES_ECONNREFUSED) {
		/* c-ares 1.18 reports SERVFAIL and REFUSED from every server
		 * as well as ICMP refusals this way */
		a = answer_new(DNS_TEMP, en->type, "no server gave an answer "
		    "(SERVFAIL, REFUSED or unreachable)");
	} else {
		a = answer_new(DNS_TEMP, en->type, ares_strerror(status));
	}
	{
		char safe[128];
		log_debug(NULL, "event=dns_answer name=%s type=%u status=%s "
		    "reason=%s ttl=%u timeouts=%d",
		    log_safe(safe, sizeof(safe), en->name), en->type,
		    dns_status_name(a->status), a->reason, a->ttl_s, timeouts);
	}
	entry_done(en, a);
	dns_answer_unref(&a);
}

static void
add_waiter(struct dns_entry *en, dns_answer_fn *cb, void *arg)
{
	struct dns_waiter *w = xmalloc(sizeof(*w));

	w->cb = cb;
	w->arg = arg;
	w->next = NULL;
	*en->wtail = w;
	en->wtail = &w->next;
}

int
dns_resolve(struct dns *d, const char *name, uint16_t type,
    dns_answer_fn *cb, void *arg, struct err *e)
{
	char key[DNS_NAME_TEXT_MAX + 1];
	size_t n = 0;
	uint64_t h;
	struct dns_entry *en;
	struct buf q;

	d->st.lookups++;
	for (const char *s = name; *s != '\0'; s++) {
		if (n >= DNS_NAME_TEXT_MAX)
			return err_set(e, ERR_PERM, "name too long");
		key[n++] = (*s >= 'A' && *s <= 'Z') ? (char)(*s - 'A' + 'a') :
		    *s;
	}
	if (n > 0 && key[n - 1] == '.')
		n--;
	key[n] = '\0';
	if (d->closing)
		return err_set(e, ERR_TEMP, "resolver closed");
	h = key_hash(key, type);
	en = cache_find(d, key, type, h);
	if (en != NULL && en->answer != NULL) {
		if (en->expires_ms > loop_now_ms(d->loop)) {
			d->st.hits++;
			cb(arg, en->answer);
			return 0;
		}
		cache_remove(d, en);
		en = NULL;
	}
	if (en != NULL) {
		d->st.joined++;
		add_waiter(en, cb, arg);
		return 0;
	}
	buf_init(&q, 1024);
	if (dns_msg_build_query(&q, 0, key, type,
	    d->set.edns ? DNS_EDNS_SIZE : 0, e) != 0) {
		buf_release(&q);
		return -1;
	}
	cache_make_room(d);
	en = cache_insert(d, key, type, h);
	add_waiter(en, cb, arg);
	d->st.sent++;
	d->pending++;
	update_refs(d);
	ares_send(d->ch, q.data, (int)q.len, query_cb, en);
	buf_release(&q);
	update_timer(d);
	return 0;
}

/* --- channel --- */

int
dns_new(struct loop *l, const struct dns_settings *s, struct dns **d_r,
    struct err *e)
{
	struct dns *d;
	struct ares_options o;
	int mask, rc;
	size_t tab = 64;

	*d_r = NULL;
	pthread_once(&ares_once, ares_global_init);
	if (ares_init_rc != ARES_SUCCESS)
		return err_set(e, ERR_INTERNAL, "c-ares: %s",
		    ares_strerror(ares_init_rc));
	d = xcalloc(1, sizeof(*d));
	d->loop = l;
	d->set = *s;
	d->servers = xstrdup(s->servers != NULL ? s->servers : "");
	d->set.servers = d->servers;
	if (d->set.cache_max == 0)
		d->set.cache_max = 1;
	if (d->set.tries < 1)
		d->set.tries = 1;
	while (tab < d->set.cache_max * 2 && tab < ((size_t)1 << 20))
		tab *= 2;
	d->tab = xcalloc(tab, sizeof(*d->tab));
	d->tab_mask = tab - 1;

	memset(&o, 0, sizeof(o));
	o.sock_state_cb = sock_state_cb;
	o.sock_state_cb_data = d;
	o.timeout = (int)(d->set.timeout_ms > 0 ? d->set.timeout_ms : 1);
	o.tries = d->set.tries;
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	/* Many CERT answers of ~1 KiB may arrive at once. */
	o.socket_receive_buffer_size = 1 << 20;
	mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
	    ARES_OPT_FLAGS | ARES_OPT_SOCK_RCVBUF;
	if (d->set.edns) {
		o.flags |= ARES_FLAG_EDNS;
		o.ednspsz = DNS_EDNS_SIZE;
		mask |= ARES_OPT_EDNSPSZ;
	}
	if ((rc = ares_init_options(&d->ch, &o, mask)) != ARES_SUCCESS) {
		free(d->tab);
		free(d->servers);
		free(d);
		return err_set(e, ERR_INTERNAL, "c-ares init: %s",
		    ares_strerror(rc));
	}
	if (d->servers[0] != '\0' &&
	    (rc = ares_set_servers_ports_csv(d->ch, d->servers)) !=
	    ARES_SUCCESS) {
		ares_destroy(d->ch);
		free(d->tab);
		free(d->servers);
		free(d);
		return err_set(e, ERR_CONFIG, "dns servers \"%s\": %s",
		    s->servers, ares_strerror(rc));
	}
	uv_timer_init(loop_uv(l), &d->timer);
	d->timer.data = d;
	d->open_handles = 1;
	uv_unref((uv_handle_t *)&d->timer);
	*d_r = d;
	return 0;
}

void
dns_free(struct dns **dp)
{
	struct dns *d;
	struct dns_entry *en, *next;

	if (dp == NULL || (d = *dp) == NULL)
		return;
	*dp = NULL;
	d->closing = true;
	/* Fires every pending query's callback with ARES_EDESTRUCTION and
	 * closes the sockets (sock_state_cb closes the poll handles). */
	ares_destroy(d->ch);
	d->ch = NULL;
	for (en = d->oldest; en != NULL; en = next) {
		next = en->newer;
		cache_remove(d, en);
	}
	while (d->socks != NULL) {
		struct dns_sock *s = d->socks;

		d->socks = s->next;
		uv_poll_stop(&s->poll);
		uv_close((uv_handle_t *)&s->poll, handle_closed);
	}
	uv_timer_stop(&d->timer);
	uv_close((uv_handle_t *)&d->timer, handle_closed);
}
