#include "adt/notify_plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adt/acrs_store.h"
#include "adt/directory.h"
#include "adt/intake.h"
#include "adt/notify_compose.h"
#include "adt/notify_plan_private.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "hisp/address.h"
#include "hisp/queue.h"

#define NOTIFY_MSG_MAX (HL7_MAX_BYTES + (1u << 20))

const char *
notify_kind_name(enum notify_kind k)
{
	switch (k) {
	case NOTIFY_KIND_DIRECT:
		return "direct";
	case NOTIFY_KIND_MLLP:
		return "mllp";
	case NOTIFY_KIND_DIGEST:
		return "digest";
	}
	return "?";
}

static int
notify_kind_parse(const char *s, enum notify_kind *k_r)
{
	if (strcmp(s, "direct") == 0)
		*k_r = NOTIFY_KIND_DIRECT;
	else if (strcmp(s, "mllp") == 0)
		*k_r = NOTIFY_KIND_MLLP;
	else if (strcmp(s, "digest") == 0)
		*k_r = NOTIFY_KIND_DIGEST;
	else
		return -1;
	return 0;
}

void
notify_plan_free(struct notify_plan **pp)
{
	struct notify_plan *p;

	if (pp == NULL || (p = *pp) == NULL)
		return;
	for (size_t i = 0; i < p->n_outs; i++)
		buf_release(&p->outs[i].body);
	free(p->outs);
	free(p->audits);
	free(p->reviews);
	free(p->links);
	free(p);
	*pp = NULL;
}

bool
notify_plan_is_retraction(const char *event)
{
	return strcmp(event, "A11") == 0 || strcmp(event, "A12") == 0 ||
	    strcmp(event, "A13") == 0;
}

void
notify_plan_note(struct notify_plan *p, const char *step, const char *npi,
    const char *recipient, const char *fmt, ...)
{
	va_list ap;
	struct notify_audit_rec *a;

	p->audits = xreallocarray(p->audits, p->n_audits + 1,
	    sizeof(*p->audits));
	a = &p->audits[p->n_audits++];
	memset(a, 0, sizeof(*a));
	str_lcpy(a->step, step, sizeof(a->step));
	str_lcpy(a->npi, npi != NULL ? npi : "", sizeof(a->npi));
	str_lcpy(a->recipient, recipient != NULL ? recipient : "",
	    sizeof(a->recipient));
	va_start(ap, fmt);
	vsnprintf(a->detail, sizeof(a->detail), fmt, ap);
	va_end(ap);
}

static struct notify_out *
notify_out_add(struct notify_plan *p, enum notify_kind k, const char *rcpt)
{
	struct notify_out *o;

	p->outs = xreallocarray(p->outs, p->n_outs + 1, sizeof(*p->outs));
	o = &p->outs[p->n_outs++];
	memset(o, 0, sizeof(*o));
	o->kind = k;
	str_lcpy(o->recipient, rcpt, sizeof(o->recipient));
	buf_init(&o->body, NOTIFY_MSG_MAX);
	return o;
}

void
notify_plan_list_add(char *list, size_t size, const char *word)
{
	size_t n = strlen(list);

	if (word[0] == '\0' || notify_policy_list_has(list, word))
		return;
	if (n + strlen(word) + 2 > size)
		return;
	if (n > 0)
		list[n++] = ',';
	str_lcpy(list + n, word, size - n);
}

/* Splits a ',' list into pointers into a copy (the caller frees copy). */
static size_t
notify_list_split(const char *list, char **copy_r, const char **v,
    size_t max)
{
	char *c = xstrdup(list), *save = NULL, *t;
	size_t n = 0;

	for (t = strtok_r(c, ",", &save); t != NULL && n < max;
	    t = strtok_r(NULL, ",", &save))
		v[n++] = t;
	*copy_r = c;
	return n;
}

static void
notify_path(const struct hl7_msg *m, const char *path, char *dst, size_t size)
{
	(void)notify_policy_field(m, path, dst, size);
}

void
notify_plan_person(const struct hl7_msg *m, struct acrs_person *p)
{
	char path[48];

	memset(p, 0, sizeof(*p));
	for (unsigned i = 1; i <= ACRS_MATCH_IDS_MAX; i++) {
		str_fmt(path, sizeof(path), "PID-3[%u].1", i);
		notify_path(m, path, p->ids[p->n_ids].id,
		    sizeof(p->ids[0].id));
		if (p->ids[p->n_ids].id[0] == '\0')
			break;
		str_fmt(path, sizeof(path), "PID-3[%u].4.1", i);
		notify_path(m, path, p->ids[p->n_ids].authority,
		    sizeof(p->ids[0].authority));
		str_fmt(path, sizeof(path), "PID-3[%u].5", i);
		notify_path(m, path, p->ids[p->n_ids].type,
		    sizeof(p->ids[0].type));
		p->n_ids++;
	}
	for (unsigned i = 1; i <= ACRS_MATCH_MEMBERS_MAX; i++) {
		str_fmt(path, sizeof(path), "IN1[%u]-36.1", i);
		notify_path(m, path, p->members[p->n_members].member_id,
		    sizeof(p->members[0].member_id));
		if (p->members[p->n_members].member_id[0] == '\0') {
			str_fmt(path, sizeof(path), "IN1[%u]-49.1", i);
			notify_path(m, path,
			    p->members[p->n_members].member_id,
			    sizeof(p->members[0].member_id));
		}
		if (p->members[p->n_members].member_id[0] == '\0')
			break;
		str_fmt(path, sizeof(path), "IN1[%u]-3.1", i);
		notify_path(m, path, p->members[p->n_members].payer,
		    sizeof(p->members[0].payer));
		p->n_members++;
	}
	notify_path(m, "PID-5.1.1", p->last, sizeof(p->last));
	notify_path(m, "PID-5.2", p->first, sizeof(p->first));
	notify_path(m, "PID-5.3", p->middle, sizeof(p->middle));
	notify_path(m, "PID-5.4", p->suffix, sizeof(p->suffix));
	notify_path(m, "PID-7.1", p->dob, sizeof(p->dob));
	notify_path(m, "PID-8", p->sex, sizeof(p->sex));
	notify_path(m, "PID-11.1.1", p->address1, sizeof(p->address1));
	notify_path(m, "PID-11.2", p->address2, sizeof(p->address2));
	notify_path(m, "PID-11.3", p->city, sizeof(p->city));
	notify_path(m, "PID-11.4", p->state, sizeof(p->state));
	notify_path(m, "PID-11.5", p->zip, sizeof(p->zip));
	notify_path(m, "PID-13[1].1", p->phone, sizeof(p->phone));
	if (p->phone[0] == '\0') {
		char area[8], local[16];

		notify_path(m, "PID-13[1].6", area, sizeof(area));
		notify_path(m, "PID-13[1].7", local, sizeof(local));
		str_fmt(p->phone, sizeof(p->phone), "%s%s", area, local);
	}
	notify_path(m, "PID-19", path, sizeof(path));
	if (strlen(path) >= 4)
		str_lcpy(p->ssn4, path + strlen(path) - 4, sizeof(p->ssn4));
}

struct notify_row {
	char control_id[128];
	char event[8];
	char processing_id[8];
	char facility[128];
};

static int
notify_row_copy(void *arg, const struct intake_row *r)
{
	struct notify_row *nr = arg;

	str_lcpy(nr->control_id, r->control_id, sizeof(nr->control_id));
	str_lcpy(nr->event, r->event, sizeof(nr->event));
	str_lcpy(nr->processing_id, r->processing_id,
	    sizeof(nr->processing_id));
	str_lcpy(nr->facility, r->facility, sizeof(nr->facility));
	return 0;
}

static int32_t
notify_today(int64_t now_ms)
{
	time_t t = (time_t)(now_ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/* The next time (ms) at minute-of-day (UTC) after now. */
static int64_t
notify_next_digest(int64_t now_ms, int minute)
{
	int64_t day = 86400000, t;

	t = now_ms - now_ms % day + (int64_t)minute * 60000;
	if (t <= now_ms)
		t += day;
	return t;
}

/* Composes o's body: the enriched HL7, and for Direct the whole message. */
int
notify_plan_compose(struct notify_plan *p, struct notify_out *o,
    const struct hl7_msg *m, const void *raw, size_t n,
    const struct notify_settings *set, int retraction, int test,
    int64_t now_ms, struct err *e)
{
	const char *npis[64], *pids[64];
	char *c1 = NULL, *c2 = NULL;
	struct notify_enrich z = {0};
	struct buf hl7, sum;
	const char *dom;
	int rc = -1;

	z.n_npis = notify_list_split(o->npis, &c1, npis, 64);
	z.npis = npis;
	z.n_patient_ids = notify_list_split(o->patient_ids, &c2, pids, 64);
	z.patient_ids = pids;
	z.zsegments = set->zsegments;
	buf_init(&hl7, NOTIFY_MSG_MAX);
	buf_init(&sum, 1u << 20);
	if (notify_compose_enrich(raw, n, &z, &hl7, e) != 0)
		goto out;
	if (o->kind != NOTIFY_KIND_DIRECT) {
		/* MLLP and digest rows keep the enriched HL7. */
		buf_append(&o->body, hl7.data, hl7.len);
		rc = 0;
		goto out;
	}
	notify_compose_summary(m, p->event, retraction, test, &sum);
	dom = strchr(p->from, '@');
	notify_compose_message_id(dom != NULL ? dom + 1 : "localhost",
	    o->message_id, sizeof(o->message_id));
	{
		const void *parts[1] = {hl7.data};
		size_t lens[1] = {hl7.len};
		struct notify_direct d = {
			.from = p->from,
			.to = o->recipient,
			.message_id = o->message_id,
			.now = now_ms / 1000,
			.event = p->event,
			.summary = sum.data,
			.summary_len = sum.len,
			.hl7 = parts,
			.hl7_len = lens,
			.n_hl7 = 1,
		};

		rc = notify_compose_direct(&d, &o->body, e);
	}
out:
	free(c1);
	free(c2);
	buf_release(&hl7);
	buf_release(&sum);
	return rc;
}

/* Whether a preference of owner names event explicitly (a subscription,
 * not the "*" default). */
static int
notify_subscribed(struct store *s, const char *owner, const char *event,
    struct err *e)
{
	struct directory_preference *v = NULL;
	size_t n = 0;
	int found = 0;

	if (directory_preference_list(s, owner, &v, &n, e) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].events, "*") != 0 &&
		    notify_policy_list_has(v[i].events, event))
			found = 1;
	free(v);
	return found;
}

static int
notify_plan_retract(struct store *s, struct notify_plan *p,
    const struct notify_policy *pol, const struct hl7_msg *m,
    const void *raw, size_t n, const struct notify_settings *set,
    int64_t now_ms, struct err *e)
{
	struct store_stmt *st;
	int rc;
	size_t first = p->n_outs;

	st = store_prepare(s, "SELECT id, kind, recipient, npis, patient_ids"
	    " FROM notify_sent WHERE visit = ? AND event = ?"
	    " AND state <> 'cancelled' ORDER BY id", e);
	if (st == NULL)
		return -1;
	store_bindv(st, "ss", pol->visit, pol->cancels);
	while ((rc = store_step(st, e)) == 1) {
		enum notify_kind k;
		struct notify_out *o;

		if (notify_kind_parse(store_col_text(st, 1), &k) != 0)
			continue;
		o = notify_out_add(p, k, store_col_text(st, 2));
		o->retracts = store_col_int(st, 0);
		str_lcpy(o->npis, store_col_text(st, 3), sizeof(o->npis));
		str_lcpy(o->patient_ids, store_col_text(st, 4),
		    sizeof(o->patient_ids));
		o->next_try = now_ms;
	}
	store_stmt_done(st);
	if (rc < 0)
		return -1;
	if (p->n_outs == first) {
		notify_plan_note(p, "retract", NULL, NULL,
		    "nothing_sent cancels=%s", pol->cancels);
		return 0;
	}
	for (size_t i = first; i < p->n_outs; i++) {
		struct notify_out *o = &p->outs[i];

		/* A retraction of a digest entry goes as a digest entry. */
		if (notify_plan_compose(p, o, m, raw, n, set, 1, 0, now_ms,
		    e) != 0)
			return -1;
		if (o->kind == NOTIFY_KIND_DIGEST)
			o->next_try = now_ms; /* with the next digest check */
		notify_plan_note(p, "retract", NULL, o->recipient,
		    "kind=%s cancels=%s retracts=%lld", notify_kind_name(o->kind),
		    pol->cancels, (long long)o->retracts);
	}
	return 0;
}

static int
notify_plan_merge(struct store *s, struct notify_plan *p,
    const struct hl7_msg *m, struct err *e)
{
	char old_id[ACRS_ID_MAX], old_auth[ACRS_ID_MAX], new_id[ACRS_ID_MAX],
	    new_auth[ACRS_ID_MAX];
	int64_t *ids = NULL;
	size_t n = 0;

	notify_path(m, "MRG-1[1].1", old_id, sizeof(old_id));
	notify_path(m, "MRG-1[1].4.1", old_auth, sizeof(old_auth));
	notify_path(m, "PID-3[1].1", new_id, sizeof(new_id));
	notify_path(m, "PID-3[1].4.1", new_auth, sizeof(new_auth));
	if (old_id[0] == '\0' || new_id[0] == '\0') {
		notify_plan_note(p, "merge", NULL, NULL, "missing_identifier");
		return 0;
	}
	if (acrs_store_by_ident(s, old_id, old_auth, &ids, &n, e) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct acrs_cand c;
		struct notify_link *l;

		if (acrs_store_cand(s, ids[i], &c, e) != 1)
			continue;
		p->links = xreallocarray(p->links, p->n_links + 1,
		    sizeof(*p->links));
		l = &p->links[p->n_links++];
		str_lcpy(l->authority, new_auth, sizeof(l->authority));
		for (char *q = l->authority; *q != '\0'; q++)
			if (*q >= 'a' && *q <= 'z')
				*q = (char)(*q - 'a' + 'A');
		str_lcpy(l->ident, new_id, sizeof(l->ident));
		str_lcpy(l->submitter, c.submitter, sizeof(l->submitter));
		str_lcpy(l->patient_id, c.patient_id, sizeof(l->patient_id));
	}
	free(ids);
	notify_plan_note(p, "merge", NULL, NULL, "patients=%zu links=%zu "
	    "fanout=none", n, p->n_links);
	return 0;
}

/* A recipient group: one notification per (kind, address). */
struct notify_out *
notify_plan_group(struct notify_plan *p, size_t first,
    const struct directory_target *t, int64_t now_ms)
{
	enum notify_kind k = t->kind == DIRECTORY_KIND_MLLP ?
	    NOTIFY_KIND_MLLP : t->digest ? NOTIFY_KIND_DIGEST :
	    NOTIFY_KIND_DIRECT;
	struct notify_out *o;

	for (size_t i = first; i < p->n_outs; i++)
		if (p->outs[i].kind == k && strcmp(p->outs[i].recipient,
		    t->address) == 0)
			return &p->outs[i];
	o = notify_out_add(p, k, t->address);
	o->next_try = k == NOTIFY_KIND_DIGEST ?
	    notify_next_digest(now_ms, t->digest_minute) : now_ms;
	return o;
}

static int
notify_plan_team(struct store *s, struct acrs_matcher *mt,
    struct notify_plan *p, const struct notify_policy *pol,
    const struct hl7_msg *m, const void *raw, size_t n,
    const struct notify_settings *set, int64_t now_ms, struct err *e)
{
	struct acrs_person person;
	struct acrs_match_result res = {0};
	size_t first = p->n_outs;
	int rc = -1;

	notify_plan_person(m, &person);
	if (acrs_match(mt, &person, notify_today(now_ms), p->control_id, &res,
	    e) != 0)
		return -1;
	notify_plan_note(p, "match", NULL, NULL, "decision=%s score=%.2f "
	    "candidates=%zu hits=%zu team=%zu",
	    acrs_match_decision_name(res.decision), res.best, res.candidates,
	    res.n_hits, res.n_team);
	if (res.decision != ACRS_MATCH) {
		for (size_t i = 0; i < res.n_hits; i++) {
			struct notify_review *r;

			if (res.hits[i].decision != ACRS_POSSIBLE)
				continue;
			p->reviews = xreallocarray(p->reviews,
			    p->n_reviews + 1, sizeof(*p->reviews));
			r = &p->reviews[p->n_reviews++];
			r->patient = res.hits[i].patient;
			r->score = res.hits[i].score;
			notify_plan_note(p, "held", NULL, NULL, "possible_match "
			    "patient_row=%lld score=%.2f",
			    (long long)r->patient, r->score);
		}
		if (person.n_ids > 0) {
			str_lcpy(p->review_ident, person.ids[0].id,
			    sizeof(p->review_ident));
			str_lcpy(p->review_authority, person.ids[0].authority,
			    sizeof(p->review_authority));
		}
		rc = 0;
		goto out;
	}
	for (size_t i = 0; i < res.n_team; i++) {
		const struct acrs_member *mb = &res.team[i];
		struct directory_route rt;
		struct notify_out *o;
		bool seen = false;

		for (size_t j = 0; j < i; j++)
			if (strcmp(res.team[j].npi, mb->npi) == 0 &&
			    strcmp(res.team[j].patient_id, mb->patient_id) == 0)
				seen = true;
		if (seen)
			continue;
		if (mb->restricted && pol->sensitive) {
			notify_plan_note(p, "suppressed", mb->npi, NULL,
			    "reason=consent_restricted rel=%s sensitive=%s",
			    acrs_file_rel_name(mb->rel), pol->sensitive_why);
			continue;
		}
		if (directory_route(s, mb->npi, pol->event,
		    pol->patient_class, &rt, e) != 0)
			goto out;
		if (rt.status != DIRECTORY_ROUTED) {
			notify_plan_note(p, "unrouted", mb->npi, NULL,
			    "status=%s reason=%s rel=%s",
			    directory_route_status_name(rt.status), rt.reason,
			    acrs_file_rel_name(mb->rel));
			continue;
		}
		if (pol->action == NOTIFY_SUBSCRIBED) {
			int sub = notify_subscribed(s, rt.targets[0].owner_npi,
			    pol->event, e);

			if (sub < 0)
				goto out;
			if (sub == 0) {
				notify_plan_note(p, "suppressed", mb->npi, NULL,
				    "reason=not_subscribed event=%s",
				    pol->event);
				continue;
			}
		}
		o = notify_plan_group(p, first, &rt.targets[0], now_ms);
		notify_plan_list_add(o->npis, sizeof(o->npis), mb->npi);
		notify_plan_list_add(o->patient_ids, sizeof(o->patient_ids),
		    mb->patient_id);
		notify_plan_note(p, "routed", mb->npi, o->recipient,
		    "kind=%s rel=%s endpoint=%lld%s", notify_kind_name(o->kind),
		    acrs_file_rel_name(mb->rel),
		    (long long)rt.targets[0].endpoint_id,
		    rt.targets[0].via_organization ? " via=organization" : "");
	}
	for (size_t i = first; i < p->n_outs; i++)
		if (notify_plan_compose(p, &p->outs[i], m, raw, n, set, 0, 0,
		    now_ms, e) != 0)
			goto out;
	if (p->n_outs == first)
		notify_plan_note(p, "no_recipient", NULL, NULL, "team=%zu",
		    res.n_team);
	rc = 0;
out:
	acrs_match_result_clear(&res);
	return rc;
}

int
notify_plan_adt(struct store *s, struct acrs_matcher *mt,
    const struct notify_settings *set, const char *from, int64_t id,
    int64_t now_ms, struct notify_plan **p_r, struct err *e)
{
	struct notify_plan *p;
	struct notify_row row;
	struct notify_policy pol;
	struct hl7_msg *m = NULL;
	struct buf raw;
	struct err pe;
	int rc;

	*p_r = NULL;
	memset(&row, 0, sizeof(row));
	buf_init(&raw, HL7_MAX_BYTES);
	rc = intake_get(s, id, notify_row_copy, &row, &raw, e);
	if (rc <= 0) {
		buf_release(&raw);
		if (rc == 0)
			err_set(e, ERR_PERM, "no ADT %lld", (long long)id);
		return -1;
	}
	p = xcalloc(1, sizeof(*p));
	p->adt = id;
	p->state = "done";
	str_lcpy(p->control_id, row.control_id, sizeof(p->control_id));
	str_lcpy(p->from, from != NULL ? from : "", sizeof(p->from));
	if (hl7_parse(raw.data, raw.len, &m, &pe) != 0) {
		notify_plan_note(p, "failed", NULL, NULL, "parse");
		p->state = "failed";
		goto done;
	}
	notify_policy_decide(m, set->sensitive_facilities, &pol);
	str_lcpy(p->event, pol.event, sizeof(p->event));
	str_lcpy(p->visit, pol.visit, sizeof(p->visit));
	notify_policy_digest(pol.visit, p->visit_digest);
	notify_plan_note(p, "policy", NULL, NULL, "event=%s action=%s reason=%s "
	    "class=%c sensitive=%s test=%s visit=%s", pol.event[0] ?
	    pol.event : "-", notify_action_name(pol.action), pol.reason,
	    pol.patient_class ? pol.patient_class : '-',
	    pol.sensitive ? pol.sensitive_why : "no", pol.test ? "yes" : "no",
	    p->visit_digest);
	if (pol.action == NOTIFY_IGNORE)
		goto done;
	if (pol.test && pol.action != NOTIFY_MERGE) {
		struct notify_out *o;

		if (set->test_address[0] == '\0') {
			notify_plan_note(p, "suppressed", NULL, NULL,
			    "reason=test_traffic");
			goto done;
		}
		/* Test traffic goes apart: to the test address only. */
		o = notify_out_add(p, NOTIFY_KIND_DIRECT, set->test_address);
		o->next_try = now_ms;
		if (notify_plan_compose(p, o, m, raw.data, raw.len, set,
		    pol.action == NOTIFY_RETRACT, 1, now_ms, e) != 0)
			goto fail;
		notify_plan_note(p, "routed", NULL, o->recipient, "kind=direct "
		    "test_traffic");
		goto done;
	}
	switch (pol.action) {
	case NOTIFY_MERGE:
		if (pol.test) {
			notify_plan_note(p, "suppressed", NULL, NULL,
			    "reason=test_traffic");
			break;
		}
		if (notify_plan_merge(s, p, m, e) != 0)
			goto fail;
		break;
	case NOTIFY_RETRACT:
		if (notify_plan_retract(s, p, &pol, m, raw.data, raw.len, set,
		    now_ms, e) != 0)
			goto fail;
		break;
	case NOTIFY_SEND:
	case NOTIFY_SUBSCRIBED:
		if (notify_plan_team(s, mt, p, &pol, m, raw.data, raw.len, set,
		    now_ms, e) != 0)
			goto fail;
		break;
	case NOTIFY_IGNORE:
		break;
	}
done:
	hl7_msg_free(&m);
	buf_release(&raw);
	*p_r = p;
	return 0;
fail:
	hl7_msg_free(&m);
	buf_release(&raw);
	notify_plan_free(&p);
	return -1;
}

int
notify_plan_audit(struct store *s, int64_t adt, int64_t now_ms,
    const char *step, const char *npi, const char *recipient,
    const char *detail, struct err *e)
{
	return store_run(s, e, "INSERT INTO notify_audit (adt, at, step, npi,"
	    " recipient, detail) VALUES (?, ?, ?, ?, ?, ?)", "IIssss", adt,
	    now_ms, step, npi != NULL && npi[0] ? npi : NULL,
	    recipient != NULL && recipient[0] ? recipient : NULL, detail);
}

int
notify_plan_apply(struct store *s, const struct notify_plan *p,
    int64_t now_ms, int64_t expire_s, struct notify_apply_stats *stats,
    struct err *e)
{
	for (size_t i = 0; i < p->n_audits; i++) {
		const struct notify_audit_rec *a = &p->audits[i];

		if (notify_plan_audit(s, p->adt, now_ms, a->step, a->npi,
		    a->recipient, a->detail, e) != 0)
			return -1;
	}
	for (size_t i = 0; i < p->n_outs; i++) {
		const struct notify_out *o = &p->outs[i];
		bool direct = o->kind == NOTIFY_KIND_DIRECT;
		bool nosender = direct && p->from[0] == '\0';
		char detail[256], qid[QUEUE_ID_LEN + 1] = "";

		/* The queue id is drawn first so that the row is written
		 * whole by its insert (no update after it). */
		if (direct && !nosender)
			queue_id_next(qid);
		if (store_run(s, e, "INSERT OR IGNORE INTO notify_sent (adt,"
		    " visit, event, recipient, kind, npis, patient_ids,"
		    " message_id, queue_id, state, retracts, fallback_of,"
		    " created, updated, next_try, payload) VALUES (?, ?, ?, ?,"
		    " ?, ?, ?, ?, ?, ?, nullif(?, 0), nullif(?, 0), ?, ?, ?, ?)",
		    "Isssssssss" "IIIIIb", p->adt, p->visit, p->event,
		    o->recipient, notify_kind_name(o->kind), o->npis,
		    o->patient_ids, direct ? o->message_id : NULL,
		    qid[0] != '\0' ? qid : NULL,
		    nosender ? "failed" : direct ? "queued" : "pending",
		    o->retracts, o->fallback_of, now_ms, now_ms, o->next_try,
		    direct ? NULL : (const void *)o->body.data,
		    direct ? (size_t)0 : o->body.len) != 0)
			return -1;
		if (store_changes(s) == 0) {
			if (stats != NULL)
				stats->duplicates++;
			if (notify_plan_audit(s, p->adt, now_ms, "duplicate",
			    NULL, o->recipient, "already_notified "
			    "visit_event_recipient", e) != 0)
				return -1;
			continue;
		}
		int64_t row = store_last_rowid(s);
		if (nosender) {
			if (notify_plan_audit(s, p->adt, now_ms, "failed", NULL,
			    o->recipient, "kind=direct reason=no_sender", e) != 0)
				return -1;
			continue;
		}
		if (direct) {
			const char *rcpts[1] = {o->recipient};
			struct queue_envelope env = {
				.direction = QUEUE_OUT,
				.mail_from = p->from,
				.rcpts = rcpts,
				.nrcpt = 1,
				.client = "notify",
				.message_id = o->message_id,
			};
			char drawn[QUEUE_ID_LEN + 1];

			memcpy(drawn, qid, sizeof(drawn));
			if (queue_insert_as(s, &env, o->body.data, o->body.len,
			    expire_s, qid, e) != 0)
				return -1;
			if (strcmp(qid, drawn) != 0 && store_run(s, e,
			    "UPDATE notify_sent SET queue_id = ? WHERE id = ?",
			    "sI", qid, row) != 0)
				return -1;
			str_fmt(detail, sizeof(detail), "kind=direct "
			    "notification=%lld queue_id=%s size=%zu", (long long)row,
			    qid, o->body.len);
			if (stats != NULL)
				stats->direct++;
		} else {
			str_fmt(detail, sizeof(detail), "kind=%s notification="
			    "%lld size=%zu", notify_kind_name(o->kind),
			    (long long)row, o->body.len);
			if (stats != NULL) {
				if (o->kind == NOTIFY_KIND_MLLP)
					stats->mllp++;
				else
					stats->digest++;
			}
		}
		if (notify_plan_audit(s, p->adt, now_ms, "queued", NULL,
		    o->recipient, detail, e) != 0)
			return -1;
	}
	for (size_t i = 0; i < p->n_reviews; i++)
		if (acrs_store_review_add(s, p->control_id,
		    p->review_ident[0] ? p->review_ident : NULL,
		    p->review_authority[0] ? p->review_authority : NULL,
		    p->reviews[i].patient, p->reviews[i].score, NULL, e) != 0)
			return -1;
	for (size_t i = 0; i < p->n_links; i++) {
		const struct notify_link *l = &p->links[i];

		if (store_run(s, e, "INSERT OR IGNORE INTO acrs_link (authority,"
		    " ident, submitter, patient_id) VALUES (?, ?, ?, ?)", "ssss",
		    l->authority, l->ident, l->submitter, l->patient_id) != 0)
			return -1;
	}
	if (p->state == NULL)
		return 0;
	return intake_set_state(s, p->adt, p->state, now_ms, e);
}

/* Whether address (or its domain) has a signing certificate that is
 * valid now. 1 / 0 / -1. */
static int
notify_plan_signs(struct store *s, const char *address, struct err *e)
{
	const char *dom = strchr(address, '@');
	int64_t n = 0;

	if (dom == NULL)
		return 0;
	if (store_query_int(s, &n, e, "SELECT count(*) FROM cert_key WHERE"
	    " (owner = ? OR (kind = 'domain' AND domain = ?))"
	    " AND der IS NOT NULL AND (not_after IS NULL OR not_after >"
	    " strftime('%s','now'))", "ss", address, dom + 1) < 0)
		return -1;
	return n > 0;
}

int
notify_plan_sender(struct store *s, const char *from, char *dst, size_t size,
    struct err *e)
{
	struct address_info *v = NULL;
	size_t n = 0;
	enum address_kind k;
	int rc = 0;

	if (from != NULL && from[0] != '\0') {
		rc = address_lookup(s, from, &k, e);
		if (rc <= 0)
			return rc;
		if (k != ADDRESS_NOTIFY)
			return 0;
		str_lcpy(dst, from, size);
		return notify_plan_signs(s, dst, e);
	}
	if (address_list(s, NULL, &v, &n, e) != 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++)
		if (v[i].kind == ADDRESS_NOTIFY) {
			str_lcpy(dst, v[i].address, size);
			rc = notify_plan_signs(s, dst, e);
		}
	address_info_free(&v, n);
	return rc;
}

int
notify_plan_pending(struct store *s, int64_t after, unsigned max,
    int64_t *ids, unsigned *n_r, char (*events)[4], struct err *e)
{
	struct store_stmt *st;
	int rc;

	*n_r = 0;
	st = store_prepare(s, "SELECT id, event FROM adt_event"
	    " WHERE state = 'received' AND id > ? ORDER BY id LIMIT ?", e);
	if (st == NULL)
		return -1;
	store_bindv(st, "Ii", after, (int)max);
	while ((rc = store_step(st, e)) == 1 && *n_r < max) {
		ids[*n_r] = store_col_int(st, 0);
		if (events != NULL)
			str_lcpy(events[*n_r], store_col_text(st, 1), 4);
		(*n_r)++;
	}
	store_stmt_done(st);
	return rc < 0 ? -1 : 0;
}

int
notify_run_pending(struct store *s, struct acrs_matcher *mt,
    const struct notify_settings *set, const char *from, int64_t now_ms,
    unsigned max, unsigned *n_r, struct notify_apply_stats *stats,
    struct err *e)
{
	int64_t ids[256];
	unsigned n = 0;

	*n_r = 0;
	while (*n_r < max) {
		unsigned want = max - *n_r > 256 ? 256 : max - *n_r;

		if (notify_plan_pending(s, 0, want, ids, &n, NULL, e) != 0)
			return -1;
		if (n == 0)
			break;
		for (unsigned i = 0; i < n; i++) {
			struct notify_plan *p = NULL;

			if (notify_plan_adt(s, mt, set, from, ids[i], now_ms,
			    &p, e) != 0)
				return -1;
			if (store_begin(s, e) != 0) {
				notify_plan_free(&p);
				return -1;
			}
			if (notify_plan_apply(s, p, now_ms, NOTIFY_EXPIRE_S,
			    stats, e) != 0) {
				store_rollback(s);
				notify_plan_free(&p);
				return -1;
			}
			notify_plan_free(&p);
			if (store_commit(s, e) != 0)
				return -1;
			(*n_r)++;
		}
	}
	return 0;
}

