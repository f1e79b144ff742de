/* The Health Directory: providers, organizations, memberships, endpoints
 * and notification preferences, kept in the store (migration 5), and the
 * lookup the notification agent makes for each care-team member.
 *
 * Model (docs: shared/specs/acrs-directory.md, "Health Directory"):
 * - provider: NPI (type 1), names, NUCC taxonomy, status;
 * - organization: NPI (type 2), name, parent organization, status;
 * - membership: provider in organization, role, active;
 * - endpoint: owner NPI (provider or organization), kind (direct address
 *   or mllp host:port), rank (lower is preferred, the next rank is the
 *   fallback), active flag, payload types;
 * - preference: owner NPI, events wanted (A01,A03 or "*"), patient classes
 *   (E, I, O, V or "*"), format (hl7+text: a Direct message; hl7: HL7 over
 *   MLLP), timing (realtime or a daily digest at HH:MM).
 *
 * Routing (directory_route): a care-team member's own active endpoints in
 * rank order, each usable when a preference of the member admits the event
 * and the patient class in the endpoint's format (hl7+text for direct, hl7
 * for mllp). An owner without any preference row takes the default: every
 * event, every class, realtime, in the endpoint's own format. When the
 * member has no active endpoint at all, the endpoints of the
 * organizations it belongs to (active memberships; for an organization: its
 * parent) are used, and then both the organization's preferences and the
 * member's (when it has any) must admit the event. Payload types are kept
 * and shown, not used for routing. Directory data is
 * provider data, not PHI; logs still carry ids, not free text. */
#ifndef ADT_DIRECTORY_H
#define ADT_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct store;

enum directory_table {
	DIRECTORY_ORGANIZATIONS = 0, /* import order: referenced first */
	DIRECTORY_PROVIDERS,
	DIRECTORY_MEMBERSHIPS,
	DIRECTORY_ENDPOINTS,
	DIRECTORY_PREFERENCES,
	DIRECTORY_TABLE_COUNT,
};

enum directory_kind {
	DIRECTORY_KIND_DIRECT = 0,
	DIRECTORY_KIND_MLLP,
};

enum directory_format {
	DIRECTORY_FORMAT_HL7_TEXT = 0, /* "hl7+text": a Direct message */
	DIRECTORY_FORMAT_HL7,          /* "hl7": HL7 v2 over MLLP */
};

#define DIRECTORY_NPI_LEN 10
#define DIRECTORY_NAME_MAX 128
#define DIRECTORY_ADDRESS_MAX 256

struct directory_provider {
	char npi[DIRECTORY_NPI_LEN + 1];
	char last_name[DIRECTORY_NAME_MAX];
	char first_name[DIRECTORY_NAME_MAX];
	char middle_name[DIRECTORY_NAME_MAX];
	char suffix[32];
	char taxonomy[16];   /* NUCC code, "" when unknown */
	bool active;
};

struct directory_organization {
	char npi[DIRECTORY_NPI_LEN + 1];
	char name[DIRECTORY_ADDRESS_MAX];
	char parent_npi[DIRECTORY_NPI_LEN + 1]; /* "" when none */
	bool active;
};

struct directory_membership {
	char provider_npi[DIRECTORY_NPI_LEN + 1];
	char org_npi[DIRECTORY_NPI_LEN + 1];
	char role[64];
	bool active;
};

struct directory_endpoint {
	int64_t id;
	char owner_npi[DIRECTORY_NPI_LEN + 1];
	enum directory_kind kind;
	char address[DIRECTORY_ADDRESS_MAX]; /* local@domain, or host:port */
	int rank;                            /* 1.. ; lower is preferred */
	bool active;
	char payload_types[DIRECTORY_ADDRESS_MAX]; /* ';'-separated, or "" */
};

struct directory_preference {
	int64_t id;
	char owner_npi[DIRECTORY_NPI_LEN + 1];
	char events[256];  /* normalized "A01,A03", or "*" */
	char classes[16];  /* normalized "EI", or "*" */
	enum directory_format format;
	bool digest;       /* false: realtime */
	int digest_minute; /* minutes after midnight when digest */
};

/* Names: "providers", "organizations", "memberships", "endpoints",
 * "preferences"; parse is case-insensitive (-1 when unknown). */
const char *directory_table_name(enum directory_table t);
int directory_table_parse(const char *s, enum directory_table *t_r);
const char *directory_kind_name(enum directory_kind k);       /* direct|mllp */
const char *directory_format_name(enum directory_format f);   /* hl7+text|hl7 */

/* Value checks and normalizers, shared by the CSV and FHIR imports. Each
 * returns 0 when s is valid (writing the normalized value) and -1 with a
 * one-line reason in e (PERM) otherwise. */
/* 10 digits beginning with 1 or 2, with the Luhn check digit over the
 * 80840 prefix. */
bool directory_npi_valid(const char *s);
/* "direct" or "mllp". */
int directory_kind_parse(const char *s, enum directory_kind *k_r,
    struct err *e);
/* direct: one '@', a non-empty local part and a dotted domain, no spaces;
 * mllp: host:port (port 1..65535; an IPv6 host in brackets). Lower-cases
 * the domain / host. dst holds DIRECTORY_ADDRESS_MAX bytes. */
int directory_address_normalize(enum directory_kind k, const char *s,
    char *dst, struct err *e);
/* A list of ADT trigger events (A01..A62) separated by ',', ';' or
 * spaces, or "*" / "" for all: into "A01,A03" (sorted, unique) or "*". */
int directory_events_normalize(const char *s, char *dst, size_t size,
    struct err *e);
/* Patient classes from E, I, O, V (same separators, or none: "EI"), or
 * "*" / "" for all: into "EI" (in E,I,O,V order) or "*". */
int directory_classes_normalize(const char *s, char *dst, size_t size,
    struct err *e);
/* "hl7+text" or "hl7" (case-insensitive). */
int directory_format_parse(const char *s, enum directory_format *f_r,
    struct err *e);
/* "realtime" (or ""), or a daily digest time "HH:MM" (also "digest HH:MM"
 * or "daily HH:MM"). */
int directory_timing_parse(const char *s, bool *digest_r, int *minute_r,
    struct err *e);
/* Formats a preference's timing: "realtime" or "HH:MM". */
void directory_timing_format(const struct directory_preference *p,
    char *dst, size_t size);
/* Whether a preference admits event ("A01") and patient class (PV1-2; '\0'
 * when unknown: admitted only by a preference without a class filter). */
bool directory_preference_admits(const struct directory_preference *p,
    const char *event, char patient_class);

/* Reads. Each returns 1 found, 0 not found, -1 on a store error (e). */
int directory_provider_get(struct store *s, const char *npi,
    struct directory_provider *p_r, struct err *e);
int directory_organization_get(struct store *s, const char *npi,
    struct directory_organization *o_r, struct err *e);
/* The owner NPI of the endpoint with this address (either kind, the
 * address normalized as for import). */
int directory_find_address(struct store *s, const char *address,
    char owner_r[DIRECTORY_NPI_LEN + 1], struct err *e);

/* Lists: a malloc'd array the caller frees (NULL when empty), its length in
 * *n_r. 0, or -1 on a store error (nothing to free). Endpoints come in rank
 * order (then id), preferences in id order. */
int directory_endpoint_list(struct store *s, const char *owner_npi,
    struct directory_endpoint **v_r, size_t *n_r, struct err *e);
int directory_preference_list(struct store *s, const char *owner_npi,
    struct directory_preference **v_r, size_t *n_r, struct err *e);
/* Memberships of a provider (provider_npi set) or of an organization's
 * members (org_npi set); the other is NULL. */
int directory_membership_list(struct store *s, const char *provider_npi,
    const char *org_npi, struct directory_membership **v_r, size_t *n_r,
    struct err *e);

/* Routing. */
enum directory_route_status {
	DIRECTORY_ROUTED = 0,       /* targets[0] is where to send */
	DIRECTORY_DECLINED,         /* endpoints exist, preferences decline */
	DIRECTORY_UNDELIVERABLE,    /* nowhere to send */
};

#define DIRECTORY_ROUTE_MAX 8

struct directory_target {
	int64_t endpoint_id;
	char owner_npi[DIRECTORY_NPI_LEN + 1];
	bool via_organization;      /* the member's organization's endpoint */
	enum directory_kind kind;
	char address[DIRECTORY_ADDRESS_MAX];
	int rank;
	enum directory_format format;
	bool digest;
	int digest_minute;
};

struct directory_route {
	enum directory_route_status status;
	/* Why not routed (or how): a code and a readable line without PHI.
	 * Codes: "ok"; declined: "not_wanted"; undeliverable: "bad_npi",
	 * "unknown_npi", "inactive_member", "no_endpoint",
	 * "no_active_endpoint", "no_endpoint_for_format" (the event is
	 * wanted, but only in a format no active endpoint takes). */
	const char *reason;
	char detail[200];
	/* Usable targets, best first: targets[1] is the fallback when
	 * delivery to targets[0] fails, and so on. */
	struct directory_target targets[DIRECTORY_ROUTE_MAX];
	size_t ntargets;
};

/* Where a notification of event (an ADT trigger, "A01") for a patient of
 * class patient_class (PV1-2, '\0' when unknown) goes for the care-team
 * member npi. Fills *result_r (always, also when nothing is found: status
 * and reason say why). Returns 0, or -1 on a store error (e; TEMP when the
 * store is busy). */
int directory_route(struct store *s, const char *npi, const char *event,
    char patient_class, struct directory_route *result_r, struct err *e);
const char *directory_route_status_name(enum directory_route_status st);

#endif
