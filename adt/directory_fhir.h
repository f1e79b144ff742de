/* Health Directory import from HL7 FHIR R4 XML Bundles as the National
 * Directory (NDH) publishes them: Practitioner, Organization,
 * PractitionerRole and Endpoint resources. The only file that sees
 * libxml2.
 *
 * Mapping (to the rows of adt/directory_rows.h):
 * - Practitioner -> providers: identifier with system
 *   http://hl7.org/fhir/sid/us-npi, the official (else first) name (family,
 *   given, further given names as middle_name, suffix), a NUCC taxonomy
 *   from qualification.code (system http://nucc.org/provider-taxonomy),
 *   else from the specialty of one of its PractitionerRoles; active ->
 *   status.
 * - Organization -> organizations: NPI, name, partOf -> parent_npi, active.
 * - PractitionerRole -> memberships (practitioner in organization, code ->
 *   role, active); its endpoint references make the practitioner the
 *   owner of those endpoints.
 * - Endpoint -> endpoints, owned by each practitioner (through a role) or
 *   organization that references it, else by its managingOrganization.
 *   connectionType code direct-project with address mailto:... -> direct;
 *   hl7v2-mllp with mllp://host:port -> mllp; other connection types are
 *   not for notifications and are skipped. status active -> active; the
 *   NDH endpoint-rank extension (.../base-ext-endpoint-rank,
 *   valuePositiveInt) -> rank (1 when absent); payloadType codes ->
 *   payload_types.
 * References resolve by entry fullUrl, "Type/id" or an identifier with the
 * NPI system.
 *
 * Safety: libxml2 runs with network access off (XML_PARSE_NONET), without
 * entity substitution (no XML_PARSE_NOENT) and without loading any DTD; a
 * DOCTYPE that declares an entity or names an external subset is refused
 * before anything is expanded (billion laughs, XXE). Input size, element
 * depth and entry count are limited. */
#ifndef ADT_DIRECTORY_FHIR_H
#define ADT_DIRECTORY_FHIR_H

#include <stddef.h>

#include "adt/directory_report.h"
#include "adt/directory_rows.h"
#include "core/err.h"

#define DIRECTORY_FHIR_MAX_SIZE (32u << 20) /* bytes */
#define DIRECTORY_FHIR_MAX_DEPTH 64         /* element nesting */
#define DIRECTORY_FHIR_MAX_ENTRIES 500000   /* Bundle entries */

/* Parses one Bundle (n bytes at data) into rows; origin names the file in
 * the report. Resources with a problem still become rows, so that the
 * import's validation reports them (row = entry number, the message names
 * "Type/id"). Returns 0, or -1 when the document is refused as a whole
 * (not well-formed XML, a DOCTYPE with entities, too large or too deep,
 * not a FHIR Bundle): e holds one line, a fatal problem is added to rep,
 * and no row of this document was added. */
int directory_fhir_parse(const void *data, size_t n, const char *origin,
    struct directory_rows *rows, struct directory_report *rep,
    struct err *e);

#endif
