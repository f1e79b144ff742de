#include "certs/certs_config.h"

#include <stdint.h>

const struct config_def certs_config_defs[] = {
	{"certs", "http_timeout", CONFIG_DURATION, "10s", 100, 600000,
	    "time limit of one HTTP fetch (AIA, CRL, IPKIX URL)"},
	{"certs", "max_cert_size", CONFIG_SIZE, "1M", 1024, 64 * 1024 * 1024,
	    "largest fetched certificate or PKCS#7"},
	{"certs", "max_crl_size", CONFIG_SIZE, "10M", 1024, 512 * 1024 * 1024,
	    "largest fetched CRL"},
	{"certs", "aia_max_fetches", CONFIG_INT, "4", 0, 16,
	    "AIA caIssuers fetches per validation; 0 disables AIA"},
	{"certs", "crl_unavailable", CONFIG_STR, "temp", 0, 0,
	    "when a named CRL cannot be had: temp (retry later), fail, "
	    "ignore (treat as not revoked) or off (no CRL checks)"},
	{"certs", "bundle_timeout", CONFIG_DURATION, "30s", 100, 3600000,
	    "time limit of one trust bundle fetch"},
	{"certs", "bundle_max_size", CONFIG_SIZE, "10M", 1024,
	    512 * 1024 * 1024, "largest trust bundle"},
	{"certs", "bundle_refresh", CONFIG_DURATION, "1d", 60000,
	    INT64_C(365) * 86400000, "default refresh interval of a bundle"},
	CONFIG_DEF_END,
};
