#include "adt/directory_export.h"

#include <stdbool.h>

#include "adt/directory_rows.h"
#include "core/store.h"

static void
exp_field(struct buf *out, const char *v, bool first)
{
	bool quote = false;

	if (!first)
		buf_putc(out, ',');
	if (v == NULL)
		return;
	for (const char *p = v; *p != '\0'; p++)
		if (*p == ',' || *p == '"' || *p == '\r' || *p == '\n')
			quote = true;
	if (!quote) {
		buf_append_str(out, v);
		return;
	}
	buf_putc(out, '"');
	for (const char *p = v; *p != '\0'; p++) {
		if (*p == '"')
			buf_putc(out, '"');
		buf_putc(out, (uint8_t)*p);
	}
	buf_putc(out, '"');
}

int
directory_export_csv(struct store *s, enum directory_table t,
    struct buf *out, struct err *e)
{
	static const char *const sql[DIRECTORY_TABLE_COUNT] = {
		[DIRECTORY_ORGANIZATIONS] = "SELECT npi, name, parent_npi, "
		    "CASE active WHEN 0 THEN 'inactive' ELSE 'active' END "
		    "FROM dir_organization ORDER BY npi",
		[DIRECTORY_PROVIDERS] = "SELECT npi, last_name, first_name, "
		    "middle_name, suffix, taxonomy, CASE active WHEN 0 THEN "
		    "'inactive' ELSE 'active' END FROM dir_provider "
		    "ORDER BY npi",
		[DIRECTORY_MEMBERSHIPS] = "SELECT provider_npi, org_npi, "
		    "role, CASE active WHEN 0 THEN 'no' ELSE 'yes' END "
		    "FROM dir_membership ORDER BY provider_npi, org_npi, role",
		[DIRECTORY_ENDPOINTS] = "SELECT owner_npi, kind, address, "
		    "rank, CASE active WHEN 0 THEN 'no' ELSE 'yes' END, "
		    "payload_types FROM dir_endpoint "
		    "ORDER BY owner_npi, rank, id",
		[DIRECTORY_PREFERENCES] = "SELECT owner_npi, events, "
		    "classes, format, timing FROM dir_preference "
		    "ORDER BY owner_npi, id",
	};
	const char *const *cols = directory_rows_columns(t);
	struct store_stmt *st;
	size_t ncols = 0;
	int rc;

	for (; cols[ncols] != NULL; ncols++)
		exp_field(out, cols[ncols], ncols == 0);
	buf_append_str(out, "\r\n");
	st = store_prepare(s, sql[t], e);
	if (st == NULL)
		return -1;
	while ((rc = store_step(st, e)) == 1) {
		for (size_t c = 0; c < ncols; c++)
			exp_field(out, store_col_text(st, (int)c), c == 0);
		if (buf_append_str(out, "\r\n") != 0) {
			store_stmt_done(st);
			return err_set(e, ERR_PERM, "export too large");
		}
	}
	store_stmt_done(st);
	return rc < 0 ? -1 : 0;
}
