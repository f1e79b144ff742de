#include "adt/demo_data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "adt/acrs_file.h"
#include "adt/acrs_norm.h"
#include "adt/demo_data_private.h"
#include "core/str.h"
#include "core/xmalloc.h"

#define DEMO_HOSPITALS 3
#define DEMO_PAYERS 4

/* Random numbers: xorshift64* seeded through splitmix64. */
struct demo_rng {
	uint64_t s;
};

static uint64_t
demo_rng_next(struct demo_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

static void
demo_rng_seed(struct demo_rng *r, uint64_t seed)
{
	uint64_t z = seed + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	r->s = (z ^ (z >> 31)) | 1;
}

/* 0..n-1 */
static unsigned
demo_rng_below(struct demo_rng *r, unsigned n)
{
	return n > 0 ? (unsigned)((demo_rng_next(r) >> 11) % n) : 0;
}

/* true with probability pct percent (fractions allowed: per mille). */
static bool
demo_rng_pm(struct demo_rng *r, unsigned per_mille)
{
	return demo_rng_below(r, 1000) < per_mille;
}

/* A word list with Zipf-like cumulative weights 1/(rank + 8). */
struct demo_list {
	char **w;
	double *cum;
	size_t n;
};

static void
demo_list_init(struct demo_list *l, const char *src)
{
	const char *p = src;
	double total = 0.0;

	memset(l, 0, sizeof(*l));
	while (*p != '\0') {
		const char *q;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		for (q = p; *q != '\0' && *q != ' '; q++)
			;
		l->w = xreallocarray(l->w, l->n + 1, sizeof(*l->w));
		l->cum = xreallocarray(l->cum, l->n + 1, sizeof(*l->cum));
		l->w[l->n] = xstrndup(p, (size_t)(q - p));
		for (char *t = l->w[l->n]; *t; t++)
			if (*t == '_')
				*t = ' ';
		total += 1.0 / ((double)l->n + 8.0);
		l->cum[l->n] = total;
		l->n++;
		p = q;
	}
	for (size_t i = 0; i < l->n; i++)
		l->cum[i] /= total;
}

static void
demo_list_free(struct demo_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->w[i]);
	free(l->w);
	free(l->cum);
}

static const char *
demo_list_pick(const struct demo_list *l, struct demo_rng *r)
{
	double u = (double)(demo_rng_next(r) >> 11) / 9007199254740992.0;
	size_t lo = 0, hi = l->n - 1;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (l->cum[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return l->w[lo];
}

static const char *
demo_list_uniform(const struct demo_list *l, struct demo_rng *r)
{
	return l->w[demo_rng_below(r, (unsigned)l->n)];
}

/* Demographics as a record carries them (UTF-8, mixed case). */
struct demo_demo {
	char first[32], middle[32], last[40], suffix[4];
	int32_t dob;
	char sex;
	char street[72]; /* "12 Oak Street" */
	char city[32];
	char zip[11];
	char phone[11];
	char ssn4[5];
};

struct demo_person {
	struct demo_demo d;
	uint32_t rel_first, rel_n;
	uint32_t ref_first, ref_n; /* truth strings */
	bool in_acrs;
	bool twin;
};

struct demo_org {
	char code[16];      /* submitter name and assigning authority */
	char name[64];
	char npi[11];
	char slug[24];
	bool payer;
};

struct demo_provider {
	char npi[11];
	char first[32], last[40];
	int role; /* enum acrs_rel */
	uint32_t org;
	bool mllp, digest;
};

struct demo_rel {
	uint32_t person;
	uint32_t org;       /* the submitter */
	int32_t provider;   /* -1: the payer itself */
	int rel;
	int32_t last_seen, start, end;
	bool restricted;
};

struct demo_visit {
	uint32_t person;
	uint8_t hospital;
	uint8_t n_events;
	char events[3][4];
	char pclass;
	bool in1, sensitive;
	unsigned errors;
	int32_t attending;
	struct demo_demo d; /* as the messages carry it */
};

struct demo_data {
	struct demo_data_opts o;
	char domain[128], mllp[128];
	struct demo_person *persons;
	size_t n_persons;
	struct demo_org *orgs;
	size_t n_orgs, n_practices;
	struct demo_provider *provs;
	size_t n_provs;
	struct demo_rel *rels;
	size_t n_rels, cap_rels;
	char **refs;
	size_t n_refs, cap_refs;
	struct demo_visit *visits;
	size_t n_visits;
	uint32_t *by_org_first; /* rels sorted by org: index per org */
	uint32_t *rel_order;
};

/* Identifiers (each a bijection of the person index: unique). */

static void
demo_patient_id(const struct demo_data *d, uint32_t org, uint32_t person,
    char *dst, size_t size)
{
	if (org == 0) /* the hospital A medical group: hospital A's MRNs */
		str_fmt(dst, size, "A%07u", person + 1);
	else if (d->orgs[org].payer)
		str_fmt(dst, size, "M%010u", (person + 1) * 2654435761u);
	else
		str_fmt(dst, size, "%s-%08X", d->orgs[org].code,
		    (person + 1) * 2246822519u);
}

static void
demo_make_npi(struct demo_rng *r, char first, unsigned serial, char npi[11])
{
	char nine[10];

	str_fmt(nine, sizeof(nine), "%c%03u%05u", first,
	    demo_rng_below(r, 1000), serial % 100000);
	memcpy(npi, nine, 9);
	npi[9] = (char)('0' + acrs_norm_npi_check(nine));
	npi[10] = '\0';
}

static void
demo_street(struct demo_rng *r, const struct demo_list *streets,
    const struct demo_list *types, char *dst, size_t size)
{
	str_fmt(dst, size, "%u %s %s", 1 + demo_rng_below(r, 9899),
	    demo_list_uniform(streets, r), demo_list_uniform(types, r));
}

static void
demo_place(struct demo_rng *r, struct demo_demo *dd)
{
	size_t nc = 0;
	const struct demo_data_city *c;

	while (demo_data_cities[nc].name != NULL)
		nc++;
	c = &demo_data_cities[demo_rng_below(r, (unsigned)nc)];
	str_lcpy(dd->city, c->name, sizeof(dd->city));
	str_fmt(dd->zip, sizeof(dd->zip), "%05d",
	    c->zip + (int)demo_rng_below(r, 5));
	str_fmt(dd->phone, sizeof(dd->phone), "%d%03u%04u", c->area,
	    200 + demo_rng_below(r, 800), demo_rng_below(r, 10000));
}

static int32_t
demo_days_ago(int32_t today, unsigned days)
{
	return acrs_norm_from_days(acrs_norm_days(today) - (int64_t)days);
}

static void
demo_add_rel(struct demo_data *d, const struct demo_rel *rel)
{
	if (d->n_rels == d->cap_rels) {
		d->cap_rels = d->cap_rels ? d->cap_rels * 2 : 1024;
		d->rels = xreallocarray(d->rels, d->cap_rels,
		    sizeof(*d->rels));
	}
	d->rels[d->n_rels++] = *rel;
}

static void
demo_add_ref(struct demo_data *d, char *s)
{
	if (d->n_refs == d->cap_refs) {
		d->cap_refs = d->cap_refs ? d->cap_refs * 2 : 1024;
		d->refs = xreallocarray(d->refs, d->cap_refs,
		    sizeof(*d->refs));
	}
	d->refs[d->n_refs++] = s;
}

static int32_t
demo_pick_provider(struct demo_data *d, struct demo_rng *r, int role)
{
	for (int tries = 0; tries < 64; tries++) {
		uint32_t i = demo_rng_below(r, (unsigned)d->n_provs);

		if (d->provs[i].role == role)
			return (int32_t)i;
	}
	return -1;
}

static void
demo_orgs(struct demo_data *d, struct demo_rng *r)
{
	static const char *const payers[DEMO_PAYERS] = {"Great Lakes Health "
	    "Plan", "Mitten Mutual", "Superior Care Insurance", "Peninsula "
	    "Medicaid Plan"};
	static const char *const kinds[] = {"Family Medicine", "Internal "
	    "Medicine", "Pediatrics", "Cardiology Associates", "Behavioral "
	    "Health", "Care Partners", "Specialty Clinic", "Health Center"};
	size_t n = d->n_practices + DEMO_PAYERS;

	d->orgs = xcalloc(n, sizeof(*d->orgs));
	d->n_orgs = n;
	for (size_t i = 0; i < n; i++) {
		struct demo_org *g = &d->orgs[i];

		if (i < d->n_practices) {
			str_fmt(g->code, sizeof(g->code), "ORG%04zu", i + 1);
			if (i == 0)
				str_lcpy(g->name, "Hospital A Medical Group",
				    sizeof(g->name));
			else
				str_fmt(g->name, sizeof(g->name), "%s %s",
				    demo_data_cities[i % 34].name,
				    kinds[i % 8]);
		} else {
			str_fmt(g->code, sizeof(g->code), "PAYER%02zu",
			    i - d->n_practices + 1);
			str_lcpy(g->name, payers[i - d->n_practices],
			    sizeof(g->name));
			g->payer = true;
		}
		str_lcpy(g->slug, g->code, sizeof(g->slug));
		str_lower(g->slug);
		demo_make_npi(r, '1', 50000 + (unsigned)i, g->npi);
		/* Type 2 NPIs in the real registry start with 1 too. */
	}
}

static void
demo_providers(struct demo_data *d, struct demo_rng *r,
    const struct demo_list *fem, const struct demo_list *male,
    const struct demo_list *last)
{
	d->provs = xcalloc(d->n_provs, sizeof(*d->provs));
	for (size_t i = 0; i < d->n_provs; i++) {
		struct demo_provider *p = &d->provs[i];
		unsigned k = demo_rng_below(r, 100);

		demo_make_npi(r, '1', (unsigned)i, p->npi);
		str_lcpy(p->first, demo_list_pick(demo_rng_below(r, 2) ? fem :
		    male, r), sizeof(p->first));
		str_lcpy(p->last, demo_list_pick(last, r), sizeof(p->last));
		p->role = k < 45 ? ACRS_REL_PCP : k < 80 ?
		    ACRS_REL_SPECIALIST : k < 88 ? ACRS_REL_BEHAVIORAL_HEALTH :
		    k < 94 ? ACRS_REL_CARE_MANAGER : ACRS_REL_POST_ACUTE;
		if (i < 4) /* every role exists */
			p->role = i == 0 ? ACRS_REL_PCP : i == 1 ?
			    ACRS_REL_SPECIALIST : i == 2 ?
			    ACRS_REL_BEHAVIORAL_HEALTH : ACRS_REL_CARE_MANAGER;
		p->org = (uint32_t)(i % d->n_practices);
		p->mllp = demo_rng_below(r, 100) < d->o.mllp_percent;
		p->digest = !p->mllp && demo_rng_pm(r, 150);
	}
}

static void
demo_person_rels(struct demo_data *d, struct demo_rng *r, uint32_t pi)
{
	struct demo_person *p = &d->persons[pi];
	int32_t today = d->o.today;
	struct demo_rel rel;
	struct {
		int role;
		unsigned pm;
	} plan[] = {
		{ACRS_REL_PCP, 1000}, {ACRS_REL_SPECIALIST, 400},
		{ACRS_REL_SPECIALIST, 150}, {ACRS_REL_BEHAVIORAL_HEALTH, 60},
		{ACRS_REL_CARE_MANAGER, 40}, {ACRS_REL_POST_ACUTE, 30},
	};
	size_t first = d->n_rels;

	p->rel_first = (uint32_t)d->n_rels;
	for (size_t k = 0; k < sizeof(plan) / sizeof(plan[0]); k++) {
		int32_t pv;
		bool dup = false;

		if (!demo_rng_pm(r, plan[k].pm))
			continue;
		pv = demo_pick_provider(d, r, plan[k].role);
		if (pv < 0)
			continue;
		for (size_t j = first; j < d->n_rels; j++)
			if (d->rels[j].provider == pv)
				dup = true;
		if (dup)
			continue;
		memset(&rel, 0, sizeof(rel));
		rel.person = pi;
		rel.provider = pv;
		rel.org = d->provs[pv].org;
		rel.rel = plan[k].role;
		rel.last_seen = demo_days_ago(today, demo_rng_below(r, 900));
		if (demo_rng_pm(r, 400))
			rel.start = demo_days_ago(today,
			    900 + demo_rng_below(r, 3000));
		if (demo_rng_pm(r, 40)) {
			rel.end = demo_days_ago(today, demo_rng_below(r, 300));
			if (rel.start != 0 && rel.end < rel.start)
				rel.end = rel.start;
			if (rel.end < rel.last_seen)
				rel.end = rel.last_seen;
		}
		rel.restricted = plan[k].role == ACRS_REL_BEHAVIORAL_HEALTH &&
		    demo_rng_pm(r, 600);
		demo_add_rel(d, &rel);
	}
	if (demo_rng_pm(r, 650)) {
		memset(&rel, 0, sizeof(rel));
		rel.person = pi;
		rel.provider = -1;
		rel.org = (uint32_t)(d->n_practices +
		    demo_rng_below(r, DEMO_PAYERS));
		rel.rel = ACRS_REL_PAYER;
		rel.start = demo_days_ago(today, 30 + demo_rng_below(r, 2000));
		if (demo_rng_pm(r, 50))
			rel.end = demo_days_ago(today, demo_rng_below(r, 25));
		demo_add_rel(d, &rel);
	}
	p->rel_n = (uint32_t)(d->n_rels - p->rel_first);
	/* The truth: one ACRS patient per distinct submitter. */
	p->ref_first = (uint32_t)d->n_refs;
	for (size_t j = first; j < d->n_rels; j++) {
		bool seen = false;
		char id[32];

		for (size_t k = first; k < j; k++)
			if (d->rels[k].org == d->rels[j].org)
				seen = true;
		if (seen)
			continue;
		demo_patient_id(d, d->rels[j].org, pi, id, sizeof(id));
		demo_add_ref(d, xasprintf("%s\t%s",
		    d->orgs[d->rels[j].org].code, id));
	}
	p->ref_n = (uint32_t)(d->n_refs - p->ref_first);
}

static void
demo_persons(struct demo_data *d, struct demo_rng *r,
    const struct demo_list *fem, const struct demo_list *male,
    const struct demo_list *last, const struct demo_list *streets,
    const struct demo_list *types)
{
	size_t i = 0;
	int32_t today = d->o.today;

	d->persons = xcalloc(d->n_persons, sizeof(*d->persons));
	while (i < d->n_persons) {
		unsigned k = demo_rng_below(r, 100);
		size_t size = k < 40 ? 1 : k < 70 ? 2 : k < 85 ? 3 : 4;
		struct demo_demo home;
		const char *family = demo_list_pick(last, r);
		bool home_phone = demo_rng_pm(r, 700);
		int32_t kid_dob = 0;

		memset(&home, 0, sizeof(home));
		demo_street(r, streets, types, home.street,
		    sizeof(home.street));
		demo_place(r, &home);
		for (size_t m = 0; m < size && i < d->n_persons; m++, i++) {
			struct demo_person *p = &d->persons[i];
			struct demo_demo *dd = &p->d;
			bool kid = m >= 2;
			unsigned age = kid ? demo_rng_below(r, 18) :
			    18 + demo_rng_below(r, 78);

			*dd = home;
			dd->sex = m == 0 ? (demo_rng_below(r, 2) ? 'F' : 'M') :
			    m == 1 ? (d->persons[i - 1].d.sex == 'F' ? 'M' :
			    'F') : (demo_rng_below(r, 2) ? 'F' : 'M');
			if (demo_rng_pm(r, 5))
				dd->sex = 'U';
			str_lcpy(dd->first, demo_list_pick(dd->sex == 'F' ?
			    fem : male, r), sizeof(dd->first));
			str_lcpy(dd->last, m == 1 && demo_rng_pm(r, 250) ?
			    demo_list_pick(last, r) : family,
			    sizeof(dd->last));
			if (demo_rng_pm(r, 600))
				str_lcpy(dd->middle, demo_list_pick(
				    demo_rng_below(r, 2) ? fem : male, r),
				    sizeof(dd->middle));
			if (!kid && dd->sex == 'M' && demo_rng_pm(r, 30))
				str_lcpy(dd->suffix, demo_rng_below(r, 2) ?
				    "Jr" : "Sr", sizeof(dd->suffix));
			dd->dob = demo_days_ago(today, age * 365 +
			    demo_rng_below(r, 365));
			if (kid && kid_dob != 0 && demo_rng_pm(r, 400)) {
				/* A twin of the previous child. */
				dd->dob = kid_dob;
				p->twin = true;
				d->persons[i - 1].twin = true;
				while (strcmp(dd->first,
				    d->persons[i - 1].d.first) == 0)
					str_lcpy(dd->first, demo_list_pick(
					    dd->sex == 'F' ? fem : male, r),
					    sizeof(dd->first));
			}
			if (kid)
				kid_dob = dd->dob;
			if (!home_phone || m > 0)
				str_fmt(dd->phone + 3, sizeof(dd->phone) - 3,
				    "%03u%04u", 200 + demo_rng_below(r, 800),
				    demo_rng_below(r, 10000));
			str_fmt(dd->ssn4, sizeof(dd->ssn4), "%04u",
			    demo_rng_below(r, 10000));
			p->in_acrs = demo_rng_below(r, 100) <
			    d->o.acrs_percent;
			if (p->in_acrs)
				demo_person_rels(d, r, (uint32_t)i);
		}
	}
}

/* A typo: substitute, transpose, delete or insert one ASCII letter (not
 * the first). */
static void
demo_typo(struct demo_rng *r, char *s, size_t size)
{
	size_t n = strlen(s), pos;
	unsigned op = demo_rng_below(r, 4);
	char c = (char)('a' + demo_rng_below(r, 26));

	if (n < 3)
		return;
	pos = 1 + demo_rng_below(r, (unsigned)(n - 1));
	if ((unsigned char)s[pos] >= 0x80 || (unsigned char)s[pos - 1] >= 0x80)
		return;
	if (s[pos] >= 'A' && s[pos] <= 'Z')
		c = (char)(c - 'a' + 'A');
	switch (op) {
	case 0:
		s[pos] = s[pos] == c ? (char)(c == 'a' ? 'e' : 'a') : c;
		break;
	case 1:
		if (pos + 1 < n && (unsigned char)s[pos + 1] < 0x80) {
			char t = s[pos];

			s[pos] = s[pos + 1];
			s[pos + 1] = t;
		}
		break;
	case 2:
		memmove(s + pos, s + pos + 1, n - pos);
		break;
	default:
		if (n + 1 < size) {
			memmove(s + pos + 1, s + pos, n - pos + 1);
			s[pos] = c;
		}
		break;
	}
}

static void
demo_visits(struct demo_data *d, struct demo_rng *r,
    const struct demo_list *streets, const struct demo_list *types)
{
	d->n_visits = d->n_persons;
	d->visits = xcalloc(d->n_visits, sizeof(*d->visits));
	for (size_t i = 0; i < d->n_visits; i++) {
		struct demo_visit *v = &d->visits[i];
		const struct demo_person *p = &d->persons[i];
		struct demo_demo *dd = &v->d;
		unsigned k = demo_rng_below(r, 100);

		v->person = (uint32_t)i;
		v->hospital = (uint8_t)demo_rng_below(r, DEMO_HOSPITALS);
		if (k < 55) {
			str_lcpy(v->events[0], "A01", 4);
			v->pclass = 'I';
			v->n_events = 1;
			k = demo_rng_below(r, 100);
			if (k < 75)
				str_lcpy(v->events[v->n_events++], "A03", 4);
			else if (k < 85)
				str_lcpy(v->events[v->n_events++], "A11", 4);
		} else if (k < 85) {
			str_lcpy(v->events[0], "A04", 4);
			v->pclass = 'E';
			v->n_events = 1;
			if (demo_rng_pm(r, 500))
				str_lcpy(v->events[v->n_events++], "A03", 4);
		} else {
			str_lcpy(v->events[0], "A08", 4);
			v->pclass = 'O';
			v->n_events = 1;
		}
		v->sensitive = demo_rng_pm(r, 50);
		v->in1 = demo_rng_pm(r, 500);
		v->attending = demo_pick_provider(d, r, ACRS_REL_SPECIALIST);
		*dd = p->d;
		if (p->twin)
			v->errors |= DEMO_ERR_TWIN;
		/* Injected errors. */
		if (demo_rng_pm(r, 100)) {
			demo_typo(r, dd->last, sizeof(dd->last));
			v->errors |= DEMO_ERR_TYPO_LAST;
		}
		if (demo_rng_pm(r, 100)) {
			demo_typo(r, dd->first, sizeof(dd->first));
			v->errors |= DEMO_ERR_TYPO_FIRST;
		}
		if (demo_rng_pm(r, 30)) {
			char t[40];

			str_lcpy(t, dd->last, sizeof(t));
			str_lcpy(dd->last, dd->first, sizeof(dd->last));
			str_lcpy(dd->first, t, sizeof(dd->first));
			v->errors |= DEMO_ERR_SWAP;
		}
		if (demo_rng_pm(r, 150)) {
			demo_street(r, streets, types, dd->street,
			    sizeof(dd->street));
			if (demo_rng_pm(r, 700)) {
				char keep[11];

				str_lcpy(keep, dd->phone, sizeof(keep));
				demo_place(r, dd);
				if (demo_rng_pm(r, 500))
					str_lcpy(dd->phone, keep,
					    sizeof(dd->phone));
			}
			v->errors |= DEMO_ERR_MOVED;
		}
		if (demo_rng_pm(r, 120)) {
			k = demo_rng_below(r, 100);
			if (k < 35) {
				dd->street[0] = '\0';
				dd->city[0] = '\0';
				dd->zip[0] = '\0';
			} else if (k < 70) {
				dd->phone[0] = '\0';
			} else if (k < 85) {
				dd->sex = 'U';
			} else {
				dd->middle[0] = '\0';
				dd->zip[0] = '\0';
			}
			v->errors |= DEMO_ERR_MISSING;
		}
		if (demo_rng_pm(r, 50)) {
			int y = dd->dob / 10000, m = dd->dob / 100 % 100;
			int day = dd->dob % 100;

			if (day <= 12 && day != m)
				dd->dob = y * 10000 + day * 100 + m;
			else
				dd->dob = y * 10000 + m * 100 +
				    (day % 10 == 1 ? day + 1 : day - 1);
			v->errors |= DEMO_ERR_DOB;
		}
	}
}

struct demo_data *
demo_data_new(const struct demo_data_opts *o)
{
	struct demo_data *d = xcalloc(1, sizeof(*d));
	struct demo_list fem, male, last, streets, types;
	struct demo_rng r;

	d->o = *o;
	if (d->o.patients < 1)
		d->o.patients = 1;
	if (d->o.providers < 4)
		d->o.providers = 4;
	if (d->o.acrs_percent == 0 || d->o.acrs_percent > 100)
		d->o.acrs_percent = 75;
	if (d->o.mllp_percent == 0 || d->o.mllp_percent > 100)
		d->o.mllp_percent = 10;
	str_lcpy(d->domain, o->domain != NULL ? o->domain :
	    "direct.demo.test", sizeof(d->domain));
	str_lcpy(d->mllp, o->mllp != NULL ? o->mllp : "127.0.0.1:2575",
	    sizeof(d->mllp));
	d->o.domain = d->domain;
	d->o.mllp = d->mllp;
	demo_rng_seed(&r, d->o.seed);
	demo_list_init(&fem, demo_data_female);
	demo_list_init(&male, demo_data_male);
	demo_list_init(&last, demo_data_last);
	demo_list_init(&streets, demo_data_streets);
	demo_list_init(&types, demo_data_street_types);
	d->n_persons = d->o.patients;
	d->n_provs = d->o.providers;
	d->n_practices = d->n_provs / 8 < 2 ? 2 : d->n_provs / 8;
	demo_orgs(d, &r);
	demo_providers(d, &r, &fem, &male, &last);
	demo_persons(d, &r, &fem, &male, &last, &streets, &types);
	demo_visits(d, &r, &streets, &types);
	/* Relationships grouped by submitter, for the per-file output. */
	d->rel_order = xcalloc(d->n_rels ? d->n_rels : 1,
	    sizeof(*d->rel_order));
	d->by_org_first = xcalloc(d->n_orgs + 1, sizeof(*d->by_org_first));
	for (size_t i = 0; i < d->n_rels; i++)
		d->by_org_first[d->rels[i].org + 1]++;
	for (size_t g = 0; g < d->n_orgs; g++)
		d->by_org_first[g + 1] += d->by_org_first[g];
	{
		uint32_t *fill = xcalloc(d->n_orgs, sizeof(*fill));

		for (size_t i = 0; i < d->n_rels; i++) {
			uint32_t g = d->rels[i].org;

			d->rel_order[d->by_org_first[g] + fill[g]++] =
			    (uint32_t)i;
		}
		free(fill);
	}
	demo_list_free(&fem);
	demo_list_free(&male);
	demo_list_free(&last);
	demo_list_free(&streets);
	demo_list_free(&types);
	return d;
}

void
demo_data_free(struct demo_data **dp)
{
	struct demo_data *d = *dp;

	if (d == NULL)
		return;
	*dp = NULL;
	for (size_t i = 0; i < d->n_refs; i++)
		free(d->refs[i]);
	free(d->refs);
	free(d->persons);
	free(d->orgs);
	free(d->provs);
	free(d->rels);
	free(d->visits);
	free(d->rel_order);
	free(d->by_org_first);
	free(d);
}

size_t
demo_data_submitters(const struct demo_data *d)
{
	return d->n_orgs;
}

const char *
demo_data_submitter_name(const struct demo_data *d, size_t i)
{
	return i < d->n_orgs ? d->orgs[i].code : "";
}

size_t
demo_data_relationships(const struct demo_data *d)
{
	return d->n_rels;
}

size_t
demo_data_visits(const struct demo_data *d)
{
	return d->n_visits;
}

unsigned
demo_data_visit_errors(const struct demo_data *d, size_t i)
{
	return i < d->n_visits ? d->visits[i].errors : 0;
}

size_t
demo_data_visit_truth(const struct demo_data *d, size_t i,
    const char *const **refs_r)
{
	const struct demo_person *p = &d->persons[d->visits[i].person];

	*refs_r = (const char *const *)d->refs + p->ref_first;
	return p->ref_n;
}

void
demo_data_error_names(unsigned errors, char *dst, size_t size)
{
	static const char *const names[] = {"typo_last", "typo_first",
	    "swapped_names", "moved", "missing_fields", "dob_typo", "twin"};
	size_t o = 0;

	dst[0] = '\0';
	for (unsigned b = 0; b < 7; b++)
		if (errors & (1u << b)) {
			o += str_lcpy(dst + (o < size ? o : size - 1),
			    o ? "|" : "", size - (o < size ? o : size - 1));
			o += str_lcpy(dst + (o < size ? o : size - 1), names[b],
			    size - (o < size ? o : size - 1));
		}
}

/* Upper-case copy (ASCII letters; UTF-8 bytes kept). */
static void
demo_upper(const char *in, char *out, size_t size)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < size; i++)
		out[i] = in[i] >= 'a' && in[i] <= 'z' ?
		    (char)(in[i] - 'a' + 'A') : in[i];
	out[i] = '\0';
}

void
demo_data_visit_person(const struct demo_data *d, size_t i,
    struct acrs_person *p)
{
	const struct demo_visit *v = &d->visits[i];
	const struct demo_demo *dd = &v->d;

	memset(p, 0, sizeof(*p));
	str_fmt(p->ids[0].id, sizeof(p->ids[0].id), "%c%07u",
	    'A' + v->hospital, v->person + 1);
	str_fmt(p->ids[0].authority, sizeof(p->ids[0].authority), "HOSP%c",
	    'A' + v->hospital);
	str_lcpy(p->ids[0].type, "MR", sizeof(p->ids[0].type));
	p->n_ids = 1;
	if (v->in1) {
		const struct demo_person *per = &d->persons[v->person];

		for (uint32_t k = 0; k < per->rel_n; k++) {
			const struct demo_rel *rel =
			    &d->rels[per->rel_first + k];

			if (rel->rel != ACRS_REL_PAYER)
				continue;
			demo_patient_id(d, rel->org, v->person,
			    p->members[0].member_id,
			    sizeof(p->members[0].member_id));
			str_lcpy(p->members[0].payer, d->orgs[rel->org].code,
			    sizeof(p->members[0].payer));
			p->n_members = 1;
		}
	}
	demo_upper(dd->last, p->last, sizeof(p->last));
	demo_upper(dd->first, p->first, sizeof(p->first));
	demo_upper(dd->middle, p->middle, sizeof(p->middle));
	demo_upper(dd->suffix, p->suffix, sizeof(p->suffix));
	if (dd->dob != 0)
		str_fmt(p->dob, sizeof(p->dob), "%08d", (int)dd->dob);
	p->sex[0] = dd->sex;
	demo_upper(dd->street, p->address1, sizeof(p->address1));
	demo_upper(dd->city, p->city, sizeof(p->city));
	if (dd->city[0] != '\0')
		str_lcpy(p->state, "MI", sizeof(p->state));
	str_lcpy(p->zip, dd->zip, sizeof(p->zip));
	str_lcpy(p->phone, dd->phone, sizeof(p->phone));
}

/* ACRS files. */

static void
demo_csv_field(struct buf *out, const char *s, bool comma)
{
	if (comma)
		buf_putc(out, ',');
	if (strpbrk(s, ",\"\r\n") == NULL) {
		buf_append_str(out, s);
		return;
	}
	buf_putc(out, '"');
	for (; *s; s++) {
		if (*s == '"')
			buf_putc(out, '"');
		buf_putc(out, (uint8_t)*s);
	}
	buf_putc(out, '"');
}

static void
demo_date(int32_t ymd, char *dst, size_t size)
{
	if (ymd == 0)
		dst[0] = '\0';
	else
		str_fmt(dst, size, "%04d-%02d-%02d", (int)(ymd / 10000),
		    (int)(ymd / 100 % 100), (int)(ymd % 100));
}

/* The street as a submitter writes it: the suffix abbreviated or not. */
static void
demo_street_variant(const char *street, bool abbrev, bool upper, char *dst,
    size_t size)
{
	char tmp[96], *sp;
	const char *a;

	str_lcpy(tmp, street, sizeof(tmp));
	sp = strrchr(tmp, ' ');
	if (abbrev && sp != NULL) {
		char word[32];

		demo_upper(sp + 1, word, sizeof(word));
		if ((a = acrs_norm_usps_abbrev(word)) != NULL) {
			char ab[16];

			str_lcpy(ab, a, sizeof(ab));
			for (char *t = ab + 1; *t; t++)
				*t = (char)(*t - 'A' + 'a');
			str_fmt(sp + 1, sizeof(tmp) - (size_t)(sp + 1 - tmp),
			    "%s%s", ab, strlen(street) % 2 ? "." : "");
		}
	}
	if (upper)
		demo_upper(tmp, dst, size);
	else
		str_lcpy(dst, tmp, size);
}

void
demo_data_acrs_csv(const struct demo_data *d, size_t g, struct buf *out)
{
	static const char *const sexes[] = {"male", "female", "other",
	    "unknown"};
	const struct demo_org *org = &d->orgs[g];
	struct demo_rng r;

	buf_append_str(out, "patient_id,patient_id_type,assigning_authority,"
	    "last_name,first_name,middle_name,suffix,dob,sex,address1,"
	    "address2,city,state,zip,phone,ssn_last4,provider_npi,"
	    "provider_name,relationship,organization,last_seen,start_date,"
	    "end_date,consent\r\n");
	demo_rng_seed(&r, d->o.seed ^ (0x5151ULL + g));
	for (uint32_t k = d->by_org_first[g]; k < d->by_org_first[g + 1];
	    k++) {
		const struct demo_rel *rel = &d->rels[d->rel_order[k]];
		const struct demo_demo *dd = &d->persons[rel->person].d;
		bool upper = demo_rng_pm(&r, 300);
		char id[32], b[96], pn[96], phone[24];
		const char *npi;

		demo_patient_id(d, (uint32_t)g, rel->person, id, sizeof(id));
		demo_csv_field(out, id, false);
		demo_csv_field(out, org->payer ? "MB" : "MR", true);
		/* One in ten of a practice's patients has no authority. */
		demo_csv_field(out, org->payer || g == 0 ||
		    (rel->person * 7 + (uint32_t)g) % 10 != 0 ?
		    (g == 0 ? "HOSPA" : org->code) : "", true);
		demo_upper(dd->last, b, sizeof(b));
		demo_csv_field(out, upper ? b : dd->last, true);
		demo_upper(dd->first, b, sizeof(b));
		demo_csv_field(out, upper ? b : dd->first, true);
		demo_csv_field(out, dd->middle, true);
		demo_csv_field(out, dd->suffix, true);
		demo_date(dd->dob, b, sizeof(b));
		demo_csv_field(out, b, true);
		if (demo_rng_pm(&r, 300)) {
			int si = dd->sex == 'M' ? 0 : dd->sex == 'F' ? 1 :
			    dd->sex == 'O' ? 2 : 3;

			demo_csv_field(out, sexes[si], true);
		} else {
			char sx[2] = {dd->sex, '\0'};

			demo_csv_field(out, sx, true);
		}
		demo_street_variant(dd->street, demo_rng_pm(&r, 500), upper, b,
		    sizeof(b));
		demo_csv_field(out, b, true);
		demo_csv_field(out, demo_rng_pm(&r, 100) ? "Apt 2" : "", true);
		demo_csv_field(out, dd->city, true);
		demo_csv_field(out, "MI", true);
		if (demo_rng_pm(&r, 200))
			str_fmt(b, sizeof(b), "%s-%04u", dd->zip,
			    demo_rng_below(&r, 10000));
		else
			str_lcpy(b, dd->zip, sizeof(b));
		demo_csv_field(out, b, true);
		phone[0] = '\0';
		if (!demo_rng_pm(&r, 100)) {
			if (demo_rng_pm(&r, 500))
				str_fmt(phone, sizeof(phone), "(%.3s) %.3s-%s",
				    dd->phone, dd->phone + 3, dd->phone + 6);
			else
				str_fmt(phone, sizeof(phone), "%.3s-%.3s-%s",
				    dd->phone, dd->phone + 3, dd->phone + 6);
		}
		demo_csv_field(out, phone, true);
		demo_csv_field(out, demo_rng_pm(&r, 500) ? dd->ssn4 : "",
		    true);
		if (rel->provider >= 0) {
			const struct demo_provider *pv =
			    &d->provs[rel->provider];

			npi = pv->npi;
			str_fmt(pn, sizeof(pn), "%s %s", pv->first, pv->last);
		} else {
			npi = org->npi;
			str_lcpy(pn, org->name, sizeof(pn));
		}
		demo_csv_field(out, npi, true);
		demo_csv_field(out, pn, true);
		demo_csv_field(out, acrs_file_rel_name(rel->rel), true);
		demo_csv_field(out, org->name, true);
		demo_date(rel->provider >= 0 ? rel->last_seen : 0, b,
		    sizeof(b));
		demo_csv_field(out, b, true);
		demo_date(rel->start, b, sizeof(b));
		demo_csv_field(out, b, true);
		demo_date(rel->end, b, sizeof(b));
		demo_csv_field(out, b, true);
		demo_csv_field(out, rel->restricted ? "restricted" : "standard",
		    true);
		buf_append_str(out, "\r\n");
	}
}

/* HL7. */

static void
demo_hl7_ts(int32_t ymd, unsigned minutes, char *dst, size_t size)
{
	str_fmt(dst, size, "%08d%02u%02u00", (int)ymd, minutes / 60 % 24,
	    minutes % 60);
}

void
demo_data_visit_hl7(const struct demo_data *d, size_t i, struct buf *out,
    size_t *n_r)
{
	const struct demo_visit *v = &d->visits[i];
	const struct demo_demo *dd = &v->d;
	struct acrs_person p;
	char hosp = (char)('A' + v->hospital);
	char admit[32], now[32], phone[32];
	const struct demo_provider *att = v->attending >= 0 ?
	    &d->provs[v->attending] : NULL;

	demo_data_visit_person(d, i, &p);
	demo_hl7_ts(d->o.today, (unsigned)(i * 7 % 1440), admit,
	    sizeof(admit));
	phone[0] = '\0';
	if (dd->phone[0] != '\0')
		str_fmt(phone, sizeof(phone), "(%.3s)%.3s-%s^PRN^PH",
		    dd->phone, dd->phone + 3, dd->phone + 6);
	for (unsigned k = 0; k < v->n_events; k++) {
		const char *ev = v->events[k];
		bool dis = strcmp(ev, "A03") == 0;

		demo_hl7_ts(d->o.today, (unsigned)(i * 7 % 1440) + 60 * k,
		    now, sizeof(now));
		buf_printf(out, "MSH|^~\\&|EHR|HOSP%c|DIRECTGATE|DG|%s||ADT^%s^"
		    "ADT_A01|DEMO%07zu%u|P|2.5.1|||AL|NE||UNICODE UTF-8\r",
		    hosp, now, ev, i + 1, k);
		buf_printf(out, "EVN|%s|%s\r", ev, now);
		buf_printf(out, "PID|1||%s^^^%s^MR||%s^%s^%s^%s||%s|%c|||",
		    p.ids[0].id, p.ids[0].authority, p.last, p.first, p.middle,
		    p.suffix, p.dob, dd->sex);
		if (p.address1[0] != '\0' || p.city[0] != '\0' ||
		    p.zip[0] != '\0')
			buf_printf(out, "%s^^%s^%s^%s", p.address1, p.city,
			    p.state, p.zip);
		buf_printf(out, "||%s\r", phone);
		buf_printf(out, "PV1|1|%c|%s^%u^1^HOSP%c||||", v->pclass,
		    v->pclass == 'E' ? "ED" : "MED", 100 + (unsigned)(i % 300),
		    hosp);
		if (att != NULL)
			buf_printf(out, "%s^%s^%s^^^^^^NPI", att->npi,
			    att->last, att->first);
		buf_printf(out, "|||%s|||||||||V%c%07zu|||||||||||||||||%s"
		    "||||||||%s|%s\r", v->sensitive ? "PSY" : "MED", hosp,
		    i + 1, dis ? "01" : "", admit, dis ? now : "");
		if (v->sensitive)
			buf_append_str(out, "DG1|1||F32.9^Major depressive "
			    "disorder, single episode^I10|||A\r");
		if (p.n_members > 0) {
			buf_printf(out, "IN1|1|PLAN1|%s|", p.members[0].payer);
			for (int f = 4; f < 36; f++)
				buf_putc(out, '|');
			buf_printf(out, "%s\r", p.members[0].member_id);
		}
		buf_putc(out, '\n');
	}
	if (n_r != NULL)
		*n_r = v->n_events;
}

/* Files. */

static int
demo_mkdir(const char *path, struct err *e)
{
	if (mkdir(path, 0755) == -1 && errno != EEXIST)
		return err_set(e, ERR_PERM, "%s: %s", path, strerror(errno));
	return 0;
}

static int
demo_put(const char *dir, const char *name, const struct buf *b,
    struct err *e)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	int rc = 0;

	if (f == NULL)
		rc = err_set(e, ERR_PERM, "%s: %s", path, strerror(errno));
	else if (fwrite(b->data, 1, b->len, f) != b->len) {
		rc = err_set(e, ERR_PERM, "%s: %s", path, strerror(errno));
		fclose(f);
	} else if (fclose(f) != 0)
		rc = err_set(e, ERR_PERM, "%s: %s", path, strerror(errno));
	free(path);
	return rc;
}

static void
demo_directory(const struct demo_data *d, const char *dir, struct buf *b,
    struct err *e, int *rc)
{
	buf_reset(b);
	buf_append_str(b, "npi,name,parent_npi,status\r\n");
	for (size_t g = 0; g < d->n_orgs; g++) {
		demo_csv_field(b, d->orgs[g].npi, false);
		demo_csv_field(b, d->orgs[g].name, true);
		buf_append_str(b, ",,active\r\n");
	}
	if (*rc == 0)
		*rc = demo_put(dir, "organizations.csv", b, e);
	buf_reset(b);
	buf_append_str(b, "npi,last_name,first_name,middle_name,suffix,"
	    "taxonomy,status\r\n");
	for (size_t i = 0; i < d->n_provs; i++) {
		static const char *const tax[ACRS_REL_COUNT] = {"207Q00000X",
		    "207RC0000X", "163W00000X", "", "314000000X",
		    "2084P0800X", ""};
		const struct demo_provider *p = &d->provs[i];

		demo_csv_field(b, p->npi, false);
		demo_csv_field(b, p->last, true);
		demo_csv_field(b, p->first, true);
		buf_printf(b, ",,,%s,active\r\n", tax[p->role]);
	}
	if (*rc == 0)
		*rc = demo_put(dir, "providers.csv", b, e);
	buf_reset(b);
	buf_append_str(b, "provider_npi,organization_npi,role,active\r\n");
	for (size_t i = 0; i < d->n_provs; i++)
		buf_printf(b, "%s,%s,%s,yes\r\n", d->provs[i].npi,
		    d->orgs[d->provs[i].org].npi,
		    acrs_file_rel_name(d->provs[i].role));
	if (*rc == 0)
		*rc = demo_put(dir, "memberships.csv", b, e);
	buf_reset(b);
	buf_append_str(b, "owner_npi,kind,address,rank,active,"
	    "payload_types\r\n");
	for (size_t i = 0; i < d->n_provs; i++) {
		const struct demo_provider *p = &d->provs[i];
		char local[96];
		int rank = 1;

		str_fmt(local, sizeof(local), "%s.%s%zu", p->first, p->last,
		    i + 1);
		str_lower(local);
		for (char *t = local; *t; t++)
			if (!((*t >= 'a' && *t <= 'z') || (*t >= '0' &&
			    *t <= '9') || *t == '.'))
				*t = '-';
		if (p->mllp)
			buf_printf(b, "%s,mllp,%s,%d,yes,\r\n", p->npi,
			    d->mllp, rank++);
		if (i % 5 != 4 || p->mllp)
			buf_printf(b, "%s,direct,%s@%s,%d,yes,\r\n", p->npi,
			    local, d->domain, rank);
		/* Every fifth provider has no endpoint of its own: the
		 * organization's is the fallback. */
	}
	for (size_t g = 0; g < d->n_orgs; g++)
		buf_printf(b, "%s,direct,adt@%s.%s,1,yes,\r\n",
		    d->orgs[g].npi, d->orgs[g].slug, d->domain);
	if (*rc == 0)
		*rc = demo_put(dir, "endpoints.csv", b, e);
	buf_reset(b);
	buf_append_str(b, "owner_npi,events,classes,format,timing\r\n");
	for (size_t i = 0; i < d->n_provs; i++) {
		const struct demo_provider *p = &d->provs[i];

		demo_csv_field(b, p->npi, false);
		demo_csv_field(b, p->role == ACRS_REL_SPECIALIST ? "A01,A03" :
		    "A01,A03,A04,A08,A11", true);
		buf_printf(b, ",*,%s,%s\r\n", p->mllp ? "hl7" : "hl7+text",
		    p->digest ? "07:00" : "realtime");
	}
	for (size_t g = 0; g < d->n_orgs; g++)
		buf_printf(b, "%s,*,*,hl7+text,realtime\r\n", d->orgs[g].npi);
	if (*rc == 0)
		*rc = demo_put(dir, "preferences.csv", b, e);
}

int
demo_data_write(const struct demo_data *d, const char *dir, struct err *e)
{
	struct buf b;
	char *sub = NULL;
	int rc = 0;
	size_t msgs = 0;

	buf_init(&b, BUF_UNLIMITED);
	if (demo_mkdir(dir, e) == -1)
		return -1;
	/* ACRS. */
	sub = xasprintf("%s/acrs", dir);
	rc = demo_mkdir(sub, e);
	for (size_t g = 0; g < d->n_orgs && rc == 0; g++) {
		char name[32];

		buf_reset(&b);
		demo_data_acrs_csv(d, g, &b);
		str_fmt(name, sizeof(name), "%s.csv", d->orgs[g].code);
		rc = demo_put(sub, name, &b, e);
	}
	if (rc == 0) {
		buf_reset(&b);
		buf_append_str(&b, "submitter,file,organization_npi,name\r\n");
		for (size_t g = 0; g < d->n_orgs; g++) {
			buf_printf(&b, "%s,%s.csv,%s,", d->orgs[g].code,
			    d->orgs[g].code, d->orgs[g].npi);
			demo_csv_field(&b, d->orgs[g].name, false);
			buf_append_str(&b, "\r\n");
		}
		rc = demo_put(sub, "submitters.csv", &b, e);
	}
	free(sub);
	/* Directory. */
	sub = xasprintf("%s/directory", dir);
	if (rc == 0)
		rc = demo_mkdir(sub, e);
	if (rc == 0)
		demo_directory(d, sub, &b, e, &rc);
	free(sub);
	/* ADT stream and labels. */
	sub = xasprintf("%s/adt", dir);
	if (rc == 0)
		rc = demo_mkdir(sub, e);
	if (rc == 0) {
		buf_reset(&b);
		for (size_t i = 0; i < d->n_visits; i++) {
			size_t n;

			demo_data_visit_hl7(d, i, &b, &n);
			msgs += n;
		}
		rc = demo_put(sub, "messages.hl7", &b, e);
	}
	free(sub);
	if (rc == 0) {
		buf_reset(&b);
		buf_append_str(&b, "control_id,visit,event,person,in_acrs,"
		    "errors,truth\r\n");
		for (size_t i = 0; i < d->n_visits; i++) {
			const struct demo_visit *v = &d->visits[i];
			const char *const *refs;
			size_t nr = demo_data_visit_truth(d, i, &refs);
			char errs[128];

			demo_data_error_names(v->errors, errs, sizeof(errs));
			for (unsigned k = 0; k < v->n_events; k++) {
				buf_printf(&b, "DEMO%07zu%u,%zu,%s,%u,%s,%s,",
				    i + 1, k, i + 1, v->events[k], v->person + 1,
				    nr > 0 ? "yes" : "no", errs);
				for (size_t j = 0; j < nr; j++) {
					const char *tab = strchr(refs[j], '\t');

					buf_printf(&b, "%s%.*s:%s", j ? ";" : "",
					    (int)(tab - refs[j]), refs[j],
					    tab + 1);
				}
				buf_append_str(&b, "\r\n");
			}
		}
		rc = demo_put(dir, "labels.csv", &b, e);
	}
	if (rc == 0) {
		buf_reset(&b);
		buf_printf(&b, "directgate demo data set (synthetic: every "
		    "name, address and number is made up)\n"
		    "seed %llu, %zu patients, %zu providers, %zu "
		    "organizations (%d payers), %zu relationships, %zu "
		    "visits, %zu ADT messages\n\n"
		    "acrs/<SUBMITTER>.csv  one ACRS file per submitter "
		    "(acrs/submitters.csv lists them):\n"
		    "    directgate acrs import acrs/ORG0001.csv "
		    "--submitter ORG0001\n"
		    "directory/*.csv       Health Directory tables "
		    "(Direct addresses at %s, MLLP at %s)\n"
		    "adt/messages.hl7      the ADT stream (segments end in "
		    "CR, one message per line):\n"
		    "    mllp_send --loose --file adt/messages.hl7 -p PORT "
		    "127.0.0.1\n"
		    "labels.csv            ground truth: the ACRS rows "
		    "(submitter:patient_id) of each message's patient and the "
		    "injected errors\n",
		    (unsigned long long)d->o.seed, d->n_persons, d->n_provs,
		    d->n_orgs, DEMO_PAYERS, d->n_rels, d->n_visits, msgs,
		    d->domain, d->mllp);
		rc = demo_put(dir, "README", &b, e);
	}
	buf_release(&b);
	return rc;
}
