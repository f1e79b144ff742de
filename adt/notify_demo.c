#include "adt/notify_demo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adt/acrs_import.h"
#include "adt/acrs_norm.h"
#include "adt/demo_data.h"
#include "adt/directory.h"
#include "adt/directory_import.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "hisp/address.h"

static int
notify_demo_read(const char *path, struct buf *out, struct err *e)
{
	FILE *f = fopen(path, "rb");
	char chunk[8192];
	size_t n;

	if (f == NULL)
		return err_set(e, ERR_CONFIG, "%s: %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(out, chunk, n);
	fclose(f);
	return 0;
}

/* Repairs rows of the generator's CSV whose field count is off (unquoted
 * event lists in preferences, a missing column in providers): rows with
 * the right count pass unchanged. */
static void
notify_demo_fix(enum directory_table t, struct buf *in)
{
	struct buf out;
	size_t start = 0;

	if (t != DIRECTORY_PROVIDERS && t != DIRECTORY_PREFERENCES)
		return;
	buf_init(&out, BUF_UNLIMITED);
	while (start < in->len) {
		const char *line = (const char *)in->data + start;
		const char *nl = memchr(line, '\n', in->len - start);
		size_t n = nl != NULL ? (size_t)(nl - line) + 1 : in->len - start;
		size_t len = n, commas = 0;
		char *f[32], *copy;
		size_t nf = 0;

		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		for (size_t i = 0; i < len; i++)
			commas += line[i] == ',';
		copy = xstrndup(line, len);
		if (memchr(copy, '"', len) == NULL) {
			char *save = NULL, *p = copy;

			/* strsep keeps empty fields. */
			while (p != NULL && nf < 32)
				f[nf++] = strsep(&p, ",");
			(void)save;
		}
		if (t == DIRECTORY_PROVIDERS && nf == 6) {
			buf_printf(&out, "%s,%s,%s,%s,,%s,%s\r\n", f[0], f[1],
			    f[2], f[3], f[4], f[5]);
		} else if (t == DIRECTORY_PREFERENCES && nf > 5) {
			buf_printf(&out, "%s,\"", f[0]);
			for (size_t i = 1; i + 3 < nf; i++)
				buf_printf(&out, "%s%s", i > 1 ? "," : "", f[i]);
			buf_printf(&out, "\",%s,%s,%s\r\n", f[nf - 3], f[nf - 2],
			    f[nf - 1]);
		} else
			buf_append(&out, line, n);
		(void)commas;
		free(copy);
		start += n;
	}
	buf_release(in);
	*in = out;
}

static int
notify_demo_directory(struct store *s, const char *dir, struct err *e)
{
	struct directory_rows *rows = directory_rows_new();
	struct directory_report *rep = directory_report_new();
	int rc = -1;

	for (int t = 0; t < DIRECTORY_TABLE_COUNT; t++) {
		char path[1024];
		struct buf b;

		str_fmt(path, sizeof(path), "%s/directory/%s.csv", dir,
		    directory_table_name((enum directory_table)t));
		buf_init(&b, BUF_UNLIMITED);
		if (notify_demo_read(path, &b, e) == 0)
			notify_demo_fix((enum directory_table)t, &b);
		if (e->kind != ERR_NONE ||
		    directory_import_csv(rows, (enum directory_table)t, b.data,
		    b.len, path, rep) != 0) {
			buf_release(&b);
			if (e->kind == ERR_NONE)
				err_set(e, ERR_CONFIG, "%s: cannot import", path);
			goto out;
		}
		buf_release(&b);
	}
	rc = directory_import_apply(s, rows, 0, rep, e);
out:
	directory_rows_free(&rows);
	directory_report_free(&rep);
	return rc;
}

int
notify_demo_load(struct store *s, const struct notify_demo_opts *o,
    struct err *e)
{
	struct demo_data_opts d_o = {0};
	struct demo_data *d;
	struct store_stmt *st;
	char **addrs = NULL;
	size_t naddrs = 0;
	int rc = -1, step;

	err_clear(e);
	d_o.patients = o->patients;
	d_o.providers = o->providers;
	d_o.seed = 1;
	d_o.today = o->today;
	d_o.domain = o->domain;
	d_o.mllp = o->mllp;
	d = demo_data_new(&d_o);
	if (demo_data_write(d, o->dir, e) != 0)
		goto out;
	for (size_t i = 0; i < demo_data_submitters(d); i++) {
		struct acrs_import_file_opts io = {0};
		struct acrs_import_result r;
		char path[1024];

		str_fmt(path, sizeof(path), "%s/acrs/%s.csv", o->dir,
		    demo_data_submitter_name(d, i));
		io.submitter = demo_data_submitter_name(d, i);
		io.today = o->today;
		if (acrs_import_file(s, path, &io, &r, e) != 0)
			goto out;
	}
	if (notify_demo_directory(s, o->dir, e) != 0)
		goto out;
	/* A mailbox for every Direct endpoint of the receiving domain. */
	st = store_prepare(s, "SELECT DISTINCT address FROM dir_endpoint"
	    " WHERE kind = 'direct' AND address LIKE ?", e);
	if (st == NULL)
		goto out;
	{
		char like[300];

		str_fmt(like, sizeof(like), "%%@%s", o->domain);
		store_bindv(st, "s", like);
	}
	while ((step = store_step(st, e)) == 1) {
		addrs = xreallocarray(addrs, naddrs + 1, sizeof(*addrs));
		addrs[naddrs++] = xstrdup(store_col_text(st, 0));
	}
	store_stmt_done(st);
	if (step < 0)
		goto out;
	for (size_t i = 0; i < naddrs; i++) {
		int have = address_lookup(s, addrs[i], NULL, e);

		if (have < 0)
			goto out;
		if (have == 0 && address_add(s, addrs[i], ADDRESS_MAILBOX,
		    "demo", e) != 0)
			goto out;
	}
	log_info(NULL, "event=notify_demo_loaded patients=%u providers=%u "
	    "relationships=%zu mailboxes=%zu", o->patients, o->providers,
	    demo_data_relationships(d), naddrs);
	rc = 0;
out:
	for (size_t i = 0; i < naddrs; i++)
		free(addrs[i]);
	free(addrs);
	demo_data_free(&d);
	return rc;
}

int
notify_demo_populate(struct store *s, const char *instance_dir,
    const char *domain, struct err *e)
{
	struct notify_demo_opts o = {0};
	char *dir = xasprintf("%s/demo", instance_dir);
	int rc;

	o.dir = dir;
	o.domain = domain;
	o.mllp = "127.0.0.1:2576";
	o.patients = 50;
	o.providers = 8;
	o.today = acrs_norm_today((int64_t)time(NULL));
	rc = notify_demo_load(s, &o, e);
	free(dir);
	return rc;
}
