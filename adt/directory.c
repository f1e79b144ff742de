#include "adt/directory.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/store.h"
#include "core/str.h"
#include "core/xmalloc.h"

static const char *const directory_table_names[DIRECTORY_TABLE_COUNT] = {
	"organizations", "providers", "memberships", "endpoints",
	"preferences",
};

const char *
directory_table_name(enum directory_table t)
{
	return (unsigned)t < DIRECTORY_TABLE_COUNT ?
	    directory_table_names[t] : "?";
}

int
directory_table_parse(const char *s, enum directory_table *t_r)
{
	for (int i = 0; i < DIRECTORY_TABLE_COUNT; i++) {
		if (strcasecmp(s, directory_table_names[i]) == 0) {
			*t_r = (enum directory_table)i;
			return 0;
		}
	}
	return -1;
}

const char *
directory_kind_name(enum directory_kind k)
{
	return k == DIRECTORY_KIND_MLLP ? "mllp" : "direct";
}

const char *
directory_format_name(enum directory_format f)
{
	return f == DIRECTORY_FORMAT_HL7 ? "hl7" : "hl7+text";
}

const char *
directory_route_status_name(enum directory_route_status st)
{
	switch (st) {
	case DIRECTORY_ROUTED:
		return "routed";
	case DIRECTORY_DECLINED:
		return "declined";
	case DIRECTORY_UNDELIVERABLE:
		return "undeliverable";
	}
	return "?";
}

bool
directory_npi_valid(const char *s)
{
	/* Luhn over "80840" + the first nine digits; the tenth is the check
	 * digit. The prefix contributes a constant 24. */
	int sum = 24;

	/* NPIs are issued beginning with 1 or 2. */
	if (s == NULL || strlen(s) != DIRECTORY_NPI_LEN ||
	    (s[0] != '1' && s[0] != '2'))
		return false;
	for (int i = 0; i < DIRECTORY_NPI_LEN; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	for (int i = 8; i >= 0; i--) {
		int d = s[i] - '0';

		/* Doubling starts with the rightmost of the nine digits. */
		if ((8 - i) % 2 == 0) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return (10 - sum % 10) % 10 == s[9] - '0';
}

int
directory_kind_parse(const char *s, enum directory_kind *k_r, struct err *e)
{
	if (strcasecmp(s, "direct") == 0)
		*k_r = DIRECTORY_KIND_DIRECT;
	else if (strcasecmp(s, "mllp") == 0)
		*k_r = DIRECTORY_KIND_MLLP;
	else
		return err_set(e, ERR_PERM, "kind must be direct or mllp");
	return 0;
}

static bool
dir_host_char(int c)
{
	return isalnum(c) || c == '-' || c == '.';
}

/* A DNS name (letters, digits, '-', dots between labels). */
static bool
dir_hostname_ok(const char *h, size_t n, bool need_dot)
{
	bool dot = false;

	if (n == 0 || n > 253 || h[0] == '.' || h[n - 1] == '.' ||
	    h[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!dir_host_char((unsigned char)h[i]))
			return false;
		if (h[i] == '.') {
			if (h[i + 1] == '.')
				return false;
			dot = true;
		}
	}
	return dot || !need_dot;
}

int
directory_address_normalize(enum directory_kind k, const char *s,
    char *dst, struct err *e)
{
	size_t n = strlen(s);

	if (n == 0)
		return err_set(e, ERR_PERM, "empty address");
	if (n >= DIRECTORY_ADDRESS_MAX)
		return err_set(e, ERR_PERM, "address longer than %d bytes",
		    DIRECTORY_ADDRESS_MAX - 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c >= 0x7f || c == ',' || c == '<' ||
		    c == '>' || c == '"' || c == '\\')
			return err_set(e, ERR_PERM,
			    "address holds a character not allowed");
	}
	if (k == DIRECTORY_KIND_DIRECT) {
		const char *at = strchr(s, '@');

		if (at == NULL || strchr(at + 1, '@') != NULL || at == s)
			return err_set(e, ERR_PERM,
			    "a Direct address is local@domain");
		if (!dir_hostname_ok(at + 1, strlen(at + 1), true))
			return err_set(e, ERR_PERM,
			    "the domain of the Direct address is not a "
			    "host name");
		str_lcpy(dst, s, DIRECTORY_ADDRESS_MAX);
		str_lower(dst + (at - s) + 1);
		return 0;
	} else {
		const char *colon = strrchr(s, ':');
		const char *h = s;
		size_t hn;
		int port;

		if (colon == NULL || str_to_int(colon + 1, 1, 65535,
		    &port) != 0)
			return err_set(e, ERR_PERM,
			    "an MLLP endpoint is host:port (port 1-65535)");
		hn = (size_t)(colon - s);
		if (hn >= 2 && s[0] == '[' && s[hn - 1] == ']') {
			for (size_t i = 1; i + 1 < hn; i++)
				if (!isxdigit((unsigned char)s[i]) &&
				    s[i] != ':' && s[i] != '.')
					return err_set(e, ERR_PERM,
					    "bad IPv6 address in brackets");
		} else if (!dir_hostname_ok(h, hn, false)) {
			return err_set(e, ERR_PERM,
			    "the host of the MLLP endpoint is not a host "
			    "name or address");
		}
		if (str_fmt(dst, DIRECTORY_ADDRESS_MAX, "%.*s:%d", (int)hn,
		    s, port) != 0)
			return err_set(e, ERR_PERM, "address too long");
		dst[hn] = '\0';
		str_lower(dst);
		dst[hn] = ':';
		return 0;
	}
}

static bool
dir_sep(char c)
{
	return c == ',' || c == ';' || c == ' ' || c == '\t' || c == '|';
}

static bool
dir_all(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0')
		return true;
	if (*s != '*')
		return false;
	s++;
	while (*s == ' ' || *s == '\t')
		s++;
	return *s == '\0';
}

int
directory_events_normalize(const char *s, char *dst, size_t size,
    struct err *e)
{
	bool want[100] = {false};
	struct buf out;
	const char *p = s;
	int count = 0;

	if (dir_all(s)) {
		str_lcpy(dst, "*", size);
		return 0;
	}
	while (*p != '\0') {
		const char *start;
		size_t n;

		while (dir_sep(*p))
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && !dir_sep(*p))
			p++;
		n = (size_t)(p - start);
		if (n != 3 || toupper((unsigned char)start[0]) != 'A' ||
		    !isdigit((unsigned char)start[1]) ||
		    !isdigit((unsigned char)start[2]) ||
		    (start[1] - '0') * 10 + (start[2] - '0') == 0 ||
		    (start[1] - '0') * 10 + (start[2] - '0') > 62)
			return err_set(e, ERR_PERM,
			    "events are ADT trigger codes A01-A62 or *");
		want[(start[1] - '0') * 10 + (start[2] - '0')] = true;
	}
	buf_init(&out, size > 0 ? size - 1 : 0);
	for (int i = 1; i < 100; i++) {
		if (!want[i])
			continue;
		if (buf_printf(&out, "%sA%02d", count++ ? "," : "", i) != 0) {
			buf_release(&out);
			return err_set(e, ERR_PERM, "too many events");
		}
	}
	str_lcpy(dst, buf_cstr(&out), size);
	buf_release(&out);
	return 0;
}

int
directory_classes_normalize(const char *s, char *dst, size_t size,
    struct err *e)
{
	static const char order[] = "EIOV";
	bool want[4] = {false};
	size_t n = 0;

	if (dir_all(s)) {
		str_lcpy(dst, "*", size);
		return 0;
	}
	for (const char *p = s; *p != '\0'; p++) {
		const char *q;

		if (dir_sep(*p))
			continue;
		q = strchr(order, toupper((unsigned char)*p));
		if (q == NULL || *p == '\0')
			return err_set(e, ERR_PERM,
			    "patient classes are E, I, O, V or *");
		want[q - order] = true;
	}
	if (size < 5)
		return err_set(e, ERR_INTERNAL, "classes buffer too small");
	for (int i = 0; i < 4; i++)
		if (want[i])
			dst[n++] = order[i];
	dst[n] = '\0';
	return 0;
}

int
directory_format_parse(const char *s, enum directory_format *f_r,
    struct err *e)
{
	if (strcasecmp(s, "hl7+text") == 0)
		*f_r = DIRECTORY_FORMAT_HL7_TEXT;
	else if (strcasecmp(s, "hl7") == 0)
		*f_r = DIRECTORY_FORMAT_HL7;
	else
		return err_set(e, ERR_PERM, "format must be hl7+text or hl7");
	return 0;
}

int
directory_timing_parse(const char *s, bool *digest_r, int *minute_r,
    struct err *e)
{
	int h, m;

	*digest_r = false;
	*minute_r = 0;
	while (*s == ' ')
		s++;
	if (*s == '\0' || strcasecmp(s, "realtime") == 0)
		return 0;
	if (str_casebegins(s, "digest"))
		s += 6;
	else if (str_casebegins(s, "daily"))
		s += 5;
	while (*s == ' ' || *s == '@')
		s++;
	if (strlen(s) != 5 || s[2] != ':' ||
	    str_span_to_i64(s, 2, 0, 23, &(int64_t){0}) != 0 ||
	    str_span_to_i64(s + 3, 2, 0, 59, &(int64_t){0}) != 0 ||
	    !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[3]))
		return err_set(e, ERR_PERM,
		    "timing is realtime or a daily digest time HH:MM");
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	*digest_r = true;
	*minute_r = h * 60 + m;
	return 0;
}

void
directory_timing_format(const struct directory_preference *p, char *dst,
    size_t size)
{
	if (!p->digest)
		str_lcpy(dst, "realtime", size);
	else
		str_fmt(dst, size, "%02d:%02d", p->digest_minute / 60,
		    p->digest_minute % 60);
}

bool
directory_preference_admits(const struct directory_preference *p,
    const char *event, char patient_class)
{
	if (strcmp(p->events, "*") != 0) {
		size_t n = strlen(event);
		const char *q = p->events;
		bool found = false;

		if (n != 3)
			return false;
		while ((q = strstr(q, event)) != NULL) {
			if ((q == p->events || q[-1] == ',') &&
			    (q[n] == '\0' || q[n] == ',')) {
				found = true;
				break;
			}
			q += n;
		}
		if (!found)
			return false;
	}
	if (strcmp(p->classes, "*") != 0) {
		if (patient_class == '\0' ||
		    strchr(p->classes,
		    toupper((unsigned char)patient_class)) == NULL)
			return false;
	}
	return true;
}

/* Reads. */

static void
dir_col_copy(struct store_stmt *st, int col, char *dst, size_t size)
{
	const char *t = store_col_text(st, col);

	str_lcpy(dst, t != NULL ? t : "", size);
}

int
directory_provider_get(struct store *s, const char *npi,
    struct directory_provider *p_r, struct err *e)
{
	struct store_stmt *st;
	int rc;

	memset(p_r, 0, sizeof(*p_r));
	st = store_prepare(s, "SELECT npi, last_name, first_name, "
	    "middle_name, suffix, taxonomy, active FROM dir_provider "
	    "WHERE npi = ?", e);
	if (st == NULL || store_bindv(st, "s", npi) != 0)
		goto fail;
	rc = store_step(st, e);
	if (rc == 1) {
		dir_col_copy(st, 0, p_r->npi, sizeof(p_r->npi));
		dir_col_copy(st, 1, p_r->last_name, sizeof(p_r->last_name));
		dir_col_copy(st, 2, p_r->first_name, sizeof(p_r->first_name));
		dir_col_copy(st, 3, p_r->middle_name,
		    sizeof(p_r->middle_name));
		dir_col_copy(st, 4, p_r->suffix, sizeof(p_r->suffix));
		dir_col_copy(st, 5, p_r->taxonomy, sizeof(p_r->taxonomy));
		p_r->active = store_col_int(st, 6) != 0;
	}
	store_stmt_done(st);
	return rc;
fail:
	store_stmt_done(st);
	if (e != NULL && e->kind == ERR_NONE)
		err_set(e, ERR_INTERNAL, "directory: cannot bind");
	return -1;
}

int
directory_organization_get(struct store *s, const char *npi,
    struct directory_organization *o_r, struct err *e)
{
	struct store_stmt *st;
	int rc;

	memset(o_r, 0, sizeof(*o_r));
	st = store_prepare(s, "SELECT npi, name, parent_npi, active "
	    "FROM dir_organization WHERE npi = ?", e);
	if (st == NULL || store_bindv(st, "s", npi) != 0)
		goto fail;
	rc = store_step(st, e);
	if (rc == 1) {
		dir_col_copy(st, 0, o_r->npi, sizeof(o_r->npi));
		dir_col_copy(st, 1, o_r->name, sizeof(o_r->name));
		dir_col_copy(st, 2, o_r->parent_npi, sizeof(o_r->parent_npi));
		o_r->active = store_col_int(st, 3) != 0;
	}
	store_stmt_done(st);
	return rc;
fail:
	store_stmt_done(st);
	if (e != NULL && e->kind == ERR_NONE)
		err_set(e, ERR_INTERNAL, "directory: cannot bind");
	return -1;
}

int
directory_find_address(struct store *s, const char *address,
    char owner_r[DIRECTORY_NPI_LEN + 1], struct err *e)
{
	char norm[DIRECTORY_ADDRESS_MAX];
	struct store_stmt *st;
	enum directory_kind k = strchr(address, '@') != NULL ?
	    DIRECTORY_KIND_DIRECT : DIRECTORY_KIND_MLLP;
	int rc;

	owner_r[0] = '\0';
	if (str_casebegins(address, "mailto:"))
		address += 7;
	else if (str_casebegins(address, "mllp://"))
		address += 7;
	if (directory_address_normalize(k, address, norm, NULL) != 0)
		return 0;
	st = store_prepare(s, "SELECT owner_npi FROM dir_endpoint "
	    "WHERE address = ? AND kind = ? ORDER BY rank, id LIMIT 1", e);
	if (st == NULL)
		return -1;
	if (store_bindv(st, "ss", norm, directory_kind_name(k)) != 0) {
		store_stmt_done(st);
		return err_set(e, ERR_INTERNAL, "directory: cannot bind");
	}
	rc = store_step(st, e);
	if (rc == 1)
		dir_col_copy(st, 0, owner_r, DIRECTORY_NPI_LEN + 1);
	store_stmt_done(st);
	return rc;
}

/* Appends one element to a growing array of elem bytes. */
static void *
dir_push(void *v, size_t *n, size_t *cap, size_t elem)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		v = xreallocarray(v, *cap, elem);
	}
	memset((char *)v + *n * elem, 0, elem);
	(*n)++;
	return v;
}

int
directory_endpoint_list(struct store *s, const char *owner_npi,
    struct directory_endpoint **v_r, size_t *n_r, struct err *e)
{
	struct directory_endpoint *v = NULL, *ep;
	struct store_stmt *st;
	size_t n = 0, cap = 0;
	int rc;

	*v_r = NULL;
	*n_r = 0;
	st = store_prepare(s, "SELECT id, owner_npi, kind, address, rank, "
	    "active, payload_types FROM dir_endpoint WHERE owner_npi = ? "
	    "ORDER BY rank, id", e);
	if (st == NULL)
		return -1;
	if (store_bindv(st, "s", owner_npi) != 0) {
		store_stmt_done(st);
		return err_set(e, ERR_INTERNAL, "directory: cannot bind");
	}
	while ((rc = store_step(st, e)) == 1) {
		const char *kind = store_col_text(st, 2);

		v = dir_push(v, &n, &cap, sizeof(*v));
		ep = &v[n - 1];
		ep->id = store_col_int(st, 0);
		dir_col_copy(st, 1, ep->owner_npi, sizeof(ep->owner_npi));
		ep->kind = kind != NULL && strcmp(kind, "mllp") == 0 ?
		    DIRECTORY_KIND_MLLP : DIRECTORY_KIND_DIRECT;
		dir_col_copy(st, 3, ep->address, sizeof(ep->address));
		ep->rank = (int)store_col_int(st, 4);
		ep->active = store_col_int(st, 5) != 0;
		dir_col_copy(st, 6, ep->payload_types,
		    sizeof(ep->payload_types));
	}
	store_stmt_done(st);
	if (rc < 0) {
		free(v);
		return -1;
	}
	*v_r = v;
	*n_r = n;
	return 0;
}

int
directory_preference_list(struct store *s, const char *owner_npi,
    struct directory_preference **v_r, size_t *n_r, struct err *e)
{
	struct directory_preference *v = NULL, *p;
	struct store_stmt *st;
	size_t n = 0, cap = 0;
	int rc;

	*v_r = NULL;
	*n_r = 0;
	st = store_prepare(s, "SELECT id, owner_npi, events, classes, "
	    "format, timing FROM dir_preference WHERE owner_npi = ? "
	    "ORDER BY id", e);
	if (st == NULL)
		return -1;
	if (store_bindv(st, "s", owner_npi) != 0) {
		store_stmt_done(st);
		return err_set(e, ERR_INTERNAL, "directory: cannot bind");
	}
	while ((rc = store_step(st, e)) == 1) {
		const char *fmt = store_col_text(st, 4);
		const char *timing = store_col_text(st, 5);

		v = dir_push(v, &n, &cap, sizeof(*v));
		p = &v[n - 1];
		p->id = store_col_int(st, 0);
		dir_col_copy(st, 1, p->owner_npi, sizeof(p->owner_npi));
		dir_col_copy(st, 2, p->events, sizeof(p->events));
		dir_col_copy(st, 3, p->classes, sizeof(p->classes));
		p->format = fmt != NULL && strcmp(fmt, "hl7") == 0 ?
		    DIRECTORY_FORMAT_HL7 : DIRECTORY_FORMAT_HL7_TEXT;
		if (directory_timing_parse(timing != NULL ? timing : "",
		    &p->digest, &p->digest_minute, NULL) != 0)
			p->digest = false;
	}
	store_stmt_done(st);
	if (rc < 0) {
		free(v);
		return -1;
	}
	*v_r = v;
	*n_r = n;
	return 0;
}

int
directory_membership_list(struct store *s, const char *provider_npi,
    const char *org_npi, struct directory_membership **v_r, size_t *n_r,
    struct err *e)
{
	struct directory_membership *v = NULL, *m;
	struct store_stmt *st;
	size_t n = 0, cap = 0;
	int rc;

	*v_r = NULL;
	*n_r = 0;
	if (provider_npi != NULL)
		st = store_prepare(s, "SELECT provider_npi, org_npi, role, "
		    "active FROM dir_membership WHERE provider_npi = ? "
		    "ORDER BY org_npi, role", e);
	else
		st = store_prepare(s, "SELECT provider_npi, org_npi, role, "
		    "active FROM dir_membership WHERE org_npi = ? "
		    "ORDER BY provider_npi, role", e);
	if (st == NULL)
		return -1;
	if (store_bindv(st, "s", provider_npi != NULL ? provider_npi :
	    org_npi) != 0) {
		store_stmt_done(st);
		return err_set(e, ERR_INTERNAL, "directory: cannot bind");
	}
	while ((rc = store_step(st, e)) == 1) {
		v = dir_push(v, &n, &cap, sizeof(*v));
		m = &v[n - 1];
		dir_col_copy(st, 0, m->provider_npi, sizeof(m->provider_npi));
		dir_col_copy(st, 1, m->org_npi, sizeof(m->org_npi));
		dir_col_copy(st, 2, m->role, sizeof(m->role));
		m->active = store_col_int(st, 3) != 0;
	}
	store_stmt_done(st);
	if (rc < 0) {
		free(v);
		return -1;
	}
	*v_r = v;
	*n_r = n;
	return 0;
}

/* Routing. */

static enum directory_format
dir_format_of(enum directory_kind k)
{
	return k == DIRECTORY_KIND_MLLP ? DIRECTORY_FORMAT_HL7 :
	    DIRECTORY_FORMAT_HL7_TEXT;
}

/* The first preference of prefs (n of them) in the endpoint's format that
 * admits the event; with no preferences at all, the default (realtime).
 * Returns NULL when none admits; *dflt_r tells the default was taken. */
static const struct directory_preference *
dir_pick_pref(const struct directory_preference *prefs, size_t n,
    enum directory_kind kind, const char *event, char pclass,
    bool *any_format_r)
{
	static const struct directory_preference dflt = {
		.events = "*", .classes = "*",
	};

	*any_format_r = n == 0;
	if (n == 0)
		return &dflt;
	for (size_t i = 0; i < n; i++) {
		if (prefs[i].format != dir_format_of(kind))
			continue;
		*any_format_r = true;
		if (directory_preference_admits(&prefs[i], event, pclass))
			return &prefs[i];
	}
	return NULL;
}

struct dir_route_ctx {
	struct store *s;
	const char *event;
	char pclass;
	struct directory_route *r;
	size_t endpoints_seen;  /* endpoints of any state */
	size_t active_seen;     /* active endpoints */
	size_t declined;        /* active endpoints preferences declined */
	size_t wrong_format;    /* wanted, but in another endpoint kind */
};

/* Whether any of prefs (or the default, when there are none) admits the
 * event and class, whatever its format. */
static bool
dir_admits_any(const struct directory_preference *prefs, size_t n,
    const char *event, char pclass)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (directory_preference_admits(&prefs[i], event, pclass))
			return true;
	return false;
}

/* Adds owner's active endpoints that the preferences admit. member_prefs
 * (when via an organization and the member has some) must admit too. */
static int
dir_route_owner(struct dir_route_ctx *cx, const char *owner, bool via_org,
    const struct directory_preference *member_prefs, size_t n_member,
    struct err *e)
{
	struct directory_endpoint *eps = NULL;
	struct directory_preference *prefs = NULL;
	size_t neps = 0, nprefs = 0;

	if (directory_endpoint_list(cx->s, owner, &eps, &neps, e) != 0)
		return -1;
	if (neps > 0 &&
	    directory_preference_list(cx->s, owner, &prefs, &nprefs, e) != 0) {
		free(eps);
		return -1;
	}
	cx->endpoints_seen += neps;
	for (size_t i = 0; i < neps; i++) {
		const struct directory_preference *p, *mp = NULL;
		struct directory_target *t;
		bool any;

		if (!eps[i].active)
			continue;
		cx->active_seen++;
		p = dir_pick_pref(prefs, nprefs, eps[i].kind, cx->event,
		    cx->pclass, &any);
		if (p != NULL && via_org && n_member > 0) {
			mp = dir_pick_pref(member_prefs, n_member,
			    eps[i].kind, cx->event, cx->pclass, &any);
			if (mp == NULL)
				p = NULL;
		}
		if (p == NULL) {
			if (dir_admits_any(prefs, nprefs, cx->event,
			    cx->pclass) && (!via_org || dir_admits_any(
			    member_prefs, n_member, cx->event, cx->pclass)))
				cx->wrong_format++;
			else
				cx->declined++;
			continue;
		}
		if (cx->r->ntargets >= DIRECTORY_ROUTE_MAX)
			continue;
		t = &cx->r->targets[cx->r->ntargets++];
		t->endpoint_id = eps[i].id;
		str_lcpy(t->owner_npi, owner, sizeof(t->owner_npi));
		t->via_organization = via_org;
		t->kind = eps[i].kind;
		str_lcpy(t->address, eps[i].address, sizeof(t->address));
		t->rank = eps[i].rank;
		t->format = dir_format_of(eps[i].kind);
		/* The member's own timing wins over its organization's. */
		if (mp == NULL)
			mp = p;
		t->digest = mp->digest;
		t->digest_minute = mp->digest_minute;
	}
	free(eps);
	free(prefs);
	return 0;
}

static int
dir_target_cmp(const void *a, const void *b)
{
	const struct directory_target *x = a, *y = b;

	if (x->via_organization != y->via_organization)
		return x->via_organization ? 1 : -1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return strcmp(x->owner_npi, y->owner_npi) != 0 ?
	    strcmp(x->owner_npi, y->owner_npi) :
	    (x->endpoint_id < y->endpoint_id ? -1 :
	    x->endpoint_id > y->endpoint_id);
}

static void dir_route_set(struct directory_route *r,
    enum directory_route_status st, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
dir_route_set(struct directory_route *r, enum directory_route_status st,
    const char *reason, const char *fmt, ...)
{
	va_list ap;

	r->status = st;
	r->reason = reason;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}

int
directory_route(struct store *s, const char *npi, const char *event,
    char patient_class, struct directory_route *result_r, struct err *e)
{
	struct dir_route_ctx cx = {
		.s = s, .event = event, .pclass = patient_class,
		.r = result_r,
	};
	struct directory_provider prov;
	struct directory_organization org;
	struct directory_preference *mprefs = NULL;
	char **orgs = NULL;
	size_t nmprefs = 0, norgs = 0;
	bool is_org = false;
	int rc, ret = -1;

	memset(result_r, 0, sizeof(*result_r));
	if (!directory_npi_valid(npi)) {
		dir_route_set(result_r, DIRECTORY_UNDELIVERABLE, "bad_npi",
		    "the member id is not a valid NPI");
		return 0;
	}
	rc = directory_provider_get(s, npi, &prov, e);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		rc = directory_organization_get(s, npi, &org, e);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			dir_route_set(result_r, DIRECTORY_UNDELIVERABLE,
			    "unknown_npi", "NPI %s is not in the directory",
			    npi);
			goto done;
		}
		is_org = true;
	}
	if (!(is_org ? org.active : prov.active)) {
		dir_route_set(result_r, DIRECTORY_UNDELIVERABLE,
		    "inactive_member", "%s %s is inactive in the directory",
		    is_org ? "organization" : "provider", npi);
		goto done;
	}
	if (dir_route_owner(&cx, npi, false, NULL, 0, e) != 0)
		goto out;
	if (cx.active_seen == 0 || result_r->ntargets > 0) {
		/* No active endpoint of its own: its organizations'. With
		 * usable endpoints of its own, its organizations' follow them
		 * as the last fallbacks. (Own endpoints that all decline the
		 * event decline it: no organization's.) */
		if (directory_preference_list(s, npi, &mprefs, &nmprefs,
		    e) != 0)
			goto out;
		if (is_org) {
			if (org.parent_npi[0] != '\0') {
				orgs = xcalloc(1, sizeof(*orgs));
				orgs[norgs++] = xstrdup(org.parent_npi);
			}
		} else {
			struct directory_membership *ms = NULL;
			size_t nms = 0;

			if (directory_membership_list(s, npi, NULL, &ms, &nms,
			    e) != 0)
				goto out;
			orgs = xcalloc(nms + 1, sizeof(*orgs));
			for (size_t i = 0; i < nms; i++) {
				if (!ms[i].active || (norgs > 0 && strcmp(
				    orgs[norgs - 1], ms[i].org_npi) == 0))
					continue;
				orgs[norgs++] = xstrdup(ms[i].org_npi);
			}
			free(ms);
		}
		for (size_t i = 0; i < norgs; i++) {
			rc = directory_organization_get(s, orgs[i], &org, e);
			if (rc < 0)
				goto out;
			if (rc == 0 || !org.active)
				continue;
			if (dir_route_owner(&cx, orgs[i], true, mprefs,
			    nmprefs, e) != 0)
				goto out;
		}
	}
	if (result_r->ntargets > 0) {
		qsort(result_r->targets, result_r->ntargets,
		    sizeof(result_r->targets[0]), dir_target_cmp);
		dir_route_set(result_r, DIRECTORY_ROUTED, "ok",
		    "%s%s", result_r->targets[0].via_organization ?
		    "via organization " : "",
		    result_r->targets[0].via_organization ?
		    result_r->targets[0].owner_npi : "own endpoint");
	} else if (cx.wrong_format > 0) {
		dir_route_set(result_r, DIRECTORY_UNDELIVERABLE,
		    "no_endpoint_for_format", "the preferences want %.3s in "
		    "a format no active endpoint takes (hl7 needs mllp, "
		    "hl7+text needs direct)", event);
	} else if (cx.declined > 0) {
		dir_route_set(result_r, DIRECTORY_DECLINED, "not_wanted",
		    "the preferences decline %.3s for patient class %c",
		    event, isalpha((unsigned char)patient_class) ?
		    patient_class : '-');
	} else if (cx.endpoints_seen > 0) {
		dir_route_set(result_r, DIRECTORY_UNDELIVERABLE,
		    "no_active_endpoint", "every endpoint of %s%s is inactive",
		    npi, norgs > 0 ? " and of its organizations" : "");
	} else {
		dir_route_set(result_r, DIRECTORY_UNDELIVERABLE,
		    "no_endpoint", "%s has no endpoint%s", npi,
		    norgs > 0 ? " and neither have its organizations" :
		    " and no organization");
	}
done:
	log_debug(NULL, "directory=route npi=%s event=%.3s status=%s "
	    "reason=%s targets=%zu", npi, event,
	    directory_route_status_name(result_r->status), result_r->reason,
	    result_r->ntargets);
	ret = 0;
out:
	for (size_t i = 0; i < norgs; i++)
		free(orgs[i]);
	free(orgs);
	free(mprefs);
	return ret;
}
