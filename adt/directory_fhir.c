#include "adt/directory_fhir.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"

#define FHIR_NS "http://hl7.org/fhir"
#define FHIR_NPI_SYSTEM "http://hl7.org/fhir/sid/us-npi"
#define FHIR_NUCC_SYSTEM "http://nucc.org/provider-taxonomy"
#define FHIR_RANK_SUFFIX "/StructureDefinition/base-ext-endpoint-rank"

/* Parser state reached from the SAX callbacks. */
struct fhir_sax {
	int depth;
	bool refused;
	char why[160];
	int error_line;
	char first_error[160];
	int first_line;
	startElementNsSAX2Func start;
	endElementNsSAX2Func end;
	internalSubsetSAXFunc internal_subset;
};

static void
fhir_refuse(xmlParserCtxtPtr ctxt, struct fhir_sax *st, const char *why)
{
	if (!st->refused) {
		st->refused = true;
		str_lcpy(st->why, why, sizeof(st->why));
		st->error_line = ctxt->input != NULL ? ctxt->input->line : 0;
	}
	xmlStopParser(ctxt);
}

static void
fhir_internal_subset(void *ctx, const xmlChar *name,
    const xmlChar *external_id, const xmlChar *system_id)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct fhir_sax *st = ctxt->_private;

	if (external_id != NULL || system_id != NULL) {
		fhir_refuse(ctxt, st,
		    "the DOCTYPE names an external DTD (refused)");
		return;
	}
	st->internal_subset(ctx, name, external_id, system_id);
}

static void
fhir_entity_decl(void *ctx, const xmlChar *name, int type,
    const xmlChar *public_id, const xmlChar *system_id, xmlChar *content)
{
	xmlParserCtxtPtr ctxt = ctx;

	fhir_refuse(ctxt, ctxt->_private, system_id != NULL ||
	    public_id != NULL ?
	    "the DOCTYPE declares an external entity (refused)" :
	    "the DOCTYPE declares entities (refused)");
}

static void
fhir_external_subset(void *ctx, const xmlChar *name,
    const xmlChar *external_id, const xmlChar *system_id)
{
	/* Never load an external subset. */
}

static xmlParserInputPtr
fhir_resolve_entity(void *ctx, const xmlChar *public_id,
    const xmlChar *system_id)
{
	xmlParserCtxtPtr ctxt = ctx;

	fhir_refuse(ctxt, ctxt->_private,
	    "the document refers to an external resource (refused)");
	return NULL;
}

static void
fhir_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
    const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
    int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct fhir_sax *st = ctxt->_private;

	if (++st->depth > DIRECTORY_FHIR_MAX_DEPTH) {
		fhir_refuse(ctxt, st, "elements nested deeper than 64 levels "
		    "(refused)");
		return;
	}
	st->start(ctx, localname, prefix, uri, nb_namespaces, namespaces,
	    nb_attributes, nb_defaulted, attributes);
}

static void
fhir_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
    const xmlChar *uri)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct fhir_sax *st = ctxt->_private;

	st->depth--;
	st->end(ctx, localname, prefix, uri);
}

/* Trims white space at both ends, in place. */
static void
fhir_trim(char *s)
{
	char *t = str_trim(s);

	memmove(s, t, strlen(t) + 1);
}

/* Keeps libxml2 quiet and remembers the first error (ctx is the parser
 * context: its userData). */
static void
fhir_serror(void *ctx, xmlErrorPtr err)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct fhir_sax *st = ctxt != NULL ? ctxt->_private : NULL;

	if (st == NULL || err == NULL || err->level < XML_ERR_ERROR ||
	    st->first_error[0] != '\0')
		return;
	str_lcpy(st->first_error, err->message != NULL ? err->message :
	    "not well-formed", sizeof(st->first_error));
	fhir_trim(st->first_error);
	st->first_line = err->line;
}

/* Tree helpers: FHIR elements are in the FHIR namespace and carry their
 * primitive values in a value attribute. */

static bool
fx_is(const xmlNode *n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE &&
	    strcmp((const char *)n->name, name) == 0 && n->ns != NULL &&
	    strcmp((const char *)n->ns->href, FHIR_NS) == 0;
}

static xmlNode *
fx_next(xmlNode *n, const char *name)
{
	for (; n != NULL; n = n->next)
		if (fx_is(n, name))
			return n;
	return NULL;
}

static xmlNode *
fx_child(xmlNode *n, const char *name)
{
	return n != NULL ? fx_next(n->children, name) : NULL;
}

/* The value attribute of n into dst ("" when absent). */
static const char *
fx_val(const xmlNode *n, char *dst, size_t size)
{
	xmlChar *v;

	dst[0] = '\0';
	if (n == NULL)
		return dst;
	v = xmlGetNoNsProp(n, (const xmlChar *)"value");
	if (v != NULL) {
		str_lcpy(dst, (const char *)v, size);
		xmlFree(v);
	}
	return dst;
}

static const char *
fx_child_val(xmlNode *n, const char *name, char *dst, size_t size)
{
	return fx_val(fx_child(n, name), dst, size);
}

/* The NPI among n's identifier children, into npi (11 bytes). */
static bool
fx_npi(xmlNode *n, char *npi, size_t size)
{
	char sys[128];

	npi[0] = '\0';
	for (xmlNode *id = fx_child(n, "identifier"); id != NULL;
	    id = fx_next(id->next, "identifier")) {
		fx_child_val(id, "system", sys, sizeof(sys));
		if (strcmp(sys, FHIR_NPI_SYSTEM) == 0) {
			fx_child_val(id, "value", npi, size);
			return npi[0] != '\0';
		}
	}
	return false;
}

struct fhir_res {
	xmlNode *node;
	const char *type;      /* the element name */
	char id[72];
	char full_url[256];
	char npi[32];
	unsigned long entry;   /* 1-based */
	char label[128];
	char taxonomy[32];     /* Practitioner: from a role's specialty */
};

/* fullUrl and "Type/id" of each resource -> its index: an
 * open-addressing hash map, grown at half load. */
struct fhir_index {
	char **keys;
	size_t *vals;
	size_t cap;   /* a power of two, or 0 */
	size_t n;
};

static uint64_t
fhir_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static void
fhir_index_place(struct fhir_index *x, char *key, size_t val)
{
	size_t i = (size_t)fhir_hash(key) & (x->cap - 1);

	while (x->keys[i] != NULL)
		i = (i + 1) & (x->cap - 1);
	x->keys[i] = key;
	x->vals[i] = val;
}

static bool
fhir_index_get(const struct fhir_index *x, const char *key, size_t *val_r)
{
	if (x->cap == 0)
		return false;
	for (size_t i = (size_t)fhir_hash(key) & (x->cap - 1);
	    x->keys[i] != NULL; i = (i + 1) & (x->cap - 1)) {
		if (strcmp(x->keys[i], key) == 0) {
			*val_r = x->vals[i];
			return true;
		}
	}
	return false;
}

/* Adds key -> val unless key is there already (the first one wins). */
static void
fhir_index_put(struct fhir_index *x, const char *key, size_t val)
{
	size_t old;

	if (key[0] == '\0' || fhir_index_get(x, key, &old))
		return;
	if ((x->n + 1) * 2 > x->cap) {
		struct fhir_index g = {.cap = x->cap ? x->cap * 2 : 256};

		g.keys = xcalloc(g.cap, sizeof(*g.keys));
		g.vals = xcalloc(g.cap, sizeof(*g.vals));
		for (size_t i = 0; i < x->cap; i++)
			if (x->keys[i] != NULL)
				fhir_index_place(&g, x->keys[i], x->vals[i]);
		g.n = x->n;
		free(x->keys);
		free(x->vals);
		*x = g;
	}
	fhir_index_place(x, xstrdup(key), val);
	x->n++;
}

static void
fhir_index_release(struct fhir_index *x)
{
	for (size_t i = 0; i < x->cap; i++)
		free(x->keys[i]);
	free(x->keys);
	free(x->vals);
	memset(x, 0, sizeof(*x));
}

struct fhir_doc {
	struct fhir_res *res;
	size_t n;
	struct fhir_index index;
	const char *origin;
	struct directory_rows *rows;
	struct directory_report *rep;
};

/* Resolves a Reference element: its reference value (an entry's fullUrl,
 * "Type/id", or an absolute URL ending in "/Type/id"), else its
 * identifier with the NPI system. The resolved resource must be of type. */
static struct fhir_res *
fhir_resolve(struct fhir_doc *d, xmlNode *ref, const char *type,
    char *npi_r, size_t size)
{
	char v[256];
	size_t idx;

	npi_r[0] = '\0';
	if (ref == NULL)
		return NULL;
	fx_child_val(ref, "reference", v, sizeof(v));
	if (v[0] != '\0') {
		bool found = fhir_index_get(&d->index, v, &idx);

		if (!found) {
			/* "Type/id": the last two segments of a URL. */
			const char *last = strrchr(v, '/'), *p = last;

			while (p != NULL && p > v && p[-1] != '/')
				p--;
			if (last != NULL && p != NULL && p > v && p < last)
				found = fhir_index_get(&d->index, p, &idx);
		}
		if (found && strcmp(d->res[idx].type, type) == 0) {
			str_lcpy(npi_r, d->res[idx].npi, size);
			return &d->res[idx];
		}
	}
	/* A logical reference by NPI. */
	fx_npi(ref, npi_r, size);
	return NULL;
}

static size_t
fhir_row(struct fhir_doc *d, enum directory_table t,
    const struct fhir_res *r)
{
	return directory_rows_add(d->rows, t, d->origin, r->entry, r->label);
}

static void
fhir_set(struct fhir_doc *d, size_t row, const char *col, const char *v)
{
	if (directory_rows_set(d->rows, row, col, v, strlen(v)) != 0)
		abort(); /* a column this file names must exist */
}

static bool
fhir_row_taxonomy_missing(struct fhir_doc *d, size_t row)
{
	const char *v = directory_rows_value(d->rows, row,
	    (size_t)directory_rows_column_index(DIRECTORY_PROVIDERS,
	    "taxonomy"));

	return v == NULL || v[0] == '\0';
}

/* The NUCC code among the codings of a CodeableConcept list (elements
 * named name under n), into dst; "" when none. */
static void
fhir_nucc(xmlNode *n, const char *name, char *dst, size_t size)
{
	char v[128];

	dst[0] = '\0';
	for (xmlNode *cc = fx_child(n, name); cc != NULL;
	    cc = fx_next(cc->next, name)) {
		for (xmlNode *c = fx_child(cc, "coding"); c != NULL;
		    c = fx_next(c->next, "coding")) {
			if (strcmp(fx_child_val(c, "system", v, sizeof(v)),
			    FHIR_NUCC_SYSTEM) == 0) {
				fx_child_val(c, "code", dst, size);
				return;
			}
		}
	}
}

static const char *
fhir_status(xmlNode *n)
{
	char v[16];

	fx_child_val(n, "active", v, sizeof(v));
	return strcmp(v, "false") == 0 ? "inactive" : "active";
}

static void
fhir_organization(struct fhir_doc *d, struct fhir_res *r)
{
	char name[512], parent[32];
	size_t row = fhir_row(d, DIRECTORY_ORGANIZATIONS, r);

	fhir_set(d, row, "npi", r->npi);
	fhir_set(d, row, "name", fx_child_val(r->node, "name", name,
	    sizeof(name)));
	fhir_resolve(d, fx_child(r->node, "partOf"), "Organization", parent,
	    sizeof(parent));
	fhir_set(d, row, "parent_npi", parent);
	fhir_set(d, row, "status", fhir_status(r->node));
}

static void
fhir_practitioner(struct fhir_doc *d, struct fhir_res *r)
{
	xmlNode *name = NULL, *n;
	char v[256], use[32];
	struct buf middle;
	size_t row = fhir_row(d, DIRECTORY_PROVIDERS, r);
	int given = 0;

	fhir_set(d, row, "npi", r->npi);
	for (n = fx_child(r->node, "name"); n != NULL;
	    n = fx_next(n->next, "name")) {
		if (name == NULL)
			name = n;
		if (strcmp(fx_child_val(n, "use", use, sizeof(use)),
		    "official") == 0) {
			name = n;
			break;
		}
	}
	fhir_set(d, row, "last_name", fx_child_val(name, "family", v,
	    sizeof(v)));
	buf_init(&middle, 1024);
	for (n = fx_child(name, "given"); n != NULL;
	    n = fx_next(n->next, "given")) {
		fx_val(n, v, sizeof(v));
		if (given++ == 0) {
			fhir_set(d, row, "first_name", v);
		} else {
			if (middle.len > 0)
				buf_putc(&middle, ' ');
			buf_append_str(&middle, v);
		}
	}
	fhir_set(d, row, "middle_name", buf_cstr(&middle));
	buf_release(&middle);
	fhir_set(d, row, "suffix", fx_child_val(name, "suffix", v,
	    sizeof(v)));
	{
		char tax[32] = "";

		/* qualification.code is a CodeableConcept. */
		for (n = fx_child(r->node, "qualification");
		    n != NULL && tax[0] == '\0';
		    n = fx_next(n->next, "qualification"))
			fhir_nucc(n, "code", tax, sizeof(tax));
		if (tax[0] != '\0')
			fhir_set(d, row, "taxonomy", tax);
	}
	if (fhir_row_taxonomy_missing(d, row) && r->taxonomy[0] != '\0')
		fhir_set(d, row, "taxonomy", r->taxonomy);
	fhir_set(d, row, "status", fhir_status(r->node));
}

static void
fhir_endpoint_row(struct fhir_doc *d, struct fhir_res *ep,
    const char *owner)
{
	char v[512], code[64], url[256];
	struct buf payload;
	const char *kind = NULL, *addr;
	int rank = 1;
	size_t row;

	fx_child_val(fx_child(ep->node, "connectionType"), "code", code,
	    sizeof(code));
	if (strcmp(code, "direct-project") == 0)
		kind = "direct";
	else if (strcmp(code, "hl7v2-mllp") == 0)
		kind = "mllp";
	if (kind == NULL)
		return; /* not an endpoint for notifications */
	fx_child_val(ep->node, "status", v, sizeof(v));
	if (strcmp(v, "entered-in-error") == 0)
		return;
	row = fhir_row(d, DIRECTORY_ENDPOINTS, ep);
	fhir_set(d, row, "owner_npi", owner);
	fhir_set(d, row, "kind", kind);
	fhir_set(d, row, "active", strcmp(v, "active") == 0 ? "yes" : "no");
	fx_child_val(ep->node, "address", v, sizeof(v));
	addr = v;
	if (strcmp(kind, "direct") == 0 && str_casebegins(addr, "mailto:"))
		addr += 7;
	if (strcmp(kind, "mllp") == 0 && str_casebegins(addr, "mllp://")) {
		char *slash;

		addr += 7;
		slash = strchr(v + 7, '/');
		if (slash != NULL && slash[1] == '\0')
			*slash = '\0';
	}
	fhir_set(d, row, "address", addr);
	for (xmlNode *x = fx_child(ep->node, "extension"); x != NULL;
	    x = fx_next(x->next, "extension")) {
		xmlChar *u = xmlGetNoNsProp(x, (const xmlChar *)"url");

		if (u != NULL) {
			str_lcpy(url, (const char *)u, sizeof(url));
			xmlFree(u);
		} else {
			url[0] = '\0';
		}
		if (str_ends(url, FHIR_RANK_SUFFIX)) {
			fx_child_val(x, "valuePositiveInt", code,
			    sizeof(code));
			if (code[0] == '\0')
				fx_child_val(x, "valueInteger", code,
				    sizeof(code));
			fhir_set(d, row, "rank", code);
			rank = 0;
			break;
		}
	}
	if (rank == 1)
		fhir_set(d, row, "rank", "1");
	buf_init(&payload, 255);
	for (xmlNode *p = fx_child(ep->node, "payloadType"); p != NULL;
	    p = fx_next(p->next, "payloadType")) {
		for (xmlNode *c = fx_child(p, "coding"); c != NULL;
		    c = fx_next(c->next, "coding")) {
			fx_child_val(c, "code", code, sizeof(code));
			if (code[0] == '\0')
				continue;
			if (payload.len > 0)
				buf_putc(&payload, ';');
			buf_append_str(&payload, code);
		}
	}
	fhir_set(d, row, "payload_types", buf_cstr(&payload));
	buf_release(&payload);
}

static void
fhir_role(struct fhir_doc *d, struct fhir_res *r)
{
	char prov[32], org[32], v[128];
	size_t row;

	fhir_resolve(d, fx_child(r->node, "practitioner"), "Practitioner",
	    prov, sizeof(prov));
	fhir_resolve(d, fx_child(r->node, "organization"), "Organization",
	    org, sizeof(org));
	if (fx_child(r->node, "organization") == NULL)
		return; /* a role without an organization: no membership */
	row = fhir_row(d, DIRECTORY_MEMBERSHIPS, r);
	fhir_set(d, row, "provider_npi", prov);
	fhir_set(d, row, "organization_npi", org);
	fx_child_val(fx_child(fx_child(r->node, "code"), "coding"), "code", v,
	    sizeof(v));
	fhir_set(d, row, "role", v);
	fhir_set(d, row, "active", strcmp(fhir_status(r->node), "active") ==
	    0 ? "yes" : "no");
}

struct fhir_owner {
	size_t ep;      /* index of the Endpoint resource */
	char npi[32];
};

static int
fhir_owner_cmp(const void *a, const void *b)
{
	const struct fhir_owner *x = a, *y = b;

	if (x->ep != y->ep)
		return x->ep < y->ep ? -1 : 1;
	return strcmp(x->npi, y->npi);
}

/* Pairs each Endpoint with the practitioners (through roles) and
 * organizations that reference it, else its managingOrganization; then
 * emits one endpoint row per distinct pair, in resource order. */
static void
fhir_endpoints(struct fhir_doc *d)
{
	struct fhir_owner *own = NULL;
	bool *owned = xcalloc(d->n + 1, sizeof(*owned));
	size_t n = 0, cap = 0;
	char owner[32], npi[32];

	for (size_t i = 0; i < d->n; i++) {
		struct fhir_res *r = &d->res[i];

		if (strcmp(r->type, "Organization") == 0)
			str_lcpy(owner, r->npi, sizeof(owner));
		else if (strcmp(r->type, "PractitionerRole") == 0)
			fhir_resolve(d, fx_child(r->node, "practitioner"),
			    "Practitioner", owner, sizeof(owner));
		else
			continue;
		for (xmlNode *ref = fx_child(r->node, "endpoint");
		    ref != NULL; ref = fx_next(ref->next, "endpoint")) {
			struct fhir_res *ep = fhir_resolve(d, ref,
			    "Endpoint", npi, sizeof(npi));

			if (ep == NULL)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				own = xreallocarray(own, cap, sizeof(*own));
			}
			own[n].ep = (size_t)(ep - d->res);
			str_lcpy(own[n].npi, owner, sizeof(own[n].npi));
			n++;
		}
	}
	if (n > 0)
		qsort(own, n, sizeof(*own), fhir_owner_cmp);
	for (size_t k = 0; k < n; k++) {
		if (k > 0 && fhir_owner_cmp(&own[k - 1], &own[k]) == 0)
			continue;
		owned[own[k].ep] = true;
		fhir_endpoint_row(d, &d->res[own[k].ep], own[k].npi);
	}
	for (size_t i = 0; i < d->n; i++) {
		struct fhir_res *ep = &d->res[i];

		if (strcmp(ep->type, "Endpoint") != 0 || owned[i])
			continue;
		fhir_resolve(d, fx_child(ep->node, "managingOrganization"),
		    "Organization", owner, sizeof(owner));
		if (owner[0] != '\0') {
			fhir_endpoint_row(d, ep, owner);
			continue;
		}
		fx_child_val(fx_child(ep->node, "connectionType"), "code", npi,
		    sizeof(npi));
		if (strcmp(npi, "direct-project") == 0 ||
		    strcmp(npi, "hl7v2-mllp") == 0)
			directory_report_add(d->rep, false, d->origin,
			    ep->entry, "owner_npi", "no_owner", "%s: no "
			    "practitioner role or organization refers to this "
			    "endpoint and it has no managingOrganization",
			    ep->label);
	}
	free(own);
	free(owned);
}

static int fhir_fail(struct directory_report *rep, const char *origin,
    struct err *e, int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int
fhir_fail(struct directory_report *rep, const char *origin, struct err *e,
    int line, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* libxml2 may quote the input: keep the message one line of
	 * printable ASCII. */
	for (char *p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = (unsigned char)*p >= 0x7f ? '?' : ' ';
	directory_report_add(rep, true, origin,
	    line > 0 ? (unsigned long)line : 0, NULL, "xml_refused", "%s",
	    msg);
	if (line > 0)
		return err_set(e, ERR_PERM, "%s: line %d: %s", origin, line,
		    msg);
	return err_set(e, ERR_PERM, "%s: %s", origin, msg);
}

int
directory_fhir_parse(const void *data, size_t n, const char *origin,
    struct directory_rows *rows, struct directory_report *rep,
    struct err *e)
{
	struct fhir_sax st;
	struct fhir_doc d = {.origin = origin, .rows = rows, .rep = rep};
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc = NULL;
	xmlNode *root;
	size_t cap = 0;
	unsigned long entry = 0;
	int rc = -1;

	memset(&st, 0, sizeof(st));
	if (n > DIRECTORY_FHIR_MAX_SIZE || n > INT_MAX)
		return fhir_fail(rep, origin, e, 0, "larger than %u bytes "
		    "(refused)", DIRECTORY_FHIR_MAX_SIZE);
	ctxt = xmlCreateMemoryParserCtxt(data, (int)n);
	if (ctxt == NULL)
		return fhir_fail(rep, origin, e, 0, "cannot create an XML "
		    "parser");
	/* No XML_PARSE_NOENT, DTDLOAD, DTDATTR, DTDVALID, XINCLUDE, HUGE. */
	xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR |
	    XML_PARSE_NOWARNING);
	ctxt->_private = &st;
	st.start = ctxt->sax->startElementNs;
	st.end = ctxt->sax->endElementNs;
	st.internal_subset = ctxt->sax->internalSubset;
	ctxt->sax->startElementNs = fhir_start;
	ctxt->sax->endElementNs = fhir_end;
	ctxt->sax->internalSubset = fhir_internal_subset;
	ctxt->sax->externalSubset = fhir_external_subset;
	ctxt->sax->entityDecl = fhir_entity_decl;
	ctxt->sax->resolveEntity = fhir_resolve_entity;
	ctxt->sax->serror = fhir_serror;
	ctxt->sax->error = NULL;
	ctxt->sax->warning = NULL;
	ctxt->vctxt.error = NULL;
	ctxt->vctxt.warning = NULL;
	xmlParseDocument(ctxt);
	doc = ctxt->myDoc;
	ctxt->myDoc = NULL;
	if (st.refused) {
		fhir_fail(rep, origin, e, st.error_line, "%s", st.why);
		goto out;
	}
	if (doc == NULL || !ctxt->wellFormed) {
		xmlErrorPtr xe = xmlCtxtGetLastError(ctxt);

		if (st.first_error[0] == '\0') {
			str_lcpy(st.first_error, xe != NULL &&
			    xe->message != NULL ? xe->message :
			    "not well-formed", sizeof(st.first_error));
			fhir_trim(st.first_error);
			st.first_line = xe != NULL ? xe->line : 0;
		}
		fhir_fail(rep, origin, e, st.first_line,
		    "not well-formed XML: %s", st.first_error);
		goto out;
	}
	if (doc->intSubset != NULL && doc->intSubset->entities != NULL) {
		fhir_fail(rep, origin, e, 0,
		    "the DOCTYPE declares entities (refused)");
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	if (!fx_is(root, "Bundle")) {
		fhir_fail(rep, origin, e, 0, "the document is not a FHIR "
		    "Bundle (root element Bundle in namespace "
		    "http://hl7.org/fhir)");
		goto out;
	}
	for (xmlNode *en = fx_child(root, "entry"); en != NULL;
	    en = fx_next(en->next, "entry")) {
		xmlNode *res = fx_child(en, "resource"), *r;
		struct fhir_res *fr;
		char safe[80];

		entry++;
		if (entry > DIRECTORY_FHIR_MAX_ENTRIES) {
			fhir_fail(rep, origin, e, 0, "more than %d entries "
			    "(refused)", DIRECTORY_FHIR_MAX_ENTRIES);
			goto out;
		}
		for (r = res != NULL ? res->children : NULL; r != NULL;
		    r = r->next)
			if (r->type == XML_ELEMENT_NODE)
				break;
		if (r == NULL || !(fx_is(r, "Practitioner") ||
		    fx_is(r, "Organization") ||
		    fx_is(r, "PractitionerRole") || fx_is(r, "Endpoint")))
			continue; /* other resources are not ours */
		if (d.n == cap) {
			cap = cap ? cap * 2 : 64;
			d.res = xreallocarray(d.res, cap, sizeof(*d.res));
		}
		fr = &d.res[d.n++];
		memset(fr, 0, sizeof(*fr));
		fr->node = r;
		fr->type = (const char *)r->name;
		fr->entry = entry;
		fx_child_val(r, "id", fr->id, sizeof(fr->id));
		fx_child_val(en, "fullUrl", fr->full_url,
		    sizeof(fr->full_url));
		fx_npi(r, fr->npi, sizeof(fr->npi));
		str_fmt(fr->label, sizeof(fr->label), "%s/%s", fr->type,
		    log_safe(safe, sizeof(safe), fr->id[0] != '\0' ?
		    fr->id : "(no id)"));
		fhir_index_put(&d.index, fr->full_url, d.n - 1);
		if (fr->id[0] != '\0') {
			char tid[160];

			str_fmt(tid, sizeof(tid), "%s/%s", fr->type, fr->id);
			fhir_index_put(&d.index, tid, d.n - 1);
		}
	}
	/* NDH carries the taxonomy in PractitionerRole.specialty: lend the
	 * first one to its practitioner (qualification.code wins). */
	for (size_t i = 0; i < d.n; i++) {
		struct fhir_res *pr;
		char npi[32];

		if (strcmp(d.res[i].type, "PractitionerRole") != 0)
			continue;
		pr = fhir_resolve(&d, fx_child(d.res[i].node, "practitioner"),
		    "Practitioner", npi, sizeof(npi));
		if (pr != NULL && pr->taxonomy[0] == '\0')
			fhir_nucc(d.res[i].node, "specialty", pr->taxonomy,
			    sizeof(pr->taxonomy));
	}
	for (size_t i = 0; i < d.n; i++) {
		if (strcmp(d.res[i].type, "Organization") == 0)
			fhir_organization(&d, &d.res[i]);
		else if (strcmp(d.res[i].type, "Practitioner") == 0)
			fhir_practitioner(&d, &d.res[i]);
		else if (strcmp(d.res[i].type, "PractitionerRole") == 0)
			fhir_role(&d, &d.res[i]);
	}
	fhir_endpoints(&d);
	log_debug(NULL, "directory=fhir resources=%zu entries=%lu", d.n,
	    entry);
	rc = 0;
out:
	fhir_index_release(&d.index);
	free(d.res);
	if (doc != NULL)
		xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return rc;
}
