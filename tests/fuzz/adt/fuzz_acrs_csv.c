/* Fuzz target: the ACRS file reader (CSV per RFC 4180, header, row
 * validation, duplicates). The input is read whole and again in chunks of
 * a size taken from its first byte; both runs must agree on every count
 * and on the digest of the good rows. A second pass runs the bare CSV
 * reader with tiny limits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adt/acrs_csv.h"
#include "adt/acrs_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tally {
	uint64_t issues, digest;
};

static void
on_issue(void *arg, const struct acrs_issue *is)
{
	struct tally *t = arg;

	t->issues++;
	t->digest = t->digest * 31 + is->row + strlen(is->code) +
	    strlen(is->column) * 7;
}

static void
run(const uint8_t *data, size_t size, size_t chunk, struct acrs_file_stats *st,
    struct tally *t)
{
	struct acrs_file_opts o = {20261122, NULL, on_issue, t};
	struct acrs_file *f = acrs_file_new(&o);
	const struct acrs_rec *rec;
	struct err e;
	size_t off = 0;
	int rc = 0;

	do {
		size_t n = size - off < chunk ? size - off : chunk;

		if (n == 0)
			acrs_file_finish(f);
		else
			acrs_file_input(f, data + off, n);
		off += n;
		while ((rc = acrs_file_next(f, &rec, &e)) == 1) {
			if (rec->patient_id[0] == '\0' || rec->npi[9] == '\0' ||
			    rec->dob <= 0)
				abort();
			t->digest = t->digest * 131 + rec->row +
			    (uint64_t)rec->dob + rec->patient_ord;
		}
		if (rc == -1)
			break;
		if (n == 0)
			break;
	} while (1);
	acrs_file_stats(f, st);
	acrs_file_free(&f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acrs_file_stats a, b;
	struct tally ta = {0, 0}, tb = {0, 0};
	struct acrs_csv_limits lim = {16, 64, 6};
	struct acrs_csv *c;
	struct err e;
	size_t chunk;
	int rc;

	if (size == 0)
		return 0;
	chunk = (size_t)(data[0] % 17) + 1;
	run(data + 1, size - 1, size, &a, &ta);
	run(data + 1, size - 1, chunk, &b, &tb);
	if (memcmp(&a, &b, sizeof(a)) != 0 || ta.issues != tb.issues ||
	    ta.digest != tb.digest || a.good + a.bad != a.rows)
		abort();
	c = acrs_csv_new(&lim);
	acrs_csv_input(c, data, size);
	acrs_csv_finish(c);
	while ((rc = acrs_csv_next(c, &e)) != 0)
		if (rc == 1)
			for (size_t i = 0; i < acrs_csv_nfields(c); i++) {
				size_t n;
				const char *fld = acrs_csv_field(c, i, &n);

				if (n > lim.field_max || fld[n] != '\0')
					abort();
			}
	acrs_csv_free(&c);
	return 0;
}
