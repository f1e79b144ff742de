/* Settings of certificate discovery: [dns] (the resolver and its cache),
 * [discover] (URL fetches, candidates) and [ldap] (LDAP discovery). The
 * gateway registers discover_config_defs. */
#ifndef CERTS_DISCOVER_CONFIG_H
#define CERTS_DISCOVER_CONFIG_H

#include "certs/discover.h"
#include "certs/dns.h"
#include "core/config.h"

extern const struct config_def discover_config_defs[];

/* Fills ds from the [dns] settings of cfg and ss from [discover] and
 * [ldap]; either may be NULL. ds->servers is borrowed from cfg (dns_new
 * copies it). */
void discover_config_read(const struct config *cfg, struct dns_settings *ds,
    struct discover_settings *ss);

#endif
