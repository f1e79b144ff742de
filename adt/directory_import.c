#include "adt/directory_import.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adt/acrs_csv.h"
#include "core/log.h"
#include "core/store.h"
#include "core/str.h"
#include "core/xmalloc.h"

#define DIRECTORY_CSV_FIELDS_MAX 64 /* acrs_csv's default */

/* CSV. */

int
directory_import_csv(struct directory_rows *rows, enum directory_table t,
    const void *data, size_t n, const char *origin,
    struct directory_report *rep)
{
	struct acrs_csv *csv = acrs_csv_new(NULL);
	const char *const *cols = directory_rows_columns(t);
	int map[DIRECTORY_CSV_FIELDS_MAX];
	size_t nhdr = 0;
	bool have_header = false;
	struct err e;
	int rc = 0, r;

	err_clear(&e);
	acrs_csv_input(csv, data, n);
	acrs_csv_finish(csv);
	while ((r = acrs_csv_next(csv, &e)) != 0) {
		unsigned long recno = (unsigned long)acrs_csv_row(csv);
		size_t nf, flen;

		if (r < 0) {
			/* A broken header is a broken file; a broken row is
			 * skipped (the reader resumes on the next line). */
			directory_report_add(rep, !have_header, origin, recno,
			    NULL, "csv_syntax", "%s", e.msg);
			if (!have_header) {
				rc = -1;
				goto out;
			}
			rep->rows[t]++;
			rep->skipped[t]++;
			continue;
		}
		nf = acrs_csv_nfields(csv);
		if (!have_header) {
			bool seen[DIRECTORY_ROWS_COLS_MAX] = {false};

			have_header = true;
			nhdr = nf;
			if (nf > DIRECTORY_CSV_FIELDS_MAX)
				nf = DIRECTORY_CSV_FIELDS_MAX;
			for (size_t i = 0; i < nf; i++) {
				char name[64], safe[64];
				const char *h = acrs_csv_field(csv, i, &flen);
				int c;

				const char *nm;

				str_lcpy(name, h, sizeof(name));
				nm = str_trim(name);
				c = directory_rows_column_index(t, nm);
				if (c < 0 || flen >= sizeof(name)) {
					directory_report_add(rep, true,
					    origin, recno, NULL,
					    "unknown_column",
					    "unknown column '%s' for table "
					    "%s", log_safe(safe, sizeof(safe),
					    nm), directory_table_name(t));
					rc = -1;
					continue;
				}
				if (seen[c]) {
					directory_report_add(rep, true,
					    origin, recno, cols[c],
					    "duplicate_column",
					    "column %s appears twice",
					    cols[c]);
					rc = -1;
					continue;
				}
				seen[c] = true;
				map[i] = c;
			}
			for (size_t c = 0; cols[c] != NULL; c++) {
				if (!seen[c] &&
				    directory_rows_column_required(t, c)) {
					directory_report_add(rep, true,
					    origin, recno, cols[c],
					    "missing_column",
					    "required column %s is missing",
					    cols[c]);
					rc = -1;
				}
			}
			if (rc != 0)
				goto out;
			continue;
		}
		if (nf != nhdr) {
			rep->rows[t]++;
			rep->skipped[t]++;
			directory_report_add(rep, false, origin, recno, NULL,
			    "field_count", "%zu fields where the header has "
			    "%zu", nf, nhdr);
			continue;
		}
		size_t ri = directory_rows_add(rows, t, origin, recno, NULL);

		for (size_t i = 0; i < nf; i++) {
			const char *v = acrs_csv_field(csv, i, &flen);

			directory_rows_set_col(rows, ri, (size_t)map[i], v,
			    flen);
		}
	}
	if (!have_header) {
		directory_report_add(rep, true, origin, 0, NULL, "empty",
		    "no header row");
		rc = -1;
	}
out:
	acrs_csv_free(&csv);
	return rc;
}

/* Validation and writing. */

/* The keys an import has seen (duplicates, owners already replaced): an
 * open-addressing hash set of strings, grown at half load. */
struct imp_set {
	char **slots;
	size_t cap;   /* a power of two, or 0 */
	size_t n;
};

static uint64_t
imp_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static void
imp_set_put(char **slots, size_t cap, char *key)
{
	size_t i = (size_t)imp_hash(key) & (cap - 1);

	while (slots[i] != NULL)
		i = (i + 1) & (cap - 1);
	slots[i] = key;
}

/* Adds key; returns true when it was there already. */
static bool
imp_set_add(struct imp_set *set, const char *key)
{
	size_t i;

	if (set->cap > 0) {
		i = (size_t)imp_hash(key) & (set->cap - 1);
		for (; set->slots[i] != NULL; i = (i + 1) & (set->cap - 1))
			if (strcmp(set->slots[i], key) == 0)
				return true;
	}
	if ((set->n + 1) * 2 > set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 1024;
		char **slots = xcalloc(cap, sizeof(*slots));

		for (i = 0; i < set->cap; i++)
			if (set->slots[i] != NULL)
				imp_set_put(slots, cap, set->slots[i]);
		free(set->slots);
		set->slots = slots;
		set->cap = cap;
	}
	imp_set_put(set->slots, set->cap, xstrdup(key));
	set->n++;
	return false;
}

static void
imp_set_release(struct imp_set *set)
{
	for (size_t i = 0; i < set->cap; i++)
		free(set->slots[i]);
	free(set->slots);
	memset(set, 0, sizeof(*set));
}

struct imp {
	struct store *s;
	struct directory_rows *rows;
	struct directory_report *rep;
	size_t ri;		/* the row being applied */
	enum directory_table t;
	bool row_bad;
	struct imp_set seen;
};

static void imp_problem(struct imp *im, int col, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
imp_problem(struct imp *im, int col, const char *code, const char *fmt, ...)
{
	const char *label = directory_rows_label(im->rows, im->ri);
	char prefix[128] = "";
	va_list ap;

	if (label != NULL)
		str_fmt(prefix, sizeof(prefix), "%s: ", label);
	va_start(ap, fmt);
	directory_report_vadd(im->rep, false,
	    directory_rows_origin(im->rows, im->ri),
	    directory_rows_rowno(im->rows, im->ri),
	    col >= 0 ? directory_rows_columns(im->t)[col] : NULL,
	    code, prefix, fmt, ap);
	va_end(ap);
	im->row_bad = true;
}

/* Text without control characters, in well-formed UTF-8. */
static bool
imp_utf8_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return str_utf8_valid(s, n);
}

/* Column col of the current row as trimmed text into dst (size bytes):
 * "" when absent. Reports required-but-empty, too long, control
 * characters or bad UTF-8; returns -1 then. */
static int
imp_text(struct imp *im, int col, char *dst, size_t size)
{
	const char *v = directory_rows_value(im->rows, im->ri, (size_t)col);
	size_t n;

	dst[0] = '\0';
	if (v == NULL)
		v = "";
	while (*v == ' ' || *v == '\t')
		v++;
	n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n == 0) {
		if (directory_rows_column_required(im->t, (size_t)col)) {
			imp_problem(im, col, "required", "a value is required");
			return -1;
		}
		return 0;
	}
	if (n >= size) {
		imp_problem(im, col, "too_long", "longer than %zu bytes",
		    size - 1);
		return -1;
	}
	if (!imp_utf8_ok(v, n)) {
		imp_problem(im, col, "bad_text",
		    "control characters or invalid UTF-8");
		return -1;
	}
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

static int
imp_npi(struct imp *im, int col, char *dst)
{
	char v[64];

	if (imp_text(im, col, v, sizeof(v)) != 0)
		return -1;
	if (v[0] == '\0') {
		dst[0] = '\0';
		return 0;
	}
	if (!directory_npi_valid(v)) {
		bool digits = strlen(v) == DIRECTORY_NPI_LEN;

		for (size_t i = 0; digits && v[i] != '\0'; i++)
			digits = isdigit((unsigned char)v[i]) != 0;
		imp_problem(im, col, "bad_npi", "%s", digits ?
		    "the NPI fails its Luhn check digit" :
		    "an NPI is 10 digits");
		return -1;
	}
	str_lcpy(dst, v, DIRECTORY_NPI_LEN + 1);
	return 0;
}

/* status (active|inactive) or a yes/no flag; default true. */
static int
imp_flag(struct imp *im, int col, bool status, bool *v_r)
{
	char v[32];

	*v_r = true;
	if (imp_text(im, col, v, sizeof(v)) != 0)
		return -1;
	if (v[0] == '\0')
		return 0;
	if (status) {
		if (strcasecmp(v, "active") == 0)
			return 0;
		if (strcasecmp(v, "inactive") == 0) {
			*v_r = false;
			return 0;
		}
		imp_problem(im, col, "bad_value",
		    "status is active or inactive");
		return -1;
	}
	if (str_to_bool(v, v_r) != 0) {
		imp_problem(im, col, "bad_value", "a flag is yes or no");
		return -1;
	}
	return 0;
}

/* Marks key as seen in this import: *dup_r tells it was already. */
static int
imp_seen(struct imp *im, const char *key, bool *dup_r, struct err *e)
{
	*dup_r = imp_set_add(&im->seen, key);
	return 0;
}

/* Whether npi is in table (dir_provider or dir_organization). */
static int
imp_exists(struct imp *im, const char *table, const char *npi, bool *r,
    struct err *e)
{
	int64_t v;
	char sql[96];
	int rc;

	str_fmt(sql, sizeof(sql), "SELECT 1 FROM %s WHERE npi = ?", table);
	rc = store_query_int(im->s, &v, e, sql, "s", npi);
	if (rc < 0)
		return -1;
	*r = rc == 1;
	return 0;
}

static int
imp_duplicate(struct imp *im, const char *key, int col, const char *what,
    bool *dup_r, struct err *e)
{
	if (imp_seen(im, key, dup_r, e) != 0)
		return -1;
	if (*dup_r)
		imp_problem(im, col, "duplicate", "%s appears twice in this "
		    "import", what);
	return 0;
}

static int
imp_organization(struct imp *im, struct err *e)
{
	struct directory_organization o;
	char key[32];
	bool dup, other;

	memset(&o, 0, sizeof(o));
	imp_npi(im, 0, o.npi);
	imp_text(im, 1, o.name, sizeof(o.name));
	imp_npi(im, 2, o.parent_npi);
	imp_flag(im, 3, true, &o.active);
	if (im->row_bad)
		return 0;
	if (strcmp(o.npi, o.parent_npi) == 0) {
		imp_problem(im, 2, "bad_reference",
		    "an organization cannot be its own parent");
		return 0;
	}
	str_fmt(key, sizeof(key), "o:%s", o.npi);
	if (imp_duplicate(im, key, 0, "this NPI", &dup, e) != 0)
		return -1;
	if (dup)
		return 0;
	if (imp_exists(im, "dir_provider", o.npi, &other, e) != 0)
		return -1;
	if (other) {
		imp_problem(im, 0, "npi_conflict",
		    "NPI %s is already a provider (type 1)", o.npi);
		return 0;
	}
	return store_run(im->s, e, "INSERT INTO dir_organization "
	    "(npi, name, parent_npi, active) VALUES (?, ?, ?, ?) "
	    "ON CONFLICT (npi) DO UPDATE SET name = excluded.name, "
	    "parent_npi = excluded.parent_npi, active = excluded.active, "
	    "updated = strftime('%s','now')", "sssi", o.npi, o.name,
	    o.parent_npi[0] != '\0' ? o.parent_npi : NULL, (int)o.active);
}

static int
imp_provider(struct imp *im, struct err *e)
{
	struct directory_provider p;
	char key[32];
	bool dup, other;

	memset(&p, 0, sizeof(p));
	imp_npi(im, 0, p.npi);
	imp_text(im, 1, p.last_name, sizeof(p.last_name));
	imp_text(im, 2, p.first_name, sizeof(p.first_name));
	imp_text(im, 3, p.middle_name, sizeof(p.middle_name));
	imp_text(im, 4, p.suffix, sizeof(p.suffix));
	if (imp_text(im, 5, p.taxonomy, sizeof(p.taxonomy)) == 0 &&
	    p.taxonomy[0] != '\0') {
		bool ok = strlen(p.taxonomy) == 10;

		str_lower(p.taxonomy);
		for (int i = 0; ok && i < 10; i++) {
			p.taxonomy[i] = (char)toupper(
			    (unsigned char)p.taxonomy[i]);
			ok = isalnum((unsigned char)p.taxonomy[i]) != 0;
		}
		if (!ok || p.taxonomy[9] != 'X')
			imp_problem(im, 5, "bad_value",
			    "a NUCC taxonomy code is 10 characters ending "
			    "in X");
	}
	imp_flag(im, 6, true, &p.active);
	if (im->row_bad)
		return 0;
	str_fmt(key, sizeof(key), "p:%s", p.npi);
	if (imp_duplicate(im, key, 0, "this NPI", &dup, e) != 0)
		return -1;
	if (dup)
		return 0;
	if (imp_exists(im, "dir_organization", p.npi, &other, e) != 0)
		return -1;
	if (other) {
		imp_problem(im, 0, "npi_conflict",
		    "NPI %s is already an organization (type 2)", p.npi);
		return 0;
	}
	return store_run(im->s, e, "INSERT INTO dir_provider (npi, "
	    "last_name, first_name, middle_name, suffix, taxonomy, active) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (npi) DO UPDATE SET "
	    "last_name = excluded.last_name, first_name = "
	    "excluded.first_name, middle_name = excluded.middle_name, "
	    "suffix = excluded.suffix, taxonomy = excluded.taxonomy, "
	    "active = excluded.active, updated = strftime('%s','now')",
	    "ssssssi", p.npi, p.last_name, p.first_name, p.middle_name,
	    p.suffix, p.taxonomy, (int)p.active);
}

/* The first valid row of an owner in table t clears the owner's rows
 * there (the import is authoritative for whom it names). */
static int
imp_replace_owner(struct imp *im, enum directory_table t, const char *owner,
    struct err *e)
{
	static const char *const del[DIRECTORY_TABLE_COUNT] = {
		[DIRECTORY_MEMBERSHIPS] =
		    "DELETE FROM dir_membership WHERE provider_npi = ?",
		[DIRECTORY_ENDPOINTS] =
		    "DELETE FROM dir_endpoint WHERE owner_npi = ?",
		[DIRECTORY_PREFERENCES] =
		    "DELETE FROM dir_preference WHERE owner_npi = ?",
	};
	char key[40];
	bool dup;

	str_fmt(key, sizeof(key), "r%d:%s", (int)t, owner);
	if (imp_seen(im, key, &dup, e) != 0)
		return -1;
	if (dup)
		return 0;
	return store_run(im->s, e, del[t], "s", owner);
}

/* The owner must be a provider or an organization. */
static int
imp_owner_known(struct imp *im, int col, const char *npi, bool *ok_r,
    struct err *e)
{
	bool p, o;

	if (imp_exists(im, "dir_provider", npi, &p, e) != 0 ||
	    imp_exists(im, "dir_organization", npi, &o, e) != 0)
		return -1;
	*ok_r = p || o;
	if (!*ok_r)
		imp_problem(im, col, "unknown_reference",
		    "NPI %s is neither a provider nor an organization in "
		    "the directory", npi);
	return 0;
}

static int
imp_membership(struct imp *im, struct err *e)
{
	struct directory_membership m;
	char key[128];
	bool dup, ok;

	memset(&m, 0, sizeof(m));
	imp_npi(im, 0, m.provider_npi);
	imp_npi(im, 1, m.org_npi);
	imp_text(im, 2, m.role, sizeof(m.role));
	imp_flag(im, 3, false, &m.active);
	if (im->row_bad)
		return 0;
	if (imp_exists(im, "dir_provider", m.provider_npi, &ok, e) != 0)
		return -1;
	if (!ok) {
		imp_problem(im, 0, "unknown_reference",
		    "provider %s is not in the directory", m.provider_npi);
		return 0;
	}
	if (imp_exists(im, "dir_organization", m.org_npi, &ok, e) != 0)
		return -1;
	if (!ok) {
		imp_problem(im, 1, "unknown_reference",
		    "organization %s is not in the directory", m.org_npi);
		return 0;
	}
	str_fmt(key, sizeof(key), "m:%s:%s:%s", m.provider_npi, m.org_npi,
	    m.role);
	if (imp_duplicate(im, key, 1, "this membership", &dup, e) != 0)
		return -1;
	if (dup)
		return 0;
	if (imp_replace_owner(im, DIRECTORY_MEMBERSHIPS, m.provider_npi,
	    e) != 0)
		return -1;
	return store_run(im->s, e, "INSERT INTO dir_membership "
	    "(provider_npi, org_npi, role, active) VALUES (?, ?, ?, ?)",
	    "sssi", m.provider_npi, m.org_npi, m.role, (int)m.active);
}

static int
imp_endpoint(struct imp *im, struct err *e)
{
	struct directory_endpoint ep;
	char kind[16], addr[DIRECTORY_ADDRESS_MAX + 16], rank[16];
	char key[DIRECTORY_ADDRESS_MAX + 40];
	struct err ve;
	bool dup, ok, kind_ok = false;

	memset(&ep, 0, sizeof(ep));
	imp_npi(im, 0, ep.owner_npi);
	if (imp_text(im, 1, kind, sizeof(kind)) == 0) {
		if (directory_kind_parse(kind, &ep.kind, &ve) == 0)
			kind_ok = true;
		else
			imp_problem(im, 1, "bad_value", "%s", ve.msg);
	}
	if (imp_text(im, 2, addr, sizeof(addr)) == 0 && kind_ok) {
		const char *a = addr;

		if (ep.kind == DIRECTORY_KIND_DIRECT &&
		    str_casebegins(a, "mailto:"))
			a += 7;
		else if (ep.kind == DIRECTORY_KIND_MLLP &&
		    str_casebegins(a, "mllp://"))
			a += 7;
		if (directory_address_normalize(ep.kind, a, ep.address,
		    &ve) != 0)
			imp_problem(im, 2, "bad_address", "%s", ve.msg);
	}
	ep.rank = 1;
	if (imp_text(im, 3, rank, sizeof(rank)) == 0 && rank[0] != '\0' &&
	    str_to_int(rank, 1, 1000000, &ep.rank) != 0)
		imp_problem(im, 3, "bad_value",
		    "rank is a whole number from 1 (preferred)");
	imp_flag(im, 4, false, &ep.active);
	imp_text(im, 5, ep.payload_types, sizeof(ep.payload_types));
	if (im->row_bad)
		return 0;
	if (imp_owner_known(im, 0, ep.owner_npi, &ok, e) != 0)
		return -1;
	if (!ok)
		return 0;
	str_fmt(key, sizeof(key), "e:%s:%s:%s", ep.owner_npi,
	    directory_kind_name(ep.kind), ep.address);
	if (imp_duplicate(im, key, 2, "this endpoint", &dup, e) != 0)
		return -1;
	if (dup)
		return 0;
	if (imp_replace_owner(im, DIRECTORY_ENDPOINTS, ep.owner_npi, e) != 0)
		return -1;
	return store_run(im->s, e, "INSERT INTO dir_endpoint (owner_npi, "
	    "kind, address, rank, active, payload_types) VALUES "
	    "(?, ?, ?, ?, ?, ?)", "sssiis", ep.owner_npi,
	    directory_kind_name(ep.kind), ep.address, ep.rank,
	    (int)ep.active, ep.payload_types);
}

static int
imp_preference(struct imp *im, struct err *e)
{
	struct directory_preference p;
	char events[512], classes[64], format[16], timing[32], tbuf[16];
	struct err ve;
	bool ok;

	memset(&p, 0, sizeof(p));
	imp_npi(im, 0, p.owner_npi);
	if (imp_text(im, 1, events, sizeof(events)) == 0 &&
	    directory_events_normalize(events, p.events, sizeof(p.events),
	    &ve) != 0)
		imp_problem(im, 1, "bad_value", "%s", ve.msg);
	if (imp_text(im, 2, classes, sizeof(classes)) == 0 &&
	    directory_classes_normalize(classes, p.classes,
	    sizeof(p.classes), &ve) != 0)
		imp_problem(im, 2, "bad_value", "%s", ve.msg);
	if (imp_text(im, 3, format, sizeof(format)) == 0 &&
	    format[0] != '\0' &&
	    directory_format_parse(format, &p.format, &ve) != 0)
		imp_problem(im, 3, "bad_value", "%s", ve.msg);
	if (imp_text(im, 4, timing, sizeof(timing)) == 0 &&
	    directory_timing_parse(timing, &p.digest, &p.digest_minute,
	    &ve) != 0)
		imp_problem(im, 4, "bad_value", "%s", ve.msg);
	if (im->row_bad)
		return 0;
	if (p.digest && p.format == DIRECTORY_FORMAT_HL7) {
		imp_problem(im, 4, "bad_value",
		    "a daily digest is a Direct message (format hl7+text)");
		return 0;
	}
	if (imp_owner_known(im, 0, p.owner_npi, &ok, e) != 0)
		return -1;
	if (!ok)
		return 0;
	if (imp_replace_owner(im, DIRECTORY_PREFERENCES, p.owner_npi, e) != 0)
		return -1;
	directory_timing_format(&p, tbuf, sizeof(tbuf));
	return store_run(im->s, e, "INSERT INTO dir_preference (owner_npi, "
	    "events, classes, format, timing) VALUES (?, ?, ?, ?, ?)",
	    "sssss", p.owner_npi, p.events, p.classes,
	    directory_format_name(p.format), tbuf);
}

int
directory_import_apply(struct store *s, struct directory_rows *rows,
    unsigned flags, struct directory_report *rep, struct err *e)
{
	static int (*const fn[DIRECTORY_TABLE_COUNT])(struct imp *,
	    struct err *) = {
		imp_organization, imp_provider, imp_membership, imp_endpoint,
		imp_preference,
	};
	struct imp im = {.s = s, .rows = rows, .rep = rep};
	size_t loaded[DIRECTORY_TABLE_COUNT] = {0};

	rep->committed = false;
	if (rep->fatal)
		return 0;
	if (store_begin(s, e) != 0)
		return -1;
	for (int t = 0; t < DIRECTORY_TABLE_COUNT; t++) {
		for (size_t i = 0; i < directory_rows_count(rows); i++) {
			if (directory_rows_table(rows, i) !=
			    (enum directory_table)t)
				continue;
			im.ri = i;
			im.t = (enum directory_table)t;
			im.row_bad = false;
			rep->rows[t]++;
			if (fn[t](&im, e) != 0)
				goto fail;
			if (im.row_bad)
				rep->skipped[t]++;
			else
				loaded[t]++;
		}
	}
	imp_set_release(&im.seen);
	if ((flags & DIRECTORY_IMPORT_STRICT) && rep->total > 0) {
		store_rollback(s);
		log_info(NULL, "directory=import status=rejected problems=%zu",
		    rep->total);
		return 0;
	}
	if (store_commit(s, e) != 0)
		return -1;
	memcpy(rep->loaded, loaded, sizeof(loaded));
	rep->committed = true;
	log_info(NULL, "directory=import status=committed organizations=%zu "
	    "providers=%zu memberships=%zu endpoints=%zu preferences=%zu "
	    "problems=%zu", loaded[0], loaded[1], loaded[2], loaded[3],
	    loaded[4], rep->total);
	return 0;
fail:
	imp_set_release(&im.seen);
	store_rollback(s);
	return err_prefix(e, "directory import (nothing was loaded)");
}
