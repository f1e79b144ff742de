#include "certs/ldap_lookup.h"

#include <ldap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "core/buf.h"
#include "core/str.h"
#include "core/xmalloc.h"

static uint64_t
xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static int
srv_cmp_priority(const void *a, const void *b)
{
	const struct ldap_lookup_srv *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	/* weight 0 first, as RFC 2782 arranges them before drawing */
	if ((x->weight == 0) != (y->weight == 0))
		return x->weight == 0 ? -1 : 1;
	return 0;
}

void
ldap_lookup_order_srv(struct ldap_lookup_srv *v, size_t n, uint64_t *seed)
{
	size_t i = 0;

	if (*seed == 0)
		*seed = 0x9e3779b97f4a7c15ULL;
	/* qsort is not stable; a stable insertion sort keeps the server's
	 * order among equals (n is small). */
	for (size_t k = 1; k < n; k++) {
		struct ldap_lookup_srv t = v[k];
		size_t j = k;

		while (j > 0 && srv_cmp_priority(&v[j - 1], &t) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = t;
	}
	while (i < n) {
		size_t end = i;

		while (end < n && v[end].priority == v[i].priority)
			end++;
		/* RFC 2782: pick by running sum against a random number in
		 * [0, total], move the pick to the front, repeat. */
		for (size_t k = i; k < end; k++) {
			uint64_t total = 0, r, run = 0;
			size_t pick = k;

			for (size_t j = k; j < end; j++)
				total += v[j].weight;
			r = total ? xorshift(seed) % (total + 1) : 0;
			for (size_t j = k; j < end; j++) {
				run += v[j].weight;
				if (run >= r) {
					pick = j;
					break;
				}
			}
			if (pick != k) {
				struct ldap_lookup_srv t = v[pick];

				memmove(&v[k + 1], &v[k], (pick - k) * sizeof(*v));
				v[k] = t;
			}
		}
		i = end;
	}
}

int
ldap_lookup_escape(const char *value, char *out, size_t size)
{
	size_t o = 0;

	for (const unsigned char *s = (const unsigned char *)value; *s != '\0';
	    s++) {
		if (*s == '*' || *s == '(' || *s == ')' || *s == '\\' ||
		    *s < 0x20 || *s >= 0x7f) {
			static const char hex[] = "0123456789abcdef";

			if (o + 3 >= size)
				return -1;
			out[o++] = '\\';
			out[o++] = hex[*s >> 4];
			out[o++] = hex[*s & 0xf];
		} else {
			if (o + 1 >= size)
				return -1;
			out[o++] = (char)*s;
		}
	}
	if (size == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

void
ldap_lookup_result_release(struct ldap_lookup_result *res)
{
	for (size_t i = 0; i < res->ncerts; i++) {
		free(res->certs[i].der);
		free(res->certs[i].dn);
	}
	free(res->certs);
	free(res->server);
	free(res->failures);
	memset(res, 0, sizeof(*res));
}

static bool
server_failure(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT ||
	    rc == LDAP_CONNECT_ERROR || rc == LDAP_UNAVAILABLE ||
	    rc == LDAP_BUSY || rc == LDAP_TIMELIMIT_EXCEEDED ||
	    rc == LDAP_OTHER || rc == LDAP_LOCAL_ERROR ||
	    rc == LDAP_NO_MEMORY || rc == LDAP_UNWILLING_TO_PERFORM;
}

static void
ms_to_tv(int64_t ms, struct timeval *tv)
{
	if (ms <= 0)
		ms = 1;
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
}

static void
add_failure(struct ldap_lookup_result *res, const char *label,
    const char *why)
{
	struct buf b;

	buf_init(&b, 64 * 1024);
	if (res->failures != NULL) {
		buf_append_str(&b, res->failures);
		buf_putc(&b, '\n');
		free(res->failures);
	}
	buf_printf(&b, "%s: %s", label, why);
	res->failures = (char *)buf_steal(&b, NULL);
}

int
ldap_lookup_add_value(struct ldap_lookup_result *res, const char *attr,
    const char *dn, const void *val, size_t len, bool by_address,
    const struct ldap_lookup_opts *o)
{
	struct ldap_lookup_cert *c;

	if (attr == NULL || !str_casebegins(attr, "userCertificate") ||
	    val == NULL || res->ncerts >= o->max_certs || len == 0 ||
	    len > o->max_cert_size)
		return 0;
	res->certs = xreallocarray(res->certs, res->ncerts + 1,
	    sizeof(*res->certs));
	c = &res->certs[res->ncerts++];
	c->der = xmemdup(val, len);
	c->len = len;
	c->dn = xstrdup(dn != NULL ? dn : "");
	c->by_address = by_address;
	return 1;
}

/* Searches base for filter and collects certificate values. Returns an
 * LDAP result code; LDAP_NO_SUCH_OBJECT and size limits are not failures. */
static int
search_certs(LDAP *ld, const char *base, const char *filter, bool by_address,
    const struct ldap_lookup_opts *o, struct ldap_lookup_result *res)
{
	char *attrs[] = {(char *)"userCertificate;binary",
	    (char *)"userCertificate", NULL};
	struct timeval tv;
	LDAPMessage *msg = NULL;
	int rc;

	ms_to_tv(o->op_timeout_ms, &tv);
	rc = ldap_search_ext_s(ld, base, LDAP_SCOPE_SUBTREE, filter, attrs, 0,
	    NULL, NULL, &tv, 64, &msg);
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
		ldap_msgfree(msg);
		return rc == LDAP_NO_SUCH_OBJECT ? LDAP_SUCCESS : rc;
	}
	for (LDAPMessage *en = ldap_first_entry(ld, msg); en != NULL;
	    en = ldap_next_entry(ld, en)) {
		BerElement *ber = NULL;
		char *dn = ldap_get_dn(ld, en);

		for (char *a = ldap_first_attribute(ld, en, &ber); a != NULL;
		    a = ldap_next_attribute(ld, en, ber)) {
			struct berval **vals;

			if (!str_casebegins(a, "userCertificate")) {
				ldap_memfree(a);
				continue; /* not fetched */
			}
			vals = ldap_get_values_len(ld, en, a);
			for (size_t i = 0; vals != NULL && vals[i] != NULL;
			    i++)
				(void)ldap_lookup_add_value(res, a, dn,
				    vals[i]->bv_val, vals[i]->bv_len,
				    by_address, o);
			ldap_value_free_len(vals);
			ldap_memfree(a);
		}
		ber_free(ber, 0);
		ldap_memfree(dn);
	}
	ldap_msgfree(msg);
	return LDAP_SUCCESS;
}

/* Runs the whole sequence against one server. 0 when it answered. */
static int
try_server(const struct ldap_lookup_server *sv, const char *address,
    const char *domain, const struct ldap_lookup_opts *o,
    struct ldap_lookup_result *res)
{
	LDAP *ld = NULL;
	int rc, version = LDAP_VERSION3;
	struct timeval tv;
	struct berval cred = {0, NULL};
	char *root_attrs[] = {(char *)"namingContexts", NULL};
	LDAPMessage *msg = NULL;
	struct berval **bases = NULL;
	char f_addr[600], f_dom[600], esc[520];
	size_t keep = res->ncerts;

	if ((rc = ldap_initialize(&ld, sv->url)) != LDAP_SUCCESS) {
		add_failure(res, sv->label, ldap_err2string(rc));
		return -1;
	}
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	ms_to_tv(o->net_timeout_ms, &tv);
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	ms_to_tv(o->op_timeout_ms, &tv);
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);

	rc = ldap_sasl_bind_s(ld, NULL, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
	    NULL);
	if (rc != LDAP_SUCCESS)
		goto fail;
	rc = ldap_search_ext_s(ld, "", LDAP_SCOPE_BASE, "(objectClass=*)",
	    root_attrs, 0, NULL, NULL, &tv, 1, &msg);
	if (rc != LDAP_SUCCESS)
		goto fail;
	if (ldap_first_entry(ld, msg) != NULL)
		bases = ldap_get_values_len(ld, ldap_first_entry(ld, msg),
		    "namingContexts");
	if (ldap_lookup_escape(address, esc, sizeof(esc)) != 0)
		goto fail_local;
	str_fmt(f_addr, sizeof(f_addr), "(mail=%s)", esc);
	if (ldap_lookup_escape(domain, esc, sizeof(esc)) != 0)
		goto fail_local;
	str_fmt(f_dom, sizeof(f_dom), "(mail=%s)", esc);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; bases != NULL && bases[i] != NULL; i++) {
			char base[1024];

			if (bases[i]->bv_len >= sizeof(base))
				continue;
			memcpy(base, bases[i]->bv_val, bases[i]->bv_len);
			base[bases[i]->bv_len] = '\0';
			rc = search_certs(ld, base, pass == 0 ? f_addr : f_dom,
			    pass == 0, o, res);
			if (rc != LDAP_SUCCESS && server_failure(rc))
				goto fail;
		}
	}
	ldap_value_free_len(bases);
	ldap_msgfree(msg);
	ldap_unbind_ext_s(ld, NULL, NULL);
	res->answered = true;
	res->server = xstrdup(sv->label);
	return 0;
fail_local:
	rc = LDAP_FILTER_ERROR;
fail:
	add_failure(res, sv->label, ldap_err2string(rc));
	ldap_value_free_len(bases);
	ldap_msgfree(msg);
	ldap_unbind_ext_s(ld, NULL, NULL);
	/* drop what this server gave before it failed */
	for (size_t i = keep; i < res->ncerts; i++) {
		free(res->certs[i].der);
		free(res->certs[i].dn);
	}
	res->ncerts = keep;
	return -1;
}

int
ldap_lookup_certs(const struct ldap_lookup_server *servers, size_t n,
    const char *address, const struct ldap_lookup_opts *o,
    struct ldap_lookup_result *res, struct err *e)
{
	const char *domain = strrchr(address, '@');

	memset(res, 0, sizeof(*res));
	if (domain == NULL || domain[1] == '\0' || domain == address)
		return err_set(e, ERR_PERM, "not an address: no domain");
	domain++;
	for (size_t i = 0; i < n; i++)
		if (try_server(&servers[i], address, domain, o, res) == 0)
			return 0;
	if (n == 0)
		return err_set(e, ERR_TEMP, "no LDAP server to try");
	return err_set(e, ERR_TEMP, "no LDAP server answered (%zu tried)", n);
}
