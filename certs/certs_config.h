/* The certs module's settings: section [certs]. The lead registers the
 * table in gateway/instance.c. */
#ifndef CERTS_CERTS_CONFIG_H
#define CERTS_CERTS_CONFIG_H

#include "core/config.h"

/* [certs]
 *   http_timeout      duration, 10s   per fetch (AIA, CRL, IPKIX URL)
 *   max_cert_size     size, 1M        a fetched certificate or PKCS#7
 *   max_crl_size      size, 10M       a fetched CRL
 *   aia_max_fetches   int, 4          AIA fetches per validation (0 off)
 *   crl_unavailable   str, temp       temp | fail | ignore | off
 *   bundle_timeout    duration, 30s   per bundle fetch
 *   bundle_max_size   size, 10M
 *   bundle_refresh    duration, 1d    default refresh interval */
extern const struct config_def certs_config_defs[];

#endif
