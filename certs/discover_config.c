#include "certs/discover_config.h"

#include <stdint.h>

const struct config_def discover_config_defs[] = {
	{"dns", "servers", CONFIG_STR, "", 0, 0,
	    "resolvers as \"ip:port,ip:port\" (IPv6 in brackets); empty: "
	    "those of /etc/resolv.conf"},
	{"dns", "timeout", CONFIG_DURATION, "2s", 50, 60000,
	    "time for one try of one query"},
	{"dns", "tries", CONFIG_INT, "2", 1, 10,
	    "tries per query (per server)"},
	{"dns", "edns", CONFIG_BOOL, "yes", 0, 0,
	    "advertise 1232-byte UDP answers; no: large answers come over TCP"},
	{"dns", "negative_ttl", CONFIG_DURATION, "60s", 0, 86400000,
	    "longest time a \"no such record\" answer is cached"},
	{"dns", "max_ttl", CONFIG_DURATION, "1d", 0, INT64_C(7) * 86400000,
	    "longest time a positive answer is cached"},
	{"dns", "cache_size", CONFIG_INT, "10000", 1, 10000000,
	    "cached answers kept at most"},
	{"discover", "url_timeout", CONFIG_DURATION, "10s", 100, 600000,
	    "time limit of fetching a certificate named by a CERT URL"},
	{"discover", "url_max_size", CONFIG_SIZE, "1M", 1024,
	    64 * 1024 * 1024, "largest certificate fetched from a CERT URL"},
	{"discover", "max_candidates", CONFIG_INT, "16", 1, 256,
	    "candidate certificates considered per step"},
	{"discover", "cache_ttl", CONFIG_DURATION, "5m", 0, 86400000,
	    "how long a recipient's valid certificates are reused; 0: never"},
	{"discover", "negative_cache_ttl", CONFIG_DURATION, "1m", 0, 86400000,
	    "how long \"no valid certificate\" is remembered; 0: never"},
	{"discover", "cache_size", CONFIG_INT, "10000", 0, 10000000,
	    "recipients whose results are kept at most"},
	{"ldap", "enabled", CONFIG_BOOL, "yes", 0, 0,
	    "look in LDAP (SRV _ldap._tcp) when DNS gives no valid certificate"},
	{"ldap", "connect_timeout", CONFIG_DURATION, "5s", 100, 600000,
	    "time to connect to one LDAP server"},
	{"ldap", "timeout", CONFIG_DURATION, "10s", 100, 600000,
	    "time for each LDAP bind or search"},
	{"ldap", "srv_seed", CONFIG_INT, "0", 0, INT64_MAX,
	    "seed of the SRV weight draw; 0: random (a fixed seed is for "
	    "tests)"},
	CONFIG_DEF_END,
};

void
discover_config_read(const struct config *cfg, struct dns_settings *ds,
    struct discover_settings *ss)
{
	if (ds != NULL) {
		dns_settings_default(ds);
		ds->servers = config_str(cfg, "dns", "servers");
		ds->timeout_ms = config_int(cfg, "dns", "timeout");
		ds->tries = (int)config_int(cfg, "dns", "tries");
		ds->edns = config_bool(cfg, "dns", "edns");
		ds->negative_ttl_ms = config_int(cfg, "dns", "negative_ttl");
		ds->max_ttl_ms = config_int(cfg, "dns", "max_ttl");
		ds->cache_max = (size_t)config_int(cfg, "dns", "cache_size");
	}
	if (ss != NULL) {
		discover_settings_default(ss);
		ss->http_timeout_ms = config_int(cfg, "discover",
		    "url_timeout");
		ss->http_max_size = (size_t)config_int(cfg, "discover",
		    "url_max_size");
		ss->max_candidates = (size_t)config_int(cfg, "discover",
		    "max_candidates");
		ss->cache_ttl_ms = config_int(cfg, "discover", "cache_ttl");
		ss->negative_cache_ttl_ms = config_int(cfg, "discover",
		    "negative_cache_ttl");
		ss->cache_max = (size_t)config_int(cfg, "discover",
		    "cache_size");
		ss->ldap = config_bool(cfg, "ldap", "enabled");
		ss->ldap_net_timeout_ms = config_int(cfg, "ldap",
		    "connect_timeout");
		ss->ldap_op_timeout_ms = config_int(cfg, "ldap", "timeout");
		ss->srv_seed = (uint64_t)config_int(cfg, "ldap", "srv_seed");
	}
}
