#include "hisp/route.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "certs/dns.h"
#include "certs/dns_msg.h"
#include "core/str.h"
#include "core/xmalloc.h"

#define ROUTE_MAX_HOSTS 10
#define ROUTE_MAX_ADDRS 32

struct route_entry {
	char *domain; /* "*" for every domain */
	char *host;
	uint16_t port;
};

struct route_map {
	struct route_entry *v;
	size_t n;
};

void
route_map_free(struct route_map **mp)
{
	struct route_map *m;

	if (mp == NULL || (m = *mp) == NULL)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].domain);
		free(m->v[i].host);
	}
	free(m->v);
	free(m);
	*mp = NULL;
}

struct route_map *
route_map_parse(const char *text, struct err *e)
{
	struct route_map *m = xcalloc(1, sizeof(*m));
	char *copy = xstrdup(text), *save = NULL, *tok;

	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		char *item = str_trim(tok), *eq, *colon, *host;
		int port = 25;

		if (*item == '\0')
			continue;
		eq = strchr(item, '=');
		if (eq == NULL || eq == item) {
			err_set(e, ERR_CONFIG, "transport entry '%s' is not "
			    "domain=host[:port]", item);
			goto fail;
		}
		*eq = '\0';
		host = str_trim(eq + 1);
		if (host[0] == '[') { /* [host]:port as in Postfix */
			char *close = strchr(host, ']');

			if (close == NULL || (close[1] != ':' &&
			    close[1] != '\0'))
				goto bad; /* "[relay];2526" is no port 25 */
			*close = '\0';
			colon = close[1] == ':' ? close + 1 : NULL;
			host++;
		} else {
			colon = strrchr(host, ':');
			if (colon != NULL)
				*colon = '\0';
		}
		if (colon != NULL && str_to_int(colon + 1, 1, 65535, &port))
			goto bad;
		if (*host == '\0')
			goto bad;
		m->v = xreallocarray(m->v, m->n + 1, sizeof(*m->v));
		m->v[m->n].domain = str_lower(xstrdup(str_trim(item)));
		m->v[m->n].host = xstrdup(host);
		m->v[m->n].port = (uint16_t)port;
		m->n++;
	}
	free(copy);
	return m;
bad:
	err_set(e, ERR_CONFIG, "transport entry for '%s': bad host or port",
	    str_trim(copy));
fail:
	free(copy);
	route_map_free(&m);
	return NULL;
}

static const struct route_entry *
route_map_find(const struct route_map *m, const char *domain)
{
	const struct route_entry *star = NULL;

	if (m == NULL)
		return NULL;
	for (size_t i = 0; i < m->n; i++) {
		if (strcasecmp(m->v[i].domain, domain) == 0)
			return &m->v[i];
		if (strcmp(m->v[i].domain, "*") == 0)
			star = &m->v[i];
	}
	return star;
}

struct route_host {
	char *name;
	uint16_t pref;
	uint16_t port;
	int pending;  /* A and AAAA lookups outstanding */
	enum dns_status a_status, aaaa_status;
	struct sockaddr_storage addrs[8];
	size_t naddrs;
};

struct route_req {
	struct dns *dns;
	route_done_fn *done;
	void *arg;
	char *domain;
	uint16_t port;
	struct route_host hosts[ROUTE_MAX_HOSTS];
	size_t nhosts;
	int pending;
	bool temp_seen;
	char reason[160];
};

static void
route_finish(struct route_req *r, enum route_status st, const char *reason)
{
	struct route_result res = {0};
	struct sockaddr_storage addrs[ROUTE_MAX_ADDRS];
	const char *names[ROUTE_MAX_ADDRS];
	size_t n = 0;

	if (st == ROUTE_OK) {
		for (size_t i = 0; i < r->nhosts; i++)
			for (size_t j = 0; j < r->hosts[i].naddrs &&
			    n < ROUTE_MAX_ADDRS; j++) {
				names[n] = r->hosts[i].name;
				addrs[n++] = r->hosts[i].addrs[j];
			}
		if (n == 0) {
			st = r->temp_seen ? ROUTE_TEMP : ROUTE_NONE;
			reason = r->temp_seen ? "address lookup failed" :
			    "no address for the mail exchangers";
		}
	}
	res.status = st;
	str_lcpy(res.reason, reason != NULL ? reason : "", sizeof(res.reason));
	if (r->nhosts > 0)
		str_lcpy(res.server_name, r->hosts[0].name,
		    sizeof(res.server_name));
	res.addrs = addrs;
	res.names = names;
	res.naddrs = n;
	r->done(r->arg, &res);
	for (size_t i = 0; i < r->nhosts; i++)
		free(r->hosts[i].name);
	free(r->domain);
	free(r);
}

struct route_addr_cb {
	struct route_req *r;
	size_t host;
	uint16_t type;
};

static void
route_addr_done(void *arg, struct dns_answer *a)
{
	struct route_addr_cb *cb = arg;
	struct route_req *r = cb->r;
	struct route_host *h = &r->hosts[cb->host];
	const struct dns_rr *rr;
	size_t it = 0;

	if (a->status == DNS_TEMP)
		r->temp_seen = true;
	while ((rr = dns_answer_next(a, &it)) != NULL &&
	    h->naddrs < sizeof(h->addrs) / sizeof(h->addrs[0])) {
		struct sockaddr_storage *ss = &h->addrs[h->naddrs];

		memset(ss, 0, sizeof(*ss));
		if (rr->type == DNS_T_A) {
			struct sockaddr_in *sin = (struct sockaddr_in *)ss;

			sin->sin_family = AF_INET;
			sin->sin_port = htons(h->port);
			memcpy(&sin->sin_addr, rr->u.a.addr, 4);
			h->naddrs++;
		} else if (rr->type == DNS_T_AAAA) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(h->port);
			memcpy(&sin6->sin6_addr, rr->u.aaaa.addr, 16);
			h->naddrs++;
		}
	}
	free(cb);
	if (--r->pending == 0)
		route_finish(r, ROUTE_OK, NULL);
}

/* A literal address needs no lookup. */
static bool
route_literal(struct route_host *h)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&h->addrs[0];
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&h->addrs[0];

	memset(&h->addrs[0], 0, sizeof(h->addrs[0]));
	if (inet_pton(AF_INET, h->name, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(h->port);
		h->naddrs = 1;
		return true;
	}
	if (inet_pton(AF_INET6, h->name, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(h->port);
		h->naddrs = 1;
		return true;
	}
	return false;
}

static void
route_resolve_hosts(struct route_req *r)
{
	static const uint16_t types[] = {DNS_T_A, DNS_T_AAAA};
	struct err e;

	/* Hold one count so a lookup answered from the cache cannot finish
	 * the request while we are still starting the others. */
	r->pending = 1;
	for (size_t i = 0; i < r->nhosts; i++) {
		if (route_literal(&r->hosts[i]))
			continue;
		if (r->dns == NULL) {
			r->temp_seen = true;
			continue;
		}
		for (size_t t = 0; t < 2; t++) {
			struct route_addr_cb *cb = xcalloc(1, sizeof(*cb));

			cb->r = r;
			cb->host = i;
			cb->type = types[t];
			r->pending++;
			if (dns_resolve(r->dns, r->hosts[i].name, types[t],
			    route_addr_done, cb, &e) != 0) {
				r->pending--;
				free(cb);
			}
		}
	}
	if (--r->pending == 0)
		route_finish(r, ROUTE_OK, NULL);
}

static int
host_cmp(const void *a, const void *b)
{
	const struct route_host *x = a, *y = b;

	return (int)x->pref - (int)y->pref;
}

static void
route_mx_done(void *arg, struct dns_answer *a)
{
	struct route_req *r = arg;
	const struct dns_rr *rr;
	size_t it = 0;

	if (a->status == DNS_TEMP) {
		route_finish(r, ROUTE_TEMP, a->reason);
		return;
	}
	if (a->status == DNS_NXDOMAIN) {
		route_finish(r, ROUTE_NONE, "no such domain");
		return;
	}
	while ((rr = dns_answer_next(a, &it)) != NULL &&
	    r->nhosts < ROUTE_MAX_HOSTS) {
		const char *x = rr->u.mx.exchange;

		if (x == NULL || x[0] == '\0' || strcmp(x, ".") == 0) {
			/* RFC 7505 null MX: the domain takes no mail. */
			route_finish(r, ROUTE_NONE, "the domain accepts no mail "
			    "(null MX)");
			return;
		}
		r->hosts[r->nhosts].name = xstrdup(x);
		r->hosts[r->nhosts].pref = rr->u.mx.preference;
		r->hosts[r->nhosts].port = r->port;
		r->nhosts++;
	}
	if (r->nhosts == 0) { /* implicit MX: the domain itself */
		r->hosts[0].name = xstrdup(r->domain);
		r->hosts[0].port = r->port;
		r->nhosts = 1;
	}
	qsort(r->hosts, r->nhosts, sizeof(r->hosts[0]), host_cmp);
	route_resolve_hosts(r);
}

void
route_lookup(struct dns *d, const struct route_map *map, const char *domain,
    uint16_t mx_port, route_done_fn *done, void *arg)
{
	struct route_req *r = xcalloc(1, sizeof(*r));
	const struct route_entry *ent = route_map_find(map, domain);
	struct err e;

	r->dns = d;
	r->done = done;
	r->arg = arg;
	r->domain = xstrdup(domain);
	r->port = mx_port;
	if (ent != NULL) {
		r->hosts[0].name = xstrdup(ent->host);
		r->hosts[0].port = ent->port;
		r->nhosts = 1;
		route_resolve_hosts(r);
		return;
	}
	if (d == NULL) {
		route_finish(r, ROUTE_TEMP, "no resolver");
		return;
	}
	if (dns_resolve(d, domain, DNS_T_MX, route_mx_done, r, &e) != 0)
		route_finish(r, ROUTE_NONE, e.msg);
}
