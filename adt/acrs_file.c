#include "adt/acrs_file.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "core/xmalloc.h"

enum acrs_col {
	COL_PATIENT_ID,
	COL_PATIENT_ID_TYPE,
	COL_AUTHORITY,
	COL_LAST,
	COL_FIRST,
	COL_MIDDLE,
	COL_SUFFIX,
	COL_DOB,
	COL_SEX,
	COL_ADDRESS1,
	COL_ADDRESS2,
	COL_CITY,
	COL_STATE,
	COL_ZIP,
	COL_PHONE,
	COL_SSN4,
	COL_NPI,
	COL_PROVIDER_NAME,
	COL_RELATIONSHIP,
	COL_ORGANIZATION,
	COL_LAST_SEEN,
	COL_START,
	COL_END,
	COL_CONSENT,
	COL_COUNT,
};

static const struct {
	const char *name;
	bool required;
	size_t max; /* bytes of the raw value */
} acrs_file_cols[COL_COUNT] = {
	{"patient_id", true, ACRS_ID_MAX - 1},
	{"patient_id_type", true, 3},
	{"assigning_authority", false, ACRS_ID_MAX - 1},
	{"last_name", true, 100},
	{"first_name", true, 100},
	{"middle_name", false, 100},
	{"suffix", false, 20},
	{"dob", true, 10},
	{"sex", true, 10},
	{"address1", false, 200},
	{"address2", false, 200},
	{"city", false, 100},
	{"state", false, 2},
	{"zip", false, 10},
	{"phone", false, 30},
	{"ssn_last4", false, 4},
	{"provider_npi", true, 10},
	{"provider_name", false, ACRS_TEXT_MAX - 1},
	{"relationship", true, 20},
	{"organization", false, ACRS_TEXT_MAX - 1},
	{"last_seen", false, 10},
	{"start_date", false, 10},
	{"end_date", false, 10},
	{"consent", false, 10},
};

static const char *const acrs_file_rels[ACRS_REL_COUNT] = {"pcp",
    "specialist", "care_manager", "payer", "post_acute",
    "behavioral_health", "other"};

const char *
acrs_file_rel_name(int rel)
{
	return rel >= 0 && rel < ACRS_REL_COUNT ? acrs_file_rels[rel] : "?";
}

int
acrs_file_rel_parse(const char *s)
{
	for (int i = 0; i < ACRS_REL_COUNT; i++)
		if (str_span_caseeq(s, strlen(s), acrs_file_rels[i]))
			return i;
	return -1;
}

/* HL7 table 0203, the types an ACRS row may carry. */
static const char *const acrs_file_id_types[] = {"MR", "MB", "PI", "PT",
    "MA", "MC", "SS", NULL};

/* USPS state and territory codes (and the military ones). */
static const char acrs_file_states[] =
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI "
    "MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT "
    "VA WA WV WI WY AS GU MP PR VI UM FM MH PW AA AE AP ";

/* Open addressing sets keyed by nonzero 64-bit digests. */
struct acrs_pat {
	uint64_t key;    /* digest of patient_id; 0 empty */
	uint64_t digest; /* digest of the patient's details */
	uint64_t raw;    /* digest of its columns as written (first row) */
	uint64_t line;
	uint32_t ord;
};

struct acrs_file {
	struct acrs_file_opts o;
	struct acrs_csv *csv;
	int col[COL_COUNT]; /* index in the row, -1 when absent */
	size_t ncols;
	bool header_done, header_bad;
	struct acrs_rec rec;
	struct acrs_file_stats st;
	uint64_t *dups;
	size_t dups_cap, dups_n;
	struct acrs_pat *pats;
	size_t pats_cap, pats_n;
	bool row_bad;
	bool finished;
	/* The current row's patient columns as written, and the patient
	 * whose first row had the same (its checks and normalized values
	 * hold for this row too: not done again), or NULL. */
	uint64_t raw;
	struct acrs_pat *same;
	uint64_t key;      /* the current row's patient key */
};

struct acrs_file *
acrs_file_new(const struct acrs_file_opts *o)
{
	struct acrs_file *f = xcalloc(1, sizeof(*f));

	f->o = *o;
	f->csv = acrs_csv_new(o->limits);
	f->o.limits = NULL;
	return f;
}

void
acrs_file_free(struct acrs_file **fp)
{
	struct acrs_file *f = *fp;

	if (f == NULL)
		return;
	*fp = NULL;
	acrs_csv_free(&f->csv);
	free(f->dups);
	free(f->pats);
	free(f);
}

void
acrs_file_input(struct acrs_file *f, const void *p, size_t n)
{
	acrs_csv_input(f->csv, p, n);
}

void
acrs_file_finish(struct acrs_file *f)
{
	f->finished = true;
	acrs_csv_finish(f->csv);
}

void
acrs_file_stats(const struct acrs_file *f, struct acrs_file_stats *s_r)
{
	*s_r = f->st;
}

uint64_t
acrs_file_offset(const struct acrs_file *f)
{
	return acrs_csv_offset(f->csv);
}

static uint64_t
acrs_file_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h != 0 ? h : 1;
}

/* Adds key to the duplicate set; false when it was there. */
static bool
acrs_file_dup_add(struct acrs_file *f, uint64_t key)
{
	size_t i;

	if ((f->dups_n + 1) * 10 > f->dups_cap * 7) {
		size_t cap = f->dups_cap ? f->dups_cap * 2 : 4096;
		uint64_t *t = xcalloc(cap, sizeof(*t));

		for (size_t j = 0; j < f->dups_cap; j++) {
			if (f->dups[j] == 0)
				continue;
			for (i = f->dups[j] & (cap - 1); t[i] != 0;
			    i = (i + 1) & (cap - 1))
				;
			t[i] = f->dups[j];
		}
		free(f->dups);
		f->dups = t;
		f->dups_cap = cap;
	}
	for (i = key & (f->dups_cap - 1); f->dups[i] != 0;
	    i = (i + 1) & (f->dups_cap - 1))
		if (f->dups[i] == key)
			return false;
	f->dups[i] = key;
	f->dups_n++;
	return true;
}

/* Finds or adds the patient; returns its entry. */
static struct acrs_pat *
acrs_file_pat(struct acrs_file *f, uint64_t key, bool *added_r)
{
	size_t i;

	if ((f->pats_n + 1) * 10 > f->pats_cap * 7) {
		size_t cap = f->pats_cap ? f->pats_cap * 2 : 4096;
		struct acrs_pat *t = xcalloc(cap, sizeof(*t));

		for (size_t j = 0; j < f->pats_cap; j++) {
			if (f->pats[j].key == 0)
				continue;
			for (i = f->pats[j].key & (cap - 1); t[i].key != 0;
			    i = (i + 1) & (cap - 1))
				;
			t[i] = f->pats[j];
		}
		free(f->pats);
		f->pats = t;
		f->pats_cap = cap;
	}
	for (i = key & (f->pats_cap - 1); f->pats[i].key != 0;
	    i = (i + 1) & (f->pats_cap - 1))
		if (f->pats[i].key == key) {
			*added_r = false;
			return &f->pats[i];
		}
	f->pats[i].key = key;
	f->pats_n++;
	*added_r = true;
	return &f->pats[i];
}

static struct acrs_pat *
acrs_file_pat_find(const struct acrs_file *f, uint64_t key)
{
	if (f->pats_cap == 0)
		return NULL;
	for (size_t i = key & (f->pats_cap - 1); f->pats[i].key != 0;
	    i = (i + 1) & (f->pats_cap - 1))
		if (f->pats[i].key == key)
			return &f->pats[i];
	return NULL;
}

static uint64_t
acrs_file_patient_key(const char *patient_id)
{
	return acrs_file_mix(acrs_norm_fnv(ACRS_FNV_INIT, patient_id,
	    strlen(patient_id)));
}

/* A digest of the row's patient columns (patient_id_type through
 * ssn_last4) as written, lengths included: eight bytes at a time (this
 * runs on every row). */
static uint64_t
acrs_file_raw(const struct acrs_file *f)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL;

	for (int c = COL_PATIENT_ID_TYPE; c <= COL_SSN4; c++) {
		const char *v = "";
		size_t n = 0, i;
		uint64_t w;

		if (f->col[c] != -1)
			v = acrs_csv_field(f->csv, (size_t)f->col[c], &n);
		h = (h ^ n) * 0xff51afd7ed558ccdULL;
		for (i = 0; i + 8 <= n; i += 8) {
			memcpy(&w, v + i, 8);
			h = ((h ^ w) * 0xc4ceb9fe1a85ec53ULL);
			h ^= h >> 29;
		}
		w = 0;
		memcpy(&w, v + i, n - i);
		h = ((h ^ w) * 0xc4ceb9fe1a85ec53ULL);
		h ^= h >> 32;
	}
	return h;
}

static void
acrs_file_issue(struct acrs_file *f, uint64_t row, const char *column,
    const char *code, const char *msg)
{
	struct acrs_issue is = {row, column, code, msg};

	f->st.issues++;
	f->row_bad = true;
	if (f->o.issue != NULL)
		f->o.issue(f->o.arg, &is);
}

static int
acrs_file_header(struct acrs_file *f, struct err *e)
{
	size_t n = acrs_csv_nfields(f->csv);
	uint64_t row = acrs_csv_row(f->csv);
	char msg[128];

	for (int i = 0; i < COL_COUNT; i++)
		f->col[i] = -1;
	f->ncols = n;
	for (size_t i = 0; i < n; i++) {
		size_t len;
		const char *name = acrs_csv_field(f->csv, i, &len);
		char trimmed[64];
		int c;

		while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t'))
			len--;
		while (len > 0 && (*name == ' ' || *name == '\t')) {
			name++;
			len--;
		}
		for (c = 0; c < COL_COUNT; c++)
			if (str_span_caseeq(name, len, acrs_file_cols[c].name))
				break;
		if (c == COL_COUNT) {
			str_fmt(trimmed, sizeof(trimmed), "%.*s",
			    (int)(len < 40 ? len : 40), name);
			for (char *t = trimmed; *t; t++)
				if ((unsigned char)*t < 0x20 || *t == 0x7f)
					*t = '?';
			str_fmt(msg, sizeof(msg), "column %zu: unknown column",
			    i + 1);
			acrs_file_issue(f, row, trimmed, "unknown_column", msg);
			f->header_bad = true;
			continue;
		}
		if (f->col[c] != -1) {
			str_fmt(msg, sizeof(msg), "column %zu repeats column "
			    "%d", i + 1, f->col[c] + 1);
			acrs_file_issue(f, row, acrs_file_cols[c].name,
			    "duplicate_column", msg);
			f->header_bad = true;
			continue;
		}
		f->col[c] = (int)i;
	}
	for (int c = 0; c < COL_COUNT; c++)
		if (acrs_file_cols[c].required && f->col[c] == -1) {
			acrs_file_issue(f, row, acrs_file_cols[c].name,
			    "missing_column", "a required column is missing");
			f->header_bad = true;
		}
	f->header_done = true;
	if (f->header_bad)
		return err_set(e, ERR_PERM, "bad header (line %llu)",
		    (unsigned long long)row);
	return 0;
}

/* The value of a column, trimmed, as a NUL-terminated copy in buf; NULL
 * when the value is unusable (reported). An absent column reads "". */
static const char *
acrs_file_get(struct acrs_file *f, int c, char *buf, size_t size)
{
	size_t n;
	const char *s;
	bool ascii = true;

	buf[0] = '\0';
	if (f->col[c] == -1)
		return buf;
	s = acrs_csv_field(f->csv, (size_t)f->col[c], &n);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	if (n > acrs_file_cols[c].max || n >= size) {
		acrs_file_issue(f, f->rec.row, acrs_file_cols[c].name,
		    "too_long", "value too long");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f) {
			acrs_file_issue(f, f->rec.row, acrs_file_cols[c].name,
			    "encoding", "control character in value");
			return NULL;
		}
		ascii &= ch < 0x80;
	}
	if (!ascii && !str_utf8_valid(s, n)) {
		acrs_file_issue(f, f->rec.row, acrs_file_cols[c].name,
		    "encoding", "not valid UTF-8");
		return NULL;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (n == 0 && acrs_file_cols[c].required) {
		acrs_file_issue(f, f->rec.row, acrs_file_cols[c].name,
		    "required", "value required");
		return NULL;
	}
	return buf;
}

static int32_t
acrs_file_date(struct acrs_file *f, int c, char *buf, size_t size)
{
	const char *v = acrs_file_get(f, c, buf, size);
	int32_t d;

	if (v == NULL || v[0] == '\0')
		return 0;
	if (acrs_norm_date(v, strlen(v), &d) == -1) {
		acrs_file_issue(f, f->rec.row, acrs_file_cols[c].name,
		    "date_format", "not a date in YYYY-MM-DD form");
		return 0;
	}
	return d;
}

static bool
acrs_file_digits(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static void acrs_file_row_patient(struct acrs_file *f, struct acrs_rec *r);
static void acrs_file_row_rel(struct acrs_file *f, struct acrs_rec *r);

/* Checks and normalizes the current row into f->rec. A later row of a
 * patient whose patient columns are written exactly as in its first row
 * skips them (they were checked and normalized then; the store needs
 * them once per patient). */
static void
acrs_file_row(struct acrs_file *f)
{
	struct acrs_rec *r = &f->rec;
	char b[256];
	const char *v;
	size_t n = acrs_csv_nfields(f->csv);

	memset(r, 0, offsetof(struct acrs_rec, patient_ord));
	r->row = acrs_csv_row(f->csv);
	f->row_bad = false;
	f->same = NULL;
	if (n != f->ncols) {
		str_fmt(b, sizeof(b), "%zu fields, the header has %zu", n,
		    f->ncols);
		acrs_file_issue(f, r->row, "", "field_count", b);
		return;
	}
	if ((v = acrs_file_get(f, COL_PATIENT_ID, b, sizeof(b))) != NULL)
		str_lcpy(r->patient_id, v, sizeof(r->patient_id));
	f->raw = acrs_file_raw(f);
	f->key = acrs_file_patient_key(r->patient_id);
	if (v != NULL && v[0] != '\0') {
		struct acrs_pat *p = acrs_file_pat_find(f, f->key);

		if (p != NULL && p->raw == f->raw)
			f->same = p;
	}
	if (f->same == NULL)
		acrs_file_row_patient(f, r);
	acrs_file_row_rel(f, r);
}

/* The patient columns of the current row (patient_id_type through
 * ssn_last4). */
static void
acrs_file_row_patient(struct acrs_file *f, struct acrs_rec *r)
{
	char b[256];
	const char *v;

	if ((v = acrs_file_get(f, COL_PATIENT_ID_TYPE, b, sizeof(b))) !=
	    NULL) {
		str_lcpy(r->id_type, v, sizeof(r->id_type));
		for (char *t = r->id_type; *t; t++)
			if (*t >= 'a' && *t <= 'z')
				*t -= 'a' - 'A';
		bool ok = false;
		for (size_t i = 0; acrs_file_id_types[i] != NULL; i++)
			if (strcmp(r->id_type, acrs_file_id_types[i]) == 0)
				ok = true;
		if (!ok)
			acrs_file_issue(f, r->row, "patient_id_type",
			    "patient_id_type", "not one of MR, MB, PI, PT, "
			    "MA, MC, SS");
	}
	if ((v = acrs_file_get(f, COL_AUTHORITY, b, sizeof(b))) != NULL) {
		str_lcpy(r->authority, v, sizeof(r->authority));
		for (char *t = r->authority; *t; t++)
			if (*t >= 'a' && *t <= 'z')
				*t -= 'a' - 'A';
	}
	if ((v = acrs_file_get(f, COL_LAST, b, sizeof(b))) != NULL) {
		acrs_norm_last(v, r->last, r->suffix);
		if (r->last[0] == '\0')
			acrs_file_issue(f, r->row, "last_name", "name",
			    "no letters in the name");
	}
	if ((v = acrs_file_get(f, COL_MIDDLE, b, sizeof(b))) != NULL)
		acrs_norm_words(v, r->middle, sizeof(r->middle));
	if ((v = acrs_file_get(f, COL_FIRST, b, sizeof(b))) != NULL) {
		acrs_norm_first(v, r->first, r->middle);
		if (r->first[0] == '\0')
			acrs_file_issue(f, r->row, "first_name", "name",
			    "no letters in the name");
	}
	if ((v = acrs_file_get(f, COL_SUFFIX, b, sizeof(b))) != NULL &&
	    v[0] != '\0')
		acrs_norm_words(v, r->suffix, sizeof(r->suffix));
	r->dob = acrs_file_date(f, COL_DOB, b, sizeof(b));
	if (r->dob != 0) {
		if (r->dob > f->o.today)
			acrs_file_issue(f, r->row, "dob", "dob_future",
			    "date of birth in the future");
		else if (r->dob < f->o.today - 1200000)
			acrs_file_issue(f, r->row, "dob", "dob_too_old",
			    "age over 120 years");
	}
	if ((v = acrs_file_get(f, COL_SEX, b, sizeof(b))) != NULL &&
	    (r->sex = acrs_norm_sex(v)) == 0)
		acrs_file_issue(f, r->row, "sex", "sex",
		    "not one of M, F, O, U (or male, female, other, unknown)");
	if ((v = acrs_file_get(f, COL_ADDRESS1, b, sizeof(b))) != NULL)
		acrs_norm_street(v, r->street, sizeof(r->street));
	(void)acrs_file_get(f, COL_ADDRESS2, b, sizeof(b));
	if ((v = acrs_file_get(f, COL_CITY, b, sizeof(b))) != NULL)
		acrs_norm_words(v, r->city, sizeof(r->city));
	if ((v = acrs_file_get(f, COL_STATE, b, sizeof(b))) != NULL &&
	    v[0] != '\0') {
		char st[4];

		str_fmt(st, sizeof(st), "%c%c ", v[0] & ~0x20,
		    v[1] != '\0' ? v[1] & ~0x20 : ' ');
		if (strlen(v) != 2 || strstr(acrs_file_states, st) == NULL)
			acrs_file_issue(f, r->row, "state", "state",
			    "not a USPS state code");
		else
			str_lcpy(r->state, st, 3);
	}
	if ((v = acrs_file_get(f, COL_ZIP, b, sizeof(b))) != NULL &&
	    acrs_norm_zip(v, r->zip5) == -1)
		acrs_file_issue(f, r->row, "zip", "zip",
		    "not a 5-digit ZIP or ZIP+4");
	if ((v = acrs_file_get(f, COL_PHONE, b, sizeof(b))) != NULL &&
	    acrs_norm_phone(v, r->phone) == -1)
		acrs_file_issue(f, r->row, "phone", "phone",
		    "not a 10-digit US phone number");
	if ((v = acrs_file_get(f, COL_SSN4, b, sizeof(b))) != NULL &&
	    v[0] != '\0') {
		if (!acrs_file_digits(v, 4))
			acrs_file_issue(f, r->row, "ssn_last4", "ssn_last4",
			    "not 4 digits");
		else
			str_lcpy(r->ssn4, v, sizeof(r->ssn4));
	}
}

/* The relationship columns of the current row (provider_npi on). */
static void
acrs_file_row_rel(struct acrs_file *f, struct acrs_rec *r)
{
	char b[256];
	const char *v;

	if ((v = acrs_file_get(f, COL_NPI, b, sizeof(b))) != NULL) {
		if (!acrs_file_digits(v, 10))
			acrs_file_issue(f, r->row, "provider_npi",
			    "npi_format", "not 10 digits");
		else if (!acrs_norm_npi_ok(v, 10))
			acrs_file_issue(f, r->row, "provider_npi",
			    "npi_checksum", "check digit wrong (Luhn with "
			    "prefix 80840)");
		else
			str_lcpy(r->npi, v, sizeof(r->npi));
	}
	if ((v = acrs_file_get(f, COL_PROVIDER_NAME, b, sizeof(b))) != NULL)
		str_lcpy(r->provider_name, v, sizeof(r->provider_name));
	r->rel = -1;
	if ((v = acrs_file_get(f, COL_RELATIONSHIP, b, sizeof(b))) != NULL &&
	    (r->rel = acrs_file_rel_parse(v)) == -1)
		acrs_file_issue(f, r->row, "relationship", "relationship",
		    "not one of pcp, specialist, care_manager, payer, "
		    "post_acute, behavioral_health, other");
	if ((v = acrs_file_get(f, COL_ORGANIZATION, b, sizeof(b))) != NULL)
		str_lcpy(r->organization, v, sizeof(r->organization));
	r->last_seen = acrs_file_date(f, COL_LAST_SEEN, b, sizeof(b));
	if (r->last_seen > f->o.today)
		acrs_file_issue(f, r->row, "last_seen", "date_future",
		    "last_seen in the future");
	r->start_date = acrs_file_date(f, COL_START, b, sizeof(b));
	r->end_date = acrs_file_date(f, COL_END, b, sizeof(b));
	if (r->start_date != 0 && r->end_date != 0 &&
	    r->end_date < r->start_date)
		acrs_file_issue(f, r->row, "end_date", "end_before_start",
		    "end_date before start_date");
	if (r->rel != ACRS_REL_PAYER && r->rel != -1 && r->last_seen == 0 &&
	    r->start_date == 0 && !f->row_bad)
		acrs_file_issue(f, r->row, "last_seen", "required",
		    "a provider row needs last_seen (or start_date)");
	if ((v = acrs_file_get(f, COL_CONSENT, b, sizeof(b))) != NULL) {
		if (v[0] == '\0' || str_span_caseeq(v, strlen(v), "standard"))
			r->restricted = false;
		else if (str_span_caseeq(v, strlen(v), "restricted"))
			r->restricted = true;
		else
			acrs_file_issue(f, r->row, "consent", "consent",
			    "not standard or restricted");
	}
}

/* Duplicates and patient consistency, for a row that passed the checks. */
static void
acrs_file_cross(struct acrs_file *f)
{
	struct acrs_rec *r = &f->rec;
	uint64_t k, d;
	struct acrs_pat *p;
	bool added;
	char msg[96];

	k = acrs_norm_fnv(ACRS_FNV_INIT, r->patient_id,
	    strlen(r->patient_id) + 1);
	k = acrs_norm_fnv(k, r->npi, strlen(r->npi) + 1);
	k = acrs_norm_fnv(k, &r->rel, sizeof(r->rel));
	if (!acrs_file_dup_add(f, acrs_file_mix(k))) {
		acrs_file_issue(f, r->row, "", "duplicate",
		    "patient_id, provider_npi and relationship repeat an "
		    "earlier row");
		return;
	}
	if (f->same != NULL) {
		r->patient_ord = f->same->ord;
		r->patient_new = false;
		return;
	}
	k = f->key;
	d = acrs_norm_fnv(ACRS_FNV_INIT, r->id_type, sizeof(r->id_type));
	d = acrs_norm_fnv(d, r->authority, strlen(r->authority) + 1);
	d = acrs_norm_fnv(d, r->last, strlen(r->last) + 1);
	d = acrs_norm_fnv(d, r->first, strlen(r->first) + 1);
	d = acrs_norm_fnv(d, &r->dob, sizeof(r->dob));
	d = acrs_norm_fnv(d, &r->sex, 1);
	p = acrs_file_pat(f, k, &added);
	if (added) {
		p->digest = d;
		p->raw = f->raw;
		p->line = r->row;
		p->ord = (uint32_t)f->st.patients++;
		r->patient_ord = p->ord;
		r->patient_new = true;
		return;
	}
	if (p->digest != d) {
		str_fmt(msg, sizeof(msg), "name, birth date, sex or "
		    "identifier type differ from line %llu",
		    (unsigned long long)p->line);
		acrs_file_issue(f, r->row, "patient_id", "patient_conflict",
		    msg);
		return;
	}
	r->patient_ord = p->ord;
	r->patient_new = false;
}

int
acrs_file_next(struct acrs_file *f, const struct acrs_rec **rec_r,
    struct err *e)
{
	struct err ce;
	int rc;

	*rec_r = NULL;
	if (f->header_bad)
		return err_set(e, ERR_PERM, "bad header");
	for (;;) {
		rc = acrs_csv_next(f->csv, &ce);
		if (rc == 0) {
			if (!f->header_done && f->finished) {
				acrs_file_issue(f, 1, "", "missing_header",
				    "the file is empty (no header row)");
				f->header_bad = true;
				return err_set(e, ERR_PERM, "empty file");
			}
			return 0;
		}
		if (rc == -1) {
			if (!f->header_done) {
				acrs_file_issue(f, acrs_csv_row(f->csv), "",
				    "csv_syntax", ce.msg);
				f->header_bad = true;
				return err_set(e, ERR_PERM, "bad header: %s",
				    ce.msg);
			}
			f->st.rows++;
			f->st.bad++;
			acrs_file_issue(f, acrs_csv_row(f->csv), "",
			    "csv_syntax", ce.msg);
			continue;
		}
		if (!f->header_done) {
			if (acrs_file_header(f, e) == -1)
				return -1;
			continue;
		}
		f->st.rows++;
		acrs_file_row(f);
		if (!f->row_bad)
			acrs_file_cross(f);
		if (f->row_bad) {
			f->st.bad++;
			continue;
		}
		f->st.good++;
		*rec_r = &f->rec;
		return 1;
	}
}
