#include "adt/directory_rows.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xmalloc.h"

/* Columns per table (indexes are the row value slots) and which of them
 * are required. Constant: safe from any thread. */
static const char *const rows_cols[DIRECTORY_TABLE_COUNT]
    [DIRECTORY_ROWS_COLS_MAX + 1] = {
	[DIRECTORY_ORGANIZATIONS] = {"npi", "name", "parent_npi", "status",
	    NULL},
	[DIRECTORY_PROVIDERS] = {"npi", "last_name", "first_name",
	    "middle_name", "suffix", "taxonomy", "status", NULL},
	[DIRECTORY_MEMBERSHIPS] = {"provider_npi", "organization_npi",
	    "role", "active", NULL},
	[DIRECTORY_ENDPOINTS] = {"owner_npi", "kind", "address", "rank",
	    "active", "payload_types", NULL},
	[DIRECTORY_PREFERENCES] = {"owner_npi", "events", "classes",
	    "format", "timing", NULL},
};
static const unsigned rows_required[DIRECTORY_TABLE_COUNT] = {
	[DIRECTORY_ORGANIZATIONS] = 0x3, /* npi, name */
	[DIRECTORY_PROVIDERS] = 0x3,     /* npi, last_name */
	[DIRECTORY_MEMBERSHIPS] = 0x3,   /* provider_npi, organization_npi */
	[DIRECTORY_ENDPOINTS] = 0x7,     /* owner_npi, kind, address */
	[DIRECTORY_PREFERENCES] = 0x1,   /* owner_npi */
};

const char *const *
directory_rows_columns(enum directory_table t)
{
	return rows_cols[t];
}

bool
directory_rows_column_required(enum directory_table t, size_t col)
{
	return col < DIRECTORY_ROWS_COLS_MAX &&
	    (rows_required[t] & (1u << col)) != 0;
}

int
directory_rows_column_index(enum directory_table t, const char *name)
{
	const char *const *cols = directory_rows_columns(t);

	for (int i = 0; cols[i] != NULL; i++)
		if (strcasecmp(cols[i], name) == 0)
			return i;
	return -1;
}

struct directory_row {
	enum directory_table table;
	size_t origin;          /* index into origins */
	unsigned long rowno;
	char *label;
	char *vals[DIRECTORY_ROWS_COLS_MAX];
};

struct directory_rows {
	struct directory_row *v;
	size_t n, cap;
	char **origins;
	size_t norigins, ocap;
};

struct directory_rows *
directory_rows_new(void)
{
	return xcalloc(1, sizeof(struct directory_rows));
}

void
directory_rows_free(struct directory_rows **rp)
{
	struct directory_rows *r;

	if (rp == NULL || *rp == NULL)
		return;
	r = *rp;
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].label);
		for (int c = 0; c < DIRECTORY_ROWS_COLS_MAX; c++)
			free(r->v[i].vals[c]);
	}
	free(r->v);
	for (size_t i = 0; i < r->norigins; i++)
		free(r->origins[i]);
	free(r->origins);
	free(r);
	*rp = NULL;
}

size_t
directory_rows_count(const struct directory_rows *r)
{
	return r->n;
}

size_t
directory_rows_add(struct directory_rows *r, enum directory_table t,
    const char *origin, unsigned long rowno, const char *label)
{
	struct directory_row *row;

	if (origin == NULL)
		origin = "";
	if (r->norigins == 0 ||
	    strcmp(r->origins[r->norigins - 1], origin) != 0) {
		if (r->norigins == r->ocap) {
			r->ocap = r->ocap ? r->ocap * 2 : 4;
			r->origins = xreallocarray(r->origins, r->ocap,
			    sizeof(*r->origins));
		}
		r->origins[r->norigins++] = xstrdup(origin);
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->v = xreallocarray(r->v, r->cap, sizeof(*r->v));
	}
	row = &r->v[r->n];
	memset(row, 0, sizeof(*row));
	row->table = t;
	row->origin = r->norigins - 1;
	row->rowno = rowno;
	row->label = label != NULL ? xstrdup(label) : NULL;
	return r->n++;
}

int
directory_rows_set(struct directory_rows *r, size_t i, const char *name,
    const char *value, size_t n)
{
	struct directory_row *row = &r->v[i];
	int c = directory_rows_column_index(row->table, name);

	if (c < 0)
		return -1;
	free(row->vals[c]);
	row->vals[c] = xmemdup(value, n);
	return 0;
}

enum directory_table
directory_rows_table(const struct directory_rows *r, size_t i)
{
	return r->v[i].table;
}

const char *
directory_rows_origin(const struct directory_rows *r, size_t i)
{
	return r->origins[r->v[i].origin];
}

unsigned long
directory_rows_rowno(const struct directory_rows *r, size_t i)
{
	return r->v[i].rowno;
}

const char *
directory_rows_label(const struct directory_rows *r, size_t i)
{
	return r->v[i].label;
}

const char *
directory_rows_value(const struct directory_rows *r, size_t i, size_t col)
{
	return col < DIRECTORY_ROWS_COLS_MAX ? r->v[i].vals[col] : NULL;
}

void
directory_rows_set_col(struct directory_rows *r, size_t i, size_t col,
    const char *value, size_t n)
{
	assert(col < DIRECTORY_ROWS_COLS_MAX &&
	    directory_rows_columns(r->v[i].table)[col] != NULL);
	free(r->v[i].vals[col]);
	r->v[i].vals[col] = xmemdup(value, n);
}
