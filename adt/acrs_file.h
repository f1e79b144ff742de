/* The ACRS file (../shared/specs/acrs-directory.md): a CSV with a header
 * row naming the columns (any order, names case-insensitive, unknown names
 * an error, a BOM tolerated), one relationship per row. This reader checks
 * every row and hands out the good ones normalized; each problem is reported
 * through a callback with row (the line the row starts on; the header is
 * line 1), column, code and message. Messages never quote the data (no PHI).
 *
 * Sans-I/O: acrs_file_input() a chunk, acrs_file_next() until 0, repeat;
 * acrs_file_finish() at the end. Duplicates (patient_id, provider_npi,
 * relationship) are found with an in-memory set of 64-bit digests, and
 * rows of one patient_id must agree on the patient's details. */
#ifndef ADT_ACRS_FILE_H
#define ADT_ACRS_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adt/acrs_csv.h"
#include "adt/acrs_norm.h"
#include "core/err.h"

enum acrs_rel {
	ACRS_REL_PCP,
	ACRS_REL_SPECIALIST,
	ACRS_REL_CARE_MANAGER,
	ACRS_REL_PAYER,
	ACRS_REL_POST_ACUTE,
	ACRS_REL_BEHAVIORAL_HEALTH,
	ACRS_REL_OTHER,
	ACRS_REL_COUNT,
};
/* "pcp", "specialist"...; acrs_file_rel_parse: -1 when unknown. */
const char *acrs_file_rel_name(int rel);
int acrs_file_rel_parse(const char *s);

#define ACRS_ID_MAX 65
#define ACRS_TEXT_MAX 201

/* One good row, normalized (acrs/norm.h): names upper-case ASCII, dates
 * YYYYMMDD (0: none), sex M/F/O/U, street with USPS abbreviations. */
struct acrs_rec {
	uint64_t row;
	char patient_id[ACRS_ID_MAX];
	char id_type[4];
	char authority[ACRS_ID_MAX]; /* upper-cased; "" when none */
	char last[ACRS_NAME_MAX];
	char first[ACRS_NAME_MAX];
	char middle[ACRS_NAME_MAX];
	char suffix[ACRS_SUFFIX_MAX];
	int32_t dob;
	char sex;
	char street[ACRS_STREET_MAX];
	char city[ACRS_NAME_MAX];
	char state[3];
	char zip5[6];
	char phone[11];
	char ssn4[5];
	char npi[11];
	char provider_name[ACRS_TEXT_MAX];
	int rel; /* enum acrs_rel */
	char organization[ACRS_TEXT_MAX];
	int32_t last_seen, start_date, end_date;
	bool restricted;
	/* The patient: its ordinal in the file (0, 1, 2... in order of first
	 * appearance) and whether this row is its first. */
	uint32_t patient_ord;
	bool patient_new;
};

/* One problem. Borrowed for the callback. */
struct acrs_issue {
	uint64_t row;
	const char *column; /* "" for the whole row */
	const char *code;
	const char *msg;
};
typedef void acrs_issue_fn(void *arg, const struct acrs_issue *is);

struct acrs_file_opts {
	int32_t today;                      /* YYYYMMDD */
	const struct acrs_csv_limits *limits; /* NULL: defaults */
	acrs_issue_fn *issue;               /* may be NULL */
	void *arg;
};

struct acrs_file_stats {
	uint64_t rows;     /* data rows seen (not the header) */
	uint64_t good;
	uint64_t bad;
	uint64_t issues;
	uint64_t patients; /* distinct patient_id among good rows */
};

struct acrs_file;

/* o is copied. Never fails. */
struct acrs_file *acrs_file_new(const struct acrs_file_opts *o);
/* Accepts NULL; clears the pointer. */
void acrs_file_free(struct acrs_file **fp);
/* A chunk, borrowed until acrs_file_next() returns 0. */
void acrs_file_input(struct acrs_file *f, const void *p, size_t n);
void acrs_file_finish(struct acrs_file *f);
/* 1 a good row in *rec_r (borrowed until the next call), 0 need more input
 * (after finish: the end), -1 the file cannot be read at all (a bad
 * header: e says why; the issues were reported too). Bad rows are
 * reported and skipped. */
int acrs_file_next(struct acrs_file *f, const struct acrs_rec **rec_r,
    struct err *e);
void acrs_file_stats(const struct acrs_file *f, struct acrs_file_stats *s_r);
/* Bytes read so far. */
uint64_t acrs_file_offset(const struct acrs_file *f);

#endif
