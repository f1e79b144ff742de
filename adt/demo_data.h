/* A synthetic, reproducible data set for the demo, the tests and the
 * benchmarks (`directgate demo generate`): persons living in households
 * (with twins), providers in organizations and payers, ACRS files (one per
 * submitting organization), a Health Directory (CSV tables in the columns
 * of adt/directory_import.h), an ADT stream (HL7 v2.5.1 A01/A03/A04/A08/A11
 * whose PID demographics carry injected errors: typos, swapped names, moved
 * addresses, missing fields, birth-date typos) and ground-truth labels: for
 * every visit, which ACRS rows (submitter, patient_id) are its patient.
 *
 * Everything follows from the options (the same seed gives the same bytes);
 * nothing here reads the clock (today is an option). Every name, address
 * and number is made up. */
#ifndef ADT_DEMO_DATA_H
#define ADT_DEMO_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adt/acrs_match.h"
#include "core/buf.h"
#include "core/err.h"

struct demo_data_opts {
	unsigned patients;   /* persons (>= 1) */
	unsigned providers;  /* >= 4 */
	uint64_t seed;
	int32_t today;       /* YYYYMMDD */
	const char *domain;  /* Direct addresses: NULL "direct.demo.test" */
	const char *mllp;    /* host:port of MLLP endpoints: NULL
	                      * "127.0.0.1:2575" */
	unsigned acrs_percent; /* persons in the ACRS (0: 75) */
	unsigned mllp_percent; /* providers preferring MLLP (0: 10) */
};

/* Injected errors of a visit (bits). */
#define DEMO_ERR_TYPO_LAST 0x01
#define DEMO_ERR_TYPO_FIRST 0x02
#define DEMO_ERR_SWAP 0x04
#define DEMO_ERR_MOVED 0x08
#define DEMO_ERR_MISSING 0x10
#define DEMO_ERR_DOB 0x20
#define DEMO_ERR_TWIN 0x40 /* not injected: the person has a twin */

struct demo_data;

/* Generates the whole set in memory. Never fails (options are clamped). */
struct demo_data *demo_data_new(const struct demo_data_opts *o);
void demo_data_free(struct demo_data **dp);

/* Submitting organizations (one ACRS file each). */
size_t demo_data_submitters(const struct demo_data *d);
const char *demo_data_submitter_name(const struct demo_data *d, size_t i);
/* The ACRS CSV of submitter i (appended to out). */
void demo_data_acrs_csv(const struct demo_data *d, size_t i, struct buf *out);
/* Relationship rows in all files. */
size_t demo_data_relationships(const struct demo_data *d);

/* Visits: one per person, each one to three ADT messages. */
size_t demo_data_visits(const struct demo_data *d);
/* The patient of visit i as its messages carry it (PID-3, PID-5...,
 * IN1): what the notification agent would hand to acrs_match. */
void demo_data_visit_person(const struct demo_data *d, size_t i,
    struct acrs_person *p_r);
/* Ground truth: the ACRS rows of the visit's person ("SUBMITTER\tID"
 * strings, borrowed; none when the person is not in the ACRS). */
size_t demo_data_visit_truth(const struct demo_data *d, size_t i,
    const char *const **refs_r);
unsigned demo_data_visit_errors(const struct demo_data *d, size_t i);
/* The HL7 messages of visit i (segments end in CR, each message is
 * followed by LF), appended to out; *n_r (may be NULL) counts them. */
void demo_data_visit_hl7(const struct demo_data *d, size_t i,
    struct buf *out, size_t *n_r);
/* "A|B" error names of a bit set, into dst. */
void demo_data_error_names(unsigned errors, char *dst, size_t size);

/* Writes the set under dir (created): acrs/<SUBMITTER>.csv and
 * acrs/submitters.csv, directory/{organizations,providers,memberships,
 * endpoints,preferences}.csv, adt/messages.hl7, labels.csv, README.
 * 0 / -1 (e: the path and the reason). */
int demo_data_write(const struct demo_data *d, const char *dir,
    struct err *e);

#endif
