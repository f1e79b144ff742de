/* Publishing the gateway's own certificates so that other HISPs can
 * discover them (DCDT hosting cases): zone-file CERT records (PKIX, inline
 * DER) and LDIF entries with userCertificate;binary, for every address- and
 * domain-bound certificate of a local domain in the key store. */
#ifndef CERTS_DISCOVER_PUBLISH_H
#define CERTS_DISCOVER_PUBLISH_H

#include <stdint.h>

#include "certs/keystore.h"
#include "core/buf.h"
#include "core/err.h"

#define DISCOVER_PUBLISH_ZONE 0x1
#define DISCOVER_PUBLISH_LDIF 0x2

/* Appends to out, for the certificates in ks owned by domain (addresses
 * a@domain and the domain itself): with DISCOVER_PUBLISH_ZONE the zone
 * lines ("$ORIGIN domain." then "local TTL IN CERT PKIX 0 0 <base64>" and
 * "@ TTL IN CERT PKIX 0 0 <base64>"), with DISCOVER_PUBLISH_LDIF the LDIF
 * (base entry base_dn, or dc=... from the domain when NULL, then one
 * inetOrgPerson per owner with mail and userCertificate;binary). Returns
 * the number of certificates written, -1 (ERR_PERM) for a bad domain or
 * when out is full. ks is borrowed. */
int discover_publish(const struct keystore *ks, const char *domain,
    unsigned what, uint32_t ttl, const char *base_dn, struct buf *out,
    struct err *e);

#endif
